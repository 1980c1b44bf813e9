/**
 * A fog node's store (seed 004): the **open store** of normal readings, which
 * anyone may query (the readings stay sealed end to end for the owner's
 * applications; the store is open, the payloads are not), and the node's
 * **sensitive** readings, kept for the batches it proposes and served only to
 * holders of a valid access token. One SQLite file per fog node via
 * `node:sqlite`; a device's sequence numbers are unique across both, so a
 * replayed reading is never stored twice, and a node restarting finds every
 * device's last sequence number in its tables.
 *
 * Hot paths read rows of their own rather than scanning the readings: each
 * device's last sequence number is a `device_last` row, and each tag of an
 * open reading an `open_tags` row (tag, id), both written in the same
 * transaction as the readings; open queries by device and time use the
 * (device, time) index. A file made before these tables existed gets them
 * filled from its readings once, at the first open.
 */
import { type DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

import { fromHex, type Hex, toHex } from "../core/bytes.ts";
import { InvalidInputError, ProtocolError } from "../errors.ts";
import { isConstraint, openStore, type StoreOpenOptions, transaction, u8, verifyStore } from "./sqlite.ts";

const SCHEMA_VERSION = "1";

export type ReadingClass = "normal" | "sensitive";

/** A stored reading. */
export interface StoredReading {
  readonly id: number;
  readonly device: Hex;
  readonly seq: number;
  /** The device's time (ms). */
  readonly time: number;
  /** When the fog node accepted it (ms). */
  readonly received: number;
  readonly tags: readonly string[];
  /** The encoded signed reading. */
  readonly reading: Uint8Array;
}

export interface NewReading {
  readonly device: Hex;
  readonly seq: number;
  readonly time: number;
  readonly received: number;
  readonly tags: readonly string[];
  readonly reading: Uint8Array;
}

/** A query of the open store. */
export interface OpenQuery {
  readonly device?: Hex;
  /** Device time range, inclusive (ms). */
  readonly from?: number;
  readonly to?: number;
  /** Only readings carrying this tag. */
  readonly tag?: string;
  /** Page after this id (the last id of the previous page). */
  readonly afterId?: number;
  /** At most this many (default 1,000, at most 10,000). */
  readonly limit?: number;
}

export interface FogBatchRecord {
  readonly sequence: number;
  readonly root: Hex;
  readonly leafCount: number;
  readonly firstId: number;
  readonly lastId: number;
  readonly signature: Uint8Array | undefined;
  readonly txHash: string | undefined;
  /** The block the batch was seen anchored at (mined in, or read at); undefined for older rows. */
  readonly block?: number | undefined;
}

/** A round a proposer put to its cluster's members: the batch (root) of readings `ids` for `sequence`. */
export interface FogRound {
  readonly sequence: bigint;
  readonly root: Hex;
  /** The proposer's store ids of the readings, in leaf order. */
  readonly ids: readonly number[];
}

/** The batch message a member signed a reading under (`FogStore.endorsement`). */
export interface EndorsedMessage {
  readonly cluster: Hex | undefined;
  readonly sequence: bigint | undefined;
  readonly root: Hex | undefined;
  /**
   * Every root this node signed the reading under for that cluster and
   * sequence (a batch that had to shrink has several); empty for a store
   * made before they were kept.
   */
  readonly roots: readonly Hex[];
}

interface Row {
  readonly [column: string]: unknown;
}

function toReading(r: Row): StoredReading {
  return {
    id: Number(r.id),
    device: toHex(u8(r.device)),
    seq: Number(r.seq),
    time: Number(r.time),
    received: Number(r.received),
    tags: String(r.tags) === "" ? [] : String(r.tags).split(","),
    reading: u8(r.reading),
  };
}

function toBatch(r: Row): FogBatchRecord {
  return {
    sequence: Number(r.sequence),
    root: toHex(u8(r.root)),
    leafCount: Number(r.leaf_count),
    firstId: Number(r.first_id),
    lastId: Number(r.last_id),
    signature: r.signature == null ? undefined : u8(r.signature),
    txHash: r.tx == null ? undefined : String(r.tx),
    ...(r.block == null ? {} : { block: Number(r.block) }),
  };
}

export class FogStore {
  readonly path: string;
  /** The fog node this store belongs to. */
  readonly node: Hex;
  readonly #db: DatabaseSync;
  readonly #insert: Record<ReadingClass, StatementSync>;
  readonly #insertTag: StatementSync;
  readonly #upsertLast: StatementSync;

  /**
   * Opens fog node `node`'s store at `path` (`":memory:"` for a throw-away
   * store), checked before anything is written (`openStore`): a missing file
   * is created (`mode`: `create` or `open` to say which is meant), anything
   * else must be this node's intact fog store, or `StoreError` says why not.
   */
  constructor(path: string, node: Hex, options: StoreOpenOptions = {}) {
    if (typeof path !== "string" || path.length === 0) throw new InvalidInputError("a store path is required");
    this.path = path;
    this.node = toHex(fromHex(node, "node", 32));
    this.#db = openStore(
      path,
      { kind: "fog", owner: this.node },
      {
        version: Number(SCHEMA_VERSION),
        ddl: `
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS open_readings (
        id INTEGER PRIMARY KEY, device BLOB NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL,
        received INTEGER NOT NULL, tags TEXT NOT NULL, reading BLOB NOT NULL);
      CREATE UNIQUE INDEX IF NOT EXISTS open_device_seq ON open_readings (device, seq);
      CREATE INDEX IF NOT EXISTS open_time ON open_readings (time);
      CREATE TABLE IF NOT EXISTS sensitive_readings (
        id INTEGER PRIMARY KEY, device BLOB NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL,
        received INTEGER NOT NULL, tags TEXT NOT NULL, reading BLOB NOT NULL,
        batch INTEGER, dropped TEXT);
      CREATE INDEX IF NOT EXISTS sensitive_queue ON sensitive_readings (id) WHERE batch IS NULL AND dropped IS NULL;
      CREATE TABLE IF NOT EXISTS endorsed (device BLOB NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (device, seq)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS endorsed_roots (
        device BLOB NOT NULL, seq INTEGER NOT NULL, root BLOB NOT NULL, PRIMARY KEY (device, seq, root)) WITHOUT ROWID;
      CREATE UNIQUE INDEX IF NOT EXISTS sensitive_device_seq ON sensitive_readings (device, seq);
      CREATE TABLE IF NOT EXISTS fog_batches (
        sequence INTEGER PRIMARY KEY, root BLOB NOT NULL UNIQUE, leaf_count INTEGER NOT NULL,
        first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, signature BLOB, tx TEXT,
        final INTEGER NOT NULL DEFAULT 0, cluster BLOB, block INTEGER);
      CREATE TABLE IF NOT EXISTS fog_rounds (
        id INTEGER PRIMARY KEY, cluster BLOB NOT NULL, sequence INTEGER NOT NULL, root BLOB NOT NULL,
        ids TEXT NOT NULL, UNIQUE (cluster, sequence, root));
    `,
      },
      options.mode ?? "auto",
      options,
    );
    try {
      // Endorsements name the message they were signed for (cluster, sequence, root): a member signs a
      // reading again for the same cluster and sequence (a round retried), never for another. Rows of
      // stores made before these columns have none: they count as endorsed under an unknown message.
      const columns = (this.#db.prepare("PRAGMA table_info(endorsed)").all() as Row[]).map((c) => String(c.name));
      if (!columns.includes("cluster")) {
        this.#db.exec(`
        ALTER TABLE endorsed ADD COLUMN cluster BLOB;
        ALTER TABLE endorsed ADD COLUMN sequence INTEGER;
        ALTER TABLE endorsed ADD COLUMN root BLOB;
      `);
      }
      // A batch is provisional until the chain made it final (`FogCluster.reconcile`), which re-checks
      // only its own cluster's batches (`cluster`), against the block it was seen anchored at (`block`).
      // Batches of a store made before these columns name no cluster and are taken as final, as the
      // code that recorded them took them: re-checking every batch ever recorded would cost one chain
      // read each, and a reorganisation old enough to predate the upgrade is not expected.
      const batchColumns = (this.#db.prepare("PRAGMA table_info(fog_batches)").all() as Row[]).map((c) =>
        String(c.name),
      );
      if (!["final", "cluster", "block"].every((c) => batchColumns.includes(c))) {
        transaction(this.#db, () => {
          if (!batchColumns.includes("final")) {
            this.#db.exec("ALTER TABLE fog_batches ADD COLUMN final INTEGER NOT NULL DEFAULT 1");
          }
          if (!batchColumns.includes("cluster")) {
            this.#db.exec("ALTER TABLE fog_batches ADD COLUMN cluster BLOB");
            this.#db.exec("UPDATE fog_batches SET final = 1");
          }
          if (!batchColumns.includes("block")) this.#db.exec("ALTER TABLE fog_batches ADD COLUMN block INTEGER");
        });
      }
      this.#ensureIndexes();
      const insert = (table: string) =>
        this.#db.prepare(`INSERT INTO ${table} (device, seq, time, received, tags, reading) VALUES (?, ?, ?, ?, ?, ?)`);
      this.#insert = { normal: insert("open_readings"), sensitive: insert("sensitive_readings") };
      this.#insertTag = this.#db.prepare("INSERT INTO open_tags (tag, id) VALUES (?, ?)");
      this.#upsertLast = this.#db.prepare(
        `INSERT INTO device_last (device, seq) VALUES (?, ?)
       ON CONFLICT (device) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > device_last.seq`,
      );
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

  /** A new store for fog node `node` at `path`; refuses a file already there (`StoreError` "exists"). */
  static create(path: string, node: Hex): FogStore {
    return new FogStore(path, node, { mode: "create" });
  }

  /** Fog node `node`'s existing store at `path`; refuses a missing or 0-byte file (`StoreError` "missing", "empty"). */
  static open(path: string, node: Hex): FogStore {
    return new FogStore(path, node, { mode: "open" });
  }

  /**
   * The rows the hot paths read (`device_last`, `open_tags`) and the (device, time) index; made
   * and filled from the readings once, in one transaction, when the file has none of them yet.
   */
  #ensureIndexes(): void {
    const has = (name: string) =>
      this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    this.#db.exec("CREATE INDEX IF NOT EXISTS open_device_time ON open_readings (device, time)");
    const [last, tags] = [has("device_last"), has("open_tags")];
    if (last && tags) return;
    transaction(this.#db, () => {
      if (!last) {
        this.#db.exec(`
          CREATE TABLE device_last (device BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
          INSERT INTO device_last (device, seq) SELECT device, MAX(seq) FROM (
            SELECT device, seq FROM open_readings UNION ALL SELECT device, seq FROM sensitive_readings)
          GROUP BY device;
        `);
      }
      if (!tags) {
        this.#db.exec(
          "CREATE TABLE open_tags (tag TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (tag, id)) WITHOUT ROWID",
        );
        const insert = this.#db.prepare("INSERT OR IGNORE INTO open_tags (tag, id) VALUES (?, ?)");
        for (const r of this.#db
          .prepare("SELECT id, tags FROM open_readings WHERE tags <> ''")
          .iterate() as Iterable<Row>) {
          for (const tag of String(r.tags).split(",")) if (tag !== "") insert.run(tag, Number(r.id));
        }
      }
    });
  }

  /** Each device's highest stored sequence number (a restarted node's replay state): its `device_last` rows. */
  lastSequences(): Map<Hex, number> {
    const out = new Map<Hex, number>();
    for (const r of this.#db.prepare("SELECT device, seq FROM device_last").all() as Row[]) {
      out.set(toHex(u8(r.device)), Number(r.seq));
    }
    return out;
  }

  /**
   * Stores classified readings, all or nothing; returns their ids. Each device's `device_last` row
   * and each open reading's tag rows are written in the same transaction.
   */
  append(readings: readonly { readonly cls: ReadingClass; readonly reading: NewReading }[]): number[] {
    return transaction(this.#db, () => {
      const last = new Map<Hex, number>();
      const ids = readings.map(({ cls, reading: r }) => {
        if (r.tags.some((t) => t.includes(","))) throw new InvalidInputError("a tag has no comma", { tags: r.tags });
        let id: number;
        try {
          id = Number(
            this.#insert[cls].run(
              fromHex(r.device, "device", 32),
              r.seq,
              r.time,
              r.received,
              r.tags.join(","),
              r.reading,
            ).lastInsertRowid,
          );
        } catch (cause) {
          if (!isConstraint(cause)) throw cause;
          throw new ProtocolError("replay", "this reading is already stored", {
            device: r.device,
            seq: r.seq,
            cause: String(cause),
          });
        }
        if (cls === "normal") for (const tag of new Set(r.tags)) if (tag !== "") this.#insertTag.run(tag, id);
        const device = r.device.toLowerCase() as Hex;
        last.set(device, Math.max(last.get(device) ?? 0, r.seq));
        return id;
      });
      for (const [device, seq] of last) this.#upsertLast.run(fromHex(device, "device", 32), seq);
      return ids;
    });
  }

  /** The open store's query API: normal readings, oldest first, paged by id. */
  queryOpen(q: OpenQuery = {}): StoredReading[] {
    const limit = q.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
      throw new InvalidInputError("limit must be an integer in [1, 10000]", { limit });
    }
    // with a tag, walk that tag's rows in id order (an exact match: no pattern characters)
    const tagged = q.tag !== undefined;
    if (tagged && typeof q.tag !== "string") throw new InvalidInputError("a tag is a string", { tag: typeof q.tag });
    const id = tagged ? "t.id" : "r.id";
    const from = tagged ? "open_tags t JOIN open_readings r ON r.id = t.id" : "open_readings r";
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    if (tagged) {
      where.push("t.tag = ?");
      args.push(q.tag!);
    }
    where.push(`${id} > ?`);
    args.push(q.afterId ?? 0);
    if (q.device !== undefined) {
      where.push("r.device = ?");
      args.push(fromHex(q.device, "device", 32));
    }
    if (q.from !== undefined) {
      where.push("r.time >= ?");
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push("r.time <= ?");
      args.push(q.to);
    }
    args.push(limit);
    return (
      this.#db
        .prepare(`SELECT r.* FROM ${from} WHERE ${where.join(" AND ")} ORDER BY ${id} LIMIT ?`)
        .all(...args) as Row[]
    ).map(toReading);
  }

  /** Sensitive readings of `device` in a device-time range (the caller checks access first). */
  sensitiveOf(device: Hex, from: number, to: number): StoredReading[] {
    return (
      this.#db
        .prepare("SELECT * FROM sensitive_readings WHERE device = ? AND time >= ? AND time <= ? ORDER BY seq")
        .all(fromHex(device, "device", 32), from, to) as Row[]
    ).map(toReading);
  }

  /** Sensitive readings neither in a batch nor dropped, oldest first (after id `afterId`). */
  unbatched(limit: number, afterId = 0): StoredReading[] {
    return (
      this.#db
        .prepare(
          "SELECT * FROM sensitive_readings WHERE batch IS NULL AND dropped IS NULL AND id > ? ORDER BY id LIMIT ?",
        )
        .all(afterId, limit) as Row[]
    ).map(toReading);
  }

  /** Takes a sensitive reading out of the queue for good (it no longer authenticates), with the reason. */
  dropSensitive(id: number, reason: string): void {
    this.#db.prepare("UPDATE sensitive_readings SET dropped = ? WHERE id = ? AND batch IS NULL").run(reason, id);
  }

  /** How many sensitive readings were dropped from the queue, by reason. */
  dropped(): Map<string, number> {
    const rows = this.#db
      .prepare("SELECT dropped, COUNT(*) AS n FROM sensitive_readings WHERE dropped IS NOT NULL GROUP BY dropped")
      .all() as Row[];
    return new Map(rows.map((r) => [String(r.dropped), Number(r.n)]));
  }

  /** Whether this node already endorsed (signed a share over a batch holding) reading `seq` of `device`. */
  hasEndorsed(device: Hex, seq: number): boolean {
    return (
      this.#db
        .prepare("SELECT 1 FROM endorsed WHERE device = ? AND seq = ?")
        .get(fromHex(device, "device", 32), seq) !== undefined
    );
  }

  /**
   * The message under which this node last endorsed reading `seq` of `device`
   * (undefined: never; fields undefined: endorsed before messages were kept).
   */
  endorsement(device: Hex, seq: number): EndorsedMessage | undefined {
    const row = this.#db
      .prepare("SELECT cluster, sequence, root FROM endorsed WHERE device = ? AND seq = ?")
      .get(fromHex(device, "device", 32), seq) as Row | undefined;
    if (row === undefined) return undefined;
    const roots = this.#db
      .prepare("SELECT root FROM endorsed_roots WHERE device = ? AND seq = ?")
      .all(fromHex(device, "device", 32), seq) as Row[];
    return {
      cluster: row.cluster == null ? undefined : toHex(u8(row.cluster)),
      sequence: row.sequence == null ? undefined : BigInt(row.sequence as number),
      root: row.root == null ? undefined : toHex(u8(row.root)),
      roots: roots.map((r) => toHex(u8(r.root))),
    };
  }

  /**
   * Records the readings of a batch this node endorsed, with the message it
   * signed (`message`: cluster, sequence, root), so that it signs them again
   * only for that cluster and sequence. The roots signed for the same cluster
   * and sequence add up; a message for another sequence (the binding released,
   * `FogNode.endorse`) starts afresh.
   */
  recordEndorsed(
    readings: readonly { readonly device: Hex; readonly seq: number }[],
    message?: { readonly cluster: Hex; readonly sequence: bigint; readonly root: Hex },
  ): void {
    transaction(this.#db, () => {
      const insert = this.#db.prepare(
        `INSERT INTO endorsed (device, seq, cluster, sequence, root) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (device, seq) DO UPDATE SET cluster = excluded.cluster, sequence = excluded.sequence, root = excluded.root`,
      );
      // the roots of an earlier binding (another cluster or sequence) go with it
      const forget = this.#db.prepare(
        `DELETE FROM endorsed_roots WHERE device = ? AND seq = ? AND NOT EXISTS (SELECT 1 FROM endorsed
         WHERE device = ? AND seq = ? AND cluster IS ? AND sequence IS ?)`,
      );
      const keep = this.#db.prepare("INSERT OR IGNORE INTO endorsed_roots (device, seq, root) VALUES (?, ?, ?)");
      const cluster = message === undefined ? null : fromHex(message.cluster, "cluster", 32);
      const root = message === undefined ? null : fromHex(message.root, "root", 32);
      const sequence = message === undefined ? null : message.sequence;
      for (const r of readings) {
        const device = fromHex(r.device, "device", 32);
        forget.run(device, r.seq, device, r.seq, cluster, sequence);
        insert.run(device, r.seq, cluster, sequence, root);
        if (root !== null) keep.run(device, r.seq, root);
      }
    });
  }

  /** The sensitive readings with ids in [firstId, lastId]. */
  sensitiveRange(firstId: number, lastId: number): StoredReading[] {
    return (
      this.#db
        .prepare("SELECT * FROM sensitive_readings WHERE id >= ? AND id <= ? ORDER BY id")
        .all(firstId, lastId) as Row[]
    ).map(toReading);
  }

  /**
   * Keeps an anchored batch of `cluster` and marks its readings (`ids`) as batched (a reading
   * dropped meanwhile is anchored after all: it is no longer dropped), together; the batch's own
   * round ends in the same transaction, and the cluster's rounds of earlier sequences that no
   * provisional batch holds. Its other roots at that sequence stay until the sequence is final
   * (`finalizeBatch`): a reorganisation may yet bring one of them back in place of this one.
   */
  saveBatch(batch: FogBatchRecord, ids: readonly number[] = [], cluster?: Hex): void {
    const c = cluster === undefined ? null : fromHex(cluster, "cluster", 32);
    transaction(this.#db, () => {
      this.#saveBatch(batch, c);
      const mark = this.#db.prepare("UPDATE sensitive_readings SET batch = ?, dropped = NULL WHERE id = ?");
      for (const id of ids) mark.run(batch.sequence, id);
      if (c !== null) {
        this.#db
          .prepare("DELETE FROM fog_rounds WHERE cluster = ? AND sequence = ? AND root = ?")
          .run(c, batch.sequence, fromHex(batch.root, "root", 32));
        this.#forgetSettled(c, BigInt(batch.sequence));
      }
    });
  }

  /** Forgets `cluster`'s rounds below `below`, except those at a sequence whose batch is still provisional. */
  #forgetSettled(cluster: Uint8Array, below: bigint): void {
    this.#db
      .prepare(
        `DELETE FROM fog_rounds WHERE cluster = ? AND sequence < ? AND sequence NOT IN
         (SELECT sequence FROM fog_batches WHERE final = 0 AND cluster = ?)`,
      )
      .run(cluster, below, cluster);
  }

  /**
   * Keeps a round a proposer put to its members (before any of them signs), so that a node
   * restarting proposes the same batch again and settles it against the chain: the latest round
   * of a cluster for the chain's next sequence is its live one (`FogNode.propose`); the others,
   * for that sequence or another, are kept until the cluster settles them (`forgetRounds`,
   * `saveBatch` with the cluster, `finalizeBatch`).
   */
  saveRound(cluster: Hex, round: FogRound): void {
    const c = fromHex(cluster, "cluster", 32);
    const root = fromHex(round.root, "root", 32);
    transaction(this.#db, () => {
      // the same batch proposed again becomes the live round once more
      this.#db
        .prepare("DELETE FROM fog_rounds WHERE cluster = ? AND sequence = ? AND root = ?")
        .run(c, round.sequence, root);
      this.#db
        .prepare("INSERT INTO fog_rounds (cluster, sequence, root, ids) VALUES (?, ?, ?, ?)")
        .run(c, round.sequence, root, JSON.stringify(round.ids));
    });
  }

  /** The rounds kept for `cluster`, oldest first (`FogNode.propose` picks the live one). */
  rounds(cluster: Hex): FogRound[] {
    const rows = this.#db
      .prepare("SELECT sequence, root, ids FROM fog_rounds WHERE cluster = ? ORDER BY id")
      .all(fromHex(cluster, "cluster", 32)) as Row[];
    return rows.map((r) => ({
      sequence: BigInt(r.sequence as number),
      root: toHex(u8(r.root)),
      ids: JSON.parse(String(r.ids)) as number[],
    }));
  }

  /**
   * Forgets `cluster`'s rounds for sequences below `below` (except at a sequence whose recorded
   * batch is still provisional: a reorganisation may bring back another of its roots there), or
   * (given `root`) the rounds of that root.
   */
  forgetRounds(cluster: Hex, below: bigint, root?: Hex): void {
    const c = fromHex(cluster, "cluster", 32);
    if (root === undefined) this.#forgetSettled(c, below);
    else this.#db.prepare("DELETE FROM fog_rounds WHERE cluster = ? AND root = ?").run(c, fromHex(root, "root", 32));
  }

  /**
   * The batches recorded as anchored that the chain has not made final yet, oldest first: those of
   * `cluster` when given (a batch recorded without a cluster is never listed for one).
   */
  provisionalBatches(cluster?: Hex): FogBatchRecord[] {
    const rows =
      cluster === undefined
        ? this.#db.prepare("SELECT * FROM fog_batches WHERE final = 0 ORDER BY sequence").all()
        : this.#db
            .prepare("SELECT * FROM fog_batches WHERE final = 0 AND cluster = ? ORDER BY sequence")
            .all(fromHex(cluster, "cluster", 32));
    return (rows as Row[]).map(toBatch);
  }

  /**
   * Marks the batch at `sequence` final: no reorganisation of the chain is expected to remove it;
   * `cluster`'s other rounds at that sequence end with it.
   */
  finalizeBatch(sequence: number, cluster?: Hex): void {
    transaction(this.#db, () => {
      this.#db.prepare("UPDATE fog_batches SET final = 1 WHERE sequence = ?").run(sequence);
      if (cluster !== undefined) {
        this.#db
          .prepare("DELETE FROM fog_rounds WHERE cluster = ? AND sequence = ?")
          .run(fromHex(cluster, "cluster", 32), sequence);
      }
    });
  }

  /**
   * Undoes the record of the batch at `sequence`, which the chain no longer holds (a
   * reorganisation removed it): its readings go back to the queue and the batch becomes
   * `cluster`'s live round again, at the same sequence and root, all in one transaction.
   */
  revertBatch(cluster: Hex, sequence: number): void {
    const batch = this.#db
      .prepare("SELECT * FROM fog_batches WHERE sequence = ? AND (cluster IS NULL OR cluster = ?)")
      .get(sequence, fromHex(cluster, "cluster", 32)) as Row | undefined;
    if (batch === undefined) return;
    const ids = (
      this.#db.prepare("SELECT id FROM sensitive_readings WHERE batch = ? ORDER BY id").all(sequence) as Row[]
    ).map((r) => Number(r.id));
    transaction(this.#db, () => {
      this.#db.prepare("UPDATE sensitive_readings SET batch = NULL WHERE batch = ?").run(sequence);
      this.#db.prepare("DELETE FROM fog_batches WHERE sequence = ?").run(sequence);
      const c = fromHex(cluster, "cluster", 32);
      this.#db
        .prepare("DELETE FROM fog_rounds WHERE cluster = ? AND sequence = ? AND root = ?")
        .run(c, sequence, batch.root as Uint8Array);
      this.#db
        .prepare("INSERT INTO fog_rounds (cluster, sequence, root, ids) VALUES (?, ?, ?, ?)")
        .run(c, sequence, batch.root as Uint8Array, JSON.stringify(ids));
    });
  }

  #saveBatch(batch: FogBatchRecord, cluster: Uint8Array | null): void {
    this.#db
      .prepare(
        `INSERT INTO fog_batches (sequence, root, leaf_count, first_id, last_id, signature, tx, cluster, block)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sequence) DO UPDATE SET signature = excluded.signature, tx = excluded.tx,
         cluster = excluded.cluster, block = excluded.block`,
      )
      .run(
        batch.sequence,
        fromHex(batch.root, "root", 32),
        batch.leafCount,
        batch.firstId,
        batch.lastId,
        batch.signature ?? null,
        batch.txHash ?? null,
        cluster,
        batch.block ?? null,
      );
  }

  batches(): FogBatchRecord[] {
    return (this.#db.prepare("SELECT * FROM fog_batches ORDER BY sequence").all() as Row[]).map(toBatch);
  }

  counts(): { open: number; sensitive: number; batches: number } {
    const one = (sql: string) => Number((this.#db.prepare(sql).get() as Row).n);
    return {
      open: one("SELECT COUNT(*) AS n FROM open_readings"),
      sensitive: one("SELECT COUNT(*) AS n FROM sensitive_readings"),
      batches: one("SELECT COUNT(*) AS n FROM fog_batches"),
    };
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
