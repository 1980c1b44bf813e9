/**
 * Seed 000, "Blockchain generation" when a node moves from BS1 to BS2: BS2 has
 * authenticated the node and sees that the latest block of its flow was made
 * by BS1. BS2 asks BS1 with a signed `HandoverRequest` that carries the node's
 * own signed request to BS2 (so no station can take a flow the node did not
 * bring it); BS1 checks both signatures (and, in the runtime, that BS2 is a
 * registered, active base station), then confirms the tip of the flow with a
 * signed `HandoverRecord` echoing BS2's nonce. A station that held the flow
 * without extending it (the node crossed its area silently) hands the same
 * tip on and includes the record it got it by, so the chain of records always
 * leads back to the station that made the tip block. BS2 checks BS1's signature and registration and chains
 * its next block to that tip. The two signatures are the mutual
 * authentication of the two stations; the echoed nonce and the timestamp make
 * a record good for one request only, so a replayed record is refused; the
 * record is kept with BS2's blocks so an application can verify the link
 * across stations later.
 */
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, fromHex, type Hex, toHex } from "../bytes.ts";
import { ProtocolError } from "../../errors.ts";
import { expectTag, Reader, Writer } from "../codec.ts";
import { checkFresh, checkNotAhead } from "../clock.ts";
import { type AuthRequest, checkAuthRequest, equalBytes, NONCE_BYTES } from "./handshake.ts";
import { type NbiotParams, type StationKeys } from "./params.ts";
import { SIGNATURE_BYTES, signBody, verifyBody } from "./signing.ts";

const TAG_REQUEST = 0x10;
const TAG_RECORD = 0x11;
const DOMAIN_REQUEST = utf8ToBytes("STRATA-NBIOT-v1 handover request");
const DOMAIN_RECORD = utf8ToBytes("STRATA-NBIOT-v1 handover record");

export interface HandoverRequest {
  /** The station that holds the tip (BS1). */
  readonly from: Hex;
  /** The station taking the flow over (BS2). */
  readonly to: Hex;
  readonly node: Hex;
  /** The tip the node claims (from its last receipt); seq 0 when it claims none. */
  readonly claimedSeq: number;
  readonly claimedHash: Uint8Array;
  /** The node's own signed authentication request to BS2: proof that the node is at BS2. */
  readonly nodeRequest: Uint8Array;
  /** The time on the node's request (the node's clock). */
  readonly nodeTime: number;
  readonly time: number;
  readonly nonce: Uint8Array;
  readonly bytes: Uint8Array;
}

export interface HandoverRecord {
  readonly from: Hex;
  readonly to: Hex;
  readonly node: Hex;
  readonly tipSeq: number;
  readonly tipHash: Uint8Array;
  readonly tipTime: number;
  readonly requestNonce: Uint8Array;
  readonly time: number;
  /** The record that brought the tip to `from`, when `from` did not make the tip block itself. */
  readonly prior: HandoverRecord | undefined;
  /** The station that made the tip block (the innermost record's `from`). */
  readonly origin: Hex;
  readonly bytes: Uint8Array;
}

/**
 * BS2: asks `from` for the tip of the flow of the node whose request
 * `nodeRequest` (checked, addressed to BS2) is.
 */
export function makeHandoverRequest(
  params: NbiotParams,
  keys: StationKeys,
  from: Hex,
  nodeRequest: AuthRequest,
  now: number,
): HandoverRequest {
  if (nodeRequest.bs !== keys.id) {
    throw new ProtocolError("wrong-peer", "a handover needs the node's request to the station taking over", {
      addressedTo: nodeRequest.bs,
    });
  }
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const body = new Writer(600)
    .u8(TAG_REQUEST)
    .fixed(fromHex(from, "from", 32), 32)
    .fixed(fromHex(keys.id, "to", 32), 32)
    .bytes(nodeRequest.bytes)
    .u64(now)
    .fixed(nonce, NONCE_BYTES)
    .finish();
  const bytes = concat(body, signBody(params, keys, now, DOMAIN_REQUEST, body));
  return {
    from: from.toLowerCase() as Hex,
    to: keys.id,
    node: nodeRequest.node,
    claimedSeq: nodeRequest.tip?.seq ?? 0,
    claimedHash: nodeRequest.tip?.hash ?? new Uint8Array(32),
    nodeRequest: nodeRequest.bytes,
    nodeTime: nodeRequest.time,
    time: now,
    nonce,
    bytes,
  };
}

/**
 * BS1: decodes a request addressed to `self`, fresh, signed by the station it
 * names as `to`, and carrying the node's own fresh request to that station.
 */
export function checkHandoverRequest(params: NbiotParams, self: Hex, bytes: Uint8Array, now: number): HandoverRequest {
  const r = new Reader(bytes, "handover request");
  expectTag(r, TAG_REQUEST, "handover request");
  const from = toHex(r.fixed(32, "from"));
  const to = toHex(r.fixed(32, "to"));
  const nodeRequestBytes = r.bytes("node request", 1024).slice();
  const time = r.u64("time");
  const nonce = r.fixed(NONCE_BYTES, "nonce").slice();
  const body = r.consumed().slice();
  const sig = r.fixed(SIGNATURE_BYTES, "signature");
  r.end();
  if (from !== self.toLowerCase()) {
    throw new ProtocolError("wrong-peer", "the handover request is addressed to another station", { from, self });
  }
  if (to === from) throw new ProtocolError("wrong-peer", "a station cannot hand a flow over to itself");
  checkFresh(time, now, params.timing.clockSkewMs, "handover request");
  verifyBody(params, "station", to, time, DOMAIN_REQUEST, body, sig, "the handover request");
  const nodeRequest = checkAuthRequest(params, to, nodeRequestBytes, now);
  return {
    from,
    to,
    node: nodeRequest.node,
    claimedSeq: nodeRequest.tip?.seq ?? 0,
    claimedHash: nodeRequest.tip?.hash ?? new Uint8Array(32),
    nodeRequest: nodeRequestBytes,
    nodeTime: nodeRequest.time,
    time,
    nonce,
    bytes: bytes.slice(),
  };
}

/** BS1: confirms its tip of the flow to the requesting station (with the record it got the tip by, if any). */
export function makeHandoverRecord(
  params: NbiotParams,
  keys: StationKeys,
  request: HandoverRequest,
  tip: { readonly seq: number; readonly hash: Uint8Array; readonly time: number },
  prior: Uint8Array | undefined,
  now: number,
): HandoverRecord {
  // the taking station would date its next block after this tip: refused while the tip lies in its future
  checkNotAhead(tip.time, request.time, params.timing.clockSkewMs, "the tip of the flow");
  const body = new Writer(400)
    .u8(TAG_RECORD)
    .fixed(fromHex(keys.id, "from", 32), 32)
    .fixed(fromHex(request.to, "to", 32), 32)
    .fixed(fromHex(request.node, "node", 32), 32)
    .u64(tip.seq)
    .fixed(tip.hash, 32)
    .u64(tip.time)
    .fixed(request.nonce, NONCE_BYTES)
    .u64(now)
    .bytes(prior ?? new Uint8Array())
    .finish();
  return verifyHandoverRecord(params, concat(body, signBody(params, keys, now, DOMAIN_RECORD, body)));
}

const MAX_PRIORS = 64;

/** Anyone: decodes a record, checks the signature of the station it names as `from` and its prior records. */
export function verifyHandoverRecord(params: NbiotParams, bytes: Uint8Array, depth = 0): HandoverRecord {
  if (depth > MAX_PRIORS) throw new ProtocolError("malformed", "too many nested handover records");
  const r = new Reader(bytes, "handover record");
  expectTag(r, TAG_RECORD, "handover record");
  const from = toHex(r.fixed(32, "from"));
  const to = toHex(r.fixed(32, "to"));
  const node = toHex(r.fixed(32, "node"));
  const tipSeq = r.u64("tip seq");
  const tipHash = r.fixed(32, "tip hash").slice();
  const tipTime = r.u64("tip time");
  const requestNonce = r.fixed(NONCE_BYTES, "request nonce").slice();
  const time = r.u64("time");
  const priorBytes = r.bytes("prior record", 64 * 1024);
  const body = r.consumed().slice();
  const sig = r.fixed(SIGNATURE_BYTES, "signature");
  r.end();
  if (tipSeq === 0) throw new ProtocolError("malformed", "a handed-over tip has a sequence number from 1");
  verifyBody(params, "station", from, time, DOMAIN_RECORD, body, sig, "the handover record");
  let prior: HandoverRecord | undefined;
  if (priorBytes.length > 0) {
    prior = verifyHandoverRecord(params, priorBytes, depth + 1);
    if (
      prior.to !== from ||
      prior.node !== node ||
      prior.tipSeq !== tipSeq ||
      !equalBytes(prior.tipHash, tipHash) ||
      prior.tipTime !== tipTime
    ) {
      throw new ProtocolError("broken-link", "a handover record's prior record does not bring the same tip to it");
    }
  }
  return {
    from,
    to,
    node,
    tipSeq,
    tipHash,
    tipTime,
    requestNonce,
    time,
    prior,
    origin: prior?.origin ?? from,
    bytes: bytes.slice(),
  };
}

/**
 * BS2: checks the record answers `request` — from the station asked, to us, for
 * the node asked, echoing our nonce, fresh, signed — and that the node's claimed
 * tip is on the confirmed chain (not ahead of it, not a different block).
 */
export function checkHandoverRecord(
  params: NbiotParams,
  request: HandoverRequest,
  bytes: Uint8Array,
  now: number,
): HandoverRecord {
  const rec = verifyHandoverRecord(params, bytes);
  if (rec.from !== request.from || rec.to !== request.to || rec.node !== request.node) {
    throw new ProtocolError("wrong-peer", "the handover record is not the answer to our request", {
      from: rec.from,
      to: rec.to,
      node: rec.node,
    });
  }
  if (!equalBytes(rec.requestNonce, request.nonce)) {
    throw new ProtocolError("replay", "the handover record answers another request");
  }
  checkFresh(rec.time, now, params.timing.clockSkewMs, "handover record");
  // a tip dated in our future would date our next block there too (a chain's times never run
  // back), and a batch holding it could not be verified against its anchor: refused, not clamped
  checkNotAhead(rec.tipTime, now, params.timing.clockSkewMs, "the handed-over tip");
  if (
    request.claimedSeq > rec.tipSeq ||
    (request.claimedSeq === rec.tipSeq && !equalBytes(request.claimedHash, rec.tipHash))
  ) {
    throw new ProtocolError("forged-tip", "the node's claimed tip is not on the chain its last station confirms", {
      claimed: request.claimedSeq,
      confirmed: rec.tipSeq,
    });
  }
  return rec;
}
