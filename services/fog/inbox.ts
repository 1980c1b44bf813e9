/**
 * A fog node's durable inbox: every reading taken from MQTT is written here before the broker is
 * told it arrived (the QoS 1 acknowledgement), and leaves only once the node gave it a final
 * answer (stored, or refused for a reason of its own). A reading the node cannot judge yet (the
 * chain cannot be read: `retry`) stays, and is offered again with back-off; after a crash the
 * process starts by offering the whole inbox again (a reading stored just before the crash is then
 * refused as a replay: never stored twice). SQLite in WAL mode, one file per node, with
 * `synchronous = FULL`: every commit is fsynced before `add` returns, so a reading the broker
 * acknowledged survives a power loss or kernel crash, not only a killed process (NORMAL would
 * leave the last commits in the OS page cache). The cost is one fsync of the log per reading
 * taken (about a millisecond on an SSD, more on an SD card), which bounds a node's intake rate.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";

export interface InboxEntry {
  readonly id: number;
  readonly bytes: Uint8Array;
}

export class Inbox {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #add: StatementSync;
  readonly #take: StatementSync;
  readonly #remove: StatementSync;
  readonly #count: StatementSync;

  constructor(path: string) {
    this.path = path;
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    this.#db.exec("CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, bytes BLOB NOT NULL)");
    this.#add = this.#db.prepare("INSERT INTO inbox (bytes) VALUES (?)");
    this.#take = this.#db.prepare("SELECT id, bytes FROM inbox WHERE id > ? ORDER BY id LIMIT ?");
    this.#remove = this.#db.prepare("DELETE FROM inbox WHERE id = ?");
    this.#count = this.#db.prepare("SELECT count(*) AS n FROM inbox");
  }

  /** SQLite's `synchronous` setting of the connection (`full`). */
  get synchronous(): string {
    const n = Number((this.#db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous);
    return ["off", "normal", "full", "extra"][n] ?? String(n);
  }

  /** Keeps a reading; returns its place. */
  add(bytes: Uint8Array): number {
    return Number(this.#add.run(bytes).lastInsertRowid);
  }

  /** The oldest `limit` readings after `afterId`, in arrival order. */
  take(limit: number, afterId = 0): InboxEntry[] {
    return (this.#take.all(afterId, limit) as { id: number; bytes: Uint8Array }[]).map((r) => ({
      id: Number(r.id),
      bytes: new Uint8Array(r.bytes),
    }));
  }

  /** Readings answered for good leave. */
  remove(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.#db.exec("BEGIN");
    try {
      for (const id of ids) this.#remove.run(id);
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  get size(): number {
    return Number((this.#count.get() as { n: number }).n);
  }

  close(): void {
    this.#db.close();
  }
}
