/**
 * `strata deploy`: Strata's contracts on the chain at `--rpc`, idempotent per chain id: a chain
 * whose recorded contracts are still Strata's (the same code, linked to the recorded registry) is
 * left as it is. The deployment file is locked (`<file>.lock`) from reading to writing, and read
 * again just before writing, so concurrent deploys neither both deploy nor drop each other's
 * chains. A deployment that stops part way is recorded as far as it got; a rerun resumes it.
 */
import { type Command, Option } from "commander";
import { Contract, getAddress, type HDNodeWallet, type InterfaceAbi, type JsonRpcProvider, type Wallet } from "ethers";

import { ConfigError, DeploymentIncompleteError, InvalidInputError, NoCodeError } from "../../sdk/index.ts";
import {
  DEFAULT_REGISTRY_RULES,
  type DeployedContract,
  deployStrata,
  type DeployStrataOptions,
  type StrataContract,
} from "../../sdk/exports/deploy.ts";
import { AccessTokens, type ContractArtifact, DataAnchor, DeviceRegistry } from "../../sdk/exports/artifacts.ts";
import { isRuntimeOf } from "../bytecode.ts";
import { type Chain, connect, rpcUrl } from "../chain.ts";
import { type ChainDeployment, deploymentsPath, NAMES, readDeployments, recordDeployment } from "../deployments.ts";
import { withFileLock } from "../lock.ts";
import type { Context, GlobalOptions } from "../program.ts";
import type { Result } from "../output.ts";
import { keystoreOf } from "./key.ts";

const RULES = Object.keys(DEFAULT_REGISTRY_RULES) as (keyof typeof DEFAULT_REGISTRY_RULES)[];

const ARTIFACTS: { readonly [name in StrataContract]: ContractArtifact } = { DeviceRegistry, DataAnchor, AccessTokens };

/** How long a deploy waits for another one's lock by default, in seconds. */
export const DEFAULT_LOCK_WAIT_S = 300;

function integer(name: string): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value))
      throw new InvalidInputError(`--${name}: expected a non-negative integer, got ${value}`);
    return Number(value);
  };
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** What is wrong with one recorded contract, if anything. */
interface Problem {
  readonly name: StrataContract;
  readonly address: string;
  readonly problem: "no-code" | "other-code" | "other-registry";
  readonly text: string;
}

/**
 * Each recorded contract must have code, the code of Strata's contract of that name (metadata and
 * immutables aside), and (`DataAnchor`, `AccessTokens`) answer that its registry is the recorded one.
 */
async function problemsOf(provider: JsonRpcProvider, recorded: ChainDeployment): Promise<Problem[]> {
  const problems: Problem[] = [];
  const registry = recorded.contracts.DeviceRegistry?.address;
  for (const name of NAMES) {
    const c = recorded.contracts[name];
    if (!c) continue;
    const at = `${name} at ${c.address}`;
    const code = await provider.getCode(c.address);
    if (code === "0x") {
      problems.push({ name, address: c.address, problem: "no-code", text: `${at} has no code` });
    } else if (!isRuntimeOf(code, ARTIFACTS[name].bytecode)) {
      problems.push({ name, address: c.address, problem: "other-code", text: `${at} holds other code than ${name}'s` });
    } else if (name !== "DeviceRegistry" && registry !== undefined) {
      const contract = new Contract(c.address, ARTIFACTS[name].abi as InterfaceAbi, provider);
      const answer = getAddress((await contract.getFunction("registry").staticCall()) as string);
      if (answer !== getAddress(registry)) {
        const text = `${at} uses DeviceRegistry ${answer}, not the recorded ${registry}`;
        problems.push({ name, address: c.address, problem: "other-registry", text });
      }
    }
  }
  return problems;
}

/** Deploys what `options` asks for, on top of `base` (a deployment being resumed), and records it. */
async function deployAndRecord(
  file: string,
  chain: Chain,
  signer: Wallet | HDNodeWallet,
  options: DeployStrataOptions,
  base: ChainDeployment | undefined,
  onPartial: (recorded: ChainDeployment) => void,
): Promise<ChainDeployment> {
  const entry = (deployer: string, contracts: ChainDeployment["contracts"]): ChainDeployment => ({
    chainId: chain.chainId,
    deployer: base?.deployer ?? deployer,
    contracts: { ...base?.contracts, ...contracts },
  });
  let done: ChainDeployment;
  try {
    const deployment = await deployStrata(signer, options);
    done = entry(deployment.deployer, deployment.contracts);
  } catch (error) {
    if (!(error instanceof DeploymentIncompleteError)) throw error;
    // what is on chain is recorded, so a rerun resumes instead of deploying it again
    const partial = entry(signer.address, error.deployed as { [name in StrataContract]?: DeployedContract });
    await record(file, partial);
    onPartial(partial);
    throw error;
  }
  await record(file, done);
  return done;
}

/** Records a deployment; if the file cannot be written, the error still names every address. */
async function record(file: string, entry: ChainDeployment): Promise<void> {
  try {
    await recordDeployment(file, entry);
  } catch (error) {
    const reason = error instanceof InvalidInputError ? error.shortMessage : String(error);
    const addresses = NAMES.filter((n) => entry.contracts[n])
      .map((n) => `${n} ${entry.contracts[n]!.address}`)
      .join(", ");
    throw new InvalidInputError(
      `deployed on chain ${entry.chainId} (${addresses}) but ${file} could not be written: ${(error as NodeJS.ErrnoException).code ?? reason}`,
      { chainId: entry.chainId, file, contracts: entry.contracts },
      { cause: error },
    );
  }
}

function resultOf(d: ChainDeployment, file: string, deployed: boolean, resumed: boolean): Result {
  const names = NAMES.filter((n) => d.contracts[n]);
  const json = { chainId: d.chainId, deployed, resumed, file, deployer: d.deployer, contracts: d.contracts };
  if (!deployed) return { json, lines: [`already deployed on chain ${d.chainId} (${file}); nothing sent`] };
  return {
    json,
    lines: [
      `${resumed ? "resumed and completed the deployment" : "deployed"} on chain ${d.chainId} (recorded in ${file}):`,
      ...names.map((n) => `  ${n.padEnd(16)} ${d.contracts[n]!.address} (block ${d.contracts[n]!.block})`),
    ],
  };
}

/** The work under the lock: read the file, decide, deploy or resume, record. */
async function deployLocked(
  ctx: Context,
  globals: GlobalOptions,
  chain: Chain,
  file: string,
  options: Record<string, unknown>,
): Promise<Result> {
  const recorded = (await readDeployments(file)).chains[chain.chainId.toString()];
  const base = options.force === true ? undefined : recorded;
  if (base) {
    const problems = await problemsOf(chain.provider, base);
    if (problems.length > 0) {
      const reset = problems.some((p) => p.problem === "no-code");
      const message = `${file} records a deployment on chain ${chain.chainId} that is not Strata's any more: ${problems.map((p) => p.text).join("; ")}${reset ? " (a reset chain?)" : ""}: use --force`;
      const details = { chainId: chain.chainId, problems: problems.map(({ text: _t, ...p }) => p) };
      throw reset
        ? new NoCodeError(message, { ...details, missing: problems.map((p) => p.name) })
        : new ConfigError(message, details);
    }
    if (NAMES.every((n) => base.contracts[n])) return resultOf(base, file, false, false);
    if (!base.contracts.DeviceRegistry) {
      throw new ConfigError(
        `${file} records a deployment on chain ${chain.chainId} without its DeviceRegistry: use --force`,
        { chainId: chain.chainId },
      );
    }
  }
  const signer = (await keystoreOf(ctx).open(String(options.key))).connect(chain.provider);
  const missing = base ? NAMES.filter((n) => !base.contracts[n]) : [...NAMES];
  if (!globals.json) {
    const what = base ? `resuming: ${missing.join(", ")}` : "deploying Strata";
    ctx.io.stderr(`${what} on chain ${chain.chainId} from ${signer.address}…\n`);
  }
  const rules: Record<string, number> = {};
  for (const rule of RULES) if (options[rule] !== undefined) rules[rule] = options[rule] as number;
  const request: DeployStrataOptions = base
    ? { contracts: missing, registry: base.contracts.DeviceRegistry!.address }
    : { rules };
  const done = await deployAndRecord(file, chain, signer, request, base, (partial) => {
    const names = NAMES.filter((n) => partial.contracts[n]).join(", ");
    if (!globals.json) ctx.io.stderr(`recorded ${names} in ${file}: run the same command again to resume\n`);
  });
  return resultOf(done, file, true, base !== undefined);
}

export function deployCommand(program: Command, ctx: Context): void {
  const command = program
    .command("deploy")
    .description("deploy DeviceRegistry, DataAnchor and AccessTokens (once per chain) and record them")
    .requiredOption("--key <name>", "the deployer's key in the keystore")
    .option("--force", "deploy again even if the file has a deployment for this chain")
    .addOption(
      new Option("--lock-wait <seconds>", "how long to wait for another deploy's lock on the deployment file")
        .argParser(integer("lock-wait"))
        .default(DEFAULT_LOCK_WAIT_S),
    );
  for (const rule of RULES) {
    command.addOption(
      new Option(`--${kebab(rule)} <n>`, `registry rule ${rule} (default ${DEFAULT_REGISTRY_RULES[rule]})`).argParser(
        integer(kebab(rule)),
      ),
    );
  }
  command
    .addHelpText(
      "after",
      "\nExample:\n  $ strata deploy --key operator --rpc http://127.0.0.1:8545 --full-node-approvals 3\n  (a deployment that stopped part way is recorded: run the same command again to resume it)",
    )
    .action(async (options: Record<string, unknown>) => {
      const globals = ctx.globals();
      const file = deploymentsPath(globals.deployments);
      const chain = await connect(rpcUrl(globals.rpc));
      try {
        const onWait = () => {
          if (!globals.json) ctx.io.stderr(`waiting for ${file}.lock: another strata deploy holds it…\n`);
        };
        const waitMs = (options.lockWait as number) * 1000;
        ctx.done(await withFileLock(file, { waitMs, onWait }, () => deployLocked(ctx, globals, chain, file, options)));
      } finally {
        chain.provider.destroy();
      }
    });
}
