/**
 * `@strata-iot/sdk/fog` — fog clusters: encrypted readings filtered with keyword search,
 * endorsed with threshold BLS sign shares, group-signed batches anchored in `DataAnchor`, and the
 * open store (docs/secuchain.md). Loads SQLite (a fog node keeps its readings in a store).
 */
export {
  ANCHOR_DOMAIN_NAME,
  ANCHOR_DOMAIN_VERSION,
  type AnchorDeployment,
  anchorDomain,
  checkGroupKey,
  checkGroupSignature,
  checkMembers,
  checkSequence,
  checkThreshold,
  FOG_BATCH_DST,
  FOG_BATCH_TYPES,
  FOG_CLUSTER_TYPES,
  FOG_POP_DST,
  FOG_POSSESSION_DST,
  fogBatchDigest,
  type FogBatchInput,
  fogBatchMessage,
  fogClusterDigest,
  type FogClusterInput,
  fogClusterValue,
  fogPopMessage,
  possessionMessage,
  GROUP_KEY_BYTES,
  GROUP_SIGNATURE_BYTES,
  MAX_FOG_CLUSTER_MEMBERS,
  verifyGroupSignature,
} from "../core/fogBatch.ts";
export { type BatchBundle } from "../core/bundle/format.ts";
export { batchBundles, type FogBatchEvidence } from "../core/bundle/make.ts";
export {
  checkReadingSignature,
  decodeReading,
  type DeviceKey,
  deviceKey,
  makeReading,
  MAX_KEYWORDS,
  MAX_PAYLOAD,
  openPayload,
  randomDeviceKey,
  readingHash,
  sealPayload,
  type SecuReading,
  verifyingKey,
} from "../core/fog/reading.ts";
export {
  type Classification,
  classify,
  type FilterPolicy,
  filterPolicy,
  SENSITIVE,
  type TagRule,
} from "../core/fog/filter.ts";
export { checkClusterKey, type ClusterKeys, runDkg } from "../core/fog/dkg.ts";
export {
  type AccessVerifier,
  type BatchProposal,
  batchTree,
  type Endorsement,
  type FilterOutcome,
  type FilterResult,
  type FogDirectory,
  FogNode,
  type FogNodeOptions,
  registryFogDirectory,
  type FogChainView,
} from "../fog/fog-node.ts";
export {
  type AnchoredFogBatch,
  type ClusterRegistration,
  ClusterRegistrationConflictError,
  type FogAnchorPort,
  FogCluster,
  type FogClusterRegistrar,
  type FogClusterOptions,
  type FogMember,
  type MemberReport,
  type Reconciliation,
  type FogProposer,
} from "../fog/cluster.ts";
export {
  type FogBatchRecord,
  type FogRound,
  FogStore,
  type OpenQuery,
  type ReadingClass,
  type StoredReading,
  type EndorsedMessage,
  type NewReading,
} from "../store/fog-store.ts";
