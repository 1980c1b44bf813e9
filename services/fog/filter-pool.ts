/**
 * A fog node's PEKS filter on every core (issue 15, "Every core"; seed 004's hidden data
 * filtering). The SDK's `FogNode` classifies each reading with its `FilterPolicy`, one pairing
 * per keyword test, on the thread that calls it. `FilterPool` runs those tests ahead of it on a
 * pool of worker threads (`filter-worker.ts`) and hands the node a policy whose trapdoors answer
 * from the results: `prime(readings)` before `ingest`/`endorse`, and the node's own checks run
 * unchanged, their pairings already done. A ciphertext the pool did not see is tested on the
 * calling thread, so the answer never depends on the pool.
 */
import type { Piscina } from "piscina";

import type { PairingBackend } from "../../sdk/core/crypto/backend.ts";
import type { Trapdoor } from "../../sdk/core/crypto/peks.ts";
import type { FilterPolicy } from "../../sdk/core/fog/filter.ts";
import { decodeReading } from "../../sdk/core/fog/reading-bytes.ts";
import { LruMap } from "../../sdk/core/lru.ts";
import { createPool, workerUrl } from "../runtime/workers.ts";
import type { FilterTask } from "./filter-worker.ts";

/** Results remembered per trapdoor (a batch's readings are tested again when it is endorsed). */
const REMEMBERED = 65_536;
/** Readings per task at most: enough to amortise a message, small enough to share out. */
const CHUNK = 128;

export class FilterPool {
  /** The policy to give the `FogNode`: the same trapdoors, answering from the pool's results. */
  readonly policy: FilterPolicy;
  readonly threads: number;
  readonly #pool: Piscina | undefined;
  readonly #rules: readonly {
    readonly slot: number;
    readonly point: Uint8Array;
    readonly seen: LruMap<string, boolean>;
  }[];

  /** `threads` 0 tests on the calling thread only (no pool). */
  constructor(backend: PairingBackend, policy: FilterPolicy, threads?: number) {
    const rules = [{ slot: 0, trapdoor: policy.sensitive }, ...policy.tags];
    this.#rules = rules.map((r) => ({
      slot: r.slot,
      point: backend.g2.toBytes(r.trapdoor.point),
      seen: new LruMap<string, boolean>(REMEMBERED),
    }));
    const wrap = (t: Trapdoor, seen: LruMap<string, boolean>): Trapdoor => ({
      point: t.point,
      test(ciphertext) {
        const hit = ciphertext instanceof Uint8Array ? seen.get(Buffer.from(ciphertext).toString("hex")) : undefined;
        return hit ?? t.test(ciphertext);
      },
    });
    this.policy = {
      sensitive: wrap(policy.sensitive, this.#rules[0]!.seen),
      tags: policy.tags.map((t, i) => ({ ...t, trapdoor: wrap(t.trapdoor, this.#rules[i + 1]!.seen) })),
    };
    this.#pool = threads === 0 ? undefined : createPool(workerUrl(import.meta.url, "./filter-worker.ts"), threads);
    this.threads = this.#pool?.options.maxThreads ?? 0;
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    return this.#pool?.queueSize ?? 0;
  }

  /**
   * Runs the keyword tests of `readings` on the pool and remembers the answers, so the node's
   * `classify` of them costs no pairing. A reading that does not decode is left to the node.
   */
  async prime(readings: readonly Uint8Array[]): Promise<void> {
    const pool = this.#pool;
    if (pool === undefined || readings.length === 0) return;
    const trapdoors = this.#rules.map((r) => ({ slot: r.slot, point: r.point }));
    const size = Math.min(CHUNK, Math.max(1, Math.ceil(readings.length / this.threads)));
    const chunks: Uint8Array[][] = [];
    for (let i = 0; i < readings.length; i += size) chunks.push(readings.slice(i, i + size) as Uint8Array[]);
    await Promise.all(
      chunks.map(async (chunk) => {
        const task: FilterTask = { trapdoors, readings: chunk };
        const out = (await pool.run(task)) as Int8Array;
        for (const [i, bytes] of chunk.entries()) this.#remember(bytes, out, i);
      }),
    );
  }

  #remember(bytes: Uint8Array, out: Int8Array, i: number): void {
    // a keyword slot's ciphertext sits at a fixed place only once decoded: take it from the reading
    const keywords = keywordsOf(bytes);
    if (keywords === undefined) return;
    for (const [j, rule] of this.#rules.entries()) {
      const r = out[i * this.#rules.length + j];
      const ct = keywords[rule.slot];
      if (ct !== undefined && (r === 0 || r === 1)) rule.seen.set(Buffer.from(ct).toString("hex"), r === 1);
    }
  }

  /** Stops the workers (after the tasks under way). */
  async close(): Promise<void> {
    await this.#pool?.close();
  }
}

function keywordsOf(bytes: Uint8Array): readonly Uint8Array[] | undefined {
  try {
    return decodeReading(bytes).keywords;
  } catch {
    return undefined;
  }
}
