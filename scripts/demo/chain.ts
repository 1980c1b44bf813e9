/**
 * The demo's handle on a chain of the local deployment (a `hardhat node` or anvil process): its
 * provider, its unlocked accounts, and its clock, which the story moves forward where it needs
 * time to pass (a missed heartbeat, a crew's shift ending) with the nodes' own RPC methods.
 */
import type { JsonRpcProvider, JsonRpcSigner } from "ethers";

export interface DemoChain {
  readonly provider: JsonRpcProvider;
  /** The node's unlocked account `index`. */
  signer(index: number): Promise<JsonRpcSigner>;
  /** The latest block's timestamp (s). */
  latest(): Promise<bigint>;
  /** Mines a block `seconds` after the latest. */
  increase(seconds: number | bigint): Promise<void>;
  /** Mines a block at `timestamp` (s). */
  increaseTo(timestamp: number | bigint): Promise<void>;
}

export function demoChain(provider: JsonRpcProvider): DemoChain {
  const latest = async () => BigInt((await provider.getBlock("latest"))!.timestamp);
  const increaseTo = async (timestamp: number | bigint) => {
    await provider.send("evm_setNextBlockTimestamp", [Number(timestamp)]);
    await provider.send("evm_mine", []);
  };
  return {
    provider,
    signer: (index) => provider.getSigner(index),
    latest,
    increase: async (seconds) => increaseTo((await latest()) + BigInt(seconds)),
    increaseTo,
  };
}
