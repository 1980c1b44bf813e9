/**
 * `@strata-iot/sdk/stores` — the SQLite stores of the roles: a base station's flows, a fog node's
 * readings, an edge node's objects (docs/stores.md).
 */
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
export { type OpenMode, type StoreIdentity, type StoreKind, type StoreOpenOptions } from "../store/sqlite.ts";
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
