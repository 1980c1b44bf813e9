/**
 * A fog cluster's keys as files (seed 004): `dealCluster` makes the cluster's t-of-n threshold BLS
 * key (joint-Feldman DKG among the members, `runDkg`) and the data owner's PEKS key with the
 * trapdoors the fog nodes filter with, and writes them one sealed file per member (its key share
 * and the trapdoors), one sealed file for the data owner (the PEKS secret and the payload key its
 * sensors are provisioned with), and the public file (commitments, group key, PEKS public key)
 * last: the public file is there only when every other file is. Either every file is written or
 * none is. `openMember`/`openPublic`/`openOwner` read them back, checked.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { type Hex, toHex, fromHex } from "../../sdk/core/bytes.ts";
import type { PairingBackend } from "../../sdk/core/crypto/backend.ts";
import { g2ToEip2537 } from "../../sdk/core/crypto/eip2537.ts";
import { Peks } from "../../sdk/core/crypto/peks.ts";
import { type Commitments, type KeyShare, ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { runDkg } from "../../sdk/core/fog/dkg.ts";
import { type FilterPolicy, filterPolicy, SENSITIVE } from "../../sdk/core/fog/filter.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { openSecret, sealSecret } from "../runtime/secret-file.ts";

/** The tag rule every dealt cluster carries: an "alarm" keyword in slot 1. */
export const ALARM_TAG = { name: "alarm", slot: 1 } as const;

/** The public file of a dealt cluster (JSON, not secret). */
export interface ClusterPublic {
  readonly version: 1;
  readonly threshold: number;
  readonly members: number;
  /** Feldman commitments, compressed G2, hex (C0 is the group key). */
  readonly commitments: readonly Hex[];
  /** The group key as `DataAnchor` takes it (EIP-2537 G2, 256 bytes). */
  readonly groupKey: Hex;
  /** The data owner's PEKS public key (compressed G1): sensors encrypt their keywords to it. */
  readonly peksPublicKey: Hex;
}

/** What a member's sealed file holds. */
export interface MemberSecret {
  readonly version: 1;
  readonly index: number;
  /** The member's key share (decimal). */
  readonly share: string;
  /** The trapdoor of "sensitive" (compressed G2, hex). */
  readonly sensitive: Hex;
  readonly tags: readonly { readonly name: string; readonly slot: number; readonly trapdoor: Hex }[];
}

/** What the data owner's sealed file holds. */
export interface OwnerSecret {
  readonly version: 1;
  /** The PEKS secret (decimal). */
  readonly peksSecret: string;
  /** The AES-256-GCM key sensors seal their payloads under (hex). */
  readonly payloadKey: Hex;
}

export const PUBLIC_FILE = "cluster.json";
export const OWNER_FILE = "owner.sealed";
export const memberFile = (index: number): string => `member-${index}.sealed`;

/**
 * Deals a cluster of `members` with threshold `threshold` into `dir`: `member-<i>.sealed` for
 * each, `owner.sealed`, then `cluster.json`. Refuses (`InvalidInputError`) when any of them
 * exists; on any failure removes what it wrote.
 */
export function dealCluster(
  backend: PairingBackend,
  dir: string,
  threshold: number,
  members: number,
  passphrase: string,
): { readonly files: readonly string[]; readonly public: ClusterPublic } {
  if (!Number.isInteger(members) || members < 1 || members > 255) {
    throw new InvalidInputError("a cluster has 1 to 255 members", { members });
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > members) {
    throw new InvalidInputError("the threshold is from 1 to the number of members", { threshold, members });
  }
  const names = [...Array.from({ length: members }, (_, i) => memberFile(i + 1)), OWNER_FILE, PUBLIC_FILE];
  mkdirSync(dir, { recursive: true });
  const taken = names.filter((n) => existsSync(join(dir, n)));
  if (taken.length > 0) throw new InvalidInputError("the folder holds a dealt cluster already", { dir, taken });

  const scheme = new ThresholdScheme(backend);
  const peks = new Peks(backend);
  const keys = runDkg(scheme, threshold, members);
  const owner = peks.keygen();
  const trapdoor = (keyword: string): Hex => toHex(backend.g2.toBytes(peks.trapdoor(owner.secret, keyword).point));
  const sensitive = trapdoor(SENSITIVE);
  const tags = [{ ...ALARM_TAG, trapdoor: trapdoor(ALARM_TAG.name) }];
  const pub: ClusterPublic = {
    version: 1,
    threshold,
    members,
    commitments: keys.commitments.points.map((p) => toHex(backend.g2.toBytes(p))),
    groupKey: toHex(g2ToEip2537(backend, scheme.groupKey(keys.commitments))),
    peksPublicKey: toHex(backend.g1.toBytes(owner.publicKey)),
  };
  // everything is sealed in a private folder first, then moved in place, the public file last
  const staging = join(dir, `.deal-${process.pid}-${Date.now()}`);
  mkdirSync(staging, { mode: 0o700 });
  const moved: string[] = [];
  try {
    for (const share of keys.shares) {
      const secret: MemberSecret = { version: 1, index: share.index, share: String(share.secret), sensitive, tags };
      sealSecret(join(staging, memberFile(share.index)), secret, passphrase);
    }
    const ownerSecret: OwnerSecret = {
      version: 1,
      peksSecret: String(owner.secret),
      payloadKey: toHex(crypto.getRandomValues(new Uint8Array(32))),
    };
    sealSecret(join(staging, OWNER_FILE), ownerSecret, passphrase);
    writeFileSync(join(staging, PUBLIC_FILE), `${JSON.stringify(pub, null, 2)}\n`, { mode: 0o644 });
    for (const n of names) {
      renameSync(join(staging, n), join(dir, n));
      moved.push(join(dir, n));
    }
  } catch (e) {
    for (const f of moved) rmSync(f, { force: true });
    throw e;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { files: moved, public: pub };
}

/** Reads and checks a cluster's public file. */
export function readPublic(file: string): ClusterPublic {
  let doc: ClusterPublic;
  try {
    doc = JSON.parse(readFileSync(file, "utf8")) as ClusterPublic;
  } catch (cause) {
    throw new InvalidInputError(`${file}: not a cluster's public file`, { file }, { cause });
  }
  const ok =
    typeof doc === "object" &&
    doc !== null &&
    doc.version === 1 &&
    Number.isInteger(doc.threshold) &&
    Number.isInteger(doc.members) &&
    Array.isArray(doc.commitments) &&
    doc.commitments.length === doc.threshold &&
    typeof doc.groupKey === "string" &&
    typeof doc.peksPublicKey === "string";
  if (!ok) throw new InvalidInputError(`${file}: not a cluster's public file`, { file });
  return doc;
}

/** The commitments of a public file as points (each checked on its curve by the backend). */
export function commitmentsOf(backend: PairingBackend, pub: ClusterPublic): Commitments {
  return {
    threshold: pub.threshold,
    points: pub.commitments.map((h) => backend.g2.fromBytes(fromHex(h, "commitment", 96))),
  };
}

/** A member's share and filter policy from its sealed file, checked against the cluster's commitments. */
export function openMember(
  backend: PairingBackend,
  file: string,
  passphrase: string,
  commitments: Commitments,
): { readonly share: KeyShare; readonly policy: FilterPolicy; readonly secret: MemberSecret } {
  const secret = openSecret<MemberSecret>(file, passphrase);
  if (secret?.version !== 1 || !Number.isInteger(secret.index) || typeof secret.share !== "string") {
    throw new InvalidInputError(`${file}: not a fog member's sealed file`, { file });
  }
  const share = { index: secret.index, secret: BigInt(secret.share) };
  const scheme = new ThresholdScheme(backend);
  if (!scheme.verifyShare(share, commitments)) {
    throw new InvalidInputError(`${file}: the key share does not verify under the cluster's commitments`, {
      file,
      index: share.index,
    });
  }
  const peks = new Peks(backend);
  const policy = filterPolicy(
    peks.trapdoorFromBytes(fromHex(secret.sensitive, "sensitive", 96)),
    secret.tags.map((t) => ({
      name: t.name,
      slot: t.slot,
      trapdoor: peks.trapdoorFromBytes(fromHex(t.trapdoor, "trapdoor", 96)),
    })),
  );
  return { share, policy, secret };
}

/** The data owner's sealed file. */
export function openOwner(file: string, passphrase: string): OwnerSecret {
  const secret = openSecret<OwnerSecret>(file, passphrase);
  if (secret?.version !== 1 || typeof secret.peksSecret !== "string" || typeof secret.payloadKey !== "string") {
    throw new InvalidInputError(`${file}: not a data owner's sealed file`, { file });
  }
  return secret;
}
