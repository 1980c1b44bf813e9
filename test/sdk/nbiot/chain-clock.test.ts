/**
 * `providerChainClock`: the chain's clock read from the pending block, raw when the provider
 * speaks JSON-RPC (ethers refuses the number-less pending block `hardhat node` serves), from the
 * latest block when there is no pending one.
 */
import { expect } from "chai";

import { TransportError } from "../../../sdk/errors.ts";
import { providerChainClock } from "../../../sdk/nbiot/ports.ts";

describe("providerChainClock", () => {
  it("reads the raw pending block, number or not, when the provider can send JSON-RPC", async () => {
    const clock = providerChainClock({
      getBlock: () => Promise.reject(new Error("invalid block: number null")),
      send: (method, params) => {
        expect(method).to.equal("eth_getBlockByNumber");
        expect(params).to.deep.equal(["pending", false]);
        return Promise.resolve({ number: null, timestamp: "0x6553f100" });
      },
    });
    expect(await clock.latestBlockTime()).to.equal(0x6553f100 * 1000);
  });

  it("falls back to the latest block when the node serves no pending block", async () => {
    const clock = providerChainClock({
      getBlock: (tag) => Promise.resolve(tag === "latest" ? { timestamp: 1_700_000_000 } : null),
      send: () => Promise.resolve(null),
    });
    expect(await clock.latestBlockTime()).to.equal(1_700_000_000_000);
    const refusing = providerChainClock({
      getBlock: (tag) => Promise.resolve(tag === "latest" ? { timestamp: 5 } : null),
      send: () => Promise.reject(new Error("method not found")),
    });
    expect(await refusing.latestBlockTime()).to.equal(5000);
  });

  it("is a TransportError when neither block can be read", async () => {
    const clock = providerChainClock({ getBlock: () => Promise.reject(new Error("down")) });
    try {
      await clock.latestBlockTime();
      expect.fail("no error");
    } catch (e) {
      expect(e).to.be.instanceOf(TransportError);
    }
  });
});
