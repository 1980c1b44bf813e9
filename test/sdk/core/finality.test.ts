/**
 * core/finality: when a recorded anchor is final, still provisional, or removed by a
 * reorganisation, and the newest block deep enough to be final.
 */
import { expect } from "chai";
import fc from "fast-check";

import {
  anchorVerdict,
  checkFinality,
  confirmedBlock,
  DEFAULT_FINALITY_DEPTH,
  finalBlockTag,
} from "../../../sdk/core/finality.ts";
import { InvalidInputError } from "../../../sdk/errors.ts";

describe("core/finality", function () {
  describe("anchorVerdict", function () {
    it("is removed when the chain holds the root at no sequence, or at another", function () {
      expect(anchorVerdict({ sequence: 3n }, undefined, 10n)).to.equal("removed");
      expect(anchorVerdict({ sequence: 3n }, { sequence: 4n }, 10n)).to.equal("removed");
    });

    it("takes no root as a removal only with what the same pinned read showed: another root there, or a chain that went back", function () {
      // the head at or past the sequence at that block: another root holds it
      expect(anchorVerdict({ sequence: 3n, block: 50 }, undefined, 0n, { head: 3n, block: 40 })).to.equal("removed");
      // the head below it at a block not lower than where it was seen: the chain really went back
      expect(anchorVerdict({ sequence: 3n, block: 50 }, undefined, 0n, { head: 2n, block: 50 })).to.equal("removed");
      // a node that lags (an older block) proves nothing; nor a read at no known block, nor a record of none
      expect(anchorVerdict({ sequence: 3n, block: 50 }, undefined, 0n, { head: 2n, block: 49 })).to.equal(
        "provisional",
      );
      expect(anchorVerdict({ sequence: 3n, block: 50 }, undefined, 0n, { head: 2n })).to.equal("provisional");
      expect(anchorVerdict({ sequence: 3n }, undefined, 0n, { head: 2n, block: 60 })).to.equal("provisional");
      // the root at another sequence is a removal whatever the view
      expect(anchorVerdict({ sequence: 3n, block: 50 }, { sequence: 5n }, 0n, { head: 5n, block: 1 })).to.equal(
        "removed",
      );
    });

    it("is final once the confirmed head reached its sequence, provisional before", function () {
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: 1n << 63n }), fc.bigInt({ min: 0n, max: 1n << 63n }), (seq, head) => {
          const verdict = anchorVerdict({ sequence: seq }, { sequence: seq }, head);
          expect(verdict).to.equal(head >= seq ? "final" : "provisional");
        }),
      );
    });
  });

  describe("confirmedBlock", function () {
    it("counts the latest block as one confirmation, and is undefined while the chain is shorter", function () {
      expect(confirmedBlock(10, 1)).to.equal(10);
      expect(confirmedBlock(10, 3)).to.equal(8);
      expect(confirmedBlock(1, 2)).to.equal(0);
      expect(confirmedBlock(1, 3)).to.equal(undefined);
    });

    it("refuses a depth below 1 and a negative block with InvalidInputError", function () {
      expect(() => confirmedBlock(10, 0)).to.throw(InvalidInputError, /finalityDepth/);
      expect(() => confirmedBlock(-1, 2)).to.throw(InvalidInputError, /latest/);
      expect(() => confirmedBlock(10, 1.5)).to.throw(InvalidInputError, /finalityDepth/);
    });
  });

  describe("finalBlockTag and checkFinality", function () {
    it("takes the block depth - 1 below the head, none while the chain is shorter", function () {
      expect(finalBlockTag(100, 1)).to.equal(100); // its own block
      expect(finalBlockTag(100, 3)).to.equal(98);
      expect(finalBlockTag(2, 3)).to.equal(0);
      expect(finalBlockTag(1, 3)).to.equal(undefined);
      expect(finalBlockTag(100, "finalized")).to.equal("finalized");
      expect(DEFAULT_FINALITY_DEPTH).to.equal(12);
    });

    it("refuses a depth that is not a positive integer", function () {
      for (const bad of [0, -1, 1.5, Number.NaN, "12", 2 ** 21, undefined]) {
        expect(() => checkFinality(bad), String(bad)).to.throw(InvalidInputError);
      }
      expect(checkFinality(5)).to.equal(5);
      expect(checkFinality("finalized")).to.equal("finalized");
    });
  });
});
