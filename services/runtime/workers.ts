/**
 * Worker threads for CPU-bound work (pairings, AES and hashing, signature checks), over
 * piscina, sized to the machine by default. Worker modules are `.ts` files in the repository
 * and `.js` files in the built package; `workerUrl` finds whichever is there.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

import { Piscina } from "piscina";

import { InvalidInputError } from "../../sdk/errors.ts";

export type Pool = Piscina;

/** The URL of worker module `relative` (written with `.ts`) next to `base`, as `.js` when only that exists. */
export function workerUrl(base: string, relative: string): URL {
  const url = new URL(relative, base);
  if (existsSync(fileURLToPath(url))) return url;
  const js = new URL(relative.replace(/\.ts$/, ".js"), base);
  if (existsSync(fileURLToPath(js))) return js;
  throw new InvalidInputError(`the worker module ${relative} is missing next to ${base}`, { relative });
}

/** The default number of worker threads: one per core. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

/** A pool of `threads` workers running `file`'s default export. */
export function createPool(file: URL, threads: number = defaultThreads()): Pool {
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new InvalidInputError(`worker threads must be an integer from 1 to 256, not ${threads}`, { threads });
  }
  return new Piscina({ filename: file.href, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
}
