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
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { toHex } from "../sdk/core/bytes.ts";
import { AeadKey } from "../sdk/core/crypto/aead.ts";
import { mclBackend, nobleBackend, type PairingBackend } from "../sdk/core/crypto/backend.ts";
import { Peks } from "../sdk/core/crypto/peks.ts";
import { ThresholdScheme } from "../sdk/core/crypto/threshold.ts";
import { runDkg } from "../sdk/core/fog/dkg.ts";
import { filterPolicy, SENSITIVE } from "../sdk/core/fog/filter.ts";
import { makeReading, randomDeviceKey, sealPayload } from "../sdk/core/fog/reading.ts";
import { Kind, Status } from "../sdk/core/registry.ts";
import { type FogDirectory, FogNode } from "../sdk/fog/fog-node.ts";
import { FogStore } from "../sdk/store/fog-store.ts";
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

export async function fogMetrics(): Promise<Metrics> {
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-fog-"));
  try {
    const mcl = await mclBackend();
    const f = fixture(new Peks(mcl), 1_050);
    const fast = await filterRate(mcl, f, 1_050, 3, dir);
    const plain = await filterRate(nobleBackend, f, 200, 1, dir);
    return {
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
