/**
 * `@strata-iot/sdk/layers` — multi-layer contract-summary anchoring: packets, quorum attestations,
 * the `SummaryLedger` client, edge and layer nodes, the router (docs/layers.md). Loads SQLite (an
 * edge node keeps its objects in a store).
 */
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
  verifyAttestation,
} from "../core/layers/attestation.ts";
export { type SummaryBundle, type SummaryOpening } from "../core/bundle/format.ts";
export { summaryBundle, type SummaryEvidence } from "../core/bundle/make.ts";
export {
  acceptsSuperiorLost,
  answersAsLayer,
  hasMember,
  isInvalidVerdict,
  isQuorum,
  isUnanimous,
  memberCount,
  type MemberVerdict,
  quorumAmong,
  superiorStatus,
  type SuperiorStatus,
  toleratedFaults,
} from "../core/layers/quorum.ts";
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
} from "../core/layers/packet.ts";
export {
  challengeDigest,
  type ContractMessage,
  decodeContractMessage,
  encodeContractMessage,
  packetDigest,
} from "../core/layers/contract.ts";
export {
  type BlockProof,
  type LedgerBlock,
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
  type BlockOpening,
} from "../contracts/ledger.ts";
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
} from "../store/object-store.ts";
export { type Delivery, EdgeNode, type EdgeNodeOptions } from "../layers/edge-node.ts";
export {
  type EstablishedLayer,
  establishLayer,
  type EstablishOptions,
  type LayerMemberSetup,
  NO_LAYER,
} from "../layers/establish.ts";
export { type EdgePlan, establishHierarchy, type Hierarchy, type LayerPlan } from "../layers/hierarchy.ts";
export {
  type ExaminationReport,
  type ExaminedNode,
  type LayerAlarm,
  LayerNode,
  type LayerNodeOptions,
  type PeerExamination,
  type SuperiorExamination,
} from "../layers/layer-node.ts";
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
  type JoinCandidate,
} from "../layers/network.ts";
export { LayerRouter, type RouteResult } from "../layers/router.ts";
