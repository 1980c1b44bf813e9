/** The log reader's pure rules: which node errors are range limits, and how the span adapts. */
import { expect } from "chai";

import { growSpan, initialSpan, isRangeLimitError, PROBE_AFTER, shrinkSpan } from "../../../sdk/core/logs.ts";

describe("log reader rules", function () {
  it("recognises range-limit answers, also wrapped the way ethers wraps them", function () {
    expect(isRangeLimitError({ code: -32005, message: "query returned more than 10000 results" })).to.equal(true);
    expect(isRangeLimitError({ error: { code: -32602, message: "invalid params" } })).to.equal(true);
    expect(
      isRangeLimitError({
        message: "could not coalesce error",
        error: { code: -1, message: "block range is too wide" },
      }),
    ).to.equal(true);
    expect(isRangeLimitError({ info: { error: { message: "exceed maximum block range: 5000" } } })).to.equal(true);
    expect(isRangeLimitError({ code: -32603, message: "upstream unavailable" })).to.equal(false);
    expect(isRangeLimitError(new Error("connection refused"))).to.equal(false);
    expect(isRangeLimitError(undefined)).to.equal(false);
  });

  it("halves on a refusal, doubles back up to the ceiling, and probes past it after a streak", function () {
    expect(shrinkSpan(1)).to.equal(undefined);
    let s = shrinkSpan(20_000)!;
    expect(s).to.deep.equal({ span: 10_000, ceiling: 10_000, streak: 0 });
    for (let i = 0; i < PROBE_AFTER - 1; i++) s = growSpan(s, 1_000_000);
    expect(s.span).to.equal(10_000);
    s = growSpan(s, 1_000_000);
    expect(s).to.deep.equal({ span: 20_000, ceiling: undefined, streak: 0 });
    expect(growSpan(initialSpan(10_000), 15_000).span).to.equal(15_000);
    s = shrinkSpan(10_000)!; // a dense range refused at 10,000: 5,000, then back up to the ceiling only
    expect(growSpan(s, 1_000_000).span).to.equal(5_000);
  });
});
