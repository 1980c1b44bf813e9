/**
 * Peer authentication without a central arbiter (seed 002): a verifier sends a
 * fresh random challenge; the prover's device key signs it (EIP-712, bound to
 * the registry's chain and address); the verifier recovers the signer and
 * compares it with the key the registry holds for the prover, and checks the
 * prover is Active. This module is the pure part: building challenges and
 * judging a response against a record already read from the chain.
 */
import { type TypedDataDomain, recoverAddress } from "ethers";

import { InvalidInputError, PeerAuthenticationError } from "../errors.ts";
import { fromHex, type Hex, toHex } from "./bytes.ts";
import { type PeerChallenge, peerChallengeDigest } from "./eip712.ts";
import { isCanonicalSecp256k1Signature, P256_SIGNATURE_BYTES, verifyKeySignature } from "./p256.ts";
import { STATUS_NAMES, Status } from "./registry.ts";

/**
 * How long a challenge stays acceptable, and how far a prover's clock may run ahead. This is the
 * peer-authentication protocol's own policy (seed 002: a challenge answered at once, in seconds),
 * deliberately separate from `TOLERATED_SKEW_MS` (`sdk/core/clock.ts`), the skew the NB-IoT data
 * path and the chain's clock checks tolerate: `DEFAULT_FRESHNESS` keeps its tighter 5 s.
 */
export interface FreshnessPolicy {
  readonly maxAgeSeconds: bigint;
  readonly maxSkewSeconds: bigint;
}

export const DEFAULT_FRESHNESS: FreshnessPolicy = { maxAgeSeconds: 120n, maxSkewSeconds: 5n };

/** A new challenge; `nonce` must be 32 fresh random bytes (e.g. `crypto.getRandomValues`). */
export function newChallenge(prover: Hex, verifier: Hex, nonce: Uint8Array, issuedAt: bigint): PeerChallenge {
  fromHex(prover, "prover", 32);
  fromHex(verifier, "verifier", 32);
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32) {
    throw new InvalidInputError("challenge nonce must be 32 random bytes");
  }
  if (nonce.every((b) => b === 0)) throw new InvalidInputError("challenge nonce must not be all zero");
  return { prover, verifier, nonce: toHex(nonce), issuedAt };
}

/** What the verifier read from the registry about the prover. */
export interface ProverState {
  readonly key: string;
  readonly status: Status;
}

/**
 * Judges a response. Returns the recovered key on success; throws a
 * `PeerAuthenticationError` whose `reason` says what failed.
 */
export function checkPeerResponse(args: {
  readonly domain: TypedDataDomain;
  readonly expected: PeerChallenge;
  readonly answered: PeerChallenge;
  readonly signature: Hex;
  readonly prover: ProverState;
  readonly now: bigint;
  readonly freshness?: FreshnessPolicy;
  /**
   * For a 128-byte P-256 answer: the chain's verdict (`DeviceRegistry.isValidDeviceSignature`,
   * the EIP-7951 precompile). Without it the same rule is applied here (`verifyKeySignature`).
   */
  readonly signatureValid?: boolean | undefined;
}): string {
  const { domain, expected, answered, signature, prover, now } = args;
  const freshness = args.freshness ?? DEFAULT_FRESHNESS;
  if (answered.verifier.toLowerCase() !== expected.verifier.toLowerCase()) {
    throw new PeerAuthenticationError("wrong-verifier", "the response answers another verifier's challenge");
  }
  if (
    answered.prover.toLowerCase() !== expected.prover.toLowerCase() ||
    answered.nonce.toLowerCase() !== expected.nonce.toLowerCase() ||
    answered.issuedAt !== expected.issuedAt
  ) {
    throw new PeerAuthenticationError("challenge-mismatch", "the response does not answer this challenge");
  }
  if (expected.issuedAt > now + freshness.maxSkewSeconds) {
    throw new PeerAuthenticationError("future-challenge", "the challenge is dated in the future", {
      issuedAt: expected.issuedAt,
      now,
    });
  }
  if (now - expected.issuedAt > freshness.maxAgeSeconds) {
    throw new PeerAuthenticationError("stale-challenge", "the challenge has expired", {
      issuedAt: expected.issuedAt,
      now,
    });
  }
  if (prover.status === Status.None) {
    throw new PeerAuthenticationError("unknown-device", "the prover is not registered", { prover: expected.prover });
  }
  if (prover.status !== Status.Active) {
    throw new PeerAuthenticationError("not-active", `the prover is ${STATUS_NAMES[prover.status]}`, {
      prover: expected.prover,
    });
  }
  if (typeof signature === "string" && (signature.length - 2) / 2 === P256_SIGNATURE_BYTES) {
    const valid =
      args.signatureValid ?? verifyKeySignature(prover.key, peerChallengeDigest(domain, answered), signature);
    if (!valid) {
      throw new PeerAuthenticationError("wrong-signer", "the signature is not from the prover's registered key", {
        registered: prover.key,
      });
    }
    return prover.key;
  }
  if (!isCanonicalSecp256k1Signature(signature)) {
    throw new PeerAuthenticationError("bad-signature", "the signature is malformed (65 bytes, s ≤ n/2, v 27 or 28)", {
      signature,
    });
  }
  let recovered: string;
  try {
    recovered = recoverAddress(peerChallengeDigest(domain, answered), signature);
  } catch (cause) {
    throw new PeerAuthenticationError("bad-signature", "the signature is malformed", {
      signature,
      cause: String(cause),
    });
  }
  if (recovered.toLowerCase() !== prover.key.toLowerCase()) {
    throw new PeerAuthenticationError("wrong-signer", "the signature is not from the prover's registered key", {
      recovered,
      registered: prover.key,
    });
  }
  return recovered;
}
