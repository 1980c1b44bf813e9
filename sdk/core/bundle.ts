/**
 * Portable proof bundles, version 1: what was proved (a record's hash), its leaf and Merkle path,
 * and where the root was anchored (chain id, `DataAnchor`, gateway, sequence, transaction, block).
 * Parsing checks every field; `offlineChecks` checks what needs no chain: that the record hashes
 * to the leaf and the path leads from the leaf to the root. The chain part is in
 * `sdk/contracts/bundle.ts`. The format is documented in docs/cli.md.
 */
import { type Hex, toHex } from "./bytes.ts";
import { bytes32ValuesHash, leafOfValuesHash, MAX_LEAVES, verifyProof } from "./merkle.ts";
import { InvalidInputError } from "../errors.ts";

export const BUNDLE_FORMAT = "strata-proof";
export const BUNDLE_VERSION = 1;

/** A record anchored as a leaf of one gateway's batch. */
export interface RecordBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly version: typeof BUNDLE_VERSION;
  readonly kind: "record";
  /** What was proved: the keccak-256 of the record's bytes, and optionally its name. */
  readonly record: { readonly hash: Hex; readonly name?: string };
  /** The leaf: `keccak256(keccak256(record.hash))`, OpenZeppelin's `StandardMerkleTree` of one `bytes32`. */
  readonly leaf: Hex;
  readonly merkle: { readonly root: Hex; readonly leafCount: number; readonly proof: readonly Hex[] };
  readonly anchor: {
    readonly chainId: bigint;
    readonly contract: string;
    readonly gateway: Hex;
    readonly sequence: bigint;
    readonly transaction: Hex;
    readonly block: number;
  };
}

export type ProofBundle = RecordBundle;

/** One check of a bundle and its outcome. */
export interface BundleCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

const WORD = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The leaf of a record with keccak-256 `hash`. */
export function recordLeaf(hash: Hex): Hex {
  return toHex(leafOfValuesHash(bytes32ValuesHash(hash)));
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
  const bad = (field: string, expected: string): never => {
    throw new InvalidInputError(`bundle.${field}: expected ${expected}`, { field });
  };
  const o = raw as Record<string, unknown>;
  if (typeof o !== "object" || o === null) return bad("", "an object");
  if (o.format !== BUNDLE_FORMAT) bad("format", `"${BUNDLE_FORMAT}"`);
  if (o.version !== BUNDLE_VERSION) bad("version", `${BUNDLE_VERSION} (this verifier's version)`);
  if (o.kind !== "record") bad("kind", `"record"`);
  const record = o.record as Record<string, unknown>;
  if (typeof record !== "object" || record === null) bad("record", "an object");
  if (typeof record.hash !== "string" || !WORD.test(record.hash)) bad("record.hash", "a 32-byte hex hash");
  if (record.name !== undefined && typeof record.name !== "string") bad("record.name", "a string");
  if (typeof o.leaf !== "string" || !WORD.test(o.leaf)) bad("leaf", "a 32-byte hex leaf");
  const merkle = o.merkle as Record<string, unknown>;
  if (typeof merkle !== "object" || merkle === null) bad("merkle", "an object");
  if (typeof merkle.root !== "string" || !WORD.test(merkle.root)) bad("merkle.root", "a 32-byte hex root");
  if (
    !Number.isSafeInteger(merkle.leafCount) ||
    (merkle.leafCount as number) < 1 ||
    (merkle.leafCount as number) > MAX_LEAVES
  ) {
    bad("merkle.leafCount", `an integer from 1 to ${MAX_LEAVES}`);
  }
  if (!Array.isArray(merkle.proof) || merkle.proof.some((p) => typeof p !== "string" || !WORD.test(p))) {
    bad("merkle.proof", "an array of 32-byte hex hashes");
  }
  const anchor = o.anchor as Record<string, unknown>;
  if (typeof anchor !== "object" || anchor === null) bad("anchor", "an object");
  const decimal = (field: string): bigint => {
    const v = anchor[field];
    if (typeof v !== "string" || !/^[0-9]{1,78}$/.test(v)) bad(`anchor.${field}`, "a decimal string");
    return BigInt(v as string);
  };
  const chainId = decimal("chainId");
  const sequence = decimal("sequence");
  if (typeof anchor.contract !== "string" || !ADDRESS.test(anchor.contract)) bad("anchor.contract", "an address");
  if (typeof anchor.gateway !== "string" || !WORD.test(anchor.gateway)) bad("anchor.gateway", "a 32-byte device id");
  if (typeof anchor.transaction !== "string" || !WORD.test(anchor.transaction))
    bad("anchor.transaction", "a transaction hash");
  if (!Number.isSafeInteger(anchor.block) || (anchor.block as number) < 0) bad("anchor.block", "a block number");
  const lower = (v: unknown): Hex => (v as string).toLowerCase() as Hex;
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    kind: "record",
    record:
      record.name === undefined
        ? { hash: lower(record.hash) }
        : { hash: lower(record.hash), name: record.name as string },
    leaf: lower(o.leaf),
    merkle: {
      root: lower(merkle.root),
      leafCount: merkle.leafCount as number,
      proof: (merkle.proof as string[]).map(lower),
    },
    anchor: {
      chainId,
      contract: anchor.contract as string,
      gateway: lower(anchor.gateway),
      sequence,
      transaction: lower(anchor.transaction),
      block: anchor.block as number,
    },
  };
}

/** The bundle as JSON (chain values as decimal strings). */
export function serializeBundle(bundle: ProofBundle): string {
  return `${JSON.stringify(bundle, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

/** The checks that need no chain: record → leaf, leaf → root, a path no longer than the tree allows. */
export function offlineChecks(bundle: ProofBundle, recordHash?: Hex): BundleCheck[] {
  const checks: BundleCheck[] = [];
  if (recordHash !== undefined) {
    const same = recordHash.toLowerCase() === bundle.record.hash;
    checks.push({
      check: "record",
      ok: same,
      detail: same ? "the record's bytes hash to record.hash" : `the record hashes to ${recordHash}, not record.hash`,
    });
  }
  const leaf = recordLeaf(bundle.record.hash);
  checks.push({
    check: "leaf",
    ok: leaf === bundle.leaf,
    detail: leaf === bundle.leaf ? "record.hash gives the leaf" : `record.hash gives the leaf ${leaf}, not bundle.leaf`,
  });
  const depth = Math.ceil(Math.log2(bundle.merkle.leafCount));
  const shortEnough = bundle.merkle.proof.length <= depth;
  const reaches = verifyProof(bundle.merkle.root, bundle.leaf, bundle.merkle.proof);
  checks.push({
    check: "merkle",
    ok: shortEnough && reaches,
    detail: !shortEnough
      ? `a path of ${bundle.merkle.proof.length} is longer than a tree of ${bundle.merkle.leafCount} leaves allows`
      : reaches
        ? `the path leads from the leaf to the root (${bundle.merkle.proof.length} steps)`
        : "the path does not lead from the leaf to the root",
  });
  return checks;
}
