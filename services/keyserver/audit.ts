/**
 * A key server's append-only audit log (issue 15: the PKG's issuance made auditable): every
 * issuance and every refusal of a well-formed request, one SQLite row each (the SDK's store
 * helper: one file, checked at open, WAL), hash-chained — entry k's hash covers entry k−1's hash
 * and every field of entry k — so an entry changed, removed or inserted later breaks the chain
 * from there on, and anyone holding an earlier head sees it. The chain starts from a genesis
 * value bound to the deployment and the server, so one server's log cannot pass for another's.
 *
 * The same file remembers the nonces of requests whose signature verified until their deadline,
 * so a restarted server still refuses a replay; an entry and its nonce are written in one
 * transaction.
 */
import type { DatabaseSync } from "node:sqlite";

import type { Hex } from "../../sdk/core/bytes.ts";
import { StoreError } from "../../sdk/errors.ts";
import { openStore, transaction } from "../../sdk/store/sqlite.ts";
import { type AuditEntry, type AuditRecord, auditGenesis, auditHash, firstBrokenEntry } from "./protocol.ts";

const SCHEMA_VERSION = 1;

export { type AuditEntry, type AuditRecord, auditGenesis, auditHash, firstBrokenEntry } from "./protocol.ts";

interface Row {
  readonly [column: string]: unknown;
}

function entryOf(r: Row): AuditEntry {
  return {
    seq: Number(r.seq),
    time: Number(r.time),
    outcome: r.outcome as "issued" | "refused",
    reason: (r.reason as string | null) ?? null,
    id: r.requester as Hex,
    role: String(r.role),
    epoch: r.epoch === null ? null : Number(r.epoch),
    nonce: r.nonce as Hex,
    digest: r.digest as Hex,
    signer: (r.signer as string | null) ?? null,
    identities: JSON.parse(String(r.identities)) as string[],
    prev: r.prev as Hex,
    hash: r.hash as Hex,
  };
}

export class AuditLog {
  readonly path: string;
  readonly genesis: Hex;
  readonly #db: DatabaseSync;
  #head: { seq: number; hash: Hex };

  /**
   * Opens (or creates) the log of `deployment`'s server `server`. The whole chain is checked at
   * open: a log whose entries were changed is a `StoreError` ("corrupt") and the server does not start.
   */
  constructor(path: string, deployment: Hex, server: number) {
    this.path = path;
    this.genesis = auditGenesis(deployment, server);
    this.#db = openStore(
      path,
      { kind: "keyserver", owner: `${deployment.toLowerCase()}/${server}` },
      {
        version: SCHEMA_VERSION,
        ddl: `
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, outcome TEXT NOT NULL, reason TEXT,
        requester TEXT NOT NULL, role TEXT NOT NULL, epoch INTEGER, nonce TEXT NOT NULL,
        digest TEXT NOT NULL, signer TEXT, identities TEXT NOT NULL, prev TEXT NOT NULL,
        hash TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS nonces (
        requester TEXT NOT NULL, nonce TEXT NOT NULL, deadline INTEGER NOT NULL,
        PRIMARY KEY (requester, nonce));
      CREATE INDEX IF NOT EXISTS nonces_deadline ON nonces (deadline);`,
      },
      "auto",
    );
    try {
      this.#head = this.#verify();
    } catch (e) {
      this.#db.close();
      throw e;
    }
  }

  /** Walks the whole chain; throws `StoreError` "corrupt" at the first entry that breaks it. */
  #verify(): { seq: number; hash: Hex } {
    let prev = this.genesis;
    let seq = 0;
    for (const row of this.#db.prepare("SELECT * FROM audit ORDER BY seq").iterate() as Iterable<Row>) {
      const e = entryOf(row);
      if (firstBrokenEntry([e], prev, seq + 1) === 0) {
        throw new StoreError("corrupt", this.path, `the audit log's hash chain breaks at entry ${e.seq}`, {
          seq: e.seq,
        });
      }
      prev = e.hash;
      seq = e.seq;
    }
    return { seq, hash: prev };
  }

  /** The last entry's sequence number and hash (0 and the genesis value when empty). */
  get head(): { readonly seq: number; readonly hash: Hex } {
    return this.#head;
  }

  /** Whether `id`'s request with `nonce` was seen (its signature verified) before. */
  seen(id: Hex, nonce: Hex): boolean {
    return (
      this.#db
        .prepare("SELECT 1 FROM nonces WHERE requester = ? AND nonce = ?")
        .get(id.toLowerCase(), nonce.toLowerCase()) !== undefined
    );
  }

  /**
   * Appends `record`; with `remember`, also the request's nonce until its deadline (seconds), in the
   * same transaction (nonces whose deadline passed before `record.time` are forgotten).
   */
  append(record: AuditRecord, remember?: { deadline: number }): AuditEntry {
    const seq = this.#head.seq + 1;
    const prev = this.#head.hash;
    const hash = auditHash(prev, seq, record);
    transaction(this.#db, () => {
      this.#db
        .prepare(
          `INSERT INTO audit (seq, time, outcome, reason, requester, role, epoch, nonce, digest, signer, identities, prev, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          seq,
          record.time,
          record.outcome,
          record.reason,
          record.id.toLowerCase(),
          record.role,
          record.epoch,
          record.nonce.toLowerCase(),
          record.digest,
          record.signer,
          JSON.stringify(record.identities),
          prev,
          hash,
        );
      if (remember !== undefined) {
        this.#db.prepare("DELETE FROM nonces WHERE deadline < ?").run(Math.floor(record.time / 1000) - 1);
        this.#db
          .prepare("INSERT INTO nonces (requester, nonce, deadline) VALUES (?, ?, ?)")
          .run(record.id.toLowerCase(), record.nonce.toLowerCase(), remember.deadline);
      }
    });
    this.#head = { seq, hash };
    return { ...record, id: record.id.toLowerCase() as Hex, nonce: record.nonce.toLowerCase() as Hex, seq, prev, hash };
  }

  /** Entries after `after`, at most `limit`, in order. */
  entries(after: number, limit: number): AuditEntry[] {
    return (this.#db.prepare("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?").all(after, limit) as Row[]).map(
      entryOf,
    );
  }

  /** The hash of entry `seq` (the genesis value for 0); undefined past the head. */
  hashAt(seq: number): Hex | undefined {
    if (seq === 0) return this.genesis;
    const row = this.#db.prepare("SELECT hash FROM audit WHERE seq = ?").get(seq) as Row | undefined;
    return row === undefined ? undefined : (row.hash as Hex);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
