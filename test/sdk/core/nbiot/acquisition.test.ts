/**
 * Seed 000 "Data acquisition", the verifying half: every way a station (or
 * anyone between it and the application) can alter what it serves is caught
 * before anything is decrypted — tampered block or ciphertext, wrong station
 * signature, broken link, missing block, missing or wrong proof, wrong root,
 * a missing handover record, and a forked flow.
 */
import { expect } from "chai";

import { type Hex } from "../../../../sdk/core/bytes.ts";
import { type AcquisitionResponse, verifyAcquisition } from "../../../../sdk/core/nbiot/acquisition.ts";
import { decodeBlock, encodeBlock } from "../../../../sdk/core/nbiot/block.ts";
import { ProtocolError } from "../../../../sdk/errors.ts";
import { enter, makeWorld, randomId, reading, sendAll, type World } from "../../../helpers/nbiot.ts";

const t0 = 1_800_000_000_000;

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(ProtocolError);
    return (e as ProtocolError).reason;
  }
  return "none";
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ServedBlock = Mutable<AcquisitionResponse["blocks"][number]>;
type ServedBatch = Mutable<AcquisitionResponse["batches"][number]>;
interface Served {
  station: Hex;
  node: Hex;
  blocks: ServedBlock[];
  batches: ServedBatch[];
  handovers: Uint8Array[];
  more: boolean;
}

/** A deep copy of a response to alter. */
function copy(r: AcquisitionResponse): Served {
  return {
    station: r.station,
    node: r.node,
    blocks: r.blocks.map((b) => ({ ...b, block: b.block.slice(), primary: b.primary.slice(), proof: [...b.proof] })),
    batches: r.batches.map((b) => ({ ...b, signature: b.signature.slice() })),
    handovers: r.handovers.map((h) => h.slice()),
    more: r.more,
  };
}

describe("verifyAcquisition", function () {
  let w: World;
  let node: Hex;
  let bs1: AcquisitionResponse;
  let bs2: AcquisitionResponse;

  before(async function () {
    w = makeWorld();
    const n = w.node();
    node = n.id;
    const s1 = w.station();
    const s2 = w.station();
    await enter(n, s1, t0);
    sendAll(n, s1, [reading(1), reading(2), reading(3)], t0 + 1);
    await enter(n, s2, t0 + 10);
    sendAll(n, s2, [reading(4), reading(5)], t0 + 11);
    await s1.seal(t0 + 20);
    await s2.seal(t0 + 20);
    bs1 = await s1.acquire(node, 0, t0 + 100);
    bs2 = await s2.acquire(node, 0, t0 + 100);
  });
  after(function () {
    w.cleanup();
  });

  it("accepts the untouched chain across both stations", function () {
    const v = verifyAcquisition(w.params, node, [bs2, bs1]);
    expect(v.blocks.map((b) => b.block.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(v.roots.size).to.equal(2);
    expect(verifyAcquisition(w.params, node, []).blocks).to.deep.equal([]);
  });

  it("catches a tampered ciphertext (digest) and a tampered block field (proof)", function () {
    const a = copy(bs1);
    a.blocks[1]!.primary[5]! ^= 1;
    expect(reason(() => verifyAcquisition(w.params, node, [a, bs2]))).to.equal("tampered");
    const b = copy(bs1);
    const block = decodeBlock(b.blocks[1]!.block);
    b.blocks[1]!.block = encodeBlock({ ...block, time: block.time + 1 });
    expect(reason(() => verifyAcquisition(w.params, node, [b, bs2]))).to.equal("bad-proof");
  });

  it("catches a wrong station signature on a batch", function () {
    const a = copy(bs1);
    a.batches[0]!.signature = bs2.batches[0]!.signature.slice();
    expect(reason(() => verifyAcquisition(w.params, node, [a, bs2]))).to.equal("bad-signature");
    const b = copy(bs1);
    b.batches[0]!.signature[100 % 96]! ^= 1;
    expect(["bad-signature"]).to.include(reason(() => verifyAcquisition(w.params, node, [b])));
  });

  it("catches a missing proof and a proof against the wrong root", function () {
    const a = copy(bs1);
    a.blocks[0]!.proof = [];
    expect(reason(() => verifyAcquisition(w.params, node, [a]))).to.equal("bad-proof");
    const b = copy(bs1);
    b.batches[0]!.root = bs2.batches[0]!.root;
    expect(reason(() => verifyAcquisition(w.params, node, [b]))).to.equal("bad-proof");
    const c = copy(bs1);
    c.blocks[0]!.batch = 99;
    expect(reason(() => verifyAcquisition(w.params, node, [c]))).to.equal("bad-proof");
  });

  it("catches a block served at another leaf index than its own (the proofs of a batch are checked together)", function () {
    const a = copy(bs1);
    a.blocks[1]!.leafIndex = a.blocks[0]!.leafIndex;
    expect(reason(() => verifyAcquisition(w.params, node, [a]))).to.equal("bad-proof");
    const b = copy(bs1);
    b.blocks[2]!.leafIndex = 99;
    expect(reason(() => verifyAcquisition(w.params, node, [b]))).to.equal("bad-proof");
    const c = copy(bs1);
    c.blocks[2]!.proof = c.blocks[1]!.proof;
    expect(reason(() => verifyAcquisition(w.params, node, [c]))).to.equal("bad-proof");
  });

  it("checks a node's blocks that share a batch with other nodes' blocks, paths shared or not", async function () {
    const crowd = makeWorld();
    try {
      const s = crowd.station();
      const nodes = [crowd.node(), crowd.node(), crowd.node(), crowd.node(), crowd.node()];
      for (const n of nodes) await enter(n, s, t0);
      for (let r = 0; r < 9; r++) for (const n of nodes) sendAll(n, s, [reading(r)], t0 + 1 + r);
      await s.seal(t0 + 20);
      const me = nodes[2]!.id;
      const page = await s.acquire(me, 0, t0 + 100);
      expect(page.batches.map((b) => b.leafCount)).to.deep.equal([45]);
      expect(verifyAcquisition(crowd.params, me, [page]).blocks.map((b) => b.block.seq)).to.deep.equal([
        1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
      // every sibling of every block's proof, low (hashed) or high (compared with a proven one)
      for (let k = 0; k < page.blocks.length; k++) {
        for (let level = 0; level < page.blocks[k]!.proof.length; level++) {
          const bad = copy(page);
          const proof = [...bad.blocks[k]!.proof];
          proof[level] = `0x${"ab".repeat(32)}` as Hex;
          bad.blocks[k]!.proof = proof;
          expect(
            reason(() => verifyAcquisition(crowd.params, me, [bad])),
            `block ${k} level ${level}`,
          ).to.equal("bad-proof");
        }
      }
      // another node's block of the same batch, served as ours, is refused
      const other = await s.acquire(nodes[1]!.id, 0, t0 + 100);
      const mixed = copy(page);
      mixed.blocks[4] = copy(other).blocks[4]!;
      expect(reason(() => verifyAcquisition(crowd.params, me, [mixed]))).to.equal("wrong-peer");
    } finally {
      crowd.cleanup();
    }
  });

  it("catches a missing block and a missing handover record", function () {
    const a = copy(bs1);
    a.blocks.splice(1, 1);
    expect(reason(() => verifyAcquisition(w.params, node, [a]))).to.equal("missing-block");
    const b = copy(bs2);
    b.handovers = [];
    expect(reason(() => verifyAcquisition(w.params, node, [bs1, b]))).to.equal("broken-link");
  });

  it("catches a broken link: a re-signed block that does not chain to its predecessor", async function () {
    // a station re-making block 2 with another previous hash and a fresh batch of its own
    const ww = makeWorld();
    const n = ww.node();
    const s = ww.station();
    await enter(n, s, t0);
    sendAll(n, s, [reading(1), reading(2)], t0 + 1);
    await s.seal(t0 + 2);
    const good = await s.acquire(n.id, 0, t0 + 10);
    const other = ww.node(n.id); // same node id, a second (forked) chain at another station
    const s2 = ww.station();
    await enter(other, s2, t0 + 20);
    sendAll(other, s2, [reading(9), reading(10)], t0 + 21);
    await s2.seal(t0 + 22);
    const forked = await s2.acquire(n.id, 0, t0 + 30);
    expect(reason(() => verifyAcquisition(ww.params, n.id, [good, forked]))).to.equal("fork");
    const onlyFirst = copy(good);
    onlyFirst.blocks = [good.blocks[0]!];
    const onlySecond = copy(forked);
    onlySecond.blocks = [forked.blocks[1]!];
    onlySecond.station = s.id; // served as if the first station had made it
    expect(reason(() => verifyAcquisition(ww.params, n.id, [onlyFirst, onlySecond]))).to.equal("wrong-peer");
    const sameStation = copy(good);
    sameStation.blocks = [good.blocks[0]!, { ...forked.blocks[1]!, block: good.blocks[1]!.block }];
    expect(reason(() => verifyAcquisition(ww.params, n.id, [sameStation]))).to.equal("tampered");
    expect(reason(() => verifyAcquisition(ww.params, n.id, [onlyFirst, { ...onlySecond, station: s2.id }]))).to.equal(
      "broken-link",
    );
    ww.cleanup();
  });

  it("refuses blocks of another node or served by another station", function () {
    expect(reason(() => verifyAcquisition(w.params, randomId(), [bs1]))).to.equal("wrong-peer");
    const a = copy(bs1);
    a.station = bs2.station;
    expect(reason(() => verifyAcquisition(w.params, node, [a]))).to.equal("wrong-peer");
  });

  it("refuses a malformed block", function () {
    const a = copy(bs1);
    a.blocks[0]!.block = a.blocks[0]!.block.subarray(0, 100);
    expect(reason(() => verifyAcquisition(w.params, node, [a]))).to.equal("malformed");
  });
});
