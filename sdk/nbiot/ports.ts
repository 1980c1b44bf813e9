/**
 * What the NB-IoT roles need from the outside world, as small interfaces: the
 * registry (is this id a registered, active device or base station?), the
 * anchor contract, and the other stations. `registryDirectory` and
 * `DataAnchorClient` implement the first two over a chain; a `StationLink` is
 * the station itself in process, or a network client in front of it.
 */
import { type Hex } from "../core/bytes.ts";
import type { AcquisitionResponse, ReadingProof } from "../core/nbiot/acquisition.ts";
import { LruMap } from "../core/lru.ts";
import { type Kind, type Status } from "../core/registry.ts";
import type { AnchorFees, MinedTx, SignedTx } from "../contracts/anchor.ts";
import { DEFAULT_CALL_TIMEOUT_MS, withDeadline } from "../contracts/chain.ts";
import { StrataError, TimeoutError, TransportError } from "../errors.ts";

export interface DirectoryEntry {
  readonly kind: Kind;
  readonly status: Status;
}

/** Registry lookups (`undefined`: not registered). */
export interface Directory {
  lookup(id: Hex): Promise<DirectoryEntry | undefined>;
}

/**
 * The part of `DataAnchorClient` a station uses to anchor: it signs each
 * anchor transaction and keeps it before sending it, so it can send it again,
 * replace it, or find it pending after a restart; what became of it is read
 * from the chain. Every call has a deadline (`TimeoutError`).
 */
export interface AnchorWriter {
  /**
   * Signs (does not send) the anchor of `root`; with `replacing`, at its nonce and gas limit with
   * higher fees; never above `fees.maxFeePerGas` (`FeeCapError` for a replacement that needs more).
   */
  signAnchor(
    gateway: Hex,
    root: Hex,
    leafCount: number | bigint,
    replacing?: SignedTx,
    fees?: AnchorFees,
  ): Promise<SignedTx>;
  /**
   * Sends a signed transaction (again); a node that knows it already, or its nonce, is not an
   * error; any other refusal is (`TxRejectedError`).
   */
  broadcast(tx: SignedTx): Promise<void>;
  /** The transaction's block and status, waiting at most `timeoutMs` for it (`undefined`: not mined). */
  mined(hash: Hex, timeoutMs?: number): Promise<MinedTx | undefined>;
  /** How many transactions of the station's account are mined. */
  minedNonce(): Promise<number>;
  /** The chain's latest block number. */
  blockNumber(): Promise<number>;
  /** The sequence of `gateway`'s last anchor at `blockTag` (default latest; 0 before its first). */
  head(gateway: Hex, blockTag?: number | "latest" | "finalized"): Promise<bigint>;
  /** `gateway`'s record of `root` at `blockTag` (default latest; `undefined`: not anchored there). */
  anchorOf(gateway: Hex, root: Hex, blockTag?: number | "latest" | "finalized"): Promise<AnchorView | undefined>;
}

/**
 * The part of `DataAnchorClient` a role checks its store against at start: the length of a
 * gateway's chain, and which of its anchors a root is (the store's batch at the head must be it).
 */
export interface AnchorHead {
  /** The sequence number of `gateway`'s last anchor (0 before the first). */
  head(gateway: Hex): Promise<bigint>;
  /** The chain's record of `root` as `gateway`'s anchor, if it is one. */
  anchorOf(gateway: Hex, root: Hex): Promise<{ readonly sequence: bigint } | undefined>;
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

/**
 * The chain's clock as a station reads it, in ms: the time the node would give the next block
 * (the `pending` block's timestamp, which the node builds with its own current time), or, from a
 * node that does not serve `pending`, the latest block's timestamp.
 */
export interface ChainClock {
  latestBlockTime(): Promise<number>;
}

/** How a `providerChainClock` waits. */
export interface ChainClockOptions {
  /** Deadline of one read (ms): then it fails with `TimeoutError` (retryable). Default 30 s. */
  readonly timeoutMs?: number;
}

/** What a `providerChainClock` reads blocks with: an ethers provider, or anything with `getBlock`. */
export interface BlockSource {
  getBlock(tag: "pending" | "latest"): Promise<{ readonly timestamp: number } | null>;
  /** A raw JSON-RPC call (ethers' `JsonRpcProvider.send`): used for the `pending` block when present. */
  send?(method: string, params: unknown[]): Promise<unknown>;
}

/**
 * A `ChainClock` over an ethers provider (or anything with `getBlock`). It reads the `pending`
 * block: on a chain that makes blocks only for transactions (automine, a proof-of-authority chain
 * that skips empty blocks, a quiet L2) the latest block can be minutes old, and a clock read from
 * it would refuse every seal, so no anchor is sent and no block is made. The pending block is read
 * raw (`eth_getBlockByNumber`) when the provider can send JSON-RPC: ethers' `getBlock("pending")`
 * refuses a pending block without a number, which is what `hardhat node` serves. A node that does
 * not serve `pending` (an error or no block) is read at `latest`. Each read has a deadline
 * (`TimeoutError`); any other failure is a `TransportError`.
 */
export function providerChainClock(provider: BlockSource, options: ChainClockOptions = {}): ChainClock {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const read = async (tag: "pending" | "latest"): Promise<{ readonly timestamp: number } | null> => {
    try {
      if (tag === "pending" && provider.send !== undefined) {
        const raw = (await withDeadline(
          "the chain's pending block",
          timeoutMs,
          provider.send("eth_getBlockByNumber", ["pending", false]),
        )) as { timestamp?: unknown } | null;
        if (typeof raw?.timestamp !== "string") return null;
        const seconds = Number(BigInt(raw.timestamp));
        return Number.isSafeInteger(seconds) ? { timestamp: seconds } : null;
      }
      return await withDeadline(`the chain's ${tag} block`, timeoutMs, provider.getBlock(tag));
    } catch (e) {
      if (e instanceof StrataError) throw e;
      throw new TransportError(`the chain's ${tag} block could not be read`, {}, { cause: e });
    }
  };
  return {
    async latestBlockTime() {
      const pending = await read("pending").catch((e: unknown) => {
        if (e instanceof TransportError && !(e instanceof TimeoutError)) return null; // no `pending` here
        throw e;
      });
      const block = pending ?? (await read("latest"));
      if (block === null) throw new TransportError("the chain returned no latest block");
      return block.timestamp * 1000;
    },
  };
}

/** How many registry answers a `cachedDirectory` keeps by default. */
export const DIRECTORY_CACHE_ENTRIES = 10_000;

/** Deadline of one registry lookup when not given: a silent node fails a station's request after it. */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000;

/** How a `cachedDirectory` remembers and waits. */
export interface DirectoryCacheOptions {
  /** How long an answer is served from memory (ms; 0: ask every time). Default 10 s. */
  readonly ttlMs?: number;
  /** The clock the TTL runs on (ms). Default `Date.now`. */
  readonly clock?: () => number;
  /** Deadline of one lookup (ms): then it fails with `TimeoutError` (retryable). Default 10 s. */
  readonly timeoutMs?: number;
  /** Answers kept at most (the least recently used go first). Default 10,000. */
  readonly maxEntries?: number;
}

/**
 * A `Directory` over any `getDevice`-like reader, remembering answers for
 * `ttlMs` and at most `maxEntries` of them (the least recently used go first),
 * so lookups of many one-time ids do not grow the cache; a lookup the reader
 * does not answer within `timeoutMs` fails with a `TimeoutError` (retryable),
 * so a silent registry node fails the request waiting on it instead of
 * blocking it.
 */
export function cachedDirectory(
  read: (id: Hex) => Promise<DirectoryEntry | undefined>,
  options: DirectoryCacheOptions = {},
): Directory & { readonly size: number } {
  const { ttlMs = 10_000, clock = Date.now, timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS } = options;
  const cache = new LruMap<string, { entry: DirectoryEntry | undefined; until: number }>(
    options.maxEntries ?? DIRECTORY_CACHE_ENTRIES,
  );
  return {
    async lookup(id: Hex) {
      const key = id.toLowerCase();
      const hit = cache.get(key);
      const now = clock();
      if (hit !== undefined && hit.until > now && hit.until <= now + ttlMs) return hit.entry;
      cache.delete(key); // expired, or cached while the clock ran ahead
      const entry = await withDeadline("registry lookup", timeoutMs, read(id));
      if (ttlMs > 0) cache.set(key, { entry, until: clock() + ttlMs });
      return entry;
    },
    get size() {
      return cache.size;
    },
  };
}

/** A `Directory` over the `DeviceRegistry` (status `None`: not registered); `timeoutMs` as in `cachedDirectory`. */
export function registryDirectory(
  registry: { getDevice(id: Hex): Promise<{ readonly kind: Kind; readonly status: Status }> },
  options: DirectoryCacheOptions = {},
): Directory & { readonly size: number } {
  return cachedDirectory(async (id) => {
    const r = await registry.getDevice(id);
    return r.status === 0 ? undefined : { kind: r.kind, status: r.status };
  }, options);
}
