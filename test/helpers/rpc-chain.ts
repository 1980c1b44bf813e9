/**
 * A Strata deployment on a JSON-RPC node in its own process (anvil or `hardhat node`,
 * `support/node-process.ts`): the `DeviceRegistry` and `DataAnchor` deployed from the node's first
 * account, a layer operated by it, two coordination nodes appointed, and helpers that register
 * devices with funded keys of their own (so their transactions are real ones a test can drop,
 * hold back, roll back or kill a process around). The same setup as a local deployment's chains
 * (services/local/chain-setup.ts): child processes of the crash tests use it too.
 */
import type { JsonRpcProvider } from "ethers";

import { deployOnChain, LOCAL_REGISTRY_RULES, type StrataChain } from "../../services/local/chain-setup.ts";

/** The registry rules of these deployments: an hour of heartbeat and trust-case time. */
export const RPC_REGISTRY_CONFIG = LOCAL_REGISTRY_RULES;

export type RpcChain = StrataChain;

/** Deploys the registry and `DataAnchor` through `provider`'s first account, with `layer` operated by it. */
export function deployRpcChain(provider: JsonRpcProvider, layer: string): Promise<RpcChain> {
  return deployOnChain(provider, { layer, contracts: ["DeviceRegistry", "DataAnchor"] });
}
