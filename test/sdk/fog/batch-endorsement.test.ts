/**
 * The sign-share round under failure: an offline, throwing or lying member,
 * a lying proposer, a reading whose device was blocked after it was stored,
 * a rotated device key, concurrent replays, and batches repeating readings.
 * The chain side is `MemoryFogAnchor`, which enforces what `DataAnchor` does
 * for a fog batch — the next sequence and a group signature that verifies
 * under the cluster's key (a real pairing check); the contract itself is
 * exercised in test/integration/secuchain.e2e.test.ts.
 */
import { expect } from "chai";
import { type Hex } from "../../../sdk/core/bytes.ts";
import { bls12_381 } from "@noble/curves/bls12-381.js";

import { minSig } from "../../../sdk/core/crypto/bls.ts";
import { checkClusterKey } from "../../../sdk/core/fog/dkg.ts";
import { fogBatchMessage } from "../../../sdk/core/fogBatch.ts";
import { Kind, Status } from "../../../sdk/core/registry.ts";
import { type FogAnchorPort, FogCluster, type FogMember, type MemberReport } from "../../../sdk/fog/cluster.ts";
import { type BatchProposal, type FogNode } from "../../../sdk/fog/fog-node.ts";
import { InvalidInputError, ThresholdError, TransportError } from "../../../sdk/index.ts";
import { g2ToEip2537 } from "../../../sdk/exports/crypto.ts";
import { randomDeviceKey } from "../../../sdk/exports/fog.ts";
import { type District, makeDistrict, randomId } from "../../helpers/fog.ts";

const deployment = { chainId: 31337n, anchor: "0x00000000000000000000000000000000000000aa" };

/** A fog cluster's chain held in memory: the next sequence, and a group signature that verifies. */
class MemoryFogAnchor {
  readonly roots: Hex[] = [];
  readonly #d: District;
  constructor(d: District) {
    this.#d = d;
  }
  head(): Promise<bigint> {
    return Promise.resolve(BigInt(this.roots.length));
  }
  anchorOf(_cluster: Hex, root: Hex): Promise<{ sequence: bigint } | undefined> {
    const at = this.roots.indexOf(root);
    return Promise.resolve(at < 0 ? undefined : { sequence: BigInt(at) + 1n });
  }
  anchorFogBatch(cluster: Hex, root: Hex, leafCount: number | bigint, signature: Uint8Array) {
    if (this.roots.includes(root)) return Promise.reject(new Error("DataAnchorRootExists"));
    const sequence = BigInt(this.roots.length) + 1n;
    const message = fogBatchMessage({ ...deployment, cluster, sequence, root, leafCount });
    const { backend } = this.#d.scheme;
    // EIP-2537 G1 (x and y, each padded to 64 bytes) to the compressed form `minSig` takes
    const coordinate = (at: number) => BigInt(`0x${Buffer.from(signature.subarray(at + 16, at + 64)).toString("hex")}`);
    const compressed = bls12_381.G1.Point.fromAffine({ x: coordinate(0), y: coordinate(64) }).toBytes(true);
    const groupKey = backend.g2.toBytes(this.#d.scheme.groupKey(this.#d.cluster.commitments));
    const ok = minSig(backend).verify(groupKey, message, compressed);
    if (!ok) return Promise.reject(new Error("DataAnchorInvalidGroupSignature"));
    this.roots.push(root);
    return Promise.resolve({ sequence, hash: `0x${sequence.toString(16)}` });
  }
}

describe("FogCluster", function () {
  let d: District;
  let nodes: FogNode[];
  let anchor: MemoryFogAnchor;
  let reports: MemberReport[];
  const clusterId = randomId();
  const cluster = (members: readonly FogMember[] = nodes, timeoutMs?: number, port: FogAnchorPort = anchor) =>
    new FogCluster({
      id: clusterId,
      deployment,
      commitments: d.cluster.commitments,
      scheme: d.scheme,
      members,
      anchor: port,
      directory: d.directory,
      report: (r) => Promise.resolve(void reports.push(r)),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  /** The readings (device, seq) of every batch the proposer recorded, in batch order. */
  const anchoredReadings = (node: FogNode): string[] =>
    node.store
      .batches()
      .flatMap((b) => node.store.sensitiveRange(b.firstId, b.lastId).map((r) => `${b.sequence}:${r.seq}`));
  beforeEach(function () {
    d = makeDistrict(3, 5);
    anchor = new MemoryFogAnchor(d);
    // members read the chain, as deployed nodes do (`FogNodeOptions.anchors`)
    nodes = [1, 2, 3, 4, 5].map((i) => d.fogNode(i, { anchors: anchor }));
    reports = [];
  });
  afterEach(function () {
    d.cleanup();
  });

  it("anchors a batch despite a member that throws, one that never answers and one that answers garbage", async function () {
    const dev = d.device();
    await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
    const members: FogMember[] = [
      nodes[0]!,
      nodes[1]!,
      nodes[2]!,
      { index: 4, id: nodes[3]!.id, endorse: () => Promise.reject(new Error("ECONNRESET")) },
      { index: 5, id: nodes[4]!.id, endorse: () => new Promise(() => undefined) },
    ];
    const anchored = (await cluster(members, 2_000).anchorNext(nodes[0]!))!;
    expect(anchored.signers).to.deep.equal([1, 2, 3]);
    expect(reports.map((r) => [r.member, r.reason])).to.deep.equal([
      [4, "no-answer"],
      [5, "no-answer"],
    ]);
    await nodes[0]!.ingest([dev.read(2, { sensitive: true })]);
    reports = [];
    const garbage: FogMember = {
      index: 2,
      id: nodes[1]!.id,
      endorse: () => Promise.resolve({ ok: true, member: 2, partial: { index: 2, signature: {} as never } }),
    };
    const second = (await cluster([nodes[0]!, garbage, nodes[2]!, nodes[3]!, nodes[4]!]).anchorNext(nodes[0]!))!;
    expect(second.sequence).to.equal(2n);
    expect(reports.map((r) => [r.member, r.reason])).to.deep.equal([[2, "invalid-share"]]);
  });

  it("refuses a finalityDepth below 1, or one without a block source to count confirmations", function () {
    const options = {
      id: clusterId,
      deployment,
      commitments: d.cluster.commitments,
      scheme: d.scheme,
      members: nodes,
      anchor,
    };
    const blocks = { getBlockNumber: () => Promise.resolve(0) };
    expect(() => new FogCluster({ ...options, finalityDepth: 0, blocks })).to.throw(InvalidInputError, /finalityDepth/);
    expect(() => new FogCluster({ ...options, finalityDepth: 2 })).to.throw(InvalidInputError, /blocks/);
    expect(new FogCluster({ ...options, finalityDepth: 2, blocks }).id).to.equal(clusterId.toLowerCase());
  });

  it("refuses a proposal for another sequence or cluster before any member signs", async function () {
    const dev = d.device();
    await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
    const liar = {
      propose: async (c: Hex, s: bigint) => ({ ...(await nodes[0]!.propose(c, s))!, sequence: s + 7n }),
      recordBatch: () => undefined,
    };
    try {
      await cluster().anchorNext(liar);
      expect.fail("a lying proposal was signed");
    } catch (e) {
      expect(e).to.be.instanceOf(InvalidInputError);
    }
    expect(reports).to.deep.equal([]);
    expect(anchor.roots).to.deep.equal([]);
  });

  it("anchors nothing, and names everyone, when fewer than t members endorse", async function () {
    const dev = d.device();
    await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
    const refuse = (i: number): FogMember => ({
      index: i,
      id: nodes[i - 1]!.id,
      endorse: () => Promise.resolve({ ok: false, member: i, reason: "not-sensitive", at: 0 }),
    });
    try {
      await cluster([nodes[0]!, nodes[1]!, refuse(3), refuse(4), refuse(5)]).anchorNext(nodes[0]!);
      expect.fail("anchored with two shares of a 3-of-5 key");
    } catch (e) {
      expect(e).to.be.instanceOf(ThresholdError);
    }
    expect(reports.map((r) => r.member)).to.deep.equal([3, 4, 5]);
    expect(anchor.roots).to.deep.equal([]);
    try {
      await cluster([refuse(1), refuse(2), refuse(3), refuse(4), refuse(5)]).anchorNext(nodes[0]!);
      expect.fail("anchored with no shares");
    } catch (e) {
      expect(e).to.be.instanceOf(ThresholdError);
    }
  });

  it("drops a queued reading whose device was blocked since, so the queue never stalls", async function () {
    const [bad, good] = [d.device(), d.device()];
    await nodes[0]!.ingest([bad.read(1, { sensitive: true }), good.read(1, { sensitive: true })]);
    d.directory.set(bad.id, Kind.Device, Status.Blocked, bad.key.publicKey);
    const anchored = (await cluster().anchorNext(nodes[0]!))!;
    expect(anchored.leafCount).to.equal(1);
    expect(nodes[0]!.store.dropped()).to.deep.equal(new Map([["blocked", 1]]));
    expect(await cluster().anchorNext(nodes[0]!)).to.equal(undefined);
  });

  it("never endorses a reading under another sequence, nor a batch that repeats one; the same batch again is the same share", async function () {
    const dev = d.device();
    await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
    const proposal = (await nodes[0]!.propose(clusterId, 1n))!;
    const twice: BatchProposal = { ...proposal, readings: [proposal.readings[0]!, proposal.readings[0]!], ids: [1, 1] };
    const { batchTree } = await import("../../../sdk/fog/fog-node.ts");
    const rooted = { ...twice, root: (await batchTree(twice.readings)).root, leafCount: 2 };
    expect(await nodes[1]!.endorse(rooted, deployment)).to.deep.include({ ok: false, reason: "duplicate" });
    const first = await nodes[1]!.endorse(proposal, deployment);
    expect(first.ok).to.equal(true);
    // the same (cluster, sequence, root) again: the same share
    const again = await nodes[1]!.endorse(proposal, deployment);
    expect(again.ok && first.ok && again.partial.index === first.partial.index).to.equal(true);
    expect(again.ok && first.ok && d.scheme.backend.g1.eq(again.partial.signature, first.partial.signature)).to.equal(
      true,
    );
    expect(await nodes[1]!.endorse({ ...proposal, sequence: 2n }, deployment)).to.deep.include({
      ok: false,
      reason: "already-endorsed",
    });
  });

  it("checks readings against the device's current profile key (a rotated key replaces the old one)", async function () {
    const dev = d.device();
    expect((await nodes[0]!.ingest([dev.read(1)]))[0]!.ok).to.equal(true);
    const fresh = randomDeviceKey();
    d.directory.set(dev.id, Kind.Device, Status.Active, fresh.publicKey);
    const [old] = await nodes[0]!.ingest([dev.read(2)]);
    expect(old!.ok === false && old!.error.reason).to.equal("bad-signature");
  });

  it("answers each reading of concurrent chunks, a replay in both included", async function () {
    const [a, b] = [d.device(), d.device()];
    const replayed = a.read(1);
    const [first, second] = await Promise.all([
      nodes[0]!.ingest([replayed, b.read(1)]),
      nodes[0]!.ingest([replayed, b.read(2)]),
    ]);
    expect(first!.map((r) => r.ok)).to.deep.equal([true, true]);
    expect(second!.map((r) => (r.ok ? "ok" : r.error.reason))).to.deep.equal(["replay", "ok"]);
  });

  describe("an abandoned round (t = 3 of 5)", function () {
    /** A chain port whose next `failures` anchoring transactions fail (`landed`: after the chain took them). */
    const flaky = (failures: number, landed = false): FogAnchorPort => ({
      head: () => anchor.head(),
      anchorOf: (c, r) => anchor.anchorOf(c, r),
      async anchorFogBatch(c, r, n, sig) {
        if (failures-- <= 0) return anchor.anchorFogBatch(c, r, n, sig);
        if (landed) await anchor.anchorFogBatch(c, r, n, sig);
        throw new TransportError("ECONNRESET: the node dropped the connection");
      },
    });
    /** Member i signs, but its share never reaches the proposer. */
    const lostReply = (i: number): FogMember => ({
      index: i,
      id: nodes[i - 1]!.id,
      endorse: async (p, dep) => {
        await nodes[i - 1]!.endorse(p, dep);
        return new Promise(() => undefined);
      },
    });
    const offline = (i: number): FogMember => ({
      index: i,
      id: nodes[i - 1]!.id,
      endorse: () => Promise.reject(new Error("ECONNREFUSED")),
    });

    it("recovers from a failed anchoring transaction, then a lost reply: every reading anchored once, new ones not stuck", async function () {
      const dev = d.device();
      await nodes[0]!.ingest([dev.read(1, { sensitive: true }), dev.read(2, { sensitive: true })]);
      const port = flaky(1);
      // round 1: all five sign, the anchoring transaction fails
      try {
        await cluster(nodes, undefined, port).anchorNext(nodes[0]!);
        expect.fail("the failed transaction was reported as anchored");
      } catch (e) {
        expect(e).to.be.instanceOf(TransportError);
      }
      expect(anchor.roots).to.deep.equal([]);
      // a new reading arrives meanwhile
      await nodes[0]!.ingest([dev.read(3, { sensitive: true })]);
      // round 2: members 4 and 5 are offline, member 3 signs but its reply is lost: 2 shares of 3
      try {
        await cluster([nodes[0]!, nodes[1]!, lostReply(3), offline(4), offline(5)], 2_000, port).anchorNext(nodes[0]!);
        expect.fail("anchored with two shares");
      } catch (e) {
        expect(e).to.be.instanceOf(ThresholdError);
      }
      expect(reports.filter((r) => r.reason === "already-endorsed")).to.deep.equal([]);
      expect(anchor.roots).to.deep.equal([]);
      // round 3: everyone answers; the members sign the same batch again (the same message, the same share)
      reports = [];
      const first = (await cluster(nodes, undefined, port).anchorNext(nodes[0]!))!;
      expect([first.sequence, first.leafCount, first.signers.length]).to.deep.equal([1n, 2, 3]);
      expect(reports).to.deep.equal([]);
      // the reading that arrived meanwhile is next, and then nothing is left
      const second = (await cluster(nodes, undefined, port).anchorNext(nodes[0]!))!;
      expect([second.sequence, second.leafCount]).to.deep.equal([2n, 1]);
      expect(await cluster(nodes, undefined, port).anchorNext(nodes[0]!)).to.equal(undefined);
      expect(anchor.roots).to.have.length(2);
      expect(anchoredReadings(nodes[0]!)).to.deep.equal(["1:1", "1:2", "2:3"]);
    });

    it("settles a round whose transaction landed though its answer was lost: its readings are not anchored again", async function () {
      const dev = d.device();
      await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
      try {
        await cluster(nodes, undefined, flaky(1, true)).anchorNext(nodes[0]!);
        expect.fail("the lost answer was reported as anchored");
      } catch (e) {
        expect(e).to.be.instanceOf(TransportError);
      }
      expect(anchor.roots).to.have.length(1);
      await nodes[0]!.ingest([dev.read(2, { sensitive: true })]);
      const next = (await cluster().anchorNext(nodes[0]!))!;
      expect([next.sequence, next.leafCount]).to.deep.equal([2n, 1]);
      expect(anchoredReadings(nodes[0]!)).to.deep.equal(["1:1", "2:2"]);
      expect(await cluster().anchorNext(nodes[0]!)).to.equal(undefined);
    });

    it("recovers when the abandoned batch must shrink (a device blocked meanwhile): same sequence, new root", async function () {
      const [bad, good] = [d.device(), d.device()];
      await nodes[0]!.ingest([bad.read(1, { sensitive: true }), good.read(1, { sensitive: true })]);
      try {
        await cluster(nodes, undefined, flaky(1)).anchorNext(nodes[0]!);
        expect.fail("anchored through a failed transaction");
      } catch (e) {
        expect(e).to.be.instanceOf(TransportError);
      }
      d.directory.set(bad.id, Kind.Device, Status.Blocked, bad.key.publicKey);
      const anchored = (await cluster().anchorNext(nodes[0]!))!;
      expect([anchored.sequence, anchored.leafCount, anchored.signers.length]).to.deep.equal([1n, 1, 3]);
      expect(nodes[0]!.store.dropped()).to.deep.equal(new Map([["blocked", 1]]));
    });
  });

  describe("two proposers racing for one sequence (t = 3 of 5)", function () {
    /** P0's round, in which every member signs X for sequence 1 and P1 anchors Y at 1 just before X's transaction. */
    const race = async (): Promise<BatchProposal> => {
      const racing: FogAnchorPort = {
        head: () => anchor.head(),
        anchorOf: (c, r) => anchor.anchorOf(c, r),
        anchorFogBatch: async (c, r, n, s) => {
          const y = (await cluster().anchorNext(nodes[1]!))!;
          expect(y.sequence).to.equal(1n);
          return anchor.anchorFogBatch(c, r, n, s);
        },
      };
      try {
        await cluster(nodes, undefined, racing).anchorNext(nodes[0]!);
        expect.fail("X anchored at a taken sequence");
      } catch (e) {
        expect((e as Error).message).to.match(/InvalidGroupSignature/);
      }
      return nodes[0]!.pendingBatch(clusterId)!;
    };

    it("anchors the loser's readings once at the next sequence: nothing stalls, no member is reported", async function () {
      const [a, b] = [d.device(), d.device()];
      await nodes[0]!.ingest([a.read(1, { sensitive: true }), a.read(2, { sensitive: true })]);
      await nodes[1]!.ingest([b.read(1, { sensitive: true })]);
      const x = await race();
      expect(x.sequence).to.equal(1n);
      expect(anchor.roots).to.have.length(1);
      // the next round drops X (its sequence is taken) and proposes its readings afresh at 2
      const next = (await cluster().anchorNext(nodes[0]!))!;
      expect([next.sequence, next.leafCount, next.signers.length]).to.deep.equal([2n, 2, 3]);
      expect(nodes[0]!.pendingBatch(clusterId)).to.equal(undefined);
      expect(reports).to.deep.equal([]);
      // nothing is left, and a new reading is next
      expect(await cluster().anchorNext(nodes[0]!)).to.equal(undefined);
      await nodes[0]!.ingest([a.read(3, { sensitive: true })]);
      expect((await cluster().anchorNext(nodes[0]!))!.sequence).to.equal(3n);
      expect(anchoredReadings(nodes[0]!)).to.deep.equal(["2:1", "2:2", "3:3"]);
      expect(anchoredReadings(nodes[1]!)).to.deep.equal(["1:1"]);
      expect(reports).to.deep.equal([]);
    });

    it("a member judges concurrent proposals one at a time: a reading is never signed under two sequences", async function () {
      const a = d.device();
      await nodes[0]!.ingest([a.read(1, { sensitive: true })]);
      const p1 = (await nodes[0]!.propose(clusterId, 1n))!; // X at 1
      await nodes[0]!.ingest([a.read(2, { sensitive: true })]);
      const p2 = (await nodes[0]!.propose(clusterId, 2n))!; // afresh at 2: X and Y
      expect(p2.leafCount).to.equal(2);
      const members = nodes.slice(1);
      const answers = await Promise.all(members.flatMap((n) => [n.endorse(p1, deployment), n.endorse(p2, deployment)]));
      const [first, second] = [answers.filter((_, i) => i % 2 === 0), answers.filter((_, i) => i % 2 === 1)];
      expect(first.map((e) => e.ok)).to.deep.equal([true, true, true, true]);
      expect(second.map((e) => (e.ok ? "signed" : e.reason))).to.deep.equal(Array(4).fill("already-endorsed"));
    });

    it("a proposer away while another anchored a reading it also holds drops that reading, and its others go on", async function () {
      const a = d.device();
      const shared = a.read(1, { sensitive: true });
      await nodes[0]!.ingest([shared]);
      await nodes[1]!.ingest([shared]); // two fog nodes received the same reading
      const away: FogMember = { index: 2, id: nodes[1]!.id, endorse: () => Promise.reject(new Error("ECONNREFUSED")) };
      expect(
        (await cluster([nodes[0]!, away, nodes[2]!, nodes[3]!, nodes[4]!]).anchorNext(nodes[0]!))!.sequence,
      ).to.equal(1n);
      // P1 is back with fresh readings of another device; its queue still starts with the shared one
      const b = d.device();
      await nodes[1]!.ingest([b.read(1, { sensitive: true }), b.read(2, { sensitive: true })]);
      let failed = 0;
      for (let round = 0; round < 3 && anchoredReadings(nodes[1]!).length === 0; round++) {
        try {
          await cluster().anchorNext(nodes[1]!);
        } catch (e) {
          if (!(e instanceof ThresholdError)) throw e;
          failed++;
        }
      }
      expect(failed, "rounds lost to the shared reading").to.equal(1);
      expect(anchoredReadings(nodes[1]!)).to.deep.equal(["2:1", "2:2"]);
      expect(nodes[1]!.store.dropped().get("anchored")).to.equal(1);
      expect(reports.map((r) => [r.member, r.reason])).to.deep.equal([[2, "no-answer"]]); // while it was away only
      expect(anchor.roots).to.have.length(2); // the shared reading was anchored once
    });

    it("members built without a chain view of their own read it through the cluster's port", async function () {
      const path = (i: number) => `${d.dir}/bare-${i}.sqlite`;
      nodes = [1, 2, 3, 4, 5].map((i) => d.fogNode(i, { path: path(i) })); // no `anchors`
      const [a, b] = [d.device(), d.device()];
      await nodes[0]!.ingest([a.read(1, { sensitive: true })]);
      await nodes[1]!.ingest([b.read(1, { sensitive: true })]);
      await race();
      const next = (await cluster().anchorNext(nodes[0]!))!;
      expect(next.sequence).to.equal(2n);
      expect(anchoredReadings(nodes[0]!)).to.deep.equal(["2:1"]);
      expect(reports).to.deep.equal([]);
    });

    it("still refuses a reading whose batch the chain holds, at any later sequence; the refusal is not misbehaviour", async function () {
      const a = d.device();
      const reading = a.read(1, { sensitive: true });
      // two fog nodes received the same reading; P0's batch with it is anchored at 1, P1 offline
      await nodes[0]!.ingest([reading, a.read(2, { sensitive: true })]);
      await nodes[1]!.ingest([reading]);
      const offline: FogMember = {
        index: 2,
        id: nodes[1]!.id,
        endorse: () => Promise.reject(new Error("ECONNREFUSED")),
      };
      const x = (await cluster([nodes[0]!, offline, nodes[2]!, nodes[3]!, nodes[4]!]).anchorNext(nodes[0]!))!;
      expect([x.sequence, x.leafCount]).to.deep.equal([1n, 2]);
      reports = [];
      // P1 proposes it at 2: the members that signed X refuse it, and are not reported for it
      try {
        await cluster().anchorNext(nodes[1]!);
        expect.fail("a reading was anchored twice");
      } catch (e) {
        expect(e).to.be.instanceOf(ThresholdError);
        const named = (e as ThresholdError).details.reports as MemberReport[];
        expect(named.map((r) => [r.member, r.reason])).to.deep.equal([
          [1, "already-endorsed"],
          [3, "already-endorsed"],
          [4, "already-endorsed"],
          [5, "already-endorsed"],
        ]);
      }
      expect(anchor.roots).to.have.length(1);
      expect(reports).to.deep.equal([]);
    });

    it("still refuses a reading whose first root is anchored after its batch shrank at that sequence", async function () {
      const [a, bad] = [d.device(), d.device()];
      await nodes[0]!.ingest([a.read(1, { sensitive: true }), bad.read(1, { sensitive: true })]);
      const first = (await nodes[0]!.propose(clusterId, 1n))!;
      for (const n of nodes) expect((await n.endorse(first, deployment)).ok).to.equal(true);
      // the round is retried after `bad` was blocked: the batch shrinks, members sign the new root at 1
      d.directory.set(bad.id, Kind.Device, Status.Blocked, bad.key.publicKey);
      const shrunk = (await nodes[0]!.propose(clusterId, 1n))!;
      expect(shrunk.root).to.not.equal(first.root);
      for (const n of nodes) expect((await n.endorse(shrunk, deployment)).ok).to.equal(true);
      // yet the first root's transaction is the one that landed at 1
      anchor.roots.push(first.root);
      const again = { ...shrunk, sequence: 2n };
      for (const n of nodes) {
        expect(await n.endorse(again, deployment)).to.deep.include({ ok: false, reason: "already-endorsed" });
      }
      // and the proposer, which signed the first root, drops the reading from its queue instead of stalling
      expect(await cluster().anchorNext(nodes[0]!)).to.equal(undefined);
      expect(reports).to.deep.equal([]);
    });
  });

  describe("registry status of members and devices", function () {
    it("does not count the share of a member the registry blocked, and such a member refuses to sign", async function () {
      const dev = d.device();
      await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
      d.directory.set(nodes[1]!.id, Kind.FogNode, Status.Blocked);
      const proposal = (await nodes[0]!.propose(clusterId, 1n))!;
      expect(await nodes[1]!.endorse(proposal, deployment)).to.deep.include({ ok: false, reason: "inactive", at: -1 });
      // a blocked member that still signs (compromised) is not counted either
      const stillSigns: FogMember = {
        index: 2,
        id: nodes[1]!.id,
        endorse: (p) =>
          Promise.resolve({
            ok: true,
            member: 2,
            partial: d.scheme.partialSign(
              d.cluster.shares[1]!,
              fogBatchMessage({
                ...deployment,
                cluster: p.cluster,
                sequence: p.sequence,
                root: p.root,
                leafCount: p.leafCount,
              }),
            ),
          }),
      };
      const anchored = (await cluster([nodes[0]!, stillSigns, nodes[2]!, nodes[3]!, nodes[4]!]).anchorNext(nodes[0]!))!;
      expect(anchored.signers).to.not.include(2);
      expect(anchored.reports.map((r) => [r.member, r.reason])).to.deep.equal([[2, "inactive"]]);
      // not misbehaviour in this round: the registry already stopped it, so it is not reported again
      expect(reports).to.deep.equal([]);
    });

    it("anchors nothing when fewer than t members are Active, whatever the blocked ones sign", async function () {
      const dev = d.device();
      await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
      for (const i of [2, 3, 4]) d.directory.set(nodes[i]!.id, Kind.FogNode, Status.Suspended);
      try {
        await cluster().anchorNext(nodes[0]!);
        expect.fail("anchored with two Active members of a 3-of-5 cluster");
      } catch (e) {
        expect(e).to.be.instanceOf(ThresholdError);
        const named = (e as ThresholdError).details.reports as MemberReport[];
        expect(named.map((r) => [r.member, r.reason])).to.deep.equal([
          [3, "inactive"],
          [4, "inactive"],
          [5, "inactive"],
        ]);
      }
      expect(anchor.roots).to.deep.equal([]);
    });

    it("drops a queued reading whose device's profile no longer decodes (bad-profile); the round goes on", async function () {
      const [bad, good] = [d.device(), d.device()];
      await nodes[0]!.ingest([bad.read(1, { sensitive: true }), good.read(1, { sensitive: true })]);
      d.directory.badProfiles.add(bad.id.toLowerCase());
      const anchored = (await cluster().anchorNext(nodes[0]!))!;
      expect([anchored.leafCount, anchored.signers.length]).to.deep.equal([1, 3]);
      expect(nodes[0]!.store.dropped()).to.deep.equal(new Map([["bad-profile", 1]]));
      expect(await cluster().anchorNext(nodes[0]!)).to.equal(undefined);
    });
  });

  it("lets a member check the cluster key before approving it", function () {
    const encode = (c: typeof d.cluster.commitments) => g2ToEip2537(d.scheme.backend, d.scheme.groupKey(c));
    const key = encode(d.cluster.commitments);
    expect(() => checkClusterKey(d.scheme, d.cluster.commitments, d.cluster.shares[0]!, key, 3, encode)).to.not.throw();
    expect(() => checkClusterKey(d.scheme, d.cluster.commitments, { index: 1, secret: 5n }, key, 3, encode)).to.throw(
      ThresholdError,
    );
    expect(() => checkClusterKey(d.scheme, d.cluster.commitments, d.cluster.shares[0]!, key, 2, encode)).to.throw(
      ThresholdError,
    );
    const other = makeDistrict(3, 5);
    expect(() =>
      checkClusterKey(
        d.scheme,
        d.cluster.commitments,
        d.cluster.shares[0]!,
        encode(other.cluster.commitments),
        3,
        encode,
      ),
    ).to.throw(ThresholdError);
    other.cleanup();
  });
});
