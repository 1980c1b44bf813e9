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
 * Batches cover contiguous ranges of block ids (blocks are batched in arrival
 * order), so "not yet batched" is simply "id after the last batch" and a
 * block's leaf index is its id minus the batch's first id.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

import { fromHex, type Hex, toHex } from "../core/bytes.ts";
import { type Block, ciphertextDigest } from "../core/nbiot/block.ts";
import { InvalidInputError, ProtocolError } from "../errors.ts";

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

/** Where a node's flow stands at this station. */
export interface FlowState {
  readonly node: Hex;
  /** The last block of the flow this station knows (its own or a handed-over one). */
  readonly tip: { readonly bs: Hex; readonly seq: number; readonly hash: Uint8Array; readonly time: number };
  /** Set when this station handed the flow to another station and may not extend it. */
  readonly handedOverTo?: Hex;
}

export interface AnchorInfo {
  readonly sequence: bigint;
  readonly txHash: string;
  readonly time: bigint;
}

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

function u8(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array();
}

export class SqliteFlowStore {
  readonly path: string;
  /** The station this store belongs to. */
  readonly station: Hex;
  readonly #db: DatabaseSync;
  readonly #insertBlock: StatementSync;
  readonly #upsertFlow: StatementSync;
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

  /** Opens (or creates) `station`'s store at `path` (`":memory:"` for a throw-away store). */
  constructor(path: string, station: Hex) {
    if (typeof path !== "string" || path.length === 0) throw new InvalidInputError("a store path is required");
    this.path = path;
    this.station = toHex(fromHex(station, "station", 32));
    this.#db = new DatabaseSync(path);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA cache_size = -65536;
      PRAGMA wal_autocheckpoint = 8192;
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
    `);
    const meta = (key: string, value: string): void => {
      const row = this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined;
      if (row === undefined) this.#db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)").run(key, value);
      else if (row.value !== value) {
        this.#db.close();
        throw new InvalidInputError(`the flow store at ${path} has another ${key}`, {
          [key]: row.value,
          expected: value,
        });
      }
    };
    meta("schema", SCHEMA_VERSION);
    meta("station", this.station);
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
    this.#db.exec("BEGIN IMMEDIATE");
    const refsBefore = this.#refs.size;
    try {
      const out = work();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      this.#db.exec("ROLLBACK");
      // node refs made inside the transaction are gone with it (the map keeps insertion order)
      for (const node of [...this.#refs.keys()].slice(refsBefore)) this.#refs.delete(node);
      throw e;
    }
  }

  /**
   * Every flow this station knows, to rebuild its in-memory view after a
   * restart: the `flows` row (written only at handovers) or the station's own
   * last block of the flow, whichever is further along.
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
         FROM (SELECT node_ref, MAX(seq) AS seq FROM (
                 SELECT node_ref, seq FROM node_index
                 UNION ALL SELECT node_ref, seq FROM blocks WHERE id > ?)
               GROUP BY node_ref) m
         JOIN nodes n ON n.ref = m.node_ref
         JOIN blocks b ON b.seq = m.seq AND b.node_ref = m.node_ref`,
      )
      .all(this.#lastBatch.lastId) as Row[];
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
    const ref = this.#refs.get(node);
    if (ref === undefined) return known;
    const m = this.#db
      .prepare(
        `SELECT MAX(seq) AS seq FROM (
           SELECT MAX(seq) AS seq FROM node_index WHERE node_ref = ?
           UNION ALL SELECT MAX(seq) AS seq FROM blocks WHERE id > ? AND node_ref = ?)`,
      )
      .get(ref, this.#lastBatch.lastId, ref) as Row;
    if (m.seq == null || (known !== undefined && known.tip.seq >= Number(m.seq))) return known;
    const b = this.#blockBySeq.get(Number(m.seq), ref) as Row;
    return { node, tip: { bs: this.station, seq: Number(b.seq), hash: u8(b.hash), time: Number(b.time) } };
  }

  /** Stores blocks, all or nothing; returns their ids. A flow's tip is its last block, so no flow row changes. */
  append(blocks: readonly NewBlock[]): number[] {
    return this.#transaction(() => {
      const ids: number[] = [];
      for (const { block: b, hash, primary } of blocks) {
        if (b.bs !== this.station) {
          throw new InvalidInputError("a station stores only the blocks it made", { bs: b.bs, station: this.station });
        }
        try {
          const r = this.#insertBlock.run(this.#ref(b.node), b.seq, b.time, b.prev, hash, primary);
          ids.push(Number(r.lastInsertRowid));
        } catch (cause) {
          throw new ProtocolError("conflict", "block already stored", {
            node: b.node,
            seq: b.seq,
            cause: String(cause),
          });
        }
      }
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

  markAnchored(number: number, anchor: AnchorInfo): void {
    this.#db
      .prepare("UPDATE batches SET anchor_seq = ?, anchor_tx = ?, anchor_time = ? WHERE number = ?")
      .run(anchor.sequence.toString(), anchor.txHash, anchor.time.toString(), number);
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
