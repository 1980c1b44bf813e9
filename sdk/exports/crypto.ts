/**
 * `@strata-iot/sdk/crypto` — the pairing cryptography: BLS and threshold BLS, identity-based
 * encryption and signatures, keyword search (PEKS), over a chosen backend (docs/crypto.md).
 */
export { AeadKey, hkdf } from "../core/crypto/aead.ts";
export {
  type G1,
  type G2,
  type GroupOps,
  mclBackend,
  nobleBackend,
  type PairingBackend,
} from "../core/crypto/backend.ts";
export {
  type BlsScheme,
  DST_MIN_PK,
  DST_MIN_PK_POP,
  DST_MIN_SIG,
  DST_MIN_SIG_POP,
  minPk,
  minPkOn,
  minSig,
  type SignedMessage,
} from "../core/crypto/bls.ts";
export { eip2537ToG1Bytes, eip2537ToG2Bytes, g1ToEip2537, g2ToEip2537 } from "../core/crypto/eip2537.ts";
export { BonehFranklinKem, ENCAPSULATION_BYTES, type Encapsulation } from "../core/crypto/ibe.ts";
export { ChaCheonIbs, DST_IBS_H2, type IbsSignature } from "../core/crypto/ibs.ts";
export {
  checkPrivateKey,
  DST_IDENTITY,
  identityBytes,
  identityPoint,
  Pkg,
  ThresholdPkg,
} from "../core/crypto/identity.ts";
export { keygen } from "../core/crypto/keygen.ts";
export { DST_PEKS_H1, Peks, PEKS_BYTES, type Trapdoor } from "../core/crypto/peks.ts";
export { hashToScalar, randomScalar, scalarFromBytes, scalarToBytes } from "../core/crypto/scalar.ts";
export { type Commitments, type KeyShare, type PartialSignature, ThresholdScheme } from "../core/crypto/threshold.ts";
