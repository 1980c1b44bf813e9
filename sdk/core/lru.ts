/**
 * A map bounded in size that forgets its least recently used entry first
 * (a `Map` keeps insertion order: a hit moves its entry to the end). For
 * in-memory caches in front of a source of truth — the registry, a store —
 * so a cache never grows with the number of ids it has seen.
 */
import { InvalidInputError } from "../errors.ts";

export class LruMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly maxEntries: number;

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidInputError("an LRU cache holds at least one entry", { maxEntries });
    }
    this.maxEntries = maxEntries;
  }

  /** The value of `key`, which becomes the most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** The value of `key` without making it the most recently used (for a caller that sets it next). */
  peek(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Sets `key` as the most recently used, forgetting the least recently used entries beyond the bound. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
