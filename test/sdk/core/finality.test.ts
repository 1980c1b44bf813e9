/** When an anchor counts as final: a depth of confirmations below the head, or the node's finalized block. */
import { expect } from "chai";

import { checkFinality, DEFAULT_FINALITY_DEPTH, finalBlockTag } from "../../../sdk/core/finality.ts";
import { InvalidInputError } from "../../../sdk/errors.ts";

describe("finality", function () {
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
