/**
 * Signed access requests of Secuchain's token-based access control (seed 004
 * §IV): a gateway or fog node serves sensitive data only to a request signed
 * by the holder of the current shift of an access token for that resource,
 * with an expiry no later than the shift's end. This module is the pure part:
 * the EIP-712 message (bound to the `AccessTokens` contract and chain), its
 * digest and signature, and `checkAccessRequest`, which judges a request
 * against facts already read from the chain (`AccessTokens.currentShift`) and
 * the verifier's own clock. No provider, no I/O.
 *
 * The request names the token it invokes (as well as the resource), so that
 * the verifier's chain read is one call and a revoked token is told apart
 * from a requester who never held one.
 */
import {
  computeAddress,
  getAddress,
  isAddress,
  recoverAddress,
  SigningKey,
  type TypedDataDomain,
  id as utf8Keccak,
} from "ethers";

import { AccessDeniedError, InvalidInputError } from "../errors.ts";
import { TOLERATED_SKEW_MS } from "./clock.ts";
import { Status } from "./registry.ts";
import { fromHex, type Hex, toHex } from "./bytes.ts";
import { type AccessRequestMessage, accessRequestTypedDigest } from "./eip712.ts";
import {
  encodeP256DeviceSignature,
  isCanonicalSecp256k1Signature,
  P256_SIGNATURE_BYTES,
  p256Sign,
  type P256Signer,
  verifyKeySignature,
} from "./p256.ts";

// The request's EIP-712 type and domain live with every other EIP-712 message.
export { ACCESS_DOMAIN_NAME, ACCESS_DOMAIN_VERSION, ACCESS_REQUEST_TYPES, accessDomain } from "./eip712.ts";

const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;

/** A request by `requester` to use `resource` through access token `token` (the message signed, `AccessRequestMessage`). */
export type AccessRequest = AccessRequestMessage;

/** A scope word from a purpose string, e.g. `"read:telemetry@fog/d7-1"` (keccak256 of its UTF-8). */
export function accessScope(purpose: string): Hex {
  if (typeof purpose !== "string" || purpose.length === 0) {
    throw new InvalidInputError("purpose must be a non-empty string", { value: purpose });
  }
  return utf8Keccak(purpose) as Hex;
}

/** The fields of a new request; the nonce defaults to 32 fresh random bytes. */
export interface AccessRequestInput {
  readonly token: bigint;
  readonly resource: Hex;
  readonly requester: string;
  readonly issuedAt: bigint;
  readonly expiresAt: bigint;
  readonly scope: Hex;
  readonly nonce?: Uint8Array;
}

/** A new, checked request (see `checkAccessRequestShape`). */
export function newAccessRequest(input: AccessRequestInput): AccessRequest {
  const nonce = input.nonce ?? crypto.getRandomValues(new Uint8Array(32));
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32) {
    throw new InvalidInputError("nonce must be 32 random bytes", { length: (nonce as Uint8Array).length });
  }
  return checkAccessRequestShape({
    token: input.token,
    resource: input.resource,
    requester: input.requester,
    nonce: toHex(nonce),
    issuedAt: input.issuedAt,
    expiresAt: input.expiresAt,
    scope: input.scope,
  });
}

/**
 * Checks every field of `request` (types, widths, a non-zero nonce, an expiry
 * after the issue time) and returns it normalised: lowercase hex words, a
 * checksummed requester. Throws `InvalidInputError` naming the field.
 */
export function checkAccessRequestShape(request: AccessRequest): AccessRequest {
  if (typeof request !== "object" || request === null) {
    throw new InvalidInputError("request must be an object", { value: String(request) });
  }
  const token = checkTokenId(request.token);
  const resource = checkWord32(request.resource, "resource");
  const requester = checkAccount(request.requester, "requester");
  const nonce = checkWord32(request.nonce, "nonce");
  if (/^0x0{64}$/.test(nonce)) throw new InvalidInputError("nonce must not be zero", { value: request.nonce });
  const issuedAt = checkUint64(request.issuedAt, "issuedAt");
  const expiresAt = checkUint64(request.expiresAt, "expiresAt");
  if (expiresAt <= issuedAt) {
    throw new InvalidInputError("expiresAt must be after issuedAt", { issuedAt, expiresAt });
  }
  const scope = checkWord32(request.scope, "scope");
  return { token, resource, requester, nonce, issuedAt, expiresAt, scope };
}

/** The digest the requester signs. */
export function accessRequestDigest(domain: TypedDataDomain, request: AccessRequest): Hex {
  return accessRequestTypedDigest(domain, checkAccessRequestShape(request));
}

/**
 * Signs `request` with `key` (a 32-byte private key or an ethers `SigningKey`),
 * which must be the requester's. Returns the 65-byte signature.
 */
export function signAccessRequest(key: SigningKey | Hex, domain: TypedDataDomain, request: AccessRequest): Hex {
  let signingKey: SigningKey;
  if (key instanceof SigningKey) {
    signingKey = key;
  } else {
    fromHex(key, "key", 32);
    try {
      signingKey = new SigningKey(key);
    } catch (cause) {
      throw new InvalidInputError("key is not a valid secp256k1 private key", { cause: String(cause) });
    }
  }
  const checked = checkAccessRequestShape(request);
  const signer = computeAddress(signingKey.publicKey);
  if (signer !== checked.requester) {
    throw new InvalidInputError("the key is not the requester's", { signer, requester: checked.requester });
  }
  return signingKey.sign(accessRequestDigest(domain, checked)).serialized as Hex;
}

/**
 * Signs `request` with a P-256 device key (a secure element) whose `p256Address` is the
 * requester. Returns the 128-byte signature `abi.encode(x, y, r, s)`.
 */
export async function signAccessRequestP256(
  key: P256Signer,
  domain: TypedDataDomain,
  request: AccessRequest,
): Promise<Hex> {
  const checked = checkAccessRequestShape(request);
  if (key.address.toLowerCase() !== checked.requester.toLowerCase()) {
    throw new InvalidInputError("the P-256 key is not the requester's", {
      signer: key.address,
      requester: checked.requester,
    });
  }
  return encodeP256DeviceSignature(key.publicKey, await p256Sign(key, accessRequestDigest(domain, checked)));
}

/** What a verifier read from the chain about the token (`AccessTokens.currentShift`). */
export interface ShiftFacts {
  /** The token's resource (zero: no such token). */
  readonly resource: Hex;
  /** The holder of the current shift (the zero address between shifts). */
  readonly holder: string;
  /** The current shift's start and end (seconds; zero between shifts). */
  readonly start: bigint;
  readonly end: bigint;
  /** True once the owner revoked the token. */
  readonly revoked: boolean;
  /**
   * The resource's registry status now (`AccessTokens.currentShift` reads it
   * live): a shift grants access only while the resource is Active.
   */
  readonly resourceStatus: Status;
}

/** How far a requester's clock may run ahead of the verifier's, and how long one request may live. */
export interface AccessPolicy {
  readonly maxSkewSeconds: bigint;
  readonly maxLifetimeSeconds: bigint;
}

/** The default skew is the tolerated skew of every clock comparison (`TOLERATED_SKEW_MS`). */
export const DEFAULT_ACCESS_POLICY: AccessPolicy = {
  maxSkewSeconds: BigInt(TOLERATED_SKEW_MS / 1000),
  maxLifetimeSeconds: 3_600n,
};

/**
 * The nonces a verifier has accepted (a `Set<string>` will do). A nonce needs
 * keeping only until its request's `expiresAt`: after that the request is
 * refused as expired anyway.
 */
export interface NonceCache {
  has(nonce: string): boolean;
  add(nonce: string): unknown;
}

/** What an accepted request entitles the requester to. */
export interface AccessGrant {
  readonly token: bigint;
  readonly resource: Hex;
  readonly holder: string;
  readonly scope: Hex;
  readonly nonce: Hex;
  /** Serve until then (the request's expiry, never after the shift's end). */
  readonly expiresAt: bigint;
  readonly shiftEnd: bigint;
}

/**
 * Judges a signed access request against the chain's facts and the verifier's
 * clock `now`. In order: the token's resource must be the request's
 * (`wrong-resource`) and its scope the verifier's, when `scope` is given
 * (`wrong-scope`); the request must be issued (`not-yet`, beyond the allowed
 * skew) and not expired (`expired`), and live at most `maxLifetimeSeconds`
 * (`too-long`); the signature must recover to the requester (`bad-signature`);
 * the token must not be revoked (`revoked`); the registry must have the
 * resource Active (`resource-inactive`: pending, suspended, blocked or
 * revoked in the registry, so its tokens grant nothing); the requester must hold its
 * current shift (`not-holder`), which must not have ended by `now` (`expired`)
 * and must have begun before the request was issued (`not-yet`); the request
 * must expire no later than the shift (`beyond-shift`); and its nonce must be
 * new to `seen` (`replay`), which then records it. Returns the grant; throws
 * `AccessDeniedError` with the reason, or `InvalidInputError` for a malformed
 * request.
 */
export function checkAccessRequest(args: {
  readonly domain: TypedDataDomain;
  readonly request: AccessRequest;
  readonly signature: Hex;
  readonly facts: ShiftFacts;
  readonly now: bigint;
  readonly scope?: Hex;
  readonly seen?: NonceCache;
  readonly policy?: AccessPolicy;
}): AccessGrant {
  const { domain, facts, now, seen } = args;
  const policy = args.policy ?? DEFAULT_ACCESS_POLICY;
  const request = checkAccessRequestShape(args.request);
  checkUint64(now, "now");
  const resource = checkWord32(facts.resource, "facts.resource");
  const token = request.token;

  if (resource !== request.resource) {
    throw new AccessDeniedError("wrong-resource", "the token is not an access right to this resource", {
      token,
      requested: request.resource,
      tokenResource: resource,
    });
  }
  if (args.scope !== undefined && checkWord32(args.scope, "scope") !== request.scope) {
    throw new AccessDeniedError("wrong-scope", "the request is for another purpose or verifier", {
      expected: args.scope,
      requested: request.scope,
    });
  }
  if (request.issuedAt > now + policy.maxSkewSeconds) {
    throw new AccessDeniedError("not-yet", "the request is dated in the future", { issuedAt: request.issuedAt, now });
  }
  if (request.expiresAt <= now) {
    throw new AccessDeniedError("expired", "the request has expired", { expiresAt: request.expiresAt, now });
  }
  if (request.expiresAt - request.issuedAt > policy.maxLifetimeSeconds) {
    throw new AccessDeniedError("too-long", "the request lives longer than the verifier allows", {
      lifetime: request.expiresAt - request.issuedAt,
      maxLifetime: policy.maxLifetimeSeconds,
    });
  }
  if (typeof args.signature === "string" && (args.signature.length - 2) / 2 === P256_SIGNATURE_BYTES) {
    // A P-256 requester (a secure element): the requester account is the key's `p256Address`.
    if (!verifyKeySignature(request.requester, accessRequestDigest(domain, request), args.signature)) {
      throw new AccessDeniedError("bad-signature", "the P-256 signature is not the requester's", {
        requester: request.requester,
      });
    }
  } else {
    if (!isCanonicalSecp256k1Signature(args.signature)) {
      throw new AccessDeniedError("bad-signature", "the signature is malformed (65 bytes, s ≤ n/2, v 27 or 28)", {
        signature: args.signature,
      });
    }
    let recovered: string;
    try {
      recovered = recoverAddress(accessRequestDigest(domain, request), args.signature);
    } catch (cause) {
      throw new AccessDeniedError("bad-signature", "the signature is malformed", {
        signature: args.signature,
        cause: String(cause),
      });
    }
    if (recovered !== request.requester) {
      throw new AccessDeniedError("bad-signature", "the signature is not the requester's", {
        recovered,
        requester: request.requester,
      });
    }
  }
  if (facts.revoked) {
    throw new AccessDeniedError("revoked", "the owner revoked the token", { token });
  }
  if (facts.resourceStatus !== Status.Active) {
    throw new AccessDeniedError("resource-inactive", "the registry does not have the resource Active", {
      token,
      resource,
      status: facts.resourceStatus,
    });
  }
  const holder = isAddress(facts.holder) ? getAddress(facts.holder) : undefined;
  if (holder === undefined || holder !== request.requester) {
    throw new AccessDeniedError("not-holder", "the requester does not hold the token's current shift", {
      token,
      requester: request.requester,
      holder: facts.holder,
    });
  }
  if (facts.end <= now) {
    throw new AccessDeniedError("expired", "the requester's shift has ended", { shiftEnd: facts.end, now });
  }
  if (request.issuedAt + policy.maxSkewSeconds < facts.start) {
    throw new AccessDeniedError("not-yet", "the request was issued before the requester's shift began", {
      issuedAt: request.issuedAt,
      shiftStart: facts.start,
    });
  }
  if (request.expiresAt > facts.end) {
    throw new AccessDeniedError("beyond-shift", "the request outlives the requester's shift", {
      expiresAt: request.expiresAt,
      shiftEnd: facts.end,
    });
  }
  if (seen !== undefined) {
    if (seen.has(request.nonce)) {
      throw new AccessDeniedError("replay", "the request was already served", { nonce: request.nonce });
    }
    seen.add(request.nonce);
  }
  return {
    token,
    resource,
    holder,
    scope: request.scope,
    nonce: request.nonce,
    expiresAt: request.expiresAt,
    shiftEnd: facts.end,
  };
}

// ------------------------------------------------------------------ checks

/** A token id: a bigint in [1, 2^256 - 1]. */
export function checkTokenId(value: bigint, what = "token"): bigint {
  if (typeof value !== "bigint" || value < 1n || value > MAX_UINT256) {
    throw new InvalidInputError(`${what} must be a bigint in [1, 2^256 - 1]`, { value: String(value) });
  }
  return value;
}

/** An account: a 20-byte address, returned checksummed. */
export function checkAccount(value: string, what: string): string {
  if (typeof value !== "string" || !value.startsWith("0x") || !isAddress(value)) {
    throw new InvalidInputError(`${what} must be a 0x-prefixed 20-byte address`, { value: String(value) });
  }
  return getAddress(value);
}

function checkWord32(value: string, what: string): Hex {
  return toHex(fromHex(value, what, 32));
}

function checkUint64(value: bigint, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT64) {
    throw new InvalidInputError(`${what} must be a bigint in [0, 2^64 - 1]`, { value: String(value) });
  }
  return value;
}
