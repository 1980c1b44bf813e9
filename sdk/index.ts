/**
 * Strata SDK: the pure core (ids, profiles, EIP-712 messages, labels, peer
 * authentication, provenance replay) and typed contract clients.
 */
export { concat, fromHex, type Hex, toHex } from "./core/bytes.ts";
export {
  type CompactSignature,
  PEER_CHALLENGE_TYPES,
  type PeerChallenge,
  peerChallengeDigest,
  REGISTRATION_TYPES,
  type RegistrationMessage,
  registrationDigest,
  registryDomain,
  REKEY_TYPES,
  rekeyDigest,
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
  sortHistory,
  Status,
  STATUS_NAMES,
  ZERO_ID,
} from "./core/registry.ts";
export {
  compactSignature,
  DeviceRegistryClient,
  type HistoryRange,
  type RegistryEvent,
  type TxResult,
} from "./contracts/registry.ts";
export { decodeRevert } from "./contracts/revert.ts";
export {
  ContractRevertError,
  DecryptionError,
  type ErrorDetails,
  InvalidInputError,
  InvalidPointError,
  type PointRejection,
  ThresholdError,
  PeerAuthenticationError,
  type PeerRejection,
  StrataError,
  TransportError,
} from "./errors.ts";
