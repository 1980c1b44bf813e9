/**
 * The NB-IoT part of the demo (seed 000): a refrigerated truck's temperature
 * sensor crosses three base stations' areas; each station authenticates it,
 * chains its readings, takes the flow over from the previous station, seals
 * and anchors its batches; the pharma company's application reads the flow
 * back, verifies everything against the chain, decrypts, and finds when and
 * where the cold chain broke; a rogue station is caught (an insider's edit is
 * caught on the running stations: scripts/demo/services.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type HDNodeWallet, id, type JsonRpcProvider, parseEther, type Signer, Wallet } from "ethers";

import { ContractRevertError, type Hex, ProtocolError } from "../../sdk/index.ts";
import { DataAnchorClient } from "../../sdk/exports/anchoring.ts";
import { mclBackend, Pkg } from "../../sdk/exports/crypto.ts";
import {
  Application,
  BaseStation,
  extractApplicationKeys,
  extractNodeKeys,
  NbiotNode,
  nbiotParams,
  openPrimaryKey,
  pkgStationKeys,
  registryDirectory,
  type StationLink,
  verifyOwnReading,
} from "../../sdk/exports/nbiot.ts";
import { type DeviceRegistryClient, Kind, Label } from "../../sdk/exports/registry.ts";
import { registerEntity } from "./register.ts";

export interface NbiotDemoContext {
  readonly provider: JsonRpcProvider;
  /** The deployment's \`DataAnchor\` (on the registry's chain). */
  readonly anchorAddress: string;
  readonly client: DeviceRegistryClient;
  readonly admin: Signer;
  readonly operator: Signer;
  /** Appointed coordination nodes (they admit the stations and the sensor). */
  readonly coordinators: readonly { readonly id: Hex; readonly key: HDNodeWallet }[];
  readonly layer: string;
  nextLocalId(): bigint;
  step(text: string): void;
  info(text: string): void;
}

const reading = (celsius: number, at: string): Uint8Array => new TextEncoder().encode(JSON.stringify({ celsius, at }));
const parse = (b: Uint8Array): { celsius: number; at: string } =>
  JSON.parse(new TextDecoder().decode(b)) as { celsius: number; at: string };

export async function runNbiotDemo(ctx: NbiotDemoContext): Promise<void> {
  const { provider, client, admin, step, info } = ctx;
  const short = (id: string): string => `${id.slice(0, 10)}…`;

  step("NB-IoT: registering three base stations and a cold-chain sensor on chain");
  const register = async (name: string, kind: Kind, label: Label, cls: string) => ({
    name,
    ...(await registerEntity(ctx, kind, label, cls)),
  });

  const stationAccounts: { name: string; id: Hex; key: HDNodeWallet }[] = [];
  for (const name of ["bs-north", "bs-centre", "bs-port"]) {
    const s = await register(name, Kind.BaseStation, Label.Full, "Gateway/BaseStation/NB-IoT");
    for (const c of ctx.coordinators.slice(0, 2)) await client.connect(c.key).approve(c.id, s.id);
    stationAccounts.push(s);
  }
  const sensor = await register("truck-7/thermo", Kind.Device, Label.Lightweight, "Device/Sensor/Temperature");
  await client.connect(ctx.coordinators[0]!.key).approve(ctx.coordinators[0]!.id, sensor.id, stationAccounts[0]!.id);
  for (const a of [...stationAccounts, sensor]) info(`${a.name.padEnd(15)} ${short(a.id)} Active`);

  step("The stations anchor in the deployment's DataAnchor; the PKG issues identity keys");
  const { anchorAddress } = ctx;
  info(`DataAnchor at ${anchorAddress}`);
  const backend = await mclBackend();
  const pkg = new Pkg(backend);
  const params = nbiotParams(backend, pkg.masterPublic);
  info("the sensor gets a signing key (Cha–Cheon IBS) and a decryption key (Boneh–Franklin IBE), s·H1(id);");
  info("each station gets a signing key per day, issued only while the registry lists it as active");

  const dir = mkdtempSync(join(tmpdir(), "strata-demo-nbiot-"));
  try {
    let now = Date.parse("2026-11-22T06:00:00Z"); // the scenario's clock, shared by every role
    const directory = registryDirectory(client);
    const links = new Map<string, StationLink>();
    const stations = stationAccounts.map((s) => {
      const bs = BaseStation.open({
        params,
        keys: pkgStationKeys(pkg, s.id),
        storePath: join(dir, `${s.name}.sqlite`),
        directory,
        stations: (id) => links.get(id),
        clock: () => now,
      });
      links.set(bs.id, bs);
      return bs;
    });
    const nameOf = (id: string): string => stationAccounts.find((s) => s.id === id)?.name ?? short(id);
    const reader = new DataAnchorClient(anchorAddress, provider);
    const app = new Application({
      params,
      keys: extractApplicationKeys(pkg, id("pharma-logistics/app") as Hex),
      anchors: reader,
      directory,
    });
    const nodeKeys = extractNodeKeys(pkg, sensor.id);
    const node = new NbiotNode(
      params,
      nodeKeys,
      openPrimaryKey(params, nodeKeys, app.id, app.provision(sensor.id, now)),
    );
    info("the application seals the sensor's primary key to its identity (IBE) and signs it; stations never see it");

    step("The truck drives north -> centre -> port; each station authenticates the sensor and chains its readings");
    const route: [BaseStation, number[]][] = [
      [stations[0]!, [4.1, 4.3, 4.0, 4.4]],
      [stations[1]!, [4.6, 9.8, 11.2, 5.1]],
      [stations[2]!, [4.2, 3.9, 4.1]],
    ];
    for (const [bs, temps] of route) {
      const before = node.ops.asymmetricOps;
      node.accept(await bs.authenticate(node.enter(bs.id, now), now), now);
      const tip = bs.flow(sensor.id)?.tip;
      const how =
        tip === undefined
          ? ", the first reading will be the foundation block"
          : tip.bs === bs.id
            ? ""
            : `, took the flow over from ${nameOf(tip.bs)} at block ${tip.seq} (signed handover record)`;
      info(
        `${nameOf(bs.id)}: mutual IBS authentication + IBE session key (${node.ops.asymmetricOps - before} asymmetric ops on the sensor${how})`,
      );
      let renewals = 0;
      for (const c of temps) {
        now += 5 * 60_000;
        if (node.shouldRenew(now, 0.5)) {
          node.onRenewal(await bs.renew(node.renew(now), now), now);
          renewals++;
        }
        const frame = node.send(reading(c, new Date(now).toISOString()), now);
        const [res] = bs.ingest([frame], now);
        if (!res!.ok) throw res!.error;
        node.onReceipt(res!.receipt);
      }
      info(
        `   ${temps.length} readings, double-encrypted, confirmed as blocks ${node.tip!.seq - temps.length + 1}-${node.tip!.seq}; ` +
          `session key renewed ${renewals}x (symmetric only)`,
      );
    }

    step("Each station seals its blocks into a signed Merkle batch and anchors the root from its registered account");
    for (const [i, bs] of stations.entries()) {
      const batch = (await bs.seal(now))!;
      const [done] = await bs.anchorPending(new DataAnchorClient(anchorAddress, stationAccounts[i]!.key));
      info(
        `${nameOf(bs.id).padEnd(10)} batch ${batch.number}: ${batch.leafCount} blocks, root ${short(batch.root)}, anchor #${done!.anchor!.sequence}`,
      );
    }

    step(
      "The application reads the flow back: chain links, station signatures, handovers, on-chain roots — then decrypts",
    );
    const { readings, handovers } = await app.acquire(sensor.id, 0, now, stations);
    for (const r of readings) {
      const v = parse(r.plaintext);
      info(`#${String(r.seq).padStart(2)}  ${v.at}  ${nameOf(r.station).padEnd(10)} ${v.celsius.toFixed(1)} °C`);
    }
    info(`${handovers.length} signed handover records link the stations' segments`);

    step("Accountability: when and where did the cold chain (<= 8 °C) break?");
    const breaches = await app.findExceptions(sensor.id, 0, now, stations, (p) => parse(p).celsius > 8);
    for (const b of breaches) {
      const ok = await reader.verifyReading(b.station, b.root, b.valuesHash, [...b.proof]);
      info(
        `${parse(b.plaintext).at} at ${nameOf(b.station)}: ${parse(b.plaintext).celsius} °C (block ${b.seq}; DataAnchor.verifyReading -> ${ok})`,
      );
    }

    step("The sensor checks one of its own readings with the proof alone (no chain copy)");
    const receipt = node.receipts.at(-1)!;
    const root = await verifyOwnReading(sensor.id, receipt, await stations[2]!.proof(sensor.id, receipt.seq), reader);
    info(`block ${receipt.seq} is in root ${short(root)}, anchored by ${nameOf(receipt.bs)}`);

    step(
      "A station missing from the registry (it holds PKG keys: only the registry stops it) tries to take the flow and to anchor",
    );
    const rogueKey = Wallet.createRandom().connect(provider);
    const rogueId = id("rogue-bs") as Hex;
    const rogue = BaseStation.open({
      params,
      keys: pkgStationKeys(pkg, rogueId),
      storePath: join(dir, "rogue.sqlite"),
      directory,
      stations: (id) => links.get(id),
      clock: () => now,
    });
    now += 60_000;
    try {
      await rogue.authenticate(node.enter(rogue.id, now), now);
      info("!! the rogue station took the flow over");
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      info(`the rogue station cannot serve: ${e.reason}`);
    }
    try {
      await (await admin.sendTransaction({ to: rogueKey.address, value: parseEther("1") })).wait();
      await new DataAnchorClient(anchorAddress, rogueKey).anchor(stationAccounts[2]!.id, id("forged") as Hex, 1);
      info("!! the rogue anchor was accepted");
    } catch (e) {
      if (!(e instanceof ContractRevertError)) throw e;
      info(`DataAnchor refuses its anchor: ${e.errorName}`);
    }
    rogue.close();
    for (const bs of [stations[0]!, stations[2]!]) bs.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
