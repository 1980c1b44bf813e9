/**
 * Device keys on P-256 (secp256r1), the only curve most secure elements have (ATECC608,
 * SE050, Apple's Secure Enclave, Android's keystore, TPMs). Such a key is named in the registry
 * by its device key address, `p256Address(key)`; it signs the same EIP-712 digests a secp256k1
 * device key signs (registration, re-key, peer challenges, access requests), with P-256 ECDSA
 * on the 32-byte digest, s at most n/2. On chain, `DeviceRegistry` checks these signatures
 * through the EIP-7951 precompile; `verifyKeySignature` here applies the same rules off chain.
 *
 * A P-256 device signature travels as 128 bytes, `abi.encode(x, y, r, s)`: the public key
 * rides with the signature, and the verifier checks it against the registered address.
 */
import { p256 } from "@noble/curves/nist.js";
import { getAddress, keccak256, recoverAddress, toUtf8Bytes } from "ethers";

import { InvalidInputError } from "../errors.ts";
import { concat, fromHex, type Hex, toHex } from "./bytes.ts";

/** A P-256 public key: affine coordinates, 32 bytes each. */
export interface P256PublicKey {
  readonly x: Hex;
  readonly y: Hex;
}

/** A P-256 ECDSA signature of a digest, s ≤ n/2. */
export interface P256Signature {
  readonly r: Hex;
  readonly s: Hex;
}

/**
 * Whatever holds a P-256 device key: a secure element, a TPM, or (for tests and simulators)
 * `p256SoftwareKey`. It never hands out the private key; it signs 32-byte digests.
 */
export interface P256Signer {
  readonly curve: "p256";
  readonly publicKey: P256PublicKey;
  /** `p256Address(publicKey)`. */
  readonly address: string;
  signDigest(digest: Hex): Promise<P256Signature>;
}

/** Whether a key is a P-256 signer (else it is an ethers secp256k1 signer). */
export function isP256Signer(key: unknown): key is P256Signer {
  return typeof key === "object" && key !== null && (key as { curve?: unknown }).curve === "p256";
}

/** Length of an encoded P-256 device signature, `abi.encode(x, y, r, s)`. */
export const P256_SIGNATURE_BYTES = 128;

const TAG = toUtf8Bytes("strata.p256");
const HALF_N = p256.Point.CURVE().n >> 1n;
const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** The public key, checked to be a point of P-256 (`InvalidInputError` otherwise). */
export function checkP256PublicKey(key: P256PublicKey, what = "P-256 public key"): P256PublicKey {
  const { x, y } = coordinates(key, what);
  return { x: toHex(x), y: toHex(y) };
}

function coordinates(key: P256PublicKey, what = "P-256 public key"): { x: Uint8Array; y: Uint8Array } {
  if (typeof key !== "object" || key === null) throw new InvalidInputError(`${what}: expected { x, y }`);
  const x = fromHex(key.x, `${what}.x`, 32);
  const y = fromHex(key.y, `${what}.y`, 32);
  try {
    p256.Point.fromBytes(concat(new Uint8Array([4]), x, y)).assertValidity();
  } catch {
    throw new InvalidInputError(`${what} is not a point of P-256`, { x: key.x, y: key.y });
  }
  return { x, y };
}

/** The device key address of a P-256 key: last 20 bytes of keccak256("strata.p256" ‖ x ‖ y). */
export function p256Address(key: P256PublicKey): string {
  const { x, y } = coordinates(key);
  return getAddress(`0x${keccak256(concat(TAG, x, y)).slice(-40)}`);
}

/** The public key of a P-256 private key (32 bytes). */
export function p256PublicKeyOf(privateKey: Uint8Array): P256PublicKey {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32 || !p256.utils.isValidSecretKey(privateKey)) {
    throw new InvalidInputError("a P-256 private key is 32 bytes, from 1 to n − 1");
  }
  const point = p256.getPublicKey(privateKey, false);
  return { x: toHex(point.subarray(1, 33)), y: toHex(point.subarray(33, 65)) };
}

/** Signs a 32-byte digest (no further hashing), s ≤ n/2, as the contracts require. */
export function signP256Digest(privateKey: Uint8Array, digest: Hex): P256Signature {
  const bytes = fromHex(digest, "digest", 32);
  const sig = p256.sign(bytes, privateKey, { prehash: false, lowS: true });
  return { r: toHex(sig.subarray(0, 32)), s: toHex(sig.subarray(32, 64)) };
}

/**
 * A P-256 key held in memory, for simulators, tests and keystore-held keys. A device with a
 * secure element implements `P256Signer` over the element's sign command instead.
 */
export function p256SoftwareKey(privateKey: Uint8Array): P256Signer {
  const secret = Uint8Array.from(privateKey);
  const publicKey = p256PublicKeyOf(secret);
  return {
    curve: "p256",
    publicKey,
    address: p256Address(publicKey),
    signDigest: (digest) => Promise.resolve(signP256Digest(secret, digest)),
  };
}

/** The signature with s ≤ n/2: (r, n − s) when a signer gave the other of the two encodings. */
export function lowS(sig: P256Signature): P256Signature {
  const s = BigInt(sig.s);
  if (s <= HALF_N) return sig;
  return { r: sig.r, s: toHex(bigintBytes(p256.Point.CURVE().n - s)) };
}

function bigintBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31, v = value; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/**
 * `signer` signs `digest`; the result is checked to be its key's and brought to s ≤ n/2 (secure
 * elements return either encoding; the contracts take one). The one way the SDK signs with P-256.
 */
export async function p256Sign(signer: P256Signer, digest: Hex): Promise<P256Signature> {
  if (!isP256Signer(signer) || p256Address(signer.publicKey) !== getAddress(signer.address)) {
    throw new InvalidInputError("the P-256 signer's address is not its public key's p256Address", {
      address: signer?.address,
    });
  }
  const sig = lowS(await signer.signDigest(digest));
  if (!verifyP256Digest(signer.publicKey, digest, sig)) {
    throw new InvalidInputError("the P-256 signer returned a signature that does not verify under its key");
  }
  return sig;
}

/** A fresh random P-256 private key. */
export function randomP256PrivateKey(): Uint8Array {
  return p256.utils.randomSecretKey();
}

/** `abi.encode(x, y, r, s)`: how a P-256 signature travels with its key. */
export function encodeP256DeviceSignature(key: P256PublicKey, sig: P256Signature): Hex {
  const { x, y } = coordinates(key);
  return toHex(concat(x, y, fromHex(sig.r, "signature.r", 32), fromHex(sig.s, "signature.s", 32)));
}

/** The key and signature of an encoded P-256 device signature. */
export function decodeP256DeviceSignature(signature: Hex): { key: P256PublicKey; sig: P256Signature } {
  const bytes = fromHex(signature, "signature", P256_SIGNATURE_BYTES);
  const word = (i: number): Hex => toHex(bytes.subarray(32 * i, 32 * (i + 1)));
  return { key: { x: word(0), y: word(1) }, sig: { r: word(2), s: word(3) } };
}

/** Whether `sig` is `key`'s P-256 signature of `digest`, s ≤ n/2 (the contracts' rule). */
export function verifyP256Digest(key: P256PublicKey, digest: Hex, sig: P256Signature): boolean {
  try {
    const r = fromHex(sig.r, "signature.r", 32);
    const s = fromHex(sig.s, "signature.s", 32);
    const sValue = BigInt(toHex(s));
    if (BigInt(toHex(r)) === 0n || sValue === 0n || sValue > HALF_N) return false;
    const { x, y } = coordinates(key);
    return p256.verify(concat(r, s), fromHex(digest, "digest", 32), concat(new Uint8Array([4]), x, y), {
      prehash: false,
      lowS: true,
    });
  } catch {
    return false;
  }
}

/**
 * Whether a secp256k1 signature is in the one encoding the contracts take (OpenZeppelin ECDSA):
 * 65 bytes r ‖ s ‖ v, s ≤ n/2, v of 27 or 28.
 */
export function isCanonicalSecp256k1Signature(signature: Hex): boolean {
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  const v = parseInt(signature.slice(130, 132), 16);
  return BigInt(`0x${signature.slice(66, 130)}`) <= SECP256K1_HALF_N && (v === 27 || v === 28);
}

/**
 * Whether `signature` is device key `key`'s signature of `digest`, by the registry's rule
 * (`DeviceRegistry.isValidKeySignature`): 65 bytes for a secp256k1 key, 128 bytes
 * `abi.encode(x, y, r, s)` for a P-256 key whose `p256Address` is `key`. Malformed input is
 * `false`, never an exception.
 */
export function verifyKeySignature(key: string, digest: Hex, signature: Hex): boolean {
  if (typeof signature !== "string" || typeof key !== "string") return false;
  const length = (signature.length - 2) / 2;
  try {
    if (length === P256_SIGNATURE_BYTES) {
      const decoded = decodeP256DeviceSignature(signature);
      return (
        p256Address(decoded.key).toLowerCase() === key.toLowerCase() &&
        verifyP256Digest(decoded.key, digest, decoded.sig)
      );
    }
    if (length !== 65) return false;
    // The contract's rule (OpenZeppelin ECDSA): s ≤ n/2 and v of 27 or 28, one encoding only.
    const bytes = fromHex(signature, "signature", 65);
    if (BigInt(toHex(bytes.subarray(32, 64))) > SECP256K1_HALF_N || (bytes[64] !== 27 && bytes[64] !== 28))
      return false;
    return recoverAddress(digest, signature).toLowerCase() === key.toLowerCase();
  } catch {
    return false;
  }
}
