/**
 * Seed 000, "Authentication": a node entering a base station's area and the BS
 * authenticate each other with identity-based signatures and agree on a
 * session key by identity-based encryption.
 *
 *   node -> BS   AuthRequest  {node, bs, time, nonceN, tip, IBS_node(...)}      node: 1 asymmetric op (sign)
 *   BS -> node   AuthResponse {bs, node, time, nonceN, nonceB, session id,
 *                              expiry, tip to extend, IBE(node) encapsulation,
 *                              H(request), IBS_bs(...)}                         node: 2 more (verify, decapsulate)
 *
 * The node does three asymmetric operations per entry and nothing but
 * AES-GCM/HKDF/SHA-256 afterwards. Freshness: both timestamps must be within the
 * clock skew, the response echoes the node's nonce and hashes the request (so
 * it answers this request and no other), and the BS remembers nonces for the
 * skew window (`ReplayGuard`, sdk/core/replay.ts), so a replayed request is refused; and a station
 * refuses a request dated at or before the node's latest entry it knows of
 * (`checkLaterEntry`), so a request that was used, or overtaken by a newer one,
 * cannot be played to any station later. The session key
 * is HKDF of the KEM secret with both nonces and the transcript, split into one
 * key per direction.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, equalBytes, fromHex, type Hex, toHex } from "../bytes.ts";
import { hkdf as hkdfSha256 } from "../crypto/aead.ts";
import { BonehFranklinKem, ENCAPSULATION_BYTES } from "../crypto/ibe.ts";
import { ProtocolError } from "../../errors.ts";
import { checkFresh } from "../clock.ts";
import { expectTag, Reader, Writer } from "../codec.ts";
import { encryptionIdentity, type NbiotParams, type NodeKeys, type StationKeys } from "./params.ts";
import { SIGNATURE_BYTES, signBody, verifyBody } from "./signing.ts";

// Moved to `bytes.ts` (the bundle verifier needs it without this module); exported here as before.
export { equalBytes } from "../bytes.ts";

export const NONCE_BYTES = 16;
export const SESSION_ID_BYTES = 16;
export { checkFresh };

const TAG_REQUEST = 0x01;
const TAG_RESPONSE = 0x02;
const DOMAIN_REQUEST = utf8ToBytes("STRATA-NBIOT-v1 auth request");
const DOMAIN_RESPONSE = utf8ToBytes("STRATA-NBIOT-v1 auth response");

/** The last block of a node's flow chain: which BS made it, its sequence number and hash. */
export interface ChainTip {
  readonly bs: Hex;
  readonly seq: number;
  readonly hash: Uint8Array;
  /**
   * The station holding the flow when it is not the block's maker: a node that
   * crossed a station without sending took the flow there, so the next station
   * must ask that one (which hands the same tip on).
   */
  readonly holder?: Hex;
}

export interface AuthRequest {
  readonly node: Hex;
  readonly bs: Hex;
  readonly time: number;
  readonly nonce: Uint8Array;
  /** The tip of the node's chain as its last receipt says, if it has one. */
  readonly tip: ChainTip | undefined;
  /** The encoded request (what the response hashes). */
  readonly bytes: Uint8Array;
}

export interface AuthResponse {
  readonly bs: Hex;
  readonly node: Hex;
  readonly time: number;
  readonly nodeNonce: Uint8Array;
  readonly bsNonce: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly expiresAt: number;
  /** The block the BS will chain the next one to (seq 0: a foundation block comes next). */
  readonly tip: ChainTip | undefined;
  readonly encapsulation: Uint8Array;
  readonly requestDigest: Uint8Array;
  readonly bytes: Uint8Array;
}

/** The secret both ends hold after the handshake. */
export interface SessionSecret {
  readonly sessionId: Uint8Array;
  readonly node: Hex;
  readonly bs: Hex;
  /** 32 bytes; `sessionKeys` splits it per direction. */
  readonly root: Uint8Array;
  readonly expiresAt: number;
  /** When the handshake that started this line of renewals happened. */
  readonly establishedAt: number;
}

function writeTip(w: Writer, tip: ChainTip | undefined): void {
  if (tip === undefined) {
    w.u8(0);
    return;
  }
  w.u8(1)
    .fixed(fromHex(tip.bs, "tip.bs", 32), 32)
    .u64(tip.seq)
    .fixed(tip.hash, 32)
    .fixed(fromHex(tip.holder ?? tip.bs, "tip.holder", 32), 32);
}

function readTip(r: Reader): ChainTip | undefined {
  const has = r.u8("tip flag");
  if (has === 0) return undefined;
  if (has !== 1) throw new ProtocolError("malformed", "tip flag must be 0 or 1", { has });
  const bs = toHex(r.fixed(32, "tip.bs"));
  const seq = r.u64("tip.seq");
  const hash = r.fixed(32, "tip.hash").slice();
  const holder = toHex(r.fixed(32, "tip.holder"));
  if (seq === 0) throw new ProtocolError("malformed", "a tip's sequence number starts at 1");
  return holder === bs ? { bs, seq, hash } : { bs, seq, hash, holder };
}

/**
 * Station: a node's entries (authentications and handovers) follow the node's
 * own clock, so a request dated at or before the latest entry of that node the
 * station knows of — one it answered, one a handover it answered or made
 * carried — was used already or was overtaken by a newer one. Such a request
 * is a replay, whichever station it was addressed to: a station that kept a
 * node's old request cannot use it to pull the flow back once the node has
 * moved on.
 */
export function checkLaterEntry(
  request: { readonly node: Hex; readonly time: number },
  latest: number | undefined,
): void {
  if (latest !== undefined && request.time <= latest) {
    throw new ProtocolError("replay", "the node's request is not later than its latest entry", {
      node: request.node,
      time: request.time,
      latest,
    });
  }
}

/** Node: the signed request to enter `bs`'s area (one IBS signature). */
export function makeAuthRequest(
  params: NbiotParams,
  keys: NodeKeys,
  bs: Hex,
  now: number,
  tip: ChainTip | undefined,
  counter: OpCounter,
): AuthRequest {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const w = new Writer(400)
    .u8(TAG_REQUEST)
    .fixed(fromHex(keys.id, "node", 32), 32)
    .fixed(fromHex(bs, "bs", 32), 32)
    .u64(now)
    .fixed(nonce, NONCE_BYTES);
  writeTip(w, tip);
  const body = w.finish();
  counter.asymmetricOps++;
  const sig = signBody(params, keys, now, DOMAIN_REQUEST, body);
  const bytes = concat(body, sig);
  return { node: keys.id, bs: bs.toLowerCase() as Hex, time: now, nonce, tip, bytes };
}

/** Decodes a request without checking it (the BS checks with `checkAuthRequest`). */
export function decodeAuthRequest(
  bytes: Uint8Array,
): AuthRequest & { readonly body: Uint8Array; readonly sig: Uint8Array } {
  const r = new Reader(bytes, "auth request");
  expectTag(r, TAG_REQUEST, "auth request");
  const node = toHex(r.fixed(32, "node"));
  const bs = toHex(r.fixed(32, "bs"));
  const time = r.u64("time");
  const nonce = r.fixed(NONCE_BYTES, "nonce").slice();
  const tip = readTip(r);
  const body = r.consumed().slice();
  const sig = r.fixed(SIGNATURE_BYTES, "signature").slice();
  r.end();
  return { node, bs, time, nonce, tip, bytes: bytes.slice(), body, sig };
}

/**
 * BS: decodes a request meant for `self`, fresh, and signed by the node it
 * names. Whether it was seen before is the station's `ReplayGuard` and
 * `checkLaterEntry`, both kept in its store across restarts.
 */
export function checkAuthRequest(params: NbiotParams, self: Hex, bytes: Uint8Array, now: number): AuthRequest {
  const req = decodeAuthRequest(bytes);
  if (req.bs !== self.toLowerCase()) {
    throw new ProtocolError("wrong-peer", "the request is addressed to another base station", { to: req.bs, self });
  }
  checkFresh(req.time, now, params.timing.clockSkewMs, "request");
  verifyBody(params, "node", req.node, req.time, DOMAIN_REQUEST, req.body, req.sig, "the request");
  return req;
}

/** BS: the signed response carrying an IBE encapsulation of the session secret to the node. */
export function makeAuthResponse(
  params: NbiotParams,
  keys: StationKeys,
  request: AuthRequest,
  now: number,
  tip: ChainTip | undefined,
): { response: AuthResponse; secret: SessionSecret } {
  const kem = new BonehFranklinKem(params.backend);
  const { encapsulation, key } = kem.encapsulate(params.masterPublic, encryptionIdentity(request.node));
  const bsNonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const sessionId = crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES));
  const expiresAt = now + params.timing.sessionLifetimeMs;
  const requestDigest = sha256(request.bytes);
  const w = new Writer(512)
    .u8(TAG_RESPONSE)
    .fixed(fromHex(keys.id, "bs", 32), 32)
    .fixed(fromHex(request.node, "node", 32), 32)
    .u64(now)
    .fixed(request.nonce, NONCE_BYTES)
    .fixed(bsNonce, NONCE_BYTES)
    .fixed(sessionId, SESSION_ID_BYTES)
    .u64(expiresAt);
  writeTip(w, tip);
  w.fixed(encapsulation, ENCAPSULATION_BYTES).fixed(requestDigest, 32);
  const body = w.finish();
  const sig = signBody(params, keys, now, DOMAIN_RESPONSE, body);
  const bytes = concat(body, sig);
  const response: AuthResponse = {
    bs: keys.id,
    node: request.node,
    time: now,
    nodeNonce: request.nonce,
    bsNonce,
    sessionId,
    expiresAt,
    tip,
    encapsulation,
    requestDigest,
    bytes,
  };
  return { response, secret: deriveSecret(key, request, response, now) };
}

function decodeAuthResponse(bytes: Uint8Array): AuthResponse & { readonly body: Uint8Array; readonly sig: Uint8Array } {
  const r = new Reader(bytes, "auth response");
  expectTag(r, TAG_RESPONSE, "auth response");
  const bs = toHex(r.fixed(32, "bs"));
  const node = toHex(r.fixed(32, "node"));
  const time = r.u64("time");
  const nodeNonce = r.fixed(NONCE_BYTES, "node nonce").slice();
  const bsNonce = r.fixed(NONCE_BYTES, "bs nonce").slice();
  const sessionId = r.fixed(SESSION_ID_BYTES, "session id").slice();
  const expiresAt = r.u64("expiresAt");
  const tip = readTip(r);
  const encapsulation = r.fixed(ENCAPSULATION_BYTES, "encapsulation").slice();
  const requestDigest = r.fixed(32, "request digest").slice();
  const body = r.consumed().slice();
  const sig = r.fixed(SIGNATURE_BYTES, "signature").slice();
  r.end();
  return {
    bs,
    node,
    time,
    nodeNonce,
    bsNonce,
    sessionId,
    expiresAt,
    tip,
    encapsulation,
    requestDigest,
    bytes: bytes.slice(),
    body,
    sig,
  };
}

/** Counts the asymmetric operations a role performs (seed 000's efficiency claim). */
export interface OpCounter {
  asymmetricOps: number;
}

/**
 * Node: checks the BS's response to `request` (signature: 1 op) and opens the
 * encapsulation (1 op). Refuses a response to another request, from another
 * BS, stale, or whose encapsulation was altered.
 */
export function acceptAuthResponse(
  params: NbiotParams,
  keys: NodeKeys,
  request: AuthRequest,
  bytes: Uint8Array,
  now: number,
  counter: OpCounter,
): { response: AuthResponse; secret: SessionSecret } {
  const res = decodeAuthResponse(bytes);
  if (res.node !== keys.id.toLowerCase() || res.bs !== request.bs) {
    throw new ProtocolError("wrong-peer", "the response is not for this node from this base station", {
      node: res.node,
      bs: res.bs,
    });
  }
  if (!equalBytes(res.nodeNonce, request.nonce) || !equalBytes(res.requestDigest, sha256(request.bytes))) {
    throw new ProtocolError("replay", "the response answers another request");
  }
  checkFresh(res.time, now, params.timing.clockSkewMs, "response");
  if (res.expiresAt <= now) throw new ProtocolError("stale-session", "the offered session has already expired");
  counter.asymmetricOps++;
  verifyBody(params, "station", res.bs, res.time, DOMAIN_RESPONSE, res.body, res.sig, "the response");
  counter.asymmetricOps++;
  let key: Uint8Array;
  try {
    key = new BonehFranklinKem(params.backend).decapsulate(
      encryptionIdentity(keys.id),
      keys.decryptKey,
      res.encapsulation,
    );
  } catch (cause) {
    throw new ProtocolError("tampered", "the session key encapsulation does not open", { cause: String(cause) });
  }
  return { response: res, secret: deriveSecret(key, request, res, now) };
}

const SECRET_INFO = utf8ToBytes("STRATA-NBIOT-v1 session secret");

function deriveSecret(kemKey: Uint8Array, request: AuthRequest, response: AuthResponse, now: number): SessionSecret {
  const transcript = sha256(concat(request.bytes, response.bytes.subarray(0, response.bytes.length - SIGNATURE_BYTES)));
  const root = hkdfSha256(kemKey, concat(request.nonce, response.bsNonce), concat(SECRET_INFO, transcript));
  return {
    sessionId: response.sessionId,
    node: request.node,
    bs: response.bs,
    root,
    expiresAt: response.expiresAt,
    establishedAt: now,
  };
}
