/**
 * The NB-IoT data path on one core (seed 000):
 *
 * - `nbiot.bs.pipeline.readingsPerSec`: a base station ingesting pre-built
 *   frames from 200 authenticated nodes — open the session layer, check the
 *   counter and sequence number, hash the primary ciphertext, make and hash the
 *   block, store it (SQLite file, one transaction per 256 frames), seal the
 *   receipt — and sealing the blocks into signed Merkle batches. Baseline,
 *   same run: raw AES-256-GCM decryption plus SHA-256 of frames of the same
 *   format and sizes (`node:crypto`, a `KeyObject` per session).
 * - `nbiot.bs.storeOpen.ms`: opening a station's store of 100,000 blocks with
 *   its checks (read-only identity, `PRAGMA quick_check`; docs/stores.md).
 *   Baseline, same run: a bare `DatabaseSync` open with the same pragmas and
 *   one `meta` read, what opening cost before the checks.
 * - `nbiot.device.asymmetricOpsPerEntry`: the asymmetric operations a node
 *   performs to enter a station's area, counted while it also sends readings
 *   and renews its session (which must add none).
 */
import { createCipheriv, createDecipheriv, createSecretKey, hash, type KeyObject, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { toHex } from "../sdk/index.ts";
import { mclBackend, Pkg } from "../sdk/exports/crypto.ts";
import {
  NbiotNode,
  extractNodeKeys,
  nbiotParams,
  pkgStationKeys,
  HEADER_BYTES,
  BaseStation,
  type Directory,
  SqliteFlowStore,
} from "../sdk/exports/nbiot.ts";
import { Kind, Status } from "../sdk/exports/registry.ts";
import { median, type Metrics } from "./metrics.ts";
import { nbiotScaleMetrics } from "./nbiot-scale.ts";

const NODES = 200;
const READINGS_PER_NODE = 500;
const CHUNK = 256;
const RUNS = 3;

const randomId = () => toHex(crypto.getRandomValues(new Uint8Array(32)));
const reading = (i: number) =>
  new TextEncoder().encode(JSON.stringify({ celsius: 20 + (i % 15), at: 1_700_000_000 + i }));

/**
 * The baseline's frames: the pipeline's frames' layout and sizes (clear header ‖
 * nonce ‖ ciphertext ‖ tag, the header authenticated), sealed with raw
 * AES-256-GCM under one random key per node.
 */
function twinFrames(frames: readonly Uint8Array[], keys: readonly KeyObject[]): Uint8Array[] {
  return frames.map((f, i) => {
    const header = f.subarray(0, HEADER_BYTES);
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", keys[i % keys.length]!, nonce);
    c.setAAD(header);
    const body = Buffer.concat([c.update(randomBytes(f.length - HEADER_BYTES - 12 - 16)), c.final()]);
    return Buffer.concat([header, nonce, body, c.getAuthTag()]);
  });
}

/** Raw AES-256-GCM open + SHA-256 of each frame (one-shot `hash`), one KeyObject per node. */
function baseline(frames: readonly Uint8Array[], keys: readonly KeyObject[]): number {
  const started = performance.now();
  frames.forEach((f, i) => {
    const d = createDecipheriv("aes-256-gcm", keys[i % keys.length]!, f.subarray(HEADER_BYTES, HEADER_BYTES + 12));
    d.setAAD(f.subarray(0, HEADER_BYTES));
    d.setAuthTag(f.subarray(f.length - 16));
    const plain = d.update(f.subarray(HEADER_BYTES + 12, f.length - 16));
    d.final();
    hash("sha256", plain, "buffer");
  });
  return frames.length / ((performance.now() - started) / 1000);
}

export async function nbiotMetrics(): Promise<Metrics> {
  const backend = await mclBackend();
  const pkg = new Pkg(backend);
  const params = nbiotParams(backend, pkg.masterPublic);
  const registry = new Map<string, { kind: Kind; status: Status }>();
  const directory: Directory = { lookup: (id) => Promise.resolve(registry.get(id.toLowerCase())) };
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-nbiot-"));
  try {
    const pipeline: number[] = [];
    const base: number[] = [];
    const stores: { path: string; id: ReturnType<typeof randomId> }[] = [];
    for (let run = 0; run < RUNS; run++) {
      const bsId = randomId();
      registry.set(bsId, { kind: Kind.BaseStation, status: Status.Active });
      const bs = BaseStation.open({
        params,
        keys: pkgStationKeys(pkg, bsId),
        storePath: join(dir, `bs-${run}.sqlite`),
        directory,
        stations: () => undefined,
      });
      const now = Date.now();
      const nodes: NbiotNode[] = [];
      for (let i = 0; i < NODES; i++) {
        const id = randomId();
        registry.set(id, { kind: Kind.Device, status: Status.Active });
        const node = new NbiotNode(params, extractNodeKeys(pkg, id), crypto.getRandomValues(new Uint8Array(32)));
        node.accept(await bs.authenticate(node.enter(bsId, now), now), now);
        nodes.push(node);
      }
      const frames: Uint8Array[] = [];
      for (let r = 0; r < READINGS_PER_NODE; r++) for (const node of nodes) frames.push(node.send(reading(r), now));

      const started = performance.now();
      for (let i = 0; i < frames.length; i += CHUNK) {
        for (const res of bs.ingest(frames.slice(i, i + CHUNK), now)) if (!res.ok) throw res.error;
      }
      while ((await bs.seal(now)) !== undefined);
      pipeline.push(frames.length / ((performance.now() - started) / 1000));
      bs.close();
      stores.push({ path: join(dir, `bs-${run}.sqlite`), id: bsId });

      const keys = nodes.map(() => createSecretKey(randomBytes(32)));
      base.push(baseline(twinFrames(frames, keys), keys));
    }

    // opening a full store: with the checks, and bare
    const opens: number[] = [];
    const bareOpens: number[] = [];
    for (const { path, id } of stores) {
      let started = performance.now();
      new SqliteFlowStore(path, id).close();
      opens.push(performance.now() - started);
      started = performance.now();
      const db = new DatabaseSync(path);
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;");
      db.prepare("SELECT value FROM meta WHERE key = 'station'").get();
      db.close();
      bareOpens.push(performance.now() - started);
    }

    // asymmetric operations per entry: enter, send 1,000 readings, renew, send again
    const id = randomId();
    registry.set(id, { kind: Kind.Device, status: Status.Active });
    const bsId = randomId();
    registry.set(bsId, { kind: Kind.BaseStation, status: Status.Active });
    const bs = BaseStation.open({
      params,
      keys: pkgStationKeys(pkg, bsId),
      storePath: join(dir, "ops.sqlite"),
      directory,
      stations: () => undefined,
    });
    const node = new NbiotNode(params, extractNodeKeys(pkg, id), crypto.getRandomValues(new Uint8Array(32)));
    const now = Date.now();
    node.accept(await bs.authenticate(node.enter(bsId, now), now), now);
    const send = () => {
      for (const res of bs.ingest(
        Array.from({ length: 500 }, (_, i) => node.send(reading(i), now)),
        now,
      )) {
        if (!res.ok) throw res.error;
        node.onReceipt(res.receipt);
      }
    };
    send();
    node.onRenewal(await bs.renew(node.renew(now), now), now);
    send();
    bs.close();

    const scale = await nbiotScaleMetrics(params, pkg, registry, directory);
    const throughput = Math.round(median(pipeline));
    return {
      "nbiot.bs.pipeline.readingsPerSec": {
        value: throughput,
        unit: "ops/s",
        baseline: { name: "AES-256-GCM decrypt + SHA-256 (node:crypto)", value: Math.round(median(base)) },
        target: { op: ">=", value: Math.round(median(base) * 0.5) },
      },
      "nbiot.bs.storeOpen.ms": {
        value: Math.round(median(opens) * 10) / 10,
        unit: "ms",
        baseline: {
          name: "bare DatabaseSync open + pragmas + one meta read",
          value: Math.round(median(bareOpens) * 10) / 10,
        },
      },
      "nbiot.device.asymmetricOpsPerEntry": {
        value: node.ops.asymmetricOps,
        unit: "x",
        target: { op: "<=", value: 3 },
      },
      ...scale,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
