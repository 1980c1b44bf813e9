/**
 * The chunked log reader every contract client reads its events with: it
 * never scans before the contract's deployment block, splits the window into
 * `eth_getLogs` queries whose span adapts to the node (halved on a range-limit
 * error, doubled back after successes), and reads block times in parallel
 * waves cached per block number (a `JsonRpcProvider` sends each wave as one
 * JSON-RPC batch). It is the fallback every client keeps when no indexer is at hand.
 */
import type { Log, Provider } from "ethers";

import { checkInteger } from "../core/bytes.ts";
import { growSpan, initialSpan, isRangeLimitError, shrinkSpan, type SpanState } from "../core/logs.ts";
import { InvalidInputError, TransportError } from "../errors.ts";

/** Blocks in the first log query (many public nodes cap `eth_getLogs` at 10,000 blocks). */
export const DEFAULT_INITIAL_SPAN = 10_000;
/** The largest span the reader grows to. */
export const DEFAULT_MAX_SPAN = 1_000_000;
/** Block headers read at once for block times. */
export const DEFAULT_TIME_CONCURRENCY = 50;

/** How a client reads its contract's logs. */
export interface LogReaderOptions {
  /**
   * The block the contract was deployed in (e.g. the deployment receipt's
   * `blockNumber`, or Ignition's record); no query starts before it. When
   * absent it is found once by binary search on `eth_getCode` (about
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
}

/** A window of blocks; `maxSpan` bounds every query of this read. */
export interface LogWindow {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly maxSpan?: number;
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
  #deployment: Promise<number> | undefined;
  #state: SpanState;
  readonly #times = new Map<number, bigint>();

  constructor(address: string, provider: () => Provider, options: LogReaderOptions = {}) {
    const start = options.initialSpan ?? DEFAULT_INITIAL_SPAN;
    checkInteger(start, 1, Number.MAX_SAFE_INTEGER, "initialSpan");
    this.#maxSpan = options.maxSpan ?? DEFAULT_MAX_SPAN;
    checkInteger(this.#maxSpan, 1, Number.MAX_SAFE_INTEGER, "maxSpan");
    this.#timeConcurrency = options.timeConcurrency ?? DEFAULT_TIME_CONCURRENCY;
    checkInteger(this.#timeConcurrency, 1, 10_000, "timeConcurrency");
    if (options.deploymentBlock !== undefined) {
      checkInteger(options.deploymentBlock, 0, Number.MAX_SAFE_INTEGER, "deploymentBlock");
      this.#deployment = Promise.resolve(options.deploymentBlock);
    }
    this.address = address;
    this.#provider = provider;
    this.#state = initialSpan(Math.min(start, this.#maxSpan));
  }

  /** The span the next query starts with (what the reader learned of the node so far). */
  get span(): number {
    return this.#state.span;
  }

  /** The contract's deployment block (given, or found once by binary search on its code). */
  deploymentBlock(): Promise<number> {
    if (this.#deployment === undefined) {
      const found = this.#findDeployment();
      // kept only when the search could tell: a failed search is tried again next time
      this.#deployment = found.then((r) => r.block);
      found.then(
        (r) => r.certain || (this.#deployment = undefined),
        () => (this.#deployment = undefined),
      );
    }
    return this.#deployment;
  }

  /**
   * Every log of this contract matching `topics` in `window` (default: the
   * deployment block to the latest block), in chain order. Throws
   * `TransportError` when the node refuses even a one-block query.
   */
  async logs(topics: (string | string[] | null)[], window: LogWindow = {}): Promise<Log[]> {
    checkWindow(window);
    const provider = this.#provider();
    const deployed = await this.deploymentBlock();
    const toBlock = window.toBlock ?? (await provider.getBlockNumber());
    const fromBlock = Math.max(window.fromBlock ?? 0, deployed);
    const maxSpan = Math.min(window.maxSpan ?? this.#maxSpan, this.#maxSpan);
    const found: Log[] = [];
    let start = fromBlock;
    while (start <= toBlock) {
      const span = Math.min(this.#state.span, maxSpan);
      const end = Math.min(start + span - 1, toBlock);
      try {
        found.push(...(await provider.getLogs({ address: this.address, fromBlock: start, toBlock: end, topics })));
      } catch (error) {
        if (!isRangeLimitError(error)) throw error;
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
      this.#state = growSpan(this.#state, this.#maxSpan);
      start = end + 1;
    }
    return found;
  }

  /** The timestamps of `blocks`, read in parallel waves of `timeConcurrency` and cached (a block's time never changes). */
  async blockTimes(blocks: Iterable<number>): Promise<Map<number, bigint>> {
    const wanted = [...new Set(blocks)];
    const missing = wanted.filter((b) => !this.#times.has(b));
    const provider = this.#provider();
    for (let i = 0; i < missing.length; i += this.#timeConcurrency) {
      const wave = missing.slice(i, i + this.#timeConcurrency);
      const headers = await Promise.all(wave.map((b) => provider.getBlock(b)));
      for (const [j, header] of headers.entries()) {
        if (!header) throw new TransportError(`block ${wave[j]} not found`, { block: wave[j] });
        this.#times.set(wave[j]!, BigInt(header.timestamp));
      }
    }
    return new Map(wanted.map((b) => [b, this.#times.get(b)!]));
  }

  /** The first block whose state holds this contract's code (0, not certain, when the node cannot tell). */
  async #findDeployment(): Promise<{ block: number; certain: boolean }> {
    const provider = this.#provider();
    const head = await provider.getBlockNumber();
    try {
      // not deployed yet: no log before the next block
      if ((await provider.getCode(this.address, head)) === "0x") return { block: head + 1, certain: false };
      let lo = 0;
      let hi = head;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if ((await provider.getCode(this.address, mid)) === "0x") lo = mid + 1;
        else hi = mid;
      }
      return { block: lo, certain: true };
    } catch {
      return { block: 0, certain: false }; // old state pruned (or the node failed): scan from genesis, in adaptive chunks
    }
  }
}
