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

export function tokenIdOf(value: string): bigint {
  if (!/^[0-9]+$/.test(value)) throw new InvalidInputError(`token id: expected a number, got ${value}`);
  return BigInt(value);
}
