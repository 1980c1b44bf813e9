/**
 * Quorum attestations of a high-level layer (seed 003 §III.B, §IV.B): a layer's
 * decision is a min-sig BLS aggregate signature of at least n - f of its n
 * valid members (f = floor((n - 1) / 3)) over a 32-byte EIP-712 digest, with
 * the bitmap of the signers (bit i = member i), in the encodings
 * `SummaryLedger` reads: G1 signatures in 128 bytes, G2 keys in 256 bytes
 * (EIP-2537). Pure: keys and digests in, bytes out; no provider.
 */
import { InvalidInputError } from "../../errors.ts";
import { fromHex, type Hex } from "../bytes.ts";
import type { PairingBackend } from "../crypto/backend.ts";
import { minSig } from "../crypto/bls-pairing.ts";
import { eip2537ToG1Bytes, eip2537ToG2Bytes, g1ToEip2537, g2ToEip2537 } from "../crypto/eip2537.ts";
import { MAX_LAYER_MEMBERS } from "./quorum.ts";

// The quorum rule lives with the layer's other decision rules (`quorum.ts`); re-exported here, where it was.
export { MAX_LAYER_MEMBERS, quorumOf } from "./quorum.ts";

/** A signer bitmap and the aggregate signature (128-byte EIP-2537 G1) the ledger verifies. */
export interface Attestation {
  readonly signers: bigint;
  readonly signature: Uint8Array;
}

/** One member's signature (compressed 48-byte G1, `BlsScheme.sign`) over the digest. */
export interface PartialAttestation {
  readonly index: number;
  readonly signature: Uint8Array;
}

/** A member's key material as the ledger admits it (`MemberKey`, without the node). */
export interface MemberKeyMaterial {
  /** 256-byte EIP-2537 G2 public key. */
  readonly publicKey: Uint8Array;
  /** 128-byte EIP-2537 G1 proof of possession. */
  readonly proofOfPossession: Uint8Array;
}

/** The bitmap of member `indices` (distinct, each in [0, 63]). */
export function signerBitmap(indices: readonly number[]): bigint {
  if (!Array.isArray(indices) || indices.length === 0) {
    throw new InvalidInputError("indices must be a non-empty array", { indices });
  }
  let bits = 0n;
  for (const [k, i] of indices.entries()) {
    if (!Number.isInteger(i) || i < 0 || i >= MAX_LAYER_MEMBERS) {
      throw new InvalidInputError(`indices[${k}] must be an integer in [0, ${MAX_LAYER_MEMBERS - 1}]`, { index: i });
    }
    const bit = 1n << BigInt(i);
    if ((bits & bit) !== 0n) throw new InvalidInputError(`indices[${k}] repeats member ${i}`, { index: i });
    bits |= bit;
  }
  return bits;
}

/** The member indices named by `signers`, ascending. */
export function signerIndices(signers: bigint): number[] {
  if (typeof signers !== "bigint" || signers < 0n || signers >= 1n << BigInt(MAX_LAYER_MEMBERS)) {
    throw new InvalidInputError("signers must be a bigint in [0, 2^64)", { signers: String(signers) });
  }
  const out: number[] = [];
  for (let i = 0; i < MAX_LAYER_MEMBERS; i++) if ((signers >> BigInt(i)) & 1n) out.push(i);
  return out;
}

/** Member `secretKey`'s signature over `digest` (compressed G1, 48 bytes): what a member sends to the aggregator. */
export function partialAttestation(
  backend: PairingBackend,
  secretKey: Uint8Array,
  digest: Hex | Uint8Array,
): Uint8Array {
  return minSig(backend).sign(secretKey, checkDigest(digest));
}

/** The attestation of the members `{ index, secretKey }` over `digest`. */
export function attest(
  backend: PairingBackend,
  digest: Hex | Uint8Array,
  members: readonly { readonly index: number; readonly secretKey: Uint8Array }[],
): Attestation {
  const message = checkDigest(digest);
  if (!Array.isArray(members) || members.length === 0) {
    throw new InvalidInputError("members must be a non-empty array", { members });
  }
  const bls = minSig(backend);
  return aggregateAttestation(
    backend,
    members.map(({ index, secretKey }) => ({ index, signature: bls.sign(secretKey, message) })),
  );
}

/** Aggregates members' partial signatures into the bitmap and the 128-byte signature the ledger accepts. */
export function aggregateAttestation(backend: PairingBackend, partials: readonly PartialAttestation[]): Attestation {
  if (!Array.isArray(partials) || partials.length === 0) {
    throw new InvalidInputError("partials must be a non-empty array", { partials });
  }
  const signers = signerBitmap(partials.map((p) => p.index));
  const bls = minSig(backend);
  partials.forEach((p, k) => {
    if (!(p.signature instanceof Uint8Array) || p.signature.length !== bls.signatureLength) {
      throw new InvalidInputError(`partials[${k}].signature must be ${bls.signatureLength} bytes`, { index: p.index });
    }
  });
  const aggregate = bls.aggregateSignatures(partials.map((p) => p.signature));
  return { signers, signature: g1ToEip2537(backend, backend.g1.fromBytes(aggregate)) };
}

/** `secretKey`'s public key and proof of possession in the encodings `join` and the beginning block take. */
export function memberKeyMaterial(backend: PairingBackend, secretKey: Uint8Array): MemberKeyMaterial {
  const bls = minSig(backend);
  return {
    publicKey: g2ToEip2537(backend, backend.g2.fromBytes(bls.publicKey(secretKey))),
    proofOfPossession: g1ToEip2537(backend, backend.g1.fromBytes(bls.popProve(secretKey))),
  };
}

/**
 * Whether `attestation` is the aggregate signature over `digest` of the members its bitmap names,
 * under their keys (`keys`: each signer's index and 256-byte EIP-2537 G2 key, as the ledger
 * holds them): the signature half of `SummaryLedger.isValidAttestation`, off chain on `backend`.
 * Whether the signers were a quorum of the valid members is the ledger's to say (it knows the
 * membership). A signer without a key is an `InvalidInputError`; a malformed key or signature an
 * `InvalidPointError`.
 */
export function verifyAttestation(
  backend: PairingBackend,
  digest: Hex | Uint8Array,
  attestation: Attestation,
  keys: readonly { readonly index: number; readonly publicKey: Uint8Array }[],
): boolean {
  const message = checkDigest(digest);
  const byIndex = new Map(keys.map((k) => [k.index, k.publicKey]));
  const publicKeys = signerIndices(attestation.signers).map((i) => {
    const key = byIndex.get(i);
    if (key === undefined) throw new InvalidInputError(`no key for signer ${i}`, { index: i });
    return eip2537ToG2Bytes(key);
  });
  if (publicKeys.length === 0) throw new InvalidInputError("the attestation names no signer");
  return minSig(backend).fastAggregateVerify(publicKeys, message, eip2537ToG1Bytes(attestation.signature));
}

function checkDigest(digest: Hex | Uint8Array): Uint8Array {
  if (digest instanceof Uint8Array) {
    if (digest.length !== 32) throw new InvalidInputError(`digest must be 32 bytes, got ${digest.length}`);
    return digest;
  }
  return fromHex(digest, "digest", 32);
}
