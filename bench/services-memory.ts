/**
 * Memory after one million readings (issue 15, "Tests and figures"; seed 000's base station):
 * a base station's store and ingest path — `BaseStation` on its SQLite file store, the same
 * object the service runs behind CoAP — fed readings from 50 authenticated NB-IoT nodes in
 * calls of 1,000 frames (what one turn of the CoAP service's event loop hands it under load),
 * sealed into signed batches every 10,000 readings (the service's default batch size), each
 * receipt taken back by its node. Heap and RSS are read after two full collections at 100,000,
 * 500,000 and 1,000,000 readings. Runs in a child process of its own (bench/services-child.ts,
 * `--expose-gc`), so nothing else of the bench is in its heap.
 *
 * The 50 nodes are replaced by 50 new ones (registered, entering the station) after every
 * 100,000 readings: an `NbiotNode` keeps every receipt it took (`receipts`), so nodes living
 * through the whole feed would add their own growth (~0.4 KB a reading) to the station's. With
 * the replacement the nodes hold the same 100,000 receipts at every point read, and the station
 * sees 500 devices in all, each with its flow and session.
 *
 * Batches are not anchored here (no chain): the station keeps no per-batch state in memory
 * (its tree cache holds at most a few trees), so anchoring would not change the curve.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type Hex, toHex } from "../sdk/core/bytes.ts";
import { mclBackend } from "../sdk/core/crypto/backend.ts";
import { Pkg } from "../sdk/core/crypto/identity.ts";
import { NbiotNode } from "../sdk/core/nbiot/device.ts";
import { extractNodeKeys, nbiotParams, pkgStationKeys } from "../sdk/core/nbiot/params.ts";
import { Kind, Status } from "../sdk/core/registry.ts";
import { BaseStation } from "../sdk/nbiot/base-station.ts";
import type { Directory } from "../sdk/nbiot/ports.ts";

const NODES = 50;
/** Readings after which the sending nodes are replaced by new ones. */
const GENERATION = 100_000;
const CALL = 1_000;
const BATCH = 10_000;
/** Where memory is read (readings ingested). */
export const MEMORY_POINTS = [100_000, 500_000, 1_000_000] as const;

export interface MemoryPoint {
  readonly readings: number;
  readonly heapUsed: number;
  readonly rss: number;
  /** Seconds since the feed started. */
  readonly seconds: number;
}

const randomId = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("bench: the memory child runs with --expose-gc");
  gc();
  gc();
}

/** Feeds a fresh station MEMORY_POINTS' last count of readings; memory at each point (also told to `progress`). */
export async function feedStation(progress: (point: MemoryPoint) => void): Promise<MemoryPoint[]> {
  const backend = await mclBackend();
  const pkg = new Pkg(backend);
  const params = nbiotParams(backend, pkg.masterPublic);
  const registry = new Map<string, { kind: Kind; status: Status }>();
  const directory: Directory = { lookup: (id) => Promise.resolve(registry.get(id.toLowerCase())) };
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-memory-"));
  try {
    const bsId = randomId();
    registry.set(bsId, { kind: Kind.BaseStation, status: Status.Active });
    const bs = BaseStation.open({
      params,
      keys: pkgStationKeys(pkg, bsId),
      storePath: join(dir, "station.sqlite"),
      directory,
      stations: () => undefined,
      maxBatch: BATCH,
    });
    const enter = async (): Promise<NbiotNode[]> => {
      const nodes: NbiotNode[] = [];
      for (let i = 0; i < NODES; i++) {
        const id = randomId();
        registry.set(id, { kind: Kind.Device, status: Status.Active });
        const node = new NbiotNode(params, extractNodeKeys(pkg, id), crypto.getRandomValues(new Uint8Array(32)));
        const now = Date.now();
        node.accept(await bs.authenticate(node.enter(bsId, now), now), now);
        nodes.push(node);
      }
      return nodes;
    };
    let nodes = await enter();
    const encoder = new TextEncoder();
    const points: MemoryPoint[] = [];
    const started = performance.now();
    let fed = 0;
    for (const target of MEMORY_POINTS) {
      while (fed < target) {
        const now = Date.now();
        const senders = Array.from({ length: CALL }, (_, k) => nodes[(fed + k) % NODES]!);
        const frames = senders.map((node, k) =>
          node.send(encoder.encode(JSON.stringify({ celsius: 20 + ((fed + k) % 15), at: now })), now),
        );
        const results = bs.ingest(frames, now);
        results.forEach((r, k) => {
          if (!r.ok) throw r.error;
          senders[k]!.onReceipt(r.receipt);
        });
        fed += CALL;
        if (fed % BATCH === 0) while ((await bs.seal(now)) !== undefined);
        if (fed % GENERATION === 0 && fed < target) nodes = await enter();
      }
      collect();
      const m = process.memoryUsage();
      const point = {
        readings: fed,
        heapUsed: m.heapUsed,
        rss: m.rss,
        seconds: (performance.now() - started) / 1000,
      };
      points.push(point);
      progress(point);
      if (fed < MEMORY_POINTS[MEMORY_POINTS.length - 1]!) nodes = await enter();
    }
    bs.close();
    return points;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
