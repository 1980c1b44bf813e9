/**
 * The fog filter's throughput on worker threads, for `npm run bench` (issue 15, "Every core":
 * the fog filter with 1 and 2 workers, target >= 1.7x on a 2-core machine). `filterWorkload`
 * makes signed readings with two PEKS keyword ciphertexts each (class and alarm, as the sensor
 * simulator sends them) and the data owner's trapdoors; `filterThroughput` runs the PEKS tests of
 * all of them on a fresh `FilterPool` of `threads` workers, after a warm-up that loads every
 * worker, and answers readings per second.
 */
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { AeadKey } from "../../sdk/core/crypto/aead.ts";
import { Peks } from "../../sdk/core/crypto/peks.ts";
import { type FilterPolicy, filterPolicy, SENSITIVE } from "../../sdk/core/fog/filter.ts";
import { makeReading, randomDeviceKey, sealPayload } from "../../sdk/core/fog/reading.ts";
import { toHex } from "../../sdk/core/bytes.ts";
import { FilterPool } from "./filter-pool.ts";
import { ALARM_TAG } from "./keys.ts";

export interface FilterWorkload {
  readonly policy: FilterPolicy;
  readonly readings: readonly Uint8Array[];
  /** Other readings, to load the workers before the measure. */
  readonly warmup: readonly Uint8Array[];
}

/** `count` readings from 16 devices, half of them sensitive, and the owner's trapdoors. */
export async function filterWorkload(count: number): Promise<FilterWorkload> {
  const backend = await mclBackend();
  const peks = new Peks(backend);
  const owner = peks.keygen();
  const aead = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
  const devices = Array.from({ length: 16 }, () => ({
    id: toHex(crypto.getRandomValues(new Uint8Array(32))),
    key: randomDeviceKey(),
    seq: 0,
  }));
  const make = (i: number): Uint8Array => {
    const d = devices[i % devices.length]!;
    const seq = ++d.seq;
    const time = 1_800_000_000_000 + i;
    const payload = sealPayload(aead, d.id, seq, time, new TextEncoder().encode(`{"t":${i}}`));
    const keywords = [
      peks.encrypt(owner.publicKey, i % 2 === 0 ? SENSITIVE : "normal"),
      peks.encrypt(owner.publicKey, i % 4 === 0 ? ALARM_TAG.name : "none"),
    ];
    return makeReading(d.key, d.id, seq, time, payload, keywords).bytes;
  };
  const policy = filterPolicy(peks.trapdoor(owner.secret, SENSITIVE), [
    { ...ALARM_TAG, trapdoor: peks.trapdoor(owner.secret, ALARM_TAG.name) },
  ]);
  return {
    policy,
    readings: Array.from({ length: count }, (_, i) => make(i)),
    warmup: Array.from({ length: 16 }, (_, i) => make(count + i)),
  };
}

/** Readings per second the PEKS filter takes on a fresh pool of `threads` workers. */
export async function filterThroughput(workload: FilterWorkload, threads: number): Promise<number> {
  const backend = await mclBackend();
  const pool = new FilterPool(backend, workload.policy, threads);
  try {
    await pool.prime(workload.warmup);
    const started = performance.now();
    await pool.prime(workload.readings);
    return workload.readings.length / ((performance.now() - started) / 1000);
  } finally {
    await pool.close();
  }
}
