/**
 * The key servers' protocol (seed 000's PKG as t-of-n networked key servers, issue 15), pure:
 * no socket, no chain, no file.
 *
 * - The public information of a dealing: the master public key P = s·G2, the Feldman
 *   commitments of the sharing and each server's verification key PKᵢ = sᵢ·G2, with the
 *   deployment id (a digest of the commitments) every request names.
 * - The request a device signs with its registered device key (EIP-712 in a "Strata KeyServer"
 *   domain bound to the chain and the `DeviceRegistry` whose records are the policy): its id, the
 *   role it asks keys for, the station's key epoch, its ephemeral X25519 key, the deployment and
 *   the one server the request is for, a random nonce and a deadline. A request is for one server,
 *   so a server cannot pass it to another, and each server refuses it a second time.
 * - The answer: each identity-key share dᵢ = sᵢ·H1(identity), sealed to the requester's
 *   ephemeral key (X25519, HKDF-SHA256, AES-256-GCM) with the identity, the server and the
 *   request's digest as associated data. The share itself needs no signature: the requester checks
 *   it against PKᵢ with a pairing before it uses it.
 * - Who may ask for what: a node's keys for a registered `Device`, a station's for a
 *   `BaseStation`, an application's for a `Device` whose permissions carry the application bit.
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { TypedDataDomain } from "ethers";

import { concat, fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import { AeadKey, hkdf } from "../../sdk/core/crypto/aead.ts";
import type { G1, G2, PairingBackend } from "../../sdk/core/crypto/backend.ts";
import type { Commitments } from "../../sdk/core/crypto/threshold.ts";
import { ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { typedDataDigest, type TypedDataTypes } from "../../sdk/core/eip712.ts";
import { DST_IDENTITY, identityBytes } from "../../sdk/core/crypto/identity.ts";
import { encryptionIdentity, type Role, signingIdentity } from "../../sdk/core/nbiot/params.ts";
import { type DeviceRecord, Kind, KIND_NAMES, Status, STATUS_NAMES } from "../../sdk/core/registry.ts";
import { DecryptionError, InvalidInputError, KeyRequestRefusedError } from "../../sdk/errors.ts";

export const ROLES: readonly Role[] = ["node", "station", "application"];

/** The permission bit (of `DeviceRegistry`'s permissions bitmap) that makes a `Device` an application by default. */
export const DEFAULT_APPLICATION_PERMISSION = 0x8000_0000;

/** How far ahead a request's deadline may lie by default (seconds). */
export const DEFAULT_MAX_DEADLINE_SECONDS = 300;

// ---------------------------------------------------------------- public information

/** What everybody may know of a dealing (the public file). */
export interface KeyServerPublic {
  readonly threshold: number;
  readonly servers: number;
  /** P = s·G2, the PKG's master public key. */
  readonly masterPublic: G2;
  /** Feldman commitments to the sharing polynomial (C₀ = P). */
  readonly commitments: Commitments;
  /** PKᵢ = sᵢ·G2 of server i (index i + 1). */
  readonly memberKeys: readonly G2[];
  /** sha256 of the commitments: what a request names so it cannot serve another dealing. */
  readonly deployment: Hex;
  /** The chain and registry the servers read their policy from, when the dealer named them. */
  readonly chainId?: bigint;
  readonly registry?: string;
}

/** The public file as JSON. */
export interface KeyServerPublicJson {
  readonly format: "strata-keyserver-public/v1";
  readonly threshold: number;
  readonly servers: number;
  readonly masterPublic: Hex;
  readonly commitments: readonly Hex[];
  readonly memberKeys: readonly Hex[];
  readonly deployment: Hex;
  readonly chainId?: string;
  readonly registry?: string;
}

/** The deployment id of a sharing: sha256 over t, n and each commitment. */
export function deploymentId(backend: PairingBackend, commitments: Commitments, servers: number): Hex {
  const parts: Uint8Array[] = [
    Uint8Array.of(commitments.threshold >> 8, commitments.threshold & 0xff, servers >> 8, servers & 0xff),
  ];
  for (const p of commitments.points) parts.push(backend.g2.toBytes(p));
  return toHex(sha256(concat(utf8ToBytes("strata-keyserver/v1 deployment"), ...parts)));
}

/** The public information of a sharing of `servers` shares. */
export function publicInfo(
  backend: PairingBackend,
  commitments: Commitments,
  servers: number,
  policy: { chainId?: bigint; registry?: string } = {},
): KeyServerPublic {
  const scheme = new ThresholdScheme(backend);
  return {
    threshold: commitments.threshold,
    servers,
    masterPublic: scheme.groupKey(commitments),
    commitments,
    memberKeys: Array.from({ length: servers }, (_, i) => scheme.memberKey(commitments, i + 1)),
    deployment: deploymentId(backend, commitments, servers),
    ...(policy.chainId === undefined ? {} : { chainId: policy.chainId }),
    ...(policy.registry === undefined ? {} : { registry: policy.registry.toLowerCase() }),
  };
}

export function publicToJson(backend: PairingBackend, info: KeyServerPublic): KeyServerPublicJson {
  const g2 = (p: G2): Hex => toHex(backend.g2.toBytes(p));
  return {
    format: "strata-keyserver-public/v1",
    threshold: info.threshold,
    servers: info.servers,
    masterPublic: g2(info.masterPublic),
    commitments: info.commitments.points.map(g2),
    memberKeys: info.memberKeys.map(g2),
    deployment: info.deployment,
    ...(info.chainId === undefined ? {} : { chainId: info.chainId.toString() }),
    ...(info.registry === undefined ? {} : { registry: info.registry }),
  };
}

/**
 * Parses and checks public information: every point valid, t ≤ n, the master key C₀, each
 * server's key the commitments' value at its index, the deployment id the commitments' digest.
 * Anything else is an `InvalidInputError` naming `what` and the field.
 */
export function publicFromJson(
  backend: PairingBackend,
  raw: unknown,
  what = "public key-server info",
): KeyServerPublic {
  const fail = (field: string, message: string): never => {
    throw new InvalidInputError(`${what}: ${field} ${message}`, { field });
  };
  if (typeof raw !== "object" || raw === null) return fail("(root)", "must be an object");
  const j = raw as Record<string, unknown>;
  if (j.format !== "strata-keyserver-public/v1") fail("format", "must be strata-keyserver-public/v1");
  const t = j.threshold;
  const n = j.servers;
  if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > 1000)
    fail("servers", "must be an integer in [1, 1000]");
  if (!Number.isInteger(t) || (t as number) < 1 || (t as number) > (n as number))
    fail("threshold", "must be an integer in [1, servers]");
  const point = (value: unknown, field: string): G2 => {
    try {
      if (typeof value !== "string") throw new Error("not a string");
      return backend.g2.fromBytes(fromHex(value, field));
    } catch {
      return fail(field, "is not a valid G2 point");
    }
  };
  const list = (field: string, length: number): G2[] => {
    const v = j[field];
    if (!Array.isArray(v) || v.length !== length) fail(field, `must be an array of ${length} points`);
    return (v as unknown[]).map((p, i) => point(p, `${field}[${i}]`));
  };
  const commitments: Commitments = { threshold: t as number, points: list("commitments", t as number) };
  const info = publicInfo(backend, commitments, n as number);
  if (!backend.g2.eq(point(j.masterPublic, "masterPublic"), info.masterPublic)) {
    fail("masterPublic", "is not the commitments' constant term");
  }
  list("memberKeys", n as number).forEach((k, i) => {
    if (!backend.g2.eq(k, info.memberKeys[i]!)) fail(`memberKeys[${i}]`, "is not the commitments' value at its index");
  });
  if (typeof j.deployment !== "string" || j.deployment.toLowerCase() !== info.deployment) {
    fail("deployment", "is not the digest of the commitments");
  }
  let chainId: bigint | undefined;
  if (j.chainId !== undefined) {
    if (typeof j.chainId !== "string" || !/^[1-9][0-9]{0,77}$/.test(j.chainId))
      fail("chainId", "must be a decimal string");
    chainId = BigInt(j.chainId as string);
  }
  if (j.registry !== undefined && (typeof j.registry !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(j.registry))) {
    fail("registry", "must be a 20-byte address");
  }
  const extra = Object.keys(j).filter(
    (k) =>
      ![
        "format",
        "threshold",
        "servers",
        "masterPublic",
        "commitments",
        "memberKeys",
        "deployment",
        "chainId",
        "registry",
      ].includes(k),
  );
  if (extra.length > 0) fail(extra[0]!, "is not a field of the public file");
  return {
    ...info,
    ...(chainId === undefined ? {} : { chainId }),
    ...(j.registry === undefined ? {} : { registry: (j.registry as string).toLowerCase() }),
  };
}

// ---------------------------------------------------------------- identities and policy

/** The identity strings whose keys a requester of `role` gets (a station: of one epoch). */
export function identitiesFor(role: Role, id: Hex, epoch?: number): string[] {
  if (role === "node") return [signingIdentity("node", id), encryptionIdentity(id)];
  if (role === "station") return [signingIdentity("station", id, epoch)];
  return [signingIdentity("application", id)];
}

/**
 * The registry's policy: refuses (`KeyRequestRefusedError`) unless `record` is registered,
 * Active and of the kind `role` needs (an application: a `Device` holding `applicationPermission`).
 */
export function checkPolicy(record: DeviceRecord, role: Role, applicationPermission: number): void {
  if (record.status === Status.None) {
    throw new KeyRequestRefusedError("unknown-device", "the requester is not registered", { id: record.id });
  }
  if (record.status !== Status.Active) {
    throw new KeyRequestRefusedError("not-active", `the requester is ${STATUS_NAMES[record.status]}`, {
      id: record.id,
      status: STATUS_NAMES[record.status],
    });
  }
  const kind = KIND_NAMES[record.kind];
  const fits =
    role === "node"
      ? record.kind === Kind.Device
      : role === "station"
        ? record.kind === Kind.BaseStation
        : record.kind === Kind.Device &&
          (record.permissions & applicationPermission) >>> 0 === applicationPermission >>> 0;
  if (!fits) {
    throw new KeyRequestRefusedError(
      "wrong-role",
      role === "application"
        ? `application keys go to a Device holding permission 0x${applicationPermission.toString(16)}; the requester is a ${kind} with 0x${record.permissions.toString(16)}`
        : `${role} keys go to a ${role === "node" ? "Device" : "BaseStation"}; the requester is a ${kind}`,
      { id: record.id, role, kind },
    );
  }
}

/** The epochs a server issues station keys for at `nowMs`: the current one and its neighbours. */
export function checkEpoch(role: Role, epoch: number | undefined, nowMs: number, keyEpochMs: number): void {
  if (role !== "station") {
    if (epoch !== undefined) {
      throw new KeyRequestRefusedError("bad-epoch", `a ${role}'s keys have no epoch`, { role, epoch });
    }
    return;
  }
  const current = Math.floor(nowMs / keyEpochMs);
  if (epoch === undefined || epoch < current - 1 || epoch > current + 1) {
    throw new KeyRequestRefusedError(
      "bad-epoch",
      `station keys are issued for epochs ${current - 1} to ${current + 1} only`,
      { epoch, current },
    );
  }
}

// ---------------------------------------------------------------- the signed request

export const KEYSERVER_DOMAIN_NAME = "Strata KeyServer";
export const KEYSERVER_DOMAIN_VERSION = "1";

/** The domain of key requests: the chain and the registry that holds the requesters' keys. */
export function keyServerDomain(chainId: bigint, registry: string): TypedDataDomain {
  return {
    name: KEYSERVER_DOMAIN_NAME,
    version: KEYSERVER_DOMAIN_VERSION,
    chainId,
    verifyingContract: registry.toLowerCase(),
  };
}

export const KEY_REQUEST_TYPES: TypedDataTypes = {
  KeyRequest: [
    { name: "id", type: "bytes32" },
    { name: "role", type: "uint8" },
    { name: "epoch", type: "uint64" },
    { name: "ephemeralKey", type: "bytes32" },
    { name: "deployment", type: "bytes32" },
    { name: "server", type: "uint16" },
    { name: "nonce", type: "bytes32" },
    { name: "deadline", type: "uint64" },
  ],
};

/** A request for identity-key shares, as it travels (JSON). */
export interface KeyRequest {
  readonly id: Hex;
  readonly role: Role;
  /** A station's key epoch; absent for a node or an application. */
  readonly epoch?: number;
  /** The requester's ephemeral X25519 public key (32 bytes): the shares are sealed to it. */
  readonly ephemeralKey: Hex;
  readonly deployment: Hex;
  /** The index (1..n) of the one server this request is for. */
  readonly server: number;
  /** 32 random bytes. */
  readonly nonce: Hex;
  /** Unix seconds after which the request is refused. */
  readonly deadline: number;
}

/** The EIP-712 digest the requester's device key signs. */
export function keyRequestDigest(domain: TypedDataDomain, req: KeyRequest): Hex {
  return typedDataDigest(domain, KEY_REQUEST_TYPES, keyRequestValue(req));
}

/** The typed-data value of a request (what an ethers signer's `signTypedData` takes). */
export function keyRequestValue(req: KeyRequest): Record<string, unknown> {
  const role = ROLES.indexOf(req.role);
  if (role < 0) throw new InvalidInputError("role must be node, station or application", { role: req.role });
  return {
    id: req.id,
    role,
    epoch: req.epoch ?? 0,
    ephemeralKey: req.ephemeralKey,
    deployment: req.deployment,
    server: req.server,
    nonce: req.nonce,
    deadline: req.deadline,
  };
}

// ---------------------------------------------------------------- sealing shares

const SEAL_INFO = utf8ToBytes("strata-keyserver/v1 share");
export const X25519_KEY_BYTES = 32;

/** A fresh ephemeral X25519 key pair for one request round. */
export function ephemeralKeyPair(): { readonly secretKey: Uint8Array; readonly publicKey: Hex } {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: toHex(x25519.getPublicKey(secretKey)) };
}

function shareAd(identity: string, server: number, digest: Hex): Uint8Array {
  return concat(utf8ToBytes(identity), Uint8Array.of(0, server >> 8, server & 0xff), fromHex(digest, "digest", 32));
}

function sealKey(shared: Uint8Array, sender: Uint8Array, recipient: Uint8Array, digest: Hex): AeadKey {
  return new AeadKey(hkdf(shared, fromHex(digest, "digest", 32), concat(SEAL_INFO, sender, recipient)));
}

/**
 * Server: seals identity-key share `share` (G1 bytes) for the request's ephemeral key: a fresh
 * X25519 key of its own, then `senderKey (32) ‖ AES-GCM(nonce ‖ ciphertext ‖ tag)`.
 */
export function sealShare(recipient: Hex, identity: string, server: number, digest: Hex, share: Uint8Array): Hex {
  const to = fromHex(recipient, "ephemeralKey", X25519_KEY_BYTES);
  const mine = x25519.utils.randomSecretKey();
  const sender = x25519.getPublicKey(mine);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(mine, to);
  } catch (cause) {
    throw new InvalidInputError("the ephemeral key is not a usable X25519 key", { ephemeralKey: recipient }, { cause });
  }
  return toHex(concat(sender, sealKey(shared, sender, to, digest).seal(share, shareAd(identity, server, digest))));
}

/**
 * Checks an ephemeral key the way `sealShare` will use it (an X25519 key of full order), so a
 * key that cannot be sealed to is the requester's fault, found before any chain read; a
 * failure while sealing afterwards is the server's.
 */
export function checkEphemeralKey(recipient: Hex): void {
  sealShare(recipient, "", 1, `0x${"00".repeat(32)}`, new Uint8Array(1));
}

/** Requester: opens a sealed share (`DecryptionError` when it was not sealed for this request). */
export function openShare(
  secretKey: Uint8Array,
  identity: string,
  server: number,
  digest: Hex,
  sealed: Hex,
): Uint8Array {
  const bytes = fromHex(sealed, "sealed share");
  if (bytes.length < X25519_KEY_BYTES + 28) throw new DecryptionError("the sealed share is too short");
  const sender = bytes.subarray(0, X25519_KEY_BYTES);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secretKey, sender);
  } catch (cause) {
    throw new DecryptionError("the sealed share's sender key is not a usable X25519 key", {}, { cause });
  }
  const recipient = x25519.getPublicKey(secretKey);
  return sealKey(shared, sender, recipient, digest).open(
    bytes.subarray(X25519_KEY_BYTES),
    shareAd(identity, server, digest),
  );
}

/** A server's answer to a request it served. */
export interface KeyAnswer {
  readonly server: number;
  readonly id: Hex;
  readonly role: Role;
  readonly epoch?: number;
  /** One sealed share per identity of `identitiesFor(role, id, epoch)`, in that order. */
  readonly shares: readonly { readonly identity: string; readonly sealed: Hex }[];
  /** The audit log entry that records the issuance. */
  readonly audit: number;
}

/** What a server extracts for one authenticated request. */
export interface ExtractTask {
  /** The server's share sᵢ (hex) and index i. */
  readonly secret: Hex;
  readonly index: number;
  readonly identities: readonly string[];
  readonly ephemeralKey: Hex;
  /** The request's EIP-712 digest (bound into each sealed share). */
  readonly digest: Hex;
}

/** A server's parts of `task.identities`, each sealed to the request's ephemeral key, in order. */
export function sealedParts(s: ThresholdScheme, task: ExtractTask): { identity: string; sealed: Hex }[] {
  const share = { index: task.index, secret: BigInt(task.secret) };
  return task.identities.map((identity) => ({
    identity,
    sealed: sealShare(
      task.ephemeralKey,
      identity,
      task.index,
      task.digest,
      s.backend.g1.toBytes(s.partialSign(share, identityBytes(identity), DST_IDENTITY).signature),
    ),
  }));
}

/** Decodes a G1 share (`InvalidInputError`/`InvalidPointError` when it is not a valid point). */
export function shareFromBytes(backend: PairingBackend, bytes: Uint8Array): G1 {
  return backend.g1.fromBytes(bytes);
}

// ---------------------------------------------------------------- the audit chain

/** What is recorded of one request. */
export interface AuditRecord {
  readonly time: number;
  readonly outcome: "issued" | "refused";
  /** The refusal's reason (or the error's name when it was not a refusal); null for an issuance. */
  readonly reason: string | null;
  readonly id: Hex;
  readonly role: string;
  readonly epoch: number | null;
  readonly nonce: Hex;
  /** The EIP-712 digest of the request. */
  readonly digest: Hex;
  /** The registered device key that signed, once the signature verified; null before. */
  readonly signer: string | null;
  /** The identities whose key shares were issued (empty for a refusal). */
  readonly identities: readonly string[];
}

/** One entry of the log. */
export interface AuditEntry extends AuditRecord {
  readonly seq: number;
  readonly prev: Hex;
  readonly hash: Hex;
}

/** The value the chain of `deployment`'s server `server` starts from. */
export function auditGenesis(deployment: Hex, server: number): Hex {
  return toHex(
    sha256(
      concat(
        utf8ToBytes("strata-keyserver/v1 audit"),
        fromHex(deployment, "deployment", 32),
        Uint8Array.of(server >> 8, server & 0xff),
      ),
    ),
  );
}

/** The hash of an entry: sha256(prev ‖ canonical JSON of its fields). */
export function auditHash(prev: Hex, seq: number, r: AuditRecord): Hex {
  const fields = [seq, r.time, r.outcome, r.reason, r.id, r.role, r.epoch, r.nonce, r.digest, r.signer, r.identities];
  return toHex(sha256(concat(fromHex(prev, "prev", 32), utf8ToBytes(JSON.stringify(fields)))));
}

/**
 * Checks that `entries` (in order) continue the chain from `prev` at sequence `fromSeq`: each one's
 * `prev` is the hash before it, its hash is recomputed, sequences run without a gap. Returns the
 * index of the first bad entry, or -1 when the whole run verifies.
 */
export function firstBrokenEntry(entries: readonly AuditEntry[], prev: Hex, fromSeq = 1): number {
  let expected = prev;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.seq !== fromSeq + i || e.prev !== expected || auditHash(e.prev, e.seq, e) !== e.hash) return i;
    expected = e.hash;
  }
  return -1;
}
