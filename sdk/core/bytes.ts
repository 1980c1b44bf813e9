/**
 * Byte helpers shared by the pure core: hex <-> bytes at the edges, fixed-width
 * big-endian integers, and the input checks every module uses.
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

import { InvalidInputError } from "../errors.ts";

export type Hex = `0x${string}`;

/** Bytes as an app may hold them: `0x` hex or a `Uint8Array`. */
export type BytesInput = Hex | Uint8Array;

/**
 * `n` bytes for a hot path, carved from Node's shared allocation slab
 * (uninitialised: the caller writes every byte). A fresh `Uint8Array` of up
 * to 64 bytes lives on V8's heap and is copied off it the first time a native
 * call (cipher, hash, SQLite) sees it; a larger one costs a malloc. Both cost
 * more than the work they carry in the frame path.
 */
export function scratch(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** `0x`-prefixed lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): Hex {
  if (!(bytes instanceof Uint8Array))
    throw new InvalidInputError("expected bytes (a Uint8Array)", { got: typeof bytes });
  return `0x${bytesToHex(bytes)}`;
}

/** `value` itself when it is bytes (a `Uint8Array`); `InvalidInputError` naming `what` otherwise. */
export function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new InvalidInputError(`${what} must be bytes (a Uint8Array)`, { got: typeof value });
  return value;
}

/** Bytes of a `0x`-prefixed hex string; `what` names the input in the error. */
export function fromHex(hex: string, what: string, length?: number): Uint8Array {
  if (typeof hex !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new InvalidInputError(`${what} must be 0x-prefixed hex with an even number of digits`, { value: hex });
  }
  const bytes = hexToBytes(hex.slice(2));
  if (length !== undefined && bytes.length !== length) {
    throw new InvalidInputError(`${what} must be ${length} bytes, got ${bytes.length}`, { value: hex });
  }
  return bytes;
}

/** A 32-byte big-endian word holding `value` (0 <= value < 2^256). */
export function uint256(value: bigint, what: string): Uint8Array {
  if (typeof value !== "bigint" || value < 0n || value >= 1n << 256n) {
    throw new InvalidInputError(`${what} must be a bigint in [0, 2^256)`, { value: String(value) });
  }
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  for (const p of parts) {
    if (!(p instanceof Uint8Array))
      throw new InvalidInputError("concat takes bytes (Uint8Array) only", { got: typeof p });
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Throws unless `value` is an integer in [min, max]. */
export function checkInteger(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${what} must be an integer in [${min}, ${max}]`, { value });
  }
}

/** Whether two byte strings are equal, in time independent of where they differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
