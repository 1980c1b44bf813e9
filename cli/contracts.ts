/**
 * A command's contract client: the deployment's address on the chain at `--rpc`, bound to a key
 * from the keystore (writes) or to the node alone (reads); the provider is closed afterwards.
 */
import type { ContractRunner } from "ethers";

import { ConfigError, InvalidInputError } from "../sdk/index.ts";
import type { StrataContract } from "../sdk/exports/deploy.ts";
import { type Chain, connect, rpcUrl } from "./chain.ts";
import { deploymentOn, deploymentsPath, readDeployments } from "./deployments.ts";
import { keystoreOf } from "./commands/key.ts";
import type { Context } from "./program.ts";

export interface Bound {
  readonly chain: Chain;
  readonly address: string;
  readonly block: number;
  readonly runner: ContractRunner;
  /** The key's address, when a key was given. */
  readonly sender: string | undefined;
}

export async function withContract<T>(
  ctx: Context,
  name: StrataContract,
  keyName: string | undefined,
  work: (bound: Bound) => Promise<T>,
): Promise<T> {
  const globals = ctx.globals();
  const file = deploymentsPath(globals.deployments);
  const chain = await connect(rpcUrl(globals.rpc));
  try {
    const contract = deploymentOn(await readDeployments(file), chain.chainId, file).contracts[name];
    if (!contract) throw new ConfigError(`${file}: no ${name} on chain ${chain.chainId}`, { chainId: chain.chainId });
    const key = keyName === undefined ? undefined : (await keystoreOf(ctx).open(keyName)).connect(chain.provider);
    return await work({
      chain,
      address: contract.address,
      block: contract.block,
      runner: key ?? chain.provider,
      sender: key?.address,
    });
  } finally {
    chain.provider.destroy();
  }
}

/**
 * A time in seconds: unix seconds, an ISO 8601 date, `now`, or `+N` with a unit (`s`, `m`, `h`,
 * `d`) from now.
 */
export function parseTime(value: string, what: string, now = Math.floor(Date.now() / 1000)): bigint {
  const relative = /^\+([0-9]+)([smhd])$/.exec(value);
  if (relative) return BigInt(now + Number(relative[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[relative[2] as "s"]);
  if (value === "now") return BigInt(now);
  if (/^[0-9]+$/.test(value)) return BigInt(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new InvalidInputError(`${what}: expected unix seconds, an ISO date, now or +N[smhd], got ${value}`);
  }
  return BigInt(Math.floor(ms / 1000));
}

export function tokenIdOf(value: string): bigint {
  if (!/^[0-9]+$/.test(value)) throw new InvalidInputError(`token id: expected a number, got ${value}`);
  return BigInt(value);
}
