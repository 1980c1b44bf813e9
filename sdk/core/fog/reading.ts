/**
 * Seed 004's device layer: a reading as a Secuchain device sends it to its fog
 * node. The payload is sealed end to end for the data owner's applications
 * (AES-256-GCM under the key the owner provisioned, bound to device, sequence
 * number and time); the keyword slots carry PEKS ciphertexts under the owner's
 * PEKS key (slot 0: the class keyword, "sensitive" or "normal"; further slots:
 * e.g. "alarm", a category), so a fog node holding the owner's trapdoors can
 * sort the reading without decrypting anything; and the whole is signed with
 * the device's registered secp256k1 key (ECDSA over SHA-256), which the fog
 * node learns once from a `DeviceHello` and checks against the registry.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

import { p256 } from "@noble/curves/nist.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, fromHex, type Hex } from "../bytes.ts";
import { Writer } from "../codec.ts";
import { type AeadKey } from "../crypto/aead.ts";
import { PEKS_BYTES } from "../crypto/peks.ts";
import { InvalidInputError, ProtocolError } from "../../errors.ts";
import { decodeReading, MAX_KEYWORDS, type SecuReading, TAG_READING } from "./reading-bytes.ts";

const DOMAIN = utf8ToBytes("STRATA-FOG-v1 reading");
const PAYLOAD_DOMAIN = utf8ToBytes("STRATA-FOG-v1 payload");

// Decoding and hashing a reading need no `node:crypto`: they live in `reading-bytes.ts`.
export { decodeReading, MAX_KEYWORDS, MAX_PAYLOAD, readingHash, type SecuReading } from "./reading-bytes.ts";

// ------------------------------------------------------------- device keys

/** A device's P-256 key pair as `node:crypto` key objects. */
export interface DeviceKey {
  readonly private: KeyObject;
  /** x ‖ y, 64 bytes: what the registry profile publishes (`Profile.p256PublicKey`). */
  readonly publicKey: Uint8Array;
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString("base64url");

/** The device key behind a 32-byte P-256 private key. */
export function deviceKey(privateKey: Uint8Array): DeviceKey {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) {
    throw new InvalidInputError("a P-256 private key is 32 bytes");
  }
  const publicKey = p256.getPublicKey(privateKey, false).subarray(1);
  const jwk = {
    kty: "EC",
    crv: "P-256",
    d: b64url(privateKey),
    x: b64url(publicKey.subarray(0, 32)),
    y: b64url(publicKey.subarray(32)),
  };
  return { private: createPrivateKey({ key: jwk, format: "jwk" }), publicKey };
}

/** A fresh device key. */
export function randomDeviceKey(): DeviceKey {
  return deviceKey(p256.utils.randomSecretKey());
}

/** A verifying key object for a profile's P-256 public key (x ‖ y, checked on the curve). */
export function verifyingKey(publicKey: Uint8Array): KeyObject {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 64) {
    throw new ProtocolError("malformed", "a P-256 public key is 64 bytes (x then y)");
  }
  try {
    p256.Point.fromBytes(concat(Uint8Array.of(4), publicKey)).assertValidity();
    return createPublicKey({
      key: { kty: "EC", crv: "P-256", x: b64url(publicKey.subarray(0, 32)), y: b64url(publicKey.subarray(32)) },
      format: "jwk",
    });
  } catch (cause) {
    throw new ProtocolError("malformed", "the public key is not a P-256 point", { cause: String(cause) });
  }
}

// ------------------------------------------------------------------ payload

function associatedData(device: Hex, seq: number, time: number): Uint8Array {
  return concat(PAYLOAD_DOMAIN, fromHex(device, "device", 32), new Writer(16).u64(seq).u64(time).finish());
}

/** Device: seals a reading's payload for the owner's applications. */
export function sealPayload(owner: AeadKey, device: Hex, seq: number, time: number, plaintext: Uint8Array): Uint8Array {
  return owner.seal(plaintext, associatedData(device, seq, time));
}

/** Owner's application: opens a reading's payload. */
export function openPayload(
  owner: AeadKey,
  reading: Pick<SecuReading, "device" | "seq" | "time" | "payload">,
): Uint8Array {
  try {
    return owner.open(reading.payload, associatedData(reading.device, reading.seq, reading.time));
  } catch {
    throw new ProtocolError("tampered", "the payload does not open under the owner's key", {
      device: reading.device,
      seq: reading.seq,
    });
  }
}

// ------------------------------------------------------------------ reading

/** Device: the signed reading. */
export function makeReading(
  key: DeviceKey,
  device: Hex,
  seq: number,
  time: number,
  payload: Uint8Array,
  keywords: readonly Uint8Array[],
): SecuReading {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new InvalidInputError("a sequence number starts at 1", { seq });
  if (keywords.length < 1 || keywords.length > MAX_KEYWORDS) {
    throw new InvalidInputError(`a reading carries 1 to ${MAX_KEYWORDS} keyword ciphertexts`, {
      count: keywords.length,
    });
  }
  const w = new Writer(payload.length + keywords.length * PEKS_BYTES + 128)
    .u8(TAG_READING)
    .fixed(fromHex(device, "device", 32), 32)
    .u64(seq)
    .u64(time)
    .bytes(payload)
    .u8(keywords.length);
  for (const k of keywords) w.fixed(k, PEKS_BYTES);
  const body = w.finish();
  const signature = new Uint8Array(
    sign("sha256", concat(DOMAIN, body), { key: key.private, dsaEncoding: "ieee-p1363" }),
  );
  return decodeReading(concat(body, signature));
}

/** Throws `ProtocolError("bad-signature")` unless the device key `key` signed `reading`. */
export function checkReadingSignature(reading: SecuReading, key: KeyObject): void {
  const ok = verify("sha256", concat(DOMAIN, reading.body), { key, dsaEncoding: "ieee-p1363" }, reading.signature);
  if (!ok) {
    throw new ProtocolError("bad-signature", "the reading is not signed by its device's key", {
      device: reading.device,
      seq: reading.seq,
    });
  }
}
