/**
 * A base station of seed 000's transport layer: it authenticates nodes entering
 * its area and answers with a session key, ingests their frames (opening only
 * the session layer: it never holds a primary key or a plaintext), makes one
 * block per confirmed reading on each node's flow chain, takes flows over from
 * other stations (handover) and gives them up, signs batches of block hashes,
 * anchors each batch root on chain, and serves blocks with their proofs.
 *
 * The protocol steps are the pure functions of `sdk/core/nbiot`; this class
 * adds the state (sessions, flows) and the I/O: its SQLite store, the registry
 * (`Directory`), the other stations (`StationResolver`) and `DataAnchor`.
 */
import { type Hex } from "../core/bytes.ts";
import { checkNotAhead } from "../core/clock.ts";
import { LruMap } from "../core/lru.ts";
import { buildTree, bytes32Leaves, type MerkleTree } from "../core/merkle.ts";
import type { AcquisitionResponse, ProvenBlock, ReadingProof, SignedBatch } from "../core/nbiot/acquisition.ts";
import { batchMessage, type Block, ciphertextDigest, encodeBlock } from "../core/nbiot/block.ts";
import {
  type FlowState,
  type HashedBlock,
  repeatReading,
  stepEntry,
  stepFlow,
  stepHandOver,
  stepTakeOver,
} from "../core/nbiot/flow.ts";
import {
  type AuthRequest,
  type ChainTip,
  checkAuthRequest,
  checkLaterEntry,
  decodeAuthRequest,
  makeAuthResponse,
  NONCE_BYTES,
  SESSION_ID_BYTES,
} from "../core/nbiot/handshake.ts";
import { ReplayGuard } from "../core/replay.ts";
import {
  checkHandoverRecord,
  checkHandoverRequest,
  makeHandoverRecord,
  makeHandoverRequest,
} from "../core/nbiot/handover.ts";
import { checkId, type NbiotParams, type StationKeys } from "../core/nbiot/params.ts";
import { signBody } from "../core/nbiot/signing.ts";
import {
  isFrame,
  isRenewRequest,
  openFrame,
  openRenewRequest,
  readHeader,
  sealReceipt,
  sealRenewResponse,
  Session,
} from "../core/nbiot/session.ts";
import {
  anchorVerdict,
  checkFinality,
  DEFAULT_FINALITY_DEPTH,
  type Finality,
  finalBlockTag,
} from "../core/finality.ts";
import { Kind, Status } from "../core/registry.ts";
import { DEFAULT_RECEIPT_TIMEOUT_MS, FinalHeadReader, withDeadline } from "../contracts/chain.ts";
import {
  ConfigError,
  ContractRevertError,
  FeeCapError,
  InvalidInputError,
  ProtocolError,
  StoreError,
  StrataError,
  TimeoutError,
  TransportError,
} from "../errors.ts";
import {
  type AnchorInfo,
  type AnchorState,
  type AnchorTx,
  type BatchRecord,
  type NewBlock,
  SqliteFlowStore,
} from "../store/flow-store.ts";
import { checkNotBehindChain, type Synchronous } from "../store/sqlite.ts";
import type { AnchorHead, AnchorWriter, ChainClock, Directory, StationLink, StationResolver } from "./ports.ts";

export interface BaseStationOptions {
  readonly params: NbiotParams;
  /** The station's id and its per-epoch signing keys from the PKG. */
  readonly keys: StationKeys;
  /** The station's store (default: a SQLite file at `storePath`). */
  readonly store: SqliteFlowStore;
  readonly directory: Directory;
  /** Other stations, for handovers. */
  readonly stations: StationResolver;
  /** Most blocks per signed batch. */
  readonly maxBatch?: number;
  /** The station's clock (ms), for requests that arrive from other stations. */
  readonly clock?: () => number;
  /** How the station anchors its batches (see `AnchoringOptions`). */
  readonly anchoring?: AnchoringOptions;
  /**
   * The chain's clock: before sealing, the station checks that neither its own
   * clock nor any block of the batch runs ahead of the chain's clock (the time
   * the node gives its next block, `providerChainClock`) by more than the tolerated skew (`clockSkewMs`), so it never signs a batch whose blocks
   * an application would find dated after their anchor. Without it the station
   * trusts its clock.
   */
  readonly chain?: ChainClock;
  /** Most sessions kept (default 100,000): expired ones go first, then the oldest. */
  readonly maxSessions?: number;
  /** Most flows kept in memory (default 100,000; the store holds them all). */
  readonly maxFlows?: number;
  /** Most entries (authentications, handovers) handled at once (default 256); more are refused as `busy`. */
  readonly maxConcurrentEntries?: number;
  /**
   * How long a handover waits for the other station's answer (ms, default 10 s): then the entry
   * fails with `TimeoutError` (retryable) and its slot is free again, so a silent peer cannot hold
   * the station's entry slots.
   */
  readonly peerTimeoutMs?: number;
  /**
   * Checks an authentication request as `checkAuthRequest` does (addressed to this station, fresh,
   * signed by the node it names), elsewhere: a service runs the pairings on a pool of worker
   * threads. It throws the check's `ProtocolError`; the station then decodes the checked bytes
   * itself. Default: `checkAuthRequest` on this thread.
   */
  readonly checkAuth?: (request: Uint8Array, now: number) => Promise<void>;
}

/** Deadline of a handover's call to the other station when `peerTimeoutMs` is not given. */
export const DEFAULT_PEER_TIMEOUT_MS = 10_000;

/** How a station anchors, and when it takes an anchor as final (docs/nbiot.md, "Anchoring faults"). */
export interface AnchoringOptions {
  /**
   * Confirmations before an anchor is final (1: its own block), or `"finalized"`
   * (the node's finalized block); until then each `anchorPending` checks it is
   * still on chain and anchors its batch again when a reorganisation removed it.
   * Default `DEFAULT_FINALITY_DEPTH` (12).
   */
  readonly finalityDepth?: Finality;
  /** How long to wait for an anchor transaction to be mined before sending it again or replacing it (ms). */
  readonly receiptTimeoutMs?: number;
  /** How many times one `anchorPending` replaces a transaction not mined in time (same nonce, higher fee). */
  readonly maxReplacements?: number;
  /**
   * Most wei per gas an anchor transaction may pay (default: no cap). A first transaction's fees
   * are lowered to it; a replacement that would need more is not signed: the kept transaction
   * stays pending as it is and the batch's `anchorFault` says why (`FeeCapError`).
   */
  readonly maxFeePerGas?: bigint;
}

/** Default bounds of a station's in-memory state (`BaseStationOptions`). */
export const STATION_LIMITS: {
  readonly maxSessions: number;
  readonly maxFlows: number;
  readonly maxConcurrentEntries: number;
} = {
  maxSessions: 100_000,
  maxFlows: 100_000,
  maxConcurrentEntries: 256,
};

/** What ingesting one frame gave: a receipt to send back, or why it was refused. */
export type IngestResult =
  | { readonly ok: true; readonly receipt: Uint8Array; readonly seq: number; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: ProtocolError };

/** Moved to `sdk/core/nbiot/acquisition.ts` (ports.ts needs it too); exported here as before. */
export type { ReadingProof } from "../core/nbiot/acquisition.ts";

interface LiveSession {
  readonly session: Session;
  lastCounter: number;
}

export interface SealedBatch extends BatchRecord {
  readonly tree: MerkleTree;
}

const TREE_CACHE = 8;

export class BaseStation implements StationLink {
  readonly params: NbiotParams;
  readonly id: Hex;
  readonly store: SqliteFlowStore;
  readonly #keys: StationKeys;
  readonly #directory: Directory;
  readonly #stations: StationResolver;
  readonly #maxBatch: number;
  readonly #clock: () => number;
  readonly #chain: ChainClock | undefined;
  /** Live sessions in the order they were opened (or renewed): expired ones are dropped from the front. */
  readonly #sessions = new Map<string, LiveSession>();
  readonly #sessionOf = new Map<Hex, string>();
  readonly #maxSessions: number;
  /** Flows in memory, a bounded cache over the store (the source of truth). */
  readonly #flows: LruMap<Hex, FlowState>;
  readonly #authGuard: ReplayGuard;
  readonly #handoverGuard: ReplayGuard;
  /**
   * Each node's latest entry this station knows of (the node's own time on its request):
   * its authentications here and the handovers this station answered, claimed as each request
   * arrives. Kept in the store, so a restart forgets none; this is a bounded cache of it.
   */
  readonly #latestEntry: LruMap<Hex, number>;
  readonly #maxConcurrentEntries: number;
  /** Entries being handled now. */
  #entering = 0;
  /** When the store's replay state was last pruned (station clock). */
  #swept: number;
  readonly #trees = new Map<number, MerkleTree>();
  readonly #batches = new Map<number, BatchRecord>();
  /** Blocks stored but not yet batched, in id order (rebuilt from the store at open). */
  #pending: { id: number; hash: Uint8Array }[];
  /** Seals run one after another. */
  #sealing: Promise<unknown> = Promise.resolve();
  /** Anchoring runs one call after another. */
  #anchoring: Promise<unknown> = Promise.resolve();
  readonly #finality: Finality;
  readonly #receiptTimeoutMs: number;
  readonly #maxReplacements: number;
  readonly #maxFeePerGas: bigint | undefined;
  readonly #peerTimeoutMs: number;
  readonly #checkAuth: ((request: Uint8Array, now: number) => Promise<void>) | undefined;
  /** Reads the head at the final block; refuses, once and for good, a node without `finalized`. */
  readonly #finalHead = new FinalHeadReader("BaseStation (anchoring.finalityDepth)");
  /** Why each batch did not move on in the last `anchorPending` (see `anchorFault`). */
  readonly #faults = new Map<number, StrataError>();

  constructor(options: BaseStationOptions) {
    this.params = options.params;
    this.#keys = options.keys;
    this.id = checkId(options.keys.id, "keys.id");
    this.store = options.store;
    if (this.store.station !== this.id) {
      throw new InvalidInputError("the store belongs to another station", { store: this.store.station, id: this.id });
    }
    this.#directory = options.directory;
    this.#stations = options.stations;
    this.#maxBatch = options.maxBatch ?? 65_536;
    this.#clock = options.clock ?? Date.now;
    this.#chain = options.chain;
    if (!Number.isSafeInteger(this.#maxBatch) || this.#maxBatch < 1 || this.#maxBatch > 1 << 24) {
      throw new InvalidInputError("maxBatch must be an integer in [1, 2^24]", { maxBatch: this.#maxBatch });
    }
    const anchoring = options.anchoring ?? {};
    this.#finality = checkFinality(anchoring.finalityDepth ?? DEFAULT_FINALITY_DEPTH);
    this.#receiptTimeoutMs = anchoring.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
    this.#maxReplacements = anchoring.maxReplacements ?? 3;
    this.#maxFeePerGas = anchoring.maxFeePerGas;
    if (this.#maxFeePerGas !== undefined && (typeof this.#maxFeePerGas !== "bigint" || this.#maxFeePerGas < 1n)) {
      throw new InvalidInputError("anchoring.maxFeePerGas must be a positive bigint", {
        maxFeePerGas: String(this.#maxFeePerGas),
      });
    }
    this.#peerTimeoutMs = options.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
    this.#checkAuth = options.checkAuth;
    if (!Number.isSafeInteger(this.#peerTimeoutMs) || this.#peerTimeoutMs < 1 || this.#peerTimeoutMs > 2 ** 31 - 1) {
      throw new InvalidInputError("peerTimeoutMs must be an integer in [1, 2^31 - 1]", {
        peerTimeoutMs: this.#peerTimeoutMs,
      });
    }
    if (!Number.isSafeInteger(this.#receiptTimeoutMs) || this.#receiptTimeoutMs < 1) {
      throw new InvalidInputError("anchoring.receiptTimeoutMs must be a positive integer", {
        receiptTimeoutMs: this.#receiptTimeoutMs,
      });
    }
    if (!Number.isSafeInteger(this.#maxReplacements) || this.#maxReplacements < 0) {
      throw new InvalidInputError("anchoring.maxReplacements must be a non-negative integer", {
        maxReplacements: this.#maxReplacements,
      });
    }
    const limits = { ...STATION_LIMITS, ...definedOnly(options) };
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new InvalidInputError(`${k} must be a positive integer`, { [k]: v });
    }
    this.#maxSessions = limits.maxSessions;
    this.#maxConcurrentEntries = limits.maxConcurrentEntries;
    this.#flows = new LruMap(limits.maxFlows);
    this.#latestEntry = new LruMap(limits.maxFlows);
    const now = this.#clock();
    this.#authGuard = this.#restoreGuard("auth", now);
    this.#handoverGuard = this.#restoreGuard("handover", now);
    this.#swept = now;
    this.#pending = this.store.pending(Number.MAX_SAFE_INTEGER);
  }

  /** A replay guard holding the nonces of `scope` a previous run saw that may still be replayed. */
  #restoreGuard(scope: string, now: number): ReplayGuard {
    const guard = new ReplayGuard(this.params.timing.clockSkewMs);
    for (const { key, until } of this.store.nonces(scope, now)) guard.restore(key, until);
    return guard;
  }

  /** Checks a nonce against `guard` and keeps it in the store before the request goes on. */
  #seen(guard: ReplayGuard, scope: string, from: Hex, nonce: Uint8Array, now: number): void {
    const until = guard.check(from, nonce, now);
    this.store.rememberNonce(scope, ReplayGuard.key(from, nonce), until);
  }

  /**
   * Forgets expired sessions, and at most once per skew window the store's
   * replay state no fresh request can need (robust to the clock stepping back:
   * anything dated too far either way goes).
   */
  #sweep(now: number): void {
    for (const [key, live] of this.#sessions) {
      if (live.session.expiresAt > now && this.#sessions.size <= this.#maxSessions) break;
      this.#drop(key, live);
    }
    const skew = this.params.timing.clockSkewMs;
    if (Math.abs(now - this.#swept) < skew) return;
    this.#swept = now;
    this.store.forgetReplayState(now, now + 4 * skew, now - 2 * skew);
  }

  #drop(key: string, live: LiveSession): void {
    this.#sessions.delete(key);
    if (this.#sessionOf.get(live.session.node) === key) this.#sessionOf.delete(live.session.node);
  }

  /**
   * The flow of `node`, from memory or the store. `ingest` only peeks (it sets the flows it
   * extends as most recently used at the end of the call, so a frame costs no reordering).
   */
  #flow(node: Hex, peek = false): FlowState | undefined {
    let flow = peek ? this.#flows.peek(node) : this.#flows.get(node);
    if (flow === undefined) {
      flow = this.store.flow(node);
      if (flow !== undefined) this.#flows.set(node, flow);
    }
    return flow;
  }

  /**
   * Admits one more entry, or refuses it at once as `busy` (retryable) when
   * `maxConcurrentEntries` are being handled: under a storm a request waits for
   * nothing, so none goes stale in a queue and is refused for its clock.
   */
  async #admit<T>(work: () => Promise<T>): Promise<T> {
    if (this.#entering >= this.#maxConcurrentEntries) {
      throw new ProtocolError("busy", "the station is handling as many entries as it may: try again shortly", {
        retryable: true,
        limit: this.#maxConcurrentEntries,
      });
    }
    this.#entering++;
    try {
      return await work();
    } finally {
      this.#entering--;
    }
  }

  /** Opens a station on the SQLite file at `path` (created if missing). */
  static open(options: Omit<BaseStationOptions, "store"> & { readonly storePath: string }): BaseStation {
    return new BaseStation({ ...options, store: new SqliteFlowStore(options.storePath, options.keys.id) });
  }

  /**
   * Opens a station on the SQLite file at `storePath` after checking it against the chain
   * (`checkStoreAgainstChain`): the way to start a station that anchors. The file is read-only
   * until it has passed, so a refused file is left byte for byte as it was. A missing file is
   * refused (`StoreError` "missing") unless `create` asks for a new one, which is made only when
   * the chain records no anchor of this station.
   */
  static async start(
    options: Omit<BaseStationOptions, "store"> & {
      readonly storePath: string;
      readonly anchors: AnchorHead;
      readonly create?: boolean;
      /** The store's `synchronous` (`StoreOpenOptions`; default `NORMAL`, `FULL`: receipted readings survive a power loss). */
      readonly synchronous?: Synchronous;
    },
  ): Promise<BaseStation> {
    const path = options.storePath;
    const station = options.keys.id;
    const head = await options.anchors.head(station);
    const seen = SqliteFlowStore.inspect(path, station, Number(head));
    if (seen === undefined && options.create !== true) {
      throw new StoreError("missing", path, "no store file (start with create: true to make a new one)");
    }
    await checkStoreAgainstChain(path, station, options.anchors, head, seen ?? { lastBatch: 0, rootAt: undefined });
    const store = new SqliteFlowStore(path, station, {
      mode: seen === undefined ? "create" : "open",
      ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }),
    });
    try {
      return new BaseStation({ ...options, store });
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /**
   * Refuses a store older than the chain's record of this station (`StoreError` "behind-chain"),
   * or whose batch at the chain's head is not the one the chain recorded ("forked"): see
   * `checkStoreAgainstChain`.
   */
  async checkAgainstChain(anchors: AnchorHead): Promise<void> {
    const head = await anchors.head(this.id);
    await checkStoreAgainstChain(this.store.path, this.id, anchors, head, {
      lastBatch: this.store.lastBatchNumber,
      rootAt: this.store.batch(Number(head))?.root,
    });
  }

  /** The flow of `node` as this station knows it. */
  flow(node: Hex): FlowState | undefined {
    return this.#flow(node.toLowerCase() as Hex);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** How many flows are held in memory (all of them are in the store). */
  get cachedFlowCount(): number {
    return this.#flows.size;
  }

  async #expect(id: Hex, kind: Kind, what: string): Promise<void> {
    const entry = await this.#directory.lookup(id);
    if (entry === undefined || entry.kind !== kind || entry.status !== Status.Active) {
      throw new ProtocolError("not-registered", `${what} ${id} is not a registered, active ${kindName(kind)}`, {
        id,
        kind: entry?.kind,
        status: entry?.status,
      });
    }
  }

  // -------------------------------------------------------------- entering

  /**
   * A node's authentication request: checks it, takes the flow over if needed, answers with a
   * session key. A request is used once it is checked (its nonce and time are kept before the
   * registry or the other station is asked), so one that then fails, a `TimeoutError` included,
   * is refused as a `replay` if sent again: the node retries with a new request.
   */
  authenticate(request: Uint8Array, now: number): Promise<Uint8Array> {
    return this.#admit(() => this.#authenticate(request, now)).catch((e: unknown) => {
      if (e instanceof TimeoutError) {
        throw new TimeoutError(
          `${e.shortMessage}; the request is used (sent again it is a replay): retry with a new request`,
          e.details,
          { cause: e },
        );
      }
      throw e;
    });
  }

  async #authenticate(request: Uint8Array, now: number): Promise<Uint8Array> {
    this.#sweep(now);
    let req: AuthRequest;
    if (this.#checkAuth === undefined) req = checkAuthRequest(this.params, this.id, request, now);
    else {
      await this.#checkAuth(request, now);
      req = decodeAuthRequest(request);
      // the checked bytes decode the same here; addressing is cheap to hold to this station again
      if (req.bs !== this.id) throw new ProtocolError("wrong-peer", "the request is addressed to another base station");
    }
    this.#seen(this.#authGuard, "auth", req.node, req.nonce, now);
    this.#claimEntry(req.node, req.time);
    await this.#expect(req.node, Kind.Device, "node");

    let flow = this.#flow(req.node);
    const entry = stepEntry(flow, req.tip, this.id);
    if (!entry.ok) throw entry.error;
    if (entry.source !== undefined) flow = await this.#takeOver(req, entry.source, now);
    this.#stillLatest(req.node, req.time);
    const tip: ChainTip | undefined = flow === undefined ? undefined : flow.tip;
    const { response, secret } = makeAuthResponse(this.params, this.#keys, req, now, tip);
    this.#open(new Session(secret));
    return response.bytes;
  }

  #open(session: Session): void {
    const old = this.#sessionOf.get(session.node);
    if (old !== undefined) this.#sessions.delete(old);
    this.#sessions.set(session.key, { session, lastCounter: 0 });
    this.#sessionOf.set(session.node, session.key);
    while (this.#sessions.size > this.#maxSessions) {
      const [key, live] = this.#sessions.entries().next().value!;
      this.#drop(key, live);
    }
  }

  /**
   * Takes a node's request as its latest entry here, before anything is awaited: a request
   * dated at or before the latest one this station knows of is a replay. Requests are handled
   * concurrently (registry lookups, the other station's answer), so the claim is made at once
   * and checked again (`#stillLatest`) before the request acts on the flow or the session.
   */
  #claimEntry(node: Hex, time: number): void {
    checkLaterEntry({ node, time }, this.#latest(node));
    this.#latestEntry.set(node, time);
    this.store.setLatestEntry(node, time);
  }

  #latest(node: Hex): number | undefined {
    return this.#latestEntry.get(node) ?? this.store.latestEntry(node);
  }

  /** Refuses a request overtaken, while it awaited, by a newer entry of the same node. */
  #stillLatest(node: Hex, time: number): void {
    const latest = this.#latest(node);
    if (latest !== time) {
      throw new ProtocolError("replay", "a newer entry of the node arrived meanwhile", { node, time, latest });
    }
  }

  #close(node: Hex): void {
    const key = this.#sessionOf.get(node);
    if (key !== undefined) this.#sessions.delete(key);
    this.#sessionOf.delete(node);
  }

  /**
   * BS2's side of a handover: ask `source` for the tip (with the node's own
   * request as proof it is here), check the record, and adopt the flow — never
   * a tip behind what this station holds or handed over itself.
   */
  async #takeOver(req: AuthRequest, source: Hex, now: number): Promise<FlowState> {
    const node = req.node;
    await this.#expect(source, Kind.BaseStation, "station");
    const link = this.#stations(source);
    if (link === undefined) {
      throw new ProtocolError("not-registered", `station ${source} is not reachable`, { station: source });
    }
    const request = makeHandoverRequest(this.params, this.#keys, source, req, now);
    const bytes = await withDeadline(
      `handover from station ${source}`,
      this.#peerTimeoutMs,
      link.handover(request.bytes),
    );
    const record = checkHandoverRecord(this.params, request, bytes, now);
    const step = stepTakeOver(this.#flow(node), node, record, this.store.block(node, record.tipSeq + 1) !== undefined);
    if (!step.ok) throw step.error;
    const flow = step.next;
    this.store.saveHandover(record, record.bytes, flow);
    this.#flows.set(node, flow);
    return flow;
  }

  /**
   * BS1's side of a handover: confirm our tip of the flow to a registered
   * station the node has entered, and stop extending it.
   */
  handover(request: Uint8Array, now: number = this.#clock()): Promise<Uint8Array> {
    return this.#admit(() => this.#handover(request, now));
  }

  async #handover(request: Uint8Array, now: number): Promise<Uint8Array> {
    this.#sweep(now);
    const req = checkHandoverRequest(this.params, this.id, request, now);
    this.#seen(this.#handoverGuard, "handover", req.to, req.nonce, now);
    this.#claimEntry(req.node, req.nodeTime);
    await this.#expect(req.to, Kind.BaseStation, "station");
    this.#stillLatest(req.node, req.nodeTime);
    const flow = this.#flow(req.node);
    // the block held at the claimed tip, read only when the claim is below the flow's tip
    const below = flow !== undefined && req.claimedSeq > 0 && req.claimedSeq < flow.tip.seq;
    const held = below ? this.store.block(req.node, req.claimedSeq)?.hash : undefined;
    const step = stepHandOver(flow, req, held);
    if (!step.ok) throw step.error;
    const { tip, next } = step;
    // a tip this station did not make came with a record: pass it on, so the chain of records reaches the maker
    const prior = tip.bs === this.id ? undefined : this.store.handoverAt(req.node, tip.seq);
    const record = makeHandoverRecord(this.params, this.#keys, req, tip, prior, now);
    this.store.setFlow(next);
    this.#flows.set(req.node, next);
    this.#close(req.node);
    return record.bytes;
  }

  // ------------------------------------------------------------- ingesting

  /**
   * Frames from nodes in the area: each is opened at the session layer,
   * checked (live session, rising counter, next sequence number) and chained;
   * all blocks of the call are stored in one transaction before any receipt
   * is returned. A frame re-sent after a lost receipt gets the same receipt
   * again; nothing is stored twice.
   */
  ingest(frames: readonly Uint8Array[], now: number): IngestResult[] {
    const results: (IngestResult | { pending: NewBlock; live: LiveSession; counter: number })[] = [];
    const staged: NewBlock[] = [];
    const tips = new Map<Hex, FlowState>();
    for (const frame of frames) {
      try {
        const head = readHeader(frame, "frame");
        if (!isFrame(head)) throw new ProtocolError("malformed", "not a data frame", { tag: head.tag });
        const live = this.#sessions.get(head.sessionKey);
        if (live === undefined) throw new ProtocolError("unknown-session", "no such session: authenticate again");
        live.session.checkLive(now);
        if (head.counter <= live.lastCounter) {
          throw new ProtocolError("replay", "the frame counter did not rise", {
            counter: head.counter,
            last: live.lastCounter,
          });
        }
        const f = openFrame(live.session, frame, head.counter);
        live.lastCounter = head.counter;
        const node = live.session.node;
        const flow = tips.get(node) ?? this.#flow(node, true);
        const digest = ciphertextDigest(f.primary);
        const step = stepFlow(flow, { station: this.id, node, seq: f.seq, digest, now });
        if (!step.ok) throw step.error;
        if (step.kind === "repeat") {
          const again = repeatReading(this.#held(node, f.seq, staged), f.seq, digest);
          if (!again.ok) throw again.error;
          const receipt = sealReceipt(live.session, {
            counter: head.counter,
            seq: f.seq,
            time: again.block.time,
            bs: again.block.bs,
            hash: again.hash,
          });
          results.push({ ok: true, receipt, seq: f.seq, duplicate: true });
          continue;
        }
        const pending: NewBlock = { block: step.block, hash: step.hash, primary: f.primary };
        staged.push(pending);
        tips.set(node, step.next);
        results.push({ pending, live, counter: head.counter });
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        results.push({ ok: false, error: e });
      }
    }
    if (staged.length > 0) {
      try {
        const ids = this.store.append(staged);
        ids.forEach((id, i) => this.#pending.push({ id, hash: staged[i]!.hash }));
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.#appendOneByOne(staged, results, tips); // nothing was stored: find the frames at fault
      }
    }
    for (const [node, flow] of tips) this.#flows.set(node, flow);
    return results.map((r) => {
      if (!("pending" in r)) return r;
      const { block, hash } = r.pending;
      const receipt = sealReceipt(r.live.session, {
        counter: r.counter,
        seq: block.seq,
        time: block.time,
        bs: this.id,
        hash,
      });
      return { ok: true, receipt, seq: block.seq, duplicate: false };
    });
  }

  /**
   * The slow path after a chunk failed to store: store its blocks one by one;
   * a block that cannot be stored, and every later block of its node in the
   * chunk, becomes that frame's error, and the node's tip stays where it was.
   */
  #appendOneByOne(
    staged: readonly NewBlock[],
    results: (IngestResult | { pending: NewBlock; live: LiveSession; counter: number })[],
    tips: Map<Hex, FlowState>,
  ): void {
    const failed = new Map<Hex, ProtocolError>();
    const stored = new Map<Hex, FlowState>();
    for (const block of staged) {
      const node = block.block.node;
      let error = failed.get(node);
      if (error === undefined) {
        try {
          const [id] = this.store.append([block]);
          this.#pending.push({ id: id!, hash: block.hash });
          stored.set(node, {
            node,
            tip: { bs: this.id, seq: block.block.seq, hash: block.hash, time: block.block.time },
          });
          continue;
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          error = e;
          failed.set(node, e);
        }
      }
      const at = results.findIndex((r) => "pending" in r && r.pending === block);
      results[at] = { ok: false, error };
    }
    tips.clear();
    for (const [node, flow] of stored) tips.set(node, flow);
  }

  /** The block this station holds at `seq` of `node`'s flow: staged in this call, or stored. */
  #held(node: Hex, seq: number, staged: readonly NewBlock[]): HashedBlock | undefined {
    return staged.find((s) => s.block.node === node && s.block.seq === seq) ?? this.store.block(node, seq);
  }

  /**
   * A renewal request: the next session key, derived symmetrically, unless the
   * line of renewals is too old or the node is no longer active in the registry.
   */
  async renew(request: Uint8Array, now: number): Promise<Uint8Array> {
    const head = readHeader(request, "renew request");
    if (!isRenewRequest(head)) throw new ProtocolError("malformed", "not a renew request");
    const live = this.#sessions.get(head.sessionKey);
    if (live === undefined) throw new ProtocolError("unknown-session", "no such session: authenticate again");
    live.session.checkLive(now);
    if (head.counter <= live.lastCounter) throw new ProtocolError("replay", "the renew request's counter did not rise");
    const nodeNonce = openRenewRequest(live.session, request);
    live.lastCounter = head.counter;
    try {
      await this.#expect(live.session.node, Kind.Device, "node");
    } catch (e) {
      this.#close(live.session.node);
      throw e;
    }
    const { maxSessionAgeMs, sessionLifetimeMs } = this.params.timing;
    const ageLimit = live.session.establishedAt + maxSessionAgeMs;
    if (now >= ageLimit) {
      throw new ProtocolError("stale-session", "the session is too old to renew: authenticate again", {
        establishedAt: live.session.establishedAt,
      });
    }
    const offer = {
      bsNonce: crypto.getRandomValues(new Uint8Array(NONCE_BYTES)),
      nextId: crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES)),
      expiresAt: Math.min(now + sessionLifetimeMs, ageLimit),
    };
    const response = sealRenewResponse(live.session, head.counter, offer);
    this.#open(new Session(live.session.renewed(nodeNonce, offer.bsNonce, offer.nextId, offer.expiresAt)));
    return response;
  }

  // ------------------------------------------------------ batching, anchoring

  /** Signs the next batch of blocks not yet batched (undefined when there are none); calls run in turn. */
  seal(now: number): Promise<SealedBatch | undefined> {
    const run = this.#sealing.then(() => this.#seal(now));
    this.#sealing = run.catch(() => undefined);
    return run;
  }

  async #seal(now: number): Promise<SealedBatch | undefined> {
    const pending = this.#pending.slice(0, this.#maxBatch);
    if (pending.length === 0) return undefined;
    await this.#checkClock(now, pending[0]!.id, pending.at(-1)!.id);
    const hashes = new Uint8Array(pending.length * 32);
    pending.forEach((p, i) => hashes.set(p.hash, i * 32));
    const tree = await buildTree(await bytes32Leaves(hashes), { sortLeaves: false });
    const number = this.store.lastBatchNumber + 1;
    const message = batchMessage({ bs: this.id, number, root: tree.root, leafCount: pending.length, time: now });
    const signature = signBody(this.params, this.#keys, now, new Uint8Array(), message);
    const batch: BatchRecord = {
      number,
      root: tree.root,
      leafCount: pending.length,
      firstId: pending[0]!.id,
      lastId: pending.at(-1)!.id,
      signature,
      createdAt: now,
    };
    this.store.saveBatch(batch);
    this.#pending = this.#pending.slice(pending.length);
    this.#remember(batch, tree);
    return { ...batch, tree };
  }

  /**
   * Refuses (`clock-skew`, nothing sealed) to sign a batch dated, or holding a
   * block dated, more than the tolerated skew after the chain's clock (the time
   * the node gives its next block, see `ChainClock`): an application would find
   * such blocks dated after their anchor. The blocks stay pending and are sealed
   * once the chain has caught up with them. A silent node fails the seal with
   * the clock's `TimeoutError`.
   */
  async #checkClock(now: number, firstId: number, lastId: number): Promise<void> {
    if (this.#chain === undefined) return;
    const chainTime = await this.#chain.latestBlockTime();
    const latest = Math.max(now, this.store.latestTime(firstId, lastId) ?? now);
    checkNotAhead(latest, chainTime, this.params.timing.clockSkewMs, "the batch (station clock or a block)");
  }

  #remember(batch: BatchRecord, tree: MerkleTree): void {
    this.#trees.set(batch.number, tree);
    this.#batches.set(batch.number, batch);
    if (this.#trees.size > TREE_CACHE) {
      const oldest = this.#trees.keys().next().value!;
      this.#trees.delete(oldest);
      this.#batches.delete(oldest);
    }
  }

  async #tree(batch: BatchRecord): Promise<MerkleTree> {
    const cached = this.#trees.get(batch.number);
    if (cached !== undefined) return cached;
    const hashes = this.store.batchHashes(batch);
    const flat = new Uint8Array(hashes.length * 32);
    hashes.forEach((h, i) => flat.set(h, i * 32));
    const tree = await buildTree(await bytes32Leaves(flat), { sortLeaves: false });
    if (tree.root !== batch.root) {
      throw new ProtocolError("tampered", `the store's blocks of batch ${batch.number} no longer match its root`, {
        batch: batch.number,
      });
    }
    this.#remember(batch, tree);
    return tree;
  }

  /**
   * Anchors every signed batch not yet anchored, oldest first, from this
   * station's registered account, and returns the batches it found anchored.
   * Calls run one after another.
   *
   * Each anchor transaction is signed and kept in the store before it is sent;
   * one not mined within `receiptTimeoutMs` is sent again (a node that dropped
   * it takes it back) and then replaced (same nonce, higher fee), at most
   * `maxReplacements` times; a batch still not anchored then stays `pending`
   * (`anchorState`), and so do the batches after it, for the next call. What a
   * transaction did is read from the chain (the root's record), so a restart at
   * any point neither sends a second transaction for a batch nor loses one.
   *
   * Anchors are final after `finalityDepth` confirmations (or once the node's
   * `finalized` block holds them). Before that, each call checks them again,
   * every read of one check pinned to one block: an anchor a chain
   * reorganisation removed (its root at another sequence there, or at none
   * while the station's head there reached its sequence, or went below it at a
   * block not lower than where the anchor was seen) is forgotten and its batch
   * anchored again, in order, before any later batch; a node that lags proves
   * no removal. A check that fails leaves its batches as they are, says why
   * (`anchorFault`) and does not stop the anchoring of new batches; a node that
   * does not serve `finalized` with `finalityDepth: "finalized"` is refused,
   * once and for every later call, with a `ConfigError` naming `finalityDepth`.
   *
   * Replacements never pay above `maxFeePerGas` (a batch at the cap stays
   * pending, its `anchorFault` a `FeeCapError`). A node that refuses a
   * transaction for good (insufficient funds …) fails the call with a
   * `TxRejectedError`; chain calls fail with `TimeoutError` (retryable) when
   * the node is silent. Either is also the batch's `anchorFault`.
   */
  anchorPending(anchor: AnchorWriter): Promise<BatchRecord[]> {
    const run = this.#anchoring.then(() => this.#anchorPending(anchor));
    this.#anchoring = run.catch(() => undefined);
    return run;
  }

  /** Where batch `number` stands on chain, as of the last `anchorPending` (`undefined`: no such batch). */
  anchorState(number: number): AnchorState | undefined {
    return this.store.anchorState(number);
  }

  /**
   * Why batch `number` did not move on in the last `anchorPending` (`undefined`: nothing went
   * wrong): a check of its anchor that failed, a replacement above `maxFeePerGas` (`FeeCapError`),
   * a transaction the node refused (`TxRejectedError`), a silent node (`TimeoutError`).
   */
  anchorFault(number: number): StrataError | undefined {
    return this.#faults.get(number);
  }

  async #anchorPending(anchor: AnchorWriter): Promise<BatchRecord[]> {
    this.#faults.clear();
    const held = await this.#recheck(anchor);
    const done: BatchRecord[] = [];
    // an anchor the node does not show, with no proof it was removed (a lagging node, or a chain
    // rolled back below it and not yet past it): a later batch sent now could take its sequence
    for (const batch of held ? [] : this.store.unanchored()) {
      let info: AnchorInfo | undefined;
      try {
        info = await this.#anchorOne(anchor, batch);
      } catch (e) {
        this.#faults.set(batch.number, typed(e));
        throw e;
      }
      if (info === undefined) break; // still pending: later batches wait behind it
      this.store.markAnchored(batch.number, info);
      done.push({ ...batch, anchor: info });
    }
    await this.#recheck(anchor);
    return done;
  }

  /**
   * Checks the anchors not yet final against the chain, every read pinned to one block
   * (`anchorVerdict`): forgets one a reorganisation removed, and marks final those the head at the
   * final block reached. A read that fails is each of its batches' `anchorFault`, and they stay as
   * they are; only a node refused for `finalized` (`ConfigError`) fails the call. True when an
   * anchor is missing at that block with no proof of its removal (its `anchorFault` says so): no
   * later batch is anchored until the chain shows it again or proves it gone.
   */
  async #recheck(anchor: AnchorWriter): Promise<boolean> {
    const unsettled = this.store.unsettled();
    let held = false;
    if (unsettled.length === 0) return held;
    let at: number;
    let tag: number | "finalized" | undefined;
    let confirmed: bigint;
    let head: bigint;
    try {
      at = await anchor.blockNumber();
      tag = finalBlockTag(at, this.#finality);
      confirmed = tag === undefined ? 0n : await this.#finalHead.headAt((t) => anchor.head(this.id, t), tag, at);
      head = await anchor.head(this.id, at);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      for (const batch of unsettled) this.#faults.set(batch.number, typed(e));
      return held;
    }
    for (const batch of unsettled) {
      const recorded = batch.anchor!;
      try {
        const onChain = await anchor.anchorOf(this.id, batch.root, at);
        const seen = this.store.anchorSeenAt(batch.number);
        const verdict = anchorVerdict(
          { sequence: recorded.sequence, ...(seen === undefined ? {} : { block: seen }) },
          onChain,
          confirmed,
          { head, block: at },
        );
        if (verdict === "removed") {
          this.store.unmarkAnchored(batch.number);
          continue;
        }
        if (onChain === undefined) {
          held = true;
          this.#faults.set(
            batch.number,
            new ProtocolError(
              "not-anchored",
              `block ${at} does not show batch ${batch.number}'s anchor, and proves no removal: later batches wait`,
              { batch: batch.number, block: at, seenAt: seen },
            ),
          );
          continue;
        }
        if (onChain.time !== recorded.time) {
          this.store.markAnchored(batch.number, { ...recorded, time: onChain.time });
        }
        if (verdict === "final") this.store.markFinal(batch.number, typeof tag === "number" ? tag : at);
      } catch (e) {
        this.#faults.set(batch.number, typed(e));
      }
    }
    return held;
  }

  /**
   * Anchors one batch through its kept transactions: its record on chain when
   * there is one, else the kept transaction sent again, a replacement, or a
   * first transaction (when none was signed or its nonce went to another
   * transaction); `undefined` when still not mined after the replacements.
   */
  async #anchorOne(anchor: AnchorWriter, batch: BatchRecord): Promise<AnchorInfo | undefined> {
    let tx: AnchorTx | undefined = this.store.anchorTxs(batch.number).at(-1);
    for (let attempt = 0; ; attempt++) {
      // the nonce first: a transaction of ours mined by then shows in the record read after it
      const minedNonce = await anchor.minedNonce();
      const at = await anchor.blockNumber();
      const found = await anchor.anchorOf(this.id, batch.root, at);
      if (found !== undefined) {
        const txHash = await this.#minedHash(anchor, batch.number);
        return { sequence: found.sequence, time: found.time, txHash, block: at };
      }
      if (attempt > this.#maxReplacements) return undefined;
      const fresh = tx === undefined || minedNonce > tx.nonce;
      if (fresh || attempt > 0) {
        const signed = await this.#sign(anchor, batch, fresh ? undefined : tx);
        if (signed === undefined) continue; // mined meanwhile: the record says where
        if (signed !== tx) {
          tx = signed;
          this.store.trackAnchorTx(batch.number, tx); // kept before it is sent
        }
      }
      await anchor.broadcast(tx!);
      await anchor.mined(tx!.hash, this.#receiptTimeoutMs);
    }
  }

  /**
   * Signs batch `batch`'s anchor (replacing `replacing`, at its gas limit: nothing is estimated);
   * `undefined` when the root is anchored at the latest block; `replacing` itself when a
   * replacement would pay above `maxFeePerGas` (it stays pending; the fault is recorded).
   */
  async #sign(anchor: AnchorWriter, batch: BatchRecord, replacing?: AnchorTx): Promise<AnchorTx | undefined> {
    const fees = this.#maxFeePerGas === undefined ? {} : { maxFeePerGas: this.#maxFeePerGas };
    try {
      return await anchor.signAnchor(this.id, batch.root, batch.leafCount, replacing, fees);
    } catch (e) {
      if (e instanceof FeeCapError && replacing !== undefined) {
        this.#faults.set(batch.number, e);
        return replacing;
      }
      // a first transaction's estimate runs the call: a revert says the root is anchored only
      // when the latest block holds it (a node estimating at its pending block sees ours pending)
      if (
        e instanceof ContractRevertError &&
        e.errorName === "DataAnchorRootExists" &&
        (await anchor.anchorOf(this.id, batch.root, "latest")) !== undefined
      ) {
        return undefined;
      }
      throw e;
    }
  }

  /** The hash of the kept transaction that anchored batch `number` ("" when none of them did: sent by another run). */
  async #minedHash(anchor: AnchorWriter, number: number): Promise<string> {
    for (const tx of this.store.anchorTxs(number).reverse()) {
      const mined = await anchor.mined(tx.hash);
      if (mined !== undefined && mined.status === 1) return mined.hash;
    }
    return "";
  }

  // --------------------------------------------------------------- serving

  #batchFor(id: number): BatchRecord | undefined {
    for (const b of this.#batches.values()) if (id >= b.firstId && id <= b.lastId) return b;
    return this.store.batchOf(id);
  }

  /**
   * `node`'s sealed blocks with `from <= time <= to` and sequence number above
   * `afterSeq`, at most `limit` (`more` says whether to ask again after the
   * last one), with batch signatures, proofs and the handovers into them.
   */
  async acquire(node: Hex, from: number, to: number, afterSeq = 0, limit = 10_000): Promise<AcquisitionResponse> {
    const id = checkId(node, "node");
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from > to) {
      throw new InvalidInputError("a time range is two integers with from <= to", { from, to });
    }
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0 || !Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidInputError("afterSeq is a sequence number and limit a positive integer", { afterSeq, limit });
    }
    const stored = this.store.blocksInRange(id, from, to, afterSeq, limit + 1);
    const more = stored.length > limit;
    if (more) stored.pop();
    const blocks: ProvenBlock[] = [];
    const batches = new Map<number, SignedBatch>();
    const handovers: Uint8Array[] = [];
    let previous: Block | undefined;
    for (const s of stored) {
      const batch = this.#batchFor(s.id)!;
      const tree = await this.#tree(batch);
      blocks.push({
        block: encodeBlock(s.block),
        primary: s.primary,
        batch: batch.number,
        leafIndex: s.id - batch.firstId,
        proof: tree.proof(s.id - batch.firstId),
      });
      batches.set(batch.number, signed(batch));
      if (s.block.seq > 1 && (previous === undefined || previous.seq !== s.block.seq - 1)) {
        const prior = this.store.block(id, s.block.seq - 1);
        if (prior === undefined) {
          const record = this.store.handoverAt(id, s.block.seq - 1);
          if (record !== undefined) handovers.push(record);
        }
      }
      previous = s.block;
    }
    return { station: this.id, node: id, blocks, batches: [...batches.values()], handovers, more };
  }

  /** The proof of one block of `node` (for a light node holding its receipt). */
  async proof(node: Hex, seq: number): Promise<ReadingProof> {
    const s = this.store.block(checkId(node, "node"), seq);
    if (s === undefined) throw new ProtocolError("missing-block", `no block ${seq} of ${node} here`, { node, seq });
    const batch = this.#batchFor(s.id);
    if (batch === undefined)
      throw new ProtocolError("bad-proof", `block ${seq} is not sealed into a batch yet`, { seq });
    const tree = await this.#tree(batch);
    return {
      block: encodeBlock(s.block),
      hash: s.hash,
      batch: signed(batch),
      leafIndex: s.id - batch.firstId,
      proof: tree.proof(s.id - batch.firstId),
    };
  }

  close(): void {
    this.#sessions.clear();
    this.store.close();
  }
}

/** `e` as a typed error (a port that threw something else: a `TransportError` around it). */
function typed(e: unknown): StrataError {
  if (e instanceof StrataError) return e;
  return new TransportError("the chain call failed", {}, { cause: e });
}

/** The options that were given (a limit left `undefined` keeps its default). */
function definedOnly(o: BaseStationOptions): Partial<typeof STATION_LIMITS> {
  const out: { -readonly [K in keyof typeof STATION_LIMITS]?: number } = {};
  for (const k of Object.keys(STATION_LIMITS) as (keyof typeof STATION_LIMITS)[]) {
    if (o[k] !== undefined) out[k] = o[k];
  }
  return out;
}

function signed(b: BatchRecord): SignedBatch {
  return { number: b.number, root: b.root, leafCount: b.leafCount, time: b.createdAt, signature: b.signature };
}

function kindName(kind: Kind): string {
  return kind === Kind.BaseStation ? "base station" : kind === Kind.Device ? "device" : `kind ${kind}`;
}

/**
 * A station's store against the chain: it must hold every batch the chain records (`behind-chain`:
 * a file restored from an older copy, or without its `-wal`), and its batch at the chain's head
 * must be the root the chain recorded at that sequence (`forked`: another lineage of the store).
 * A lost `-wal` that held only batches not yet anchored cannot be seen from the chain.
 */
async function checkStoreAgainstChain(
  path: string,
  station: Hex,
  anchors: AnchorHead,
  head: bigint,
  store: { readonly lastBatch: number; readonly rootAt: Hex | undefined },
): Promise<void> {
  checkNotBehindChain(path, BigInt(store.lastBatch), head);
  if (head === 0n) return;
  const record = store.rootAt === undefined ? undefined : await anchors.anchorOf(station, store.rootAt);
  if (record?.sequence !== head) {
    throw new StoreError("forked", path, "the store's batch at the chain's head is not the one the chain recorded", {
      batch: head,
      root: store.rootAt,
      recordedAs: record?.sequence,
    });
  }
}
