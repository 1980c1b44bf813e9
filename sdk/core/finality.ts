/**
 * When an anchor can be taken as final, and what a chain reorganisation removed: pure rules
 * shared by everything that anchors (base stations and fog clusters alike). An anchor is
 * recorded as soon as its transaction is mined, but stays provisional: until enough blocks
 * confirm it (`finalityDepth`: its block and depth - 1 on top of it), or the node's `finalized`
 * block holds it, a reorganisation may take it away, and whoever anchored it must notice and
 * anchor it again.
 */
import { InvalidInputError } from "../errors.ts";

/** Confirmations an anchor needs (1: its own block), or the node's `finalized` tag. */
export type Finality = number | "finalized";

/** Confirmations when not configured (about 2.5 minutes of Ethereum mainnet blocks). */
export const DEFAULT_FINALITY_DEPTH = 12;

/** `finality` checked: an integer in [1, 2^20] or `"finalized"`. */
export function checkFinality(finality: unknown): Finality {
  if (finality === "finalized") return finality;
  if (typeof finality !== "number" || !Number.isSafeInteger(finality) || finality < 1 || finality > 1 << 20) {
    throw new InvalidInputError('finalityDepth must be an integer in [1, 2^20] or "finalized"', {
      finalityDepth: String(finality),
    });
  }
  return finality;
}

/**
 * The block at which state is final when the chain's head is `head`: the block
 * `depth - 1` below the head (`undefined` while the chain is shorter), or the
 * `finalized` tag. Something present in state at that block is final.
 */
export function finalBlockTag(head: number, finality: Finality): number | "finalized" | undefined {
  if (!Number.isSafeInteger(head) || head < 0) {
    throw new InvalidInputError("the latest block number must be a non-negative integer", { latest: String(head) });
  }
  const depth = checkFinality(finality);
  if (depth === "finalized") return depth;
  const block = head - depth + 1;
  return block < 0 ? undefined : block;
}

/**
 * The newest block with `depth` confirmations when the latest is `latest` (the latest block
 * itself counts as one); undefined when the chain is not that long yet.
 */
export function confirmedBlock(latest: number, depth: number): number | undefined {
  return finalBlockTag(latest, checkFinality(depth)) as number | undefined;
}

/** What the chain says now of an anchor recorded at `sequence`. */
export type AnchorVerdict = "final" | "provisional" | "removed";

/** What the chain showed, read at one block: the anchorer's head there and that block's number. */
export interface ChainView {
  readonly head: bigint;
  /** The block every read was pinned to (undefined: each read at the node's latest). */
  readonly block?: number;
}

/**
 * Judges a recorded anchor: `onChain` is the chain's record of its root now (undefined: none),
 * `confirmedHead` the anchorer's head at the newest block deep enough to be final. Held at its
 * sequence, it is final once the confirmed head reached that sequence: the confirmed block is an
 * ancestor of the latest one, and records are write-once, so the record it holds at that sequence
 * is this one. The root at another sequence means a reorganisation removed the recorded one
 * (roots are write-once, so it can only have been anchored anew).
 *
 * The root at no sequence proves a removal only with what else the same read showed (`view`,
 * every read pinned to one block): the head at or past the anchor's sequence there (another root
 * holds that sequence), or the head below it at a block not lower than the one `recorded.block`
 * says the anchor was seen at (the chain really went back). A node that lags (an older block, or
 * the head below the sequence at a block below where it was seen) proves nothing: `provisional`.
 * Without `view` the caller vouches for its read: no root means removed.
 */
export function anchorVerdict(
  recorded: { readonly sequence: bigint; readonly block?: number },
  onChain: { readonly sequence: bigint } | undefined,
  confirmedHead: bigint,
  view?: ChainView,
): AnchorVerdict {
  if (onChain !== undefined) {
    if (onChain.sequence !== recorded.sequence) return "removed";
    return confirmedHead >= recorded.sequence ? "final" : "provisional";
  }
  if (view === undefined || view.head >= recorded.sequence) return "removed";
  const wentBack = recorded.block !== undefined && view.block !== undefined && view.block >= recorded.block;
  return wentBack ? "removed" : "provisional";
}
