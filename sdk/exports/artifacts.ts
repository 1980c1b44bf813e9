/**
 * `@strata-iot/sdk/artifacts` — ABI and creation bytecode of every contract Strata deploys, as
 * plain data (`as const` ABIs, so viem's types read them too).
 */
export {
  AccessTokens,
  artifacts,
  type ContractArtifact,
  DataAnchor,
  DEPLOYABLE_CONTRACTS,
  type DeployableContract,
  DeviceRegistry,
  SummaryLedger,
} from "../artifacts/index.ts";
