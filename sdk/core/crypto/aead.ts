/**
 * Symmetric layer: AES-256-GCM with random 96-bit nonces and associated data,
 * and HKDF-SHA256 (RFC 5869) to derive keys. Keys live in `node:crypto`
 * KeyObjects, made once: a raw Buffer key costs a key schedule per message
 * (measured ~9x slower).
 *
 * Sealed form: nonce (12) ‖ ciphertext ‖ tag (16). Random nonces are safe up to
 * ~2^32 messages per key; session keys here are renewed long before.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomFillSync,
} from "node:crypto";

import { DecryptionError, InvalidInputError } from "../../errors.ts";
import { scratch } from "../bytes.ts";

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const EMPTY = new Uint8Array();

// Nonces come from a pool refilled from the CSPRNG 4 KiB at a time: a call to
// randomBytes per message costs more than the AES-GCM seal itself. Each nonce
// is a view into the pool, copied into the output and never handed out twice.
const pool = new Uint8Array(4096 - (4096 % NONCE_BYTES));
let poolAt = pool.length;

function freshNonce(): Uint8Array {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const nonce = pool.subarray(poolAt, poolAt + NONCE_BYTES);
  poolAt += NONCE_BYTES;
  return nonce;
}

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
    return this.#seal(EMPTY, plaintext, ad);
  }

  /**
   * `header ‖ seal(plaintext, ad = header)` in one buffer: the shape of a
   * message whose clear header (ids, counters) is authenticated with it.
   */
  sealFramed(header: Uint8Array, plaintext: Uint8Array): Uint8Array {
    return this.#seal(header, plaintext, header);
  }

  #seal(prefix: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    const nonce = freshNonce();
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce);
    cipher.setAAD(ad);
    const body = cipher.update(plaintext);
    const tail = cipher.final();
    const at = prefix.length;
    const out = scratch(at + NONCE_BYTES + body.length + tail.length + TAG_BYTES);
    out.set(prefix, 0);
    out.set(nonce, at);
    out.set(body, at + NONCE_BYTES);
    if (tail.length > 0) out.set(tail, at + NONCE_BYTES + body.length);
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
    let tail: Uint8Array;
    try {
      tail = decipher.final();
    } catch (cause) {
      throw new DecryptionError("authentication failed: the message or its associated data was altered", {}, { cause });
    }
    if (tail.length === 0) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    const out = new Uint8Array(body.length + tail.length);
    out.set(body);
    out.set(tail, body.length);
    return out;
  }

  /** Opens `sealFramed`'s output whose header is `headerLength` bytes. */
  openFramed(bytes: Uint8Array, headerLength: number): Uint8Array {
    if (!(bytes instanceof Uint8Array) || bytes.length < headerLength) {
      throw new DecryptionError("framed message shorter than its header");
    }
    return this.open(bytes.subarray(headerLength), bytes.subarray(0, headerLength));
  }
}

/** HKDF-SHA256: `length` bytes from `ikm`, `salt` and `info`. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number = KEY_BYTES): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new InvalidInputError("HKDF output length must be in [1, 8160]", { length });
  }
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, length));
}
