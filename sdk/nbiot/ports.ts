/**
 * What the NB-IoT roles need from the outside world, as small interfaces: the
 * registry (is this id a registered, active device or base station?), the
 * anchor contract, and the other stations. `registryDirectory` and
 * `DataAnchorClient` implement the first two over a chain; a `StationLink` is
 * the station itself in process, or a network client in front of it.
 */
import { type Hex } from "../core/bytes.ts";
import type { AcquisitionResponse } from "../core/nbiot/acquisition.ts";
import { LruMap } from "../core/lru.ts";
import { type Kind, type Status } from "../core/registry.ts";
import { TransportError } from "../errors.ts";
import type { ReadingProof } from "./base-station.ts";

export interface DirectoryEntry {
  readonly kind: Kind;
  readonly status: Status;
}

/** Registry lookups (`undefined`: not registered). */
export interface Directory {
  lookup(id: Hex): Promise<DirectoryEntry | undefined>;
}

/** The part of `DataAnchorClient` a station uses to anchor. */
export interface AnchorWriter {
  anchor(
    gateway: Hex,
    root: Hex,
    leafCount: number | bigint,
  ): Promise<{ readonly sequence: bigint; readonly txHash: string; readonly time: bigint }>;
  /** `gateway`'s record of `root` (`undefined`: `gateway` did not anchor it). */
  anchorOf(gateway: Hex, root: Hex): Promise<AnchorView | undefined>;
}

export interface AnchorView {
  readonly gateway: string;
  readonly sequence: bigint;
  readonly time: bigint;
  readonly leafCount: bigint;
}

/**
 * The part of `DataAnchorClient` a reader uses. Records are kept per gateway:
 * a root counts only as anchored by the gateway asked about.
 */
export interface AnchorReader {
  anchorOf(gateway: Hex, root: Hex): Promise<AnchorView | undefined>;
  /** `valuesHash`: the once-hashed leaf (for a block hash h, keccak256(h)); the contract hashes the leaf. */
  verifyReading(gateway: Hex, root: Hex, valuesHash: Hex, proof: readonly Hex[]): Promise<boolean>;
}

/** How one station (or an application) reaches another station. */
export interface StationLink {
  handover(request: Uint8Array): Promise<Uint8Array>;
  /** Sealed blocks of `node` in [from, to] after sequence number `afterSeq` (see `BaseStation.acquire`). */
  acquire(node: Hex, from: number, to: number, afterSeq?: number): Promise<AcquisitionResponse>;
  proof(node: Hex, seq: number): Promise<ReadingProof>;
}

/** Finds the link to a station by id (`undefined`: unreachable). */
export type StationResolver = (id: Hex) => StationLink | undefined;

/** The chain's clock as a station reads it: the timestamp of the latest block, in ms. */
export interface ChainClock {
  latestBlockTime(): Promise<number>;
}

/** A `ChainClock` over an ethers provider (or anything with `getBlock("latest")`). */
export function providerChainClock(provider: {
  getBlock(tag: "latest"): Promise<{ readonly timestamp: number } | null>;
}): ChainClock {
  return {
    async latestBlockTime() {
      const block = await provider.getBlock("latest");
      if (block === null) throw new TransportError("the chain returned no latest block");
      return block.timestamp * 1000;
    },
  };
}

/** How many registry answers a `cachedDirectory` keeps by default. */
export const DIRECTORY_CACHE_ENTRIES = 10_000;

/**
 * A `Directory` over any `getDevice`-like reader, remembering answers for
 * `ttlMs` and at most `maxEntries` of them (the least recently used go first),
 * so lookups of many one-time ids do not grow the cache.
 */
export function cachedDirectory(
  read: (id: Hex) => Promise<DirectoryEntry | undefined>,
  ttlMs = 10_000,
  clock: () => number = Date.now,
  maxEntries = DIRECTORY_CACHE_ENTRIES,
): Directory & { readonly size: number } {
  const cache = new LruMap<string, { entry: DirectoryEntry | undefined; until: number }>(maxEntries);
  return {
    async lookup(id: Hex) {
      const key = id.toLowerCase();
      const hit = cache.get(key);
      const now = clock();
      if (hit !== undefined && hit.until > now && hit.until <= now + ttlMs) return hit.entry;
      cache.delete(key); // expired, or cached while the clock ran ahead
      const entry = await read(id);
      if (ttlMs > 0) cache.set(key, { entry, until: clock() + ttlMs });
      return entry;
    },
    get size() {
      return cache.size;
    },
  };
}

/** A `Directory` over the `DeviceRegistry` (status `None`: not registered). */
export function registryDirectory(
  registry: { getDevice(id: Hex): Promise<{ readonly kind: Kind; readonly status: Status }> },
  ttlMs = 10_000,
  clock: () => number = Date.now,
  maxEntries = DIRECTORY_CACHE_ENTRIES,
): Directory & { readonly size: number } {
  return cachedDirectory(
    async (id) => {
      const r = await registry.getDevice(id);
      return r.status === 0 ? undefined : { kind: r.kind, status: r.status };
    },
    ttlMs,
    clock,
    maxEntries,
  );
}
