/**
 * Deploying Strata from an app: the shipped artifacts (`sdk/artifacts`) sent through any
 * ethers `Signer` on any JSON-RPC chain. `deployStrata` deploys the registry and the
 * contracts that point at it (all of them, or a chosen set beside an existing registry);
 * `deploySummaryLedger` deploys one layer's ledger (`establishLayer` uses it). Hardhat users
 * have the same contracts as Ignition modules (`ignition/modules`).
 */
import { ContractFactory, type InterfaceAbi, type Signer } from "ethers";

import { AccessTokens, DataAnchor, DeviceRegistry, SummaryLedger, type ContractArtifact } from "../artifacts/index.ts";
import type { Hex } from "../core/bytes.ts";
import { checkAccount } from "../core/access.ts";
import type { RegistryConfig } from "../core/registry.ts";
import { InvalidInputError, StrataError, TransportError } from "../errors.ts";
import { DEFAULT_RECEIPT_TIMEOUT_MS } from "./chain.ts";
import { decodeRevert } from "./revert.ts";
import type { LedgerLayerLink } from "./ledger.ts";

/** The registry's rules when none are given (the values the contract's own tests use). */
export const DEFAULT_REGISTRY_RULES: RegistryConfig = {
  fullNodeApprovals: 2,
  reportPenalty: 150,
  suspendBelow: 600,
  blockBelow: 300,
  epochLength: 3600,
  heartbeatTimeout: 900,
};

/** A contract `deployStrata` can deploy; a layer's `SummaryLedger` has its own function. */
export type StrataContract = "DeviceRegistry" | "DataAnchor" | "AccessTokens";

export interface DeployStrataOptions {
  /** Which contracts to deploy (default all three). */
  readonly contracts?: readonly StrataContract[];
  /** An existing registry for `DataAnchor`/`AccessTokens` (instead of deploying one). */
  readonly registry?: string;
  /** The registry's owner (default the signer). */
  readonly admin?: string;
  /** The registry's rules; unset ones take `DEFAULT_REGISTRY_RULES`. */
  readonly rules?: Partial<RegistryConfig>;
  /** Deadline of each deployment and its receipt (default `DEFAULT_RECEIPT_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
}

/** Where one contract landed. */
export interface DeployedContract {
  readonly address: string;
  readonly txHash: Hex;
  /** The block of its deployment (where its logs start: `deploymentBlock`). */
  readonly block: number;
}

/** A deployment's addresses, by contract, on chain `chainId`. */
export interface StrataDeployment {
  readonly chainId: bigint;
  readonly deployer: string;
  /** The registry the other contracts use (deployed here or given). */
  readonly registry: string;
  readonly contracts: { readonly [name in StrataContract]?: DeployedContract };
}

const ALL: readonly StrataContract[] = ["DeviceRegistry", "DataAnchor", "AccessTokens"];

/**
 * Deploys Strata's contracts with `signer` and returns their addresses. Bad options are an
 * `InvalidInputError` before anything is sent; rules the registry refuses come back as its
 * `ContractRevertError` (e.g. `DeviceRegistryInvalidConfig`).
 */
export async function deployStrata(signer: Signer, options: DeployStrataOptions = {}): Promise<StrataDeployment> {
  const chosen = options.contracts ?? ALL;
  if (!Array.isArray(chosen) || chosen.length === 0) throw new InvalidInputError("contracts: name at least one");
  for (const name of chosen) {
    if (!ALL.includes(name)) throw new InvalidInputError(`contracts: unknown contract ${String(name)}`, { name });
  }
  const wantsRegistry = chosen.includes("DeviceRegistry");
  if (wantsRegistry && options.registry !== undefined) {
    throw new InvalidInputError("registry: give an existing registry or deploy one, not both");
  }
  if (!wantsRegistry && options.registry === undefined) {
    throw new InvalidInputError(
      "registry: DataAnchor and AccessTokens need a registry (deploy DeviceRegistry or give its address)",
    );
  }
  const rules = registryRules(options.rules);
  const provider = signer.provider;
  if (!provider) throw new InvalidInputError("signer: needs a provider");
  const deployer = await signer.getAddress();
  const admin = options.admin === undefined ? deployer : checkAccount(options.admin, "admin");
  const chainId = (await provider.getNetwork()).chainId;

  const contracts: { [name in StrataContract]?: DeployedContract } = {};
  let registry = options.registry === undefined ? undefined : checkAccount(options.registry, "registry");
  if (wantsRegistry) {
    contracts.DeviceRegistry = await deployContract(signer, DeviceRegistry, [admin, rules], options.timeoutMs);
    registry = contracts.DeviceRegistry.address;
  }
  if (chosen.includes("DataAnchor")) {
    contracts.DataAnchor = await deployContract(signer, DataAnchor, [registry], options.timeoutMs);
  }
  if (chosen.includes("AccessTokens")) {
    contracts.AccessTokens = await deployContract(signer, AccessTokens, [registry], options.timeoutMs);
  }
  return { chainId, deployer, registry: registry!, contracts };
}

/** The beginning block of a layer's ledger: its id, consensus label, members and links. */
export interface LedgerBeginning {
  readonly layerId: Hex;
  readonly consensus: string;
  readonly members: readonly { readonly node: string; readonly publicKey: Hex; readonly proofOfPossession: Hex }[];
  readonly subordinates: readonly LedgerLayerLink[];
  readonly superior: LedgerLayerLink;
}

/** Deploys one layer's `SummaryLedger` with its beginning block. */
export function deploySummaryLedger(
  signer: Signer,
  beginning: LedgerBeginning,
  timeoutMs?: number,
): Promise<DeployedContract> {
  return deployContract(signer, SummaryLedger, [beginning], timeoutMs);
}

/**
 * Deploys `artifact` with constructor `args` and waits for it (at most `timeoutMs`). A revert
 * is the contract's `ContractRevertError`, a node failure a `TransportError`.
 */
export async function deployContract(
  signer: Signer,
  artifact: ContractArtifact,
  args: readonly unknown[],
  timeoutMs: number = DEFAULT_RECEIPT_TIMEOUT_MS,
): Promise<DeployedContract> {
  const factory = new ContractFactory(artifact.abi as InterfaceAbi, artifact.bytecode, signer);
  try {
    const contract = await factory.deploy(...args);
    const tx = contract.deploymentTransaction();
    if (!tx) throw new TransportError(`${artifact.contractName}: no deployment transaction`);
    const receipt = await tx.wait(1, timeoutMs);
    if (!receipt || receipt.contractAddress === null) {
      throw new TransportError(`${artifact.contractName}: deployment not mined`, { hash: tx.hash });
    }
    return { address: receipt.contractAddress, txHash: receipt.hash as Hex, block: receipt.blockNumber };
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw decodeRevert(artifact.contractName, factory.interface, error);
  }
}

/** `rules` over the defaults, each a non-negative safe integer (the contract checks the rest). */
export function registryRules(rules: Partial<RegistryConfig> = {}): RegistryConfig {
  const merged: RegistryConfig = { ...DEFAULT_REGISTRY_RULES, ...rules };
  for (const key of Object.keys(DEFAULT_REGISTRY_RULES) as (keyof RegistryConfig)[]) {
    const v = merged[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new InvalidInputError(`rules.${key}: expected a non-negative integer`, { [key]: v });
    }
  }
  for (const key of Object.keys(rules)) {
    if (!(key in DEFAULT_REGISTRY_RULES)) throw new InvalidInputError(`rules: unknown rule ${key}`, { key });
  }
  return merged;
}
