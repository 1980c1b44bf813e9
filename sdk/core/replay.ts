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
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #maxEntries: number;

  constructor(windowMs: number, options: ReplayGuardOptions = {}) {
    if (typeof windowMs !== "number" || !Number.isFinite(windowMs) || windowMs < 0) {
      throw new InvalidInputError("a replay window is a finite number of milliseconds, at least 0", { windowMs });
    }
    const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
    if (maxEntries !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxEntries) || maxEntries < 1)) {
      throw new InvalidInputError("maxEntries is an integer of at least 1", { maxEntries });
    }
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
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

  /** `check` for a key the caller made (e.g. a request's nonce, unique on its own). */
  checkKey(key: string, now: number, details: Readonly<Record<string, unknown>> = {}): number {
    this.#prune(now);
    if (this.#seen.has(key)) throw new ProtocolError("replay", "this message was already received", details);
    if (this.#seen.size >= this.#maxEntries) {
      throw new ProtocolError("busy", "too many messages are within the replay window: retry later", {
        ...details,
        maxEntries: this.#maxEntries,
      });
    }
    const until = now + 2 * this.#windowMs;
    this.#seen.set(key, until);
    return until;
  }

  /** Whether `key` was recorded and is still within its window at `now` (records nothing). */
  has(key: string, now: number): boolean {
    this.#prune(now);
    return this.#seen.has(key);
  }

  /** Remembers a key kept by an earlier run until `until` (restore in `until` order). */
  restore(key: string, until: number): void {
    this.#seen.set(key, until);
  }

  #prune(now: number): void {
    const latest = now + 4 * this.#windowMs; // recorded after now + 2 * window: stale under this clock
    for (const [k, until] of this.#seen) {
      if (until >= now && until <= latest) break;
      this.#seen.delete(k);
    }
  }

  get size(): number {
    return this.#seen.size;
  }
}
