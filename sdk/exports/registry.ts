/**
 * `@strata-iot/sdk/registry` — device identity and trust: ids, profiles, labels, signed
 * registrations, peer authentication, provenance, and the `DeviceRegistry` client (docs/registry.md).
 */
export {
  DEFAULT_LABEL_POLICY,
  type DeviceTraits,
  Label,
  LABEL_NAMES,
  type LabelPolicy,
  type LabelRecommendation,
  recommendLabel,
} from "../core/labels.ts";
export {
  checkP256PublicKey,
  decodeP256DeviceSignature,
  encodeP256DeviceSignature,
  isCanonicalSecp256k1Signature,
  isP256Signer,
  lowS,
  p256Address,
  p256Sign,
  p256PublicKeyOf,
  type P256PublicKey,
  type P256Signature,
  type P256Signer,
  P256_SIGNATURE_BYTES,
  p256SoftwareKey,
  randomP256PrivateKey,
  signP256Digest,
  verifyKeySignature,
  verifyP256Digest,
} from "../core/p256.ts";
export {
  checkPeerResponse,
  DEFAULT_FRESHNESS,
  type FreshnessPolicy,
  newChallenge,
  type ProverState,
} from "../core/peer.ts";
export {
  checkProfile,
  decodeProfile,
  encodeProfile,
  isUnderClass,
  minimalProfile,
  type Profile,
  profileHash,
} from "../core/profile.ts";
export { buildRegistration, type RegistrationInput } from "../core/registration.ts";
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
} from "../core/registry.ts";
export {
  type BatchChunk,
  type BatchRegistration,
  compactSignature,
  DeviceRegistryClient,
  EIP7825_GAS_CAP,
  type HistoryRange,
  parseRegistryReceipt,
  type RegistryClientOptions,
} from "../contracts/registry.ts";
