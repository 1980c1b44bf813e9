/**
 * Test helpers for the on-chain BLS12-381 libraries: EIP-2537 encodings of
 * noble points, min-sig BLS signatures and a small Cha–Cheon signer built from
 * noble's G1 / Fr, independent of the SDK, so the contracts are checked against
 * a second implementation.
 */
import { hash_to_field } from "@noble/curves/abstract/hash-to-curve.js";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

import type { Interface } from "ethers";

import type { CryptoHarness, CryptoProbe } from "../../../types/ethers-contracts/index.ts";

export type Hex = `0x${string}`;

export const G1 = bls12_381.G1.Point;
export const G2 = bls12_381.G2.Point;
export type G1Point = ReturnType<typeof G1.fromAffine>;
export type G2Point = ReturnType<typeof G2.fromAffine>;
export const { Fp, Fp2, Fr } = bls12_381.fields;
export const P = Fp.ORDER;
export const R = Fr.ORDER;

/** `BLS12381.Operand`, in declaration order. */
export const Operand = {
  Point: 0n,
  Signature: 1n,
  PublicKey: 2n,
  AggregatePublicKey: 3n,
  MasterPublicKey: 4n,
  IbsU: 5n,
  IbsV: 6n,
} as const;

/** The min-sig proof-of-possession ciphersuite (draft-irtf-cfrg-bls-signature-05 §4.2.3). */
export const DST_SIG = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
export const DST_POP = "BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
/** Cha–Cheon H1 / H2 tags (the SDK's `DST_IDENTITY` and `DST_IBS_H2`). */
export const DST_IBS_H1 = "STRATA-V01-CS01-with-BLS12381G1_XMD:SHA-256_SSWU_RO_ID_";
export const DST_IBS_H2 = "STRATA-V01-CS01-IBS-CHA-CHEON_XMD:SHA-256_H2_";

export const text = (s: string): Uint8Array => utf8ToBytes(s);
export const hex = (b: Uint8Array): Hex => `0x${bytesToHex(b)}`;
export const unhex = (h: string): Uint8Array => hexToBytes(h.startsWith("0x") ? h.slice(2) : h);

/** 64-byte EIP-2537 field element (16 zero bytes, then 48 big-endian). */
export function fp64(v: bigint): Uint8Array {
  return unhex(v.toString(16).padStart(128, "0"));
}

/** 128-byte EIP-2537 encoding of a G1 point (x ‖ y; infinity = zeros). */
export function encodeG1(p: G1Point): Uint8Array {
  if (p.is0()) return new Uint8Array(128);
  const { x, y } = p.toAffine();
  return concatBytes(fp64(x), fp64(y));
}

/** 256-byte EIP-2537 encoding of a G2 point (x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1; infinity = zeros). */
export function encodeG2(p: G2Point): Uint8Array {
  if (p.is0()) return new Uint8Array(256);
  const { x, y } = p.toAffine();
  return concatBytes(fp64(x.c0), fp64(x.c1), fp64(y.c0), fp64(y.c1));
}

function word(b: Uint8Array, at: number): bigint {
  return BigInt(hex(b.subarray(at, at + 64)));
}

export function decodeG1(h: string): G1Point {
  const b = unhex(h);
  if (b.every((x) => x === 0)) return G1.ZERO;
  return G1.fromAffine({ x: word(b, 0), y: word(b, 64) });
}

export function decodeG2(h: string): G2Point {
  const b = unhex(h);
  if (b.every((x) => x === 0)) return G2.ZERO;
  return G2.fromAffine({
    x: Fp2.create({ c0: word(b, 0), c1: word(b, 64) }),
    y: Fp2.create({ c0: word(b, 128), c1: word(b, 192) }),
  });
}

/** Copy of `b` with bit `bit` (0 = most significant bit of byte 0) flipped. */
export function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}

// ----------------------------------------------------------------- BLS

const bls = bls12_381.shortSignatures;

export interface BlsKey {
  secretKey: Uint8Array;
  publicKey: G2Point;
}

/** A deterministic min-sig key (tests are reproducible). */
export function blsKey(seed: number): BlsKey {
  const sk = Fr.create(BigInt(hex(sha256(text(`strata crypto test key ${seed}`)))));
  const secretKey = unhex(sk.toString(16).padStart(64, "0"));
  return { secretKey, publicKey: bls.getPublicKey(secretKey) };
}

export function blsSign(key: BlsKey, message: Uint8Array, dst: string = DST_SIG): G1Point {
  return bls.sign(bls.hash(message, dst), key.secretKey);
}

export function blsVerifyNoble(publicKey: G2Point, message: Uint8Array, sig: G1Point, dst: string = DST_SIG): boolean {
  return bls.verify(sig, bls.hash(message, dst), publicKey);
}

/** PopProve: a signature of the key's compressed encoding under the PoP tag. */
export function blsProve(key: BlsKey): G1Point {
  return blsSign(key, key.publicKey.toBytes(true), DST_POP);
}

export function aggregateG1(points: G1Point[]): G1Point {
  return points.reduce((a, b) => a.add(b), G1.ZERO);
}

export function aggregateG2(points: G2Point[]): G2Point {
  return points.reduce((a, b) => a.add(b), G2.ZERO);
}

// ----------------------------------------------------------- Cha–Cheon

/** H1(ID): RFC 9380 hash to G1 under the IBS identity tag. */
export function ibsH1(identity: Uint8Array): G1Point {
  return bls12_381.G1.hashToCurve(identity, { DST: DST_IBS_H1 });
}

/** H2(m, U) = hash_to_field(m ‖ EIP-2537(U)) over Fr (expand_message_xmd SHA-256, L = 48). */
export function ibsH2(message: Uint8Array, u: G1Point): bigint {
  const out = hash_to_field(concatBytes(message, encodeG1(u)), 1, {
    DST: DST_IBS_H2,
    p: R,
    m: 1,
    k: 128,
    expand: "xmd",
    hash: sha256,
  });
  return out[0]![0]!;
}

export interface Pkg {
  secret: bigint;
  masterPublicKey: G2Point;
}

export function ibsSetup(secret: bigint): Pkg {
  return { secret, masterPublicKey: G2.BASE.multiply(secret) };
}

/** d = s·H1(ID). */
export function ibsExtract(pkg: Pkg, identity: Uint8Array): G1Point {
  return ibsH1(identity).multiply(pkg.secret);
}

export interface IbsSignature {
  u: G1Point;
  v: G1Point;
}

/** U = r·Q, h = H2(m, U), V = (r + h)·d. */
export function ibsSign(identity: Uint8Array, d: G1Point, message: Uint8Array, r: bigint): IbsSignature {
  const u = ibsH1(identity).multiply(r);
  const h = ibsH2(message, u);
  return { u, v: d.multiply(Fr.create(r + h)) };
}

/** e(V, G2) == e(U + h·Q, P), with noble. */
export function ibsVerifyNoble(
  masterPublicKey: G2Point,
  identity: Uint8Array,
  message: Uint8Array,
  sig: IbsSignature,
): boolean {
  const h = ibsH2(message, sig.u);
  const lhs = bls12_381.pairing(sig.v, G2.BASE);
  const rhs = bls12_381.pairing(sig.u.add(ibsH1(identity).multiply(h)), masterPublicKey);
  return Fp12Eq(lhs, rhs);
}

function Fp12Eq(a: ReturnType<typeof bls12_381.pairing>, b: ReturnType<typeof bls12_381.pairing>): boolean {
  return bls12_381.fields.Fp12.eql(a, b);
}

// ------------------------------------------------------ bad encodings

/** A G1 point on the curve but outside G1: (0, 2) has order 3. */
export const G1_OUTSIDE_SUBGROUP: Uint8Array = concatBytes(fp64(0n), fp64(2n));
/** A G1 encoding off the curve: (1, 1). */
export const G1_OFF_CURVE: Uint8Array = concatBytes(fp64(1n), fp64(1n));

/** A point on the G2 twist y² = x³ + 4(1 + u) outside G2 (the cofactor is not cleared). */
export function g2OutsideSubgroup(): Uint8Array {
  const b = Fp2.create({ c0: 4n, c1: 4n });
  for (let c0 = 1n; ; c0++) {
    const x = Fp2.create({ c0, c1: 0n });
    const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b);
    let y;
    try {
      y = Fp2.sqrt(rhs);
    } catch {
      continue;
    }
    if (!Fp2.eql(Fp2.sqr(y), rhs)) continue;
    return concatBytes(fp64(x.c0), fp64(x.c1), fp64(y.c0), fp64(y.c1));
  }
}

/** A G2 encoding off the twist. */
export const G2_OFF_CURVE: Uint8Array = concatBytes(fp64(1n), fp64(0n), fp64(1n), fp64(0n));

/** `enc` with the 64-byte field element at `offset` replaced by its value + p (still 48 bytes). */
export function withCoordinatePlusP(enc: Uint8Array, offset: number): Uint8Array {
  const out = Uint8Array.from(enc);
  out.set(fp64(BigInt(hex(enc.subarray(offset, offset + 64))) + P), offset);
  return out;
}

// ------------------------------------------------------- gas griefing

/** Gas a griefing probe hands the call under test, as a careless caller would. */
export const PROBE_CALL_GAS = 10_000_000n;

export interface ProbedCall {
  ok: boolean;
  /** Gas the call cost its caller (`CryptoHarness.gasOfCall`). */
  gasUsed: bigint;
  /** The custom error the call reverted with, decoded ("" when it did not revert or is unknown). */
  error: string;
  errorArgs: unknown[];
}

/**
 * Calls `harness.<fn>(...args)` from `probe` with `gasLimit` gas (10M by default), as a contract
 * verifying third-party input in a try/catch would, and reports what it cost.
 */
export async function probeCall(
  probe: CryptoProbe,
  harness: CryptoHarness,
  fn: string,
  args: readonly unknown[],
  gasLimit: bigint = PROBE_CALL_GAS,
): Promise<ProbedCall> {
  // The typed interface only takes its own function names as literals: widen it.
  const data = (harness.interface as Interface).encodeFunctionData(fn, args);
  const [ok, gasUsed, returnData] = await probe.gasOfCall(await harness.getAddress(), data, gasLimit, {
    gasLimit: gasLimit + 2_000_000n,
  });
  const parsed = ok ? null : harness.interface.parseError(returnData);
  return { ok, gasUsed, error: parsed?.name ?? "", errorArgs: parsed === null ? [] : [...parsed.args] };
}

/**
 * Runs verification `calls` 64 at a time and returns every outcome that is neither `false` nor
 * a revert with one of the `allowed` custom errors (decoded with `decode`): a bad input may make
 * a verifier answer false or revert with a named error, never anything else.
 */
export async function unexpectedOutcomes(
  calls: Array<() => Promise<boolean>>,
  allowed: ReadonlySet<string>,
  decode: (data: string) => string | undefined,
): Promise<string[]> {
  const outcome = async (call: Promise<boolean>): Promise<string> => {
    try {
      return String(await call);
    } catch (e) {
      const data = (e as { data?: string }).data;
      const name = data === undefined ? undefined : decode(data);
      if (name === undefined) throw e;
      return name;
    }
  };
  const bad: string[] = [];
  for (let i = 0; i < calls.length; i += 64) {
    const results = await Promise.all(calls.slice(i, i + 64).map((c) => outcome(c())));
    results.forEach((r, j) => {
      if (r !== "false" && !allowed.has(r)) bad.push(`#${i + j}: ${r}`);
    });
  }
  return bad;
}
