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
import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { pathToFileURL } from "node:url";

import { InvalidInputError, type StoreRejection, StoreError, StrataError } from "../errors.ts";

/** Which role a store file belongs to. */
export type StoreKind = "flow" | "fog" | "object" | "keyserver" | "sender";

/** The meta key each kind keeps its owner under (the key stores made before `kind` was kept still have). */
const OWNER_KEY: Readonly<Record<StoreKind, string>> = {
  flow: "station",
  fog: "node",
  object: "layer",
  keyserver: "keyserver",
  sender: "account",
};

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
  /** Extra connection pragmas (WAL and `synchronous` (`StoreOpenOptions`) are always set). */
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
  /**
   * Files up to this many bytes get SQLite's full `PRAGMA quick_check` at every open (default
   * `DEFAULT_INTEGRITY_CHECK_BYTES`, 32 MiB); larger ones only when the last writer did not close
   * cleanly (a `-wal` is there). `verify()` runs the full check on demand.
   */
  readonly integrityCheckBytes?: number;
  /**
   * SQLite's `synchronous` on the writer's connection (WAL either way). `NORMAL` (the default): a
   * commit survives a crash of the process, not of the machine (the WAL is fsynced only at
   * checkpoints). `FULL`: every commit is fsynced before it returns, so it survives a power loss
   * too, at the cost of one fsync per transaction: for a store whose commits are acknowledged to
   * someone who then forgets the data (a station's receipts).
   */
  readonly synchronous?: Synchronous;
}

/** SQLite's `synchronous` levels a store may run at. */
export type Synchronous = "NORMAL" | "FULL";

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

/** The default `integrityCheckBytes`: files up to this size get a full `PRAGMA quick_check` at every open. */
export const DEFAULT_INTEGRITY_CHECK_BYTES = 32 * 1024 * 1024;

/** Opens the store file at `path` as `identity`'s store, checked as the module header says. */
export function openStore(
  path: string,
  identity: StoreIdentity,
  schema: StoreSchema,
  mode: OpenMode,
  options: { readonly integrityCheckBytes?: number; readonly synchronous?: Synchronous } = {},
): DatabaseSync {
  if (typeof path !== "string" || path.length === 0) throw new InvalidInputError("a store path is required", { path });
  if (mode !== "create" && mode !== "open" && mode !== "auto") {
    throw new InvalidInputError("mode must be create, open or auto", { mode });
  }
  const synchronous = options.synchronous ?? "NORMAL";
  if (synchronous !== "NORMAL" && synchronous !== "FULL") {
    throw new InvalidInputError("synchronous must be NORMAL or FULL", { synchronous });
  }
  const limit = options.integrityCheckBytes ?? DEFAULT_INTEGRITY_CHECK_BYTES;
  if (typeof limit !== "number" || !(limit >= 0)) {
    throw new InvalidInputError("integrityCheckBytes must be a number >= 0", { integrityCheckBytes: limit });
  }
  if (path === ":memory:") return guard(path, createIn(path, path, identity, schema, synchronous));
  const main = sizeOf(path);
  const wal = sizeOf(`${path}-wal`);
  checkNoJournal(path);
  let expected: FileIdentity | undefined;
  if (mode === "create" || (mode === "auto" && main === undefined && wal === undefined)) {
    if (main !== undefined && main > 0) throw new StoreError("exists", path, "a file is already there");
    if (wal !== undefined && wal > 0) {
      throw new StoreError("foreign-wal", path, "a write-ahead log with no database of its own is next to it");
    }
    expected = createFile(path, identity, schema);
  } else {
    if (main === undefined) throw new StoreError("missing", path, "no store file");
    if (main === 0) throw new StoreError("empty", path, "the store file is empty (0 bytes)");
    // a -wal at open means the last writer did not close (a clean close checkpoints and deletes it)
    expected = inspect(path, identity, schema, wal, wal !== undefined || main <= limit);
  }
  return guard(path, reopen(path, identity, schema, expected, synchronous));
}

/**
 * Reads an existing store file as `openStore` checks it (nothing written;
 * `undefined` when there is no file and no log), then `read` on a read-only
 * connection to the checked view: what a role checks before it opens the file
 * for writing.
 */
export function inspectStore<T>(
  path: string,
  identity: StoreIdentity,
  schema: StoreSchema,
  read: (db: DatabaseSync) => T,
  options: { readonly integrityCheckBytes?: number } = {},
): T | undefined {
  if (typeof path !== "string" || path.length === 0 || path === ":memory:") {
    throw new InvalidInputError("a store file path is required", { path });
  }
  const limit = options.integrityCheckBytes ?? DEFAULT_INTEGRITY_CHECK_BYTES;
  const main = sizeOf(path);
  const wal = sizeOf(`${path}-wal`);
  checkNoJournal(path);
  if (main === undefined && wal === undefined) return undefined;
  if (main === undefined) throw new StoreError("missing", path, "no store file");
  if (main === 0) throw new StoreError("empty", path, "the store file is empty (0 bytes)");
  inspect(path, identity, schema, wal, wal !== undefined || main <= limit);
  const hasWal = wal !== undefined && wal > 0;
  return withShm(path, hasWal, () => {
    const db = sqlite(path, () => (hasWal ? new DatabaseSync(path, { readOnly: true }) : immutable(path)));
    try {
      return guardedCall(path, () => read(db));
    } finally {
      db.close();
    }
  });
}

/** Runs SQLite's full `PRAGMA quick_check` on an open store; `StoreError` "corrupt" lists what it found. */
export function verifyStore(db: DatabaseSync, path: string): void {
  const problems = (db.prepare("PRAGMA quick_check").all() as Row[])
    .map((r) => String(r.quick_check))
    .filter((p) => p !== "ok");
  if (problems.length > 0) {
    throw new StoreError("corrupt", path, "the store file fails SQLite's integrity check", {
      problems: problems.slice(0, 5),
    });
  }
}

/**
 * Runs `work` in one write transaction: all of it or none (`onRollback` undoes in-memory state).
 * Every transaction also writes the database header (page 1: `PRAGMA application_id` counts
 * transactions), so each commit in the `-wal` carries the file's tag and a log is bound to its file.
 */
export function transaction<T>(db: DatabaseSync, work: () => T, onRollback?: () => void): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const out = work();
    touchHeader(db);
    db.exec("COMMIT");
    return out;
  } catch (e) {
    // a failed COMMIT may have ended the transaction already; the first error is the one to see
    try {
      if (db.isTransaction) db.exec("ROLLBACK");
    } catch {
      // the first error says what went wrong
    }
    onRollback?.();
    throw PATHS.has(db) && !isConstraint(e) ? asStoreError(PATHS.get(db), e) : e;
  }
}

/** A SQLite constraint violation (a UNIQUE or PRIMARY KEY clash), which stores catch to say what it means. */
export function isConstraint(e: unknown): boolean {
  const code = (e as { errcode?: unknown } | undefined)?.errcode;
  return e instanceof Error && typeof code === "number" && (code & 0xff) === 19;
}

/** The header write every transaction makes (see `transaction`). */
function touchHeader(db: DatabaseSync): void {
  const count = Number((db.prepare("PRAGMA application_id").get() as Row).application_id);
  db.exec(`PRAGMA application_id = ${(Math.abs(count) % 0x7ffffffe) + 1}`);
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

/**
 * The O(1) check at every open of a file with no log: the size its header names (page size at
 * offset 16, 1 meaning 65536, × page count at offset 28) must be its size, so a file cut short (or
 * grown) is refused even when it is too large for the full check. SQLite alone rounds a short last
 * page up and reads its missing tail as zeros. The page count is used only when it is valid (the
 * version-valid-for number at 92 is the change counter at 24: SQLite 3.7+ keeps them so, in WAL mode
 * too, as every page-1 write sets both). With a log the full check runs instead: a checkpoint cut
 * short may leave the main file shorter than its header until the log is replayed.
 */
function checkSize(path: string): void {
  const header = Buffer.alloc(100);
  let fd: number | undefined;
  let size: number;
  let read: number;
  try {
    fd = openSync(path, "r");
    size = fstatSync(fd).size;
    read = readSync(fd, header, 0, 100, 0);
  } catch (e) {
    throw new StoreError("unavailable", path, "cannot read the file's header", {}, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // not an SQLite header: the checks that follow name what it is
  if (read < 100 || header.toString("latin1", 0, 16) !== "SQLite format 3\0") return;
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const pages = header.readUInt32BE(28);
  if (pages === 0 || header.readUInt32BE(92) !== header.readUInt32BE(24)) return;
  const expectedSize = pageSize * pages;
  if (expectedSize !== size) {
    throw new StoreError(
      "corrupt",
      path,
      `the file is ${size} bytes but its header names ${pages} pages of ${pageSize} bytes (${expectedSize})`,
      { size, expectedSize, pages, pageSize },
    );
  }
}

/** The writer's connection settings: one writer per file (`EXCLUSIVE` locking, so no `-shm` either), WAL. */
function configure(db: DatabaseSync, schema: StoreSchema, synchronous: Synchronous = "NORMAL"): void {
  db.exec(
    `PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous}; ${schema.pragmas ?? ""}`,
  );
}

/** Refuses a rollback journal next to the file: SQLite would replay it into the file at the first write. */
function checkNoJournal(path: string): void {
  const journal = sizeOf(`${path}-journal`);
  if (journal !== undefined && journal > 0) {
    throw new StoreError(
      "journal",
      path,
      "a rollback journal is next to it (a store never makes one); it is not replayed",
      {
        journal,
      },
    );
  }
}

/**
 * A new store's tables and identity, written in one transaction by `db`, then the file turned to WAL:
 * all of it is in the main file. Returns the identity written.
 */
function initialise(db: DatabaseSync, identity: StoreIdentity, schema: StoreSchema): FileIdentity {
  const file = randomBytes(16);
  transaction(db, () => {
    db.exec(schema.ddl);
    const put = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    put.run("schema", String(schema.version));
    put.run("kind", identity.kind);
    put.run(OWNER_KEY[identity.kind], identity.owner);
    put.run("file", file.toString("hex"));
    db.exec(`PRAGMA user_version = ${tagOf(file)}`);
  });
  return { ...identity, file: file.toString("hex"), tag: tagOf(file), schema: schema.version };
}

/** A store in memory (`:memory:`), made complete on the connection that is returned. */
function createIn(
  path: string,
  target: string,
  identity: StoreIdentity,
  schema: StoreSchema,
  synchronous: Synchronous = "NORMAL",
): DatabaseSync {
  const db = sqlite(path, () => new DatabaseSync(target));
  try {
    initialise(db, identity, schema);
    configure(db, schema, synchronous);
    return db;
  } catch (e) {
    db.close();
    throw asStoreError(path, e);
  }
}

/**
 * A new store file: made complete (tables, identity, WAL mode) in a temporary file next to `path`,
 * synced, then linked into place (atomic, and refused when a file appeared there meanwhile). A crash
 * leaves either no file at `path` or a complete one; at most a `<path>.tmp-*` file is left over.
 */
function createFile(path: string, identity: StoreIdentity, schema: StoreSchema): FileIdentity {
  const tmp = `${path}.tmp-${randomBytes(8).toString("hex")}`;
  try {
    const db = sqlite(path, () => new DatabaseSync(tmp));
    let made: FileIdentity;
    try {
      made = initialise(db, identity, schema);
      db.exec("PRAGMA journal_mode = WAL");
    } finally {
      db.close();
    }
    syncFile(path, tmp);
    try {
      linkSync(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST")
        throw new StoreError("exists", path, "a file is already there");
      throw new StoreError("unavailable", path, "cannot put the new store file in place", {}, e);
    }
    syncFile(path, dirname(resolve(path)));
    return made;
  } catch (e) {
    throw asStoreError(path, e);
  } finally {
    for (const f of [tmp, `${tmp}-journal`, `${tmp}-wal`]) rmSync(f, { force: true });
  }
}

function syncFile(path: string, file: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    fsyncSync(fd);
  } catch (e) {
    throw new StoreError("io", path, "cannot sync the new store file to disk", { file }, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The checked (or just made) store opened for writing. The connection takes the file's lock
 * before anything is written and re-reads the identity through it: a file that changed since it
 * was checked, or that another connection holds (`unavailable`), is refused untouched. Then new
 * tables are added, and identity rows a store made before they were kept lacks.
 */
function reopen(
  path: string,
  identity: StoreIdentity,
  schema: StoreSchema,
  expected: FileIdentity,
  synchronous: Synchronous = "NORMAL",
): DatabaseSync {
  const db = sqlite(path, () => new DatabaseSync(path));
  try {
    configure(db, schema, synchronous);
    const now = identityOf(db);
    if (now === undefined || !sameFile(expected, now) || now.kind !== identity.kind || now.owner !== identity.owner) {
      throw new StoreError("unavailable", path, "the file changed while it was being opened", {
        file: expected.file,
        now: now?.file,
      });
    }
    const tagged = transaction(db, () => {
      db.exec(schema.ddl);
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

/**
 * Checks an existing file without writing to it or its log; returns what it is or throws what is wrong.
 * `check`: run `PRAGMA quick_check` (reads the whole file) as well as the O(1) checks.
 */
function inspect(
  path: string,
  expected: StoreIdentity,
  schema: StoreSchema,
  walSize: number | undefined,
  check: boolean,
): FileIdentity {
  const hasWal = walSize !== undefined && walSize > 0;
  if (!hasWal) checkSize(path);
  // the main file alone: `immutable` reads no log and makes no -shm
  const mainOnly = (withCheck: boolean) => read(path, () => immutable(path), withCheck);
  let { identity: view, problems } = mainOnly(check && !hasWal);
  if (hasWal) {
    const main = view;
    const unbound = unboundCommits(path);
    // with the log: a read-only connection reads it but never checkpoints it
    ({ identity: view, problems } = withShm(path, true, () =>
      read(path, () => new DatabaseSync(path, { readOnly: true }), check),
    ));
    // a log that names another file, holds a commit without this file's header, or breaks a file
    // which is sound without it, is not this file's
    if (
      (main !== undefined && problems.length === 0 && (!sameFile(main, view) || (main.tag !== 0 && unbound > 0))) ||
      (problems.length > 0 && mainOnly(true).problems.length === 0)
    ) {
      throw new StoreError(
        "foreign-wal",
        path,
        "the write-ahead log next to it is not this file's (it names another file, or breaks this one)",
        {
          file: main?.file,
          log: view?.file,
          unboundCommits: unbound,
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
  return view;
}

/** A read-only connection to the main file alone (`immutable`: no log, no lock, no -shm). */
function immutable(path: string): DatabaseSync {
  const url = pathToFileURL(resolve(path));
  url.searchParams.set("immutable", "1");
  return new DatabaseSync(url, { readOnly: true });
}

/**
 * Runs `work`, which reads the file with its log: SQLite needs a `-shm` for that (a writer, in
 * exclusive mode, makes none). When there is none, it is made here first (exclusively: a `-shm`
 * another process made is never taken for this one) and removed after; one that was there is left.
 */
function withShm<T>(path: string, withLog: boolean, work: () => T): T {
  if (!withLog) return work();
  const shm = `${path}-shm`;
  let made = false;
  try {
    closeSync(openSync(shm, "wx"));
    made = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new StoreError("unavailable", path, "cannot make the shared-memory file to read the log", {}, e);
    }
  }
  try {
    return work();
  } finally {
    if (made) rmSync(shm, { force: true });
  }
}

/**
 * The commits in `path`'s `-wal` (the frames SQLite would replay: its salts and checksums hold) that do
 * not write page 1, the database header with the file's tag. Every store transaction writes it
 * (`transaction`), so a log of this file has none; a log of another file that updates only other pages
 * would otherwise be replayed into this one unnoticed.
 */
export function unboundCommits(path: string): number {
  let fd: number | undefined;
  try {
    fd = openSync(`${path}-wal`, "r");
    const header = Buffer.alloc(32);
    if (readSync(fd, header, 0, 32, 0) < 32) return 0;
    const magic = header.readUInt32BE(0);
    if (magic !== 0x377f0682 && magic !== 0x377f0683) return 0; // SQLite ignores it too
    const bigEndian = magic === 0x377f0683;
    const pageSize = header.readUInt32BE(8) === 1 ? 65536 : header.readUInt32BE(8);
    let [s1, s2] = walChecksum(header.subarray(0, 24), bigEndian, 0, 0);
    if (s1 !== header.readUInt32BE(24) || s2 !== header.readUInt32BE(28)) return 0;
    const frame = Buffer.alloc(24 + pageSize);
    let unbound = 0;
    let hasPage1 = false;
    for (let offset = 32; readSync(fd, frame, 0, frame.length, offset) === frame.length; offset += frame.length) {
      if (!frame.subarray(8, 16).equals(header.subarray(16, 24))) break;
      [s1, s2] = walChecksum(frame.subarray(0, 8), bigEndian, s1, s2);
      [s1, s2] = walChecksum(frame.subarray(24), bigEndian, s1, s2);
      if (s1 !== frame.readUInt32BE(16) || s2 !== frame.readUInt32BE(20)) break;
      hasPage1 ||= frame.readUInt32BE(0) === 1;
      if (frame.readUInt32BE(4) !== 0) {
        if (!hasPage1) unbound++;
        hasPage1 = false;
      }
    }
    return unbound;
  } catch (e) {
    throw new StoreError("unavailable", path, "cannot read the write-ahead log", {}, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** SQLite's WAL checksum of `data` (a multiple of 8 bytes), continuing from `a`, `b`. */
function walChecksum(data: Uint8Array, bigEndian: boolean, a: number, b: number): [number, number] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let s1 = a;
  let s2 = b;
  for (let i = 0; i < data.byteLength; i += 8) {
    s1 = (s1 + view.getUint32(i, !bigEndian) + s2) >>> 0;
    s2 = (s2 + view.getUint32(i + 4, !bigEndian) + s1) >>> 0;
  }
  return [s1, s2];
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

/** SQLite's result codes for a damaged file or not a database. */
const CORRUPT_CODES = new Set([11, 26]);
const SQLITE_IOERR = 10;
const SQLITE_FULL = 13;

/** A SQLite error as a `StoreError`: `corrupt`, `full` (disk or size limit), `io`, else `unavailable` (busy, locked, no access). */
function asStoreError(path: string | undefined, e: unknown): Error {
  if (e instanceof StrataError || !(e instanceof Error)) return e as Error;
  const code = (e as { errcode?: number }).errcode;
  if (code === undefined && !("code" in e && String((e as { code: unknown }).code).startsWith("ERR_SQLITE"))) return e;
  const primary = code === undefined ? undefined : code & 0xff;
  const reason: StoreRejection =
    primary !== undefined && CORRUPT_CODES.has(primary)
      ? "corrupt"
      : primary === SQLITE_FULL
        ? "full"
        : primary === SQLITE_IOERR
          ? "io"
          : "unavailable";
  return new StoreError(reason, path, `SQLite: ${e.message}`, { errcode: code }, e);
}

/** The file each guarded connection is for. */
const PATHS = new WeakMap<DatabaseSync, string>();

/** Runs `call`, turning SQLite's errors into `StoreError`s, except constraint violations (stores catch those). */
function guardedCall<T>(path: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw isConstraint(e) ? e : asStoreError(path, e);
  }
}

const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b/i;

/**
 * `db` as the stores use it: every statement (`run`, `get`, `all`, `iterate`) and `exec` gives its
 * SQLite errors as `StoreError`s (a damaged page read later is `corrupt`, a full disk `full`), and a
 * write outside a transaction runs in one (`transaction`, so it writes the header too).
 */
function guard(path: string, db: DatabaseSync): DatabaseSync {
  const statement = (st: StatementSync, proxy: DatabaseSync): StatementSync =>
    new Proxy(st, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        const method = value as (...args: unknown[]) => unknown;
        if (key === "run") {
          return (...args: unknown[]) =>
            db.isTransaction
              ? guardedCall(path, () => method.apply(target, args))
              : transaction(proxy, () => guardedCall(path, () => method.apply(target, args)));
        }
        if (key === "get" || key === "all")
          return (...args: unknown[]) => guardedCall(path, () => method.apply(target, args));
        if (key === "iterate") {
          return (...args: unknown[]) => {
            const it = guardedCall(path, () => method.apply(target, args)) as IterableIterator<unknown>;
            const wrapped: IterableIterator<unknown> = {
              next: () => guardedCall(path, () => it.next()),
              return: (v?: unknown) => guardedCall(path, () => it.return?.(v) ?? { done: true, value: v }),
              [Symbol.iterator]() {
                return wrapped;
              },
            };
            return wrapped;
          };
        }
        return method.bind(target);
      },
    });
  const proxy: DatabaseSync = new Proxy(db, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (key === "prepare") {
        return (...args: unknown[]) =>
          statement(guardedCall(path, () => method.apply(target, args)) as StatementSync, proxy);
      }
      if (key === "exec") {
        return (sql: string) =>
          db.isTransaction || TRANSACTION_CONTROL.test(sql)
            ? guardedCall(path, () => method.call(target, sql))
            : transaction(proxy, () => guardedCall(path, () => method.call(target, sql)));
      }
      return method.bind(target);
    },
  });
  PATHS.set(proxy, path);
  return proxy;
}
