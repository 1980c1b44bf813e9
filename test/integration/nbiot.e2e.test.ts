/**
 * Seed 000 end to end over a real chain: the registry and `DataAnchor` are
 * deployed, a PKG issues identity keys, two base stations and a node are
 * registered and admitted on chain, the node moves BS1 -> BS2, both stations
 * seal and anchor from their registered accounts, the application acquires and
 * verifies everything against the chain before decrypting, answers an
 * accountability query, a light node checks its own reading with proofs alone,
 * and a tampered record, an unanchored batch and an unregistered station are
 * caught. Run on the embedded network, on `hardhat node` and on anvil (each a
 * separate process), so nothing depends on one node's quirks.
 */
import { DatabaseSync } from "node:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { type HDNodeWallet, type Provider, type Signer, Wallet, parseEther } from "ethers";
import { network } from "hardhat";

import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { Pkg } from "../../sdk/core/crypto/identity.ts";
import { NbiotNode } from "../../sdk/core/nbiot/device.ts";
import { extractApplicationKeys, extractNodeKeys, nbiotParams, pkgStationKeys } from "../../sdk/core/nbiot/params.ts";
import { openPrimaryKey } from "../../sdk/core/nbiot/provisioning.ts";
import { Application } from "../../sdk/nbiot/application.ts";
import { BaseStation } from "../../sdk/nbiot/base-station.ts";
import { verifyOwnReading } from "../../sdk/nbiot/light.ts";
import { providerChainClock, registryDirectory, type StationLink } from "../../sdk/nbiot/ports.ts";
import { ContractRevertError, type Hex, ProtocolError } from "../../sdk/index.ts";
import { DataAnchorClient } from "../../sdk/exports/anchoring.ts";
import { buildRegistration, DeviceRegistryClient, Kind, Label, minimalProfile } from "../../sdk/exports/registry.ts";
import { DataAnchor__factory, DeviceRegistry__factory } from "../../types/ethers-contracts/index.ts";
import { startAnvil, startHardhatNode } from "../../support/node-process.ts";
import { RPC_REGISTRY_CONFIG as CONFIG } from "../helpers/rpc-chain.ts";

const LAYER = "strata://city/port/nbiot";
const backend = await mclBackend();
const text = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));
const celsius = (b: Uint8Array): number => (JSON.parse(new TextDecoder().decode(b)) as { celsius: number }).celsius;

interface Chain {
  readonly provider: Provider;
  readonly admin: Signer;
  stop(): Promise<void>;
}

async function embedded(): Promise<Chain> {
  const { ethers } = await network.create();
  const [admin] = await ethers.getSigners();
  return { provider: ethers.provider, admin: admin!, stop: () => Promise.resolve() };
}

/** An embedded chain whose clock runs an hour behind the machine's: no clock here may be the wall clock. */
async function lagging(): Promise<Chain> {
  const { ethers } = await network.create({ override: { initialDate: new Date(Date.now() - 3_600_000) } });
  const [admin] = await ethers.getSigners();
  return { provider: ethers.provider, admin: admin!, stop: () => Promise.resolve() };
}

async function rpc(start: () => ReturnType<typeof startHardhatNode>): Promise<Chain> {
  const node = await start();
  return { provider: node.provider, admin: await node.provider.getSigner(0), stop: () => node.stop() };
}

for (const [name, connect] of [
  ["embedded network", embedded],
  ["embedded network, chain clock an hour behind", lagging],
  ["hardhat node", () => rpc(startHardhatNode)],
  ["anvil", () => rpc(startAnvil)],
] as const) {
  describe(`NB-IoT data path end to end (${name})`, function () {
    this.timeout(240_000);
    let chain: Chain;
    let dir: string;
    let registry: DeviceRegistryClient;
    let anchorAddress: string;
    let localId = 0n;

    before(async function () {
      chain = await connect();
      dir = mkdtempSync(join(tmpdir(), "strata-nbiot-e2e-"));
      const adminAddress = await chain.admin.getAddress();
      const reg = await new DeviceRegistry__factory(chain.admin).deploy(adminAddress, CONFIG);
      await reg.waitForDeployment();
      registry = new DeviceRegistryClient(await reg.getAddress(), chain.admin);
      await registry.setLayerOperator(LAYER, adminAddress);
      const anchor = await new DataAnchor__factory(chain.admin).deploy(await reg.getAddress());
      await anchor.waitForDeployment();
      anchorAddress = await anchor.getAddress();
    });

    after(async function () {
      await chain?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function register(label: Label, kind: Kind): Promise<{ id: Hex; key: HDNodeWallet }> {
      const key = Wallet.createRandom().connect(chain.provider);
      await (await chain.admin.sendTransaction({ to: key.address, value: parseEther("1") })).wait();
      const req = buildRegistration({
        uuid: { layer: LAYER, localId: ++localId },
        key: key.address,
        kind,
        label,
        permissions: 1,
        profile: minimalProfile(kind === Kind.BaseStation ? "Gateway/BaseStation/NB-IoT" : "Device/Sensor/Temperature"),
        deadline: 2n ** 40n,
      });
      const { id } = await registry.register(
        req,
        await registry.signRegistration(key, req, await chain.admin.getAddress()),
      );
      return { id, key };
    }

    it("authenticates, chains, hands over, anchors, acquires, verifies and holds stations to account", async function () {
      // ---- registration on chain (seed 000 "Registration", admitted as in seed 001)
      const coords = [await register(Label.Coordination, Kind.Device), await register(Label.Coordination, Kind.Device)];
      for (const c of coords) await registry.appointCoordinator(c.id);
      const stationAccounts = [
        await register(Label.Full, Kind.BaseStation),
        await register(Label.Full, Kind.BaseStation),
      ];
      for (const s of stationAccounts) for (const c of coords) await registry.connect(c.key).approve(c.id, s.id);
      const device = await register(Label.Lightweight, Kind.Device);
      await registry.connect(coords[0]!.key).approve(coords[0]!.id, device.id, stationAccounts[0]!.id);

      // ---- the PKG issues identity keys; the application provisions the primary key
      const pkg = new Pkg(backend);
      const params = nbiotParams(backend, pkg.masterPublic);
      const directory = registryDirectory(registry, { ttlMs: 0 });
      const links = new Map<string, StationLink>();
      // Every clock here is pinned to the chain's: block times are checked against anchor times,
      // and a chain that runs behind the wall clock must not make the test depend on the machine.
      let now = Number((await chain.provider.getBlock("latest"))!.timestamp) * 1000;
      const stations = stationAccounts.map((s, i) => {
        const bs = BaseStation.open({
          params,
          keys: pkgStationKeys(pkg, s.id),
          storePath: join(dir, `bs${i + 1}.sqlite`),
          directory,
          stations: (id) => links.get(id),
          clock: () => now,
          chain: providerChainClock(chain.provider),
        });
        links.set(bs.id, bs);
        return bs;
      });
      const [bs1, bs2] = stations as [BaseStation, BaseStation];
      const reader = new DataAnchorClient(anchorAddress, chain.provider);
      const app = new Application({
        params,
        keys: extractApplicationKeys(pkg, coords[1]!.id),
        anchors: reader,
        directory,
      });
      const nodeKeys = extractNodeKeys(pkg, device.id);
      const node = new NbiotNode(
        params,
        nodeKeys,
        openPrimaryKey(params, nodeKeys, app.id, app.provision(device.id, now)),
      );

      // ---- the node crosses two stations' areas
      const temps = [21.5, 22.0, 35.2, 23.1, 22.8, 36.9, 22.4];
      const send = (bs: BaseStation, values: readonly number[]) => {
        const frames = values.map((c) => node.send(text({ celsius: c }), now));
        for (const r of bs.ingest(frames, now)) {
          if (!r.ok) throw r.error;
          node.onReceipt(r.receipt);
        }
      };
      node.accept(await bs1.authenticate(node.enter(bs1.id, now), now), now);
      send(bs1, temps.slice(0, 4));
      now += 1000;
      node.accept(await bs2.authenticate(node.enter(bs2.id, now), now), now);
      expect(node.ops.asymmetricOps).to.equal(6); // 3 per entry
      send(bs2, temps.slice(4));

      // ---- seal and anchor from each station's registered account
      for (const [i, bs] of stations.entries()) {
        await bs.seal(now);
        const anchored = await bs.anchorPending(new DataAnchorClient(anchorAddress, stationAccounts[i]!.key));
        expect(anchored).to.have.length(1);
        expect(anchored[0]!.anchor?.sequence).to.equal(1n);
        expect(await reader.head(bs.id)).to.equal(1n);
      }

      // ---- acquisition: verified against the chain, then decrypted
      const { readings, handovers } = await app.acquire(device.id, 0, now + 1, [bs1, bs2]);
      expect(readings.map((r) => celsius(r.plaintext))).to.deep.equal(temps);
      expect(readings.map((r) => r.station)).to.deep.equal([...Array(4).fill(bs1.id), ...Array(3).fill(bs2.id)]);
      expect(handovers).to.have.length(1);
      for (const r of readings) {
        expect(await reader.verifyReading(r.station, r.root, r.valuesHash, [...r.proof])).to.equal(true);
        const other = r.station === bs1.id ? bs2.id : bs1.id;
        expect(await reader.verifyReading(other, r.root, r.valuesHash, [...r.proof])).to.equal(false);
      }

      // ---- accountability: when and where the temperature broke the limit
      const exceptions = await app.findExceptions(device.id, 0, now + 1, [bs1, bs2], (p) => celsius(p) > 30);
      expect(exceptions.map((e) => [e.seq, e.station, celsius(e.plaintext)])).to.deep.equal([
        [3, bs1.id, 35.2],
        [6, bs2.id, 36.9],
      ]);
      for (const e of exceptions) expect(e.anchor.sequence).to.equal(1n);

      // ---- a light node checks its own reading with the proof alone
      const receipt = node.receipts[5]!;
      const proof = await bs2.proof(device.id, receipt.seq);
      expect(await verifyOwnReading(device.id, receipt, proof, reader)).to.equal(proof.batch.root);
      try {
        await verifyOwnReading(device.id, node.receipts[0]!, proof, reader);
        expect.fail("a proof of another reading was accepted");
      } catch (e) {
        expect((e as ProtocolError).reason).to.equal("tampered");
      }

      // ---- an unanchored batch is caught, also when another station anchored its root first
      node.accept(await bs2.authenticate(node.enter(bs2.id, now + 10), now + 10), now + 10);
      send(bs2, [22.0]);
      await bs2.seal(now + 11);
      const [pending] = bs2.store.unanchored();
      await new DataAnchorClient(anchorAddress, stationAccounts[0]!.key).anchor(bs1.id, pending!.root, 1);
      try {
        await app.acquire(device.id, 0, now + 20, [bs1, bs2]);
        expect.fail("an unanchored root was accepted");
      } catch (e) {
        expect(e).to.be.instanceOf(ProtocolError);
        expect((e as ProtocolError).reason).to.equal("not-anchored");
      }
      // bs1's copy of the root does not block bs2's anchor
      expect(await bs2.anchorPending(new DataAnchorClient(anchorAddress, stationAccounts[1]!.key))).to.have.length(1);
      expect((await reader.anchorOf(bs2.id, pending!.root))!.gateway).to.equal(bs2.id);
      expect((await app.acquire(device.id, 0, now + 20, [bs1, bs2])).readings).to.have.length(8);

      // ---- a station that is not registered cannot anchor
      const rogue = Wallet.createRandom().connect(chain.provider);
      await (await chain.admin.sendTransaction({ to: rogue.address, value: parseEther("1") })).wait();
      try {
        await new DataAnchorClient(anchorAddress, rogue).anchor(bs1.id, `0x${"ab".repeat(32)}`, 1);
        expect.fail("a rogue account anchored");
      } catch (e) {
        expect(e).to.be.instanceOf(ContractRevertError);
        expect((e as ContractRevertError).errorName).to.equal("DataAnchorUnauthorizedKey");
      }

      // ---- a tampered record in a station's store is caught
      bs1.close();
      const db = new DatabaseSync(join(dir, "bs1.sqlite"));
      db.prepare("UPDATE blocks SET primary_ct = ? WHERE seq = 3").run(new Uint8Array(80).fill(7));
      db.close();
      const reopened = BaseStation.open({
        params,
        keys: pkgStationKeys(pkg, stationAccounts[0]!.id),
        storePath: join(dir, "bs1.sqlite"),
        directory,
        stations: (id) => links.get(id),
        clock: () => now,
      });
      try {
        await app.acquire(device.id, 0, now + 20, [reopened, bs2]);
        expect.fail("a tampered record was accepted");
      } catch (e) {
        expect(e).to.be.instanceOf(ProtocolError);
        expect(["bad-proof", "tampered"]).to.include((e as ProtocolError).reason);
      }
      reopened.close();
      bs2.close();
    });
  });
}
