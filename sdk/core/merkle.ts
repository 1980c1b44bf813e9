/**
 * A pure Merkle tree compatible with OpenZeppelin 5: proofs verify with
 * `MerkleProof.verify` / `verifyCalldata` / `multiProofVerify` (keccak256 of
 * the sorted pair), leaves follow `@openzeppelin/merkle-tree`'s
 * `StandardMerkleTree` (`keccak256(keccak256(abi.encode(values)))`) and the tree
 * has the same shape, so both give the same root and proofs for the same leaves.
 *
 * Shape (as in `@openzeppelin/merkle-tree`): a complete binary tree in array
 * form of `2n - 1` nodes, node `i` has children `2i + 1` and `2i + 2`, and leaf
 * `p` (in tree order) sits at node `2n - 2 - p`. The nodes live in one flat
 * `Uint8Array` of `32 * (2n - 1)` bytes, level after level, with no per-node
 * allocation. Leaves are sorted by hash first unless `sortLeaves: false`
 * (the default matches `StandardMerkleTree`); indices given to `proof` and
 * `multiProof` are always the caller's insertion indices.
 *
 * Inner nodes of a build are hashed by the WASM keccak of `hash-wasm` (about
 * 6x the speed of `@noble/hashes` on 64-byte inputs). The synchronous hashes
 * (verifications, `leafHash` and the other leaf helpers) use that same WASM
 * keccak once it is instantiated — by any build, or by awaiting `keccakReady()`
 * — and `@noble/hashes` before; both give the same digests.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { AbiCoder } from "ethers";
import { createKeccak, type IHasher } from "hash-wasm";

import { InvalidInputError } from "../errors.ts";
import { fromHex, type Hex, toHex } from "./bytes.ts";

/** Largest tree `buildTree` accepts (its node buffer stays under 2 GiB). */
export const MAX_LEAVES = 2 ** 25;

export interface BuildOptions {
  /** Sort the leaf hashes before building (default `true`, as `StandardMerkleTree`). */
  readonly sortLeaves?: boolean;
}

/** A multi-proof in OpenZeppelin's format (`MerkleProof.multiProofVerify`). */
export interface MultiProof {
  /** The proven leaves, in the order the verifier consumes them. */
  readonly leaves: readonly Hex[];
  readonly proof: readonly Hex[];
  readonly proofFlags: readonly boolean[];
}

export interface MerkleTree {
  readonly root: Hex;
  readonly leafCount: number;
  /** The leaf hash inserted at `index`. */
  leaf(index: number): Hex;
  /** Sibling hashes from the leaf inserted at `index` up to the root. */
  proof(index: number): Hex[];
  /** One proof for the leaves inserted at `indices` (distinct). */
  multiProof(indices: readonly number[]): MultiProof;
}

let hasher: Promise<IHasher> | undefined;
/** The WASM keccak once instantiated, for synchronous hashing. */
let ready: IHasher | undefined;

/** The shared WASM keccak-256 (instantiated once). */
function wasmKeccak(): Promise<IHasher> {
  hasher ??= createKeccak(256).then((h) => (ready = h));
  return hasher;
}

/** Instantiates the WASM keccak, so that synchronous hashing (verification, leaves) runs on it from then on. */
export async function keccakReady(): Promise<void> {
  await wasmKeccak();
}

/** keccak-256 of `data`: the WASM keccak when instantiated, else `@noble/hashes` (same digest). */
export function keccak256(data: Uint8Array): Uint8Array {
  if (ready === undefined) return keccak_256(data);
  ready.init();
  ready.update(data);
  return ready.digest("binary");
}

/** `StandardMerkleTree`'s leaf: `keccak256(keccak256(abi.encode(types, values)))`. */
export function leafHash(types: readonly string[], values: readonly unknown[]): Uint8Array {
  return keccak256(leafValuesHash(types, values));
}

/**
 * The once-hashed leaf `keccak256(abi.encode(types, values))`: what
 * `DataAnchor.verifyReading` takes. The contract does the last hash itself
 * (`leafOfValuesHash`), so that no inner node passes as a reading.
 */
export function leafValuesHash(types: readonly string[], values: readonly unknown[]): Uint8Array {
  if (!Array.isArray(types) || !Array.isArray(values) || types.length !== values.length) {
    throw new InvalidInputError("leafHash needs as many values as types", {
      types: String(types),
      values: Array.isArray(values) ? values.length : typeof values,
    });
  }
  let encoded: string;
  try {
    encoded = AbiCoder.defaultAbiCoder().encode(types, values);
  } catch (cause) {
    throw new InvalidInputError("leafHash: values do not ABI-encode as types", { types }, { cause });
  }
  return keccak256(fromHex(encoded, "encoded leaf"));
}

/** The once-hashed leaf of one `bytes32` value (a block or reading hash): `keccak256(value)`. */
export function bytes32ValuesHash(value: Hex | Uint8Array): Uint8Array {
  return keccak256(word(value, "value"));
}

/** The tree's leaf of a once-hashed leaf: `keccak256(valuesHash)` (what `DataAnchor` computes). */
export function leafOfValuesHash(valuesHash: Hex | Uint8Array): Uint8Array {
  return keccak256(word(valuesHash, "valuesHash"));
}

/**
 * `StandardMerkleTree` leaves of many `bytes32` values at once (`abi.encode` of
 * one `bytes32` is the value itself, so a leaf is keccak256(keccak256(value))),
 * on the WASM keccak: `values` and the result are flat buffers of `32 * n` bytes.
 */
export async function bytes32Leaves(values: Uint8Array): Promise<Uint8Array> {
  if (!(values instanceof Uint8Array) || values.length % 32 !== 0) {
    throw new InvalidInputError("bytes32Leaves takes a flat buffer of 32-byte values", { length: values?.length });
  }
  const h = await wasmKeccak();
  const out = new Uint8Array(values.length);
  for (let at = 0; at < values.length; at += 32) {
    h.init();
    h.update(values.subarray(at, at + 32));
    const inner = h.digest("binary");
    h.init();
    h.update(inner);
    out.set(h.digest("binary"), at);
  }
  return out;
}

/** Builds the tree over 32-byte leaf hashes (an array, or one flat buffer of `32 * n` bytes). */
export async function buildTree(
  leaves: readonly Uint8Array[] | Uint8Array,
  options: BuildOptions = {},
): Promise<MerkleTree> {
  const flat = flattenLeaves(leaves);
  const n = flat.length / 32;
  const order = (options.sortLeaves ?? true) ? sortedOrder(flat, n) : identity(n);
  const last = 2 * n - 2;
  const nodes = new Uint8Array((2 * n - 1) * 32);
  const position = new Uint32Array(n); // insertion index -> node index
  for (let p = 0; p < n; p++) {
    const i = order[p]!;
    nodes.set(flat.subarray(i * 32, i * 32 + 32), (last - p) * 32);
    position[i] = last - p;
  }
  const h = await wasmKeccak();
  const swapped = new Uint8Array(64);
  for (let i = n - 2; i >= 0; i--) {
    const l = (2 * i + 1) * 32;
    let input: Uint8Array;
    if (compareAt(nodes, l, l + 32) <= 0) {
      input = nodes.subarray(l, l + 64);
    } else {
      swapped.set(nodes.subarray(l + 32, l + 64), 0);
      swapped.set(nodes.subarray(l, l + 32), 32);
      input = swapped;
    }
    h.init();
    h.update(input);
    nodes.set(h.digest("binary"), i * 32);
  }
  return new FlatTree(nodes, position);
}

class FlatTree implements MerkleTree {
  readonly root: Hex;
  readonly leafCount: number;
  readonly #nodes: Uint8Array;
  readonly #position: Uint32Array;
  /** Node's `Buffer` over the same bytes, when there is one: its hex encoding is 3x faster. */
  readonly #hex: { toString(encoding: "hex", start: number, end: number): string } | undefined;

  constructor(nodes: Uint8Array, position: Uint32Array) {
    this.#nodes = nodes;
    this.#position = position;
    const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
    this.#hex = NodeBuffer?.from(nodes.buffer, nodes.byteOffset, nodes.byteLength);
    this.leafCount = position.length;
    this.root = this.#node(0);
  }

  leaf(index: number): Hex {
    return this.#node(this.#treeIndex(index));
  }

  proof(index: number): Hex[] {
    const proof: Hex[] = [];
    for (let t = this.#treeIndex(index); t > 0; t = (t - 1) >> 1) {
      proof.push(this.#node(t % 2 === 1 ? t + 1 : t - 1));
    }
    return proof;
  }

  multiProof(indices: readonly number[]): MultiProof {
    if (!Array.isArray(indices)) throw new InvalidInputError("indices must be an array", { indices: typeof indices });
    const tree = indices.map((i) => this.#treeIndex(i)).sort((a, b) => b - a);
    for (let k = 1; k < tree.length; k++) {
      if (tree[k] === tree[k - 1]) throw new InvalidInputError("multiProof indices must be distinct", { indices });
    }
    const queue = [...tree];
    const proof: Hex[] = [];
    const proofFlags: boolean[] = [];
    let head = 0;
    while (head < queue.length && queue[head]! > 0) {
      const j = queue[head++]!;
      const sibling = j % 2 === 1 ? j + 1 : j - 1;
      if (head < queue.length && queue[head] === sibling) {
        proofFlags.push(true);
        head++;
      } else {
        proofFlags.push(false);
        proof.push(this.#node(sibling));
      }
      queue.push((j - 1) >> 1);
    }
    if (tree.length === 0) proof.push(this.root);
    return { leaves: tree.map((t) => this.#node(t)), proof, proofFlags };
  }

  #treeIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new InvalidInputError(`leaf index must be an integer in [0, ${this.leafCount - 1}]`, { index });
    }
    return this.#position[index]!;
  }

  #node(t: number): Hex {
    if (this.#hex !== undefined) return `0x${this.#hex.toString("hex", t * 32, t * 32 + 32)}`;
    return toHex(this.#nodes.subarray(t * 32, t * 32 + 32));
  }
}

/** Whether `proof` takes `leaf` to `root` (OpenZeppelin's `MerkleProof.verify`). */
export function verifyProof(
  root: Hex | Uint8Array,
  leaf: Hex | Uint8Array,
  proof: readonly (Hex | Uint8Array)[],
): boolean {
  const expected = word(root, "root");
  let node = word(leaf, "leaf");
  if (!Array.isArray(proof)) throw new InvalidInputError("proof must be an array", { proof: typeof proof });
  const siblings = proof.map((p, i) => word(p, `proof[${i}]`));
  for (const sibling of siblings) node = hashPair(node, sibling);
  return equal32(node, expected);
}

/** One leaf of an unsorted tree with its single proof, as `verifyProofsInTree` takes them. */
export interface IndexedProof {
  /** The leaf's insertion index (its position in a tree built with `sortLeaves: false`). */
  readonly index: number;
  readonly leaf: Hex | Uint8Array;
  readonly proof: readonly (Hex | Uint8Array)[];
}

/**
 * Verifies many single proofs of one tree built with `sortLeaves: false` (`leafCount` leaves)
 * together, hashing each inner node at most once: where a leaf's path meets a node already
 * proven to lead to `root`, the rest of its proof is only compared with the siblings already
 * proven, not hashed. The hashing is that of one multi-proof of the same leaves (proportional
 * to the leaves' own part of the tree), while every proof stays a full `MerkleProof.verify`
 * proof. Each proof must be exactly as long as its leaf is deep at `index`; sorted-pair hashing
 * binds a leaf to the root, not to a position, so within one depth the index itself is not bound.
 *
 * Returns the position in `proofs` of the first that does not verify, or -1 when all do.
 */
export function verifyProofsInTree(root: Hex | Uint8Array, leafCount: number, proofs: readonly IndexedProof[]): number {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) {
    throw new InvalidInputError("leafCount must be a positive integer", { leafCount });
  }
  if (!Array.isArray(proofs)) throw new InvalidInputError("proofs must be an array", { proofs: typeof proofs });
  const last = 2 * leafCount - 2;
  /** Tree nodes proven to lead to the root (every proven node's sibling is proven too). */
  const proven = new Map<number, Uint8Array>([[0, word(root, "root")]]);
  for (let k = 0; k < proofs.length; k++) {
    const { index, leaf, proof } = proofs[k]!;
    if (!Number.isSafeInteger(index) || index < 0 || index >= leafCount || !Array.isArray(proof)) return k;
    let t = last - index;
    if (proof.length !== depthOf(t)) return k;
    const siblings = proof.map((p, i) => word(p, `proofs[${k}].proof[${i}]`));
    const path: [number, Uint8Array][] = [];
    let node = word(leaf, `proofs[${k}].leaf`);
    let ok: boolean;
    for (let level = 0; ; level++) {
      const known = proven.get(t);
      if (known !== undefined) {
        ok = equal32(known, node);
        for (let up = level; ok && t > 0; up++, t = parent(t)) {
          const side = proven.get(sibling(t));
          ok = side !== undefined && equal32(side, siblings[up]!);
        }
        break;
      }
      path.push([t, node], [sibling(t), siblings[level]!]);
      node = hashPair(node, siblings[level]!);
      t = parent(t);
    }
    if (!ok) return k;
    for (const [at, value] of path) proven.set(at, value);
  }
  return -1;
}

/** The depth of tree node `t` (the root is 0). */
function depthOf(t: number): number {
  let depth = 0;
  for (let i = t; i > 0; i = parent(i)) depth++;
  return depth;
}

function parent(t: number): number {
  return Math.floor((t - 1) / 2);
}

function sibling(t: number): number {
  return t % 2 === 1 ? t + 1 : t - 1;
}

/** Whether a multi-proof proves its leaves under `root` (OpenZeppelin's `MerkleProof.multiProofVerify`). */
export function verifyMultiProof(root: Hex | Uint8Array, multiProof: MultiProof): boolean {
  const expected = word(root, "root");
  const { leaves, proof, proofFlags } = multiProof;
  if (!Array.isArray(leaves) || !Array.isArray(proof) || !Array.isArray(proofFlags)) {
    throw new InvalidInputError("multiProof needs leaves, proof and proofFlags arrays");
  }
  const stack = leaves.map((l, i) => word(l, `leaves[${i}]`));
  const siblings = proof.map((p, i) => word(p, `proof[${i}]`));
  if (leaves.length + proof.length !== proofFlags.length + 1 || proof.length < proofFlags.filter((f) => !f).length) {
    throw new InvalidInputError("multiProof: leaves, proof and proofFlags lengths do not match", {
      leaves: leaves.length,
      proof: proof.length,
      proofFlags: proofFlags.length,
    });
  }
  let leafPos = 0;
  let proofPos = 0;
  const hashes: Uint8Array[] = [];
  const next = (): Uint8Array => {
    const node = leafPos < stack.length ? stack[leafPos++] : hashes.shift();
    if (node === undefined) throw new InvalidInputError("multiProof: proofFlags consume more nodes than exist");
    return node;
  };
  for (const flag of proofFlags) {
    const a = next();
    const b = flag ? next() : siblings[proofPos++]!;
    hashes.push(hashPair(a, b));
  }
  const computed = proofFlags.length > 0 ? hashes.pop()! : stack.length > 0 ? stack[0]! : siblings[0]!;
  return equal32(computed, expected);
}

function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64);
  const aFirst = compare32Of(a, b) <= 0;
  pair.set(aFirst ? a : b, 0);
  pair.set(aFirst ? b : a, 32);
  return keccak256(pair);
}

function word(value: Hex | Uint8Array, what: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== 32) throw new InvalidInputError(`${what} must be 32 bytes, got ${value.length}`);
    return value;
  }
  // the common case without a regular expression: Buffer stops at the first non-hex digit, so
  // 32 decoded bytes from 64 digits means all 64 were hex (anything else gets fromHex's error)
  if (typeof value === "string" && value.length === 66 && value.startsWith("0x")) {
    const bytes = Buffer.from(value.slice(2), "hex");
    if (bytes.length === 32) return new Uint8Array(bytes.buffer, bytes.byteOffset, 32);
  }
  return fromHex(value, what, 32);
}

function flattenLeaves(leaves: readonly Uint8Array[] | Uint8Array): Uint8Array {
  let flat: Uint8Array;
  if (leaves instanceof Uint8Array) {
    if (leaves.length % 32 !== 0) {
      throw new InvalidInputError(`flat leaves must be 32 * n bytes, got ${leaves.length}`);
    }
    flat = leaves;
  } else if (Array.isArray(leaves)) {
    flat = new Uint8Array(leaves.length * 32);
    leaves.forEach((leaf, i) => {
      if (!(leaf instanceof Uint8Array) || leaf.length !== 32) {
        throw new InvalidInputError(`leaf ${i} must be a 32-byte Uint8Array`, {
          index: i,
          length: leaf instanceof Uint8Array ? leaf.length : typeof leaf,
        });
      }
      flat.set(leaf, i * 32);
    });
  } else {
    throw new InvalidInputError("leaves must be an array of 32-byte hashes or one flat Uint8Array");
  }
  const n = flat.length / 32;
  if (n === 0) throw new InvalidInputError("a Merkle tree needs at least one leaf");
  if (n > MAX_LEAVES) throw new InvalidInputError(`a Merkle tree holds at most ${MAX_LEAVES} leaves`, { leaves: n });
  return flat;
}

function identity(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/**
 * Insertion indices in ascending (big-endian) order of their leaf hash, stable:
 * a counting sort on the first two bytes, then each bucket by the full hash.
 */
function sortedOrder(flat: Uint8Array, n: number): Uint32Array {
  const start = new Uint32Array(65537);
  for (let i = 0; i < n; i++) start[((flat[i * 32]! << 8) | flat[i * 32 + 1]!) + 1]!++;
  for (let b = 1; b <= 65536; b++) start[b]! += start[b - 1]!;
  const fill = start.slice(0, 65536);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[(flat[i * 32]! << 8) | flat[i * 32 + 1]!]!++] = i;
  const cmp = (x: number, y: number): number => compareAt(flat, x * 32, y * 32);
  for (let b = 0; b < 65536; b++) {
    const lo = start[b]!;
    const hi = start[b + 1]!;
    if (hi - lo < 2) continue;
    if (hi - lo <= 32) {
      for (let k = lo + 1; k < hi; k++) {
        const v = order[k]!;
        let m = k - 1;
        while (m >= lo && cmp(order[m]!, v) > 0) {
          order[m + 1] = order[m]!;
          m--;
        }
        order[m + 1] = v;
      }
    } else {
      order.set(Array.from(order.subarray(lo, hi)).sort(cmp), lo);
    }
  }
  return order;
}

/** Compares the two 32-byte words of `buf` at offsets `a` and `b`. */
function compareAt(buf: Uint8Array, a: number, b: number): number {
  for (let k = 0; k < 32; k++) {
    const d = buf[a + k]! - buf[b + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

function compare32Of(a: Uint8Array, b: Uint8Array): number {
  for (let k = 0; k < 32; k++) {
    const d = a[k]! - b[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

function equal32(a: Uint8Array, b: Uint8Array): boolean {
  return compare32Of(a, b) === 0;
}
