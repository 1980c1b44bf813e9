/**
 * The NB-IoT paths whose cost must not grow with what is stored (issue item
 * "quadratic and linear paths"), each against a same-run baseline:
 *
 * - `nbiot.device.send.at50kUnconfirmed.us`: one `NbiotNode.send` with 50,000
 *   readings waiting unconfirmed (a node buffering while offline), against the
 *   same node with 1,000 waiting. Target: at most 1.5x.
 * - `nbiot.bs.reopen.at2M.ms`: opening a station (store open, flows, pending
 *   blocks) over 2,000,000 stored and batched blocks of 100 nodes, against a
 *   station of the same 100 nodes with 1,000 blocks. Target: at most 2x.
 * - `nbiot.app.acquire.oneOf100.usPerBlock`: `Application.acquire` of one node's
 *   10,000 blocks (served, verified, checked against anchors, decrypted) at a
 *   station with 1,000,000 blocks of 100 nodes, against the same node's blocks
 *   at a station of its own. Target: at most 2x.
 *
 * How the data is built: only the measured node's blocks go through the real
 * crypto (primary AES-GCM seal, ciphertext digest, block hash, chained); the
 * other nodes' blocks are synthetic rows (random hash, fixed 40-byte
 * ciphertext) written through the store's own `append` in chunks of 50,000
 * (one transaction each). The reopen store's batches are written with
 * `saveBatch` (synthetic roots, no tree); the acquisition stations seal their
 * batches for real (`BaseStation.seal`: tree and IBS signature), 131,072 blocks
 * a batch, so the 8 trees of the 1M station stay in the station's tree cache
 * (a cold station rebuilds a batch's tree once before serving from it; that
 * cost is the station's, not the verification's measured here).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type Hex, toHex } from "../sdk/index.ts";
import { AeadKey, type Pkg } from "../sdk/exports/crypto.ts";
import {
  type Block,
  blockHash,
  ciphertextDigest,
  ZERO_HASH,
  NbiotNode,
  extractApplicationKeys,
  extractNodeKeys,
  type NbiotParams,
  pkgStationKeys,
  openPrimaryKey,
  sealPrimary,
  Application,
  BaseStation,
  type AnchorReader,
  type Directory,
  type StationLink,
  type NewBlock,
  SqliteFlowStore,
} from "../sdk/exports/nbiot.ts";
import { Kind, Status } from "../sdk/exports/registry.ts";
import { median, type Metrics } from "./metrics.ts";

const randomId = () => toHex(crypto.getRandomValues(new Uint8Array(32)));
const T0 = 1_800_000_000_000;
const NODES = 100;
const CHUNK = 50_000;
const SEALED_BATCH = 131_072;

/** The measured node's blocks, real: sealed readings chained by hash. */
function realBlocks(params: NbiotParams, key: AeadKey, node: Hex, bs: Hex, count: number): NewBlock[] {
  const out: NewBlock[] = [];
  let prev: Uint8Array = ZERO_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const primary = sealPrimary(key, node, seq, new TextEncoder().encode(`{"kwh":${seq % 97}}`));
    const block: Block = { node, bs, seq, time: T0 + seq, digest: ciphertextDigest(primary), prev };
    const hash = blockHash(block);
    out.push({ block, hash, primary });
    prev = hash;
  }
  return out;
}

/**
 * Writes `perNode` blocks for each of `others` (synthetic) and `real` (the measured node's, if
 * any), interleaved as a busy station receives them, through `store.append` in chunks.
 */
function populate(
  store: SqliteFlowStore,
  others: readonly Hex[],
  perNode: number,
  real: readonly NewBlock[] = [],
): void {
  const primary = new Uint8Array(40);
  const digest = ciphertextDigest(primary);
  let chunk: NewBlock[] = [];
  const hashes = new Uint8Array(32 * CHUNK);
  let used = CHUNK;
  for (let seq = 1; seq <= perNode; seq++) {
    const row = seq <= real.length ? [real[seq - 1]!] : [];
    for (const node of others) {
      if (used === CHUNK) {
        for (let at = 0; at < hashes.length; at += 65_536) {
          crypto.getRandomValues(hashes.subarray(at, Math.min(at + 65_536, hashes.length)));
        }
        used = 0;
      }
      const hash = hashes.subarray(32 * used, 32 * used + 32);
      used++;
      row.push({ block: { node, bs: store.station, seq, time: T0 + seq, digest, prev: ZERO_HASH }, hash, primary });
    }
    chunk.push(...row);
    if (chunk.length >= CHUNK) {
      store.append(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) store.append(chunk);
}

/** Batches every stored block with synthetic records (no tree, no signature): what a reopen reads. */
function batchAll(store: SqliteFlowStore, total: number): void {
  for (let first = 1; first <= total; first += 65_536) {
    const last = Math.min(first + 65_535, total);
    const number = store.lastBatchNumber + 1;
    store.saveBatch({
      number,
      root: `0x${number.toString(16).padStart(64, "0")}` as Hex,
      leafCount: last - first + 1,
      firstId: first,
      lastId: last,
      signature: new Uint8Array(),
      createdAt: T0,
    });
  }
}

/** Microseconds per `send` over `sends` sends, for a node already holding `waiting` unconfirmed readings. */
function sendCost(
  params: NbiotParams,
  pkg: Pkg,
  registry: Map<string, { kind: Kind; status: Status }>,
  station: BaseStation,
  waiting: number,
  sends: number,
): Promise<number> {
  return (async () => {
    const id = randomId();
    registry.set(id, { kind: Kind.Device, status: Status.Active });
    const node = new NbiotNode(params, extractNodeKeys(pkg, id), crypto.getRandomValues(new Uint8Array(32)));
    node.accept(await station.authenticate(node.enter(station.id, T0), T0), T0);
    const reading = new TextEncoder().encode('{"celsius":21}');
    for (let i = 0; i < waiting; i++) node.send(reading, T0);
    const started = performance.now();
    for (let i = 0; i < sends; i++) node.send(reading, T0);
    return ((performance.now() - started) * 1000) / sends;
  })();
}

export async function nbiotScaleMetrics(
  params: NbiotParams,
  pkg: Pkg,
  registry: Map<string, { kind: Kind; status: Status }>,
  directory: Directory,
): Promise<Metrics> {
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-scale-"));
  const station = (id: Hex, path: string, maxBatch?: number): BaseStation => {
    registry.set(id, { kind: Kind.BaseStation, status: Status.Active });
    return new BaseStation({
      params,
      keys: pkgStationKeys(pkg, id),
      store: new SqliteFlowStore(join(dir, path), id),
      directory,
      stations: () => undefined,
      ...(maxBatch === undefined ? {} : { maxBatch }),
    });
  };
  try {
    // ---- send with 50k unconfirmed readings, against 1k
    const sender = station(randomId(), "send.sqlite");
    const small: number[] = [];
    const large: number[] = [];
    for (let run = 0; run < 3; run++) {
      small.push(await sendCost(params, pkg, registry, sender, 1_000, 2_000));
      large.push(await sendCost(params, pkg, registry, sender, 50_000, 2_000));
    }
    sender.close();

    // ---- reopen at 2M blocks, against 1k blocks of the same 100 nodes
    const others = Array.from({ length: NODES }, () => randomId());
    const build = (blocksPerNode: number, name: string): { id: Hex; path: string; tip: number } => {
      const id = randomId();
      const store = new SqliteFlowStore(join(dir, name), id);
      populate(store, others, blocksPerNode);
      batchAll(store, blocksPerNode * NODES);
      store.close();
      registry.set(id, { kind: Kind.BaseStation, status: Status.Active });
      return { id, path: join(dir, name), tip: blocksPerNode };
    };
    const reopen = (s: { id: Hex; path: string; tip: number }): number => {
      const started = performance.now();
      const bs = BaseStation.open({
        params,
        keys: pkgStationKeys(pkg, s.id),
        storePath: s.path,
        directory,
        stations: () => undefined,
      });
      const took = performance.now() - started;
      if (bs.flow(others[0]!)?.tip.seq !== s.tip) throw new Error("bench: the reopened station lost a tip");
      bs.close();
      return took;
    };
    const smallStore = build(10, "reopen-1k.sqlite");
    const largeStore = build(20_000, "reopen-2M.sqlite");
    const reopenSmall: number[] = [];
    const reopenLarge: number[] = [];
    // alternated, so both see the same machine
    for (let run = 0; run < 9; run++) {
      reopenSmall.push(reopen(smallStore));
      reopenLarge.push(reopen(largeStore));
    }
    rmSync(largeStore.path, { force: true });

    // ---- acquisition of one node's 10k blocks: 1 of 100 at a 1M-block station, against alone
    const appKeys = extractApplicationKeys(pkg, randomId());
    const anchors: AnchorReader = {
      anchorOf: (gateway) =>
        Promise.resolve({ gateway, sequence: 1n, time: BigInt(T0 / 1000 + 86_400), leafCount: 0n }),
      verifyReading: () => Promise.resolve(true),
    };
    const app = new Application({ params, keys: appKeys, anchors, directory });
    const nodeId = randomId();
    registry.set(nodeId, { kind: Kind.Device, status: Status.Active });
    const primaryKey = new AeadKey(
      openPrimaryKey(params, extractNodeKeys(pkg, nodeId), appKeys.id, app.provision(nodeId, T0)),
    );
    const perBlock = async (crowd: readonly Hex[], name: string): Promise<number> => {
      const id = randomId();
      const bs = station(id, name, SEALED_BATCH);
      populate(bs.store, crowd, 10_000, realBlocks(params, primaryKey, nodeId, id, 10_000));
      bs.close();
      const reopened = station(id, name, SEALED_BATCH);
      while ((await reopened.seal(T0 + 20_000)) !== undefined);
      const link = { acquire: (...a: Parameters<StationLink["acquire"]>) => reopened.acquire(...a) } as StationLink;
      const times: number[] = [];
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        const { readings } = await app.acquire(nodeId, 0, Number.MAX_SAFE_INTEGER, [link]);
        times.push(((performance.now() - started) * 1000) / readings.length);
        if (readings.length !== 10_000) throw new Error("bench: acquisition lost blocks");
      }
      reopened.close();
      rmSync(join(dir, name), { force: true });
      return median(times);
    };
    const alone = await perBlock([], "alone.sqlite");
    const crowded = await perBlock(
      Array.from({ length: NODES - 1 }, () => randomId()),
      "crowd.sqlite",
    );

    const us = (v: number) => Math.round(v * 100) / 100;
    return {
      "nbiot.device.send.at50kUnconfirmed.us": {
        value: us(median(large)),
        unit: "us",
        baseline: { name: "the same node at 1k unconfirmed", value: us(median(small)) },
        target: { op: "<=", value: us(median(small) * 1.5) },
      },
      "nbiot.bs.reopen.at2M.ms": {
        value: us(median(reopenLarge)),
        unit: "ms",
        baseline: { name: "the same 100 nodes with 1k blocks", value: us(median(reopenSmall)) },
        target: { op: "<=", value: us(median(reopenSmall) * 2) },
      },
      "nbiot.app.acquire.oneOf100.usPerBlock": {
        value: us(crowded),
        unit: "us",
        baseline: { name: "the same node alone at its station", value: us(alone) },
        target: { op: "<=", value: us(alone * 2) },
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
