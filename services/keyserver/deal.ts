/**
 * The dealing of the key servers (seed 000's PKG split t-of-n, issue 15): a trusted dealer draws
 * the master secret, shares it with Shamir and publishes Feldman commitments (`ThresholdPkg.deal`),
 * seals each server's share to a file of its own under a passphrase, and writes the public file
 * (master public key, commitments, each server's verification key, t, n) last. Everything is
 * written into a temporary folder next to the destination, which is renamed into place only when
 * complete: a dealing is all there or not there at all. The master secret lives only in memory,
 * for the moment of the dealing (the threshold module's DKG removes even that, at the cost of a
 * round of messages between the servers).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import type { PairingBackend } from "../../sdk/core/crypto/backend.ts";
import { ThresholdPkg } from "../../sdk/core/crypto/identity.ts";
import { uint256 } from "../../sdk/core/bytes.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { sealSecret, writeFileAtomic } from "../runtime/secret-file.ts";
import { publicInfo, publicToJson } from "./protocol.ts";
import type { KeyServerConfig, ShareFile } from "./server.ts";

export interface DealOptions {
  readonly backend: PairingBackend;
  readonly servers: number;
  readonly threshold: number;
  /** The folder to create (it must not exist). */
  readonly out: string;
  readonly passphrase: string;
  /**
   * With these, each server also gets a configuration file (`server-<i>.json`) and the public file
   * names the chain and registry (requesters sign for them).
   */
  readonly chain?: {
    readonly rpc: string;
    readonly registry: string;
    readonly chainId: bigint;
    /** Server i listens on `basePort + i - 1` (0: any free port). */
    readonly host?: string;
    readonly basePort?: number;
    readonly keyEpochMs?: number;
  };
}

export interface Dealt {
  readonly out: string;
  readonly deployment: Hex;
  readonly threshold: number;
  readonly servers: number;
  readonly publicFile: string;
  readonly shareFiles: readonly string[];
  readonly configFiles: readonly string[];
}

/** Deals `servers` shares of a fresh master secret, `threshold` of which issue keys, into `out`. */
export function dealKeyServers(options: DealOptions): Dealt {
  const { backend, servers: n, threshold: t } = options;
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidInputError("--servers must be an integer in [1, 1000]", { servers: n });
  if (!Number.isInteger(t) || t < 1 || t > n)
    throw new InvalidInputError("--threshold must be an integer in [1, servers]", { threshold: t });
  const out = resolve(options.out);
  if (existsSync(out))
    throw new InvalidInputError(`${out}: already exists (a dealing is written to a new folder)`, { out });
  const parent = dirname(out);
  if (!existsSync(parent)) throw new InvalidInputError(`${parent}: no such folder`, { out });
  const chain = options.chain;
  const { pkg, shares } = ThresholdPkg.deal(backend, t, n);
  const info = publicInfo(
    backend,
    pkg.commitments,
    n,
    chain === undefined ? {} : { chainId: chain.chainId, registry: chain.registry },
  );
  const temporary = join(parent, `.${basename(out)}.${randomBytes(6).toString("hex")}.tmp`);
  mkdirSync(temporary, { mode: 0o700 });
  try {
    const shareFiles: string[] = [];
    const configFiles: string[] = [];
    for (const share of shares) {
      const name = `server-${share.index}.share`;
      const value: ShareFile = {
        format: "strata-keyserver-share/v1",
        deployment: info.deployment,
        index: share.index,
        threshold: t,
        servers: n,
        secret: toHex(uint256(share.secret, "share")),
      };
      sealSecret(join(temporary, name), value, options.passphrase);
      shareFiles.push(join(out, name));
      if (chain !== undefined) {
        const config: KeyServerConfig = {
          share: name,
          public: "public.json",
          listen: {
            host: chain.host ?? "127.0.0.1",
            port: chain.basePort === undefined || chain.basePort === 0 ? 0 : chain.basePort + share.index - 1,
          },
          rpc: chain.rpc,
          registry: chain.registry,
          chainId: chain.chainId.toString(),
          audit: `server-${share.index}.audit.sqlite`,
          ...(chain.keyEpochMs === undefined ? {} : { keyEpochMs: chain.keyEpochMs }),
        };
        writeFileAtomic(join(temporary, `server-${share.index}.json`), `${JSON.stringify(config, null, 2)}\n`, 0o644);
        configFiles.push(join(out, `server-${share.index}.json`));
      }
    }
    // the public file last: its presence says the dealing is complete
    writeFileAtomic(join(temporary, "public.json"), `${JSON.stringify(publicToJson(backend, info), null, 2)}\n`, 0o644);
    renameSync(temporary, out);
    return {
      out,
      deployment: info.deployment,
      threshold: t,
      servers: n,
      publicFile: join(out, "public.json"),
      shareFiles,
      configFiles,
    };
  } catch (e) {
    rmSync(temporary, { recursive: true, force: true });
    throw e;
  }
}
