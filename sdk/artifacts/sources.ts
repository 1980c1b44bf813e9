/**
 * Which contracts Strata deploys, and where Hardhat writes each one's build output. Shared by
 * `scripts/artifacts.ts` (which writes the committed artifacts) and the test that checks them.
 */

/** The contracts an app deploys; libraries are internal and mocks are test-only. */
export const DEPLOYABLE_CONTRACTS = ["DeviceRegistry", "DataAnchor", "AccessTokens", "SummaryLedger"] as const;

export type DeployableContract = (typeof DEPLOYABLE_CONTRACTS)[number];

const SOURCE_DIR: Record<DeployableContract, string> = {
  DeviceRegistry: "registry",
  DataAnchor: "anchoring",
  AccessTokens: "access",
  SummaryLedger: "ledger",
};

/** The path of a contract's Hardhat artifact, relative to the project root. */
export function artifactPath(name: DeployableContract): string {
  return `artifacts/contracts/${SOURCE_DIR[name]}/${name}.sol/${name}.json`;
}
