/**
 * Portable proof bundles, version 1 (`format: "strata-proof"`): one JSON document per thing
 * proved, with everything a verifier needs to check it offline, then on the chain. `kind` says
 * what was proved:
 *
 * - `record` — a record's keccak-256 anchored as a leaf of a gateway's batch (`strata anchor`);
 * - `reading` — a base station's reading on the NB-IoT data path (seed 000): the flow-chain
 *   block, its Merkle path to the batch root, the station's Cha–Cheon IBS signature of the batch
 *   (with the PKG's master public key and key epoch to check it), and the root's anchor;
 * - `batch` — one reading of a fog cluster's sensitive batch (seed 004): the reading, its Merkle
 *   path to the batch root, the cluster's threshold (group) BLS signature of the batch with the
 *   group public key, and the root's anchor (one bundle per reading: a reading is what a user
 *   holds and needs to prove; the batch itself is proved by the same root and signature);
 * - `summary` — a layer's summary Sum(M) in a contract block of its `SummaryLedger` (seed 003):
 *   the summary (and M with its time, when given), the block, the quorum attestation (aggregate
 *   BLS) that opened the block with the signers' keys, and the transaction that recorded it. A
 *   ledger keeps each summary in its own slot: there is no Merkle path.
 *
 * Chain values (chain id, sequences, times that may pass 2^53) are decimal strings in JSON and
 * bigints here; bytes are lower-case hex. The fields are documented in docs/cli.md.
 */
import type { Hex } from "../bytes.ts";

export const BUNDLE_FORMAT = "strata-proof";
export const BUNDLE_VERSION = 1;
/** The kinds of proof a version-1 bundle carries. */
export const BUNDLE_KINDS = ["record", "reading", "batch", "summary"] as const;
export type BundleKind = (typeof BUNDLE_KINDS)[number];

interface Envelope<K extends BundleKind> {
  readonly format: typeof BUNDLE_FORMAT;
  readonly version: typeof BUNDLE_VERSION;
  readonly kind: K;
}

/** A leaf's path to a batch root (OpenZeppelin `StandardMerkleTree`: siblings, leaf to root). */
export interface MerklePath {
  readonly root: Hex;
  readonly leafCount: number;
  readonly proof: readonly Hex[];
}

/** Where a batch root was anchored in `DataAnchor`. */
export interface AnchorLocation {
  readonly chainId: bigint;
  /** The `DataAnchor` address (a verifier trusts its own, never this one). */
  readonly contract: string;
  /** The gateway whose chain holds the root: the station (`reading`), the cluster (`batch`). */
  readonly gateway: Hex;
  /** The root's position in that chain. */
  readonly sequence: bigint;
  readonly transaction: Hex;
  readonly block: number;
}

/** A record anchored as a leaf of one gateway's batch. */
export interface RecordBundle extends Envelope<"record"> {
  /** What was proved: the keccak-256 of the record's bytes, and optionally its name. */
  readonly record: { readonly hash: Hex; readonly name?: string };
  /** The leaf: `keccak256(keccak256(record.hash))`, OpenZeppelin's `StandardMerkleTree` of one `bytes32`. */
  readonly leaf: Hex;
  readonly merkle: MerklePath;
  readonly anchor: AnchorLocation;
}

/** A base station's reading: a block of a node's flow chain, in a batch the station signed and anchored. */
export interface ReadingBundle extends Envelope<"reading"> {
  /** What was proved: the 145-byte flow-chain block (node, station, sequence, time, ciphertext digest, previous hash) and its hash. */
  readonly reading: { readonly block: Hex; readonly hash: Hex };
  /** `keccak256(keccak256(reading.hash))`. */
  readonly leaf: Hex;
  readonly merkle: MerklePath;
  /** The station's signature of its batch (`batchMessage` of station, batch number, root, leaf count, time). */
  readonly station: {
    /** The station's batch number. */
    readonly batch: number;
    /** When the station sealed the batch (ms): names the key epoch it signed with. */
    readonly time: number;
    /** Cha–Cheon IBS, U ‖ V (96 bytes). */
    readonly signature: Hex;
    /** What checks it: the PKG's master public key (compressed G2, 96 bytes) and the key epoch length (ms). */
    readonly pkg: { readonly masterPublic: Hex; readonly keyEpochMs: number };
  };
  /** `anchor.gateway` is the station. */
  readonly anchor: AnchorLocation;
}

/** One reading of a fog cluster's sensitive batch, group-signed by the cluster and anchored. */
export interface BatchBundle extends Envelope<"batch"> {
  /** What was proved: the encoded Secuchain reading (device-signed, payload sealed for its owner) and its hash. */
  readonly reading: { readonly bytes: Hex; readonly hash: Hex };
  /** `keccak256(keccak256(reading.hash))`. */
  readonly leaf: Hex;
  readonly merkle: MerklePath;
  /**
   * The cluster's group signature (128-byte EIP-2537 G1) over `fogBatchMessage` (chain id,
   * contract, cluster, sequence, root, leaf count) and its group key (256-byte EIP-2537 G2).
   */
  readonly cluster: { readonly groupKey: Hex; readonly signature: Hex };
  /** `anchor.gateway` is the cluster, `anchor.sequence` the batch's. */
  readonly anchor: AnchorLocation;
}

/** A first communication's request as the layer's quorum attested it (`OpenRequest`; times in seconds). */
export interface OpenRequestFields {
  readonly summary: Hex;
  readonly sourceLayer: Hex;
  readonly route: Hex;
  readonly responsible: string;
  readonly expiry: bigint;
  readonly deadline: bigint;
}

/** How a contract block was opened: the attested request, the quorum's signature and the signers' keys. */
export interface SummaryOpening {
  readonly request: OpenRequestFields;
  /** The signer bitmap (bit i = member i) and the aggregate signature (128-byte EIP-2537 G1). */
  readonly attestation: { readonly signers: bigint; readonly signature: Hex };
  /** Each signer's key as the ledger holds it (256-byte EIP-2537 G2), by member index. */
  readonly keys: readonly { readonly index: number; readonly publicKey: Hex }[];
  /** The `open` transaction and its block. */
  readonly transaction: Hex;
  readonly block: number;
}

/** A layer's summary in a contract block of its ledger. */
export interface SummaryBundle extends Envelope<"summary"> {
  /** What was proved: Sum(M), and M with its time when the bundle discloses them. */
  readonly summary: { readonly value: Hex; readonly message?: Hex; readonly time?: bigint };
  /** The layer and the contract block (its id: the opener's address, then its local sequence). */
  readonly layer: { readonly id: Hex; readonly blockId: Hex };
  readonly opening: SummaryOpening;
  /** The ledger and the transaction that put the summary into the block (the `open` for the first summary). */
  readonly anchor: {
    readonly chainId: bigint;
    readonly contract: string;
    readonly transaction: Hex;
    readonly block: number;
  };
}

export type ProofBundle = RecordBundle | ReadingBundle | BatchBundle | SummaryBundle;

/** One check of a bundle and its outcome. */
export interface BundleCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}
