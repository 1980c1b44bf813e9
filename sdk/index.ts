/**
 * Strata SDK: the pure core (ids, profiles, EIP-712 messages, labels, peer
 * authentication, provenance replay) and typed contract clients.
 */
export { concat, fromHex, type Hex, toHex } from "./core/bytes.ts";
export {
  type AccessRequestMessage,
  accessRequestTypedDigest,
  anchorFogBatchDigest,
  anchorFogClusterDigest,
  type CompactSignature,
  type FogBatchMessage,
  type FogClusterMessage,
  LEDGER_DOMAIN_NAME,
  LEDGER_DOMAIN_VERSION,
  LEDGER_INVALIDATE_TYPES,
  LEDGER_JOIN_TYPES,
  LEDGER_LINK_TYPES,
  LEDGER_OPEN_TYPES,
  LEDGER_REATTACH_TYPES,
  LEDGER_SUPERIOR_LOST_TYPES,
  LEDGER_TAKE_OVER_TYPES,
  ledgerDomain,
  ledgerInvalidateDigest,
  ledgerJoinDigest,
  type LedgerLinkMessage,
  ledgerLinkDigest,
  type LedgerOpenMessage,
  ledgerOpenDigest,
  ledgerReattachDigest,
  ledgerSuperiorLostDigest,
  ledgerTakeOverDigest,
  PEER_CHALLENGE_TYPES,
  type PeerChallenge,
  peerChallengeDigest,
  REGISTRATION_TYPES,
  type RegistrationMessage,
  registrationDigest,
  registryDomain,
  REGISTRY_DOMAIN_NAME,
  REGISTRY_DOMAIN_VERSION,
  REKEY_TYPES,
  rekeyDigest,
  typedDataDigest,
  type TypedDataTypes,
} from "./core/eip712.ts";
export { checkLayer, deviceId, formatUuid, layerHash, localIdWord, parseUuid, type Uuid } from "./core/ids.ts";
export {
  DEFAULT_LABEL_POLICY,
  type DeviceTraits,
  Label,
  LABEL_NAMES,
  type LabelPolicy,
  type LabelRecommendation,
  recommendLabel,
} from "./core/labels.ts";
export {
  checkPeerResponse,
  DEFAULT_FRESHNESS,
  type FreshnessPolicy,
  newChallenge,
  type ProverState,
} from "./core/peer.ts";
export {
  checkProfile,
  decodeProfile,
  encodeProfile,
  isUnderClass,
  minimalProfile,
  type Profile,
  profileHash,
} from "./core/profile.ts";
export { buildRegistration, type RegistrationInput } from "./core/registration.ts";
export {
  type DeviceRecord,
  type HistoryEntry,
  Kind,
  KIND_NAMES,
  MAX_TRUST,
  type RegistryConfig,
  replayHistory,
  type ReplayedRecord,
  reportersToSanction,
  sortHistory,
  Status,
  STATUS_NAMES,
  ZERO_ID,
} from "./core/registry.ts";
export {
  type BatchChunk,
  type BatchRegistration,
  compactSignature,
  DeviceRegistryClient,
  EIP7825_GAS_CAP,
  type HistoryRange,
  parseRegistryReceipt,
} from "./contracts/registry.ts";
export {
  type ClientOptions,
  type ContractEvent,
  ContractClient,
  type ContractSpec,
  eventArg,
  type LogsOf,
  parseEvent,
  receiptEvents,
  type RegistryEvent,
  type SentTx,
  txResult,
  type TxResult,
} from "./contracts/client.ts";
export { LogReader, type LogReaderOptions, type LogWindow } from "./contracts/logs.ts";
export { decodeRevert } from "./contracts/revert.ts";
export {
  ConfigError,
  ContractRevertError,
  DecryptionError,
  type ErrorDetails,
  FeeCapError,
  InvalidInputError,
  InvalidPointError,
  type PointRejection,
  ThresholdError,
  PeerAuthenticationError,
  type PeerRejection,
  ProtocolError,
  type ProtocolRejection,
  NoCodeError,
  StoreError,
  type StoreRejection,
  StrataError,
  TimeoutError,
  TransportError,
  TxRejectedError,
  WrongChainError,
} from "./errors.ts";

// Pairing cryptography (docs/crypto.md)
export { AeadKey, hkdf } from "./core/crypto/aead.ts";
export {
  type G1,
  type G2,
  type GroupOps,
  mclBackend,
  nobleBackend,
  type PairingBackend,
} from "./core/crypto/backend.ts";
export {
  type BlsScheme,
  DST_MIN_PK,
  DST_MIN_PK_POP,
  DST_MIN_SIG,
  DST_MIN_SIG_POP,
  minPk,
  minPkOn,
  minSig,
  type SignedMessage,
} from "./core/crypto/bls.ts";
export { g1ToEip2537, g2ToEip2537 } from "./core/crypto/eip2537.ts";
export { BonehFranklinKem, ENCAPSULATION_BYTES, type Encapsulation } from "./core/crypto/ibe.ts";
export { ChaCheonIbs, DST_IBS_H2, type IbsSignature } from "./core/crypto/ibs.ts";
export { checkPrivateKey, DST_IDENTITY, identityPoint, Pkg, ThresholdPkg } from "./core/crypto/identity.ts";
export { keygen } from "./core/crypto/keygen.ts";
export { DST_PEKS_H1, Peks, PEKS_BYTES, type Trapdoor } from "./core/crypto/peks.ts";
export { hashToScalar, randomScalar, scalarFromBytes, scalarToBytes } from "./core/crypto/scalar.ts";
export { type Commitments, type KeyShare, type PartialSignature, ThresholdScheme } from "./core/crypto/threshold.ts";

// Data anchoring: DataAnchor's chain model and client (docs/anchoring.md)
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
} from "./core/anchors.ts";
export {
  type AnchorHistoryRange,
  anchoredEntries,
  type AnchorResult,
  DataAnchorClient,
  parseAnchorReceipt,
  DEFAULT_LOG_CHUNK,
  type MinedTx,
  type SignedTx,
} from "./contracts/anchor.ts";
export {
  type ChainOptions,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_RECEIPT_TIMEOUT_MS,
  DeploymentCheck,
  withDeadline,
} from "./contracts/chain.ts";
export {
  anchorVerdict,
  type AnchorVerdict,
  checkFinality,
  confirmedBlock,
  DEFAULT_FINALITY_DEPTH,
  type Finality,
  finalBlockTag,
} from "./core/finality.ts";

// The NB-IoT data path, seed 000 (docs/nbiot.md): pure protocol steps, then the roles
export { checkFresh, checkNotAhead, TOLERATED_SKEW_MS } from "./core/clock.ts";
export { LruMap } from "./core/lru.ts";
export {
  buildTree,
  bytes32Leaves,
  bytes32ValuesHash,
  leafHash,
  leafOfValuesHash,
  leafValuesHash,
  MAX_LEAVES,
  type MerkleTree,
  type MultiProof,
  verifyMultiProof,
  verifyProof,
} from "./core/merkle.ts";
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
} from "./core/nbiot/params.ts";
export {
  type AuthRequest,
  type AuthResponse,
  type ChainTip,
  checkAuthRequest,
  makeAuthRequest,
  makeAuthResponse,
  acceptAuthResponse,
  type OpCounter,
  ReplayGuard,
  type SessionSecret,
} from "./core/nbiot/handshake.ts";
export { type DataFrame, openPrimary, type Receipt, sealPrimary, Session } from "./core/nbiot/session.ts";
export { openPrimaryKey, sealPrimaryKey } from "./core/nbiot/provisioning.ts";
export {
  type BatchHeader,
  batchMessage,
  type Block,
  blockHash,
  blockLeaf,
  ciphertextDigest,
  decodeBlock,
  encodeBlock,
} from "./core/nbiot/block.ts";
export {
  checkHandoverRecord,
  checkHandoverRequest,
  type HandoverRecord,
  type HandoverRequest,
  makeHandoverRecord,
  makeHandoverRequest,
  verifyHandoverRecord,
} from "./core/nbiot/handover.ts";
export {
  type AcquisitionResponse,
  type ProvenBlock,
  type SignedBatch,
  type VerifiedAcquisition,
  type VerifiedBlock,
  verifyAcquisition,
} from "./core/nbiot/acquisition.ts";
export { NbiotNode, type NodeState } from "./core/nbiot/device.ts";
export {
  BaseStation,
  type BaseStationOptions,
  type IngestResult,
  type ReadingProof,
  type SealedBatch,
  STATION_LIMITS,
} from "./nbiot/base-station.ts";
export { type Acquisition, Application, type ApplicationOptions, type Reading } from "./nbiot/application.ts";
export { verifyOwnReading } from "./nbiot/light.ts";
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
} from "./nbiot/ports.ts";
export { type BatchRecord, type FlowState, SqliteFlowStore, type StoredBlock } from "./store/flow-store.ts";
export { type OpenMode, type StoreIdentity, type StoreKind, type StoreOpenOptions } from "./store/sqlite.ts";

// Secuchain token-based access control, seed 004 §IV (docs/access.md)
export {
  ACCESS_DOMAIN_NAME,
  ACCESS_DOMAIN_VERSION,
  ACCESS_REQUEST_TYPES,
  accessDomain,
  type AccessGrant,
  type AccessPolicy,
  type AccessRequest,
  type AccessRequestInput,
  accessRequestDigest,
  accessScope,
  checkAccessRequest,
  checkAccessRequestShape,
  checkAccount,
  checkTokenId,
  DEFAULT_ACCESS_POLICY,
  newAccessRequest,
  type NonceCache,
  type ShiftFacts,
  signAccessRequest,
} from "./core/access.ts";
export {
  ACCESS_EVENTS,
  type AccessHistoryRange,
  AccessTokensClient,
  parseAccessReceipt,
  type Shift,
  type TokenState,
  type VerifyAccessOptions,
} from "./contracts/access.ts";
export { type AccessDenial, AccessDeniedError } from "./errors.ts";

// Fog clusters and group-signed fog batches in DataAnchor, seed 004 (docs/anchoring.md)
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
  fogBatchDigest,
  type FogBatchInput,
  fogBatchMessage,
  fogClusterDigest,
  type FogClusterInput,
  fogClusterValue,
  fogPopMessage,
  GROUP_KEY_BYTES,
  GROUP_SIGNATURE_BYTES,
  MAX_FOG_CLUSTER_MEMBERS,
} from "./core/fogBatch.ts";
export {
  type BytesInput,
  type FogBatchToSign,
  type FogClusterInfo,
  type FogClusterRegistration,
  type FogClusterResult,
} from "./contracts/anchor.ts";

// Secuchain's fog layer, seed 004 (docs/secuchain.md)
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
} from "./core/fog/reading.ts";
export {
  type Classification,
  classify,
  type FilterPolicy,
  filterPolicy,
  SENSITIVE,
  type TagRule,
} from "./core/fog/filter.ts";
export { checkClusterKey, type ClusterKeys, runDkg } from "./core/fog/dkg.ts";
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
} from "./fog/fog-node.ts";
export {
  type AnchoredFogBatch,
  type FogAnchorPort,
  FogCluster,
  type FogClusterOptions,
  type FogMember,
  type MemberReport,
  type Reconciliation,
} from "./fog/cluster.ts";
export {
  type FogBatchRecord,
  type FogRound,
  FogStore,
  type OpenQuery,
  type ReadingClass,
  type StoredReading,
} from "./store/fog-store.ts";

// ---- seed 003 layers: quorum attestations, packets, the SummaryLedger client
export {
  aggregateAttestation,
  attest,
  type Attestation,
  MAX_LAYER_MEMBERS,
  memberKeyMaterial,
  type MemberKeyMaterial,
  type PartialAttestation,
  partialAttestation,
  quorumOf,
  signerBitmap,
  signerIndices,
} from "./core/layers/attestation.ts";
export {
  checkSummary,
  decodePacket,
  encodePacket,
  followUp,
  forward,
  isFirstCommunication,
  newPacket,
  nextBlockId,
  type Packet,
  PacketError,
  type PacketRejection,
  routeHash,
  sourceLayer,
  summaryOf,
} from "./core/layers/packet.ts";
export {
  challengeDigest,
  type ContractMessage,
  decodeContractMessage,
  encodeContractMessage,
  packetDigest,
} from "./core/layers/contract.ts";
export {
  type BlockProof,
  type LedgerBlock,
  type LedgerBytes,
  type LedgerEscrow,
  type LedgerLayerLink,
  type LedgerMemberKey,
  type LedgerOpenRequest,
  type LedgerTx,
  type OpenOutcome,
  type OpenResult,
  parseLedgerReceipt,
  type RecordResult,
  SummaryLedgerClient,
  type TakeOverResult,
} from "./contracts/ledger.ts";

// ---- seed 003 edge layers: the central node's object database
export {
  type ContractRecord,
  type DeliveryRecord,
  type FormatDocument,
  type FunctionDescriptor,
  type JsonObject,
  type JsonValue,
  MAX_OBJECT_JSON_BYTES,
  type NewObject,
  type ObjectPatch,
  type ObjectQuery,
  ObjectStore,
  ObjectStoreError,
  type ObjectStoreOptions,
  type ObjectStoreRejection,
  type StoredObject,
} from "./store/object-store.ts";

// ---- seed 003 layers at work: edge central nodes, layer members, the router
export { type Delivery, EdgeNode, type EdgeNodeOptions } from "./layers/edge-node.ts";
export {
  type EstablishedLayer,
  establishLayer,
  type EstablishOptions,
  type LayerMemberSetup,
  NO_LAYER,
} from "./layers/establish.ts";
export { type EdgePlan, establishHierarchy, type Hierarchy, type LayerPlan } from "./layers/hierarchy.ts";
export {
  type ExaminedNode,
  type LayerAlarm,
  LayerNode,
  type LayerNodeOptions,
  type PeerExamination,
  type SuperiorExamination,
} from "./layers/layer-node.ts";
export {
  type Challenge,
  checkLedgerHolds,
  type ContractEnds,
  type Hop,
  LayerError,
  type LayerPeer,
  type LayerRejection,
  LedgerDirectory,
  type Transmission,
} from "./layers/network.ts";
export { LayerRouter, type RouteResult } from "./layers/router.ts";
