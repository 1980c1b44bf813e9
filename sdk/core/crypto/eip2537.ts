/**
 * EIP-2537 encodings of BLS12-381 points, what the precompiles (and Strata's
 * Solidity libraries) read: a base-field element is 64 bytes big-endian (16
 * zero bytes, then 48); G1 = x ‖ y (128 bytes); G2 = x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1
 * (256 bytes); the point at infinity is all zeros.
 */
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
