/**
 * Reading and writing proof bundles: `parseBundle` checks every field of every kind (an
 * `InvalidInputError` naming the first bad one, `bundle.<path>`) and returns the bundle with hex
 * in lower case and chain values as bigints; `serializeBundle` writes it back (chain values as
 * decimal strings).
 */
import { InvalidInputError } from "../../errors.ts";
import type { Hex } from "../bytes.ts";
import { MAX_LEAVES } from "../merkle.ts";
import {
  type AnchorLocation,
  BUNDLE_FORMAT,
  BUNDLE_KINDS,
  BUNDLE_VERSION,
  type BundleKind,
  type MerklePath,
  type ProofBundle,
  type SummaryOpening,
} from "./format.ts";

type Raw = Record<string, unknown>;

const WORD = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;
const DECIMAL = /^[0-9]{1,78}$/;
/** The largest encoded Secuchain reading (16 KiB payload, 8 keyword slots, header and signature). */
const MAX_READING_HEX = 2 * 20_000;
/** The largest message M a summary bundle discloses (the ledger never sees M; 1 MiB is plenty). */
const MAX_MESSAGE_HEX = 2 * (1 << 20);

/** Field-by-field reading of one JSON object, each failure naming `bundle.<path>`. */
class Fields {
  readonly #raw: Raw;
  readonly #path: string;

  constructor(raw: unknown, path: string) {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(path, "an object");
    this.#raw = raw as Raw;
    this.#path = path;
  }

  #at(name: string): string {
    return this.#path === "" ? name : `${this.#path}.${name}`;
  }

  has(name: string): boolean {
    return this.#raw[name] !== undefined;
  }

  object(name: string): Fields {
    return new Fields(this.#raw[name], this.#at(name));
  }

  word(name: string, what = "a 32-byte hex word"): Hex {
    const v = this.#raw[name];
    if (typeof v !== "string" || !WORD.test(v)) fail(this.#at(name), what);
    return (v as string).toLowerCase() as Hex;
  }

  /** Hex of exactly `bytes` bytes, or of at most `maxHex` hex digits when `bytes` is undefined. */
  bytes(name: string, bytes: number | undefined, what: string, maxHex = Infinity): Hex {
    const v = this.#raw[name];
    if (
      typeof v !== "string" ||
      !HEX.test(v) ||
      (bytes !== undefined && v.length !== 2 + 2 * bytes) ||
      v.length - 2 > maxHex
    ) {
      fail(this.#at(name), what);
    }
    return (v as string).toLowerCase() as Hex;
  }

  address(name: string, what = "an address"): string {
    const v = this.#raw[name];
    if (typeof v !== "string" || !ADDRESS.test(v)) fail(this.#at(name), what);
    return v as string;
  }

  decimal(name: string, max?: bigint, what = "a decimal string"): bigint {
    const v = this.#raw[name];
    if (typeof v !== "string" || !DECIMAL.test(v) || (max !== undefined && BigInt(v) > max)) fail(this.#at(name), what);
    return BigInt(v as string);
  }

  integer(name: string, min: number, max: number, what: string): number {
    const v = this.#raw[name];
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) fail(this.#at(name), what);
    return v as number;
  }

  string(name: string): string {
    const v = this.#raw[name];
    if (typeof v !== "string") fail(this.#at(name), "a string");
    return v as string;
  }

  words(name: string, what: string): Hex[] {
    const v = this.#raw[name];
    if (!Array.isArray(v) || v.some((p) => typeof p !== "string" || !WORD.test(p))) fail(this.#at(name), what);
    return (v as string[]).map((p) => p.toLowerCase() as Hex);
  }

  array(name: string, what: string): Fields[] {
    const v = this.#raw[name];
    if (!Array.isArray(v)) fail(this.#at(name), what);
    return (v as unknown[]).map((item, i) => new Fields(item, `${this.#at(name)}[${i}]`));
  }
}

function fail(field: string, expected: string): never {
  throw new InvalidInputError(`bundle${field === "" ? "" : `.${field}`}: expected ${expected}`, { field });
}

const UINT64_MAX = (1n << 64n) - 1n;
const UINT40_MAX = (1n << 40n) - 1n;
const BLOCK_MAX = Number.MAX_SAFE_INTEGER;

function merklePath(f: Fields): MerklePath {
  const m = f.object("merkle");
  return {
    root: m.word("root", "a 32-byte hex root"),
    leafCount: m.integer("leafCount", 1, MAX_LEAVES, `an integer from 1 to ${MAX_LEAVES}`),
    proof: m.words("proof", "an array of 32-byte hex hashes"),
  };
}

function anchorLocation(f: Fields, gateway: string): AnchorLocation {
  const a = f.object("anchor");
  return {
    chainId: a.decimal("chainId"),
    contract: a.address("contract"),
    gateway: a.word("gateway", gateway),
    sequence: a.decimal("sequence", UINT64_MAX, "a decimal string (a uint64 sequence)"),
    transaction: a.word("transaction", "a transaction hash"),
    block: a.integer("block", 0, BLOCK_MAX, "a block number"),
  };
}

function opening(f: Fields): SummaryOpening {
  const o = f.object("opening");
  const r = o.object("request");
  const a = o.object("attestation");
  const keys = o.array("keys", "an array of the signers' keys").map((k) => ({
    index: k.integer("index", 0, 63, "a member index from 0 to 63"),
    publicKey: k.bytes("publicKey", 256, "a 256-byte EIP-2537 G2 public key"),
  }));
  return {
    request: {
      summary: r.word("summary", "a 32-byte summary"),
      sourceLayer: r.word("sourceLayer", "a 32-byte layer id"),
      route: r.word("route", "a 32-byte route hash"),
      responsible: r.address("responsible", "the responsible node's address"),
      expiry: r.decimal("expiry", UINT40_MAX, "a decimal string (a uint40 time in seconds)"),
      deadline: r.decimal("deadline", UINT40_MAX, "a decimal string (a uint40 time in seconds)"),
    },
    attestation: {
      signers: a.decimal("signers", UINT64_MAX, "a decimal string (a 64-bit signer bitmap)"),
      signature: a.bytes("signature", 128, "a 128-byte EIP-2537 G1 signature"),
    },
    keys,
    transaction: o.word("transaction", "a transaction hash"),
    block: o.integer("block", 0, BLOCK_MAX, "a block number"),
  };
}

/** Parses a bundle (JSON text or a parsed object); an `InvalidInputError` names the first bad field. */
export function parseBundle(input: string | unknown): ProofBundle {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (error) {
      throw new InvalidInputError(`bundle: not JSON (${(error as Error).message})`);
    }
  }
  const f = new Fields(raw, "");
  const o = raw as Raw;
  if (o.format !== BUNDLE_FORMAT) fail("format", `"${BUNDLE_FORMAT}"`);
  if (o.version !== BUNDLE_VERSION) fail("version", `${BUNDLE_VERSION} (this verifier's version)`);
  if (!BUNDLE_KINDS.includes(o.kind as BundleKind)) fail("kind", BUNDLE_KINDS.map((k) => `"${k}"`).join(", "));
  const head = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION } as const;
  switch (o.kind as BundleKind) {
    case "record": {
      const record = f.object("record");
      const hash = record.word("hash", "a 32-byte hex hash");
      const name = record.has("name") ? record.string("name") : undefined;
      return {
        ...head,
        kind: "record",
        record: name === undefined ? { hash } : { hash, name },
        leaf: f.word("leaf", "a 32-byte hex leaf"),
        merkle: merklePath(f),
        anchor: anchorLocation(f, "a 32-byte device id"),
      };
    }
    case "reading": {
      const reading = f.object("reading");
      const station = f.object("station");
      const pkg = station.object("pkg");
      return {
        ...head,
        kind: "reading",
        reading: {
          block: reading.bytes("block", 145, "a 145-byte encoded flow-chain block"),
          hash: reading.word("hash", "a 32-byte block hash"),
        },
        leaf: f.word("leaf", "a 32-byte hex leaf"),
        merkle: merklePath(f),
        station: {
          batch: station.integer("batch", 0, BLOCK_MAX, "a batch number"),
          time: station.integer("time", 0, BLOCK_MAX, "a time in ms"),
          signature: station.bytes("signature", 96, "a 96-byte Cha–Cheon signature (U ‖ V)"),
          pkg: {
            masterPublic: pkg.bytes("masterPublic", 96, "the PKG's 96-byte compressed G2 master public key"),
            keyEpochMs: pkg.integer("keyEpochMs", 1, BLOCK_MAX, "a positive key epoch length in ms"),
          },
        },
        anchor: anchorLocation(f, "the station's 32-byte device id"),
      };
    }
    case "batch": {
      const reading = f.object("reading");
      const cluster = f.object("cluster");
      return {
        ...head,
        kind: "batch",
        reading: {
          bytes: reading.bytes("bytes", undefined, "an encoded reading (hex)", MAX_READING_HEX),
          hash: reading.word("hash", "a 32-byte reading hash"),
        },
        leaf: f.word("leaf", "a 32-byte hex leaf"),
        merkle: merklePath(f),
        cluster: {
          groupKey: cluster.bytes("groupKey", 256, "a 256-byte EIP-2537 G2 group key"),
          signature: cluster.bytes("signature", 128, "a 128-byte EIP-2537 G1 group signature"),
        },
        anchor: anchorLocation(f, "the cluster's 32-byte device id"),
      };
    }
    case "summary": {
      const summary = f.object("summary");
      const layer = f.object("layer");
      const anchor = f.object("anchor");
      const value = summary.word("value", "a 32-byte summary");
      if (summary.has("message") !== summary.has("time")) {
        fail(summary.has("message") ? "summary.time" : "summary.message", "both message and time, or neither");
      }
      const disclosed = summary.has("message")
        ? {
            message: summary.bytes("message", undefined, "the message M (hex)", MAX_MESSAGE_HEX),
            time: summary.decimal("time", UINT64_MAX, "a decimal string (M's uint64 time)"),
          }
        : {};
      return {
        ...head,
        kind: "summary",
        summary: { value, ...disclosed },
        layer: { id: layer.word("id", "a 32-byte layer id"), blockId: layer.word("blockId", "a 32-byte block id") },
        opening: opening(f),
        anchor: {
          chainId: anchor.decimal("chainId"),
          contract: anchor.address("contract"),
          transaction: anchor.word("transaction", "a transaction hash"),
          block: anchor.integer("block", 0, BLOCK_MAX, "a block number"),
        },
      };
    }
  }
}

/** The bundle as JSON (chain values as decimal strings). */
export function serializeBundle(bundle: ProofBundle): string {
  return `${JSON.stringify(bundle, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}
