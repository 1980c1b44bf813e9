/**
 * A worker thread of a fog node's filter pool (seed 004's hidden data filtering): runs the PEKS
 * keyword tests — one pairing each, the fog node's CPU-bound work — for a chunk of readings, so
 * every core filters. It only tests; the node authenticates and stores (`filter-pool.ts`).
 */
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { Peks, type Trapdoor } from "../../sdk/core/crypto/peks.ts";
import { decodeReading } from "../../sdk/core/fog/reading-bytes.ts";

/** One chunk: trapdoors (compressed G2) with the keyword slot each tests, and encoded readings. */
export interface FilterTask {
  readonly trapdoors: readonly { readonly slot: number; readonly point: Uint8Array }[];
  readonly readings: readonly Uint8Array[];
}

const peks = new Peks(await mclBackend());
const cache = new Map<string, Trapdoor>();

function trapdoorOf(point: Uint8Array): Trapdoor {
  const key = Buffer.from(point).toString("hex");
  let t = cache.get(key);
  if (t === undefined) {
    t = peks.trapdoorFromBytes(point);
    cache.set(key, t);
  }
  return t;
}

/**
 * For each reading and trapdoor (reading-major): 1 the keyword in its slot matches, 0 it does
 * not, -1 the reading does not decode, lacks the slot or holds no valid ciphertext there.
 */
export default function filter(task: FilterTask): Int8Array {
  const trapdoors = task.trapdoors.map((t) => ({ slot: t.slot, trapdoor: trapdoorOf(t.point) }));
  const out = new Int8Array(task.readings.length * trapdoors.length);
  for (const [i, bytes] of task.readings.entries()) {
    let keywords: readonly Uint8Array[];
    try {
      keywords = decodeReading(bytes).keywords;
    } catch {
      out.fill(-1, i * trapdoors.length, (i + 1) * trapdoors.length);
      continue;
    }
    for (const [j, t] of trapdoors.entries()) {
      const ct = keywords[t.slot];
      let r = -1;
      if (ct !== undefined) {
        try {
          r = t.trapdoor.test(ct) ? 1 : 0;
        } catch {
          r = -1;
        }
      }
      out[i * trapdoors.length + j] = r;
    }
  }
  return out;
}
