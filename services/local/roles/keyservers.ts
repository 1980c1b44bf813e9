/**
 * The key servers of a local deployment (seed 000's PKG, t of n): one dealing of the master key
 * (`dealKeyServers`, what `strata keyserver deal` does) against the deployment's registry, then
 * one `strata keyserver run` process per share, each on a port of its own.
 */
import { join } from "node:path";

import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { dealKeyServers } from "../../keyserver/deal.ts";
import type { LocalChain } from "../chain-setup.ts";
import type { Supervisor } from "../supervisor.ts";

export interface KeyServers {
  /** The servers' base URLs, in share order. */
  readonly urls: readonly string[];
  /** The public file (master public key, commitments, threshold, deployment). */
  readonly publicFile: string;
  readonly threshold: number;
}

export async function startKeyServers(o: {
  readonly dir: string;
  readonly chain: LocalChain;
  readonly supervisor: Supervisor;
  readonly passphrase: string;
  readonly servers: number;
  readonly threshold: number;
}): Promise<KeyServers> {
  const dealt = dealKeyServers({
    backend: await mclBackend(),
    servers: o.servers,
    threshold: o.threshold,
    out: join(o.dir, "keyservers"),
    passphrase: o.passphrase,
    chain: { rpc: o.chain.url, registry: o.chain.deployment.registry, chainId: o.chain.chainId },
  });
  const running = await o.supervisor.startAll(
    dealt.configFiles.map((config, i) => ({
      name: `keyserver-${i + 1}`,
      args: ["keyserver", "run", "--config", config],
      stage: "keyserver" as const,
      env: { STRATA_PASSPHRASE: o.passphrase },
    })),
  );
  return { urls: running.map((r) => r.url!), publicFile: dealt.publicFile, threshold: dealt.threshold };
}
