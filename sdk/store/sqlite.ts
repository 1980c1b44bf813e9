/**
 * How a Strata store file is opened, shared by the station's flow store, the
 * fog node's store and the edge layer's object store (see docs/stores.md):
 * one SQLite file per role instance via `node:sqlite`, in WAL mode.
 *
 * Nothing is written before the file is known to be the right store. SQLite
 * does not bind a `-wal` file to its database: any valid log of the same page
 * size next to the file is replayed into it by the first connection that
 * writes (measured: another station's log replaced 3,000 blocks by its 200).
 * So an existing file is first read through connections that cannot write:
 * the main file alone (`immutable=1`, which ignores the log) and, when a log
 * is there, the main file with the log (`readOnly`, which reads the log but
 * never checkpoints it). Both must name the same kind, owner and file nonce
 * (a random id made at create), and the combined view must pass
 * `PRAGMA quick_check`; only then is the file opened for writing.
 *
 * Every failure is a `StoreError` naming the file and a reason; the file and
 * its log are left byte for byte as they were.
 */
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { pathToFileURL } from "node:url";

import { InvalidInputError, type StoreRejection, StoreError } from "../errors.ts";

/** Which role a store file belongs to. */
export type StoreKind = "flow" | "fog" | "object";

/** The meta key each kind keeps its owner under (the key stores made before `kind` was kept still have). */
const OWNER_KEY: Readonly<Record<StoreKind, string>> = { flow: "station", fog: "node", object: "layer" };

/** What a store file must be: a role's kind and the owner's id (station id, fog node id, layer address). */
export interface StoreIdentity {
  readonly kind: StoreKind;
  readonly owner: string;
}

/** A store's tables. */
export interface StoreSchema {
  /** The schema version this code writes; a file with a higher one is refused (`schema`). */
  readonly version: number;
  /** Idempotent DDL (`CREATE ... IF NOT EXISTS`), run at create and at every open. */
  readonly ddl: string;
  /** Extra connection pragmas (WAL and `synchronous = NORMAL` are always set). */
  readonly pragmas?: string;
}

/**
 * `create`: a new store; refuses a non-empty file (`exists`) or a stray log.
 * `open`: an existing store; refuses a missing (`missing`) or 0-byte (`empty`) file.
 * `auto`: `create` when there is no file at all (nor a log), otherwise `open`.
 * `":memory:"` is always created.
 */
export type OpenMode = "create" | "open" | "auto";

/** How a store's constructor opens its file (default `auto`). */
export interface StoreOpenOptions {
  readonly mode?: OpenMode;
}

const SQLITE_MAGIC = "SQLite format 3\0";

interface Row {
  readonly [column: string]: unknown;
}

/** What a file says it is (read from its `meta` table); `undefined` fields are absent. */
interface FileIdentity {
  readonly kind: StoreKind | undefined;
  readonly owner: string | undefined;
  readonly file: string | undefined;
  /** `PRAGMA user_version`: the file's tag, kept in the database header (page 1); 0 before tags were kept. */
  readonly tag: number;
  readonly schema: number | undefined;
}

/** Opens the store file at `path` as `identity`'s store, checked as the module header says. */
export function openStore(path: string, identity: StoreIdentity, schema: StoreSchema, mode: OpenMode): DatabaseSync {
  if (typeof path !== "string" || path.length === 0) throw new InvalidInputError("a store path is required", { path });
  if (mode !== "create" && mode !== "open" && mode !== "auto") {
    throw new InvalidInputError("mode must be create, open or auto", { mode });
  }
  if (path === ":memory:") return create(path, identity, schema);
  const main = sizeOf(path);
  const wal = sizeOf(`${path}-wal`);
  if (mode === "create" || (mode === "auto" && main === undefined && wal === undefined)) {
    if (main !== undefined && main > 0) throw new StoreError("exists", path, "a file is already there");
    if (wal !== undefined && wal > 0) {
      throw new StoreError("foreign-wal", path, "a write-ahead log with no database of its own is next to it");
    }
    return create(path, identity, schema);
  }
  if (main === undefined) throw new StoreError("missing", path, "no store file");
  if (main === 0) throw new StoreError("empty", path, "the store file is empty (0 bytes)");
  inspect(path, identity, schema, wal !== undefined && wal > 0);
  return reopen(path, identity, schema);
}

/** Runs `work` in one write transaction: all of it or none (`onRollback` undoes in-memory state). */
export function transaction<T>(db: DatabaseSync, work: () => T, onRollback?: () => void): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const out = work();
    db.exec("COMMIT");
    return out;
  } catch (e) {
    // a failed COMMIT may have ended the transaction already; the first error is the one to see
    if (db.isTransaction) db.exec("ROLLBACK");
    onRollback?.();
    throw e;
  }
}

/** A BLOB column's bytes; anything else is a damaged row (`StoreError` "corrupt"), never empty bytes. */
export function u8(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new StoreError("corrupt", undefined, "a stored value that must be bytes is not", {
    type: value === null ? "null" : typeof value,
  });
}

/**
 * Refuses a store that holds fewer of its chain's links than the chain
 * records (`behind-chain`): it was restored from an older copy, or its log
 * was lost, and running on would refuse the role's own peers as forgers.
 */
export function checkNotBehindChain(path: string, stored: bigint, chainHead: bigint): void {
  if (chainHead > stored) {
    throw new StoreError("behind-chain", path, "the store is older than the chain's record of it", {
      stored,
      chainHead,
    });
  }
}

// ------------------------------------------------------------------ open path

function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StoreError("unavailable", file, "cannot read the file's size", {}, e);
  }
}

function configure(db: DatabaseSync, schema: StoreSchema): void {
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; ${schema.pragmas ?? ""}`);
}

/** A new store: tables and identity written in one transaction, before the file turns to WAL, so they are in the main file. */
function create(path: string, identity: StoreIdentity, schema: StoreSchema): DatabaseSync {
  const db = sqlite(path, () => new DatabaseSync(path));
  try {
    transaction(db, () => {
      db.exec(schema.ddl);
      const put = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
      put.run("schema", String(schema.version));
      put.run("kind", identity.kind);
      put.run(OWNER_KEY[identity.kind], identity.owner);
      const file = randomBytes(16);
      put.run("file", file.toString("hex"));
      db.exec(`PRAGMA user_version = ${tagOf(file)}`);
    });
    configure(db, schema);
    return db;
  } catch (e) {
    db.close();
    throw asStoreError(path, e);
  }
}

/** A checked store opened for writing: new tables added, identity rows a store made before they were kept lacks. */
function reopen(path: string, identity: StoreIdentity, schema: StoreSchema): DatabaseSync {
  const db = sqlite(path, () => new DatabaseSync(path));
  try {
    configure(db, schema);
    const tagged = transaction(db, () => {
      db.exec(schema.ddl);
      // nothing is written to a file that needs no change (a store refused by its role stays as it was)
      const version = String(schema.version);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema' AND value <> ?").run(version, version);
      if (db.prepare("SELECT 1 FROM meta WHERE key = 'file'").get() !== undefined) return true;
      const file = randomBytes(16);
      const put = db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)");
      put.run("kind", identity.kind);
      put.run("file", file.toString("hex"));
      db.exec(`PRAGMA user_version = ${tagOf(file)}`);
      return false;
    });
    // a store made before files were tagged: its tag and nonce go into the main file at once
    if (!tagged) db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return db;
  } catch (e) {
    db.close();
    throw asStoreError(path, e);
  }
}

/** The header tag of a file nonce: a positive 31-bit number. */
function tagOf(file: Uint8Array): number {
  return Buffer.from(file).readUInt32BE(0) >>> 1 || 1;
}

/** Checks an existing file without writing to it or its log; throws what is wrong. */
function inspect(path: string, expected: StoreIdentity, schema: StoreSchema, hasWal: boolean): void {
  checkHeader(path);
  const shm = `${path}-shm`;
  const shmBefore = existsSync(shm);
  // the main file alone: `immutable` reads no log and makes no -shm
  const url = pathToFileURL(resolve(path));
  url.searchParams.set("immutable", "1");
  const mainOnly = (check: boolean) => read(path, () => new DatabaseSync(url, { readOnly: true }), check);
  let { identity: view, problems } = mainOnly(!hasWal);
  if (hasWal) {
    const main = view;
    try {
      // with the log: a read-only connection reads it but never checkpoints it (the -shm it makes is removed below)
      ({ identity: view, problems } = read(path, () => new DatabaseSync(path, { readOnly: true }), true));
    } finally {
      if (!shmBefore) rmSync(shm, { force: true });
    }
    // a log that names another file, or that breaks a file which is sound without it, is not this file's
    if (
      (main !== undefined && !sameFile(main, view)) ||
      (problems.length > 0 && mainOnly(true).problems.length === 0)
    ) {
      throw new StoreError(
        "foreign-wal",
        path,
        "the write-ahead log next to it is not this file's (it names another file, or breaks this one)",
        {
          file: main?.file,
          log: view?.file,
          problems: problems.slice(0, 5),
        },
      );
    }
  }
  if (problems.length > 0) {
    throw new StoreError("corrupt", path, "the store file fails SQLite's integrity check", {
      problems: problems.slice(0, 5),
      withLog: hasWal,
    });
  }
  if (view?.kind === undefined) throw new StoreError("wrong-kind", path, "not a Strata store", { expected });
  if (view.kind !== expected.kind) {
    throw new StoreError("wrong-kind", path, `a ${view.kind} store, not a ${expected.kind} store`, {
      kind: view.kind,
      expected: expected.kind,
    });
  }
  const ownerKey = OWNER_KEY[expected.kind];
  if (view.owner !== expected.owner) {
    throw new StoreError("wrong-owner", path, `the ${expected.kind} store of another ${ownerKey}`, {
      [ownerKey]: view.owner,
      expected: expected.owner,
    });
  }
  if (view.schema !== undefined && view.schema > schema.version) {
    throw new StoreError("schema", path, "the store was written by a newer schema", {
      schema: view.schema,
      supported: schema.version,
    });
  }
}

/** The first 16 bytes must be SQLite's magic string (a truncated header or another format is not a store). */
function checkHeader(path: string): void {
  const header = Buffer.alloc(SQLITE_MAGIC.length);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    readSync(fd, header, 0, header.length, 0);
  } catch (e) {
    throw new StoreError("unavailable", path, "cannot read the store file", {}, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (header.toString("latin1") !== SQLITE_MAGIC) throw new StoreError("corrupt", path, "not an SQLite database");
}

/**
 * Reads a file's identity through `connect` (a connection that cannot write),
 * after `PRAGMA quick_check` when `check`; a file SQLite finds damaged gives
 * its problems instead of an identity.
 */
function read(path: string, connect: () => DatabaseSync, check: boolean): Inspection {
  try {
    const db = connect();
    try {
      const problems = check
        ? (db.prepare("PRAGMA quick_check").all() as Row[]).map((r) => String(r.quick_check)).filter((p) => p !== "ok")
        : [];
      return { identity: problems.length > 0 ? undefined : identityOf(db), problems };
    } finally {
      db.close();
    }
  } catch (e) {
    const error = asStoreError(path, e);
    if (error instanceof StoreError && error.reason === "corrupt")
      return { identity: undefined, problems: [error.shortMessage] };
    throw error;
  }
}

interface Inspection {
  readonly identity: FileIdentity | undefined;
  readonly problems: string[];
}

function identityOf(db: DatabaseSync): FileIdentity | undefined {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() === undefined) {
    return undefined;
  }
  const meta = new Map((db.prepare("SELECT key, value FROM meta").all() as Row[]).map((r) => [String(r.key), r.value]));
  // stores made before `kind` was kept hold only their owner key
  const kind =
    (meta.get("kind") as StoreKind | undefined) ??
    (Object.keys(OWNER_KEY) as StoreKind[]).find((k) => meta.has(OWNER_KEY[k]));
  const text = (v: unknown): string | undefined => (v == null ? undefined : String(v));
  return {
    kind,
    owner: kind === undefined ? undefined : text(meta.get(OWNER_KEY[kind])),
    file: text(meta.get("file")),
    tag: Number((db.prepare("PRAGMA user_version").get() as Row).user_version),
    schema: meta.has("schema") ? Number(meta.get("schema")) : undefined,
  };
}

/**
 * The main file and the log name the same store: the same tag in the
 * database header and the same nonce in `meta` (either page may be in the
 * log); a file made before they were kept is judged on kind and owner.
 */
function sameFile(main: FileIdentity, view: FileIdentity | undefined): boolean {
  if (view === undefined) return false;
  if (main.tag !== 0 && main.tag !== view.tag) return false;
  if (main.file !== undefined && main.file !== view.file) return false;
  return main.kind === view.kind && main.owner === view.owner;
}

/** Runs a SQLite call, turning its errors into `StoreError`s. */
function sqlite<T>(path: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw asStoreError(path, e);
  }
}

/** SQLite's result codes for a damaged file or not a database; anything else (busy, no access) leaves the file unavailable. */
const CORRUPT_CODES = new Set([11, 26]);

function asStoreError(path: string, e: unknown): Error {
  if (e instanceof StoreError || e instanceof InvalidInputError || !(e instanceof Error)) return e as Error;
  const code = (e as { errcode?: number }).errcode;
  const reason: StoreRejection = code !== undefined && CORRUPT_CODES.has(code & 0xff) ? "corrupt" : "unavailable";
  return new StoreError(reason, path, `SQLite: ${(e as Error).message}`, { errcode: code }, e);
}
