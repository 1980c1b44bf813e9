/**
 * Secuchain's fog layer on one core (seed 004):
 *
 * - `secuchain.fog.filter.readingsPerSec`: a fog node ingesting pre-built
 *   readings from 50 registered devices — decode, registry check (cached),
 *   P-256 signature, replay check, the PEKS test of the class keyword (slot 0)
 *   with the owner's "sensitive" trapdoor (Miller-loop lines precomputed),
 *   sorting, and storing (SQLite, one transaction per 50 readings). Baseline,
 *   same run: the same node on the plain `@noble/curves` pairing backend.
 *   Target >= 300 readings/s.
 * - `secuchain.fog.store.lastSequences.ms` and `secuchain.fog.store.tagPage.ms`:
 *   a restarted node's replay state (`FogStore.lastSequences`) and the first
 *   page of 100 open readings of one tag (`queryOpen({ tag })`), in a store of
 *   200,000 open readings of 50 devices (one in 1,000 tagged "alarm"), against
 *   a store of 2,000 readings of the same devices (one in 10 tagged): 200
 *   tagged readings in each. The readings are synthetic rows (random 64-byte
 *   payloads) written through
 *   `FogStore.append`, 10,000 per transaction: no signature or PEKS work.
 *   Scaled from the 1M rows to keep the run short; flat at 200k
 *   shows the same as flat at 1M (the queries read per-device and per-tag
 *   rows, not the readings).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { toHex } from "../sdk/index.ts";
import {
  AeadKey,
  mclBackend,
  nobleBackend,
  type PairingBackend,
  Peks,
  ThresholdScheme,
} from "../sdk/exports/crypto.ts";
import {
  runDkg,
  filterPolicy,
  SENSITIVE,
  makeReading,
  randomDeviceKey,
  sealPayload,
  type FogDirectory,
  FogNode,
  FogStore,
} from "../sdk/exports/fog.ts";
import { Kind, Status } from "../sdk/exports/registry.ts";
import { median, type Metrics } from "./metrics.ts";

const DEVICES = 50;
const CHUNK = 50;

interface Fixture {
  readonly owner: { secret: bigint; publicKey: ReturnType<Peks["keygen"]>["publicKey"] };
  readonly keys: ReadonlyMap<string, Uint8Array>;
  readonly readings: readonly Uint8Array[];
}

/** Readings from DEVICES devices, a quarter of them sensitive (built once, with the fast backend). */
function fixture(peks: Peks, count: number): Fixture {
  const owner = peks.keygen();
  const payloadKey = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
  const devices = Array.from({ length: DEVICES }, () => ({
    id: toHex(crypto.getRandomValues(new Uint8Array(32))),
    key: randomDeviceKey(),
  }));
  const readings = Array.from({ length: count }, (_, i) => {
    const d = devices[i % DEVICES]!;
    const seq = Math.floor(i / DEVICES) + 1;
    const time = 1_800_000_000_000 + i;
    const payload = sealPayload(payloadKey, d.id, seq, time, new TextEncoder().encode(`{"pm25":${i % 90}}`));
    const cls = peks.encrypt(owner.publicKey, i % 4 === 0 ? SENSITIVE : "normal");
    return makeReading(d.key, d.id, seq, time, payload, [cls, peks.encrypt(owner.publicKey, "none")]).bytes;
  });
  return { owner, keys: new Map(devices.map((d) => [d.id, d.key.publicKey])), readings };
}

/** Readings per second of a fresh fog node on `backend` over the first `count` readings, median of `runs`. */
async function filterRate(
  backend: PairingBackend,
  f: Fixture,
  count: number,
  runs: number,
  dir: string,
): Promise<number> {
  const peks = new Peks(backend);
  const scheme = new ThresholdScheme(backend);
  const cluster = runDkg(scheme, 3, 5);
  const directory: FogDirectory = {
    lookup: (id) => Promise.resolve(f.keys.has(id) ? { kind: Kind.Device, status: Status.Active } : undefined),
    p256Key: (id) => Promise.resolve(f.keys.get(id)),
  };
  const rates: number[] = [];
  for (let run = 0; run < runs; run++) {
    const id = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const node = new FogNode({
      id,
      index: 1,
      share: cluster.shares[0]!,
      commitments: cluster.commitments,
      scheme,
      policy: filterPolicy(peks.trapdoor(f.owner.secret, SENSITIVE)),
      directory,
      store: new FogStore(join(dir, `${id}.sqlite`), id),
    });
    const readings = f.readings.slice(0, count);
    await node.ingest(readings.slice(0, CHUNK)); // warm-up: keys cached, code compiled
    const started = performance.now();
    for (let i = CHUNK; i < readings.length; i += CHUNK) {
      for (const r of await node.ingest(readings.slice(i, i + CHUNK))) if (!r.ok) throw r.error;
    }
    rates.push((readings.length - CHUNK) / ((performance.now() - started) / 1000));
    node.store.close();
  }
  return Math.round(median(rates));
}

/** A store of `count` synthetic open readings of 50 devices, one in `every` tagged "alarm". */
function syntheticStore(dir: string, name: string, count: number, every: number): FogStore {
  const store = new FogStore(join(dir, name), toHex(crypto.getRandomValues(new Uint8Array(32))));
  const devices = Array.from({ length: DEVICES }, () => toHex(crypto.getRandomValues(new Uint8Array(32))));
  const payload = crypto.getRandomValues(new Uint8Array(64));
  for (let at = 0; at < count; at += 10_000) {
    const chunk = Array.from({ length: Math.min(10_000, count - at) }, (_, k) => {
      const i = at + k;
      return {
        cls: "normal" as const,
        reading: {
          device: devices[i % DEVICES]!,
          seq: Math.floor(i / DEVICES) + 1,
          time: 1_800_000_000_000 + i,
          received: 1_800_000_000_000 + i,
          tags: i % every === 0 ? ["alarm", "pm25"] : ["pm25"],
          reading: payload,
        },
      };
    });
    store.append(chunk);
  }
  return store;
}

/** Median milliseconds of `work` on each store, alternated over 9 runs. */
function timed<T>(stores: readonly FogStore[], work: (s: FogStore) => T): number[] {
  const times: number[][] = stores.map(() => []);
  for (let run = 0; run < 9; run++) {
    stores.forEach((s, i) => {
      const started = performance.now();
      work(s);
      times[i]!.push(performance.now() - started);
    });
  }
  return times.map((t) => Math.round(median(t) * 1000) / 1000);
}

/** The store's hot queries at 200k readings against 2k. */
export function storeMetrics(dir: string): Metrics {
  // 200 "alarm" readings in each: the page is the same, the store around it 100 times larger
  const small = syntheticStore(dir, "small.sqlite", 2_000, 10);
  const large = syntheticStore(dir, "large.sqlite", 200_000, 1_000);
  try {
    const [lastSmall, lastLarge] = timed([small, large], (s) => s.lastSequences());
    const [pageSmall, pageLarge] = timed([small, large], (s) => {
      if (s.queryOpen({ tag: "alarm", limit: 100 }).length !== 100) throw new Error("bench: a short tag page");
    });
    return {
      "secuchain.fog.store.lastSequences.ms": {
        value: lastLarge!,
        unit: "ms",
        baseline: { name: "the same 50 devices in 2k readings", value: lastSmall! },
        target: { op: "<=", value: Math.round(lastSmall! * 2 * 1000) / 1000 },
      },
      "secuchain.fog.store.tagPage.ms": {
        value: pageLarge!,
        unit: "ms",
        baseline: { name: "the same page in 2k readings", value: pageSmall! },
        target: { op: "<=", value: Math.round(pageSmall! * 2 * 1000) / 1000 },
      },
    };
  } finally {
    small.close();
    large.close();
  }
}

export async function fogMetrics(): Promise<Metrics> {
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-fog-"));
  try {
    const mcl = await mclBackend();
    const f = fixture(new Peks(mcl), 1_050);
    const fast = await filterRate(mcl, f, 1_050, 3, dir);
    const plain = await filterRate(nobleBackend, f, 200, 1, dir);
    const store = storeMetrics(dir);
    return {
      ...store,
      "secuchain.fog.filter.readingsPerSec": {
        value: fast,
        unit: "ops/s",
        baseline: { name: "the same on @noble/curves pairings", value: plain },
        target: { op: ">=", value: 300 },
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
