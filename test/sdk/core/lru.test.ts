/** `LruMap`: a bounded map that forgets its least recently used entry first. */
import { expect } from "chai";

import { LruMap } from "../../../sdk/core/lru.ts";
import { InvalidInputError } from "../../../sdk/errors.ts";

describe("LruMap", function () {
  it("keeps at most maxEntries, forgetting the least recently used (a get counts as a use, a peek does not)", function () {
    const m = new LruMap<string, number>(3);
    for (const [i, k] of ["a", "b", "c"].entries()) m.set(k, i);
    expect(m.get("a")).to.equal(0); // a is now the most recent
    expect(m.peek("b")).to.equal(1); // b stays the least recent
    m.set("d", 3);
    expect(m.size).to.equal(3);
    expect(m.get("b")).to.equal(undefined);
    expect([m.get("a"), m.get("c"), m.get("d")]).to.deep.equal([0, 2, 3]);
    m.set("c", 9); // a set refreshes too
    m.set("e", 4);
    m.set("f", 5);
    expect([m.get("a"), m.get("d"), m.get("c"), m.get("e"), m.get("f")]).to.deep.equal([undefined, undefined, 9, 4, 5]);
    m.delete("c");
    expect(m.size).to.equal(2);
  });

  it("refuses a bound below one", function () {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new LruMap(bad)).to.throw(InvalidInputError);
  });
});
