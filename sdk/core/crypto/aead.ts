/**
 * Symmetric layer: AES-256-GCM with random 96-bit nonces and associated data,
 * and HKDF-SHA256 (RFC 5869) to derive keys. Keys live in `node:crypto`
 * KeyObjects, made once: a raw Buffer key costs a key schedule per message
 * (measured ~9x slower).
 *
 * Sealed form: nonce (12) ‖ ciphertext ‖ tag (16). Random nonces are safe up to
 * ~2^32 messages per key; session keys here are renewed long before.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject, randomBytes } from "node:crypto";

import { DecryptionError, InvalidInputError } from "../../errors.ts";

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const EMPTY = new Uint8Array();

/** An AES-256-GCM key. */
export class AeadKey {
  readonly #key: KeyObject;

  constructor(raw: Uint8Array) {
    if (!(raw instanceof Uint8Array) || raw.length !== KEY_BYTES) {
      throw new InvalidInputError(`an AES-256-GCM key is ${KEY_BYTES} bytes`);
    }
    this.#key = createSecretKey(raw);
  }

  /** Encrypts and authenticates `plaintext` and authenticates `ad`. */
  seal(plaintext: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce);
    cipher.setAAD(ad);
    const body = cipher.update(plaintext);
    const tail = cipher.final();
    const out = new Uint8Array(NONCE_BYTES + body.length + tail.length + TAG_BYTES);
    out.set(nonce, 0);
    out.set(body, NONCE_BYTES);
    out.set(tail, NONCE_BYTES + body.length);
    out.set(cipher.getAuthTag(), out.length - TAG_BYTES);
    return out;
  }

  /** Decrypts; throws `DecryptionError` when the nonce, ciphertext, tag or `ad` was altered. */
  open(sealed: Uint8Array, ad: Uint8Array = EMPTY): Uint8Array {
    if (!(sealed instanceof Uint8Array) || sealed.length < NONCE_BYTES + TAG_BYTES) {
      throw new DecryptionError("sealed message too short");
    }
    const decipher = createDecipheriv("aes-256-gcm", this.#key, sealed.subarray(0, NONCE_BYTES));
    decipher.setAAD(ad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const body = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    try {
      const tail = decipher.final();
      const out = new Uint8Array(body.length + tail.length);
      out.set(body);
      out.set(tail, body.length);
      return out;
    } catch (cause) {
      throw new DecryptionError("authentication failed: the message or its associated data was altered", {}, { cause });
    }
  }
}

/** HKDF-SHA256: `length` bytes from `ikm`, `salt` and `info`. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number = KEY_BYTES): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new InvalidInputError("HKDF output length must be in [1, 8160]", { length });
  }
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}
