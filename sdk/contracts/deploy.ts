/**
 * Deploying Strata from an app: the shipped artifacts (`sdk/artifacts`) sent through any
 * ethers `Signer` on any JSON-RPC chain. `deployStrata` deploys the registry and the
 * contracts that point at it (all of them, or a chosen set beside an existing registry);
 * `deploySummaryLedger` deploys one layer's ledger (`establishLayer` uses it). Hardhat users
 * have the same contracts as Ignition modules (`ignition/modules`).
 */
import { Contract, ContractFactory, type InterfaceAbi, isError, type Signer } from "ethers";

import { AccessTokens, DataAnchor, DeviceRegistry, SummaryLedger, type ContractArtifact } from "../artifacts/index.ts";
import { fromHex, type Hex } from "../core/bytes.ts";
import { checkAccount } from "../core/access.ts";
import type { RegistryConfig } from "../core/registry.ts";
import {
  ConfigError,
  DeploymentIncompleteError,
  InvalidInputError,
  NoCodeError,
  StrataError,
  TransportError,
} from "../errors.ts";
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_RECEIPT_TIMEOUT_MS, withDeadline } from "./chain.ts";
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
  if (typeof signer !== "object" || signer === null || typeof signer.getAddress !== "function") {
    throw new InvalidInputError("signer: expected an ethers Signer");
  }
  if (typeof options !== "object" || options === null) throw new InvalidInputError("options: expected an object");
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
  const timeoutMs = checkDeployTimeout(options.timeoutMs);
  const provider = signer.provider;
  if (!provider) throw new InvalidInputError("signer: needs a provider");
  const deployer = await withDeadline(
    "deployStrata: the signer's address",
    DEFAULT_CALL_TIMEOUT_MS,
    signer.getAddress(),
  );
  const admin = options.admin === undefined ? deployer : nonZeroAccount(options.admin, "admin");
  const chainId = (await withDeadline("deployStrata: eth_chainId", DEFAULT_CALL_TIMEOUT_MS, provider.getNetwork()))
    .chainId;

  let registry: string | undefined;
  if (options.registry !== undefined) {
    registry = nonZeroAccount(options.registry, "registry");
    await checkRegistry(signer, registry, chainId);
  }
  const contracts: { [name in StrataContract]?: DeployedContract } = {};
  const step = async (name: StrataContract, artifact: ContractArtifact, args: readonly unknown[]): Promise<void> => {
    try {
      contracts[name] = await deployContract(signer, artifact, args, timeoutMs);
    } catch (error) {
      if (Object.keys(contracts).length === 0) throw error;
      throw new DeploymentIncompleteError(name, { ...contracts }, error);
    }
  };
  if (wantsRegistry) {
    await step("DeviceRegistry", DeviceRegistry, [admin, rules]);
    registry = contracts.DeviceRegistry!.address;
  }
  if (chosen.includes("DataAnchor")) await step("DataAnchor", DataAnchor, [registry]);
  if (chosen.includes("AccessTokens")) await step("AccessTokens", AccessTokens, [registry]);
  return { chainId, deployer, registry: registry!, contracts };
}

/** An existing registry must be Strata's `DeviceRegistry` with code on this chain. */
async function checkRegistry(signer: Signer, registry: string, chainId: bigint): Promise<void> {
  const provider = signer.provider!;
  const code = await withDeadline("deployStrata: eth_getCode", DEFAULT_CALL_TIMEOUT_MS, provider.getCode(registry));
  if (code === "0x") {
    throw new NoCodeError(`registry: no contract code at ${registry}`, { address: registry, chainId });
  }
  const probe = new Contract(registry, DeviceRegistry.abi as InterfaceAbi, provider);
  let name: unknown;
  try {
    const domain = (await withDeadline(
      "deployStrata: eip712Domain",
      DEFAULT_CALL_TIMEOUT_MS,
      probe.getFunction("eip712Domain").staticCall(),
    )) as readonly unknown[];
    name = domain[1];
  } catch (error) {
    if (error instanceof StrataError && !(error instanceof ConfigError)) throw error;
    name = undefined;
  }
  if (name !== REGISTRY_DOMAIN_NAME) {
    throw new ConfigError(`registry: ${registry} is not a Strata DeviceRegistry`, { address: registry, name });
  }
}

const REGISTRY_DOMAIN_NAME = "Strata DeviceRegistry";

/** The beginning block of a layer's ledger: its id, consensus label, members and links. */
export interface LedgerBeginning {
  readonly layerId: Hex;
  readonly consensus: string;
  readonly members: readonly { readonly node: string; readonly publicKey: Hex; readonly proofOfPossession: Hex }[];
  readonly subordinates: readonly LedgerLayerLink[];
  readonly superior: LedgerLayerLink;
}

/** Deploys one layer's `SummaryLedger` with its beginning block. */
export async function deploySummaryLedger(
  signer: Signer,
  beginning: LedgerBeginning,
  timeoutMs?: number,
): Promise<DeployedContract> {
  return await deployContract(signer, SummaryLedger, [checkBeginning(beginning)], checkDeployTimeout(timeoutMs));
}

/** `beginning` with every field checked (`InvalidInputError` naming the first bad one). */
export function checkBeginning(beginning: LedgerBeginning): LedgerBeginning {
  if (typeof beginning !== "object" || beginning === null) throw new InvalidInputError("beginning: expected an object");
  const link = (l: LedgerLayerLink, what: string): LedgerLayerLink => {
    if (typeof l !== "object" || l === null) throw new InvalidInputError(`${what}: expected a layer link`);
    if (typeof l.chainId !== "bigint" || l.chainId < 0n || l.chainId >= 1n << 256n) {
      throw new InvalidInputError(`${what}.chainId: expected a uint256 bigint`, { chainId: String(l.chainId) });
    }
    return {
      layerId: word(l.layerId, `${what}.layerId`),
      ledger: checkAccount(l.ledger, `${what}.ledger`),
      chainId: l.chainId,
    };
  };
  if (typeof beginning.consensus !== "string" || beginning.consensus.length === 0) {
    throw new InvalidInputError("beginning.consensus: expected a non-empty string");
  }
  if (!Array.isArray(beginning.members) || beginning.members.length === 0) {
    throw new InvalidInputError("beginning.members: name at least one member");
  }
  if (!Array.isArray(beginning.subordinates)) throw new InvalidInputError("beginning.subordinates: expected an array");
  return {
    layerId: word(beginning.layerId, "beginning.layerId"),
    consensus: beginning.consensus,
    members: beginning.members.map((m, i) => {
      if (typeof m !== "object" || m === null)
        throw new InvalidInputError(`beginning.members[${i}]: expected a member`);
      fromHex(m.publicKey, `beginning.members[${i}].publicKey`, 256);
      fromHex(m.proofOfPossession, `beginning.members[${i}].proofOfPossession`, 128);
      return {
        node: nonZeroAccount(m.node, `beginning.members[${i}].node`),
        publicKey: m.publicKey,
        proofOfPossession: m.proofOfPossession,
      };
    }),
    subordinates: beginning.subordinates.map((l, i) => link(l, `beginning.subordinates[${i}]`)),
    superior: link(beginning.superior, "beginning.superior"),
  };
}

function word(value: Hex, what: string): Hex {
  fromHex(value, what, 32);
  return value;
}

function nonZeroAccount(value: string, what: string): string {
  const account = checkAccount(value, what);
  if (/^0x0{40}$/.test(account)) throw new InvalidInputError(`${what}: the zero address`, { [what]: value });
  return account;
}

function checkDeployTimeout(ms: number | undefined): number {
  if (ms === undefined) return DEFAULT_RECEIPT_TIMEOUT_MS;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new InvalidInputError("timeoutMs: expected a positive number of milliseconds", { timeoutMs: ms });
  }
  return ms;
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
  const what = `${artifact.contractName} deployment`;
  const factory = new ContractFactory(artifact.abi as InterfaceAbi, artifact.bytecode, signer);
  let request;
  try {
    request = await factory.getDeployTransaction(...args);
  } catch (error) {
    if (isError(error, "INVALID_ARGUMENT") || isError(error, "NUMERIC_FAULT")) {
      const argument = (error as { argument?: string }).argument;
      throw new InvalidInputError(
        `${artifact.contractName} constructor: ${error.shortMessage}`,
        { argument },
        { cause: error },
      );
    }
    throw error;
  }
  const deadline = performance.now() + timeoutMs;
  try {
    const tx = await withDeadline(what, timeoutMs, signer.sendTransaction(request));
    const left = Math.max(1, Math.ceil(deadline - performance.now()));
    const receipt = await withDeadline(what, left + 1_000, tx.wait(1, left));
    if (!receipt || receipt.contractAddress === null) {
      throw new TransportError(`${artifact.contractName}: deployment not mined`, { hash: tx.hash });
    }
    if (receipt.status !== 1) {
      throw new TransportError(`${artifact.contractName}: deployment reverted`, { hash: tx.hash });
    }
    return { address: receipt.contractAddress, txHash: receipt.hash as Hex, block: receipt.blockNumber };
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw decodeRevert(artifact.contractName, factory.interface, error);
  }
}

/** `rules` over the defaults, each a non-negative safe integer (the contract checks the rest). */
export function registryRules(rules: Partial<RegistryConfig> = {}): RegistryConfig {
  if (typeof rules !== "object" || rules === null) throw new InvalidInputError("rules: expected an object");
  for (const key of Object.keys(rules)) {
    if (!(key in DEFAULT_REGISTRY_RULES)) throw new InvalidInputError(`rules: unknown rule ${key}`, { key });
  }
  const merged: RegistryConfig = { ...DEFAULT_REGISTRY_RULES, ...rules };
  for (const key of Object.keys(RULE_BITS) as (keyof RegistryConfig)[]) {
    const v = merged[key];
    const max = 2 ** RULE_BITS[key] - 1;
    if (!Number.isSafeInteger(v) || v < 0 || v > max) {
      throw new InvalidInputError(`rules.${key}: expected an integer from 0 to ${max}`, { [key]: v });
    }
  }
  return merged;
}

/** The width of each rule in the registry's `Config` struct. */
const RULE_BITS: { readonly [key in keyof RegistryConfig]: number } = {
  fullNodeApprovals: 8,
  reportPenalty: 16,
  suspendBelow: 16,
  blockBelow: 16,
  epochLength: 32,
  heartbeatTimeout: 32,
};
