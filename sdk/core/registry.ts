/**
 * Pure model of the device registry (seeds 001/002/003): enums matching
 * `IDeviceRegistry`, the record shape, and the provenance timeline — replaying
 * the registry's events rebuilds each record, which is how `history(deviceId)`
 * answers without trusting anything but the chain's logs.
 */
import type { Hex } from "./bytes.ts";
import type { Label } from "./labels.ts";

export const Kind = { Device: 0, BaseStation: 1, FogNode: 2, EdgeNode: 3 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];
export const KIND_NAMES = ["Device", "BaseStation", "FogNode", "EdgeNode"] as const;

export const Status = { None: 0, Pending: 1, Active: 2, Suspended: 3, Blocked: 4, Revoked: 5 } as const;
export type Status = (typeof Status)[keyof typeof Status];
export const STATUS_NAMES = ["None", "Pending", "Active", "Suspended", "Blocked", "Revoked"] as const;

export const ZERO_ID: Hex = `0x${"00".repeat(32)}`;
export const MAX_TRUST = 1000;

/** Everything the registry stores about one entity (`getDevice`). */
export interface DeviceRecord {
  readonly id: Hex;
  readonly key: string;
  readonly owner: string;
  readonly kind: Kind;
  readonly label: Label;
  readonly status: Status;
  readonly trust: number;
  readonly permissions: number;
  readonly nonce: number;
  readonly servingNode: Hex;
  readonly liveUntil: bigint;
  /** When the current key was bound: the registration, or the request of the last re-key. */
  readonly keyBoundAt: bigint;
  readonly round: number;
  readonly approvals: number;
  readonly pendingKey: string;
}

/** The registry's rules (`Config`). */
export interface RegistryConfig {
  readonly fullNodeApprovals: number;
  readonly reportPenalty: number;
  readonly suspendBelow: number;
  readonly blockBelow: number;
  readonly epochLength: number;
  readonly heartbeatTimeout: number;
}

/** One entry of a device's provenance log. */
export interface HistoryEntry {
  readonly event: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly blockNumber: number;
  readonly logIndex: number;
  readonly transactionHash: Hex;
  /** Block timestamp, seconds. */
  readonly timestamp: bigint;
}

/** Orders entries by block, then by position in the block. */
export function sortHistory(entries: readonly HistoryEntry[]): HistoryEntry[] {
  return [...entries].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}

/** What the provenance log says the record of `id` is now. */
export interface ReplayedRecord {
  readonly id: Hex;
  key: string;
  owner: string;
  kind: Kind;
  label: Label;
  status: Status;
  trust: number;
  permissions: number;
  profileHash: Hex;
  servingNode: Hex;
  pendingKey: string;
  registeredAt: bigint;
}

/**
 * Rebuilds a record from its events, in order. Throws when the log is not a
 * possible history (an event before the registration, say), which would mean
 * logs are missing or come from another contract.
 */
export function replayHistory(id: Hex, entries: readonly HistoryEntry[]): ReplayedRecord | undefined {
  let rec: ReplayedRecord | undefined;
  const need = (event: string): ReplayedRecord => {
    if (rec === undefined) throw new Error(`history of ${id}: ${event} before DeviceRegistered`);
    return rec;
  };
  for (const { event, args, timestamp } of sortHistory(entries)) {
    switch (event) {
      case "DeviceRegistered":
        rec = {
          id,
          key: String(args.key),
          owner: String(args.owner),
          kind: Number(args.kind) as Kind,
          label: Number(args.label) as Label,
          status: Status.Pending,
          trust: MAX_TRUST,
          permissions: Number(args.permissions),
          profileHash: args.profileHash as Hex,
          servingNode: ZERO_ID,
          pendingKey: "",
          registeredAt: timestamp,
        };
        break;
      case "DeviceStatusChanged":
        need(event).status = Number(args.current) as Status;
        if (need(event).status === Status.Revoked) need(event).pendingKey = "";
        break;
      case "ServingNodeAssigned":
        need(event).servingNode = args.fullNode as Hex;
        break;
      case "MisbehaviourReported":
      case "TrustRestored":
        need(event).trust = Number(args.trust);
        break;
      case "RekeyRequested":
        need(event).pendingKey = String(args.newKey);
        break;
      case "DeviceRekeyed":
        need(event).key = String(args.newKey);
        need(event).pendingKey = "";
        break;
      case "DeviceTransferred":
        need(event).owner = String(args.newOwner);
        break;
      case "PermissionsChanged":
        need(event).permissions = Number(args.permissions);
        break;
      case "ProfileUpdated":
        need(event).profileHash = args.profileHash as Hex;
        break;
      default:
        break;
    }
  }
  return rec;
}
