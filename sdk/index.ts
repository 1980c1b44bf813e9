/**
 * Strata SDK — the root entry point: typed errors, bytes and ids, EIP-712 messages and digests,
 * Merkle trees and proofs, clocks and finality, and what every contract client shares (deadlines,
 * log reading, revert decoding, the transaction result). It loads no SQLite and no pairing library.
 * Capabilities have their own entry points: `@strata-iot/sdk/registry`, `/anchoring`, `/access`,
 * `/nbiot`, `/fog`, `/layers`, `/crypto`, `/stores`, `/artifacts`, `/deploy` (docs/sdk.md).
 */
export { type BytesInput, concat, fromHex, type Hex, toHex } from "./core/bytes.ts";
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
export {
  type AccessTokensContract,
  type DataAnchorContract,
  type DeviceRegistryContract,
  type SummaryLedgerContract,
} from "./contracts/types.ts";
export { LogReader, type LogReaderOptions, type LogWindow, type DeploymentBlockSource } from "./contracts/logs.ts";
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
  type RegisteredCluster,
} from "./errors.ts";
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
  type ChainView,
} from "./core/finality.ts";
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
  type BuildOptions,
} from "./core/merkle.ts";
export { ReplayGuard, type ReplayGuardOptions } from "./core/replay.ts";
export { type AccessDenial, AccessDeniedError } from "./errors.ts";
