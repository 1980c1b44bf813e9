/**
 * Seed 003 §IV.B, contract communication: each of statements 1-6 through the
 * SDK on one embedded chain, the branch where it holds and the branch where it
 * fails, on the testbed of a vehicle in district A's edge layer and a traffic
 * light in district B's, with district A, the city and district B between.
 * Each refusal is checked by its reason and by what the ledgers (do not) hold.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { type Hex } from "../../../sdk/core/bytes.ts";
import { partialAttestation } from "../../../sdk/core/layers/attestation.ts";
import { encodeContractMessage } from "../../../sdk/core/layers/contract.ts";
import { type Packet, PacketError, summaryOf } from "../../../sdk/core/layers/packet.ts";
import { layerHash } from "../../../sdk/core/ids.ts";
import { ContractRevertError, TransportError } from "../../../sdk/errors.ts";
import { EdgeNode } from "../../../sdk/layers/edge-node.ts";
import type { LayerNode, LayerNodeOptions } from "../../../sdk/layers/layer-node.ts";
import { ObjectStore } from "../../../sdk/store/object-store.ts";
import {
  backend,
  body,
  ledgerEvents,
  memberKey,
  OPENED,
  outcomes,
  peerProxy,
  refusal,
  scene,
  signedBy,
} from "../../helpers/layers.ts";

const { ethers, networkHelpers } = await network.create();

type Four = [LayerNode, LayerNode, LayerNode, LayerNode];

const RECORDED = ["recorded", "recorded", "recorded"];
const word = (tag: string) => ethers.keccak256(ethers.toUtf8Bytes(tag)).toLowerCase() as Hex;

/** The scene on this test's chain. */
const setup = async (node: Partial<LayerNodeOptions> = {}) => scene(await ethers.getSigners(), node);

/** `p` re-signed by edge A's central node, as the superior on `chainId` checks it. */
const resign = (s: Awaited<ReturnType<typeof setup>>, packet: Packet) =>
  signedBy(s.bed.centrals.a, packet, s.l1a.link.chainId);

describe("layers: the rules of a contract communication (statements 1-6 in the paper)", function () {
  this.timeout(60_000);

  describe("statement 1: P comes from the layer it names", () => {
    it("holds for P its edge layer's central node signed; a missing, forged or stale signature is bad-source", async () => {
      const s = await setup();
      const first = await s.open();
      const chainId = s.l1a.link.chainId;
      const before = await ethers.provider.getBlockNumber();

      const missing = await refusal(s.bed.router.route({ packet: first.packet }));
      expect(missing.reason).to.equal("bad-source");
      // Another account's signature: district B's central node is not district A's subordinate.
      const forged = await refusal(s.bed.router.route(await signedBy(s.bed.centrals.b, first.packet, chainId)));
      expect(forged.reason).to.equal("bad-source");
      expect(forged.details.signer).to.equal(await s.bed.centrals.b.getAddress());
      expect(forged.details.centralNode).to.equal(await s.bed.centrals.a.getAddress());
      // The central node's signature for another chain, or over another M (with its own Sum(M)).
      const otherChain = await signedBy(s.bed.centrals.a, first.packet, chainId + 1n);
      expect((await refusal(s.bed.router.route(otherChain))).reason).to.equal("bad-source");
      const message = encodeContractMessage({ from: s.bed.vehicle.id, to: s.bed.light.id, body: body("free") });
      const swapped: Packet = { ...first.packet, message, ids: [summaryOf(message, first.packet.time)] };
      const stolen = { packet: swapped, edgeSignature: first.edgeSignature };
      expect((await refusal(s.bed.router.route(stolen))).reason).to.equal("bad-source");
      const garbled = { packet: first.packet, edgeSignature: "0x1234" as Hex };
      expect((await refusal(s.bed.router.route(garbled))).reason).to.equal("bad-source");
      // M changed under the signed I: Sum(M) itself does not hold.
      const mismatch = await s.bed.router
        .route({ packet: { ...first.packet, message }, edgeSignature: first.edgeSignature })
        .catch((e: unknown) => e);
      expect(mismatch).to.be.instanceOf(PacketError);
      expect((mismatch as PacketError).reason).to.equal("wrong-summary");

      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      expect(await s.l1a.ledger.openingOf(first.packet.ids[0]!)).to.equal(undefined);
      expect(outcomes(await s.bed.router.route(first))).to.deep.equal(OPENED);
    });

    it("fails for a source layer not linked (unknown-source) until the layer's quorum links it", async () => {
      const s = await setup();
      // An edge layer under district A that district A's ledger does not name.
      const store = new ObjectStore(":memory:", "strata://city/district-a/crossing-2");
      const bike = store.create({ classPath: "Vehicle/Bike", permissions: 1, description: "cargo bike 3" });
      const account = s.signers[16]!;
      const c = new EdgeNode({ store, account, superior: s.l1a.link, directory: s.bed.directory });
      const fromC = await c.open(bike.localId, s.bed.light.uuid, body("green"), s.route);
      const before = await ethers.provider.getBlockNumber();
      const unknown = await refusal(s.bed.router.route(fromC));
      expect(unknown.reason).to.equal("unknown-source");
      expect(unknown.details.source).to.equal(c.layerId);
      expect(await ethers.provider.getBlockNumber()).to.equal(before);

      // A route skipping the city: district B refuses to pass P to district A, which is neither its
      // superior nor its subordinate, before writing anything.
      const skip = await s.b.open(s.bed.light.localId, s.bed.vehicle.uuid, body("skip the city"), [
        s.l1b.layerId,
        s.l1a.layerId,
      ]);
      const skipped = await refusal(s.bed.router.route(skip));
      expect(skipped.reason).to.equal("misrouted");
      expect(skipped.details.next).to.equal(s.l1a.layerId);
      expect(await s.l1b.ledger.openingOf(skip.packet.ids[0]!)).to.equal(undefined);
      expect(await s.l1a.ledger.openingOf(skip.packet.ids[0]!)).to.equal(undefined);

      // Linked by district A's quorum, edge layer C is a known source: the same P opens.
      await s.l1a.nodes[1]!.linkSubordinate(await c.link());
      expect(await s.l1a.ledger.subordinate(c.layerId)).to.deep.equal(await c.link());
      const r = await s.bed.router.route(fromC);
      expect(outcomes(r)).to.deep.equal(OPENED);
      expect(r.delivery!.object.id).to.equal(s.bed.light.id);
    });

    it("fails for P from a high-level layer whose ledger does not hold Sum(M) in the block P names (bad-source)", async () => {
      const s = await setup();
      const first = await s.open();
      const hopA = await s.l1a.nodes[0]!.receive(first);
      expect(hopA.outcome).to.equal("opened");
      const next = hopA.next!.packet;
      expect(next.source).to.deep.equal([s.a.layerId, s.l1a.layerId]);
      expect(next.ids).to.deep.equal([first.packet.ids[0], hopA.blockId]);

      // Another M (and its Sum) under district A's block: district A never recorded it.
      const message = encodeContractMessage({ from: s.bed.vehicle.id, to: s.bed.light.id, body: body("free") });
      const other = summaryOf(message, next.time);
      const forged = await refusal(s.bed.router.route({ packet: { ...next, message, ids: [other, hopA.blockId] } }));
      expect(forged.reason).to.equal("bad-source");
      expect(forged.details.source).to.equal(s.l1a.layerId);
      // The right Sum(M) named in another of district A's blocks.
      const second = await s.l1a.nodes[0]!.receive(await s.open("another contract"));
      expect(second.outcome).to.equal("opened");
      expect(second.blockId).to.not.equal(hopA.blockId);
      const elsewhere = await refusal(s.bed.router.route({ packet: { ...next, ids: [next.ids[0]!, second.blockId] } }));
      expect(elsewhere.reason).to.equal("bad-source");
      expect(elsewhere.details.blockId).to.equal(second.blockId);
      expect(await s.l2.ledger.openingOf(other)).to.equal(undefined);
      expect(await s.l2.ledger.openingOf(next.ids[0]!)).to.equal(undefined);

      // District A's own P holds: the city and district B open, the light gets it.
      const r = await s.bed.router.route(hopA.next!);
      expect(outcomes(r)).to.deep.equal(["opened", "opened"]);
      expect(r.delivery!.object.id).to.equal(s.bed.light.id);
    });

    it("fails for P with the ending tag whose source block is not accomplished (bad-source)", async () => {
      const s = await setup();
      const c = await s.contract();
      // The vehicle goes on (same route): district A records without the tag; the tag added on the way is refused.
      const more = await s.a.follow(c.delivered, s.bed.vehicle.localId, body("one more thing"));
      const hopA = await s.l1a.nodes[0]!.receive(more);
      expect([hopA.outcome, hopA.accomplished]).to.deep.equal(["recorded", false]);
      const tagged = await refusal(s.bed.router.route({ packet: { ...hopA.next!.packet, ending: true } }));
      expect(tagged.reason).to.equal("bad-source");
      expect(await s.l2.ledger.summaryOf(c.blocks[1]!, more.packet.ids[0]!)).to.equal(undefined);
      expect((await s.l1a.ledger.getBlock(c.blocks[0]!))!.accomplished).to.equal(false);
      // Untouched, the packet goes on.
      expect(outcomes(await s.bed.router.route(hopA.next!))).to.deep.equal(["recorded", "recorded"]);

      // A first communication cannot carry the tag: no layer opens a block that the next would refuse.
      const endingFirst = await s.open("open and end at once", true);
      const before = await ethers.provider.getBlockNumber();
      expect((await refusal(s.bed.router.route(endingFirst))).reason).to.equal("bad-source");
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      expect(await s.l1a.ledger.openingOf(endingFirst.packet.ids[0]!)).to.equal(undefined);

      // Set by the responsible nodes along the route, F lets the tag through every layer.
      const end = await s.a.follow(c.delivered, s.bed.vehicle.localId, body("done"), true);
      const r = await s.bed.router.route(end);
      expect(r.hops.map((h) => [h.outcome, h.accomplished])).to.deep.equal(RECORDED.map((o) => [o, true]));
      expect(r.delivery!.object.id).to.equal(s.bed.light.id);
    });

    it("refuses P not addressed to the layer or edge layer it reaches (misrouted)", async () => {
      const s = await setup();
      const first = await s.open();
      for (const node of [s.l2.nodes[0]!, s.l1b.nodes[1]!]) {
        const e = await refusal(node.receive(first));
        expect(e.reason).to.equal("misrouted");
        expect(e.details.next).to.equal(s.l1a.layerId);
      }
      const hopA = await s.l1a.nodes[0]!.receive(first);
      expect((await refusal(s.l1a.nodes[1]!.receive(hopA.next!))).reason).to.equal("misrouted");
      expect((await refusal(s.b.deliver(hopA.next!))).reason).to.equal("misrouted");
      expect((await refusal(s.a.deliver(hopA.next!))).reason).to.equal("misrouted");
      // A layer the router does not know.
      const nowhere = await s.a.open(s.bed.vehicle.localId, s.bed.light.uuid, body("x"), [
        layerHash("strata://nowhere"),
        s.l2.layerId,
        s.l1b.layerId,
      ]);
      expect((await refusal(s.bed.router.route(nowhere))).reason).to.equal("misrouted");
      // To an object the destination edge layer does not hold: every layer opens, the edge refuses.
      const ghost = await s.a.open(s.bed.vehicle.localId, s.bed.stores.b.uuidOf(999n), body("y"), s.route);
      expect((await refusal(s.bed.router.route(ghost))).reason).to.equal("misrouted");
      // Addressed right, the city takes district A's P.
      expect((await s.bed.router.route(hopA.next!)).hops.map((h) => h.outcome)).to.deep.equal(["opened", "opened"]);
    });

    it("opens with a quorum of members signing; with fewer, no-quorum and nothing is written", async () => {
      const s = await setup();
      const [n0, n1, n2, n3] = s.l1a.nodes as Four;
      n3.stop();
      // 3 of 4 running: the quorum (n - f = 3) signs.
      const c = await s.contract();
      expect(c.r.hops[0]!.node).to.equal(n0.node);
      n2.stop();
      const first = await s.open("two members down");
      const before = await ethers.provider.getBlockNumber();
      const e = await refusal(s.bed.router.route(first));
      expect(e.reason).to.equal("no-quorum");
      const refusals = e.details.refusals as { index: number; why: string }[];
      expect(refusals.map((x) => x.index).sort()).to.deep.equal([2, 3]);
      expect(refusals.every((x) => x.why === "the node is stopped")).to.equal(true);
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      expect(await s.l1a.ledger.openingOf(first.packet.ids[0]!)).to.equal(undefined);
      expect(n1.running).to.equal(true);
    });

    it("counts only partials under the members' registered keys: a peer signing with another key is refused", async () => {
      const s = await setup();
      const [n0, n1, n2, n3] = s.l1a.nodes as Four;
      n3.stop();
      const wrongKey = memberKey("not district A", 1);
      const lying = peerProxy(n1, {
        reviewOpen: async (t, request) => {
          await n1.reviewOpen(t, request);
          return partialAttestation(backend, wrongKey, await s.l1a.ledger.openDigest(request));
        },
      });
      n0.setPeers([lying, n2, n3]);
      const first = await s.open("a lying peer");
      const e = await refusal(n0.receive(first));
      expect(e.reason).to.equal("no-quorum");
      const refusals = e.details.refusals as { index: number; why: string }[];
      expect(refusals).to.deep.equal([
        { index: 1, why: "signature" },
        { index: 3, why: "the node is stopped" },
      ]);
      expect(await s.l1a.ledger.openingOf(first.packet.ids[0]!)).to.equal(undefined);
      // The honest peer again: 3 of 4.
      n0.setPeers([n1, n2, n3]);
      expect((await n0.receive(first)).outcome).to.equal("opened");
    });
  });

  describe("statements 2 and 3: a first communication opens one block per layer", () => {
    it("stops the same first packet at the first layer (already-opened), opening no second block", async () => {
      const s = await setup();
      const c = await s.contract();
      const before = await ethers.provider.getBlockNumber();
      const again = await s.bed.router.route(c.first);
      expect(again.hops).to.have.length(1);
      expect(again.delivery).to.equal(undefined);
      expect(again.stoppedAt!.outcome).to.equal("already-opened");
      expect(again.stoppedAt!.layerId).to.equal(s.l1a.layerId);
      expect(again.stoppedAt!.blockId).to.equal(c.blocks[0]);
      // Another member received it this time (N_1 is not the first node), and wrote nothing.
      expect(again.stoppedAt!.node).to.not.equal(c.r.hops[0]!.node);
      expect(again.stoppedAt!.txHash).to.equal(undefined);
      expect(again.stoppedAt!.next).to.equal(undefined);
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      const opened = await s.l1a.ledger.contract.queryFilter(s.l1a.ledger.contract.filters.BlockOpened());
      expect(opened).to.have.length(1);
    });

    it("opens one block when two members receive the same first packet at once", async () => {
      const s = await setup();
      const first = await s.open();
      const hops = await Promise.all([s.l1a.nodes[1]!.receive(first), s.l1a.nodes[2]!.receive(first)]);
      expect(hops.map((h) => h.outcome).sort()).to.deep.equal(["already-opened", "opened"]);
      expect(hops[0]!.blockId).to.equal(hops[1]!.blockId);
      expect(hops.filter((h) => h.next !== undefined)).to.have.length(1);
      const opened = await s.l1a.ledger.contract.queryFilter(s.l1a.ledger.contract.filters.BlockOpened());
      expect(opened).to.have.length(1);
      const winner = hops.find((h) => h.outcome === "opened")!;
      expect((await s.l1a.ledger.getBlock(winner.blockId))!.responsible).to.equal(winner.node);
    });
  });

  describe("statement 4: the responsible node (N_r in the paper) handles following communications", () => {
    it("passes a following packet entering at another member to the responsible node, which records it", async () => {
      const s = await setup();
      const c = await s.contract();
      const responsible = c.r.hops.map((h) => h.node);
      expect(responsible).to.deep.equal([s.l1a.nodes[0]!.node, s.l2.nodes[0]!.node, s.l1b.nodes[0]!.node]);
      const reply = await s.b.follow(c.delivered, s.bed.light.localId, body("ok: green at 12:00:05"));
      // Not N_r, asked to record directly: statement 4 fails there.
      const direct = await refusal(s.l1b.nodes[2]!.handleFollowing(reply));
      expect(direct.reason).to.equal("not-responsible");
      expect(direct.details.responsible).to.equal(responsible[2]);
      expect(await s.l1b.ledger.summaryOf(c.blocks[2]!, reply.packet.ids[0]!)).to.equal(undefined);

      const hopB = await s.l1b.nodes[2]!.receive(reply);
      expect([hopB.outcome, hopB.node, hopB.tookOverFrom]).to.deep.equal(["recorded", responsible[2], undefined]);
      expect(await s.l1b.ledger.summaryOf(c.blocks[2]!, reply.packet.ids[0]!)).to.not.equal(undefined);
      // The city and district A are entered at their next member in turn (not N_r): N_r records.
      const rest = await s.bed.router.route(hopB.next!);
      expect(rest.hops.map((h) => [h.outcome, h.node, h.tookOverFrom])).to.deep.equal([
        ["recorded", responsible[1], undefined],
        ["recorded", responsible[0], undefined],
      ]);
      expect(rest.delivery!.object.id).to.equal(s.bed.vehicle.id);
      for (const [k, layer] of [s.l1a, s.l2, s.l1b].entries()) {
        expect((await layer.ledger.getBlock(c.blocks[k]!))!.responsible).to.equal(responsible[k]);
      }
    });

    it("lets a quorum hand the block to another member when the responsible node is stopped, and no fewer", async () => {
      const s = await setup();
      const c = await s.contract();
      const [n0, n1, n2, n3] = s.l1b.nodes as Four;
      expect((await s.l1b.ledger.getBlock(c.blocks[2]!))!.responsible).to.equal(n0.node);
      n0.stop();
      const reply = await s.b.follow(c.delivered, s.bed.light.localId, body("ok"));
      const r = await s.bed.router.route(reply);
      expect(outcomes(r)).to.deep.equal(RECORDED);
      expect([r.hops[0]!.node, r.hops[0]!.tookOverFrom]).to.deep.equal([n1.node, n0.node]);
      expect(r.hops.slice(1).map((h) => h.tookOverFrom)).to.deep.equal([undefined, undefined]);
      expect((await s.l1b.ledger.getBlock(c.blocks[2]!))!.responsible).to.equal(n1.node);
      const taken = await s.l1b.ledger.contract.queryFilter(s.l1b.ledger.contract.filters.ResponsibilityTaken());
      expect(taken.map((e) => [e.args[0].toLowerCase(), e.args[1], e.args[2]])).to.deep.equal([
        [c.blocks[2], n0.node, n1.node],
      ]);

      // The new N_r handles the next one, entered elsewhere, without another takeover.
      const more = await s.a.follow(r.delivery!.packet, s.bed.vehicle.localId, body("paying"));
      const r2 = await s.bed.router.route(more);
      expect(r2.hops.map((h) => [h.outcome, h.tookOverFrom])).to.deep.equal(RECORDED.map((o) => [o, undefined]));
      expect(r2.hops[2]!.node).to.equal(n1.node);

      // N_r stopped too, two of four left: no quorum takes the block, nothing is recorded.
      n1.stop();
      const last = await s.b.follow(r2.delivery!.packet, s.bed.light.localId, body("received"));
      const before = await ethers.provider.getBlockNumber();
      const e = await refusal(n2.receive(last));
      expect(e.reason).to.equal("no-quorum");
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      expect((await s.l1b.ledger.getBlock(c.blocks[2]!))!.responsible).to.equal(n1.node);
      expect(await s.l1b.ledger.summaryOf(c.blocks[2]!, last.packet.ids[0]!)).to.equal(undefined);
      expect(n3.running).to.equal(true);
    });

    it("takes over from a responsible node the entry member cannot reach, but not from one the others reach", async () => {
      const s = await setup();
      const c = await s.contract();
      const [n0, n1, n2, n3] = s.l1b.nodes as Four;
      const unreachable = () => Promise.reject(new TransportError("connect ECONNREFUSED"));
      const cut = peerProxy(n0, { answer: unreachable, handleFollowing: unreachable });
      n1.setPeers([cut, n2, n3]);

      // N_r answers the others: they refuse the takeover, the entry member has no quorum.
      const reply = await s.b.follow(c.delivered, s.bed.light.localId, body("ok"));
      const disputed = await refusal(n1.receive(reply));
      expect(disputed.reason).to.equal("no-quorum");
      const why = (disputed.details.refusals as { index: number; why: string }[]).map((x) => [x.index, x.why]);
      expect(why).to.deep.include.members([
        [2, "the responsible node answers"],
        [3, "the responsible node answers"],
      ]);
      expect((await s.l1b.ledger.getBlock(c.blocks[2]!))!.responsible).to.equal(n0.node);
      expect(await s.l1b.ledger.summaryOf(c.blocks[2]!, reply.packet.ids[0]!)).to.equal(undefined);
      // Asked to sign away its own block, a running N_r refuses.
      const digest = await s.l1b.ledger.takeOverDigest(c.blocks[2]!, n1.node);
      const own = await refusal(n0.reviewTakeOver(c.blocks[2]!, n1.node, digest));
      expect(own.reason).to.equal("disputed");

      // N_r down for everyone (unreachable over the entry member's transport): the quorum hands the block over.
      n0.stop();
      const hop = await n1.receive(reply);
      expect([hop.outcome, hop.node, hop.tookOverFrom]).to.deep.equal(["recorded", n1.node, n0.node]);
      expect((await s.l1b.ledger.getBlock(c.blocks[2]!))!.responsible).to.equal(n1.node);
    });

    it("refuses a following P naming a block of another contract (wrong-contract) or no block (unknown-block)", async () => {
      const s = await setup();
      const c = await s.contract();
      // Another contract of district A, between other edge layers: the vehicle and a meter of its own edge layer.
      const meter = s.bed.stores.a.create({ classPath: "Infrastructure/Meter", permissions: 1, description: "m1" });
      const local = await s.a.open(s.bed.vehicle.localId, meter.uuid, body("park 1 h"), [s.l1a.layerId]);
      const r0 = await s.bed.router.route(local);
      expect(outcomes(r0)).to.deep.equal(["opened"]);
      expect(r0.delivery!.object.id).to.equal(meter.id);
      const other = r0.hops[0]!.blockId;

      const more = await s.a.follow(c.delivered, s.bed.vehicle.localId, body("one more"));
      const naming = (blockId: Hex) =>
        resign(s, { ...more.packet, ids: [more.packet.ids[0]!, blockId, ...c.blocks.slice(1)] });
      const wrong = await refusal(s.bed.router.route(await naming(other)));
      expect(wrong.reason).to.equal("wrong-contract");
      expect(wrong.details.blockId).to.equal(other);
      for (const blockId of [word("no such block"), c.blocks[1]!]) {
        const unknown = await refusal(s.bed.router.route(await naming(blockId)));
        expect(unknown.reason).to.equal("unknown-block");
        expect(unknown.details.blockId).to.equal(blockId);
      }
      for (const blockId of [other, c.blocks[0]!])
        expect(await s.l1a.ledger.summaryOf(blockId, more.packet.ids[0]!)).to.equal(undefined);
      // Naming its own blocks, the same P is recorded in each.
      const r = await s.bed.router.route(more);
      expect(outcomes(r)).to.deep.equal(RECORDED);
      expect(r.hops.map((h) => h.blockId)).to.deep.equal(c.blocks);
    });
  });

  describe("statement 5: a summary already in K is a replay", () => {
    it("stops a replayed following P at the first layer with SummaryReplayed and the alarm", async () => {
      const s = await setup();
      const c = await s.contract();
      const reply = await s.b.follow(c.delivered, s.bed.light.localId, body("ok"));
      const r = await s.bed.router.route(reply);
      expect(outcomes(r)).to.deep.equal(RECORDED);
      expect(s.alarms).to.deep.equal([]);

      const again = await s.bed.router.route(reply);
      expect(again.hops).to.have.length(1);
      const hop = again.stoppedAt!;
      expect([hop.outcome, hop.layerId, hop.blockId, hop.next]).to.deep.equal([
        "replayed",
        s.l1b.layerId,
        c.blocks[2],
        undefined,
      ]);
      // Entered at another member, handled (and alarmed) by N_r.
      expect(hop.node).to.equal(c.r.hops[2]!.node);
      const events = await ledgerEvents(s.l1b.ledger, hop.txHash!);
      expect(events.map((e) => e.name)).to.deep.equal(["SummaryReplayed"]);
      expect([events[0]!.args[0].toLowerCase(), events[0]!.args[1].toLowerCase(), events[0]!.args[2]]).to.deep.equal([
        c.blocks[2],
        reply.packet.ids[0],
        hop.node,
      ]);
      expect(s.alarms).to.have.length(1);
      expect(s.alarms[0]).to.deep.include({ kind: "replayed", layerId: s.l1b.layerId, node: hop.node });
      expect(s.alarms[0]!.txHash).to.equal(hop.txHash);
      expect(s.alarms[0]!.details.summary).to.equal(reply.packet.ids[0]);
      // K holds the summary once.
      const proof = await s.l1b.ledger.proof(c.blocks[2]!);
      expect(proof!.summaries.map((x) => x.summary)).to.deep.equal([c.first.packet.ids[0], reply.packet.ids[0]]);
    });
  });

  describe("statement 6: the ending tag sets F", () => {
    it("sets F in every layer's block; packets after it are refused (closed)", async () => {
      const s = await setup();
      const c = await s.contract();
      const reply = await s.b.follow(c.delivered, s.bed.light.localId, body("ok"));
      const r1 = await s.bed.router.route(reply);
      expect(r1.hops.map((h) => h.accomplished)).to.deep.equal([false, false, false]);
      const end = await s.a.follow(r1.delivery!.packet, s.bed.vehicle.localId, body("paid, done"), true);
      const r2 = await s.bed.router.route(end);
      expect(r2.hops.map((h) => [h.outcome, h.accomplished])).to.deep.equal(RECORDED.map((o) => [o, true]));
      expect(r2.delivery!.packet.ending).to.equal(true);
      for (const [k, layer] of [s.l1a, s.l2, s.l1b].entries()) {
        expect((await layer.ledger.getBlock(c.blocks[k]!))!.accomplished).to.equal(true);
        const events = await ledgerEvents(layer.ledger, r2.hops[k]!.txHash!);
        expect(events.map((e) => e.name)).to.deep.equal(["SummaryRecorded", "BlockAccomplished"]);
      }
      const before = await ethers.provider.getBlockNumber();
      // From either end, and a replay of the ending packet itself.
      const late = [
        await s.b.follow(r2.delivery!.packet, s.bed.light.localId, body("one more")),
        await s.a.follow(r2.delivery!.packet, s.bed.vehicle.localId, body("and another")),
        end,
      ];
      for (const t of late) {
        const e = await refusal(s.bed.router.route(t));
        expect([e.reason, e.details.accomplished]).to.deep.equal(["closed", true]);
      }
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
    });
  });

  describe("expiry T", () => {
    it("closes an expired block, extends it when the first packet comes again, and alarms once it was cleaned", async () => {
      const s = await setup({ blockLifetime: 300n });
      const c = await s.contract();
      await networkHelpers.time.increase(301);
      const reply = await s.b.follow(c.delivered, s.bed.light.localId, body("late"));
      const expired = await refusal(s.bed.router.route(reply));
      expect([expired.reason, expired.details.accomplished]).to.deep.equal(["closed", false]);
      // Nobody can clean it the instant it expired: it may still be extended.
      const early = await s.l1a.ledger
        .connect(s.signers[0]!)
        .cleanup(c.blocks[0]!, [])
        .catch((e: unknown) => e);
      expect(early).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerBlockExtendable");

      // Statement 3 fails on an expired block: it is extended, not opened anew.
      const again = await s.bed.router.route(c.first);
      expect(outcomes(again)).to.deep.equal(["extended", "extended", "extended"]);
      expect(again.hops.map((h) => h.blockId)).to.deep.equal(c.blocks);
      expect(again.delivery!.object.id).to.equal(s.bed.light.id);
      // the light has seen M: the central node delivers it again only as the renewal of the extended blocks
      expect([c.r.delivery!.renewal, again.delivery!.renewal]).to.deep.equal([false, true]);
      const now = BigInt(await networkHelpers.time.latest());
      expect((await s.l1a.ledger.getBlock(c.blocks[0]!))!.expiry > now).to.equal(true);
      expect(outcomes(await s.bed.router.route(reply))).to.deep.equal(RECORDED);

      // Final past the extension window, then cleaned with its summaries kept: its first packet is a replay.
      await networkHelpers.time.increase(301n + (await s.l1a.ledger.extensionWindow()));
      await s.l1a.ledger.connect(s.signers[0]!).cleanup(c.blocks[0]!, []);
      expect(await s.l1a.ledger.getBlock(c.blocks[0]!)).to.equal(undefined);
      const replay = await s.bed.router.route(c.first);
      expect(replay.hops.map((h) => [h.outcome, h.layerId])).to.deep.equal([["replayed", s.l1a.layerId]]);
      expect(s.alarms.map((a) => [a.kind, a.layerId, a.txHash])).to.deep.equal([
        ["replayed", s.l1a.layerId, replay.stoppedAt!.txHash],
      ]);
    });
  });
});
