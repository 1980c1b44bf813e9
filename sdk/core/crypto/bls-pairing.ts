/**
 * BLS signatures on a pairing backend, pure TypeScript or WebAssembly (no native module, so it
 * runs in a browser too): proof-of-possession ciphersuites of draft-irtf-cfrg-bls-signature-05,
 * in both variants, each where it is cheapest:
 *
 * - `minSig` — signatures in G1 (48 bytes), keys in G2 (96 bytes);
 *   BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_. Anything a contract verifies uses it:
 *   hashing to G1 on chain costs one 5,500-gas MAP_FP_TO_G1 per field element
 *   against 23,800 for G2, so a verification fits in ~130k gas. Runs on the pairing
 *   backend (mcl by default, noble as reference).
 * - `minPkOn` — keys in G1 (48 bytes), signatures in G2 (96 bytes);
 *   BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ (Ethereum consensus), the reference of
 *   `minPk` (`bls.ts`), which runs it on the native blst library.
 *
 * Both refuse identity keys and signatures and check subgroups on decode.
 * Aggregation over one message is only safe with proofs of possession
 * (`popProve`/`popVerify`): that is what stops rogue-key attacks.
 */
import { InvalidInputError, InvalidPointError } from "../../errors.ts";
import { checkBytes } from "../bytes.ts";
import type { G1, G2, GroupOps, PairingBackend } from "./backend.ts";
import { keygen } from "./keygen.ts";
import { randomScalar, scalarFromBytes, scalarToBytes } from "./scalar.ts";

export const DST_MIN_SIG = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
export const DST_MIN_SIG_POP = "BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
export const DST_MIN_PK = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
export const DST_MIN_PK_POP = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/** A message with the key that signed it, for aggregate and batch verification. */
export interface SignedMessage {
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** The operations both variants offer; keys and signatures are compressed bytes. */
export interface BlsScheme {
  readonly publicKeyLength: number;
  readonly signatureLength: number;
  /** A fresh secret key (32 bytes), or the KeyGen of `ikm` (>= 32 bytes). */
  keygen(ikm?: Uint8Array): Uint8Array;
  publicKey(secretKey: Uint8Array): Uint8Array;
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** False for a wrong signature; throws `InvalidPointError` for a malformed key or signature. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array;
  aggregatePublicKeys(publicKeys: readonly Uint8Array[]): Uint8Array;
  /** Many signers, one message (keys must have proven possession). */
  fastAggregateVerify(publicKeys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean;
  /** Many signers, distinct messages. */
  aggregateVerify(publicKeys: readonly Uint8Array[], messages: readonly Uint8Array[], signature: Uint8Array): boolean;
  /** Many independent signatures at once (random linear combination, one final exponentiation). */
  batchVerify(items: readonly SignedMessage[]): boolean;
  popProve(secretKey: Uint8Array): Uint8Array;
  popVerify(publicKey: Uint8Array, proof: Uint8Array): boolean;
}

// The helpers below are shared with `minPk` in `bls.ts` (not part of the package's API).

/** A secret key's scalar, checked. */
export function secret(bytes: Uint8Array): bigint {
  return scalarFromBytes(bytes, "secret key");
}

/** A fresh secret key, or the KeyGen of `ikm`. */
export function freshKey(ikm?: Uint8Array): Uint8Array {
  return scalarToBytes(ikm === undefined ? randomScalar() : keygen(ikm));
}

/** Refuses an empty list (`InvalidInputError` naming `what`). */
export function nonEmpty(list: readonly unknown[], what: string): void {
  if (!Array.isArray(list) || list.length === 0) throw new InvalidInputError(`${what} must be a non-empty array`);
}

/**
 * Keys or signatures that cancel (k and -k) aggregate to the identity, which is never a valid
 * key or signature: it is refused like a decoded identity (and as the contracts refuse it).
 */
export function identityAggregate(group: "G1" | "G2", what: string): InvalidPointError {
  return new InvalidPointError(group, "identity", `the aggregate of the ${what} is the identity (they cancel)`);
}

/** A compressed encoding of the identity: flags 0b110, every other bit zero. */
export function isCompressedIdentity(bytes: Uint8Array): boolean {
  return bytes[0] === 0xc0 && bytes.every((b, i) => i === 0 || b === 0);
}

/** 128-bit random weights for batch verification. */
function weights(n: number): bigint[] {
  return Array.from({ length: n }, () => {
    const b = crypto.getRandomValues(new Uint8Array(16));
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    return v | 1n;
  });
}

/**
 * A BLS variant over a pairing backend: `sigGroup` holds signatures and hashed
 * messages, `keyGroup` holds public keys. `pair(sig-side, key-side)` orders the
 * arguments for the backend's e(G1, G2).
 */
function genericScheme<S, K>(
  backend: PairingBackend,
  sigGroup: GroupOps<S>,
  keyGroup: GroupOps<K>,
  pair: (s: S, k: K) => readonly [G1, G2],
  dst: string,
  popDst: string,
): BlsScheme {
  const hash = (m: Uint8Array): S => sigGroup.hash(checkBytes(m, "message"), dst);
  const verifyPoints = (pk: K, msgPoint: S, sig: S): boolean =>
    backend.pairingCheck([pair(sig, keyGroup.neg(keyGroup.generator)), pair(msgPoint, pk)]);
  function sum<P>(group: GroupOps<P>, encoded: readonly Uint8Array[], what: string): P {
    nonEmpty(encoded, what);
    const total = encoded.map((b) => group.fromBytes(b)).reduce((a, b) => group.add(a, b));
    if (group.isZero(total)) throw identityAggregate(group.name, what);
    return total;
  }
  return {
    publicKeyLength: keyGroup.byteLength,
    signatureLength: sigGroup.byteLength,
    keygen: freshKey,
    publicKey: (sk) => keyGroup.toBytes(keyGroup.mul(keyGroup.generator, secret(sk))),
    sign: (sk, m) => sigGroup.toBytes(sigGroup.mul(hash(m), secret(sk))),
    verify: (pk, m, sig) => verifyPoints(keyGroup.fromBytes(pk), hash(m), sigGroup.fromBytes(sig)),
    aggregateSignatures: (sigs) => sigGroup.toBytes(sum(sigGroup, sigs, "signatures")),
    aggregatePublicKeys: (pks) => keyGroup.toBytes(sum(keyGroup, pks, "public keys")),
    fastAggregateVerify: (pks, m, sig) =>
      verifyPoints(sum(keyGroup, pks, "public keys"), hash(m), sigGroup.fromBytes(sig)),
    aggregateVerify(pks, msgs, sig) {
      nonEmpty(pks, "public keys");
      if (!Array.isArray(msgs) || pks.length !== msgs.length) throw new InvalidInputError("one message per public key");
      // Distinct messages are required by the basic scheme; with PoP keys they are not, but
      // equal (key, message) pairs would be a replay of the same signature.
      const pairs = pks.map((k, i) => pair(hash(msgs[i]!), keyGroup.fromBytes(k)));
      return backend.pairingCheck([pair(sigGroup.fromBytes(sig), keyGroup.neg(keyGroup.generator)), ...pairs]);
    },
    batchVerify(items) {
      nonEmpty(items, "signatures");
      const w = weights(items.length);
      const sigs = items.map((it) => sigGroup.fromBytes(it?.signature));
      const combined = sigGroup.msm(sigs, w);
      const pairs = items.map((it, i) =>
        pair(sigGroup.mulPublic(hash(it?.message), w[i]!), keyGroup.fromBytes(it?.publicKey)),
      );
      return backend.pairingCheck([pair(combined, keyGroup.neg(keyGroup.generator)), ...pairs]);
    },
    popProve(sk) {
      const pk = keyGroup.toBytes(keyGroup.mul(keyGroup.generator, secret(sk)));
      return sigGroup.toBytes(sigGroup.mul(sigGroup.hash(pk, popDst), secret(sk)));
    },
    popVerify: (pk, proof) =>
      verifyPoints(keyGroup.fromBytes(pk), sigGroup.hash(pk, popDst), sigGroup.fromBytes(proof)),
  };
}

/** min-sig on a pairing backend (on-chain verifiable). */
export function minSig(backend: PairingBackend): BlsScheme {
  return genericScheme<G1, G2>(backend, backend.g1, backend.g2, (s, k) => [s, k], DST_MIN_SIG, DST_MIN_SIG_POP);
}

/** min-pk on a pairing backend (the reference the blst-backed `minPk` is tested against). */
export function minPkOn(backend: PairingBackend): BlsScheme {
  return genericScheme<G2, G1>(backend, backend.g2, backend.g1, (s, k) => [k, s], DST_MIN_PK, DST_MIN_PK_POP);
}
