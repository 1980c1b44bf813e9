/**
 * Pure model of `DataAnchor` (seed 000: a base station anchors the Merkle roots
 * of its blocks; seed 004: a fog node anchors its batches): the record shape,
 * a gateway's chain as its `Anchored` log carries it, the input checks the
 * client applies before sending anything, and `checkAnchorChain`, which accepts
 * a gateway's log only when it is the unbroken chain the contract enforces
 * (sequences first, first + 1, ... up to the head, each root once). No provider,
 * no signer: the client reads the log and hands it here.
 */
import { AnchorChainError, InvalidInputError } from "../errors.ts";

export { AnchorChainError, type AnchorChainFault } from "../errors.ts";
import { fromHex, type Hex, toHex } from "./bytes.ts";

/** Largest leaf count an anchor takes (`uint64`). */
export const MAX_LEAF_COUNT = (1n << 64n) - 1n;

/** What `DataAnchor` keeps about one anchored root (`anchorOf`). */
export interface AnchorRecord {
  readonly gateway: Hex;
  /** Position in the gateway's chain, from 1. */
  readonly sequence: bigint;
  /** Block timestamp of the anchor, seconds. */
  readonly time: bigint;
  readonly leafCount: bigint;
}

/** One `Anchored` event: a link of a gateway's chain, where the log holds it. */
export interface AnchorEntry {
  readonly gateway: Hex;
  readonly sequence: bigint;
  readonly root: Hex;
  readonly leafCount: bigint;
  readonly blockNumber: number;
  readonly logIndex: number;
  readonly transactionHash: Hex;
}

/** What the checked window of the chain must span. */
export interface ChainBounds {
  /** The sequence the first entry must carry (default 1: the whole chain). */
  readonly first?: bigint;
  /** The gateway's head at the end of the window: the last entry's sequence (first - 1 when empty). */
  readonly head?: bigint;
}

/** A 32-byte word as lowercase hex; `what` names the input in the error. */
export function checkWord(value: string, what: string): Hex {
  return toHex(fromHex(value, what, 32));
}

/** An anchorable root: a 32-byte word other than zero. */
export function checkRoot(root: string, what = "root"): Hex {
  const word = checkWord(root, what);
  if (/^0x0{64}$/.test(word)) throw new InvalidInputError(`${what} must not be zero`, { value: root });
  return word;
}

/** A leaf count an anchor takes: an integer in [1, 2^64 - 1], as a bigint. */
export function checkLeafCount(leafCount: number | bigint, what = "leafCount"): bigint {
  const fits =
    typeof leafCount === "bigint"
      ? leafCount >= 1n && leafCount <= MAX_LEAF_COUNT
      : Number.isSafeInteger(leafCount) && leafCount >= 1;
  if (!fits) {
    throw new InvalidInputError(`${what} must be an integer in [1, 2^64 - 1]`, { value: String(leafCount) });
  }
  return BigInt(leafCount);
}

/** Orders entries by block, then by position in the block (the order the chain grew in). */
export function sortAnchorEntries(entries: readonly AnchorEntry[]): AnchorEntry[] {
  return [...entries].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
}

/**
 * Checks that `entries`, the `Anchored` events of `gateway` in a block window,
 * are exactly the links `bounds.first`, `first + 1`, ... `bounds.head` in log
 * order, each a valid anchor of a distinct root. Returns them in log order;
 * throws `AnchorChainError` naming the first fault (a node that dropped a log,
 * a log of another contract or gateway, a window that does not match the head).
 */
export function checkAnchorChain(
  gateway: Hex,
  entries: readonly AnchorEntry[],
  bounds: ChainBounds = {},
): AnchorEntry[] {
  const id = checkWord(gateway, "gateway");
  const first = bounds.first ?? 1n;
  if (first < 1n) throw new InvalidInputError("bounds.first must be at least 1", { first: String(first) });
  const sorted = sortAnchorEntries(entries);
  const roots = new Set<string>();
  let expected = first;
  for (const entry of sorted) {
    const at = { sequence: String(entry.sequence), blockNumber: entry.blockNumber, logIndex: entry.logIndex };
    if (entry.gateway.toLowerCase() !== id) {
      throw new AnchorChainError("wrong-gateway", `an entry belongs to gateway ${entry.gateway}`, { ...at, gateway });
    }
    const root = entry.root.toLowerCase();
    if (
      entry.sequence < 1n ||
      /^0x0{64}$/.test(root) ||
      !/^0x[0-9a-f]{64}$/.test(root) ||
      entry.leafCount < 1n ||
      entry.leafCount > MAX_LEAF_COUNT
    ) {
      throw new AnchorChainError("invalid-entry", "an entry is not a valid anchor", {
        ...at,
        root: entry.root,
        leafCount: String(entry.leafCount),
      });
    }
    if (entry.sequence !== expected) {
      const detail = { ...at, expected: String(expected) };
      if (expected === first) throw new AnchorChainError("bad-start", `the chain starts at ${entry.sequence}`, detail);
      if (entry.sequence > expected) throw new AnchorChainError("gap", `sequence ${expected} is missing`, detail);
      throw new AnchorChainError("out-of-order", `sequence ${entry.sequence} after ${expected - 1n}`, detail);
    }
    if (roots.has(root)) throw new AnchorChainError("duplicate-root", `root ${root} anchored twice`, { ...at, root });
    roots.add(root);
    expected += 1n;
  }
  if (bounds.head !== undefined && bounds.head !== expected - 1n) {
    throw new AnchorChainError("head-mismatch", `the log ends at ${expected - 1n}, the head is ${bounds.head}`, {
      last: String(expected - 1n),
      head: String(bounds.head),
    });
  }
  return sorted;
}
