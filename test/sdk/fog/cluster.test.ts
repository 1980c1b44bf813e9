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
import { FogCluster, type FogMember, type MemberReport } from "../../../sdk/fog/cluster.ts";
import { type BatchProposal, type FogNode } from "../../../sdk/fog/fog-node.ts";
import { g2ToEip2537, InvalidInputError, randomDeviceKey, ThresholdError } from "../../../sdk/index.ts";
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
  anchorFogBatch(cluster: Hex, root: Hex, leafCount: number | bigint, signature: Uint8Array) {
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
    return Promise.resolve({ sequence, txHash: `0x${sequence.toString(16)}` });
  }
}

describe("FogCluster", function () {
  let d: District;
  let nodes: FogNode[];
  let anchor: MemoryFogAnchor;
  let reports: MemberReport[];
  const clusterId = randomId();
  const cluster = (members: readonly FogMember[] = nodes, timeoutMs?: number) =>
    new FogCluster({
      id: clusterId,
      deployment,
      commitments: d.cluster.commitments,
      scheme: d.scheme,
      members,
      anchor,
      report: (r) => Promise.resolve(void reports.push(r)),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  beforeEach(function () {
    d = makeDistrict(3, 5);
    nodes = [1, 2, 3, 4, 5].map((i) => d.fogNode(i));
    anchor = new MemoryFogAnchor(d);
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
    const anchored = (await cluster(members, 200).anchorNext(nodes[0]!))!;
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

  it("never endorses a reading twice, nor a batch that repeats one", async function () {
    const dev = d.device();
    await nodes[0]!.ingest([dev.read(1, { sensitive: true })]);
    const proposal = (await nodes[0]!.propose(clusterId, 1n))!;
    const twice: BatchProposal = { ...proposal, readings: [proposal.readings[0]!, proposal.readings[0]!], ids: [1, 1] };
    const { batchTree } = await import("../../../sdk/fog/fog-node.ts");
    const rooted = { ...twice, root: (await batchTree(twice.readings)).root, leafCount: 2 };
    expect(await nodes[1]!.endorse(rooted, deployment)).to.deep.include({ ok: false, reason: "duplicate" });
    expect((await nodes[1]!.endorse(proposal, deployment)).ok).to.equal(true);
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
