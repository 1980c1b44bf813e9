/**
 * EIP-712 messages of the device registry: what a device key signs to register,
 * what a new key signs for a re-key, and the challenge a peer signs to prove who
 * it is (seed 002: device-to-device authentication from on-chain keys). The
 * type strings match `DeviceRegistry.sol` byte for byte; the contract exposes
 * `registrationDigest` and `rekeyDigest` so tests compare both sides.
 */
import { type TypedDataDomain, TypedDataEncoder, type TypedDataField } from "ethers";

import { checkInteger, type Hex } from "./bytes.ts";

export const REGISTRY_DOMAIN_NAME = "Strata DeviceRegistry";
export const REGISTRY_DOMAIN_VERSION = "1";

export const REGISTRATION_TYPES: Record<string, TypedDataField[]> = {
  Registration: [
    { name: "layer", type: "bytes32" },
    { name: "localId", type: "bytes32" },
    { name: "key", type: "address" },
    { name: "owner", type: "address" },
    { name: "kind", type: "uint8" },
    { name: "label", type: "uint8" },
    { name: "permissions", type: "uint32" },
    { name: "profileHash", type: "bytes32" },
    { name: "deadline", type: "uint64" },
  ],
};

export const REKEY_TYPES: Record<string, TypedDataField[]> = {
  Rekey: [
    { name: "id", type: "bytes32" },
    { name: "newKey", type: "address" },
    { name: "nonce", type: "uint16" },
    { name: "deadline", type: "uint64" },
  ],
};

export const PEER_CHALLENGE_TYPES: Record<string, TypedDataField[]> = {
  PeerChallenge: [
    { name: "prover", type: "bytes32" },
    { name: "verifier", type: "bytes32" },
    { name: "nonce", type: "bytes32" },
    { name: "issuedAt", type: "uint64" },
  ],
};

/** The registry's EIP-712 domain on `chainId` at `registry`. */
export function registryDomain(chainId: bigint, registry: string): TypedDataDomain {
  return { name: REGISTRY_DOMAIN_NAME, version: REGISTRY_DOMAIN_VERSION, chainId, verifyingContract: registry };
}

/** The fields a registration carries (the contract's `Registration` struct). */
export interface RegistrationMessage {
  readonly layer: Hex;
  readonly localId: Hex;
  readonly key: string;
  readonly kind: number;
  readonly label: number;
  readonly permissions: number;
  readonly profileHash: Hex;
  readonly deadline: bigint;
}

/** The typed-data value a device key signs for `owner`. */
export function registrationValue(req: RegistrationMessage, owner: string): Record<string, unknown> {
  checkInteger(req.kind, 0, 255, "kind");
  checkInteger(req.label, 0, 255, "label");
  checkInteger(req.permissions, 0, 2 ** 32 - 1, "permissions");
  return { ...req, owner };
}

/** The digest a device key signs to register with `owner`. */
export function registrationDigest(domain: TypedDataDomain, req: RegistrationMessage, owner: string): Hex {
  return TypedDataEncoder.hash(domain, REGISTRATION_TYPES, registrationValue(req, owner)) as Hex;
}

/** The digest a new key signs for a re-key of `id` at `nonce`. */
export function rekeyDigest(domain: TypedDataDomain, id: Hex, newKey: string, nonce: number, deadline: bigint): Hex {
  return TypedDataEncoder.hash(domain, REKEY_TYPES, { id, newKey, nonce, deadline }) as Hex;
}

/** A peer-authentication challenge: `verifier` asks `prover` to sign a fresh nonce. */
export interface PeerChallenge {
  readonly prover: Hex;
  readonly verifier: Hex;
  readonly nonce: Hex;
  readonly issuedAt: bigint;
}

/** The digest a prover's device key signs to answer `challenge`. */
export function peerChallengeDigest(domain: TypedDataDomain, challenge: PeerChallenge): Hex {
  return TypedDataEncoder.hash(domain, PEER_CHALLENGE_TYPES, { ...challenge }) as Hex;
}

/** A compact (EIP-2098) signature as the registry takes it. */
export interface CompactSignature {
  readonly r: Hex;
  readonly vs: Hex;
}
