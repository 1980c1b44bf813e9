/**
 * The deployment file every command reads: Strata's contract addresses per chain id, written by
 * `strata deploy` (`--deployments FILE`, `STRATA_DEPLOYMENTS`, or `./strata.deployments.json`).
 * Parsing is pure and checks every field; writing replaces the file atomically.
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";

import { getAddress } from "ethers";

import { ConfigError, InvalidInputError } from "../sdk/index.ts";
import type { DeployedContract, StrataContract } from "../sdk/exports/deploy.ts";

export const DEPLOYMENTS_VERSION = 1;

/** One chain's deployment. */
export interface ChainDeployment {
  readonly chainId: bigint;
  readonly deployer: string;
  readonly contracts: { readonly [name in StrataContract]?: DeployedContract };
}

export interface DeploymentsFile {
  readonly version: number;
  readonly chains: { readonly [chainId: string]: ChainDeployment };
}

export function deploymentsPath(option: string | undefined): string {
  return option ?? process.env.STRATA_DEPLOYMENTS ?? "strata.deployments.json";
}

/** Strata's contracts, in the order they are deployed. */
export const NAMES: readonly StrataContract[] = ["DeviceRegistry", "DataAnchor", "AccessTokens"];

/** Parses a deployment file's text (an `InvalidInputError` naming the first bad field). */
export function parseDeployments(text: string, file: string): DeploymentsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file}: not JSON (${(error as Error).message})`, { file });
  }
  const bad = (what: string): never => {
    throw new InvalidInputError(`${file}: ${what}`, { file });
  };
  if (typeof raw !== "object" || raw === null) return bad("expected an object");
  const doc = raw as { version?: unknown; chains?: unknown };
  if (doc.version !== DEPLOYMENTS_VERSION) return bad(`version must be ${DEPLOYMENTS_VERSION}`);
  if (typeof doc.chains !== "object" || doc.chains === null) return bad("chains must be an object");
  const chains: Record<string, ChainDeployment> = {};
  for (const [key, value] of Object.entries(doc.chains as Record<string, unknown>)) {
    if (!/^[0-9]+$/.test(key)) bad(`chains.${key}: a chain id is a decimal number`);
    const d = value as { deployer?: unknown; contracts?: unknown };
    if (typeof d !== "object" || d === null) bad(`chains.${key}: expected an object`);
    const contracts: Partial<Record<StrataContract, DeployedContract>> = {};
    if (typeof d.contracts !== "object" || d.contracts === null) bad(`chains.${key}.contracts: expected an object`);
    for (const [name, c] of Object.entries(d.contracts as Record<string, unknown>)) {
      if (!NAMES.includes(name as StrataContract)) bad(`chains.${key}.contracts.${name}: unknown contract`);
      const entry = c as { address?: unknown; txHash?: unknown; block?: unknown };
      const at = `chains.${key}.contracts.${name}`;
      if (typeof entry !== "object" || entry === null) bad(`${at}: expected an object`);
      if (typeof entry.address !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(entry.address)) bad(`${at}.address`);
      if (typeof entry.txHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(entry.txHash)) bad(`${at}.txHash`);
      if (!Number.isSafeInteger(entry.block) || (entry.block as number) < 0) bad(`${at}.block`);
      contracts[name as StrataContract] = {
        address: getAddress(entry.address as string),
        txHash: entry.txHash as `0x${string}`,
        block: entry.block as number,
      };
    }
    if (typeof d.deployer !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(d.deployer)) bad(`chains.${key}.deployer`);
    chains[key] = { chainId: BigInt(key), deployer: getAddress(d.deployer as string), contracts };
  }
  return { version: DEPLOYMENTS_VERSION, chains };
}

export function serializeDeployments(doc: DeploymentsFile): string {
  const chains: Record<string, unknown> = {};
  for (const [key, d] of Object.entries(doc.chains)) chains[key] = { deployer: d.deployer, contracts: d.contracts };
  return `${JSON.stringify({ version: DEPLOYMENTS_VERSION, chains }, null, 2)}\n`;
}

/** The file's deployments, or none when it does not exist yet. */
export async function readDeployments(file: string): Promise<DeploymentsFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { version: DEPLOYMENTS_VERSION, chains: {} };
    throw new InvalidInputError(`${file} cannot be read (${code ?? String(error)})`, { file });
  }
  return parseDeployments(text, file);
}

export async function writeDeployments(file: string, doc: DeploymentsFile): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, serializeDeployments(doc));
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Records `entry` under its chain id. The file is read again just before it is written, so the
 * other chains' entries are kept as they are now, not as they were when the work began.
 */
export async function recordDeployment(file: string, entry: ChainDeployment): Promise<void> {
  const current = await readDeployments(file);
  await writeDeployments(file, {
    version: DEPLOYMENTS_VERSION,
    chains: { ...current.chains, [entry.chainId.toString()]: entry },
  });
}

/** The deployment on `chainId`, or an `InvalidInputError` telling to run `strata deploy`. */
export function deploymentOn(doc: DeploymentsFile, chainId: bigint, file: string): ChainDeployment {
  const d = doc.chains[chainId.toString()];
  if (!d) {
    throw new ConfigError(`no Strata deployment for chain ${chainId} in ${file}: run \`strata deploy\``, {
      chainId,
      file,
    });
  }
  return d;
}
