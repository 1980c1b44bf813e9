/**
 * The base station's sealing and anchoring loop (seed 000, "signing and anchoring"; issue 15,
 * "Chain faults"): every batch interval — or sooner, once `maxPending` readings wait — it seals
 * every pending block into signed batches and runs `BaseStation.anchorPending`, which keeps each
 * signed transaction in the store before sending it, bumps its fee when it is not mined and finds
 * it again after a restart. A round that fails (node down, transaction refused) is retried after
 * a back-off that doubles up to a minute; at most one round waits behind the running one; on
 * shutdown a last round runs within a grace period. `health()` is false while rounds fail or a
 * batch stays unanchored too long.
 */
import type { Logger } from "pino";

import type { BaseStation } from "../../sdk/nbiot/base-station.ts";
import type { AnchorWriter } from "../../sdk/nbiot/ports.ts";
import type { BatchRecord } from "../../sdk/store/flow-store.ts";
import { StrataError } from "../../sdk/errors.ts";

/** Longest wait between failed rounds (ms). */
export const MAX_BACKOFF_MS = 60_000;

export interface AnchorLoopOptions {
  readonly station: BaseStation;
  readonly writer: AnchorWriter;
  /** Batch interval (ms). */
  readonly intervalMs: number;
  /** Readings waiting that start a round before the interval ends. */
  readonly maxPending: number;
  /** The station's clock (ms). */
  readonly clock: () => number;
  readonly logger: Logger;
  /** Told of each round's anchored batches (metrics). */
  readonly onAnchored?: (batches: readonly BatchRecord[]) => void | Promise<void>;
  /** Told of each sealed batch (metrics). */
  readonly onSealed?: (batch: { readonly number: number; readonly leafCount: number }) => void;
  /** Told of each failed round (metrics). */
  readonly onFailure?: (error: StrataError) => void;
  /** Told when a round ends, failed or not (metrics: queue depths). */
  readonly onRoundEnd?: () => void;
  /** A batch unanchored for longer than this makes the station unhealthy (ms; default 5 intervals, at least 2 min). */
  readonly stuckAfterMs?: number;
}

export class AnchorLoop {
  readonly #o: AnchorLoopOptions;
  readonly #stuckAfterMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #queued = false;
  #closed = false;
  #pending = 0;
  #failures = 0;
  #backoffMs = 0;
  #lastError: StrataError | undefined;
  /** When the oldest batch still unanchored was first seen so (station clock), if any. */
  #unanchoredSince: number | undefined;

  constructor(options: AnchorLoopOptions) {
    this.#o = options;
    this.#stuckAfterMs = options.stuckAfterMs ?? Math.max(5 * options.intervalMs, 120_000);
  }

  /** Starts the timer; a first round runs at once (batches a previous run left are anchored first). */
  start(): void {
    this.#schedule(0);
  }

  /** Readings accepted since the last seal: a round starts early once `maxPending` wait. */
  readingsIn(count: number): void {
    this.#pending += count;
    if (this.#pending >= this.#o.maxPending) this.trigger();
  }

  get pendingReadings(): number {
    return this.#pending;
  }

  get failures(): number {
    return this.#failures;
  }

  get lastError(): StrataError | undefined {
    return this.#lastError;
  }

  /** Healthy unless the last round failed or a batch has waited too long for its anchor. */
  health(): { ok: boolean; failures: number; lastError?: string; unanchoredForMs?: number } {
    const waited = this.#unanchoredSince === undefined ? undefined : this.#o.clock() - this.#unanchoredSince;
    const stuck = waited !== undefined && waited > this.#stuckAfterMs;
    return {
      ok: this.#failures === 0 && !stuck,
      failures: this.#failures,
      ...(this.#lastError === undefined
        ? {}
        : { lastError: `${this.#lastError.name}: ${this.#lastError.shortMessage}` }),
      ...(waited === undefined ? {} : { unanchoredForMs: waited }),
    };
  }

  /** Runs a round now, or once the running one ends (at most one waits). */
  trigger(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#queued = true;
      return;
    }
    // a round in back-off waits for its timer: the node is likely still down
    if (this.#failures > 0) return;
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#run(), delayMs);
  }

  #run(): Promise<void> {
    if (this.#running !== undefined) {
      this.#queued = true;
      return this.#running;
    }
    clearTimeout(this.#timer);
    this.#running = this.#round()
      .then(
        () => {
          this.#failures = 0;
          this.#backoffMs = 0;
          this.#lastError = undefined;
        },
        (e: unknown) => {
          const error = e instanceof StrataError ? e : new StrataError("anchoring round failed", {}, { cause: e });
          this.#failures++;
          this.#lastError = error;
          this.#backoffMs = Math.min(this.#backoffMs === 0 ? this.#o.intervalMs : this.#backoffMs * 2, MAX_BACKOFF_MS);
          this.#o.onFailure?.(error);
          this.#o.logger.warn(
            {
              err: { name: error.name, message: error.shortMessage },
              failures: this.#failures,
              retryInMs: this.#backoffMs,
            },
            "anchoring round failed",
          );
        },
      )
      .finally(() => {
        this.#running = undefined;
        this.#o.onRoundEnd?.();
        if (this.#closed) return;
        if (this.#failures > 0) this.#schedule(this.#backoffMs);
        else if (this.#queued) {
          this.#queued = false;
          this.#schedule(0);
        } else this.#schedule(this.#o.intervalMs);
      });
    return this.#running;
  }

  /** Seals every pending block (batches of at most `maxBatch`), then anchors every unanchored batch. */
  async #round(): Promise<void> {
    const bs = this.#o.station;
    this.#pending = 0;
    for (;;) {
      const batch = await bs.seal(this.#o.clock());
      if (batch === undefined) break;
      this.#o.onSealed?.(batch);
      this.#o.logger.info({ batch: batch.number, leaves: batch.leafCount, root: batch.root }, "sealed");
    }
    const waiting = bs.store.unanchored();
    if (waiting.length > 0 && this.#unanchoredSince === undefined) this.#unanchoredSince = this.#o.clock();
    let anchored: BatchRecord[];
    try {
      anchored = await bs.anchorPending(this.#o.writer);
    } finally {
      if (bs.store.unanchored().length === 0) this.#unanchoredSince = undefined;
    }
    for (const b of anchored) {
      this.#o.logger.info({ batch: b.number, sequence: String(b.anchor?.sequence), tx: b.anchor?.txHash }, "anchored");
    }
    if (anchored.length > 0) await this.#o.onAnchored?.(anchored);
    const left = bs.store.unanchored();
    if (left.length > 0) {
      const fault = bs.anchorFault(left[0]!.number);
      if (fault !== undefined) throw fault;
    }
  }

  /**
   * Stops the timer, waits for the running round, then runs a last one (seal and anchor what is
   * left) for at most `graceMs`; a round still running then is left to the next start, which finds
   * its kept transaction.
   */
  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const last = (async () => {
      if (this.#running !== undefined) await this.#running.catch(() => undefined);
      await this.#round().catch((e: unknown) => {
        this.#o.logger.warn({ err: String(e) }, "the last anchoring round failed: the next start resumes it");
      });
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([last, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }
}
