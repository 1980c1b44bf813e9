/**
 * Making proof bundles from what the SDK already hands out: the records of `strata anchor` and
 * their tree; a station's `ReadingProof` (`BaseStation.proof`) or an application's verified
 * `Reading` (`Application.acquire`); a fog cluster's `AnchoredFogBatch` (`FogCluster.anchorNext`);
 * a layer's summary with its block's opening (`SummaryLedgerClient.openingEvidence`). Pure: what
 * only the chain knows (where a root is anchored, a cluster's key, a block's opening) is given;
 * `DataAnchorClient.readingBundle` / `batchBundles` and `SummaryLedgerClient.proofBundle` read it
 * and call these.
 */
import { InvalidInputError } from "../../errors.ts";
import { type Hex, toHex } from "../bytes.ts";
import { batchTree, readingHash } from "../fog/reading-bytes.ts";
import type { MerkleTree } from "../merkle.ts";
import type { SignedBatchHeader } from "../nbiot/batch-signature.ts";
import { blockHash, decodeBlock } from "../nbiot/block.ts";
import type { NbiotParams } from "../nbiot/params.ts";
import {
  type AnchorLocation,
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BatchBundle,
  type ReadingBundle,
  type RecordBundle,
  type SummaryBundle,
  type SummaryOpening,
} from "./format.ts";
import { bytes32Leaf } from "./offline.ts";

/** Where a root was anchored, as the chain tells it (an `AnchorResult`, an `AnchorEntry`, a mined transaction). */
export interface AnchoredAt {
  readonly chainId: bigint;
  /** The `DataAnchor` address. */
  readonly contract: string;
  readonly sequence: bigint;
  readonly transaction: string;
  readonly block: number;
}

const head = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION } as const;

function location(at: AnchoredAt, gateway: Hex): AnchorLocation {
  return {
    chainId: at.chainId,
    contract: at.contract,
    gateway: gateway.toLowerCase() as Hex,
    sequence: at.sequence,
    transaction: at.transaction.toLowerCase() as Hex,
    block: at.block,
  };
}

/** One bundle per record of `tree` (its leaves in `records`' order), anchored by `gateway` at `at`. */
export function recordBundles(
  records: readonly { readonly hash: Hex; readonly name?: string }[],
  tree: MerkleTree,
  gateway: Hex,
  at: AnchoredAt,
): RecordBundle[] {
  if (records.length !== tree.leafCount) {
    throw new InvalidInputError("one record per leaf of the tree", { records: records.length, leaves: tree.leafCount });
  }
  return records.map((r, i) => recordBundle(r, i, tree, gateway, at));
}

/**
 * The bundle of record `index` alone, for writers that stream bundles one by one (a million
 * records do not fit in memory as bundles). `tree` must be built from the records' leaves
 * (`recordLeaf`) in order; the leaf is taken from it, so a record that is not the tree's fails
 * the bundle's own `leaf` check.
 */
export function recordBundle(
  record: { readonly hash: Hex; readonly name?: string },
  index: number,
  tree: MerkleTree,
  gateway: Hex,
  at: AnchoredAt,
): RecordBundle {
  const hash = record.hash.toLowerCase() as Hex;
  return {
    ...head,
    kind: "record",
    record: record.name === undefined ? { hash } : { hash, name: record.name },
    leaf: tree.leaf(index),
    merkle: { root: tree.root, leafCount: tree.leafCount, proof: tree.proof(index) },
    anchor: location(at, gateway),
  };
}

/**
 * The bundle of a station's reading: a `ReadingProof` (`BaseStation.proof`, what a light node
 * gets) or a verified `Reading` (`Application.acquire`), both carrying the encoded block, the
 * station's signed batch and the Merkle path. `params` are the data path's (the PKG's master
 * key and key epoch go into the bundle); `at` is the batch root's anchor by the block's station.
 */
export function readingBundle(
  params: NbiotParams,
  proof: { readonly block: Uint8Array; readonly batch: SignedBatchHeader; readonly proof: readonly Hex[] },
  at: AnchoredAt,
): ReadingBundle {
  const block = decodeBlock(proof.block);
  const hash = toHex(blockHash(block));
  const { batch } = proof;
  return {
    ...head,
    kind: "reading",
    reading: { block: toHex(proof.block), hash },
    leaf: bytes32Leaf(hash),
    merkle: { root: batch.root.toLowerCase() as Hex, leafCount: batch.leafCount, proof: [...proof.proof] },
    station: {
      batch: batch.number,
      time: batch.time,
      signature: toHex(batch.signature),
      pkg: {
        masterPublic: toHex(params.backend.g2.toBytes(params.masterPublic)),
        keyEpochMs: params.timing.keyEpochMs,
      },
    },
    anchor: location(at, block.bs),
  };
}

/** A fog cluster's anchored batch as `FogCluster.anchorNext` returns it (`AnchoredFogBatch`). */
export interface FogBatchEvidence {
  readonly sequence: bigint;
  readonly root: Hex;
  readonly leafCount: number;
  /** The group signature (128-byte EIP-2537 G1). */
  readonly signature: Uint8Array;
  /** The batch's encoded readings, in leaf order. */
  readonly readings: readonly Uint8Array[];
  readonly txHash: string;
  /** The block that mined the anchor, when known. */
  readonly blockNumber?: number;
}

/**
 * One bundle per reading of a fog cluster's anchored batch. `cluster` is the cluster's id, its
 * group key (256-byte EIP-2537 G2, `DataAnchorClient.fogCluster(id).groupKey`) and where it
 * anchors (chain id, `DataAnchor`); `block` is the anchor's block when `batch.blockNumber` is not
 * known. Refused (`InvalidInputError`) when the readings do not make the batch's root.
 */
export async function batchBundles(
  batch: FogBatchEvidence,
  cluster: {
    readonly id: Hex;
    readonly groupKey: Uint8Array | Hex;
    readonly chainId: bigint;
    readonly contract: string;
  },
  block: number | undefined = batch.blockNumber,
): Promise<BatchBundle[]> {
  if (block === undefined) throw new InvalidInputError("the block of the batch's anchor is needed");
  const tree = await batchTree(batch.readings);
  if (tree.root !== batch.root.toLowerCase() || tree.leafCount !== batch.leafCount) {
    throw new InvalidInputError("the readings do not make the batch's root", { root: batch.root, made: tree.root });
  }
  const at = location(
    {
      chainId: cluster.chainId,
      contract: cluster.contract,
      sequence: batch.sequence,
      transaction: batch.txHash,
      block,
    },
    cluster.id,
  );
  const groupKey =
    typeof cluster.groupKey === "string" ? (cluster.groupKey.toLowerCase() as Hex) : toHex(cluster.groupKey);
  return batch.readings.map((bytes, i) => {
    const hash = toHex(readingHash({ bytes }));
    return {
      ...head,
      kind: "batch",
      reading: { bytes: toHex(bytes), hash },
      leaf: bytes32Leaf(hash),
      merkle: { root: tree.root, leafCount: tree.leafCount, proof: tree.proof(i) },
      cluster: { groupKey, signature: toHex(batch.signature) },
      anchor: at,
    };
  });
}

/** What a summary bundle is made of (see `SummaryLedgerClient.proofBundle`, which reads it from the ledger). */
export interface SummaryEvidence {
  readonly chainId: bigint;
  /** The layer's `SummaryLedger`. */
  readonly ledger: string;
  readonly layerId: Hex;
  readonly blockId: Hex;
  /** Sum(M). */
  readonly summary: Hex;
  /** M and its time, to disclose them (both or neither). */
  readonly message?: Uint8Array;
  readonly time?: bigint;
  readonly opening: SummaryOpening;
  /** The transaction that recorded the summary into the block (the `open` for the first one) and its block. */
  readonly transaction: string;
  readonly block: number;
}

/** The bundle of a layer's summary. */
export function summaryBundle(e: SummaryEvidence): SummaryBundle {
  if ((e.message === undefined) !== (e.time === undefined)) {
    throw new InvalidInputError("give the message and its time, or neither");
  }
  return {
    ...head,
    kind: "summary",
    summary: {
      value: e.summary.toLowerCase() as Hex,
      ...(e.message === undefined ? {} : { message: toHex(e.message), time: e.time! }),
    },
    layer: { id: e.layerId.toLowerCase() as Hex, blockId: e.blockId.toLowerCase() as Hex },
    opening: e.opening,
    anchor: {
      chainId: e.chainId,
      contract: e.ledger,
      transaction: e.transaction.toLowerCase() as Hex,
      block: e.block,
    },
  };
}
