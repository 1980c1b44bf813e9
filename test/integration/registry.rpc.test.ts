/**
 * End to end through the SDK against real JSON-RPC nodes in separate
 * processes: `hardhat node` and anvil (Foundry) — so the SDK depends on no
 * Hardhat quirk. Deploys the registry, builds a small city, takes a full node
 * offline, reassigns, blocks a misbehaving device and refuses a fake ID.
 */
import { expect } from "chai";
import { type HDNodeWallet, type JsonRpcSigner, Wallet, parseEther } from "ethers";

import { ContractRevertError, type Hex } from "../../sdk/index.ts";
import {
  buildRegistration,
  DeviceRegistryClient,
  Kind,
  Label,
  minimalProfile,
  newChallenge,
  replayHistory,
  Status,
} from "../../sdk/exports/registry.ts";
import { DeviceRegistry__factory } from "../../types/ethers-contracts/index.ts";
import { type NodeProcess, startAnvil, startHardhatNode } from "../../support/node-process.ts";

const CONFIG = {
  fullNodeApprovals: 2,
  reportPenalty: 250,
  suspendBelow: 600,
  blockBelow: 300,
  epochLength: 3600,
  heartbeatTimeout: 600,
};

for (const [name, startNode] of [
  ["hardhat node", startHardhatNode],
  ["anvil", startAnvil],
] as const) {
  describe(`DeviceRegistry over JSON-RPC (${name})`, function () {
    this.timeout(180_000);
    let node: NodeProcess;
    let admin: JsonRpcSigner;
    let client: DeviceRegistryClient;
    let localId = 0n;

    before(async function () {
      node = await startNode();
      admin = await node.provider.getSigner(0);
      const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress(), CONFIG);
      await registry.waitForDeployment();
      client = new DeviceRegistryClient(await registry.getAddress(), admin);
      await client.setLayerOperator("strata://rpc/edge-1", await admin.getAddress());
    });

    after(async function () {
      await node?.stop();
    });

    async function register(label: Label, key: HDNodeWallet = Wallet.createRandom().connect(node.provider)) {
      await (await admin.sendTransaction({ to: key.address, value: parseEther("1") })).wait();
      const req = buildRegistration({
        uuid: { layer: "strata://rpc/edge-1", localId: ++localId },
        key: key.address,
        kind: Kind.Device,
        label,
        permissions: 1,
        profile: minimalProfile("Device/Sensor"),
        deadline: 2n ** 40n,
      });
      const { id } = await client.register(req, await client.signRegistration(key, req, await admin.getAddress()));
      return { id, key };
    }

    async function advance(seconds: number): Promise<void> {
      await node.provider.send("evm_increaseTime", [seconds]);
      await node.provider.send("evm_mine", []);
    }

    it("runs the registry lifecycle through the SDK", async function () {
      const coords = [await register(Label.Coordination), await register(Label.Coordination)];
      for (const c of coords) await client.appointCoordinator(c.id);
      const [f1, f2] = [await register(Label.Full), await register(Label.Full)];
      for (const f of [f1, f2]) for (const c of coords) await client.connect(c.key).approve(c.id, f.id);
      const devices = [];
      for (let i = 0; i < 4; i++) {
        const d = await register(Label.Lightweight);
        await client.connect(coords[0]!.key).approve(coords[0]!.id, d.id, f1.id);
        devices.push(d);
      }
      expect(await client.servedCount(f1.id)).to.equal(4n);

      // f1 misses its heartbeat; f2 keeps beating: the devices move in bounded batches.
      await advance(CONFIG.heartbeatTimeout + 1);
      await client.connect(f2.key).heartbeat(f2.id);
      expect(await client.isLive(f1.id)).to.equal(false);
      const batches = await client.connect(coords[1]!.key).reassignAll(coords[1]!.id, f1.id, f2.id, 3);
      expect(batches.map((b) => b.events.filter((e) => e.name === "ServingNodeAssigned").length)).to.deep.equal([3, 1]);
      for (const d of devices) expect((await client.getDevice(d.id)).servingNode).to.equal(f2.id);

      // Peer authentication from on-chain keys.
      const now = 1_800_000_000n; // the verifier's own clock, pinned: it judges its challenge with it
      const challenge = newChallenge(devices[0]!.id, f2.id, crypto.getRandomValues(new Uint8Array(32)), now);
      const signature = await client.signChallenge(devices[0]!.key, challenge);
      await client.verifyPeer({ expected: challenge, answered: challenge, signature, now: challenge.issuedAt });

      // Misbehaviour: two reports suspend, the third blocks.
      const target = devices[1]!;
      await client.connect(coords[0]!.key).report(coords[0]!.id, target.id, ("0x" + "11".repeat(32)) as Hex);
      await client.connect(coords[1]!.key).report(coords[1]!.id, target.id, ("0x" + "22".repeat(32)) as Hex);
      expect((await client.getDevice(target.id)).status).to.equal(Status.Suspended);
      await client.connect(f2.key).report(f2.id, target.id, ("0x" + "33".repeat(32)) as Hex);
      expect((await client.getDevice(target.id)).status).to.equal(Status.Blocked);

      // A fake registration of an active UUID is refused with a typed error.
      const fake = Wallet.createRandom();
      const req = buildRegistration({
        uuid: { layer: "strata://rpc/edge-1", localId: 1n },
        key: fake.address,
        kind: Kind.Device,
        label: Label.Lightweight,
        permissions: 0,
        profile: minimalProfile("Device/Sensor"),
        deadline: 2n ** 40n,
      });
      try {
        await client.register(req, await client.signRegistration(fake, req, await admin.getAddress()));
        expect.fail("fake registration accepted");
      } catch (e) {
        expect(e).to.be.instanceOf(ContractRevertError);
        expect((e as ContractRevertError).errorName).to.equal("RegistryDeviceExists");
      }

      // Provenance replays to the stored record.
      const history = await client.history(target.id);
      const replayed = replayHistory(target.id, history)!;
      const stored = await client.getDevice(target.id);
      expect(replayed.status).to.equal(stored.status);
      expect(replayed.trust).to.equal(stored.trust);
      expect(replayed.servingNode).to.equal(stored.servingNode);
    });
  });
}
