/**
 * `@strata-iot/sdk/nbiot` — the NB-IoT data path: identity-based authentication and key
 * agreement, double encryption, flow chains with handover, base stations, acquisition with
 * proofs (docs/nbiot.md). Loads SQLite (a base station keeps its flows in a store).
 */
export {
  type ApplicationKeys,
  checkNodeKeys,
  DEFAULT_TIMING,
  encryptionIdentity,
  extractApplicationKeys,
  extractNodeKeys,
  extractStationKey,
  type IdentityKeys,
  type KeyExtractor,
  keyEpoch,
  type NbiotParams,
  nbiotParams,
  type NodeKeys,
  pkgStationKeys,
  type Role,
  signingIdentity,
  type StationKeys,
  stationKeys,
  type Timing,
} from "../core/nbiot/params.ts";
export {
  type AuthRequest,
  type AuthResponse,
  type ChainTip,
  checkAuthRequest,
  makeAuthRequest,
  makeAuthResponse,
  acceptAuthResponse,
  type OpCounter,
  type SessionSecret,
} from "../core/nbiot/handshake.ts";
export {
  type DataFrame,
  HEADER_BYTES,
  openPrimary,
  type Receipt,
  sealPrimary,
  Session,
} from "../core/nbiot/session.ts";
export { openPrimaryKey, sealPrimaryKey } from "../core/nbiot/provisioning.ts";
export {
  type BatchHeader,
  batchMessage,
  type Block,
  blockHash,
  blockLeaf,
  ciphertextDigest,
  decodeBlock,
  encodeBlock,
  ZERO_HASH,
} from "../core/nbiot/block.ts";
export {
  checkHandoverRecord,
  checkHandoverRequest,
  type HandoverRecord,
  type HandoverRequest,
  makeHandoverRecord,
  makeHandoverRequest,
  verifyHandoverRecord,
} from "../core/nbiot/handover.ts";
export {
  type AcquisitionResponse,
  type ProvenBlock,
  type ReadingProof,
  type SignedBatch,
  type VerifiedAcquisition,
  type VerifiedBlock,
  verifyAcquisition,
} from "../core/nbiot/acquisition.ts";
export { type SignedBatchHeader, verifyBatchSignature } from "../core/nbiot/batch-signature.ts";
export { type ReadingBundle } from "../core/bundle/format.ts";
export { type AnchoredAt, readingBundle } from "../core/bundle/make.ts";
export { NbiotNode, type NodeState } from "../core/nbiot/device.ts";
export {
  type FlowReading,
  type FlowRefusal,
  type FlowStep,
  type FlowTip,
  type HandedTip,
  type HandoverAsk,
  type HashedBlock,
  repeatReading,
  stepEntry,
  stepFlow,
  stepHandOver,
  stepTakeOver,
} from "../core/nbiot/flow.ts";
export {
  BaseStation,
  type BaseStationOptions,
  type IngestResult,
  type SealedBatch,
  STATION_LIMITS,
  type AnchoringOptions,
} from "../nbiot/base-station.ts";
export { type Acquisition, Application, type ApplicationOptions, type Reading } from "../nbiot/application.ts";
export { verifyOwnReading } from "../nbiot/light.ts";
export {
  type AnchorReader,
  type AnchorView,
  type AnchorHead,
  type AnchorWriter,
  cachedDirectory,
  type ChainClock,
  DIRECTORY_CACHE_ENTRIES,
  providerChainClock,
  type Directory,
  type DirectoryEntry,
  registryDirectory,
  type StationLink,
  type StationResolver,
  type ChainClockOptions,
  type DirectoryCacheOptions,
} from "../nbiot/ports.ts";
export {
  type BatchRecord,
  type FlowState,
  type NewBlock,
  SqliteFlowStore,
  type StoredBlock,
  type AnchorInfo,
  type AnchorState,
  type AnchorTx,
  type FlowStoreSummary,
} from "../store/flow-store.ts";
