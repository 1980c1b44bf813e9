/**
 * The scalar field Fr of BLS12-381 (order r): range-checked encodings, uniform
 * random scalars, hashing to scalars (RFC 9380 hash_to_field with an explicit
 * DST), and the few field operations the schemes need (Lagrange coefficients,
 * polynomial evaluation).
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { hash_to_field } from "@noble/curves/abstract/hash-to-curve.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { InvalidInputError } from "../../errors.ts";

export const Fr = bls12_381.fields.Fr;
/** The group order r. */
export const R: bigint = Fr.ORDER;

/** `a mod r` in [0, r). */
export function mod(a: bigint): bigint {
  const m = a % R;
  return m < 0n ? m + R : m;
}

/** Throws unless `k` is a scalar in [1, r). */
export function checkScalar(k: bigint, what: string): void {
  if (typeof k !== "bigint" || k <= 0n || k >= R) {
    throw new InvalidInputError(`${what} must be a scalar in [1, r)`, {});
  }
}

/** A uniform scalar in [1, r): 64 random bytes reduced mod r (bias < 2^-128). */
export function randomScalar(): bigint {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(64));
    let v = 0n;
    for (const b of bytes) v = (v << 8n) | BigInt(b);
    const k = v % R;
    if (k !== 0n) return k;
  }
}

/** 32-byte big-endian encoding of a scalar. */
export function scalarToBytes(k: bigint): Uint8Array {
  checkScalar(k, "scalar");
  const out = new Uint8Array(32);
  let v = k;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Decodes a 32-byte big-endian scalar, refusing 0 and values >= r. */
export function scalarFromBytes(bytes: Uint8Array, what = "scalar"): bigint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new InvalidInputError(`${what} must be 32 bytes`);
  }
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  checkScalar(v, what);
  return v;
}

/** RFC 9380 hash_to_field into Fr (expand_message_xmd, SHA-256, L = 48) under `dst`. */
export function hashToScalar(msg: Uint8Array, dst: string): bigint {
  return hash_to_field(msg, 1, { DST: dst, p: R, m: 1, k: 128, expand: "xmd", hash: sha256 })[0]![0]!;
}

/** Evaluates the polynomial with `coefficients` (constant term first) at `x`. */
export function evalPolynomial(coefficients: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) acc = mod(acc * x + coefficients[i]!);
  return acc;
}

/** Lagrange coefficients at 0 for the distinct non-zero `indices`. */
export function lagrangeAtZero(indices: readonly bigint[]): bigint[] {
  return indices.map((i, a) => {
    let num = 1n;
    let den = 1n;
    indices.forEach((j, b) => {
      if (a === b) return;
      num = mod(num * j);
      den = mod(den * (j - i));
    });
    return mod(num * Fr.inv(den));
  });
}
