/**
 * EIP-2537 encodings of BLS12-381 points, what the precompiles (and Strata's
 * Solidity libraries) read: a base-field element is 64 bytes big-endian (16
 * zero bytes, then 48); G1 = x ‖ y (128 bytes); G2 = x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1
 * (256 bytes); the point at infinity is all zeros. Decoding (to the compressed ZCash form every
 * backend reads) checks the padding, the field, the curve and the subgroup, and refuses the identity.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";

import { InvalidPointError } from "../../errors.ts";
import { toHex } from "../bytes.ts";
import type { G1, G2, PairingBackend } from "./backend.ts";

/** Pads 48-byte field elements to EIP-2537's 64 bytes each. */
function pad(coordinates: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(coordinates.length * 64);
  coordinates.forEach((c, i) => out.set(c, i * 64 + 16));
  return out;
}

/** 128-byte EIP-2537 encoding of a G1 point. */
export function g1ToEip2537(backend: PairingBackend, p: G1): Uint8Array {
  return backend.g1.isZero(p) ? new Uint8Array(128) : pad(backend.g1.coordinates(p));
}

/** 256-byte EIP-2537 encoding of a G2 point. */
export function g2ToEip2537(backend: PairingBackend, q: G2): Uint8Array {
  return backend.g2.isZero(q) ? new Uint8Array(256) : pad(backend.g2.coordinates(q));
}

/**
 * The compressed (48-byte) encoding of a 128-byte EIP-2537 G1 point; `InvalidPointError` unless
 * it is one: zero padding, coordinates below p, on the curve, in the subgroup, not the identity.
 */
export function eip2537ToG1Bytes(bytes: Uint8Array): Uint8Array {
  const [x, y] = fieldElements(bytes, "G1", 128);
  return validPoint("G1", () => bls12_381.G1.Point.fromAffine({ x: x!, y: y! })).toBytes(true);
}

/** The compressed (96-byte) encoding of a 256-byte EIP-2537 G2 point, checked as `eip2537ToG1Bytes`. */
export function eip2537ToG2Bytes(bytes: Uint8Array): Uint8Array {
  const [x0, x1, y0, y1] = fieldElements(bytes, "G2", 256);
  return validPoint("G2", () =>
    bls12_381.G2.Point.fromAffine({ x: { c0: x0!, c1: x1! }, y: { c0: y0!, c1: y1! } }),
  ).toBytes(true);
}

/** The 64-byte field elements of an EIP-2537 encoding: 16 zero bytes, then 48 bytes below p. */
function fieldElements(bytes: Uint8Array, group: "G1" | "G2", length: number): bigint[] {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new InvalidPointError(group, "length", `an EIP-2537 ${group} point is ${length} bytes`);
  }
  const out: bigint[] = [];
  for (let at = 0; at < bytes.length; at += 64) {
    if (bytes.subarray(at, at + 16).some((b) => b !== 0)) {
      throw new InvalidPointError(group, "encoding", "a coordinate's 16 padding bytes are not zero");
    }
    const v = BigInt(toHex(bytes.subarray(at + 16, at + 64)));
    if (v >= bls12_381.fields.Fp.ORDER)
      throw new InvalidPointError(group, "encoding", "a coordinate is not below the field modulus");
    out.push(v);
  }
  return out;
}

/** The point `make` builds, refused when it is the identity, off the curve or outside the subgroup. */
function validPoint<P extends { is0(): boolean; assertValidity(): void }>(group: "G1" | "G2", make: () => P): P {
  const point = make();
  // EIP-2537 encodes the identity as all zeros, which fromAffine reads as (0, 0).
  if (point.is0()) throw new InvalidPointError(group, "identity", "the identity is not a valid key or signature");
  try {
    point.assertValidity();
  } catch (cause) {
    const reason = /subgroup|torsion/i.test(String(cause)) ? "not-in-subgroup" : "not-on-curve";
    throw new InvalidPointError(group, reason, `invalid point (${String(cause)})`, { cause });
  }
  return point;
}
