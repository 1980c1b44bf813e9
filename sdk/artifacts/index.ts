/**
 * ABI and creation bytecode of every contract Strata deploys, as plain data: what an app
 * needs to deploy Strata with any library (`deployStrata` in `@strata-iot/sdk/deploy` uses
 * them with ethers) or to call it from viem, whose types read the `as const` ABIs.
 */
import { AccessTokens } from "./AccessTokens.ts";
import { DataAnchor } from "./DataAnchor.ts";
import { DeviceRegistry } from "./DeviceRegistry.ts";
import type { DeployableContract } from "./sources.ts";
import { SummaryLedger } from "./SummaryLedger.ts";

export { AccessTokens, DataAnchor, DeviceRegistry, SummaryLedger };
export { DEPLOYABLE_CONTRACTS, type DeployableContract } from "./sources.ts";

/** One contract's shipped artifact. */
export interface ContractArtifact {
  readonly contractName: string;
  readonly sourceName: string;
  readonly abi: readonly unknown[];
  readonly bytecode: string;
}

/** Every deployable contract's artifact, by name. */
export const artifacts: { readonly [name in DeployableContract]: ContractArtifact } = {
  DeviceRegistry,
  DataAnchor,
  AccessTokens,
  SummaryLedger,
};
