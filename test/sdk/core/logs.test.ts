/** The log reader's pure rules: which node errors are range limits, and how the span adapts. */
import { expect } from "chai";

import {
  classifyLogError,
  growSpan,
  initialSpan,
  isRangeLimitError,
  PROBE_AFTER,
  rateLimitBackoff,
  shrinkSpan,
} from "../../../sdk/core/logs.ts";

describe("log reader rules", function () {
  it("recognises range-limit answers, also wrapped the way ethers wraps them", function () {
    expect(isRangeLimitError({ code: -32005, message: "query returned more than 10000 results" })).to.equal(true);
    expect(isRangeLimitError({ error: { code: -32602, message: "invalid params" } })).to.equal(false);
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

  it("tells range refusals from rate limits on real providers' answers", function () {
    const range: [string, { code?: number; message: string }][] = [
      ["Infura", { code: -32005, message: "query returned more than 10000 results" }],
      [
        "Alchemy",
        {
          code: -32602,
          message:
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x0, 0x7d0]",
        },
      ],
      [
        "Alchemy free tier",
        {
          code: -32600,
          message: "Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range.",
        },
      ],
      ["QuickNode", { code: -32614, message: "eth_getLogs is limited to a 10,000 range" }],
      ["Ankr", { code: -32600, message: "block range is too wide" }],
      ["erigon/bsc", { code: -32000, message: "exceed maximum block range: 5000" }],
      ["Besu", { code: -32602, message: "Requested range exceeds maximum range limit" }],
      ["Chainstack", { code: -32600, message: "Block range limit exceeded." }],
      ["capped proxy", { code: -32005, message: "query exceeds max block range 10000" }],
    ];
    for (const [who, error] of range) {
      expect(classifyLogError({ message: "could not coalesce error", error }), who).to.equal("range");
    }
    const rate: [string, unknown][] = [
      ["Infura", { code: -32005, message: "project ID request rate exceeded" }],
      ["Infura daily", { code: -32005, message: "daily request count exceeded, request rate limited" }],
      [
        "Alchemy",
        {
          code: 429,
          message:
            "Your app has exceeded its compute units per second capacity. If you have retries enabled, you can safely ignore this message. If not, check out https://docs.alchemy.com/reference/throughput",
        },
      ],
      ["QuickNode", { code: -32007, message: "15/second request limit reached - reduce calls per second" }],
      ["Ankr", { code: -32090, message: "Too many requests, reason: call rate limit exhausted, retry in 10s" }],
      ["HTTP 429 through ethers", { code: "SERVER_ERROR", message: "server response 429 Too Many Requests" }],
      ["bare -32005", { code: -32005, message: "limit exceeded" }],
    ];
    for (const [who, error] of rate) {
      expect(classifyLogError({ message: "could not coalesce error", error }), who).to.equal("rate-limit");
      expect(isRangeLimitError(error), who).to.equal(false);
    }
    // geth's from > to is a malformed query, not one too large
    expect(classifyLogError({ code: -32602, message: "invalid block range params" })).to.equal("other");
    expect(classifyLogError({ code: -32602, message: "invalid argument 0: hex string has length 3" })).to.equal(
      "other",
    );
    expect(classifyLogError({ code: -32000, message: "header not found" })).to.equal("other");
    expect([1, 2, 3, 20].map((a) => rateLimitBackoff(a, 100))).to.deep.equal([100, 200, 400, 30_000]);
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
