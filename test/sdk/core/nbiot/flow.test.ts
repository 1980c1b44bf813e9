/**
 * The flow-chain rules (seed 000, "Foundation block generation" and "Blockchain
 * generation") as pure steps, without a store: every rule accepted and refused
 * with its reason, and properties against a plain model of a flow chain.
 */
import { expect } from "chai";
import fc from "fast-check";

import { type Hex } from "../../../../sdk/core/bytes.ts";
import { type Block, blockHash, ZERO_HASH } from "../../../../sdk/core/nbiot/block.ts";
import {
  type FlowReading,
  type FlowRefusal,
  type FlowState,
  type HashedBlock,
  repeatReading,
  stepEntry,
  stepFlow,
  stepHandOver,
  stepTakeOver,
} from "../../../../sdk/core/nbiot/flow.ts";
import type { ProtocolRejection } from "../../../../sdk/errors.ts";

const SEED = 0xf10c;
const RUNS = Number(process.env.STRATA_FUZZ_RUNS ?? 100);

const id = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const STATION = id(0xb1);
const OTHER = id(0xb2);
const THIRD = id(0xb3);
const NODE = id(0x1);
const digestOf = (n: number): Uint8Array => new Uint8Array(32).fill(n & 0xff);
const hashOf = (n: number): Uint8Array => new Uint8Array(32).fill((n * 7 + 3) & 0xff);

function reading(seq: number, now: number, digest = digestOf(seq)): FlowReading {
  return { station: STATION, node: NODE, seq, digest, now };
}

function state(seq: number, extra: Partial<FlowState> = {}, time = 1_000): FlowState {
  return { node: NODE, tip: { bs: STATION, seq, hash: hashOf(seq), time }, ...extra };
}

function refused(step: { readonly ok: boolean }, reason: ProtocolRejection): FlowRefusal["error"] {
  expect(step.ok).to.equal(false, `expected a refusal (${reason})`);
  const error = (step as FlowRefusal).error;
  expect(error.reason).to.equal(reason);
  return error;
}

function extend(s: FlowState | undefined, r: FlowReading): { block: Block; hash: Uint8Array; next: FlowState } {
  const step = stepFlow(s, r);
  if (!step.ok || step.kind !== "block") expect.fail(`expected a block, got ${JSON.stringify(step)}`);
  return step;
}

describe("NB-IoT flow-chain rules (pure steps)", function () {
  describe("stepFlow: a reading extends the flow by one block", function () {
    it("makes the foundation block on a node's first reading: sequence 1, previous hash zero, the station's time", function () {
      const { block, hash, next } = extend(undefined, reading(1, 5_000));
      expect(block).to.deep.equal({
        node: NODE,
        bs: STATION,
        seq: 1,
        time: 5_000,
        digest: digestOf(1),
        prev: ZERO_HASH,
      });
      expect(hash).to.deep.equal(blockHash(block));
      expect(next).to.deep.equal({ node: NODE, tip: { bs: STATION, seq: 1, hash, time: 5_000 } });
    });

    it("links the next block to the tip's hash, whichever station made the tip", function () {
      const tip: FlowState = { node: NODE, tip: { bs: OTHER, seq: 4, hash: hashOf(4), time: 1_000 } };
      const { block, hash, next } = extend(tip, reading(5, 2_000));
      expect(block.prev).to.deep.equal(hashOf(4));
      expect(block.bs).to.equal(STATION);
      expect(next.tip).to.deep.equal({ bs: STATION, seq: 5, hash, time: 2_000 });
      expect(next.handedOverTo).to.equal(undefined);
    });

    it("never dates a block before the tip it extends, even when the station's clock runs back", function () {
      const { block, next } = extend(state(3, {}, 9_000), reading(4, 8_000));
      expect(block.time).to.equal(9_000);
      expect(next.tip.time).to.equal(9_000);
    });

    it("refuses a reading that skips a sequence number as out-of-order, naming the one expected", function () {
      const first = refused(stepFlow(undefined, reading(2, 1)), "out-of-order");
      expect(first.details).to.include({ expected: 1, got: 2 });
      const later = refused(stepFlow(state(3), reading(7, 1)), "out-of-order");
      expect(later.details).to.include({ expected: 4, got: 7 });
      expect(later.shortMessage).to.equal("expected block 4, got 7");
    });

    it("refuses any reading on a flow handed over to another station, a resend included", function () {
      const handed = state(3, { handedOverTo: OTHER });
      for (const seq of [1, 3, 4, 9]) {
        const e = refused(stepFlow(handed, reading(seq, 1)), "handed-over");
        expect(e.details).to.include({ to: OTHER });
      }
    });

    it("takes a reading at or below the tip as a resend of the block at its sequence number", function () {
      for (const seq of [1, 2, 3])
        expect(stepFlow(state(3), reading(seq, 1))).to.deep.equal({ ok: true, kind: "repeat", seq });
    });
  });

  describe("repeatReading: a resend gets the block already made, or is a conflict", function () {
    const held: HashedBlock = {
      block: { node: NODE, bs: STATION, seq: 2, time: 7, digest: digestOf(2), prev: hashOf(1) },
      hash: hashOf(2),
    };

    it("answers the same ciphertext with the block it made", function () {
      expect(repeatReading(held, 2, digestOf(2))).to.deep.equal({ ok: true, block: held.block, hash: held.hash });
    });

    it("refuses another ciphertext at a sequence number it holds as a conflict", function () {
      const e = refused(repeatReading(held, 2, digestOf(99)), "conflict");
      expect(e.shortMessage).to.equal("block 2 already holds a different reading");
    });

    it("refuses a resend of a block this station does not hold (made by another station) as a conflict", function () {
      const e = refused(repeatReading(undefined, 2, digestOf(2)), "conflict");
      expect(e.shortMessage).to.equal("block 2 of this flow is held by another station");
    });
  });

  describe("stepEntry: a node entering with the tip it holds", function () {
    const claim = (seq: number, bs: Hex = STATION, holder?: Hex) => ({
      bs,
      seq,
      hash: hashOf(seq),
      ...(holder === undefined ? {} : { holder }),
    });

    it("goes on with the flow held here when the node's tip is ours or behind it (a lost receipt)", function () {
      expect(stepEntry(undefined, undefined, STATION)).to.deep.equal({ ok: true, source: undefined });
      expect(stepEntry(state(3), undefined, STATION)).to.deep.equal({ ok: true, source: undefined });
      expect(stepEntry(state(3), claim(3), STATION)).to.deep.equal({ ok: true, source: undefined });
      expect(stepEntry(state(3), claim(2), STATION)).to.deep.equal({ ok: true, source: undefined });
    });

    it("takes the flow over from the station holding a tip beyond ours, or any tip when it holds none", function () {
      expect(stepEntry(state(3), claim(5, OTHER), STATION)).to.deep.equal({ ok: true, source: OTHER });
      expect(stepEntry(state(3), claim(5, OTHER, THIRD), STATION)).to.deep.equal({ ok: true, source: THIRD });
      expect(stepEntry(undefined, claim(2, OTHER), STATION)).to.deep.equal({ ok: true, source: OTHER });
      // a tip this station made but another one holds (the node crossed it without sending)
      expect(stepEntry(undefined, claim(2, STATION, OTHER), STATION)).to.deep.equal({ ok: true, source: OTHER });
    });

    it("asks the station it handed the flow to, when the node's tip does not name another holder", function () {
      const handed = state(3, { handedOverTo: OTHER });
      expect(stepEntry(handed, undefined, STATION)).to.deep.equal({ ok: true, source: OTHER });
      expect(stepEntry(handed, claim(3), STATION)).to.deep.equal({ ok: true, source: OTHER });
      expect(stepEntry(handed, claim(6, THIRD), STATION)).to.deep.equal({ ok: true, source: THIRD });
    });

    it("refuses as forged-tip a tip beyond ours that names this station as its holder", function () {
      const e = refused(stepEntry(state(3), claim(4), STATION), "forged-tip");
      expect(e.details).to.include({ claimed: 4, ours: 3 });
      refused(stepEntry(state(3), claim(4, OTHER, STATION), STATION), "forged-tip");
    });

    it("refuses as forged-tip our tip's sequence number with another hash", function () {
      const e = refused(stepEntry(state(3), { bs: STATION, seq: 3, hash: hashOf(9) }, STATION), "forged-tip");
      expect(e.details).to.include({ claimed: 3, ours: 3 });
    });

    it("refuses as forged-tip a tip here on a flow this station never held", function () {
      const e = refused(stepEntry(undefined, claim(2), STATION), "forged-tip");
      expect(e.details).to.include({ claimed: 2, ours: 0 });
    });
  });

  describe("stepTakeOver: adopting a handed-over tip", function () {
    const record = (seq: number, hash = hashOf(seq)) => ({ origin: OTHER, tipSeq: seq, tipHash: hash, tipTime: 4_000 });

    it("adopts a tip at or beyond the flow held here, made by the record's origin", function () {
      for (const mine of [undefined, state(3)]) {
        for (const seq of [3, 4, 9]) {
          if (mine === undefined && seq === 3) continue;
          expect(stepTakeOver(mine, NODE, record(seq), false)).to.deep.equal({
            ok: true,
            next: { node: NODE, tip: { bs: OTHER, seq, hash: hashOf(seq), time: 4_000 } },
          });
        }
      }
      expect(stepTakeOver(state(3), NODE, record(3), false).ok).to.equal(true);
    });

    it("refuses as forged-tip a tip behind ours, ours with another hash, or one below a block held here", function () {
      const behind = refused(stepTakeOver(state(3), NODE, record(2), false), "forged-tip");
      expect(behind.details).to.include({ tip: 2, ours: 3 });
      refused(stepTakeOver(state(3), NODE, record(3, hashOf(8)), false), "forged-tip");
      const below = refused(stepTakeOver(undefined, NODE, record(5), true), "forged-tip");
      expect(below.details).to.include({ tip: 5 });
    });
  });

  describe("stepHandOver: confirming the tip to the station the node entered", function () {
    const ask = (claimedSeq: number, to: Hex = OTHER, claimedHash = hashOf(claimedSeq)) => ({
      node: NODE,
      to,
      claimedSeq,
      claimedHash,
    });

    it("confirms our tip and stops extending the flow, for a claim at the tip, below it, or none", function () {
      for (const claimed of [0, 1, 3]) {
        const step = stepHandOver(state(3), ask(claimed), claimed === 1 ? hashOf(1) : undefined);
        expect(step).to.deep.equal({ ok: true, tip: state(3).tip, next: state(3, { handedOverTo: OTHER }) });
      }
      // a claim below the tip whose block is not held here (made before a handover into this station)
      expect(stepHandOver(state(3), ask(2), undefined).ok).to.equal(true);
    });

    it("answers the station it handed the flow to again, with the same tip", function () {
      const step = stepHandOver(state(3, { handedOverTo: OTHER }), ask(3), undefined);
      expect(step).to.deep.equal({ ok: true, tip: state(3).tip, next: state(3, { handedOverTo: OTHER }) });
    });

    it("refuses a node with no flow here as missing-block", function () {
      const e = refused(stepHandOver(undefined, ask(0), undefined), "missing-block");
      expect(e.details).to.include({ node: NODE });
    });

    it("refuses a third station once the flow is handed over, as handed-over", function () {
      const e = refused(stepHandOver(state(3, { handedOverTo: OTHER }), ask(3, THIRD), undefined), "handed-over");
      expect(e.details).to.include({ to: OTHER });
    });

    it("refuses as forged-tip a claim beyond our tip, at it with another hash, or below it off our chain", function () {
      expect(refused(stepHandOver(state(3), ask(4), undefined), "forged-tip").details).to.include({
        claimed: 4,
        ours: 3,
      });
      refused(stepHandOver(state(3), ask(3, OTHER, hashOf(9)), undefined), "forged-tip");
      const off = refused(stepHandOver(state(3), ask(2), hashOf(9)), "forged-tip");
      expect(off.details).to.include({ claimed: 2, ours: 3 });
    });
  });

  describe("properties", function () {
    /** A chain's readings: a digest and the station's clock for each, the clock free to run back. */
    const chains = fc.array(fc.record({ digest: fc.integer({ min: 0, max: 255 }), now: fc.nat(1_000_000) }), {
      minLength: 1,
      maxLength: 24,
    });

    it("a chain of readings in order is accepted; its state is the model's (tip, hash links, time never back)", function () {
      fc.assert(
        fc.property(chains, (entries) => {
          let s: FlowState | undefined;
          let prev: Uint8Array = ZERO_HASH;
          let time = -Infinity;
          entries.forEach((e, i) => {
            const { block, hash, next } = extend(s, reading(i + 1, e.now, digestOf(e.digest)));
            time = Math.max(time, e.now);
            expect(block).to.deep.equal({
              node: NODE,
              bs: STATION,
              seq: i + 1,
              time,
              digest: digestOf(e.digest),
              prev,
            });
            expect(hash).to.deep.equal(blockHash(block));
            prev = hash;
            s = next;
          });
          expect(s).to.deep.equal({ node: NODE, tip: { bs: STATION, seq: entries.length, hash: prev, time } });
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it("any order of readings, with resends and changed ciphertexts, gets what a plain model of the chain says", function () {
      const arrivals = fc.array(
        fc.record({ seq: fc.integer({ min: 1, max: 12 }), changed: fc.boolean(), now: fc.nat(1_000_000) }),
        { maxLength: 60 },
      );
      fc.assert(
        fc.property(arrivals, (list) => {
          // the model: the blocks made, by sequence number; the next expected is one past the last
          const held = new Map<number, HashedBlock>();
          let s: FlowState | undefined;
          for (const a of list) {
            const digest = digestOf(a.changed ? a.seq + 100 : a.seq);
            const tipSeq = held.size;
            const step = stepFlow(s, reading(a.seq, a.now, digest));
            if (a.seq === tipSeq + 1) {
              if (!step.ok || step.kind !== "block") expect.fail(`block ${a.seq} is the next one`);
              expect(step.block.prev).to.deep.equal(held.get(tipSeq)?.hash ?? ZERO_HASH);
              held.set(a.seq, { block: step.block, hash: step.hash });
              s = step.next;
            } else if (a.seq <= tipSeq) {
              expect(step).to.deep.equal({ ok: true, kind: "repeat", seq: a.seq });
              const again = repeatReading(held.get(a.seq), a.seq, digest);
              const first = held.get(a.seq)!;
              if (first.block.digest[0] === digest[0]) {
                expect(again).to.deep.equal({ ok: true, ...first });
              } else {
                refused(again, "conflict");
              }
            } else {
              expect(refused(step, "out-of-order").details).to.include({ expected: tipSeq + 1, got: a.seq });
            }
          }
          const last = held.get(held.size);
          expect(s).to.deep.equal(
            last === undefined
              ? undefined
              : { node: NODE, tip: { bs: STATION, seq: held.size, hash: last.hash, time: last.block.time } },
          );
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it("a handover request confirms the tip only for a claim on the chain held here", function () {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 20 }),
          fc.integer({ min: 0, max: 25 }),
          fc.boolean(),
          (tipSeq, claimedSeq, honest) => {
            const claimedHash = honest ? hashOf(claimedSeq) : hashOf(claimedSeq + 50);
            const heldAtClaim = claimedSeq > 0 && claimedSeq < tipSeq ? hashOf(claimedSeq) : undefined;
            const step = stepHandOver(state(tipSeq), { node: NODE, to: OTHER, claimedSeq, claimedHash }, heldAtClaim);
            const onChain = claimedSeq === 0 || (claimedSeq <= tipSeq && honest);
            if (onChain) expect(step.ok).to.equal(true);
            else refused(step, "forged-tip");
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    });
  });
});
