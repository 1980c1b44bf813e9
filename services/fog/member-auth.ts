/**
 * Authenticated calls between the members of a fog cluster (seed 004's "sign share" round over
 * HTTP): a member's request carries its index, the receiving member's index, a time, a random
 * nonce and a BLS signature by its share of the cluster key over those and the request's route and
 * body, under a domain of its own (never a batch message, so it can sign nothing the chain takes).
 * A member checks it against the sender's public key share (from the cluster's commitments) before
 * any other work: an index that is not a known member, a request addressed to another member
 * (`wrong-verifier`: a captured request does not replay to the other members, whose nonce caches
 * are their own), a bad signature, a time out of the window or a nonce seen before is refused with
 * a `PeerAuthenticationError` (HTTP 401).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import { Writer } from "../../sdk/core/codec.ts";
import type { Commitments, KeyShare, ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { PeerAuthenticationError } from "../../sdk/errors.ts";

/** The signature domain of member requests. */
export const DST_FOG_MEMBER_REQUEST = "STRATA-V01-CS01-FOG-MEMBER-REQUEST_BLS12381G1_XMD:SHA-256_SSWU_RO_";
const DOMAIN = utf8ToBytes("STRATA-FOG-v1 member request");

/** How far a request's time may be from the receiver's clock. */
export const MEMBER_REQUEST_WINDOW_MS = 60_000;

/** What a member's request carries beside its payload. */
export interface MemberAuth {
  readonly member: number;
  /** The receiving member's index. */
  readonly to: number;
  /** Unix ms. */
  readonly time: number;
  /** 16 random bytes, hex. */
  readonly nonce: Hex;
  /** Compressed G1, hex. */
  readonly signature: Hex;
}

/** A signed request body: `{ auth, payload }`. */
export interface SignedRequest<P> {
  readonly auth: MemberAuth;
  readonly payload: P;
}

/** The JSON schema of `auth` (fastify checks it before any pairing). */
export const AUTH_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["member", "to", "time", "nonce", "signature"],
  properties: {
    member: { type: "integer", minimum: 1, maximum: 255 },
    to: { type: "integer", minimum: 1, maximum: 255 },
    time: { type: "integer", minimum: 0 },
    nonce: { type: "string", pattern: "^0x[0-9a-f]{32}$" },
    signature: { type: "string", pattern: "^0x[0-9a-f]{96}$" },
  },
} as const;

function message(cluster: Hex, route: string, auth: Omit<MemberAuth, "signature">, payload: unknown): Uint8Array {
  const body = sha256(concat(utf8ToBytes(route), Uint8Array.of(0), utf8ToBytes(JSON.stringify(payload))));
  return concat(
    DOMAIN,
    fromHex(cluster, "cluster", 32),
    new Writer(20).u32(auth.member).u32(auth.to).u64(auth.time).finish(),
    fromHex(auth.nonce, "nonce", 16),
    body,
  );
}

/** Signs `payload` for `route` on member `to` as member `share.index` of `cluster`. */
export function signMemberRequest<P>(
  scheme: ThresholdScheme,
  share: KeyShare,
  cluster: Hex,
  to: number,
  route: string,
  payload: P,
  now: number = Date.now(),
): SignedRequest<P> {
  const unsigned = { member: share.index, to, time: now, nonce: toHex(crypto.getRandomValues(new Uint8Array(16))) };
  const partial = scheme.partialSign(share, message(cluster, route, unsigned, payload), DST_FOG_MEMBER_REQUEST);
  return { auth: { ...unsigned, signature: toHex(scheme.backend.g1.toBytes(partial.signature)) }, payload };
}

/** Checks member requests to one member (`self`): known senders, receiver, signatures, freshness, nonces. */
export class MemberRequestVerifier {
  readonly #scheme: ThresholdScheme;
  readonly #self: number;
  readonly #commitments: Commitments;
  readonly #cluster: Hex;
  readonly #members: ReadonlySet<number>;
  readonly #clock: () => number;
  readonly #seen = new Map<string, number>();

  constructor(
    scheme: ThresholdScheme,
    commitments: Commitments,
    cluster: Hex,
    self: number,
    members: Iterable<number>,
    clock: () => number = Date.now,
  ) {
    this.#scheme = scheme;
    this.#self = self;
    this.#commitments = commitments;
    this.#cluster = cluster;
    this.#members = new Set(members);
    this.#clock = clock;
  }

  /** The sender's index, or a `PeerAuthenticationError`. */
  verify(route: string, request: SignedRequest<unknown>): number {
    const { auth } = request;
    if (!this.#members.has(auth.member)) {
      throw new PeerAuthenticationError("unknown-device", `member ${auth.member} is not a peer of this node`, {
        member: auth.member,
      });
    }
    if (auth.to !== this.#self) {
      throw new PeerAuthenticationError("wrong-verifier", `the request is for member ${auth.to}, not ${this.#self}`, {
        member: auth.member,
        to: auth.to,
      });
    }
    const now = this.#clock();
    if (auth.time < now - MEMBER_REQUEST_WINDOW_MS) {
      throw new PeerAuthenticationError("stale-challenge", "the request is too old", { member: auth.member });
    }
    if (auth.time > now + MEMBER_REQUEST_WINDOW_MS) {
      throw new PeerAuthenticationError("future-challenge", "the request is dated in the future", {
        member: auth.member,
      });
    }
    const { g1 } = this.#scheme.backend;
    let ok: boolean;
    try {
      const signature = g1.fromBytes(fromHex(auth.signature, "signature", 48));
      const unsigned = { member: auth.member, to: auth.to, time: auth.time, nonce: auth.nonce };
      ok = this.#scheme.verifyPartial(
        this.#commitments,
        message(this.#cluster, route, unsigned, request.payload),
        { index: auth.member, signature },
        DST_FOG_MEMBER_REQUEST,
      );
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new PeerAuthenticationError("bad-signature", "the request is not signed by the member's key share", {
        member: auth.member,
      });
    }
    for (const [n, until] of this.#seen) if (until < now) this.#seen.delete(n);
    const key = `${auth.member}:${auth.nonce}`;
    if (this.#seen.has(key)) {
      throw new PeerAuthenticationError("challenge-mismatch", "the request was seen before (a replay)", {
        member: auth.member,
      });
    }
    this.#seen.set(key, auth.time + 2 * MEMBER_REQUEST_WINDOW_MS);
    return auth.member;
  }
}
