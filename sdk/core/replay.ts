/**
 * One replay window for every receiver that accepts a message once: a base
 * station's authentication and hand-over requests (seed 000) and a fog node's
 * access requests (seed 004). A message is fresh while its time is within the
 * window of the receiver's clock, either way (`checkFresh`, sdk/core/clock.ts),
 * so a receiver that remembers what it accepted for twice the window, from the
 * moment it first saw it, refuses every replay that would still be fresh.
 * Pure: the caller passes its clock's `now` (ms) to every call.
 */
import { type Hex, toHex } from "./bytes.ts";
import { InvalidInputError, ProtocolError } from "../errors.ts";

export interface ReplayGuardOptions {
  /**
   * The most keys remembered at once (default: no bound). When the window is full of keys
   * that are still fresh, a new one is refused with `ProtocolError("busy")` (retry once the
   * oldest has expired) rather than an old one forgotten: forgetting it would let it be replayed.
   */
  readonly maxEntries?: number;
  /**
   * The most keys one group (e.g. one requester) may hold at once (default: no bound), so one
   * sender filling the window cannot lock the others out: its new key is refused `busy` instead.
   */
  readonly maxPerGroup?: number;
  /**
   * Keep keys recorded "in the future" after the clock steps back (default false: a key
   * recorded more than twice the window ahead of `now` is forgotten, as a message fresh then
   * cannot be fresh under this clock). Set it when freshness is judged on another clock than the
   * one passed here (a fog node judges a request on the caller's `now`): forgetting would then
   * let a request still fresh on that clock be replayed.
   */
  readonly keepAfterStepBack?: boolean;
}

/**
 * Remembers (identity, nonce) pairs for a window, so a replayed message is refused.
 * Entries are kept in insertion order and forgotten from the oldest on: one
 * whose window has passed, and one recorded more than twice the window after
 * `now` (the clock stepped back: a message fresh then cannot be fresh now), so
 * pruning goes on after the clock steps back. `restore` reloads what a store
 * kept, so a restarted receiver still refuses what it saw before.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, { until: number; group: string | undefined }>();
  readonly #groups = new Map<string, number>();
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #maxPerGroup: number;
  readonly #keepAfterStepBack: boolean;

  constructor(windowMs: number, options: ReplayGuardOptions = {}) {
    if (typeof windowMs !== "number" || !Number.isFinite(windowMs) || windowMs < 0) {
      throw new InvalidInputError("a replay window is a finite number of milliseconds, at least 0", { windowMs });
    }
    const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
    if (maxEntries !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxEntries) || maxEntries < 1)) {
      throw new InvalidInputError("maxEntries is an integer of at least 1", { maxEntries });
    }
    const maxPerGroup = options.maxPerGroup ?? Number.POSITIVE_INFINITY;
    if (maxPerGroup !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxPerGroup) || maxPerGroup < 1)) {
      throw new InvalidInputError("maxPerGroup is an integer of at least 1", { maxPerGroup });
    }
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
    this.#maxPerGroup = maxPerGroup;
    this.#keepAfterStepBack = options.keepAfterStepBack ?? false;
  }

  /** The key `nonce` from `from` is remembered under. */
  static key(from: Hex, nonce: Uint8Array): string {
    return `${from.toLowerCase()}:${toHex(nonce)}`;
  }

  /**
   * Records `nonce` from `from` at `now`; throws `ProtocolError("replay")` if seen within the window.
   * A message is fresh while |now - time| <= window, so one first seen at `now` can still be fresh
   * at `now + 2 * window` inclusive: it is kept until then, boundary included. Returns that time
   * (for a store to keep). Throws `ProtocolError("busy")` when `maxEntries` fresh keys are held.
   */
  check(from: Hex, nonce: Uint8Array, now: number): number {
    return this.checkKey(ReplayGuard.key(from, nonce), now, { from });
  }

  /**
   * `check` for a key the caller made (e.g. a request's nonce, unique on its own). `group` (e.g.
   * the authenticated sender) is what `maxPerGroup` bounds.
   */
  checkKey(key: string, now: number, details: Readonly<Record<string, unknown>> = {}, group?: string): number {
    this.#prune(now);
    if (this.#seen.has(key)) throw new ProtocolError("replay", "this message was already received", details);
    if (this.#seen.size >= this.#maxEntries) {
      throw new ProtocolError("busy", "too many messages are within the replay window: retry later", {
        ...details,
        maxEntries: this.#maxEntries,
      });
    }
    if (group !== undefined && (this.#groups.get(group) ?? 0) >= this.#maxPerGroup) {
      throw new ProtocolError("busy", "this sender has too many messages within the replay window: retry later", {
        ...details,
        maxPerGroup: this.#maxPerGroup,
      });
    }
    const until = now + 2 * this.#windowMs;
    this.#remember(key, until, group);
    return until;
  }

  /** Whether `key` was recorded and is still within its window at `now` (records nothing). */
  has(key: string, now: number): boolean {
    this.#prune(now);
    return this.#seen.has(key);
  }

  /** Remembers a key kept by an earlier run until `until` (restore in `until` order). */
  restore(key: string, until: number, group?: string): void {
    this.#remember(key, until, group);
  }

  #remember(key: string, until: number, group: string | undefined): void {
    this.#seen.set(key, { until, group });
    if (group !== undefined) this.#groups.set(group, (this.#groups.get(group) ?? 0) + 1);
  }

  #prune(now: number): void {
    // recorded after now + 2 * window: stale under this clock (unless kept on purpose)
    const latest = this.#keepAfterStepBack ? Number.POSITIVE_INFINITY : now + 4 * this.#windowMs;
    for (const [k, { until, group }] of this.#seen) {
      if (until >= now && until <= latest) break;
      this.#seen.delete(k);
      if (group !== undefined) {
        const left = (this.#groups.get(group) ?? 1) - 1;
        if (left === 0) this.#groups.delete(group);
        else this.#groups.set(group, left);
      }
    }
  }

  get size(): number {
    return this.#seen.size;
  }
}
