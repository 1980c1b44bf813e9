/**
 * `@strata-iot/sdk/deploy` — deploy Strata from an app to any JSON-RPC chain with any ethers
 * signer, from the shipped artifacts (docs/quickstart.md).
 */
export {
  DEFAULT_REGISTRY_RULES,
  deployContract,
  type DeployedContract,
  deployStrata,
  type DeployStrataOptions,
  deploySummaryLedger,
  type LedgerBeginning,
  registryRules,
  type StrataContract,
  type StrataDeployment,
} from "../contracts/deploy.ts";
