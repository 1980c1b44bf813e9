/**
 * Seed 000, "Transmission": double encryption and the symmetric session.
 *
 * - The primary layer: a reading is sealed under the primary key, shared only
 *   by the node and its application (AES-256-GCM, bound to node id and
 *   sequence number), so the BS relays and chains ciphertext it cannot read.
 * - The session layer: the primary ciphertext and its sequence number are
 *   sealed again under the session key of the radio link, one key per
 *   direction, with a per-session counter in the clear header that must rise
 *   strictly (a replayed or reordered frame is refused).
 * - Receipts (BS -> node) confirm each block, authenticated by HMAC; renewal
 *   derives the next session from the current one and fresh nonces of both
 *   ends, all symmetric, until `maxSessionAgeMs` asks for a new handshake.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, fromHex, type Hex, scratch, toHex } from "../bytes.ts";
import { AeadKey, hkdf } from "../crypto/aead.ts";
import { ProtocolError } from "../../errors.ts";
import { getU64, putU64, Reader, Writer } from "../codec.ts";
import { NONCE_BYTES, SESSION_ID_BYTES, type SessionSecret } from "./handshake.ts";

const TAG_FRAME = 0x03;
const TAG_RECEIPT = 0x04;
const TAG_RENEW_REQUEST = 0x05;
const TAG_RENEW_RESPONSE = 0x06;
/** tag (1) ‖ session id (16) ‖ counter (8): the clear header of every session message. */
export const HEADER_BYTES = 1 + SESSION_ID_BYTES + 8;
const UP_INFO = utf8ToBytes("STRATA-NBIOT-v1 uplink key");
const DOWN_INFO = utf8ToBytes("STRATA-NBIOT-v1 downlink key");
const RECEIPT_INFO = utf8ToBytes("STRATA-NBIOT-v1 receipt key");
const RECEIPT_TAG_BYTES = 16;
const RENEW_INFO = utf8ToBytes("STRATA-NBIOT-v1 renewal");
const PRIMARY_AD = utf8ToBytes("STRATA-NBIOT-v1 primary");

/** A map key for a session id. */
export function sessionKeyOf(id: Uint8Array): string {
  if (id.length !== SESSION_ID_BYTES) throw new ProtocolError("malformed", "a session id is 16 bytes");
  // prettier-ignore
  return String.fromCharCode(
    id[0]!, id[1]!, id[2]!, id[3]!, id[4]!, id[5]!, id[6]!, id[7]!,
    id[8]!, id[9]!, id[10]!, id[11]!, id[12]!, id[13]!, id[14]!, id[15]!,
  );
}

/** Both directions' keys of one session, and its lifetime. */
export class Session {
  readonly id: Uint8Array;
  readonly key: string;
  readonly node: Hex;
  readonly bs: Hex;
  readonly bsBytes: Uint8Array;
  readonly expiresAt: number;
  readonly establishedAt: number;
  readonly up: AeadKey;
  readonly down: AeadKey;
  readonly #receiptKey: KeyObject;
  readonly #root: Uint8Array;

  constructor(secret: SessionSecret) {
    this.id = secret.sessionId;
    this.key = sessionKeyOf(secret.sessionId);
    this.node = secret.node;
    this.bs = secret.bs;
    this.bsBytes = fromHex(secret.bs, "bs", 32);
    this.expiresAt = secret.expiresAt;
    this.establishedAt = secret.establishedAt;
    this.#root = secret.root;
    this.up = new AeadKey(hkdf(secret.root, secret.sessionId, UP_INFO));
    this.down = new AeadKey(hkdf(secret.root, secret.sessionId, DOWN_INFO));
    this.#receiptKey = createSecretKey(hkdf(secret.root, secret.sessionId, RECEIPT_INFO));
  }

  /** HMAC-SHA256 of a receipt body, truncated to 16 bytes. */
  receiptTag(body: Uint8Array): Uint8Array {
    return createHmac("sha256", this.#receiptKey).update(body).digest().subarray(0, RECEIPT_TAG_BYTES);
  }

  /** Throws `ProtocolError("stale-session")` once the session has expired. */
  checkLive(now: number): void {
    if (now >= this.expiresAt) {
      throw new ProtocolError("stale-session", "the session key has expired; renew or authenticate again", {
        expiresAt: this.expiresAt,
        now,
      });
    }
  }

  /** The next session's secret, from both renewal nonces. */
  renewed(nodeNonce: Uint8Array, bsNonce: Uint8Array, nextId: Uint8Array, expiresAt: number): SessionSecret {
    const info = concat(RENEW_INFO, this.id, nextId, new Writer(8).u64(expiresAt).finish());
    return {
      sessionId: nextId,
      node: this.node,
      bs: this.bs,
      root: hkdf(this.#root, concat(nodeNonce, bsNonce), info),
      expiresAt,
      establishedAt: this.establishedAt,
    };
  }
}

function header(tag: number, sessionId: Uint8Array, counter: number): Uint8Array {
  if (sessionId.length !== SESSION_ID_BYTES) throw new ProtocolError("malformed", "a session id is 16 bytes");
  if (!Number.isSafeInteger(counter) || counter < 0)
    throw new ProtocolError("malformed", "a counter is a safe integer");
  const out = scratch(HEADER_BYTES);
  out[0] = tag;
  out.set(sessionId, 1);
  putU64(out, 1 + SESSION_ID_BYTES, counter);
  return out;
}

/** The clear header of a session message. */
export interface SessionHeader {
  readonly tag: number;
  readonly sessionId: Uint8Array;
  readonly sessionKey: string;
  readonly counter: number;
}

/** Reads the clear header (no key needed): which session, which counter. */
export function readHeader(bytes: Uint8Array, what: string): SessionHeader {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) {
    throw new ProtocolError("malformed", `${what}: shorter than its header`, { length: bytes?.length });
  }
  const sessionId = bytes.subarray(1, 1 + SESSION_ID_BYTES);
  const counter = getU64(bytes, 1 + SESSION_ID_BYTES);
  if (counter === undefined) throw new ProtocolError("malformed", `${what}: counter out of range`);
  return { tag: bytes[0]!, sessionId, sessionKey: sessionKeyOf(sessionId), counter };
}

function open(key: AeadKey, bytes: Uint8Array, what: string): Uint8Array {
  try {
    return key.openFramed(bytes, HEADER_BYTES);
  } catch {
    throw new ProtocolError("tampered", `${what} does not authenticate under the session key`);
  }
}

// ------------------------------------------------------------ primary layer

function primaryAd(node: Hex, seq: number): Uint8Array {
  return concat(PRIMARY_AD, fromHex(node, "node", 32), new Writer(8).u64(seq).finish());
}

/** Node: seals a reading for its application only. */
export function sealPrimary(primary: AeadKey, node: Hex, seq: number, reading: Uint8Array): Uint8Array {
  return primary.seal(reading, primaryAd(node, seq));
}

/** Application: opens the primary layer of block `seq` of `node`. */
export function openPrimary(primary: AeadKey, node: Hex, seq: number, ciphertext: Uint8Array): Uint8Array {
  try {
    return primary.open(ciphertext, primaryAd(node, seq));
  } catch {
    throw new ProtocolError("tampered", "the primary ciphertext does not open under the primary key", { node, seq });
  }
}

// ------------------------------------------------------------- data frames

export interface DataFrame {
  readonly counter: number;
  readonly seq: number;
  readonly primary: Uint8Array;
}

/** Node: a frame carrying block `seq`'s primary ciphertext. */
export function sealFrame(session: Session, counter: number, seq: number, primary: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new ProtocolError("malformed", "a sequence number starts at 1");
  const inner = scratch(8 + primary.length);
  putU64(inner, 0, seq);
  inner.set(primary, 8);
  return session.up.sealFramed(header(TAG_FRAME, session.id, counter), inner);
}

/** BS: opens a frame of `session` (the caller checks the counter). */
export function openFrame(session: Session, bytes: Uint8Array, counter: number): DataFrame {
  const inner = open(session.up, bytes, "the frame");
  if (inner.length < 8 + 28) throw new ProtocolError("malformed", "the frame carries no primary ciphertext");
  const seq = getU64(inner, 0);
  if (seq === undefined || seq < 1) throw new ProtocolError("malformed", "a sequence number starts at 1", { seq });
  return { counter, seq, primary: inner.subarray(8) };
}

export function isFrame(h: SessionHeader): boolean {
  return h.tag === TAG_FRAME;
}

// ----------------------------------------------------------------- receipts

/** What the BS confirms for a frame: the block it made. */
export interface Receipt {
  readonly counter: number;
  readonly seq: number;
  readonly time: number;
  readonly bs: Hex;
  readonly hash: Uint8Array;
}

/** header (25) ‖ seq (8) ‖ time (8) ‖ bs (32) ‖ block hash (32) ‖ tag (16). */
export const RECEIPT_BYTES = HEADER_BYTES + 80 + RECEIPT_TAG_BYTES;

/**
 * A receipt carries nothing secret (a block hash, a time), so it is
 * authenticated, not encrypted: HMAC-SHA256 under the session's receipt key,
 * truncated to 128 bits — cheaper than AES-GCM for the station and the node.
 */
export function sealReceipt(session: Session, receipt: Receipt): Uint8Array {
  if (receipt.bs !== session.bs) throw new ProtocolError("wrong-peer", "a receipt names the session's station");
  if (!(receipt.hash instanceof Uint8Array) || receipt.hash.length !== 32) {
    throw new ProtocolError("malformed", "a receipt's block hash is 32 bytes");
  }
  const out = scratch(RECEIPT_BYTES);
  out.set(header(TAG_RECEIPT, session.id, receipt.counter), 0);
  putU64(out, HEADER_BYTES, receipt.seq);
  putU64(out, HEADER_BYTES + 8, receipt.time);
  out.set(session.bsBytes, HEADER_BYTES + 16);
  out.set(receipt.hash, HEADER_BYTES + 48);
  out.set(session.receiptTag(out.subarray(0, HEADER_BYTES + 80)), HEADER_BYTES + 80);
  return out;
}

export function openReceipt(session: Session, bytes: Uint8Array): Receipt {
  const h = readHeader(bytes, "receipt");
  if (h.tag !== TAG_RECEIPT || h.sessionKey !== session.key) {
    throw new ProtocolError("wrong-peer", "not a receipt of this session");
  }
  if (bytes.length !== RECEIPT_BYTES) throw new ProtocolError("malformed", `a receipt is ${RECEIPT_BYTES} bytes`);
  const body = bytes.subarray(0, HEADER_BYTES + 80);
  if (!timingSafeEqual(session.receiptTag(body), bytes.subarray(HEADER_BYTES + 80))) {
    throw new ProtocolError("tampered", "the receipt does not authenticate under the session key");
  }
  const r = new Reader(bytes.subarray(HEADER_BYTES, HEADER_BYTES + 80), "receipt");
  const seq = r.u64("seq");
  const time = r.u64("time");
  const bs = toHex(r.fixed(32, "bs"));
  const hash = r.fixed(32, "hash").slice();
  r.end();
  return { counter: h.counter, seq, time, bs, hash };
}

// ------------------------------------------------------------------ renewal

/** Node: asks to renew before expiry (symmetric only). */
export function sealRenewRequest(session: Session, counter: number, nodeNonce: Uint8Array): Uint8Array {
  return session.up.sealFramed(header(TAG_RENEW_REQUEST, session.id, counter), nodeNonce);
}

export function openRenewRequest(session: Session, bytes: Uint8Array): Uint8Array {
  const h = readHeader(bytes, "renew request");
  if (h.tag !== TAG_RENEW_REQUEST) throw new ProtocolError("malformed", "not a renew request");
  const nonce = open(session.up, bytes, "the renew request");
  if (nonce.length !== NONCE_BYTES) throw new ProtocolError("malformed", "a renewal nonce is 16 bytes");
  return nonce;
}

export function isRenewRequest(h: SessionHeader): boolean {
  return h.tag === TAG_RENEW_REQUEST;
}

export interface RenewOffer {
  readonly bsNonce: Uint8Array;
  readonly nextId: Uint8Array;
  readonly expiresAt: number;
}

export function sealRenewResponse(session: Session, counter: number, offer: RenewOffer): Uint8Array {
  const head = header(TAG_RENEW_RESPONSE, session.id, counter);
  const inner = new Writer(48)
    .fixed(offer.bsNonce, NONCE_BYTES)
    .fixed(offer.nextId, SESSION_ID_BYTES)
    .u64(offer.expiresAt)
    .finish();
  return session.down.sealFramed(head, inner);
}

export function openRenewResponse(session: Session, bytes: Uint8Array, counter: number): RenewOffer {
  const h = readHeader(bytes, "renew response");
  if (h.tag !== TAG_RENEW_RESPONSE || h.sessionKey !== session.key || h.counter !== counter) {
    throw new ProtocolError("replay", "not the answer to this session's renew request");
  }
  const r = new Reader(open(session.down, bytes, "the renew response"), "renew response");
  const bsNonce = r.fixed(NONCE_BYTES, "bs nonce").slice();
  const nextId = r.fixed(SESSION_ID_BYTES, "next session id").slice();
  const expiresAt = r.u64("expiresAt");
  r.end();
  return { bsNonce, nextId, expiresAt };
}
