/**
 * The chunked log reader every contract client reads its events with: it
 * never scans before the contract's deployment block, splits the window into
 * `eth_getLogs` queries whose span adapts to the node (halved on a range-limit
 * error, doubled back after successes), and reads block times in parallel
 * waves cached per block number (a `JsonRpcProvider` sends each wave as one
 * JSON-RPC batch). It is the fallback every client keeps when no indexer is at hand.
 */
import { id, type Log, type Provider } from "ethers";

import { checkInteger } from "../core/bytes.ts";
import {
  classifyLogError,
  growSpan,
  initialSpan,
  RATE_LIMIT_RETRIES,
  rateLimitBackoff,
  shrinkSpan,
  type SpanState,
} from "../core/logs.ts";
import { LruMap } from "../core/lru.ts";
import { InvalidInputError, TimeoutError, TransportError } from "../errors.ts";
import { DEFAULT_CALL_TIMEOUT_MS, withDeadline } from "./chain.ts";

/** Blocks in the first log query (many public nodes cap `eth_getLogs` at 10,000 blocks). */
export const DEFAULT_INITIAL_SPAN = 10_000;
/** The largest span the reader grows to. */
export const DEFAULT_MAX_SPAN = 1_000_000;
/** Block headers read at once for block times. */
export const DEFAULT_TIME_CONCURRENCY = 50;
/** Blocks below the head a block must be before what was read of it is kept (a reorg deeper than this is not expected). */
export const DEFAULT_CONFIRMATIONS = 12;
/** Block times kept (least recently used forgotten first). */
export const DEFAULT_TIME_CACHE = 10_000;
/** The first wait after a rate limit, in ms (doubled on each further one). */
export const DEFAULT_RATE_LIMIT_BACKOFF_MS = 500;

/** Where a reader's first block comes from: the option, a validated search, or nothing certain (block 0). */
export type DeploymentBlockSource = "given" | "contract" | "searched" | "unknown";

/** The selector of `deployedAt()`, the deployment block every Strata contract keeps. */
const DEPLOYED_AT = id("deployedAt()").slice(0, 10);

/** How a client reads its contract's logs. */
export interface LogReaderOptions {
  /**
   * The block the contract was deployed in (e.g. the deployment receipt's
   * `blockNumber`, or Ignition's record); no query starts before it. When
   * absent it is read once from the contract's `deployedAt()` (every Strata
   * contract keeps its deployment block; one call at the latest block), and for
   * a contract without it found once by binary search on `eth_getCode` (about
   * log2(head) calls; a node that prunes old state answers with an error and
   * the reader then starts at block 0).
   */
  readonly deploymentBlock?: number;
  /** Blocks in the first query (default 10,000). */
  readonly initialSpan?: number;
  /** Blocks the span may grow to (default 1,000,000). */
  readonly maxSpan?: number;
  /** Block headers requested at once (default 50). */
  readonly timeConcurrency?: number;
  /** Deadline of each request (`eth_getLogs`, `eth_getCode`, a block header …), in ms (default `DEFAULT_CALL_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
  /** Blocks below the head a block must be before anything read of it is cached (default 12). */
  readonly confirmations?: number;
  /** Block times cached (default 10,000, least recently used forgotten first). */
  readonly timeCacheSize?: number;
  /** The first wait after a rate limit, in ms (default 500, doubled each time; `RATE_LIMIT_RETRIES` tries). */
  readonly rateLimitBackoffMs?: number;
}

/** A window of blocks; `maxSpan` bounds every query of this read. */
export interface LogWindow {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly maxSpan?: number;
  /**
   * The caller's overall budget: once aborted the read stops before its next
   * request and throws `TimeoutError` (each request has its own deadline, `timeoutMs`).
   */
  readonly signal?: AbortSignal;
  /** Called after each finished query, in chain order, with its logs and its last block (progress a caller may keep). */
  readonly onChunk?: (logs: readonly Log[], toBlock: number) => void;
}

/** Checks a window's numbers (a typed error naming `what` for each bad one). */
export function checkWindow(window: LogWindow, spanName = "maxSpan"): void {
  if (window.fromBlock !== undefined) checkInteger(window.fromBlock, 0, Number.MAX_SAFE_INTEGER, "fromBlock");
  if (window.toBlock !== undefined) checkInteger(window.toBlock, 0, Number.MAX_SAFE_INTEGER, "toBlock");
  if (window.maxSpan !== undefined) checkInteger(window.maxSpan, 1, Number.MAX_SAFE_INTEGER, spanName);
  if (window.fromBlock !== undefined && window.toBlock !== undefined && window.fromBlock > window.toBlock) {
    throw new InvalidInputError("fromBlock must not be after toBlock", {
      fromBlock: window.fromBlock,
      toBlock: window.toBlock,
    });
  }
}

export class LogReader {
  readonly address: string;
  readonly #provider: () => Provider;
  readonly #maxSpan: number;
  readonly #timeConcurrency: number;
  readonly #timeoutMs: number;
  readonly #backoffMs: number;
  /** Blocks below the head a block must be before what was read of it is kept. */
  readonly confirmations: number;
  #deployment: Promise<number> | undefined;
  #source: DeploymentBlockSource | undefined;
  #state: SpanState;
  readonly #times: LruMap<number, bigint>;

  constructor(address: string, provider: () => Provider, options: LogReaderOptions = {}) {
    const start = options.initialSpan ?? DEFAULT_INITIAL_SPAN;
    checkInteger(start, 1, Number.MAX_SAFE_INTEGER, "initialSpan");
    this.#maxSpan = options.maxSpan ?? DEFAULT_MAX_SPAN;
    checkInteger(this.#maxSpan, 1, Number.MAX_SAFE_INTEGER, "maxSpan");
    this.#timeConcurrency = options.timeConcurrency ?? DEFAULT_TIME_CONCURRENCY;
    checkInteger(this.#timeConcurrency, 1, 10_000, "timeConcurrency");
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    checkInteger(this.#timeoutMs, 1, Number.MAX_SAFE_INTEGER, "timeoutMs");
    this.confirmations = options.confirmations ?? DEFAULT_CONFIRMATIONS;
    checkInteger(this.confirmations, 0, 1_000_000, "confirmations");
    this.#backoffMs = options.rateLimitBackoffMs ?? DEFAULT_RATE_LIMIT_BACKOFF_MS;
    checkInteger(this.#backoffMs, 0, 60_000, "rateLimitBackoffMs");
    this.#times = new LruMap(options.timeCacheSize ?? DEFAULT_TIME_CACHE);
    if (options.deploymentBlock !== undefined) {
      checkInteger(options.deploymentBlock, 0, Number.MAX_SAFE_INTEGER, "deploymentBlock");
      this.#deployment = Promise.resolve(options.deploymentBlock);
      this.#source = "given";
    }
    this.address = address;
    this.#provider = provider;
    this.#state = initialSpan(Math.min(start, this.#maxSpan));
  }

  /** The span the next query starts with (what the reader learned of the node so far). */
  get span(): number {
    return this.#state.span;
  }

  /**
   * Where the first block comes from: `given` (the option), `contract` (the
   * contract's own `deployedAt()`), `searched` (a contract without it: found by
   * binary search on its code and validated), `unknown` (the node could not
   * tell: reads start at block 0); `undefined` before the first read.
   */
  get deploymentBlockSource(): DeploymentBlockSource | undefined {
    return this.#source;
  }

  /** The block times cached now (bounded by `timeCacheSize`). */
  get cachedTimes(): number {
    return this.#times.size;
  }

  /**
   * The contract's deployment block: given, or read once from the contract
   * (`deployedAt()`), or for a contract without it found once by binary search
   * on its code and validated; 0 when the node cannot tell (kept: not searched again).
   * Only a contract not deployed yet is searched again at the next read.
   */
  deploymentBlock(): Promise<number> {
    if (this.#deployment === undefined) {
      const found = this.#findDeployment();
      this.#deployment = found.then((r) => r.block);
      found.then(
        (r) => {
          if (r.source === undefined)
            this.#deployment = undefined; // not deployed yet
          else this.#source = r.source;
        },
        () => (this.#deployment = undefined), // the head could not be read: nothing learned
      );
    }
    return this.#deployment;
  }

  /** The latest block number (one request, within its deadline). */
  head(): Promise<number> {
    return this.#request("eth_blockNumber", (p) => p.getBlockNumber());
  }

  /**
   * Every log of this contract matching `topics` in `window` (default: the
   * deployment block to the latest block), in chain order. Each request has
   * its own deadline (`TimeoutError`); a rate limit is waited out and tried
   * again (`TransportError` after `RATE_LIMIT_RETRIES` tries); throws
   * `TransportError` when the node refuses even a one-block query, and
   * `TimeoutError` once `window.signal` is aborted (no request is left running after).
   */
  async logs(topics: (string | string[] | null)[], window: LogWindow = {}): Promise<Log[]> {
    checkWindow(window);
    const deployed = await this.deploymentBlock();
    const toBlock = window.toBlock ?? (await this.head());
    const fromBlock = Math.max(window.fromBlock ?? 0, deployed);
    const maxSpan = Math.min(window.maxSpan ?? this.#maxSpan, this.#maxSpan);
    const found: Log[] = [];
    let start = fromBlock;
    let limited = 0;
    while (start <= toBlock) {
      checkBudget(window.signal, { address: this.address, block: start });
      const span = Math.min(this.#state.span, maxSpan);
      const end = Math.min(start + span - 1, toBlock);
      let chunk: Log[];
      try {
        chunk = await this.#request("eth_getLogs", (p) =>
          p.getLogs({ address: this.address, fromBlock: start, toBlock: end, topics }),
        );
      } catch (error) {
        const kind = classifyLogError(error);
        if (kind === "rate-limit") {
          limited++;
          if (limited >= RATE_LIMIT_RETRIES) {
            throw new TransportError(
              "the node keeps rate-limiting log queries",
              { address: this.address, block: start, tries: limited },
              { cause: error },
            );
          }
          await pause(rateLimitBackoff(limited, this.#backoffMs), window.signal);
          continue;
        }
        if (kind !== "range") throw error;
        const shrunk = shrinkSpan(end - start + 1);
        if (shrunk === undefined) {
          throw new TransportError(
            "the node refuses even a one-block log query",
            { address: this.address, block: start },
            { cause: error },
          );
        }
        this.#state = shrunk;
        continue;
      }
      limited = 0;
      this.#state = growSpan(this.#state, this.#maxSpan);
      found.push(...chunk);
      window.onChunk?.(chunk, end);
      start = end + 1;
    }
    return found;
  }

  /**
   * The timestamps of `blocks`, read in parallel waves of `timeConcurrency`;
   * a block at least `confirmations` below the head is cached (bounded, least
   * recently used forgotten first), a newer one is read again next time (a reorg may change it).
   */
  async blockTimes(blocks: Iterable<number>, signal?: AbortSignal): Promise<Map<number, bigint>> {
    const wanted = [...new Set(blocks)];
    const out = new Map<number, bigint>();
    const missing: number[] = [];
    for (const b of wanted) {
      const t = this.#times.get(b);
      if (t === undefined) missing.push(b);
      else out.set(b, t);
    }
    if (missing.length === 0) return out;
    const settled = (await this.head()) - this.confirmations;
    for (let i = 0; i < missing.length; i += this.#timeConcurrency) {
      checkBudget(signal, { address: this.address, block: missing[i] });
      const wave = missing.slice(i, i + this.#timeConcurrency);
      const headers = await this.#request("eth_getBlockByNumber", (p) => Promise.all(wave.map((b) => p.getBlock(b))));
      for (const [j, header] of headers.entries()) {
        if (!header) throw new TransportError(`block ${wave[j]} not found`, { block: wave[j] });
        const time = BigInt(header.timestamp);
        out.set(wave[j]!, time);
        if (wave[j]! <= settled) this.#times.set(wave[j]!, time);
      }
    }
    return new Map(wanted.map((b) => [b, out.get(b)!]));
  }

  /**
   * The block the contract says it was deployed in (`deployedAt()`, which every Strata contract
   * keeps): read at the latest block, so any node answers it, archive or pruned, and no state of
   * old blocks is trusted. `undefined` when the contract has no such function, or answers a block
   * after `head`.
   */
  async #toldByContract(head: number): Promise<number | undefined> {
    let answer: string;
    try {
      answer = await this.#request("eth_call deployedAt()", (p) => p.call({ to: this.address, data: DEPLOYED_AT }));
    } catch (error) {
      if (error instanceof TimeoutError) throw error; // a silent node: nothing learned
      return undefined; // no such function (an older deployment), or no contract yet
    }
    if (!/^0x[0-9a-fA-F]{64}$/.test(answer)) return undefined;
    const block = BigInt(answer);
    return block <= BigInt(head) ? Number(block) : undefined;
  }

  /** One request to the node within its deadline. */
  #request<T>(what: string, call: (provider: Provider) => Promise<T>): Promise<T> {
    return withDeadline(`${what} (${this.address})`, this.#timeoutMs, call(this.#provider()));
  }

  /**
   * The first block whose state holds this contract's code, validated: the
   * code is absent one block before and present at it, and every probe
   * answered. A probe that fails (a pruned node: "missing trie node"), or
   * evidence that is not monotonic, makes it `unknown`: block 0. A contract
   * with no code at the head is not deployed yet (`source` undefined: head + 1, searched again next time).
   */
  async #findDeployment(): Promise<{ block: number; source: DeploymentBlockSource | undefined }> {
    const head = await this.head();
    const told = await this.#toldByContract(head);
    if (told !== undefined) return { block: told, source: "contract" };
    const hasCode = async (block: number): Promise<boolean> =>
      (await this.#request("eth_getCode", (p) => p.getCode(this.address, block))) !== "0x";
    try {
      // not deployed yet: no log before the next block
      if (!(await hasCode(head))) return { block: head + 1, source: undefined };
      let lo = 0;
      let hi = head;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (await hasCode(mid)) hi = mid;
        else lo = mid + 1;
      }
      // validation: present at `lo` and absent just before it, asked again
      if (!(await hasCode(lo)) || (lo > 0 && (await hasCode(lo - 1)))) return { block: 0, source: "unknown" };
      return { block: lo, source: "searched" };
    } catch (error) {
      if (error instanceof TimeoutError) throw error; // a silent node: nothing learned, searched again next time
      return { block: 0, source: "unknown" }; // old state pruned (or the node failed): scan from genesis, in adaptive chunks
    }
  }
}

/** Throws `TimeoutError` when the caller's budget is spent. */
function checkBudget(signal: AbortSignal | undefined, details: Record<string, unknown>): void {
  if (signal?.aborted) {
    throw new TimeoutError("the log read's budget is spent", { ...details }, { cause: signal.reason });
  }
}

/** Waits `ms` (less when `signal` aborts first). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
