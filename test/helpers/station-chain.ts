/**
 * A chain for a base station's anchoring faults: a `DeviceRegistry` and a
 * `DataAnchor` deployed on a node in its own process (anvil), and base
 * stations registered on it with funded keys of their own, so their anchors
 * are real transactions a test can drop, hold back, roll back or pin to another chain.
 */
import type { JsonRpcProvider, Signer, Wallet } from "ethers";

import type { Hex } from "../../sdk/index.ts";
import type { DeviceRegistryClient } from "../../sdk/exports/registry.ts";
import { Kind } from "../../sdk/core/registry.ts";
import type { NodeProcess } from "../../support/node-process.ts";
import { deployRpcChain } from "./rpc-chain.ts";

const LAYER = "strata://city/port/nbiot";

export interface AnchorChain {
  readonly node: NodeProcess;
  readonly provider: JsonRpcProvider;
  readonly admin: Signer;
  readonly registry: DeviceRegistryClient;
  readonly anchorAddress: string;
  readonly chainId: bigint;
  /** Registers a base station with a funded key of its own (admitted by two coordinators). */
  station(): Promise<{ id: Hex; key: Wallet }>;
  /** A raw JSON-RPC call to the node (`evm_mine`, `evm_snapshot`, `anvil_dropTransaction` …). */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
}

/** Deploys the registry and `DataAnchor` from the node's first account. */
export async function deployAnchorChain(node: NodeProcess): Promise<AnchorChain> {
  const chain = await deployRpcChain(node.provider, LAYER);
  return {
    node,
    provider: chain.provider,
    admin: chain.admin,
    registry: chain.registry,
    anchorAddress: chain.anchorAddress,
    chainId: chain.chainId,
    station: () => chain.admit(Kind.BaseStation, "Gateway/BaseStation/NB-IoT"),
    rpc: (method, params = []) => chain.provider.send(method, params),
  };
}
