/**
 * The fog service's filter on worker threads (issue 15, "Every core"; seed 004's hidden data
 * filtering): a `FogNode` whose PEKS keyword tests run on the fog service's `FilterPool`, driven
 * as the service's intake drains its inbox — chunks of 256 readings, `pool.prime(chunk)` (the
 * pairings on the workers) then `node.ingest(chunk)` (decode, registry check from cache, P-256
 * signature, replay, classification from the pool's answers, SQLite) on the calling thread.
 *
 * - `services.fog.node.2workers.readingsPerSec` (target >= 1.7x the baseline): with a pool of 2
 *   worker threads. Baseline, same run: the same with 1 worker thread. 512 readings of 50
 *   devices per run, a quarter sensitive, a fresh node and store each run; runs alternate
 *   (1, 2, 1, 2) and each figure is the median of its runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { toHex } from "../sdk/core/bytes.ts";
import { AeadKey } from "../sdk/core/crypto/aead.ts";
import { mclBackend, type PairingBackend } from "../sdk/core/crypto/backend.ts";
import { Peks } from "../sdk/core/crypto/peks.ts";
import { ThresholdScheme } from "../sdk/core/crypto/threshold.ts";
import {
  filterPolicy,
  FogNode,
  FogStore,
  makeReading,
  randomDeviceKey,
  runDkg,
  sealPayload,
  SENSITIVE,
  type FogDirectory,
} from "../sdk/exports/fog.ts";
import { Kind, Status } from "../sdk/core/registry.ts";
import { FilterPool } from "../services/fog/filter-pool.ts";
import { median, type Metrics } from "./metrics.ts";

const DEVICES = 50;
/** The fog service's drain chunk. */
const CHUNK = 256;
const READINGS = 2 * CHUNK;
const RUNS = 2;

interface Fixture {
  readonly peks: Peks;
  readonly owner: ReturnType<Peks["keygen"]>;
  readonly keys: ReadonlyMap<string, Uint8Array>;
  /** A warm-up chunk, then the measured readings. */
  readonly warmUp: readonly Uint8Array[];
  readonly readings: readonly Uint8Array[];
}

function fixture(backend: PairingBackend): Fixture {
  const peks = new Peks(backend);
  const owner = peks.keygen();
  const payloadKey = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
  const devices = Array.from({ length: DEVICES }, () => ({
    id: toHex(crypto.getRandomValues(new Uint8Array(32))),
    key: randomDeviceKey(),
  }));
  const all = Array.from({ length: CHUNK + READINGS }, (_, i) => {
    const d = devices[i % DEVICES]!;
    const seq = Math.floor(i / DEVICES) + 1;
    const time = 1_800_000_000_000 + i;
    const payload = sealPayload(payloadKey, d.id, seq, time, new TextEncoder().encode(`{"pm25":${i % 90}}`));
    const cls = peks.encrypt(owner.publicKey, i % 4 === 0 ? SENSITIVE : "normal");
    return makeReading(d.key, d.id, seq, time, payload, [cls, peks.encrypt(owner.publicKey, "none")]).bytes;
  });
  return {
    peks,
    owner,
    keys: new Map(devices.map((d) => [d.id, d.key.publicKey])),
    warmUp: all.slice(0, CHUNK),
    readings: all.slice(CHUNK),
  };
}

/** Readings per second of a fresh node filtering on a pool of `threads` workers. */
async function filterRate(backend: PairingBackend, f: Fixture, threads: number, dir: string): Promise<number> {
  const scheme = new ThresholdScheme(backend);
  const cluster = runDkg(scheme, 3, 5);
  const directory: FogDirectory = {
    lookup: (id) => Promise.resolve(f.keys.has(id) ? { kind: Kind.Device, status: Status.Active } : undefined),
    p256Key: (id) => Promise.resolve(f.keys.get(id)),
  };
  const pool = new FilterPool(backend, filterPolicy(f.peks.trapdoor(f.owner.secret, SENSITIVE)), threads);
  const id = toHex(crypto.getRandomValues(new Uint8Array(32)));
  const node = new FogNode({
    id,
    index: 1,
    share: cluster.shares[0]!,
    commitments: cluster.commitments,
    scheme,
    policy: pool.policy,
    directory,
    store: new FogStore(join(dir, `${id}.sqlite`), id),
    maxHeld: 0,
  });
  try {
    const drain = async (readings: readonly Uint8Array[]) => {
      for (let i = 0; i < readings.length; i += CHUNK) {
        const chunk = readings.slice(i, i + CHUNK);
        await pool.prime(chunk);
        for (const r of await node.ingest(chunk)) if (!r.ok) throw r.error;
      }
    };
    await drain(f.warmUp); // workers started, keys cached, code compiled
    const started = performance.now();
    await drain(f.readings);
    return f.readings.length / ((performance.now() - started) / 1000);
  } finally {
    node.store.close();
    await pool.close();
  }
}

export async function fogPoolMetrics(): Promise<Metrics> {
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-fog-pool-"));
  try {
    const backend = await mclBackend();
    const f = fixture(backend);
    const one: number[] = [];
    const two: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      one.push(await filterRate(backend, f, 1, dir));
      two.push(await filterRate(backend, f, 2, dir));
    }
    const base = Math.round(median(one));
    return {
      "services.fog.node.2workers.readingsPerSec": {
        value: Math.round(median(two)),
        unit: "ops/s",
        baseline: { name: "the same on 1 worker thread", value: base },
        target: { op: ">=", value: Math.round(base * 1.7) },
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
