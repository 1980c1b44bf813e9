/**
 * Seed 000, "Foundation block generation" and "Blockchain generation": each
 * node's data flow is a hash chain of blocks kept by the base stations it
 * passes. A block holds the fields of the seed's block structure — node id, BS
 * id, sequence number, timestamp, digest of the primary ciphertext, previous
 * hash — and is signed by its BS. The first confirmed transmission makes the
 * foundation block (sequence 1, previous hash zero).
 *
 * Signing: a BS signs the Merkle root of each batch of its block hashes (one
 * Cha–Cheon signature per batch) and anchors the same root on chain from its
 * registered account; a block's signature is that batch signature plus the
 * block's inclusion proof. This gives every block the seed's BS signature at a
 * cost independent of the traffic (a per-block pairing signature would cap a
 * BS at a few thousand readings per second).
 */
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, equalBytes, fromHex, type Hex, scratch, toHex } from "../bytes.ts";
import { keccak256 } from "../merkle.ts";
import { sha256 } from "../sha256.ts";
import { ProtocolError } from "../../errors.ts";
import { expectTag, putU64, Reader, Writer } from "../codec.ts";

const TAG_BLOCK = 0x20;
const TAG_BATCH = 0x21;
const BLOCK_DOMAIN = utf8ToBytes("STRATA-NBIOT-v1 block");
const BATCH_DOMAIN = utf8ToBytes("STRATA-NBIOT-v1 batch");
export const ZERO_HASH: Uint8Array = new Uint8Array(32);

export interface Block {
  readonly node: Hex;
  readonly bs: Hex;
  /** From 1 (the foundation block) up, without gaps, across base stations. */
  readonly seq: number;
  /** When the BS confirmed the transmission (ms since the epoch, the BS's clock). */
  readonly time: number;
  /** SHA-256 of the primary ciphertext. */
  readonly digest: Uint8Array;
  /** The previous block's hash (zero for the foundation block). */
  readonly prev: Uint8Array;
}

export const BLOCK_BYTES = 145;
const ids = new Map<string, Uint8Array>();

/** The bytes of a 32-byte id, remembered (a station encodes the same few ids all day). */
function idBytes(id: Hex, what: string): Uint8Array {
  let bytes = ids.get(id);
  if (bytes === undefined) {
    bytes = fromHex(id, what, 32);
    if (ids.size >= 65_536) ids.clear();
    ids.set(id, bytes);
  }
  return bytes;
}

/** The canonical 145-byte encoding. */
export function encodeBlock(b: Block): Uint8Array {
  return encodeInto(b, new Uint8Array(BLOCK_BYTES), 0);
}

function encodeInto(b: Block, out: Uint8Array, at: number): Uint8Array {
  if (b.digest.length !== 32 || b.prev.length !== 32) {
    throw new ProtocolError("malformed", "a block's digest and previous hash are 32 bytes");
  }
  if (!Number.isSafeInteger(b.seq) || b.seq < 1 || !Number.isSafeInteger(b.time) || b.time < 0) {
    throw new ProtocolError("malformed", "a block's sequence number starts at 1 and its time is not negative", {
      seq: b.seq,
      time: b.time,
    });
  }
  out[at] = TAG_BLOCK;
  out.set(idBytes(b.node, "node"), at + 1);
  out.set(idBytes(b.bs, "bs"), at + 33);
  putU64(out, at + 65, b.seq);
  putU64(out, at + 73, b.time);
  out.set(b.digest, at + 81);
  out.set(b.prev, at + 113);
  return out;
}

export function decodeBlock(bytes: Uint8Array): Block {
  const r = new Reader(bytes, "block");
  expectTag(r, TAG_BLOCK, "block");
  const block = {
    node: toHex(r.fixed(32, "node")),
    bs: toHex(r.fixed(32, "bs")),
    seq: r.u64("seq"),
    time: r.u64("time"),
    digest: r.fixed(32, "digest").slice(),
    prev: r.fixed(32, "prev").slice(),
  };
  r.end();
  return block;
}

/** SHA-256 over the domain and the encoding. */
export function blockHash(b: Block): Uint8Array {
  const input = scratch(BLOCK_DOMAIN.length + BLOCK_BYTES);
  input.set(BLOCK_DOMAIN);
  encodeInto(b, input, BLOCK_DOMAIN.length);
  return sha256(input);
}

/** SHA-256 of a primary ciphertext (the block's digest field). */
export function ciphertextDigest(primary: Uint8Array): Uint8Array {
  return sha256(primary);
}

/**
 * The Merkle leaf of a block hash: OpenZeppelin `StandardMerkleTree`'s leaf for
 * `["bytes32"]`, keccak256(keccak256(hash)) — what `DataAnchor.verifyReading`
 * takes (`bytes32Leaves` computes many at once).
 */
export function blockLeaf(hash: Uint8Array): Uint8Array {
  return keccak256(keccak256(hash));
}

/** The foundation block of `node`'s flow at `bs`. */
export function foundationBlock(node: Hex, bs: Hex, time: number, primary: Uint8Array): Block {
  return { node, bs, seq: 1, time, digest: ciphertextDigest(primary), prev: ZERO_HASH };
}

/** Checks that `next` extends `prev` (hash `prevHash`): same node, next sequence number, linked hash. */
export function checkLink(prev: Block, prevHash: Uint8Array, next: Block): void {
  if (next.node !== prev.node) {
    throw new ProtocolError("broken-link", "consecutive blocks of different nodes", { a: prev.node, b: next.node });
  }
  if (next.seq !== prev.seq + 1) {
    throw new ProtocolError("missing-block", `block ${next.seq} does not follow block ${prev.seq}`, {
      prev: prev.seq,
      next: next.seq,
    });
  }
  if (!equalBytes(next.prev, prevHash)) {
    throw new ProtocolError("broken-link", `block ${next.seq} does not link to block ${prev.seq}`, { seq: next.seq });
  }
}

/**
 * What a BS signs for a batch: its id, the batch number, the Merkle root, the
 * leaf count and the time of sealing (which names the key epoch it signs with).
 */
export interface BatchHeader {
  readonly bs: Hex;
  readonly number: number;
  readonly root: Hex;
  readonly leafCount: number;
  readonly time: number;
}

export function batchMessage(h: BatchHeader): Uint8Array {
  return concat(
    BATCH_DOMAIN,
    new Writer(85)
      .u8(TAG_BATCH)
      .fixed(fromHex(h.bs, "bs", 32), 32)
      .u64(h.number)
      .fixed(fromHex(h.root, "root", 32), 32)
      .u32(h.leafCount)
      .u64(h.time)
      .finish(),
  );
}
