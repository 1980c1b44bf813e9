/**
 * `@strata-iot/sdk/anchoring` — Merkle-batched anchoring in `DataAnchor`: the chain of a
 * gateway's anchors and the `DataAnchorClient` (docs/anchoring.md); portable proof bundles of
 * every kind (record, station reading, fog batch, layer summary), how they are made, and their
 * one verifier, `verifyBundle` (docs/cli.md). Loads no Node built-in and no native module: the
 * verifier runs in a browser too.
 */
export {
  AnchorChainError,
  type AnchorChainFault,
  type AnchorEntry,
  type AnchorRecord,
  checkAnchorChain,
  checkLeafCount,
  checkRoot,
  type ChainBounds,
  MAX_LEAF_COUNT,
  sortAnchorEntries,
} from "../core/anchors.ts";
export {
  type AnchorHistoryRange,
  anchoredEntries,
  type AnchorResult,
  DataAnchorClient,
  parseAnchorReceipt,
  DEFAULT_LOG_CHUNK,
  type MinedTx,
  type SignedTx,
  type AnchorFees,
} from "../contracts/anchor.ts";
export {
  type BytesInput,
  type FogBatchToSign,
  type FogClusterInfo,
  type FogClusterRegistration,
  type FogClusterResult,
} from "../contracts/anchor.ts";
export {
  type AnchorLocation,
  BUNDLE_FORMAT,
  BUNDLE_KINDS,
  BUNDLE_VERSION,
  type BatchBundle,
  type BundleCheck,
  type BundleKind,
  type MerklePath,
  type OpenRequestFields,
  type ProofBundle,
  type ReadingBundle,
  type RecordBundle,
  type SummaryBundle,
  type SummaryOpening,
} from "../core/bundle/format.ts";
export { parseBundle, serializeBundle } from "../core/bundle/parse.ts";
export { bytes32Leaf, offlineChecks, type OfflineOptions, recordLeaf } from "../core/bundle/offline.ts";
export {
  type AnchoredAt,
  batchBundles,
  type FogBatchEvidence,
  readingBundle,
  recordBundle,
  recordBundles,
  summaryBundle,
  type SummaryEvidence,
} from "../core/bundle/make.ts";
export {
  type BundleState,
  type BundleVerdict,
  type TrustedContracts,
  verifyBundle,
  type VerifyBundleOptions,
} from "../contracts/bundle.ts";
