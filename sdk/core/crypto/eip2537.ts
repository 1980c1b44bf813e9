/**
 * EIP-2537 encodings of BLS12-381 points, what the precompiles (and Strata's
 * Solidity libraries) read: a base-field element is 64 bytes big-endian (16
 * zero bytes, then 48); G1 = x ‖ y (128 bytes); G2 = x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1
 * (256 bytes); the point at infinity is all zeros.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";

import type { G1, G2, PairingBackend } from "./backend.ts";

function fp(value: bigint): Uint8Array {
  const out = new Uint8Array(64);
  let v = value;
  for (let i = 63; i >= 16 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** 128-byte EIP-2537 encoding of a G1 point. */
export function g1ToEip2537(backend: PairingBackend, p: G1): Uint8Array {
  if (backend.g1.isZero(p)) return new Uint8Array(128);
  const { x, y } = bls12_381.G1.Point.fromBytes(backend.g1.toBytes(p)).toAffine();
  const out = new Uint8Array(128);
  out.set(fp(x), 0);
  out.set(fp(y), 64);
  return out;
}

/** 256-byte EIP-2537 encoding of a G2 point. */
export function g2ToEip2537(backend: PairingBackend, q: G2): Uint8Array {
  if (backend.g2.isZero(q)) return new Uint8Array(256);
  const { x, y } = bls12_381.G2.Point.fromBytes(backend.g2.toBytes(q)).toAffine();
  const out = new Uint8Array(256);
  out.set(fp(x.c0), 0);
  out.set(fp(x.c1), 64);
  out.set(fp(y.c0), 128);
  out.set(fp(y.c1), 192);
  return out;
}
