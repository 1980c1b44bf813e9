/**
 * Who is who on the NB-IoT data path (seed 000, "Registration"): every node and
 * base station has a globally unique id — its `DeviceId` in the registry — and
 * identity-based private keys from the PKG under identity strings that name the
 * role and the purpose: a node signs (Cha–Cheon IBS) and decrypts
 * (Boneh–Franklin IBE) with two keys; a station signs with one key per key
 * epoch; an application signs the primary keys it provisions. No key serves two
 * schemes or two roles. Timing rules shared by every role live here too.
 */
import { fromHex, type Hex } from "../bytes.ts";
import type { G1, G2, PairingBackend } from "../crypto/backend.ts";
import { checkPrivateKey } from "../crypto/identity.ts";
import { InvalidInputError } from "../../errors.ts";
import { TOLERATED_SKEW_MS } from "../clock.ts";

/** Timing rules (milliseconds). */
export interface Timing {
  /**
   * How far a peer's timestamp may be from our clock, either way (node, station, chain);
   * `TOLERATED_SKEW_MS` by default. Every freshness check of the data path reads this one setting.
   */
  readonly clockSkewMs: number;
  /** How long a session key lives before it must be renewed. */
  readonly sessionLifetimeMs: number;
  /** How long a chain of renewals may run before a full authentication is required. */
  readonly maxSessionAgeMs: number;
  /**
   * How long a station's signing key is valid: the PKG issues one key per
   * epoch, to stations that are registered and active, so a station that is
   * blocked or revoked in the registry can sign nothing new after its current
   * epoch (identity-based revocation by expiry, Boneh–Franklin §1.1.1).
   */
  readonly keyEpochMs: number;
}

export const DEFAULT_TIMING: Timing = {
  clockSkewMs: TOLERATED_SKEW_MS,
  sessionLifetimeMs: 15 * 60_000,
  maxSessionAgeMs: 24 * 3_600_000,
  keyEpochMs: 24 * 3_600_000,
};

/** The public parameters every role holds: the pairing backend and the PKG's master public key. */
export interface NbiotParams {
  readonly backend: PairingBackend;
  readonly masterPublic: G2;
  readonly timing: Timing;
}

/** Who holds a key. Identities are separated by role, so no node key can sign as a station. */
export type Role = "node" | "station" | "application";

/** A node: a signing key and a decryption key (session keys and its primary key are sealed to it). */
export interface NodeKeys {
  readonly role: "node";
  readonly id: Hex;
  /** d = s·H1(node signing identity), for Cha–Cheon signatures. */
  readonly signKey: G1;
  /** d = s·H1(node encryption identity), for Boneh–Franklin decapsulation. */
  readonly decryptKey: G1;
}

/** A base station: one signing key per key epoch, issued by the PKG while it is registered and active. */
export interface StationKeys {
  readonly role: "station";
  readonly id: Hex;
  /** The key of `epoch` (throws `InvalidInputError` when the PKG has not issued it). */
  keyFor(epoch: number): G1;
}

/** An application: a signing key (it signs the primary keys it provisions). */
export interface ApplicationKeys {
  readonly role: "application";
  readonly id: Hex;
  readonly signKey: G1;
}

export type IdentityKeys = NodeKeys | StationKeys | ApplicationKeys;

/** Something that extracts identity keys: a `Pkg`, or a wrapper around t-of-n PKGs. */
export interface KeyExtractor {
  extract(identity: string): G1;
}

/** The 32-byte id, lower-case, checked. */
export function checkId(id: Hex, what: string): Hex {
  fromHex(id, what, 32);
  return id.toLowerCase() as Hex;
}

/** The key epoch `time` falls in. */
export function keyEpoch(params: NbiotParams, time: number): number {
  return Math.floor(time / params.timing.keyEpochMs);
}

/** The identity string a signing key belongs to (stations: of one key epoch). */
export function signingIdentity(role: Role, id: Hex, epoch?: number): string {
  const base = `strata-nbiot/v1/${role}/sign/${checkId(id, "id")}`;
  if (role !== "station") return base;
  if (epoch === undefined || !Number.isSafeInteger(epoch) || epoch < 0) {
    throw new InvalidInputError("a station's signing identity names its key epoch", { epoch });
  }
  return `${base}/epoch/${epoch}`;
}

/** The identity string a node's decryption key belongs to. */
export function encryptionIdentity(id: Hex): string {
  return `strata-nbiot/v1/node/encrypt/${checkId(id, "id")}`;
}

/** The private key `keys` sign with at `time`. */
export function signingKeyAt(params: NbiotParams, keys: IdentityKeys, time: number): G1 {
  return keys.role === "station" ? keys.keyFor(keyEpoch(params, time)) : keys.signKey;
}

/** The identity a signature by (`role`, `id`) made at `time` verifies under. */
export function signerIdentityAt(params: NbiotParams, role: Role, id: Hex, time: number): string {
  return signingIdentity(role, id, role === "station" ? keyEpoch(params, time) : undefined);
}

/** The PKG's side of a node's registration: both its keys. */
export function extractNodeKeys(pkg: KeyExtractor, id: Hex): NodeKeys {
  return {
    role: "node",
    id: checkId(id, "id"),
    signKey: pkg.extract(signingIdentity("node", id)),
    decryptKey: pkg.extract(encryptionIdentity(id)),
  };
}

/** An application's signing key. */
export function extractApplicationKeys(pkg: KeyExtractor, id: Hex): ApplicationKeys {
  return { role: "application", id: checkId(id, "id"), signKey: pkg.extract(signingIdentity("application", id)) };
}

/** A station's key of one epoch (the PKG issues it only to a registered, active station). */
export function extractStationKey(pkg: KeyExtractor, id: Hex, epoch: number): G1 {
  return pkg.extract(signingIdentity("station", id, epoch));
}

/** A station's keys from a set of issued epoch keys (what a station keeps, refreshed from its PKG). */
export function stationKeys(id: Hex, issued: ReadonlyMap<number, G1>): StationKeys {
  const station = checkId(id, "id");
  return {
    role: "station",
    id: station,
    keyFor(epoch: number): G1 {
      const key = issued.get(epoch);
      if (key === undefined) {
        throw new InvalidInputError(`station ${station} holds no signing key for epoch ${epoch}: get it from the PKG`, {
          epoch,
        });
      }
      return key;
    },
  };
}

/**
 * A station's keys drawn from a PKG on demand, one per epoch (a PKG in the
 * same process: tests, the demo, a station co-located with its PKG). A PKG
 * service checks the registry before it issues each epoch's key.
 */
export function pkgStationKeys(pkg: KeyExtractor, id: Hex): StationKeys {
  const issued = new Map<number, G1>();
  const station = checkId(id, "id");
  return {
    role: "station",
    id: station,
    keyFor(epoch: number): G1 {
      let key = issued.get(epoch);
      if (key === undefined) issued.set(epoch, (key = extractStationKey(pkg, station, epoch)));
      return key;
    },
  };
}

/** The holder's side: refuses a node's keys that are not the PKG's for `keys.id` (e(d, G2) = e(Q, P)). */
export function checkNodeKeys(backend: PairingBackend, masterPublic: G2, keys: NodeKeys): void {
  if (!checkPrivateKey(backend, masterPublic, signingIdentity("node", keys.id), keys.signKey)) {
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
