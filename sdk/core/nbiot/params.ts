/**
 * Who is who on the NB-IoT data path (seed 000, "Registration"): every node and
 * base station has a globally unique id — its `DeviceId` in the registry — and
 * two identity-based private keys from the PKG, one to sign (Cha–Cheon IBS) and
 * one to decrypt (Boneh–Franklin IBE). The two live under distinct identity
 * strings so that no key is ever used by two schemes. Timing rules shared by
 * every role live here too.
 */
import { fromHex, type Hex } from "../bytes.ts";
import type { G1, G2, PairingBackend } from "../crypto/backend.ts";
import { checkPrivateKey } from "../crypto/identity.ts";
import { InvalidInputError } from "../../errors.ts";

/** Timing rules (milliseconds). */
export interface Timing {
  /** How far a peer's timestamp may be from our clock, either way. */
  readonly clockSkewMs: number;
  /** How long a session key lives before it must be renewed. */
  readonly sessionLifetimeMs: number;
  /** How long a chain of renewals may run before a full authentication is required. */
  readonly maxSessionAgeMs: number;
}

export const DEFAULT_TIMING: Timing = {
  clockSkewMs: 30_000,
  sessionLifetimeMs: 15 * 60_000,
  maxSessionAgeMs: 24 * 3_600_000,
};

/** The public parameters every role holds: the pairing backend and the PKG's master public key. */
export interface NbiotParams {
  readonly backend: PairingBackend;
  readonly masterPublic: G2;
  readonly timing: Timing;
}

/** A role's id and its two identity-based private keys. */
export interface IdentityKeys {
  readonly id: Hex;
  /** d = s·H1(signing identity), for Cha–Cheon signatures. */
  readonly signKey: G1;
  /** d = s·H1(encryption identity), for Boneh–Franklin decapsulation. */
  readonly decryptKey: G1;
}

/** Something that extracts identity keys: a `Pkg`, or a wrapper around t-of-n PKGs. */
export interface KeyExtractor {
  extract(identity: string): G1;
}

/** The 32-byte id, lower-case, checked. */
export function checkId(id: Hex, what: string): Hex {
  fromHex(id, what, 32);
  return id.toLowerCase() as Hex;
}

/** The identity string a role's signing key belongs to. */
export function signingIdentity(id: Hex): string {
  return `strata-nbiot/v1/sign/${checkId(id, "id")}`;
}

/** The identity string a role's decryption key belongs to. */
export function encryptionIdentity(id: Hex): string {
  return `strata-nbiot/v1/encrypt/${checkId(id, "id")}`;
}

/** The PKG's side of registration: both keys of `id`. */
export function extractIdentityKeys(pkg: KeyExtractor, id: Hex): IdentityKeys {
  return {
    id: checkId(id, "id"),
    signKey: pkg.extract(signingIdentity(id)),
    decryptKey: pkg.extract(encryptionIdentity(id)),
  };
}

/** The holder's side: refuses keys that are not the PKG's for `keys.id` (e(d, G2) = e(Q, P)). */
export function checkIdentityKeys(backend: PairingBackend, masterPublic: G2, keys: IdentityKeys): void {
  if (!checkPrivateKey(backend, masterPublic, signingIdentity(keys.id), keys.signKey)) {
    throw new InvalidInputError("the signing key is not the PKG's key for this id", { id: keys.id });
  }
  if (!checkPrivateKey(backend, masterPublic, encryptionIdentity(keys.id), keys.decryptKey)) {
    throw new InvalidInputError("the decryption key is not the PKG's key for this id", { id: keys.id });
  }
}

/** Builds parameters, filling in default timing. */
export function nbiotParams(backend: PairingBackend, masterPublic: G2, timing: Partial<Timing> = {}): NbiotParams {
  const t = { ...DEFAULT_TIMING, ...timing };
  for (const [k, v] of Object.entries(t)) {
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new InvalidInputError(`timing.${k} must be a positive integer`, { [k]: v });
  }
  if (t.sessionLifetimeMs > t.maxSessionAgeMs) {
    throw new InvalidInputError("timing.sessionLifetimeMs exceeds timing.maxSessionAgeMs", t);
  }
  return { backend, masterPublic, timing: t };
}
