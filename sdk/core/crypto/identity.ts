/**
 * Identity-based keys (seed 000's PKG): master secret s, master public
 * P = s·G2; an identity ID maps to Q = H1(ID) in G1 and its private key is
 * d = s·Q. Extraction can be split t-of-n over several PKGs (Shamir + Feldman,
 * the threshold module): each PKG returns dᵢ = sᵢ·Q, which the device checks
 * against PKGᵢ's verification key and combines — no single PKG holds s.
 */
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { InvalidInputError } from "../../errors.ts";
import type { G1, G2, PairingBackend } from "./backend.ts";
import { checkScalar, randomScalar } from "./scalar.ts";
import { type Commitments, type KeyShare, type PartialSignature, ThresholdScheme } from "./threshold.ts";

/** H1: identities to G1. */
export const DST_IDENTITY = "STRATA-V01-CS01-with-BLS12381G1_XMD:SHA-256_SSWU_RO_ID_";

/** The bytes an identity string hashes from (UTF-8, non-empty, at most 1 KiB). */
export function identityBytes(id: string): Uint8Array {
  if (typeof id !== "string" || id.length === 0 || id.length > 1024) {
    throw new InvalidInputError("an identity is a non-empty string of at most 1024 characters", { id });
  }
  return utf8ToBytes(id);
}

const identityCache = new WeakMap<PairingBackend, Map<string, G1>>();
const IDENTITY_CACHE_SIZE = 4096;

/** Q = H1(ID), remembered for the last few thousand identities (hashing to G1 costs ~2 ms). */
export function identityPoint(backend: PairingBackend, id: string): G1 {
  let cache = identityCache.get(backend);
  if (!cache) identityCache.set(backend, (cache = new Map()));
  let q = cache.get(id);
  if (q === undefined) {
    q = backend.g1.hash(identityBytes(id), DST_IDENTITY);
    if (cache.size >= IDENTITY_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(id, q);
  }
  return q;
}

/** A single private key generator. */
export class Pkg {
  readonly backend: PairingBackend;
  readonly #secret: bigint;
  /** P = s·G2. */
  readonly masterPublic: G2;

  constructor(backend: PairingBackend, secret: bigint = randomScalar()) {
    checkScalar(secret, "master secret");
    this.backend = backend;
    this.#secret = secret;
    this.masterPublic = backend.g2.mul(backend.g2.generator, secret);
  }

  /** d = s·H1(ID). */
  extract(id: string): G1 {
    return this.backend.g1.mul(identityPoint(this.backend, id), this.#secret);
  }
}

/** True when `d` is the private key of `id` under master key `P`: e(d, G2) = e(Q, P). */
export function checkPrivateKey(backend: PairingBackend, masterPublic: G2, id: string, d: G1): boolean {
  const { g2 } = backend;
  return backend.pairingCheck([
    [d, g2.neg(g2.generator)],
    [identityPoint(backend, id), masterPublic],
  ]);
}

/** t-of-n PKGs: the master secret exists only as shares. */
export class ThresholdPkg {
  readonly scheme: ThresholdScheme;
  readonly commitments: Commitments;

  constructor(backend: PairingBackend, commitments: Commitments) {
    this.scheme = new ThresholdScheme(backend);
    this.commitments = commitments;
  }

  /** Set-up by a dealer (the DKG of the threshold module works as well). */
  static deal(backend: PairingBackend, t: number, n: number): { pkg: ThresholdPkg; shares: KeyShare[] } {
    const scheme = new ThresholdScheme(backend);
    const { shares, commitments } = scheme.deal(t, n);
    return { pkg: new ThresholdPkg(backend, commitments), shares };
  }

  get masterPublic(): G2 {
    return this.scheme.groupKey(this.commitments);
  }

  /** PKG `share.index` extracts its part of the key of `id`. */
  extractPart(share: KeyShare, id: string): PartialSignature {
    return this.scheme.partialSign(share, identityBytes(id), DST_IDENTITY);
  }

  /** The device combines t verified parts (bad parts are named in a `ThresholdError`). */
  combine(id: string, parts: readonly PartialSignature[]): G1 {
    return this.scheme.combine(this.commitments, identityBytes(id), parts, DST_IDENTITY).signature;
  }
}
