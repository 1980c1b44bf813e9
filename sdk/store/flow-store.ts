/**
 * A base station's store (seed 000's transport layer keeps the flow chains):
 * blocks with their primary ciphertexts, each node's flow tip, signed batches
 * and their on-chain anchors, and the handover records that link a flow into
 * this station. One SQLite file per station via `node:sqlite` (WAL, one
 * transaction per ingested chunk), so a restart loses nothing that was
 * confirmed and a re-sent frame is recognised, not stored twice: (node, seq) is
 * unique. The digest field is not stored: it is the SHA-256 of the stored
 * ciphertext and is recomputed on read.
 *
 * A store belongs to one station (its id is kept in the file and checked on
 * open), so blocks carry no station column; nodes are stored once and blocks
 * refer to them by a small integer.
 *
 * Write path: blocks are unique on (seq, node) — an index that grows at its
 * end, since every node's sequence numbers rise together — so an ingest
 * transaction touches a few pages however many nodes it mixes (a (node, seq)
 * index touches one page per node and was measured 3.5x slower). The (node,
 * seq) index that per-node range queries need is written when blocks are
 * sealed into a batch, sorted, in one statement.
 *
 * Reopen path: each node's last block here is kept in its own `tips` row
 * (node ref, seq, block id), written in the same transaction as the blocks, so
 * a restarted station reads one row per node, however many blocks it holds. A
 * file made before `tips` existed gets the table filled from its blocks once,
 * at the first open.
 *
 * Batches cover contiguous ranges of block ids (blocks are batched in arrival
 * order), so "not yet batched" is simply "id after the last batch" and a
 * block's leaf index is its id minus the batch's first id.
 */
import { type DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

import { fromHex, type Hex, toHex } from "../core/bytes.ts";
import { type Block, ciphertextDigest } from "../core/nbiot/block.ts";
import type { FlowState } from "../core/nbiot/flow.ts";
import { InvalidInputError, ProtocolError } from "../errors.ts";
import {
  checkNotBehindChain,
  inspectStore,
  isConstraint,
  openStore,
  type StoreOpenOptions,
  type StoreSchema,
  transaction,
  u8,
  verifyStore,
} from "./sqlite.ts";

const SCHEMA_VERSION = "1";

/** A block as the station keeps it. */
export interface StoredBlock {
  readonly id: number;
  readonly block: Block;
  readonly hash: Uint8Array;
  /** The primary ciphertext (opaque to the station). */
  readonly primary: Uint8Array;
}

/** A block about to be stored (the store assigns its id). */
export type NewBlock = Omit<StoredBlock, "id">;

/** Where a node's flow stands at this station (the state of the flow-chain rules, `sdk/core/nbiot/flow.ts`). */
export type { FlowState };

export interface AnchorInfo {
  readonly sequence: bigint;
  readonly txHash: string;
  readonly time: bigint;
  /** The block at which the anchor was seen on chain (see `anchorSeenAt`). */
  readonly block?: number;
}

/** A signed anchor transaction as the store keeps it (see `DataAnchorClient.signAnchor`). */
export interface AnchorTx {
  readonly nonce: number;
  readonly hash: Hex;
  readonly raw: Hex;
}

/** Where a batch stands on chain (see `SqliteFlowStore.anchorState`). */
export type AnchorState = "unsent" | "pending" | "anchored" | "final";

/** A signed batch of block hashes. */
export interface BatchRecord {
  readonly number: number;
  readonly root: Hex;
  readonly leafCount: number;
  readonly firstId: number;
  readonly lastId: number;
  /** The station's Cha–Cheon signature over `batchMessage`. */
  readonly signature: Uint8Array;
  readonly createdAt: number;
  readonly anchor?: AnchorInfo;
}

interface Row {
  readonly [column: string]: unknown;
}

/** The flow store's tables. */
const FLOW_SCHEMA: StoreSchema = {
  version: Number(SCHEMA_VERSION),
  pragmas: "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 8192;",
  ddl: `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS nodes (ref INTEGER PRIMARY KEY, node BLOB NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS blocks (
    id INTEGER PRIMARY KEY, node_ref INTEGER NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL,
    prev BLOB NOT NULL, hash BLOB NOT NULL, primary_ct BLOB NOT NULL);
  CREATE UNIQUE INDEX IF NOT EXISTS blocks_seq_node ON blocks (seq, node_ref);
  CREATE TABLE IF NOT EXISTS node_index (
    node_ref INTEGER NOT NULL, seq INTEGER NOT NULL, id INTEGER NOT NULL,
    PRIMARY KEY (node_ref, seq)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS flows (
    node BLOB PRIMARY KEY, tip_bs BLOB NOT NULL, tip_seq INTEGER NOT NULL, tip_hash BLOB NOT NULL,
    tip_time INTEGER NOT NULL, handed_to BLOB) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS batches (
    number INTEGER PRIMARY KEY, root BLOB NOT NULL UNIQUE, leaf_count INTEGER NOT NULL,
    first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, signature BLOB NOT NULL, created INTEGER NOT NULL,
    anchor_seq TEXT, anchor_tx TEXT, anchor_time TEXT);
  CREATE INDEX IF NOT EXISTS batches_last_id ON batches (last_id);
  CREATE TABLE IF NOT EXISTS handovers (
    id INTEGER PRIMARY KEY, from_bs BLOB NOT NULL, node BLOB NOT NULL, tip_seq INTEGER NOT NULL,
    nonce BLOB NOT NULL UNIQUE, record BLOB NOT NULL);
  CREATE INDEX IF NOT EXISTS handovers_node_seq ON handovers (node, tip_seq);
`,
};

/** What a station checks against the chain before it opens its store for writing (`SqliteFlowStore.inspect`). */
export interface FlowStoreSummary {
  /** The number of the last batch (0: none). */
  readonly lastBatch: number;
  /** The root of batch `at` (the number asked for), if the store holds it. */
  readonly rootAt: Hex | undefined;
}

export class SqliteFlowStore {
  readonly path: string;
  /** The station this store belongs to. */
  readonly station: Hex;
  readonly #db: DatabaseSync;
  readonly #insertBlock: StatementSync;
  readonly #upsertFlow: StatementSync;
  readonly #upsertTip: StatementSync;
  readonly #blockBySeq: StatementSync;
  readonly #blocksByTime: StatementSync;
  readonly #pending: StatementSync;
  readonly #batchOf: StatementSync;
  readonly #hashesIn: StatementSync;
  readonly #insertNode: StatementSync;
  readonly #refs = new Map<Hex, number>();
  #replayStatements:
    { seen: StatementSync; remember: StatementSync; entry: StatementSync; setEntry: StatementSync } | undefined;
  #lastBatch: { number: number; lastId: number };

  /**
   * Opens `station`'s store at `path` (`":memory:"` for a throw-away store),
   * checked before anything is written (`openStore`): a missing file is
   * created (`mode`: `create` or `open` to say which is meant), anything else
   * must be this station's intact flow store, or `StoreError` says why not.
   */
  constructor(path: string, station: Hex, options: StoreOpenOptions = {}) {
    if (typeof path !== "string" || path.length === 0) throw new InvalidInputError("a store path is required");
    this.path = path;
    this.station = toHex(fromHex(station, "station", 32));
    this.#db = openStore(path, { kind: "flow", owner: this.station }, FLOW_SCHEMA, options.mode ?? "auto", options);
    try {
      this.#ensureTips();
      for (const r of this.#db.prepare("SELECT ref, node FROM nodes").all() as Row[]) {
        this.#refs.set(toHex(u8(r.node)), Number(r.ref));
      }
      this.#insertNode = this.#db.prepare("INSERT INTO nodes (node) VALUES (?)");
      this.#insertBlock = this.#db.prepare(
        "INSERT INTO blocks (node_ref, seq, time, prev, hash, primary_ct) VALUES (?, ?, ?, ?, ?, ?)",
      );
      this.#upsertFlow = this.#db.prepare(
        `INSERT INTO flows (node, tip_bs, tip_seq, tip_hash, tip_time, handed_to) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (node) DO UPDATE SET tip_bs = excluded.tip_bs, tip_seq = excluded.tip_seq,
         tip_hash = excluded.tip_hash, tip_time = excluded.tip_time, handed_to = excluded.handed_to`,
      );
      this.#upsertTip = this.#db.prepare(
        `INSERT INTO tips (node_ref, seq, id) VALUES (?, ?, ?)
       ON CONFLICT (node_ref) DO UPDATE SET seq = excluded.seq, id = excluded.id WHERE excluded.seq > tips.seq`,
      );
      this.#blockBySeq = this.#db.prepare("SELECT * FROM blocks WHERE seq = ? AND node_ref = ?");
      this.#blocksByTime = this.#db.prepare(
        `SELECT b.* FROM node_index n JOIN blocks b ON b.id = n.id
       WHERE n.node_ref = ? AND n.seq > ? AND b.time >= ? AND b.time <= ? ORDER BY n.seq LIMIT ?`,
      );
      this.#pending = this.#db.prepare("SELECT id, hash FROM blocks WHERE id > ? ORDER BY id LIMIT ?");
      this.#batchOf = this.#db.prepare("SELECT * FROM batches WHERE last_id >= ? ORDER BY last_id LIMIT 1");
      this.#hashesIn = this.#db.prepare("SELECT hash FROM blocks WHERE id >= ? AND id <= ? ORDER BY id");
      const last = this.#db.prepare("SELECT number, last_id FROM batches ORDER BY number DESC LIMIT 1").get() as
        Row | undefined;
      this.#lastBatch = { number: Number(last?.number ?? 0), lastId: Number(last?.last_id ?? 0) };
    } catch (e) {
      // a role that cannot start on the file leaves it closed (and unlocked)
      this.#db.close();
      throw e;
    }
  }

  /**
   * Runs SQLite's full integrity check (`PRAGMA quick_check`, reads the whole file): an open checks
   * the whole file only when it is small or was not closed cleanly (docs/stores.md).
   * `StoreError` "corrupt" lists what is wrong.
   */
  verify(): void {
    verifyStore(this.#db, this.path);
  }

  /**
   * The `tips` table: each node's last block here. Made and filled from the blocks once, in one
   * transaction, when the file has none (a store written before tips were kept).
   */
  #ensureTips(): void {
    const exists = this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tips'").get();
    if (exists !== undefined) return;
    this.#transaction(() => {
      this.#db.exec(`
        CREATE TABLE tips (node_ref INTEGER PRIMARY KEY, seq INTEGER NOT NULL, id INTEGER NOT NULL);
        INSERT INTO tips (node_ref, seq, id) SELECT node_ref, MAX(seq), id FROM blocks GROUP BY node_ref;
      `);
    });
  }

  /** The small integer standing for `node` (made on first use, inside the caller's transaction). */
  #ref(node: Hex): number {
    let ref = this.#refs.get(node);
    if (ref === undefined) {
      ref = Number(this.#insertNode.run(fromHex(node, "node", 32)).lastInsertRowid);
      this.#refs.set(node, ref);
    }
    return ref;
  }

  #transaction<T>(work: () => T): T {
    const refsBefore = this.#refs.size;
    // node refs made inside the transaction are gone with it (the map keeps insertion order)
    return transaction(this.#db, work, () => {
      for (const node of [...this.#refs.keys()].slice(refsBefore)) this.#refs.delete(node);
    });
  }

  /** A new store for `station` at `path`; refuses a file already there (`StoreError` "exists"). */
  static create(path: string, station: Hex): SqliteFlowStore {
    return new SqliteFlowStore(path, station, { mode: "create" });
  }

  /** `station`'s existing store at `path`; refuses a missing or 0-byte file (`StoreError` "missing", "empty"). */
  static open(path: string, station: Hex): SqliteFlowStore {
    return new SqliteFlowStore(path, station, { mode: "open" });
  }

  /**
   * Reads `station`'s store at `path` as an open checks it, without opening it for writing (nothing
   * is written, the log is not checkpointed): its last batch number and the root of batch `at`.
   * `undefined` when there is no file; `StoreError` as at open for a file that is not this store.
   */
  static inspect(path: string, station: Hex, at = 0, options: StoreOpenOptions = {}): FlowStoreSummary | undefined {
    const owner = toHex(fromHex(station, "station", 32));
    return inspectStore(
      path,
      { kind: "flow", owner },
      FLOW_SCHEMA,
      (db) => {
        const last = db.prepare("SELECT MAX(number) AS n FROM batches").get() as Row;
        const row = db.prepare("SELECT root FROM batches WHERE number = ?").get(at) as Row | undefined;
        return { lastBatch: Number(last.n ?? 0), rootAt: row === undefined ? undefined : toHex(u8(row.root)) };
      },
      options,
    );
  }

  /**
   * Refuses this store if the chain records more anchors of this station
   * than it holds batches (`StoreError` "behind-chain"): every anchor of a
   * station is one of its batches, so the file is an older copy (restored
   * without its log, or from a backup) and would refuse the station's own
   * nodes as forgers.
   */
  checkAgainstChain(chainHead: bigint): void {
    checkNotBehindChain(this.path, BigInt(this.#lastBatch.number), chainHead);
  }

  /**
   * Every flow this station knows, to rebuild its in-memory view after a
   * restart: the `flows` row (written only at handovers) or the station's own
   * last block of the flow (its `tips` row), whichever is further along. One
   * row per node is read, not the blocks.
   */
  flows(): FlowState[] {
    const out = new Map<Hex, FlowState>();
    for (const r of this.#db.prepare("SELECT * FROM flows").all() as Row[]) {
      const node = toHex(u8(r.node));
      out.set(node, {
        node,
        tip: { bs: toHex(u8(r.tip_bs)), seq: Number(r.tip_seq), hash: u8(r.tip_hash), time: Number(r.tip_time) },
        ...(r.handed_to == null ? {} : { handedOverTo: toHex(u8(r.handed_to)) }),
      });
    }
    const lasts = this.#db
      .prepare(
        `SELECT n.node AS node, b.seq AS seq, b.hash AS hash, b.time AS time
         FROM tips t JOIN nodes n ON n.ref = t.node_ref JOIN blocks b ON b.id = t.id`,
      )
      .all() as Row[];
    for (const r of lasts) {
      const node = toHex(u8(r.node));
      const known = out.get(node);
      if (known !== undefined && known.tip.seq >= Number(r.seq)) continue;
      out.set(node, { node, tip: { bs: this.station, seq: Number(r.seq), hash: u8(r.hash), time: Number(r.time) } });
    }
    return [...out.values()];
  }

  /** `node`'s flow as `flows()` would give it (one lookup, for a cache in front of the store). */
  flow(node: Hex): FlowState | undefined {
    const key = fromHex(node, "node", 32);
    const r = this.#db.prepare("SELECT * FROM flows WHERE node = ?").get(key) as Row | undefined;
    const known: FlowState | undefined =
      r === undefined
        ? undefined
        : {
            node,
            tip: { bs: toHex(u8(r.tip_bs)), seq: Number(r.tip_seq), hash: u8(r.tip_hash), time: Number(r.tip_time) },
            ...(r.handed_to == null ? {} : { handedOverTo: toHex(u8(r.handed_to)) }),
          };
    const last = this.#db
      .prepare(
        `SELECT b.seq AS seq, b.hash AS hash, b.time AS time
         FROM nodes n JOIN tips t ON t.node_ref = n.ref JOIN blocks b ON b.id = t.id WHERE n.node = ?`,
      )
      .get(key) as Row | undefined;
    if (last === undefined || (known !== undefined && known.tip.seq >= Number(last.seq))) return known;
    return { node, tip: { bs: this.station, seq: Number(last.seq), hash: u8(last.hash), time: Number(last.time) } };
  }

  /**
   * Stores blocks, all or nothing; returns their ids. A flow's tip is its last block: each node's
   * `tips` row moves to its highest block of the chunk, in the same transaction (no flow row changes).
   */
  append(blocks: readonly NewBlock[]): number[] {
    return this.#transaction(() => {
      const ids: number[] = [];
      const tips = new Map<number, { seq: number; id: number }>();
      for (const { block: b, hash, primary } of blocks) {
        if (b.bs !== this.station) {
          throw new InvalidInputError("a station stores only the blocks it made", { bs: b.bs, station: this.station });
        }
        try {
          const ref = this.#ref(b.node);
          const id = Number(this.#insertBlock.run(ref, b.seq, b.time, b.prev, hash, primary).lastInsertRowid);
          ids.push(id);
          const tip = tips.get(ref);
          if (tip === undefined || b.seq > tip.seq) tips.set(ref, { seq: b.seq, id });
        } catch (cause) {
          if (!isConstraint(cause)) throw cause;
          throw new ProtocolError("conflict", "block already stored", {
            node: b.node,
            seq: b.seq,
            cause: String(cause),
          });
        }
      }
      for (const [ref, tip] of tips) this.#upsertTip.run(ref, tip.seq, tip.id);
      return ids;
    });
  }

  #writeFlow(f: FlowState): void {
    this.#upsertFlow.run(
      fromHex(f.node, "node", 32),
      fromHex(f.tip.bs, "tip.bs", 32),
      f.tip.seq,
      f.tip.hash,
      f.tip.time,
      f.handedOverTo === undefined ? null : fromHex(f.handedOverTo, "handedOverTo", 32),
    );
  }

  /** Records a flow's state at a handover out (a handover in goes through `saveHandover`). */
  setFlow(flow: FlowState): void {
    this.#writeFlow(flow);
  }

  #toBlock(node: Hex, r: Row): StoredBlock {
    const primary = u8(r.primary_ct);
    return {
      id: Number(r.id),
      block: {
        node,
        bs: this.station,
        seq: Number(r.seq),
        time: Number(r.time),
        digest: ciphertextDigest(primary),
        prev: u8(r.prev),
      },
      hash: u8(r.hash),
      primary,
    };
  }

  block(node: Hex, seq: number): StoredBlock | undefined {
    const ref = this.#refs.get(node);
    if (ref === undefined) return undefined;
    const r = this.#blockBySeq.get(seq, ref) as Row | undefined;
    return r === undefined ? undefined : this.#toBlock(node, r);
  }

  /** `node`'s sealed (batched) blocks after `afterSeq` with `from <= time <= to`, in sequence order. */
  blocksInRange(node: Hex, from: number, to: number, afterSeq: number, limit: number): StoredBlock[] {
    const ref = this.#refs.get(node);
    if (ref === undefined) return [];
    const args: SQLInputValue[] = [ref, afterSeq, from, to, limit];
    return (this.#blocksByTime.all(...args) as Row[]).map((r) => this.#toBlock(node, r));
  }

  /** Blocks not in any batch yet, oldest first. */
  pending(limit: number): { id: number; hash: Uint8Array }[] {
    return (this.#pending.all(this.#lastBatch.lastId, limit) as Row[]).map((r) => ({
      id: Number(r.id),
      hash: u8(r.hash),
    }));
  }

  /** The latest date on the blocks with ids in [firstId, lastId] (undefined: none). */
  latestTime(firstId: number, lastId: number): number | undefined {
    const r = this.#db
      .prepare("SELECT MAX(time) AS t FROM blocks WHERE id >= ? AND id <= ?")
      .get(firstId, lastId) as Row;
    return r.t == null ? undefined : Number(r.t);
  }

  /** The writer's `synchronous` level (`StoreOpenOptions.synchronous`): `FULL` fsyncs every commit. */
  get synchronous(): "OFF" | "NORMAL" | "FULL" | "EXTRA" {
    const r = this.#db.prepare("PRAGMA synchronous").get() as { synchronous: number };
    return (["OFF", "NORMAL", "FULL", "EXTRA"] as const)[r.synchronous]!;
  }

  get lastBatchNumber(): number {
    return this.#lastBatch.number;
  }

  /** Keeps a signed batch and indexes its blocks by (node, seq), together. */
  saveBatch(batch: BatchRecord): void {
    if (batch.number !== this.#lastBatch.number + 1 || batch.firstId <= this.#lastBatch.lastId) {
      throw new InvalidInputError("batches are saved in order over fresh blocks", {
        number: batch.number,
        expected: this.#lastBatch.number + 1,
      });
    }
    this.#transaction(() => {
      this.#db
        .prepare(
          `INSERT INTO node_index (node_ref, seq, id)
           SELECT node_ref, seq, id FROM blocks WHERE id >= ? AND id <= ? ORDER BY node_ref, seq`,
        )
        .run(batch.firstId, batch.lastId);
      this.#db
        .prepare(
          `INSERT INTO batches (number, root, leaf_count, first_id, last_id, signature, created)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          batch.number,
          fromHex(batch.root, "root", 32),
          batch.leafCount,
          batch.firstId,
          batch.lastId,
          batch.signature,
          batch.createdAt,
        );
    });
    this.#lastBatch = { number: batch.number, lastId: batch.lastId };
  }

  #toBatch(r: Row): BatchRecord {
    return {
      number: Number(r.number),
      root: toHex(u8(r.root)),
      leafCount: Number(r.leaf_count),
      firstId: Number(r.first_id),
      lastId: Number(r.last_id),
      signature: u8(r.signature),
      createdAt: Number(r.created),
      ...(r.anchor_seq == null
        ? {}
        : {
            anchor: {
              sequence: BigInt(r.anchor_seq as string),
              txHash: String(r.anchor_tx),
              time: BigInt(r.anchor_time as string),
            },
          }),
    };
  }

  /** The batch holding block `id`, if it is batched. */
  batchOf(id: number): BatchRecord | undefined {
    const r = this.#batchOf.get(id) as Row | undefined;
    if (r === undefined || Number(r.first_id) > id) return undefined;
    return this.#toBatch(r);
  }

  batch(number: number): BatchRecord | undefined {
    const r = this.#db.prepare("SELECT * FROM batches WHERE number = ?").get(number) as Row | undefined;
    return r === undefined ? undefined : this.#toBatch(r);
  }

  /** The block hashes of a batch, in leaf order. */
  batchHashes(batch: BatchRecord): Uint8Array[] {
    return (this.#hashesIn.all(batch.firstId, batch.lastId) as Row[]).map((r) => u8(r.hash));
  }

  unanchored(): BatchRecord[] {
    return (this.#db.prepare("SELECT * FROM batches WHERE anchor_seq IS NULL ORDER BY number").all() as Row[]).map(
      (r) => this.#toBatch(r),
    );
  }

  /** Records where batch `number` was found anchored (not yet final: see `markFinal`). */
  markAnchored(number: number, anchor: AnchorInfo): void {
    this.#transaction(() => {
      this.#db
        .prepare("UPDATE batches SET anchor_seq = ?, anchor_tx = ?, anchor_time = ? WHERE number = ?")
        .run(anchor.sequence.toString(), anchor.txHash, anchor.time.toString(), number);
      if (anchor.block !== undefined) {
        this.#anchorTables()
          .prepare("INSERT OR REPLACE INTO anchor_seen (batch, block) VALUES (?, ?)")
          .run(number, anchor.block);
      }
    });
  }

  /**
   * The block at which batch `number`'s anchor was seen on chain (`undefined`: not recorded): a
   * later read at a block not lower than it that misses the anchor proves a reorganisation removed it.
   */
  anchorSeenAt(number: number): number | undefined {
    const row = this.#anchorTables().prepare("SELECT block FROM anchor_seen WHERE batch = ?").get(number) as
      Row | undefined;
    return row === undefined ? undefined : Number(row.block);
  }

  // ------------------------------------------------- anchor transactions, finality

  #anchorTablesMade = false;

  /** The tables of anchor transactions and final anchors (made on first use, kept in the same file). */
  #anchorTables(): DatabaseSync {
    if (!this.#anchorTablesMade) {
      this.#db.exec(`
        CREATE TABLE IF NOT EXISTS anchor_txs (
          id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, nonce INTEGER NOT NULL,
          hash TEXT NOT NULL UNIQUE, raw TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS anchor_txs_batch ON anchor_txs (batch, id);
        CREATE TABLE IF NOT EXISTS anchor_final (batch INTEGER PRIMARY KEY, block INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS anchor_seen (batch INTEGER PRIMARY KEY, block INTEGER NOT NULL);
      `);
      this.#anchorTablesMade = true;
    }
    return this.#db;
  }

  /**
   * Keeps a signed anchor transaction of batch `number` before it is sent, so
   * a restart finds it (to send again, replace, or find mined) instead of
   * signing a second one.
   */
  trackAnchorTx(number: number, tx: AnchorTx): void {
    this.#anchorTables()
      .prepare("INSERT OR IGNORE INTO anchor_txs (batch, nonce, hash, raw) VALUES (?, ?, ?, ?)")
      .run(number, tx.nonce, tx.hash, tx.raw);
  }

  /** The anchor transactions of batch `number` signed so far, oldest first. */
  anchorTxs(number: number): AnchorTx[] {
    const rows = this.#anchorTables()
      .prepare("SELECT nonce, hash, raw FROM anchor_txs WHERE batch = ? ORDER BY id")
      .all(number) as Row[];
    return rows.map((r) => ({ nonce: Number(r.nonce), hash: String(r.hash) as Hex, raw: String(r.raw) as Hex }));
  }

  /** Forgets batch `number`'s anchor: a chain reorganisation removed it, so it is anchored again. */
  unmarkAnchored(number: number): void {
    this.#transaction(() => {
      this.#db
        .prepare("UPDATE batches SET anchor_seq = NULL, anchor_tx = NULL, anchor_time = NULL WHERE number = ?")
        .run(number);
      this.#anchorTables().prepare("DELETE FROM anchor_final WHERE batch = ?").run(number);
      this.#db.prepare("DELETE FROM anchor_seen WHERE batch = ?").run(number);
    });
  }

  /** Records that batch `number`'s anchor is final (present at final block `block`); it is not checked again. */
  markFinal(number: number, block: number): void {
    this.#anchorTables().prepare("INSERT OR REPLACE INTO anchor_final (batch, block) VALUES (?, ?)").run(number, block);
  }

  /** Anchored batches whose anchor is not final yet, oldest first: a reorganisation may still remove them. */
  unsettled(): BatchRecord[] {
    this.#anchorTables();
    const rows = this.#db
      .prepare(
        `SELECT * FROM batches WHERE anchor_seq IS NOT NULL
         AND number NOT IN (SELECT batch FROM anchor_final) ORDER BY number`,
      )
      .all() as Row[];
    return rows.map((r) => this.#toBatch(r));
  }

  /**
   * Where batch `number` stands on chain as this store knows it: `unsent`, a
   * transaction `pending`, `anchored` (not yet final) or `final`; `undefined`
   * when there is no such batch.
   */
  anchorState(number: number): AnchorState | undefined {
    const batch = this.batch(number);
    if (batch === undefined) return undefined;
    const db = this.#anchorTables();
    if (batch.anchor !== undefined) {
      const final = db.prepare("SELECT 1 FROM anchor_final WHERE batch = ?").get(number) !== undefined;
      return final ? "final" : "anchored";
    }
    return this.anchorTxs(number).length > 0 ? "pending" : "unsent";
  }

  /** Keeps a handover record and the flow it starts here, together; a record kept before is refused. */
  saveHandover(
    record: { readonly from: Hex; readonly node: Hex; readonly tipSeq: number; readonly requestNonce: Uint8Array },
    bytes: Uint8Array,
    flow: FlowState,
  ): void {
    this.#transaction(() => {
      try {
        this.#db
          .prepare("INSERT INTO handovers (from_bs, node, tip_seq, nonce, record) VALUES (?, ?, ?, ?, ?)")
          .run(
            fromHex(record.from, "from", 32),
            fromHex(record.node, "node", 32),
            record.tipSeq,
            record.requestNonce,
            bytes,
          );
      } catch (cause) {
        if (!isConstraint(cause)) throw cause;
        throw new ProtocolError("replay", "this handover record was already used", { cause: String(cause) });
      }
      this.#writeFlow(flow);
    });
  }

  /** The latest handover record that brought `node`'s flow here at tip `tipSeq`. */
  handoverAt(node: Hex, tipSeq: number): Uint8Array | undefined {
    const r = this.#db
      .prepare("SELECT record FROM handovers WHERE node = ? AND tip_seq = ? ORDER BY id DESC LIMIT 1")
      .get(fromHex(node, "node", 32), tipSeq) as Row | undefined;
    return r === undefined ? undefined : u8(r.record);
  }

  // ------------------------------------------------- replay state (entries)

  /**
   * The tables of the station's replay state, made on first use: the nonces its
   * replay guards saw (each kept until `until`) and each node's latest entry
   * (the node's time on its latest request), so a restart forgets neither.
   */
  #replay(): { seen: StatementSync; remember: StatementSync; entry: StatementSync; setEntry: StatementSync } {
    if (this.#replayStatements === undefined) {
      this.#db.exec(`
        CREATE TABLE IF NOT EXISTS seen_nonces (
          scope TEXT NOT NULL, key TEXT NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS seen_nonces_until ON seen_nonces (until);
        CREATE TABLE IF NOT EXISTS latest_entries (node BLOB PRIMARY KEY, time INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS latest_entries_time ON latest_entries (time);
      `);
      this.#replayStatements = {
        seen: this.#db.prepare("SELECT key, until FROM seen_nonces WHERE scope = ? AND until >= ? ORDER BY until"),
        remember: this.#db.prepare("INSERT OR REPLACE INTO seen_nonces (scope, key, until) VALUES (?, ?, ?)"),
        entry: this.#db.prepare("SELECT time FROM latest_entries WHERE node = ?"),
        setEntry: this.#db.prepare(
          `INSERT INTO latest_entries (node, time) VALUES (?, ?)
           ON CONFLICT (node) DO UPDATE SET time = MAX(time, excluded.time)`,
        ),
      };
    }
    return this.#replayStatements;
  }

  /** Keeps a nonce a replay guard of `scope` saw, until `until` (ms). */
  rememberNonce(scope: string, key: string, until: number): void {
    this.#replay().remember.run(scope, key, until);
  }

  /** The nonces of `scope` kept until `now` or later, oldest expiry first (to restore a replay guard). */
  nonces(scope: string, now: number): { key: string; until: number }[] {
    return (this.#replay().seen.all(scope, now) as Row[]).map((r) => ({ key: String(r.key), until: Number(r.until) }));
  }

  /** `node`'s latest entry this station knows of (the node's time on it). */
  latestEntry(node: Hex): number | undefined {
    const r = this.#replay().entry.get(fromHex(node, "node", 32)) as Row | undefined;
    return r === undefined ? undefined : Number(r.time);
  }

  /** Records `node`'s entry at `time` (a later one already kept stays). */
  setLatestEntry(node: Hex, time: number): void {
    this.#replay().setEntry.run(fromHex(node, "node", 32), time);
  }

  /**
   * Forgets replay state no check can need under a clock reading `now`: nonces
   * kept until before `now`, or until after `latest` (recorded while the clock
   * ran ahead), and entries dated before `entriesBefore` (a request that old is
   * refused as stale anyway).
   */
  forgetReplayState(now: number, latest: number, entriesBefore: number): void {
    this.#replay();
    this.#db.prepare("DELETE FROM seen_nonces WHERE until < ? OR until > ?").run(now, latest);
    this.#db.prepare("DELETE FROM latest_entries WHERE time < ?").run(entriesBefore);
  }

  /** Counts, for monitoring and tests. */
  counts(): { blocks: number; batches: number; flows: number; handovers: number } {
    const one = (sql: string) => Number((this.#db.prepare(sql).get() as Row).n);
    return {
      blocks: one("SELECT COUNT(*) AS n FROM blocks"),
      batches: one("SELECT COUNT(*) AS n FROM batches"),
      flows: one("SELECT COUNT(*) AS n FROM flows"),
      handovers: one("SELECT COUNT(*) AS n FROM handovers"),
    };
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
