/**
 * Pure model of the device registry (seeds 001/002/003): enums matching
 * `IDeviceRegistry`, the record shape, and the provenance timeline — replaying
 * the registry's events rebuilds each record, which is how `history(deviceId)`
 * answers without trusting anything but the chain's logs.
 */
import type { Hex } from "./bytes.ts";
import type { Label } from "./labels.ts";
import { InvalidInputError } from "../errors.ts";

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
  /** The gateway (base station, fog node, edge node) the device is attached to. */
  readonly gateway: Hex;
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

/**
 * How many independent reporters must collude to suspend and to block a device in good standing
 * under `config` (`IDeviceRegistry.report`): each independent reporter (a full node, a
 * coordination node, or a coordination node with every lightweight node it admitted) lowers
 * trust by `reportPenalty` once per trust case, so falling under a threshold t takes
 * ceil((1000 - t + 1) / reportPenalty) of them. The contract refuses rules where one suffices.
 */
export function reportersToSanction(config: Pick<RegistryConfig, "reportPenalty" | "suspendBelow" | "blockBelow">): {
  readonly suspend: number;
  readonly block: number;
} {
  const needed = (threshold: number): number => Math.ceil((MAX_TRUST - threshold + 1) / config.reportPenalty);
  return { suspend: needed(config.suspendBelow), block: needed(config.blockBelow) };
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

/** What the provenance log says the record of `id` is now: every field of `getDevice`, plus
 * what only the log holds (UUID parts, profile commitment, registration time). */
export interface ReplayedRecord extends Omit<DeviceRecord, "id"> {
  readonly id: Hex;
  readonly layer: Hex;
  readonly localId: Hex;
  readonly profileHash: Hex;
  readonly registeredAt: bigint;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/**
 * Rebuilds a record from its events, in order. Throws `InvalidInputError` when the log is not a
 * possible history (an event before the registration, say), which would mean
 * logs are missing or come from another contract.
 */
export function replayHistory(id: Hex, entries: readonly HistoryEntry[]): ReplayedRecord | undefined {
  type Mutable<T> = { -readonly [K in keyof T]: T[K] };
  let rec: Mutable<ReplayedRecord> | undefined;
  let pendingKeyBoundAt = 0n;
  const need = (event: string): Mutable<ReplayedRecord> => {
    if (rec === undefined) {
      throw new InvalidInputError(`history of ${id}: ${event} before DeviceRegistered`, { id, event });
    }
    return rec;
  };
  for (const { event, args, timestamp } of sortHistory(entries)) {
    if (event === "DeviceRegistered") {
      rec = {
        id,
        key: String(args.key),
        owner: String(args.owner),
        kind: Number(args.kind) as Kind,
        label: Number(args.label) as Label,
        status: Status.Pending,
        trust: MAX_TRUST,
        permissions: Number(args.permissions),
        nonce: 0,
        servingNode: ZERO_ID,
        liveUntil: 0n,
        keyBoundAt: timestamp,
        round: 0,
        approvals: 0,
        pendingKey: ZERO_ADDRESS,
        gateway: ZERO_ID,
        layer: args.layer as Hex,
        localId: args.localId as Hex,
        profileHash: args.profileHash as Hex,
        registeredAt: timestamp,
      };
      continue;
    }
    if (event === "FullNodeHeartbeat" && String(args.fullNode) !== id) continue;
    const r = need(event);
    switch (event) {
      case "DeviceApproved": {
        const approvals = Number(args.approvals);
        const complete = approvals >= Number(args.required);
        r.round = Number(args.round) + (complete ? 1 : 0);
        r.approvals = complete ? 0 : approvals;
        if (complete) r.pendingKey = ZERO_ADDRESS;
        break;
      }
      case "DeviceStatusChanged": {
        const next = Number(args.current) as Status;
        r.status = next;
        if (next === Status.Suspended || next === Status.Blocked) {
          r.round += 1;
          r.approvals = 0;
        }
        if (next === Status.Blocked || next === Status.Revoked) r.pendingKey = ZERO_ADDRESS;
        break;
      }
      case "ServingNodeAssigned":
        r.servingNode = args.fullNode as Hex;
        break;
      case "FullNodeHeartbeat":
        r.liveUntil = BigInt(args.liveUntil as bigint);
        break;
      case "FullNodeReportedOffline":
        if (String(args.fullNode) === id) r.liveUntil = 0n;
        break;
      case "MisbehaviourReported":
      case "TrustRestored":
        r.trust = Number(args.trust);
        break;
      case "RekeyRequested":
        r.pendingKey = String(args.newKey);
        r.round = Number(args.round);
        r.approvals = 0;
        r.nonce += 1;
        pendingKeyBoundAt = timestamp;
        break;
      case "DeviceRekeyed":
        r.key = String(args.newKey);
        r.keyBoundAt = pendingKeyBoundAt;
        break;
      case "DeviceTransferred":
        r.owner = String(args.newOwner);
        break;
      case "PermissionsChanged":
        r.permissions = Number(args.permissions);
        break;
      case "ProfileUpdated":
        r.profileHash = args.profileHash as Hex;
        break;
      case "GatewayAssigned":
        r.gateway = args.gateway as Hex;
        break;
      default:
        break;
    }
  }
  return rec;
}
