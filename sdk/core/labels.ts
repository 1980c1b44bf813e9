/**
 * Label recommendation (seed 001 §3): devices are labelled by connection
 * lifetime and hardware. Short-lived or constrained devices are lightweight
 * nodes served by full nodes; always-connected, capable devices are full nodes
 * that keep the chain; long-lived devices with modest hardware (the paper's
 * surveillance camera) are coordination candidates. Coordination is only a
 * recommendation: the registry's admin appoints coordination nodes.
 */
import { InvalidInputError } from "../errors.ts";

export const Label = { Lightweight: 0, Full: 1, Coordination: 2 } as const;
export type Label = (typeof Label)[keyof typeof Label];

export const LABEL_NAMES = ["Lightweight", "Full", "Coordination"] as const;

export interface DeviceTraits {
  /** Expected hours the device stays connected in one session. */
  readonly connectionHoursPerSession: number;
  /** Fraction of the day it is reachable, 0..1. */
  readonly uptimeRatio: number;
  /** Memory available to the node software, MiB. */
  readonly memoryMiB: number;
  /** Persistent storage available to keep chain data, GiB. */
  readonly storageGiB: number;
  /** Mains-powered (not a battery). */
  readonly mainsPowered: boolean;
}

/** Thresholds of the recommendation; the defaults suit NB-IoT and smart-city fleets. */
export interface LabelPolicy {
  /** Sessions at least this long, with the uptime below, count as a long connection lifetime. */
  readonly longLivedHours: number;
  readonly longLivedUptime: number;
  /** Hardware able to keep and serve the chain. */
  readonly fullNodeMemoryMiB: number;
  readonly fullNodeStorageGiB: number;
  /** Below this a long-lived device is still too constrained to coordinate others. */
  readonly coordinationMemoryMiB: number;
}

export const DEFAULT_LABEL_POLICY: LabelPolicy = {
  longLivedHours: 24,
  longLivedUptime: 0.95,
  fullNodeMemoryMiB: 2048,
  fullNodeStorageGiB: 64,
  coordinationMemoryMiB: 64,
};

export interface LabelRecommendation {
  readonly label: Label;
  readonly reason: string;
}

/** Recommends a label from declared lifetime and hardware. */
export function recommendLabel(traits: DeviceTraits, policy: LabelPolicy = DEFAULT_LABEL_POLICY): LabelRecommendation {
  checkTraits(traits);
  const longLived =
    traits.mainsPowered &&
    traits.connectionHoursPerSession >= policy.longLivedHours &&
    traits.uptimeRatio >= policy.longLivedUptime;
  if (!longLived) {
    return { label: Label.Lightweight, reason: "short connection lifetime or battery powered" };
  }
  if (traits.memoryMiB >= policy.fullNodeMemoryMiB && traits.storageGiB >= policy.fullNodeStorageGiB) {
    return { label: Label.Full, reason: "always connected with hardware to keep and serve the chain" };
  }
  if (traits.memoryMiB >= policy.coordinationMemoryMiB) {
    return { label: Label.Coordination, reason: "always connected but modest hardware: a coordination candidate" };
  }
  return { label: Label.Lightweight, reason: "always connected but too constrained to serve or coordinate" };
}

function checkTraits(t: DeviceTraits): void {
  const finiteNonNegative = (v: number, what: string): void => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new InvalidInputError(`${what} must be a finite number >= 0`, { value: v });
    }
  };
  finiteNonNegative(t.connectionHoursPerSession, "connectionHoursPerSession");
  finiteNonNegative(t.memoryMiB, "memoryMiB");
  finiteNonNegative(t.storageGiB, "storageGiB");
  if (typeof t.uptimeRatio !== "number" || !(t.uptimeRatio >= 0 && t.uptimeRatio <= 1)) {
    throw new InvalidInputError("uptimeRatio must be in [0, 1]", { value: t.uptimeRatio });
  }
  if (typeof t.mainsPowered !== "boolean") {
    throw new InvalidInputError("mainsPowered must be a boolean", { value: t.mainsPowered });
  }
}
