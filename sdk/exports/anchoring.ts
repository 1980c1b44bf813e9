/**
 * `@strata-iot/sdk/anchoring` — Merkle-batched anchoring in `DataAnchor`: the chain of a
 * gateway's anchors and the `DataAnchorClient` (docs/anchoring.md).
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
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleCheck,
  offlineChecks,
  parseBundle,
  type ProofBundle,
  type RecordBundle,
  recordLeaf,
  serializeBundle,
} from "../core/bundle.ts";
export { type BundleState, type BundleVerdict, verifyBundle, type VerifyBundleOptions } from "../contracts/bundle.ts";
