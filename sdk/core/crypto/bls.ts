/**
 * BLS signatures, proof-of-possession ciphersuites of draft-irtf-cfrg-bls-signature-05,
 * in both variants, each where it is cheapest:
 *
 * - `minSig` — signatures in G1 (48 bytes), keys in G2 (96 bytes);
 *   BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_. Anything a contract verifies uses it:
 *   hashing to G1 on chain costs one 5,500-gas MAP_FP_TO_G1 per field element
 *   against 23,800 for G2, so a verification fits in ~130k gas. Runs on the pairing
 *   backend (mcl by default, noble as reference).
 * - `minPk` — keys in G1 (48 bytes), signatures in G2 (96 bytes);
 *   BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_ (Ethereum consensus). Off-chain,
 *   high-volume verification: backed by `@chainsafe/blst` (native), ~25x the speed
 *   of plain noble, with batch verification by random linear combination.
 *
 * Both refuse identity keys and signatures and check subgroups on decode.
 * Aggregation over one message is only safe with proofs of possession
 * (`popProve`/`popVerify`): that is what stops rogue-key attacks.
 *
 * Everything but `minPk` lives in `bls-pairing.ts`, which loads no native module: code that must
 * run in a browser (the proof-bundle verifier) imports that one, never this.
 */
import * as blst from "@chainsafe/blst";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { InvalidInputError, InvalidPointError } from "../../errors.ts";
import { checkBytes } from "../bytes.ts";
import { type PairingBackend, rejectPoint } from "./backend.ts";
import {
  type BlsScheme,
  freshKey,
  identityAggregate,
  isCompressedIdentity,
  minPkOn,
  nonEmpty,
  secret,
} from "./bls-pairing.ts";
import { checkScalar } from "./scalar.ts";

export {
  type BlsScheme,
  DST_MIN_PK,
  DST_MIN_PK_POP,
  DST_MIN_SIG,
  DST_MIN_SIG_POP,
  minPkOn,
  minSig,
  type SignedMessage,
} from "./bls-pairing.ts";

// ------------------------------------------------------------ min-pk on blst

function blstKey(bytes: Uint8Array): blst.PublicKey {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 48)
    throw new InvalidPointError("G1", "length", "a public key is 48 bytes");
  try {
    return blst.PublicKey.fromBytes(bytes, true);
  } catch (cause) {
    return rejectPoint("G1", bytes, cause); // the reference decoder names the reason
  }
}

function blstSig(bytes: Uint8Array): blst.Signature {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 96)
    throw new InvalidPointError("G2", "length", "a signature is 96 bytes");
  try {
    return blst.Signature.fromBytes(bytes, true, true);
  } catch (cause) {
    return rejectPoint("G2", bytes, cause);
  }
}

function blstSecret(bytes: Uint8Array): blst.SecretKey {
  checkScalar(secret(bytes), "secret key");
  return blst.SecretKey.fromBytes(bytes);
}

/** min-pk, Ethereum's ciphersuite, on the native blst library. */
export function minPk(reference: PairingBackend): BlsScheme {
  const generic = minPkOn(reference); // proofs of possession use their own DST, which blst does not expose
  return {
    publicKeyLength: 48,
    signatureLength: 96,
    keygen: freshKey,
    publicKey: (sk) => blstSecret(sk).toPublicKey().toBytes(),
    sign: (sk, m) => blstSecret(sk).sign(checkBytes(m, "message")).toBytes(),
    verify: (pk, m, sig) => blst.verify(checkBytes(m, "message"), blstKey(pk), blstSig(sig)),
    aggregateSignatures(sigs) {
      nonEmpty(sigs, "signatures");
      const bytes = blst.aggregateSignatures(sigs.map(blstSig)).toBytes();
      if (isCompressedIdentity(bytes)) throw identityAggregate("G2", "signatures");
      return bytes;
    },
    aggregatePublicKeys(pks) {
      nonEmpty(pks, "public keys");
      const bytes = blst.aggregatePublicKeys(pks.map(blstKey)).toBytes();
      if (isCompressedIdentity(bytes)) throw identityAggregate("G1", "public keys");
      return bytes;
    },
    fastAggregateVerify(pks, m, sig) {
      nonEmpty(pks, "public keys");
      const key = blst.aggregatePublicKeys(pks.map(blstKey));
      if (isCompressedIdentity(key.toBytes())) throw identityAggregate("G1", "public keys");
      return blst.verify(checkBytes(m, "message"), key, blstSig(sig));
    },
    aggregateVerify(pks, msgs, sig) {
      nonEmpty(pks, "public keys");
      if (!Array.isArray(msgs) || pks.length !== msgs.length) throw new InvalidInputError("one message per public key");
      return blst.aggregateVerify(
        msgs.map((m) => checkBytes(m, "message")),
        pks.map(blstKey),
        blstSig(sig),
      );
    },
    batchVerify(items) {
      nonEmpty(items, "signatures");
      return blst.verifyMultipleAggregateSignatures(
        items.map((it) => ({
          msg: checkBytes(it?.message, "message"),
          pk: blstKey(it?.publicKey),
          sig: blstSig(it?.signature),
        })),
      );
    },
    popProve: generic.popProve,
    popVerify: generic.popVerify,
  };
}

/** Bytes of a UTF-8 message (convenience for callers signing text). */
export const text = (s: string): Uint8Array => utf8ToBytes(s);
