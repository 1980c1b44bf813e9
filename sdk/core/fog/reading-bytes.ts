/**
 * A Secuchain reading's bytes (seed 004's device layer, see `reading.ts`): its decoding, its
 * hash (the leaf value of a fog batch's Merkle tree) and a batch's tree. No `node:crypto` here
 * (hashing goes through `sha256.ts`), so a browser that checks a fog batch's proof bundle
 * decodes and hashes readings with the same code as a fog node; making and checking the
 * device's signature stay in `reading.ts`.
 */
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, toHex, type Hex } from "../bytes.ts";
import { expectTag, Reader } from "../codec.ts";
import { PEKS_BYTES } from "../crypto/peks.ts";
import { buildTree, bytes32Leaves, type MerkleTree } from "../merkle.ts";
import { sha256 } from "../sha256.ts";
import { ProtocolError } from "../../errors.ts";

/** The first byte of an encoded reading. */
export const TAG_READING = 0x40;
/** A device's ECDSA P-256 signature, r ‖ s. */
export const SIGNATURE_BYTES = 64;
const HASH_DOMAIN = utf8ToBytes("STRATA-FOG-v1 reading hash");
/** Most keyword slots a reading may carry. */
export const MAX_KEYWORDS = 8;
/** Largest payload a reading may carry. */
export const MAX_PAYLOAD = 16 * 1024;

export interface SecuReading {
  readonly device: Hex;
  /** Rises strictly per device (replays are refused). */
  readonly seq: number;
  /** When the device made it (ms). */
  readonly time: number;
  /** The sealed payload (only the owner's applications open it). */
  readonly payload: Uint8Array;
  /** PEKS ciphertexts; slot 0 is the class keyword. */
  readonly keywords: readonly Uint8Array[];
  readonly signature: Uint8Array;
  /** The encoded reading. */
  readonly bytes: Uint8Array;
  /** The signed part of `bytes`. */
  readonly body: Uint8Array;
}

/** Decodes a reading (no check of its signature: `checkReadingSignature`). */
export function decodeReading(bytes: Uint8Array): SecuReading {
  const r = new Reader(bytes, "reading");
  expectTag(r, TAG_READING, "reading");
  const device = toHex(r.fixed(32, "device"));
  const seq = r.u64("seq");
  const time = r.u64("time");
  const payload = r.bytes("payload", MAX_PAYLOAD);
  const count = r.u8("keyword count");
  if (count < 1 || count > MAX_KEYWORDS) {
    throw new ProtocolError("malformed", `a reading carries 1 to ${MAX_KEYWORDS} keyword ciphertexts`, { count });
  }
  const keywords: Uint8Array[] = [];
  for (let i = 0; i < count; i++) keywords.push(r.fixed(PEKS_BYTES, `keyword ${i}`));
  const body = r.consumed();
  const signature = r.fixed(SIGNATURE_BYTES, "signature");
  r.end();
  if (seq < 1) throw new ProtocolError("malformed", "a sequence number starts at 1");
  return { device, seq, time, payload, keywords, signature, bytes, body };
}

/** SHA-256 of the domain and the encoded reading: what a fog batch's Merkle tree commits to. */
export function readingHash(reading: Pick<SecuReading, "bytes">): Uint8Array {
  return sha256(concat(HASH_DOMAIN, reading.bytes));
}

/** The Merkle tree of a batch: `StandardMerkleTree` leaves of each reading's hash, in order. */
export async function batchTree(readings: readonly Uint8Array[]): Promise<MerkleTree> {
  const hashes = new Uint8Array(readings.length * 32);
  readings.forEach((bytes, i) => hashes.set(readingHash({ bytes }), i * 32));
  return buildTree(await bytes32Leaves(hashes), { sortLeaves: false });
}
