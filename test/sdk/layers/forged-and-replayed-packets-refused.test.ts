/**
 * Attacks on seed 003's layers found by review (SummaryLedger, the layers SDK),
 * each fixed and kept here as a regression test: route and ending-tag tampering
 * between layers, a following P steered into another contract's blocks,
 * replays of ended contracts, escrow locking and squatting, an open
 * attestation submitted by another member, invalidation at 3 valid members,
 * malformed packets. Same testbed as the contract-communication-rules tests: a
 * vehicle in district A's edge layer, a traffic light in district B's, with
 * district A, the city and district B between, all on one embedded chain.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import { type Hex } from "../../../sdk/core/bytes.ts";
import { attest } from "../../../sdk/core/layers/attestation.ts";
import { encodeContractMessage } from "../../../sdk/core/layers/contract.ts";
import { type Packet, summaryOf } from "../../../sdk/core/layers/packet.ts";
import { layerHash } from "../../../sdk/core/ids.ts";
import { StrataError } from "../../../sdk/errors.ts";
import { EdgeNode } from "../../../sdk/layers/edge-node.ts";
import type { LayerNodeOptions } from "../../../sdk/layers/layer-node.ts";
import type { Transmission } from "../../../sdk/layers/network.ts";
import type { RouteResult } from "../../../sdk/layers/router.ts";
import { ObjectStore } from "../../../sdk/store/object-store.ts";
import {
  backend,
  body,
  DISTRICT_A,
  EDGE_A,
  EDGE_B,
  memberKey,
  outcomes,
  refusal,
  scene,
} from "../../helpers/layers.ts";

const { ethers, networkHelpers } = await network.create();

const ETH = "0x0000000000000000000000000000000000000000";

async function setup(node: Partial<LayerNodeOptions> = {}) {
  const signers = await ethers.getSigners();
  const s = await scene(signers, node);
  // Accounts the testbed leaves free (it uses 0..16): a payer, a provider, an outsider.
  const [payer, provider, outsider] = [signers[17]!, signers[18]!, signers[19]!];
  return { ...s, payer, provider, outsider };
}

/** The attestation of members `indices` of `layer` over `digest` (their testbed keys). */
const attestationOf = (layer: string, digest: Hex, indices: readonly number[]) =>
  attest(
    backend,
    digest,
    indices.map((index) => ({ index, secretKey: memberKey(layer, index) })),
  );

describe("layers: forged, replayed and misrouted packets are refused", function () {
  this.timeout(120_000);

  it("statement 1: the next layer refuses P whose source route A_s was changed after the previous layer's quorum attested it", async () => {
    const s = await setup();
    const first = await s.open();
    const hopA = await s.l1a.nodes[0]!.receive(first);
    expect(hopA.outcome).to.equal("opened");
    const honest = hopA.next!.packet;
    // District A's quorum attested routeHash(P) with origin = edge A (BlockOpened's route). One member of
    // district A (or whoever carries P to the city) rewrites the origin: the city only checks that
    // district A's ledger holds Sum(M) in the block P names last.
    const forgedOrigin = layerHash("strata://somewhere/else");
    const forged: Packet = { ...honest, source: [forgedOrigin, ...honest.source.slice(1)] };
    const e = await refusal(s.bed.router.route({ packet: forged }));
    expect(e.reason).to.equal("bad-source");
    // (Unchecked, the city would open its block for the forged route, and the honest P then
    // would stop at the city with `already-opened`: the contract hijacked.)
  });

  it("ending tag: the next layer refuses the ending summary with the tag stripped (F never set downstream)", async () => {
    const s = await setup();
    const c = await s.contract();
    const end = await s.a.follow(c.delivered, s.bed.vehicle.localId, body("done"), true);
    const hopA = await s.l1a.nodes[0]!.receive(end);
    expect([hopA.outcome, hopA.accomplished]).to.deep.equal(["recorded", true]);
    // District A's block is accomplished by this very summary; the carrier drops the tag.
    const stripped: Packet = { ...hopA.next!.packet, ending: false };
    const outcome = await s.bed.router.route({ packet: stripped }).then(
      (r) => r,
      (e: unknown) => e,
    );
    const cityBlock = await s.l2.ledger.getBlock(c.blocks[1]!);
    // Either the tag-less P is refused, or the city's block ends up accomplished as district A's is.
    expect(
      outcome instanceof StrataError || cityBlock!.accomplished,
      "the city recorded the contract's ending summary without setting F",
    ).to.equal(true);
  });

  it("replay: an ended contract's first packet replayed after expiry is not extended and redelivered", async () => {
    const s = await setup({ blockLifetime: 300n });
    const c = await s.contract();
    const end = await s.a.follow(c.delivered, s.bed.vehicle.localId, body("done"), true);
    const ended = await s.bed.router.route(end);
    expect(ended.hops.map((h) => h.accomplished)).to.deep.equal([true, true, true]);
    await networkHelpers.time.increase(301);
    // Anyone who saw the (cleartext, edge-signed) first packet resends it.
    const replay = await s.bed.router.route(c.first).then(
      (r) => r,
      (e: unknown) => e,
    );
    const delivered = !(replay instanceof Error) && (replay as RouteResult).delivery !== undefined;
    expect(delivered, "the ended contract's first M was delivered to the light again").to.equal(false);
  });

  it("escrow: an expired block's refund cannot be postponed by replaying the contract's first packet", async () => {
    const s = await setup({ blockLifetime: 300n });
    const c = await s.contract();
    const blockId = c.blocks[0]!;
    const asPayer = s.l1a.ledger.connect(s.payer);
    await asPayer.escrow(blockId, s.provider.address, ETH, 10n ** 15n);
    // The light never delivers; the block expires and the payer is owed a refund.
    await networkHelpers.time.increase(301);
    // The provider (or anyone) resends the first packet: every layer's quorum extends the blocks by T.
    const again = await s.bed.router.route(c.first);
    expect(outcomes(again)).to.deep.equal(["extended", "extended", "extended"]);
    const refunded = await asPayer.refund(blockId, s.payer.address).then(
      () => true,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    expect(refunded, "the payer's refund is locked for another T (repeatable)").to.equal(true);
  });

  it("open attestation: another member cannot submit the quorum's open attestation and become the responsible node", async () => {
    const s = await setup();
    const [n0, , , n3] = s.l1a.nodes;
    const now = BigInt(await networkHelpers.time.latest());
    const request = {
      summary: ethers.keccak256(ethers.toUtf8Bytes("review open front-run")) as Hex,
      sourceLayer: layerHash(EDGE_A),
      route: ethers.keccak256(ethers.toUtf8Bytes("route")) as Hex,
      responsible: n0!.node,
      expiry: now + 3600n,
      deadline: now + 600n,
    };
    // Members 0, 1, 2 sign the open member 0 (N_1, the node that received P) proposed.
    const attestation = attestationOf(DISTRICT_A, await n0!.ledger.openDigest(request), [0, 1, 2]);
    // Member 3, which did not sign, sees the transaction (mempool, or the partials) and submits first.
    const stolen = await n3!.ledger.open(request, attestation).then(
      (r) => r,
      () => undefined,
    );
    const block = stolen === undefined ? undefined : await s.l1a.ledger.getBlock(stolen.blockId);
    expect(
      block === undefined || block.responsible.toLowerCase() === n0!.node.toLowerCase(),
      "a member outside the attestation became the block's responsible node",
    ).to.equal(true);
  });

  it("self-examination: the unanimous others can tag a dead member invalid when 3 members are valid", async () => {
    const s = await setup();
    const ledger = s.l1a.nodes[0]!.ledger;
    // A 4-member layer loses member 3: the other three, unanimous, tag it invalid.
    await ledger.invalidate(3, attestationOf(DISTRICT_A, await ledger.invalidateDigest(3), [0, 1, 2]));
    expect((await ledger.membership()).validMask).to.equal(0b0111n);
    // Later member 2 dies too. The quorum of 3 valid members is 3, so nothing opens any more; the only
    // way out is its invalid tag, signed by every other valid member (0 and 1), as the paper's rule says.
    const verdict = await ledger
      .invalidate(2, attestationOf(DISTRICT_A, await ledger.invalidateDigest(2), [0, 1]))
      .then(
        () => "invalidated",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
    expect(verdict, "the layer is stuck for good: the judged member counts towards n but may not sign").to.equal(
      "invalidated",
    );
  });

  it("escrow: an outsider cannot squat a block's escrow slot and lock the real payer out", async () => {
    const s = await setup();
    const c = await s.contract();
    const blockId = c.blocks[0]!;
    // An outsider escrows 1 wei first, for an address of its own choosing.
    await s.l1a.ledger.connect(s.outsider).escrow(blockId, s.signers[16]!.address, ETH, 1n);
    const paid = await s.l1a.ledger
      .connect(s.payer)
      .escrow(blockId, s.provider.address, ETH, 10n ** 15n)
      .then(
        () => true,
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
    expect(paid, "the vehicle's payer can no longer escrow in its own contract's block").to.equal(true);
  });

  it("contract binding: a following P is not recorded into another contract's blocks between the same edge layers", async () => {
    const s = await setup();
    const c1 = await s.contract("contract one");
    const c2 = await s.contract("contract two");
    const more = await s.a.follow(c1.delivered, s.bed.vehicle.localId, body("pay 5 for contract one"));
    const hopA = await s.l1a.nodes[0]!.receive(more);
    expect(hopA.outcome).to.equal("recorded");
    const next = hopA.next!.packet;
    // I = {Sum(M), city block, district B block, district A block}: the carrier swaps in contract two's blocks.
    // (The city only checks district A's block and that contract two runs between the same edge layers; with the
    // ending tag, contract one's last message would set F on contract two's city and district B blocks.)
    expect(next.ids.slice(1)).to.deep.equal([c1.blocks[1], c1.blocks[2], c1.blocks[0]]);
    const swapped: Packet = { ...next, ids: [next.ids[0]!, c2.blocks[1]!, c2.blocks[2]!, c1.blocks[0]!] };
    const e = await refusal(s.bed.router.route({ packet: swapped }));
    expect(e.reason).to.equal("wrong-contract");
    for (const blockId of [c1.blocks[1]!, c2.blocks[1]!]) {
      expect(await s.l2.ledger.summaryOf(blockId, next.ids[0]!)).to.equal(undefined);
    }
  });

  it("summary injection: a city member responsible for a block of its own neither diverts a contract's open nor refuses its following summaries", async () => {
    const s = await setup();
    const mine = await s.contract("the dishonest member's own contract");
    const dishonest = s.l2.nodes.find((n) => n.node === mine.r.hops[1]!.node)!;
    const own = mine.blocks[1]!;
    // (a) The victim's first packet is opened at district A; its Sum(M) is public on district A's ledger.
    const first = await s.open("victim contract");
    const hopA = await s.l1a.nodes[0]!.receive(first);
    expect(hopA.outcome).to.equal("opened");
    await dishonest.ledger.record(own, first.packet.ids[0]!, false);
    const rest = await s.bed.router.route(hopA.next!);
    expect(outcomes(rest)).to.deep.equal(["opened", "opened"]);
    expect(rest.hops[0]!.blockId).to.not.equal(own);
    expect(rest.delivery?.object.id).to.equal(s.bed.light.id);
    // (b) The light's reply is recorded by district B; the member copies its summary into its own block first.
    const reply = await s.b.follow(rest.delivery!.packet, s.bed.light.localId, body("ok"));
    const hopB = await s.l1b.nodes[0]!.receive(reply);
    expect(hopB.outcome).to.equal("recorded");
    await dishonest.ledger.record(own, reply.packet.ids[0]!, false);
    const up = await s.bed.router.route(hopB.next!);
    expect(outcomes(up)).to.deep.equal(["recorded", "recorded"]);
    expect(up.delivery?.object.id).to.equal(s.bed.vehicle.id);
    expect(s.alarms).to.deep.equal([]);
  });

  it("edge binding: a district member responsible for any block cannot record a made-up message into it and deliver it to any object of the edge", async () => {
    const s = await setup();
    const c = await s.contract("the light's contract");
    const barrier = s.bed.stores.b.create({
      classPath: "Infrastructure/Barrier",
      permissions: 1,
      description: "crossing 9 barrier",
    });
    // A second contract, opened in district A, the city and district B, still in flight to crossing 9.
    let inFlight: Transmission = await s.open("a contract in flight");
    for (const layer of [s.l1a, s.l2, s.l1b]) inFlight = (await layer.nodes[0]!.receive(inFlight)).next!;
    const template = c.r.hops[2]!.next!.packet;
    // The member of district B responsible for block X records Sum(M') for a made-up M' into X's K
    // (its own block: the ledger takes it), then sends P' = [Sum(M'), ..., X] to crossing 9.
    const forge = async (blockId: Hex, from: Hex, to: Hex): Promise<Transmission> => {
      const responsible = (await s.l1b.ledger.getBlock(blockId))!.responsible.toLowerCase();
      const member = s.l1b.nodes.find((n) => n.node.toLowerCase() === responsible)!;
      const message = encodeContractMessage({ from, to, body: body("open the barrier") });
      const time = template.time + 1_000n;
      const summary = summaryOf(message, time);
      await member.ledger.record(blockId, summary, false);
      const ids = [summary, ...template.ids.slice(1, -1), blockId];
      return { packet: { ...template, ids, message, time, ending: false } };
    };
    const attempts = [
      // X is the light's contract's block: M' goes to another object of crossing 9.
      await forge(c.blocks[2]!, s.bed.vehicle.id, barrier.id),
      // X is a contract crossing 9 has not taken part in (yet): M' between the vehicle and the light.
      await forge(inFlight.packet.ids[inFlight.packet.ids.length - 1]!, s.bed.vehicle.id, s.bed.light.id),
    ];
    for (const forged of attempts) {
      const outcome = await s.b.deliver(forged).then(
        (d) => `delivered to ${d.object.description}`,
        (e: unknown) => e,
      );
      expect(outcome, "a made-up message was delivered").to.be.instanceOf(StrataError);
      expect((outcome as StrataError & { reason: string }).reason).to.equal("wrong-contract");
      expect(s.bed.stores.b.delivery(forged.packet.ids[0]!)).to.equal(undefined);
    }
    // The honest packets still go through: the contract in flight, and a following message of the first.
    expect((await s.b.deliver(inFlight)).object.id).to.equal(s.bed.light.id);
    const more = await s.bed.router.route(await s.a.follow(c.delivered, s.bed.vehicle.localId, body("pay 5")));
    expect(more.delivery?.object.id).to.equal(s.bed.light.id);
  });

  it("edge binding: replies to a contract the edge opened are delivered, also by a central node restarted on its file", async () => {
    const s = await setup();
    const c = await s.contract("green please");
    const reply = await s.bed.router.route(await s.b.follow(c.delivered, s.bed.light.localId, body("ok")));
    expect(reply.delivery?.object.id).to.equal(s.bed.vehicle.id);
    const again = await s.bed.router.route(
      await s.a.follow(reply.delivery!.packet, s.bed.vehicle.localId, body("pay")),
    );
    expect(again.delivery?.object.id).to.equal(s.bed.light.id);
    const last = await s.bed.router.route(await s.b.follow(again.delivery!.packet, s.bed.light.localId, body("paid")));
    expect(last.delivery?.object.id).to.equal(s.bed.vehicle.id);
    // A central node on a SQLite file opens a contract, restarts, and still takes the light's reply.
    const dir = mkdtempSync(join(tmpdir(), "strata-edge-"));
    try {
      const path = join(dir, "crossing-1.sqlite");
      const start = () => {
        const store = new ObjectStore(path, EDGE_A);
        if (store.get(s.bed.vehicle.localId) === undefined)
          store.create({ localId: s.bed.vehicle.localId, classPath: "Vehicle/Car" });
        return new EdgeNode({ store, account: s.bed.centrals.a, superior: s.l1a.link, directory: s.bed.directory });
      };
      const before = start();
      const first = await before.open(s.bed.vehicle.localId, s.bed.light.uuid, body("green again"), s.route);
      before.store.close();
      const opened = await s.bed.router.route(first);
      expect(opened.delivery?.object.id).to.equal(s.bed.light.id);
      // The light's reply goes up district B, the city and district A, then to the restarted node.
      let up: Transmission = await s.b.follow(opened.delivery!.packet, s.bed.light.localId, body("ok again"));
      for (const layer of [s.l1b, s.l2, s.l1a]) up = (await layer.nodes[0]!.receive(up)).next!;
      const after = start();
      expect((await after.deliver(up)).object.id).to.equal(s.bed.vehicle.id);
      after.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("cleanup: an in-flight ending packet of an accomplished, expired block is refused alike before and after the block is cleaned", async () => {
    const s = await setup({ blockLifetime: 300n });
    const c = await s.contract();
    // The vehicle ends the contract; the ending packet crosses the three layers (each block accomplished) and
    // is held on its last hop to crossing 9.
    let t: Transmission = await s.a.follow(c.delivered, s.bed.vehicle.localId, body("done"), true);
    for (const layer of [s.l1a, s.l2, s.l1b]) {
      const hop = await layer.nodes[0]!.receive(t);
      expect([hop.outcome, hop.accomplished]).to.deep.equal(["recorded", true]);
      t = hop.next!;
    }
    // District B's block expires: accomplished and expired, it is final, and anyone may clean it.
    await networkHelpers.time.increase(301);
    const before = await refusal(s.b.deliver(t));
    const blockId = c.blocks[2]!;
    await s.l1b.ledger.connect(s.outsider).cleanup(blockId, [c.first.packet.ids[0]!, t.packet.ids[0]!]);
    expect(await s.l1b.ledger.getBlock(blockId)).to.equal(undefined);
    const after = await refusal(s.b.deliver(t));
    expect([before.reason, after.reason]).to.deep.equal(["closed", "closed"]);
    expect(s.bed.stores.b.delivery(t.packet.ids[0]!)).to.equal(undefined);
  });

  it("replay: district B's last hop re-sent is not delivered again: the edge node remembers (durably) and alarms", async () => {
    const s = await setup();
    const c = await s.contract();
    const lastHop = c.r.hops[2]!.next!;
    // A following message ("pay 5") on the contract, delivered once to the vehicle's side and on to the light.
    const more = await s.a.follow(c.delivered, s.bed.vehicle.localId, body("pay 5"));
    const r = await s.bed.router.route(more);
    expect(r.delivery?.object.id).to.equal(s.bed.light.id);
    const lastMore = r.hops[2]!.next!;
    // Anyone who saw district B's transmissions re-sends them to crossing 9.
    for (const t of [lastHop, lastMore]) {
      const e = await refusal(s.b.deliver(t));
      expect(e.reason).to.equal("replayed");
      expect(e.details.summary).to.equal(t.packet.ids[0]);
    }
    expect(s.alarms.map((a) => [a.kind, a.layerId, a.details.summary])).to.deep.equal([
      ["replayed", s.b.layerId, lastHop.packet.ids[0]],
      ["replayed", s.b.layerId, lastMore.packet.ids[0]],
    ]);
    // Durably: a central node restarted on the same SQLite file refuses them too.
    const dir = mkdtempSync(join(tmpdir(), "strata-edge-"));
    try {
      const path = join(dir, "crossing-9.sqlite");
      const superior = s.l1b.link;
      const restart = () => {
        const store = new ObjectStore(path, EDGE_B);
        if (store.get(s.bed.light.localId) === undefined)
          store.create({ localId: s.bed.light.localId, classPath: "Infrastructure/TrafficLight" });
        return new EdgeNode({ store, account: s.bed.centrals.b, superior, directory: s.bed.directory });
      };
      const before = restart();
      // (The contract's first message first: an edge delivers a following one only within a contract of its own.)
      expect((await before.deliver(lastHop)).object.id).to.equal(s.bed.light.id);
      expect((await before.deliver(lastMore)).object.id).to.equal(s.bed.light.id);
      before.store.close();
      const after = restart();
      expect((await refusal(after.deliver(lastMore))).reason).to.equal("replayed");
      after.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an edge signature has one encoding: the same signature with v re-encoded is refused", async () => {
    const s = await setup();
    const first = await s.open();
    const sig = first.edgeSignature!;
    const v = parseInt(sig.slice(-2), 16);
    for (const other of [v - 27, v === 27 ? 164 : 163, v + 8]) {
      const reencoded = { ...first, edgeSignature: `${sig.slice(0, -2)}${other.toString(16).padStart(2, "0")}` as Hex };
      const refused = await s.l1a.nodes[0]!.receive(reencoded).catch((e: unknown) => e);
      expect(refused, `v = ${other}`).to.be.instanceOf(StrataError);
    }
    const r = await s.bed.router.route(first);
    expect(r.delivery?.object.id).to.equal(s.bed.light.id);
  });

  it("malformed input: a packet without a destination list gets a typed error, not a TypeError", async () => {
    const s = await setup();
    const first = await s.open();
    const bad = { ...first, packet: { ...first.packet, destination: undefined as unknown as Hex[] } };
    const atLayer = await s.l1a.nodes[0]!.receive(bad).catch((e: unknown) => e);
    const atEdge = await s.b.deliver(bad).catch((e: unknown) => e);
    const none = await s.l1a.nodes[0]!.receive(undefined as never).catch((e: unknown) => e);
    expect([atLayer, atEdge, none].map((e) => (e instanceof StrataError ? "typed" : String(e)))).to.deep.equal([
      "typed",
      "typed",
      "typed",
    ]);
  });
});
