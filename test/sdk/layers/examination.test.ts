/**
 * Seed 003 §IV.B(5), self-examinations, through the SDK on one embedded chain:
 * a member examines its peers (a stopped member, or one answering with
 * another BLS key than the beginning block registered, is tagged invalid by
 * the others' unanimous verdict; one only the examiner cannot reach is
 * disputed), and a district examines its superior, the city (lost when no city
 * node answers: the alarm freezes routes through it until the district
 * re-attaches to a new superior layer).
 */
import { expect } from "chai";
import { network } from "hardhat";

import { SummaryLedgerClient } from "../../../sdk/contracts/ledger.ts";
import { TransportError } from "../../../sdk/errors.ts";
import { establishLayer, type EstablishedLayer } from "../../../sdk/layers/establish.ts";
import { LayerNode } from "../../../sdk/layers/layer-node.ts";
import { LedgerDirectory } from "../../../sdk/layers/network.ts";
import {
  backend,
  body,
  DISTRICT_A,
  ledgerEvents,
  memberKey,
  outcomes,
  peerProxy,
  refusal,
  scene,
} from "../../helpers/layers.ts";

const { ethers } = await network.create();

type Four = [LayerNode, LayerNode, LayerNode, LayerNode];
const METRO = "strata://metro";

async function setup() {
  const s = await scene(await ethers.getSigners());
  /** The vehicle's first packet to the light along `route` (high-level layers). */
  const open = (route = s.route) => s.a.open(s.bed.vehicle.localId, s.bed.light.uuid, body("green for 20 s"), route);
  return { ...s, open };
}

/** Member `index` of `layer` under another BLS key than the one its ledger registered (same account and index). */
function impostor(s: Awaited<ReturnType<typeof setup>>, layer: EstablishedLayer, index: number): LayerNode {
  const real = layer.nodes[index]!;
  return new LayerNode(real.node, {
    layerId: layer.layerId,
    index,
    secretKey: memberKey("an impostor", index),
    ledger: real.ledger,
    chainId: layer.link.chainId,
    directory: s.bed.directory,
    backend,
  });
}

const validMask = async (layer: EstablishedLayer) => (await layer.ledger.membership()).validMask;

describe("layers: self-examinations", function () {
  this.timeout(60_000);

  describe("of the peers", () => {
    it("finds every member answering: nothing is tagged", async () => {
      const s = await setup();
      const nodes = s.l1a.nodes as Four;
      const before = await ethers.provider.getBlockNumber();
      const x = await nodes[0].examinePeers();
      expect(x.examined).to.deep.equal([1, 2, 3].map((i) => ({ index: i, node: nodes[i]!.node, passed: true })));
      expect(x.invalidated).to.deep.equal([]);
      expect(x.disputed).to.deep.equal([]);
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      expect(await validMask(s.l1a)).to.equal(0b1111n);
    });

    it("tags a stopped member invalid by the others' unanimous verdict", async () => {
      const s = await setup();
      const [n0, n1, n2, n3] = s.l1a.nodes as Four;
      n3.stop();
      const x = await n0.examinePeers();
      expect(x.examined.map((e) => [e.index, e.passed])).to.deep.equal([
        [1, true],
        [2, true],
        [3, false],
      ]);
      expect(x.invalidated.map((i) => [i.index, i.node])).to.deep.equal([[3, n3.node]]);
      expect(x.disputed).to.deep.equal([]);
      const events = await ledgerEvents(s.l1a.ledger, x.invalidated[0]!.txHash);
      expect(events.map((e) => [e.name, Number(e.args[0]), e.args[1]])).to.deep.equal([
        ["MemberInvalidated", 3, n3.node],
      ]);
      expect((await s.l1a.ledger.member(3)).valid).to.equal(false);
      expect(await s.l1a.ledger.memberOf(n3.node)).to.deep.equal({ index: 3, valid: false });
      const m = await s.l1a.ledger.membership();
      expect([m.validMask, m.quorum]).to.deep.equal([0b0111n, 3]);
      // The next round examines the valid members only.
      const next = await n1.examinePeers();
      expect(next.examined.map((e) => [e.index, e.passed])).to.deep.equal([
        [0, true],
        [2, true],
      ]);
      expect(next.invalidated).to.deep.equal([]);
      // The remaining three still open blocks (all three sign).
      expect(outcomes(await s.bed.router.route(await s.open()))).to.deep.equal(["opened", "opened", "opened"]);
      expect(n2.running).to.equal(true);
    });

    it("tags invalid a member answering under another BLS key than registered", async () => {
      const s = await setup();
      const [n0, n1, n2] = s.l1a.nodes as Four;
      const fake = impostor(s, s.l1a, 3);
      expect(fake.publicKey).to.not.deep.equal(s.l1a.nodes[3]!.publicKey);
      s.bed.router.addLayer([n0, n1, n2, fake]);
      const x = await n0.examinePeers();
      expect(x.examined.map((e) => [e.index, e.passed])).to.deep.equal([
        [1, true],
        [2, true],
        [3, false],
      ]);
      expect(x.invalidated.map((i) => [i.index, i.node])).to.deep.equal([[3, fake.node]]);
      expect((await s.l1a.ledger.member(3)).valid).to.equal(false);
    });

    it("tags invalid a member claiming its registered key but signing with another", async () => {
      const s = await setup();
      const [n0, n1, n2, n3] = s.l1a.nodes as Four;
      const fake = impostor(s, s.l1a, 3);
      // The registered key on the outside, another key's answer inside.
      const liar = peerProxy(n3, { answer: (challenge) => fake.answer(challenge) });
      expect(liar.publicKey).to.deep.equal(n3.publicKey);
      for (const n of [n0, n1, n2]) n.setPeers([n0, n1, n2, liar]);
      const x = await n0.examinePeers();
      expect(x.invalidated.map((i) => i.index)).to.deep.equal([3]);
      expect(await validMask(s.l1a)).to.equal(0b0111n);
    });

    it("records nothing for a member only the examiner cannot reach (disputed)", async () => {
      const s = await setup();
      const [n0, n1, n2, n3] = s.l1a.nodes as Four;
      const cut = peerProxy(n3, { answer: () => Promise.reject(new TransportError("connect ETIMEDOUT")) });
      n0.setPeers([n1, n2, cut]);
      const before = await ethers.provider.getBlockNumber();
      const x = await n0.examinePeers();
      expect(x.examined.map((e) => [e.index, e.passed])).to.deep.equal([
        [1, true],
        [2, true],
        [3, false],
      ]);
      expect(x.invalidated).to.deep.equal([]);
      expect(x.disputed).to.deep.equal([3]);
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      expect(await validMask(s.l1a)).to.equal(0b1111n);
      // The others find member 3 answering.
      expect((await n1.examinePeers()).examined.every((e) => e.passed)).to.equal(true);
    });

    it("needs every member that passed to agree, not only a quorum (unanimity)", async () => {
      // Seven members (quorum 5): member 6 is cut off from all but member 1.
      const signers = await ethers.getSigners();
      const layer = await establishLayer({
        address: "strata://seven",
        members: signers.slice(1, 8).map((signer, i) => ({ signer, secretKey: memberKey("strata://seven", i) })),
        deployer: signers[0]!,
        directory: new LedgerDirectory(),
        backend,
      });
      const nodes = layer.nodes;
      const n6 = nodes[6]!;
      const cut = peerProxy(n6, { answer: () => Promise.reject(new TransportError("connect ETIMEDOUT")) });
      for (const n of nodes.slice(0, 6)) n.setPeers(n.index === 1 ? nodes : [...nodes.slice(0, 6), cut]);
      const x = await nodes[0]!.examinePeers();
      expect(x.examined.map((e) => [e.index, e.passed])).to.deep.equal([1, 2, 3, 4, 5, 6].map((i) => [i, i !== 6]));
      // Members 0 and 2-5 (five, a quorum) find it failed; member 1 reaches it: disputed, nothing recorded.
      expect(x.invalidated).to.deep.equal([]);
      expect(x.disputed).to.deep.equal([6]);
      expect((await layer.ledger.membership()).validMask).to.equal(0b111_1111n);
      // Cut off from member 1 too, it is tagged invalid.
      nodes[1]!.setPeers([...nodes.slice(0, 6), cut]);
      const y = await nodes[0]!.examinePeers();
      expect(y.invalidated.map((i) => i.index)).to.deep.equal([6]);
      expect((await layer.ledger.membership()).validMask).to.equal(0b011_1111n);
    });

    it("records nothing when fewer than a quorum of members answer (disputed)", async () => {
      const s = await setup();
      const [n0, , n2, n3] = s.l1a.nodes as Four;
      n2.stop();
      n3.stop();
      const x = await n0.examinePeers();
      expect(x.examined.map((e) => [e.index, e.passed])).to.deep.equal([
        [1, true],
        [2, false],
        [3, false],
      ]);
      expect(x.invalidated).to.deep.equal([]);
      expect(x.disputed).to.deep.equal([2, 3]);
      expect(await validMask(s.l1a)).to.equal(0b1111n);
    });

    it("moves an invalidated responsible node's block to the member that receives its next packet, without a quorum", async () => {
      const s = await setup();
      const first = await s.open();
      const r1 = await s.bed.router.route(first);
      const [n0, n1, n2, n3] = s.l1b.nodes as Four;
      const blockId = r1.hops[2]!.blockId;
      expect((await s.l1b.ledger.getBlock(blockId))!.responsible).to.equal(n0.node);
      n0.stop();
      expect((await n1.examinePeers()).invalidated.map((i) => i.index)).to.deep.equal([0]);
      // Two of the three valid members running: no quorum (3), yet the invalid N_r's block moves.
      n3.stop();
      const reply = await s.b.follow(r1.delivery!.packet, s.bed.light.localId, body("ok"));
      const hop = await n2.receive(reply);
      expect([hop.outcome, hop.node, hop.tookOverFrom]).to.deep.equal(["recorded", n2.node, n0.node]);
      expect((await s.l1b.ledger.getBlock(blockId))!.responsible).to.equal(n2.node);
    });
  });

  describe("of the superior layer", () => {
    it("finds the city reachable, and a layer with no superior has none to examine", async () => {
      const s = await setup();
      const x = await s.l1a.nodes[0]!.examineSuperior();
      expect(x.status).to.equal("reachable");
      expect(x.superior).to.deep.equal(s.l2.link);
      expect(x.examined.map((e) => [e.index, e.node, e.passed])).to.deep.equal(
        s.l2.nodes.map((n) => [n.index, n.node, true]),
      );
      expect(await s.l2.nodes[0]!.examineSuperior()).to.deep.equal({ status: "none", examined: [] });
      expect(await s.l1a.ledger.isSuperiorFrozen()).to.equal(false);
    });

    it("raises no alarm when only the examiner cannot reach the city (no-quorum)", async () => {
      const s = await setup();
      const real = s.l1a.nodes[0]!;
      // Member 0 with no way to reach other layers' members.
      const blind = new LayerNode(real.node, {
        layerId: s.l1a.layerId,
        index: 0,
        secretKey: memberKey(DISTRICT_A, 0),
        ledger: real.ledger,
        chainId: s.l1a.link.chainId,
        directory: s.bed.directory,
        backend,
        onAlarm: (a) => s.alarms.push(a),
      });
      blind.setPeers(s.l1a.nodes);
      const before = await ethers.provider.getBlockNumber();
      const e = await refusal(blind.examineSuperior());
      expect(e.reason).to.equal("no-quorum");
      const refusals = e.details.refusals as { index: number; why: string }[];
      expect(refusals.map((x) => [x.index, x.why])).to.deep.equal(
        [1, 2, 3].map((i) => [i, "a node of the superior layer answers"]),
      );
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      expect(await s.l1a.ledger.isSuperiorFrozen()).to.equal(false);
      expect(s.alarms).to.deep.equal([]);
    });

    it("declares a silent city lost, freezes routes through it, and re-attaches to a new superior", async () => {
      const s = await setup();
      const [n0] = s.l1a.nodes as Four;
      // A contract before: routes through the city work.
      expect(outcomes(await s.bed.router.route(await s.open()))).to.deep.equal(["opened", "opened", "opened"]);
      for (const n of s.l2.nodes) n.stop();

      const lost = await n0.examineSuperior();
      expect(lost.status).to.equal("lost");
      expect(lost.superior).to.deep.equal(s.l2.link);
      expect(lost.examined.map((e) => e.passed)).to.deep.equal([false, false, false, false]);
      const events = await ledgerEvents(s.l1a.ledger, lost.txHash!);
      expect(events.map((e) => [e.name, e.args[0].toLowerCase(), e.args[1], e.args[2]])).to.deep.equal([
        ["SuperiorLost", s.l2.layerId, s.l2.link.ledger, s.l2.link.chainId],
      ]);
      expect(await s.l1a.ledger.isSuperiorFrozen()).to.equal(true);
      expect(s.alarms.map((a) => [a.kind, a.layerId, a.node, a.txHash])).to.deep.equal([
        ["superior-lost", s.l1a.layerId, n0.node, lost.txHash],
      ]);
      expect(s.alarms[0]!.details.superior).to.equal(s.l2.layerId);
      expect(await s.l1a.nodes[2]!.examineSuperior()).to.deep.equal({
        status: "frozen",
        superior: s.l2.link,
        examined: [],
      });
      expect((await s.l1b.nodes[0]!.examineSuperior()).status).to.equal("lost");

      // Routes through the frozen superior are refused before anything is written; routes below it go on.
      const via = await s.open();
      const before = await ethers.provider.getBlockNumber();
      const frozen = await refusal(s.bed.router.route(via));
      expect(frozen.reason).to.equal("frozen");
      expect(frozen.details.superior).to.equal(s.l2.layerId);
      expect(await ethers.provider.getBlockNumber()).to.equal(before);
      const meter = s.bed.stores.a.create({ classPath: "Infrastructure/Meter", permissions: 1, description: "m1" });
      const local = await s.a.open(s.bed.vehicle.localId, meter.uuid, body("park 1 h"), [s.l1a.layerId]);
      const below = await s.bed.router.route(local);
      expect(outcomes(below)).to.deep.equal(["opened"]);
      expect(below.delivery!.object.id).to.equal(meter.id);

      // Re-attaching to a layer that does not answer is refused.
      const silent = await refusal(n0.reattach(s.l2.link));
      expect(silent.reason).to.equal("unreachable");
      expect(await s.l1a.ledger.isSuperiorFrozen()).to.equal(true);

      // A new city layer, on the same chain, links both districts (after examining them) and they re-attach.
      const metro = await establishLayer({
        address: METRO,
        members: s.signers.slice(16, 20).map((signer, i) => ({ signer, secretKey: memberKey(METRO, i) })),
        deployer: s.signers[0]!,
        directory: s.bed.directory,
        backend,
        node: { reach: (id) => s.bed.router.members(id), onAlarm: (a) => s.alarms.push(a) },
      });
      s.bed.router.addLayer(metro.nodes);
      await metro.nodes[0]!.linkSubordinate(s.l1a.link);
      await metro.nodes[1]!.linkSubordinate(s.l1b.link);
      for (const [k, district] of [s.l1a, s.l1b].entries()) {
        const tx = await district.nodes[k]!.reattach(metro.link);
        const changed = await ledgerEvents(district.ledger, tx);
        expect(changed.map((e) => [e.name, e.args[0].toLowerCase(), e.args[1], e.args[2]])).to.deep.equal([
          ["SuperiorChanged", metro.layerId, metro.link.ledger, metro.link.chainId],
        ]);
        expect(await district.ledger.isSuperiorFrozen()).to.equal(false);
        expect(await district.ledger.superior()).to.deep.equal(metro.link);
      }
      expect((await n0.examineSuperior()).status).to.equal("reachable");

      const r = await s.bed.router.route(await s.open([s.l1a.layerId, metro.layerId, s.l1b.layerId]));
      expect(r.hops.map((h) => [h.outcome, h.layerId])).to.deep.equal([
        ["opened", s.l1a.layerId],
        ["opened", metro.layerId],
        ["opened", s.l1b.layerId],
      ]);
      expect(r.delivery!.object.id).to.equal(s.bed.light.id);
      const reply = await s.b.follow(r.delivery!.packet, s.bed.light.localId, body("ok"), true);
      const back = await s.bed.router.route(reply);
      expect(back.hops.map((h) => [h.outcome, h.accomplished])).to.deep.equal([
        ["recorded", true],
        ["recorded", true],
        ["recorded", true],
      ]);
      expect(back.delivery!.object.id).to.equal(s.bed.vehicle.id);
    });
  });
});

describe("layers: joining and periodic examination", function () {
  this.timeout(120_000);

  /** A node that wants to join `layer` as member `index` from account `signer`, with `secret` (or its own key). */
  function newcomer(s: Awaited<ReturnType<typeof setup>>, layer: EstablishedLayer, index: number, account: number) {
    const signer = s.signers[account]!;
    const secretKey = memberKey(`${layer.layerId} newcomer`, index);
    const node = new LayerNode(signer.address, {
      layerId: layer.layerId,
      index,
      secretKey,
      ledger: new SummaryLedgerClient(layer.link.ledger, signer),
      chainId: layer.link.chainId,
      directory: s.bed.directory,
      backend,
    });
    const candidate = node.candidate();
    return { node, candidate, secretKey };
  }

  it("admits a node by quorum after it answers with its key; it then signs like the others", async () => {
    const s = await setup();
    const { node, candidate } = newcomer(s, s.l1a, 4, 17);
    const index = await s.l1a.nodes[0]!.admit(candidate);
    expect(index).to.equal(4);
    expect(await s.l1a.ledger.membership()).to.include({ count: 5, validMask: 0b11111n, quorum: 4 });
    expect(await s.l1a.ledger.memberOf(node.node)).to.deep.equal({ index: 4, valid: true });
    // Introduced to its peers, the newcomer takes a first communication and gathers the quorum of 4.
    s.bed.router.addLayer([node, ...s.l1a.nodes]);
    const hop = await node.receive(await s.open());
    expect([hop.outcome, hop.node]).to.deep.equal(["opened", node.node]);
  });

  it("refuses a candidate with a bad proof of possession or one that cannot answer with its key", async () => {
    const s = await setup();
    const before = await s.l1a.ledger.membership();
    const { candidate } = newcomer(s, s.l1a, 4, 17);
    const other = newcomer(s, s.l1a, 5, 18);
    const badProof = await refusal(
      s.l1a.nodes[0]!.admit({ ...candidate, proofOfPossession: other.candidate.proofOfPossession }),
    );
    expect(badProof.reason).to.equal("disputed");
    const silent = await refusal(s.l1a.nodes[0]!.admit({ ...candidate, answer: (c) => other.node.answer(c) }));
    expect(silent.reason).to.equal("unreachable");
    expect(await s.l1a.ledger.membership()).to.deep.equal(before);
  });

  it("examines at random intervals until stopped, reporting each round", async () => {
    const s = await setup();
    s.l2.nodes[3]!.stop();
    const reports: Parameters<Parameters<LayerNode["examineEvery"]>[1]>[0][] = [];
    const first = new Promise<void>((resolve) => {
      const stop = s.l2.nodes[0]!.examineEvery(20, (r) => {
        reports.push(r);
        stop();
        resolve();
      });
    });
    await first;
    expect(reports).to.have.length(1);
    expect(reports[0]!.error).to.equal(undefined);
    expect(reports[0]!.peers!.invalidated.map((x) => x.index)).to.deep.equal([3]);
    expect(reports[0]!.superior!.status).to.equal("none");
    expect(() => s.l2.nodes[0]!.examineEvery(0, () => undefined)).to.throw(/meanIntervalMs/);
  });
});
