/**
 * An edge layer's object database (seed 003 §III.A, Fig. 3): the central node
 * of an edge layer (Layer 0) keeps, for every object of the layer, its UUID
 * (the layer's address plus a local id), its identity information (class path,
 * permissions, description), its state properties, its function collection and
 * its format documents. Objects talk to other layers only through this node.
 *
 * One SQLite file per central node via `node:sqlite` (the seed's "NoSQL
 * database"; SQLite by default). A store belongs to one edge layer: the layer
 * address is kept in the file and checked on open, so rows carry only the
 * local id. Each object also carries its on-chain identifier `deviceId(uuid)`,
 * the same id the DeviceRegistry uses, so it can be looked up either way.
 *
 * Local ids are uint256 values kept as 32-byte big-endian blobs, whose byte
 * order is their numeric order (paging by local id is an index walk). Every
 * change bumps the object's `version` and `updatedAt`; a writer that read
 * version v passes it as the expected version and is refused if another
 * writer got there first (optimistic concurrency). Writes are all or nothing.
 *
 * The central node also keeps here what it delivered to its objects (the
 * summary Sum(M) of each contract message, the superior's block it came in
 * and that block's expiry then), so a transmission re-sent to it, even after
 * a restart, is refused as a replay (`EdgeNode.deliver`).
 */
import { type DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";

import { fromHex, type Hex, toHex, uint256 } from "../core/bytes.ts";
import { checkLayer, deviceId, type Uuid } from "../core/ids.ts";
import { InvalidInputError, ObjectStoreError } from "../errors.ts";

export { ObjectStoreError, type ObjectStoreRejection } from "../errors.ts";
import { type OpenMode, openStore, transaction, u8, verifyStore } from "./sqlite.ts";

const SCHEMA_VERSION = "1";

/** Class paths as in device profiles: `Device/Sensor/Temperature` (see `isUnderClass`). */
const CLASS_PATH = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
const MAX_CLASS_PATH = 256;
const MAX_DESCRIPTION = 65_536;
/** The largest serialised JSON value kept in one field (state, functions, formats). */
export const MAX_OBJECT_JSON_BYTES = 1_048_576;
const MAX_JSON_DEPTH = 64;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const MAX_UINT256 = (1n << 256n) - 1n;

/** A JSON value (what state properties and format documents are made of). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/**
 * One of an object's functions: its name and the names of its inputs and
 * outputs (types or format documents, as the layer's data analysis reads them).
 */
export interface FunctionDescriptor {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** A format document: a JSON-schema-like object, or a text description. */
export type FormatDocument = JsonObject | string;

/** An object as the central node keeps it. */
export interface StoredObject {
  readonly uuid: Uuid;
  /** `deviceId(uuid)`: the object's on-chain identifier. */
  readonly id: Hex;
  readonly localId: bigint;
  readonly classPath: string;
  /** A u32 bitmask of the object's permissions (their meaning is the layer's policy). */
  readonly permissions: number;
  readonly description: string;
  /** State properties (static and dynamic), a JSON object. */
  readonly state: JsonObject;
  readonly functions: readonly FunctionDescriptor[];
  /** Format documents by name. */
  readonly formats: { readonly [name: string]: FormatDocument };
  /** 1 when created, one more after every change. */
  readonly version: number;
  /** When created and last changed (ms, the store's clock). */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A new object. Without `localId` the store gives the next one (one more than the highest, from 1). */
export interface NewObject {
  readonly localId?: bigint;
  readonly classPath: string;
  /** Default 0. */
  readonly permissions?: number;
  /** Default "". */
  readonly description?: string;
  /** Default {}. */
  readonly state?: JsonObject;
  /** Default []. */
  readonly functions?: readonly FunctionDescriptor[];
  /** Default {}. */
  readonly formats?: { readonly [name: string]: FormatDocument };
}

/** A partial change: the fields given replace the stored ones (state and formats whole). */
export type ObjectPatch = Partial<Omit<NewObject, "localId">>;

const PATCH_FIELDS: ReadonlySet<string> = new Set([
  "classPath",
  "permissions",
  "description",
  "state",
  "functions",
  "formats",
]);

/** A query of the object database, ordered by local id. */
export interface ObjectQuery {
  /** Only objects of this class or below it (`Device/Sensor` matches `Device/Sensor/Temperature`). */
  readonly classPath?: string;
  /** Only objects holding every bit of this u32 mask (e.g. `1 << 3`). */
  readonly permission?: number;
  /** Page after this local id (the last local id of the previous page). */
  readonly afterLocalId?: bigint;
  /** At most this many (default 1,000, at most 10,000). */
  readonly limit?: number;
}

/** A contract message the central node delivered (`ObjectStore.delivery`). */
export interface DeliveryRecord {
  /** Sum(M). */
  readonly summary: Hex;
  /** The superior layer's block it arrived in. */
  readonly blockId: Hex;
  /** That block's expiry (seconds) at the last delivery. */
  readonly expiry: bigint;
  /** How many times it was delivered (more than once only when a first message renewed an extended block). */
  readonly count: number;
  /** When it was first and last delivered (ms, the store's clock). */
  readonly firstAt: number;
  readonly lastAt: number;
}

/**
 * A contract this edge layer is a party of (`ObjectStore.contract`): the one
 * it opened for one of its objects, or whose first message it delivered to one.
 */
export interface ContractRecord {
  /** The contract's opening summary: Sum(M) of its first message, what every layer's block was opened for. */
  readonly opening: Hex;
  /** This layer's object (the first message's sender when this layer opened it, its receiver otherwise). */
  readonly local: Hex;
  /** The other edge layer's object. */
  readonly remote: Hex;
  /** When it was remembered (ms, the store's clock). */
  readonly at: number;
}

interface Row {
  readonly [column: string]: unknown;
}

function fromWord(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function checkLocalId(localId: unknown, field = "localId"): bigint {
  if (typeof localId !== "bigint" || localId < 0n || localId > MAX_UINT256) {
    throw new InvalidInputError(`${field} must be a bigint in [0, 2^256)`, { [field]: String(localId) });
  }
  return localId;
}

function checkClassPath(classPath: unknown, field = "classPath"): string {
  if (typeof classPath !== "string" || classPath.length > MAX_CLASS_PATH || !CLASS_PATH.test(classPath)) {
    throw new InvalidInputError(`${field} must look like Device/Sensor/Temperature (at most ${MAX_CLASS_PATH} chars)`, {
      [field]: classPath,
    });
  }
  return classPath;
}

function checkU32(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new InvalidInputError(`${field} must be an integer in [0, 2^32)`, { [field]: value });
  }
  return value;
}

function checkDescription(description: unknown): string {
  if (typeof description !== "string" || description.length > MAX_DESCRIPTION) {
    throw new InvalidInputError(`description must be a string of at most ${MAX_DESCRIPTION} chars`, {
      length: typeof description === "string" ? description.length : typeof description,
    });
  }
  return description;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Checks that `value` is plain JSON (no undefined, NaN, bigint, class instance or cycle). */
function checkJson(value: unknown, field: string, depth = 0, seen: Set<object> = new Set()): void {
  if (depth > MAX_JSON_DEPTH) throw new InvalidInputError(`${field} is nested too deeply`, { field });
  if (value === null || typeof value === "boolean" || typeof value === "string") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new InvalidInputError(`${field} must be a finite number`, { field });
    return;
  }
  if (typeof value === "object") {
    if (seen.has(value)) throw new InvalidInputError(`${field} is cyclic`, { field });
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) checkJson(value[i], `${field}[${i}]`, depth + 1, seen);
    } else if (isPlainObject(value)) {
      for (const [k, v] of Object.entries(value)) checkJson(v, `${field}.${k}`, depth + 1, seen);
    } else {
      throw new InvalidInputError(`${field} must be plain JSON (not a class instance)`, { field });
    }
    seen.delete(value);
    return;
  }
  throw new InvalidInputError(`${field} must be JSON (not ${typeof value})`, { field });
}

/** Serialises a checked JSON field, refusing values over the size limit. */
function jsonText(value: unknown, field: string): string {
  const text = JSON.stringify(value);
  if (Buffer.byteLength(text, "utf8") > MAX_OBJECT_JSON_BYTES) {
    throw new InvalidInputError(`${field} is larger than ${MAX_OBJECT_JSON_BYTES} bytes as JSON`, { field });
  }
  return text;
}

function checkState(state: unknown): string {
  if (!isPlainObject(state)) throw new InvalidInputError("state must be a JSON object", { field: "state" });
  checkJson(state, "state");
  return jsonText(state, "state");
}

function checkName(name: unknown, field: string): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new InvalidInputError(`${field} must be a name like read_temperature (at most 128 chars)`, {
      [field]: name,
    });
  }
  return name;
}

function checkFunctions(functions: unknown): string {
  if (!Array.isArray(functions)) throw new InvalidInputError("functions must be an array", { field: "functions" });
  const names = new Set<string>();
  const out: FunctionDescriptor[] = functions.map((f: unknown, i) => {
    const field = `functions[${i}]`;
    if (!isPlainObject(f)) throw new InvalidInputError(`${field} must be {name, inputs, outputs}`, { field });
    const name = checkName(f.name, `${field}.name`);
    if (names.has(name)) throw new InvalidInputError(`${field}.name is repeated`, { name });
    names.add(name);
    const list = (v: unknown, which: "inputs" | "outputs"): string[] => {
      if (!Array.isArray(v)) throw new InvalidInputError(`${field}.${which} must be an array of names`, { field });
      return v.map((s: unknown, j) => checkName(s, `${field}.${which}[${j}]`));
    };
    return { name, inputs: list(f.inputs, "inputs"), outputs: list(f.outputs, "outputs") };
  });
  return jsonText(out, "functions");
}

function checkFormats(formats: unknown): string {
  if (!isPlainObject(formats)) throw new InvalidInputError("formats must be an object of name → document");
  for (const [name, doc] of Object.entries(formats)) {
    checkName(name, "formats name");
    if (typeof doc !== "string" && !isPlainObject(doc)) {
      throw new InvalidInputError(`formats.${name} must be a JSON object or a string`, { field: `formats.${name}` });
    }
    checkJson(doc, `formats.${name}`);
  }
  return jsonText(formats, "formats");
}

function checkExpectedVersion(version: unknown): number | undefined {
  if (version === undefined) return undefined;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidInputError("expectedVersion must be a positive integer", { expectedVersion: version });
  }
  return version;
}

export interface ObjectStoreOptions {
  /** The store's clock (ms), default `Date.now`. */
  readonly now?: () => number;
  /** How to open the file (`OpenMode`; default `auto`: create when no file is there, else open). */
  readonly mode?: OpenMode;
  /** Files up to this size get a full integrity check at every open (default 32 MiB; see `StoreOpenOptions`). */
  readonly integrityCheckBytes?: number;
}

export class ObjectStore {
  readonly path: string;
  /** The edge layer this store belongs to (every UUID's layer part). */
  readonly layer: string;
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #byLocalId: StatementSync;
  readonly #byId: StatementSync;
  readonly #insert: StatementSync;

  /**
   * Opens the object database of edge layer `layer` at `path` (`":memory:"`
   * for a throw-away store), checked before anything is written
   * (`openStore`): a missing file is created (`options.mode`: `create` or
   * `open` to say which is meant), anything else must be this layer's intact
   * object store, or `StoreError` says why not.
   */
  constructor(path: string, layer: string, options: ObjectStoreOptions = {}) {
    if (typeof path !== "string" || path.length === 0) {
      throw new InvalidInputError("a store path is required", { path });
    }
    checkLayer(layer);
    this.path = path;
    this.layer = layer;
    this.#now = options.now ?? Date.now;
    this.#db = openStore(
      path,
      { kind: "object", owner: layer },
      {
        version: Number(SCHEMA_VERSION),
        ddl: `
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS objects (
        local_id BLOB PRIMARY KEY, id BLOB NOT NULL UNIQUE, class_path TEXT NOT NULL,
        permissions INTEGER NOT NULL, description TEXT NOT NULL, state TEXT NOT NULL,
        functions TEXT NOT NULL, formats TEXT NOT NULL, version INTEGER NOT NULL,
        created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS objects_class ON objects (class_path);
      CREATE TABLE IF NOT EXISTS deliveries (
        summary BLOB PRIMARY KEY, block BLOB NOT NULL, expiry INTEGER NOT NULL,
        count INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS contracts (
        opening BLOB PRIMARY KEY, local BLOB NOT NULL, remote BLOB NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
    `,
      },
      options.mode ?? "auto",
      options,
    );
    try {
      this.#byLocalId = this.#db.prepare("SELECT * FROM objects WHERE local_id = ?");
      this.#byId = this.#db.prepare("SELECT * FROM objects WHERE id = ?");
      this.#insert = this.#db.prepare(
        `INSERT INTO objects (local_id, id, class_path, permissions, description, state, functions, formats,
         version, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
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

  #toObject(r: Row): StoredObject {
    const localId = fromWord(u8(r.local_id));
    return {
      uuid: { layer: this.layer, localId },
      id: toHex(u8(r.id)),
      localId,
      classPath: String(r.class_path),
      permissions: Number(r.permissions),
      description: String(r.description),
      state: JSON.parse(String(r.state)) as JsonObject,
      functions: JSON.parse(String(r.functions)) as FunctionDescriptor[],
      formats: JSON.parse(String(r.formats)) as Record<string, FormatDocument>,
      version: Number(r.version),
      createdAt: Number(r.created),
      updatedAt: Number(r.updated),
    };
  }

  #transaction<T>(work: () => T): T {
    return transaction(this.#db, work);
  }

  /** A new object database for `layer` at `path`; refuses a file already there (`StoreError` "exists"). */
  static create(path: string, layer: string, options: Omit<ObjectStoreOptions, "mode"> = {}): ObjectStore {
    return new ObjectStore(path, layer, { ...options, mode: "create" });
  }

  /** `layer`'s existing object database at `path`; refuses a missing or 0-byte file (`StoreError` "missing", "empty"). */
  static open(path: string, layer: string, options: Omit<ObjectStoreOptions, "mode"> = {}): ObjectStore {
    return new ObjectStore(path, layer, { ...options, mode: "open" });
  }

  /** The UUID of local id `localId` in this layer. */
  uuidOf(localId: bigint): Uuid {
    return { layer: this.layer, localId: checkLocalId(localId) };
  }

  /** Adds an object to the layer; refuses a local id already in use (`ObjectStoreError` "duplicate"). */
  create(object: NewObject): StoredObject {
    if (!isPlainObject(object)) throw new InvalidInputError("object must be a plain object", { field: "object" });
    if (object.localId !== undefined) checkLocalId(object.localId);
    const classPath = checkClassPath(object.classPath);
    const permissions = checkU32(object.permissions ?? 0, "permissions");
    const description = checkDescription(object.description ?? "");
    const state = checkState(object.state ?? {});
    const functions = checkFunctions(object.functions ?? []);
    const formats = checkFormats(object.formats ?? {});
    const localId = this.#transaction(() => {
      const localId = object.localId ?? this.#nextLocalId();
      const key = uint256(localId, "localId");
      if (this.#byLocalId.get(key) !== undefined) {
        throw new ObjectStoreError("duplicate", "this local id is already in use in the layer", {
          layer: this.layer,
          localId: String(localId),
        });
      }
      const now = this.#now();
      this.#insert.run(
        key,
        fromHex(deviceId({ layer: this.layer, localId }), "id", 32),
        classPath,
        permissions,
        description,
        state,
        functions,
        formats,
        now,
        now,
      );
      return localId;
    });
    return this.#must(localId);
  }

  #nextLocalId(): bigint {
    const row = this.#db.prepare("SELECT local_id FROM objects ORDER BY local_id DESC LIMIT 1").get() as
      Row | undefined;
    if (row === undefined) return 1n;
    const next = fromWord(u8(row.local_id)) + 1n;
    if (next > MAX_UINT256) throw new InvalidInputError("no local id is left after 2^256 - 1; give one explicitly");
    return next;
  }

  /** An object by local id (a bigint) or by its on-chain id `deviceId(uuid)` (a 32-byte hex string). */
  get(key: bigint | Hex): StoredObject | undefined {
    let row: Row | undefined;
    if (typeof key === "bigint") row = this.#byLocalId.get(uint256(checkLocalId(key), "localId")) as Row | undefined;
    else if (typeof key === "string") row = this.#byId.get(fromHex(key, "id", 32)) as Row | undefined;
    else throw new InvalidInputError("get takes a local id (bigint) or an id (hex)", { key: String(key) });
    return row === undefined ? undefined : this.#toObject(row);
  }

  #must(localId: bigint): StoredObject {
    const row = this.#byLocalId.get(uint256(localId, "localId")) as Row | undefined;
    if (row === undefined) {
      throw new ObjectStoreError("not-found", "no object has this local id in the layer", {
        layer: this.layer,
        localId: String(localId),
      });
    }
    return this.#toObject(row);
  }

  /**
   * Changes the fields given in `patch`; with `expectedVersion`, only if the
   * object is still at that version (`ObjectStoreError` "stale-version"
   * otherwise). Returns the object as stored, its version one higher.
   */
  update(localId: bigint, patch: ObjectPatch, expectedVersion?: number): StoredObject {
    checkLocalId(localId);
    if (!isPlainObject(patch)) throw new InvalidInputError("patch must be a plain object", { field: "patch" });
    const keys = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
    const unknown = keys.filter((k) => !PATCH_FIELDS.has(k));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        "patch may change only classPath, permissions, description, state, functions, formats",
        {
          field: unknown[0],
        },
      );
    }
    if (keys.length === 0) throw new InvalidInputError("patch changes nothing", { field: "patch" });
    const expected = checkExpectedVersion(expectedVersion);
    const sets: string[] = [];
    const args: SQLInputValue[] = [];
    const set = (column: string, value: SQLInputValue): void => {
      sets.push(`${column} = ?`);
      args.push(value);
    };
    if (patch.classPath !== undefined) set("class_path", checkClassPath(patch.classPath));
    if (patch.permissions !== undefined) set("permissions", checkU32(patch.permissions, "permissions"));
    if (patch.description !== undefined) set("description", checkDescription(patch.description));
    if (patch.state !== undefined) set("state", checkState(patch.state));
    if (patch.functions !== undefined) set("functions", checkFunctions(patch.functions));
    if (patch.formats !== undefined) set("formats", checkFormats(patch.formats));
    return this.#write(localId, expected, sets, args);
  }

  /** Replaces the object's state properties (versioned like `update`). */
  setState(localId: bigint, state: JsonObject, expectedVersion?: number): StoredObject {
    checkLocalId(localId);
    const text = checkState(state);
    return this.#write(localId, checkExpectedVersion(expectedVersion), ["state = ?"], [text]);
  }

  #write(localId: bigint, expected: number | undefined, sets: string[], args: SQLInputValue[]): StoredObject {
    return this.#transaction(() => {
      const current = this.#must(localId);
      if (expected !== undefined && current.version !== expected) {
        throw new ObjectStoreError("stale-version", "the object changed since this version was read", {
          localId: String(localId),
          expectedVersion: expected,
          version: current.version,
        });
      }
      this.#db
        .prepare(`UPDATE objects SET ${sets.join(", ")}, version = version + 1, updated = ? WHERE local_id = ?`)
        .run(...args, this.#now(), uint256(localId, "localId"));
      return this.#must(localId);
    });
  }

  /** Removes an object; true if it was there. */
  remove(localId: bigint): boolean {
    const r = this.#db.prepare("DELETE FROM objects WHERE local_id = ?").run(uint256(checkLocalId(localId), "localId"));
    return Number(r.changes) > 0;
  }

  /** Objects in local id order, filtered by class (and below) and permission bits, paged by local id. */
  query(q: ObjectQuery = {}): StoredObject[] {
    const limit = q.limit ?? 1000;
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
      throw new InvalidInputError("limit must be an integer in [1, 10000]", { limit });
    }
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    if (q.afterLocalId !== undefined) {
      where.push("local_id > ?");
      args.push(uint256(checkLocalId(q.afterLocalId, "afterLocalId"), "afterLocalId"));
    }
    if (q.classPath !== undefined) {
      const c = checkClassPath(q.classPath);
      // the class itself, or anything from `c/` up to (not including) `c0` ('0' follows '/'): isUnderClass
      where.push("(class_path = ? OR (class_path >= ? AND class_path < ?))");
      args.push(c, `${c}/`, `${c}0`);
    }
    if (q.permission !== undefined) {
      const mask = checkU32(q.permission, "permission");
      if (mask === 0) throw new InvalidInputError("permission must name at least one bit", { permission: mask });
      where.push("(permissions & ?) = ?");
      args.push(mask, mask);
    }
    args.push(limit);
    const sql = `SELECT * FROM objects ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY local_id LIMIT ?`;
    return (this.#db.prepare(sql).all(...args) as Row[]).map((r) => this.#toObject(r));
  }

  /**
   * Remembers that the message with summary `summary` was delivered, from
   * block `blockId` of the superior layer whose expiry was `expiry`. True when
   * it is new; false when it was delivered before, unless `renewal` and
   * `expiry` is later than the one remembered (the first message of a block
   * extended since: remembered with the new expiry). One transaction, so two
   * deliveries of the same message at once cannot both be new.
   */
  rememberDelivery(summary: Hex, blockId: Hex, expiry: bigint, renewal = false): boolean {
    const key = fromHex(summary, "summary", 32);
    const block = fromHex(blockId, "blockId", 32);
    if (typeof expiry !== "bigint" || expiry < 0n || expiry > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new InvalidInputError("expiry must be a bigint in [0, 2^53)", { expiry: String(expiry) });
    }
    return this.#transaction(() => {
      const row = this.#db.prepare("SELECT expiry FROM deliveries WHERE summary = ?").get(key) as Row | undefined;
      const now = this.#now();
      if (row === undefined) {
        this.#db
          .prepare("INSERT INTO deliveries (summary, block, expiry, count, first, last) VALUES (?, ?, ?, 1, ?, ?)")
          .run(key, block, Number(expiry), now, now);
        return true;
      }
      if (!renewal || BigInt(Number(row.expiry)) >= expiry) return false;
      this.#db
        .prepare("UPDATE deliveries SET block = ?, expiry = ?, count = count + 1, last = ? WHERE summary = ?")
        .run(block, Number(expiry), now, key);
      return true;
    });
  }

  /** What was delivered with summary `summary`, or `undefined` when nothing was. */
  delivery(summary: Hex): DeliveryRecord | undefined {
    const row = this.#db.prepare("SELECT * FROM deliveries WHERE summary = ?").get(fromHex(summary, "summary", 32)) as
      Row | undefined;
    if (row === undefined) return undefined;
    return {
      summary: toHex(u8(row.summary)),
      blockId: toHex(u8(row.block)),
      expiry: BigInt(Number(row.expiry)),
      count: Number(row.count),
      firstAt: Number(row.first),
      lastAt: Number(row.last),
    };
  }

  /**
   * Remembers that this layer is a party of the contract opened for
   * `opening`, between its object `local` and the other layer's `remote`.
   * True when it is new; false when it was remembered before (the first
   * record stays: a contract's ends never change).
   */
  rememberContract(opening: Hex, local: Hex, remote: Hex): boolean {
    const key = fromHex(opening, "opening", 32);
    const l = fromHex(local, "local", 32);
    const r = fromHex(remote, "remote", 32);
    const run = this.#db
      .prepare("INSERT OR IGNORE INTO contracts (opening, local, remote, at) VALUES (?, ?, ?, ?)")
      .run(key, l, r, this.#now());
    return Number(run.changes) === 1;
  }

  /** The contract opened for `opening` this layer is a party of, or `undefined` when it is none of this layer's. */
  contract(opening: Hex): ContractRecord | undefined {
    const row = this.#db.prepare("SELECT * FROM contracts WHERE opening = ?").get(fromHex(opening, "opening", 32)) as
      Row | undefined;
    if (row === undefined) return undefined;
    return {
      opening: toHex(u8(row.opening)),
      local: toHex(u8(row.local)),
      remote: toHex(u8(row.remote)),
      at: Number(row.at),
    };
  }

  /** How many objects the layer has. */
  count(): number {
    return Number((this.#db.prepare("SELECT COUNT(*) AS n FROM objects").get() as Row).n);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
