/**
 * core/anchors: the input checks of the DataAnchor client and the chain check
 * its `history` relies on — every fault named, and any permutation, gap,
 * repeat or foreign entry of a valid chain refused (property tests).
 */
import { expect } from "chai";
import fc from "fast-check";

import {
  AnchorChainError,
  type AnchorChainFault,
  type AnchorEntry,
  checkAnchorChain,
  checkLeafCount,
  checkRoot,
  checkWord,
  MAX_LEAF_COUNT,
} from "../../../sdk/core/anchors.ts";
import type { Hex } from "../../../sdk/core/bytes.ts";
import { InvalidInputError } from "../../../sdk/errors.ts";

const GATEWAY = `0x${"ab".repeat(32)}` as Hex;
const OTHER = `0x${"cd".repeat(32)}` as Hex;

const word = (n: number): Hex => `0x${(n + 1).toString(16).padStart(64, "0")}` as Hex;

/** The links `first`..`first + n - 1` of GATEWAY's chain, one per block. */
function chain(n: number, first = 1n, firstBlock = 10): AnchorEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    gateway: GATEWAY,
    sequence: first + BigInt(i),
    root: word(Number(first) + i),
    leafCount: 1n << 20n,
    blockNumber: firstBlock + i,
    logIndex: 0,
    transactionHash: word(1000 + i),
  }));
}

function faultOf(run: () => unknown): AnchorChainFault | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    if (e instanceof AnchorChainError) return e.reason;
    throw e;
  }
}

describe("core/anchors", function () {
  describe("checkWord / checkRoot", function () {
    it("returns a 32-byte word in lowercase", function () {
      expect(checkWord(`0x${"AB".repeat(32)}`, "gateway")).to.equal(GATEWAY);
      expect(checkRoot(`0x${"0".repeat(63)}1`)).to.equal(`0x${"0".repeat(63)}1`);
    });

    it("refuses another length, non-hex input and the zero root, naming the field", function () {
      for (const [value, field] of [
        [`0x${"ab".repeat(31)}`, "gateway"],
        [`0x${"ab".repeat(33)}`, "gateway"],
        ["ab".repeat(32), "gateway"],
        [`0x${"zz".repeat(32)}`, "gateway"],
      ] as const) {
        expect(() => checkWord(value, field))
          .to.throw(InvalidInputError)
          .with.property("shortMessage")
          .that.contains(field);
      }
      expect(() => checkRoot(`0x${"00".repeat(32)}`))
        .to.throw(InvalidInputError, "root must not be zero")
        .with.property("name", "InvalidInputError");
      expect(() => checkRoot("0x12", "leaf")).to.throw(InvalidInputError, "leaf must be 32 bytes");
    });
  });

  describe("checkLeafCount", function () {
    it("accepts integers from 1 to 2^64 - 1, as numbers or bigints", function () {
      expect(checkLeafCount(1)).to.equal(1n);
      expect(checkLeafCount(1 << 20)).to.equal(1n << 20n);
      expect(checkLeafCount(Number.MAX_SAFE_INTEGER)).to.equal(BigInt(Number.MAX_SAFE_INTEGER));
      expect(checkLeafCount(MAX_LEAF_COUNT)).to.equal(2n ** 64n - 1n);
    });

    it("refuses zero, negatives, fractions, unsafe numbers and counts beyond uint64", function () {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, 0n, -1n, 2n ** 64n]) {
        expect(() => checkLeafCount(bad)).to.throw(InvalidInputError, "leafCount must be an integer in [1, 2^64 - 1]");
      }
    });
  });

  describe("checkAnchorChain", function () {
    it("returns a complete chain in log order, whatever order it came in", function () {
      const entries = chain(5);
      expect(checkAnchorChain(GATEWAY, [...entries].reverse(), { head: 5n })).to.deep.equal(entries);
      expect(checkAnchorChain(GATEWAY, [], { head: 0n })).to.deep.equal([]);
    });

    it("orders links of one block by log index", function () {
      const entries = chain(3).map((e, i) => ({ ...e, blockNumber: 7, logIndex: 2 * i }));
      expect(checkAnchorChain(GATEWAY, [entries[2]!, entries[0]!, entries[1]!])).to.deep.equal(entries);
    });

    it("checks a window of the chain from its expected first sequence to the head", function () {
      const window = chain(3, 4n);
      expect(checkAnchorChain(GATEWAY, window, { first: 4n, head: 6n })).to.have.length(3);
      expect(checkAnchorChain(GATEWAY, [], { first: 7n, head: 6n })).to.deep.equal([]);
      expect(faultOf(() => checkAnchorChain(GATEWAY, window))).to.equal("bad-start");
    });

    it("names each fault", function () {
      const entries = chain(4);
      const cases: [AnchorChainFault, AnchorEntry[], { first?: bigint; head?: bigint }][] = [
        ["wrong-gateway", [entries[0]!, { ...entries[1]!, gateway: OTHER }], {}],
        ["invalid-entry", [{ ...entries[0]!, root: `0x${"00".repeat(32)}` }], {}],
        ["invalid-entry", [{ ...entries[0]!, leafCount: 0n }], {}],
        ["invalid-entry", [{ ...entries[0]!, leafCount: MAX_LEAF_COUNT + 1n }], {}],
        ["invalid-entry", [{ ...entries[0]!, root: "0x1234" as Hex }], {}],
        ["bad-start", entries.slice(1), {}],
        ["gap", [entries[0]!, entries[2]!], {}],
        ["out-of-order", [entries[0]!, entries[1]!, { ...entries[1]!, blockNumber: 99, root: word(77) }], {}],
        // A link logged before the one it follows: the first fault seen is the missing link.
        ["gap", [entries[0]!, { ...entries[2]!, blockNumber: 11 }, { ...entries[1]!, blockNumber: 12 }], {}],
        ["duplicate-root", [entries[0]!, { ...entries[1]!, root: entries[0]!.root.toUpperCase() as Hex }], {}],
        ["head-mismatch", entries, { head: 5n }],
        ["head-mismatch", entries.slice(0, 3), { head: 4n }],
        ["head-mismatch", [], { head: 1n }],
      ];
      for (const [fault, list, bounds] of cases) {
        expect(
          faultOf(() => checkAnchorChain(GATEWAY, list, bounds)),
          fault,
        ).to.equal(fault);
      }
    });

    it("carries the fault and where it was found", function () {
      try {
        checkAnchorChain(GATEWAY, [chain(3)[0]!, chain(3)[2]!]);
        expect.fail("should have thrown");
      } catch (e) {
        expect(e).to.be.instanceOf(AnchorChainError);
        const err = e as AnchorChainError;
        expect(err.name).to.equal("AnchorChainError");
        expect(err.reason).to.equal("gap");
        expect(err.details).to.include({ reason: "gap", sequence: "3", expected: "2", blockNumber: 12 });
      }
    });

    it("refuses a first sequence below 1", function () {
      expect(() => checkAnchorChain(GATEWAY, [], { first: 0n })).to.throw(InvalidInputError);
      expect(() => checkAnchorChain("0x12" as Hex, [])).to.throw(InvalidInputError, "gateway");
    });

    it("accepts every shuffle of a valid chain and refuses it with any link dropped or repeated", function () {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 40 }),
          fc.integer({ min: 0, max: 1000 }),
          fc.nat(),
          fc.boolean(),
          (n, seed, pick, repeat) => {
            const entries = chain(n);
            const shuffled = [...entries].sort(
              (a, b) => ((Number(a.sequence) * 7919 + seed) % 101) - ((Number(b.sequence) * 7919 + seed) % 101),
            );
            expect(checkAnchorChain(GATEWAY, shuffled, { head: BigInt(n) })).to.deep.equal(entries);
            const i = pick % n;
            const broken = repeat
              ? [...entries, { ...entries[i]!, blockNumber: 10_000 }]
              : entries.filter((_, j) => j !== i);
            const fault = faultOf(() => checkAnchorChain(GATEWAY, broken, { head: BigInt(n) }));
            expect(fault).to.not.equal(undefined);
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
