/**
 * Fog batches of `DataAnchor` (seed 004 §IV, Secuchain's "verification decoding
 * phase"): the exact bytes a fog cluster's members sign, so that what a fog node
 * signs is what the contract checks.
 *
 * - A batch: the cluster's t-of-n threshold BLS group signature (min-sig, G1,
 *   `DST_MIN_SIG`) over `fogBatchMessage`, the 32-byte EIP-712 digest of
 *   `FogBatch(bytes32 cluster,uint64 sequence,bytes32 root,uint64 leafCount)` in
 *   the domain ("Strata DataAnchor", "1", chain id, anchor address). The digest
 *   binds the chain, the contract, the cluster, the batch's position in the
 *   cluster's chain (its head + 1), the root and the leaf count.
 * - The proof of possession of a group key: a group signature under
 *   `FOG_POSSESSION_DST` of `possessionMessage(groupKey)`, the key's 96-byte compressed
 *   encoding (draft-irtf-cfrg-bls-signature-05 PopProve, as
 *   `BLSSignatures.verifyPossession` checks it).
 * - A member's consent to a cluster's key: its device key's EIP-712 signature of
 *   `FogCluster(bytes32 cluster,bytes groupKey,uint8 threshold,bytes32[] members,uint32 epoch)`
 *   in the same domain (`fogClusterDigest`, or `signTypedData` with
 *   `FOG_CLUSTER_TYPES` and `fogClusterValue`).
 *
 * Pure: bytes and bigints in, bytes out, inputs checked at the boundary
 * (`InvalidInputError`, `InvalidPointError` for keys and signatures that are not
 * valid points). `DataAnchor.fogBatchDigest` / `fogClusterDigest` return the same
 * values on chain; the tests compare both sides.
 */
import { InvalidInputError } from "../errors.ts";
import { checkLeafCount, checkRoot, checkWord } from "./anchors.ts";
import { checkInteger, fromHex, type Hex, toHex } from "./bytes.ts";
import type { PairingBackend } from "./crypto/backend.ts";
import { DST_MIN_SIG, DST_MIN_SIG_POP, minSig } from "./crypto/bls-pairing.ts";
import { eip2537ToG1Bytes, eip2537ToG2Bytes } from "./crypto/eip2537.ts";
import { anchorDomain, anchorFogBatchDigest, anchorFogClusterDigest } from "./eip712.ts";

// The EIP-712 types and domain live with every other EIP-712 message.
export {
  ANCHOR_DOMAIN_NAME,
  ANCHOR_DOMAIN_VERSION,
  anchorDomain,
  FOG_BATCH_TYPES,
  FOG_CLUSTER_TYPES,
} from "./eip712.ts";

/** The hash-to-curve tag of batch signatures (the min-sig POP ciphersuite's signature tag). */
export const FOG_BATCH_DST = DST_MIN_SIG;
/** The hash-to-curve tag of proofs of possession. */
export const FOG_POSSESSION_DST = DST_MIN_SIG_POP;
/** @deprecated The former name of `FOG_POSSESSION_DST`. */
export const FOG_POP_DST = FOG_POSSESSION_DST;

/** Most members a cluster takes (`DataAnchor` refuses more). */
export const MAX_FOG_CLUSTER_MEMBERS = 64;
/** EIP-2537 encodings: a G2 group key and a G1 signature. */
export const GROUP_KEY_BYTES = 256;
export const GROUP_SIGNATURE_BYTES = 128;

/** Where a message is valid: a chain and a `DataAnchor` on it. */
export interface AnchorDeployment {
  readonly chainId: bigint;
  /** The `DataAnchor` address. */
  readonly anchor: string;
}

/** A batch to sign: the `sequence`-th link of `cluster`'s chain (its head + 1 when anchored). */
export interface FogBatchInput extends AnchorDeployment {
  readonly cluster: Hex;
  readonly sequence: bigint;
  readonly root: Hex;
  readonly leafCount: number | bigint;
}

/** A cluster's key of `epoch` (1 at registration, head epoch + 1 at a re-registration). */
export interface FogClusterInput extends AnchorDeployment {
  readonly cluster: Hex;
  /** The group key C0 = s·G2, 256-byte EIP-2537 encoding. */
  readonly groupKey: Uint8Array;
  readonly threshold: number;
  /** Member fog nodes in share-index order: `members[i]` holds share i + 1. */
  readonly members: readonly Hex[];
  readonly epoch: number;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/** A batch's position in its cluster's chain: a bigint in [1, 2^64 - 1]. */
export function checkSequence(sequence: bigint, what = "sequence"): bigint {
  if (typeof sequence !== "bigint" || sequence < 1n || sequence > MAX_UINT64) {
    throw new InvalidInputError(`${what} must be a bigint in [1, 2^64 - 1]`, { value: String(sequence) });
  }
  return sequence;
}

/** The EIP-712 digest of a fog batch, as hex (`DataAnchor.fogBatchDigest`). */
export function fogBatchDigest(input: FogBatchInput): Hex {
  const domain = anchorDomain(input.chainId, input.anchor);
  const value = {
    cluster: checkWord(input.cluster, "cluster"),
    sequence: checkSequence(input.sequence),
    root: checkRoot(input.root),
    leafCount: checkLeafCount(input.leafCount),
  };
  return anchorFogBatchDigest(domain, value);
}

/**
 * The 32 bytes a fog cluster's members sign (each with
 * `ThresholdScheme.partialSign(share, message)`, default tag `DST_MIN_SIG`) and
 * `anchorFogBatch` checks the combined group signature against.
 */
export function fogBatchMessage(input: FogBatchInput): Uint8Array {
  return fromHex(fogBatchDigest(input), "digest", 32);
}

/** The typed-data value a member's key signs to approve a cluster's key (with `FOG_CLUSTER_TYPES`). */
export function fogClusterValue(input: FogClusterInput): Record<string, unknown> {
  checkInteger(input.epoch, 1, 2 ** 32 - 1, "epoch");
  const members = checkMembers(input.members, input.cluster);
  checkThreshold(input.threshold, members.length);
  return {
    cluster: checkWord(input.cluster, "cluster"),
    groupKey: toHex(checkGroupKey(input.groupKey)),
    threshold: input.threshold,
    members,
    epoch: input.epoch,
  };
}

/** The EIP-712 digest each member's key signs (`DataAnchor.fogClusterDigest`). */
export function fogClusterDigest(input: FogClusterInput): Hex {
  const value = fogClusterValue(input);
  return anchorFogClusterDigest(anchorDomain(input.chainId, input.anchor), {
    cluster: value.cluster as Hex,
    groupKey: value.groupKey as Hex,
    threshold: value.threshold as number,
    members: value.members as Hex[],
    epoch: value.epoch as number,
  });
}

/**
 * The message of a group key's proof of possession: its 96-byte compressed
 * encoding. Members sign it with `partialSign(share, message, DST_MIN_SIG_POP)`
 * and `combine(commitments, message, partials, DST_MIN_SIG_POP)` makes the proof.
 */
export function possessionMessage(groupKey: Uint8Array): Uint8Array {
  return eip2537ToG2Bytes(bytesOf(groupKey, GROUP_KEY_BYTES, "groupKey"));
}

/** @deprecated The former name of `possessionMessage`. */
export const fogPopMessage = possessionMessage;

/**
 * Checks a group key's EIP-2537 encoding (256 bytes, padded coordinates below p)
 * and that it is a point of G2 other than the identity; returns it.
 */
export function checkGroupKey(groupKey: Uint8Array, what = "groupKey"): Uint8Array {
  eip2537ToG2Bytes(bytesOf(groupKey, GROUP_KEY_BYTES, what));
  return groupKey;
}

/**
 * Checks a group signature's (or a proof of possession's) EIP-2537 encoding and
 * that it is a point of G1 other than the identity; returns it.
 */
export function checkGroupSignature(signature: Uint8Array, what = "groupSignature"): Uint8Array {
  eip2537ToG1Bytes(bytesOf(signature, GROUP_SIGNATURE_BYTES, what));
  return signature;
}

/**
 * Whether `signature` (128-byte EIP-2537 G1) is the group signature of the key `groupKey`
 * (256-byte EIP-2537 G2) over `message` (e.g. `fogBatchMessage`), under `FOG_BATCH_DST`: the
 * check `DataAnchor.anchorFogBatch` makes on chain, off chain on `backend`. A malformed key or
 * signature throws (`InvalidInputError`, `InvalidPointError`).
 */
export function verifyGroupSignature(
  backend: PairingBackend,
  groupKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = eip2537ToG2Bytes(bytesOf(groupKey, GROUP_KEY_BYTES, "groupKey"));
  const sig = eip2537ToG1Bytes(bytesOf(signature, GROUP_SIGNATURE_BYTES, "groupSignature"));
  return minSig(backend).verify(key, message, sig);
}

/** Members as lowercase 32-byte words: 1 to 64, distinct, none of them the cluster. */
export function checkMembers(members: readonly Hex[], cluster: Hex): Hex[] {
  if (!Array.isArray(members) || members.length < 1 || members.length > MAX_FOG_CLUSTER_MEMBERS) {
    throw new InvalidInputError(`members must be an array of 1 to ${MAX_FOG_CLUSTER_MEMBERS} ids`, {
      members: Array.isArray(members) ? members.length : typeof members,
    });
  }
  const id = checkWord(cluster, "cluster");
  const words = members.map((m, i) => checkWord(m, `members[${i}]`));
  words.forEach((w, i) => {
    if (w === id) throw new InvalidInputError("a cluster cannot be its own member", { index: i });
    if (words.indexOf(w) !== i) throw new InvalidInputError("members must be distinct", { member: w, index: i });
  });
  return words;
}

/** A threshold t in [1, members]. */
export function checkThreshold(threshold: number, members: number): void {
  checkInteger(threshold, 1, Math.max(1, members), "threshold");
}

// ------------------------------------------------------------------ private

function bytesOf(value: Uint8Array, length: number, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidInputError(`${what} must be a Uint8Array`, { what });
  if (value.length !== length) {
    throw new InvalidInputError(`${what} must be ${length} bytes (EIP-2537), got ${value.length}`, { what });
  }
  return value;
}
