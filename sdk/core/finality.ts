/**
 * When an anchor can be taken as final, and what a chain reorganisation removed: pure rules
 * shared by everything that anchors (fog clusters, and base stations alike). An anchor is
 * recorded as soon as its transaction is mined, but stays provisional: until enough blocks
 * confirm it (`finalityDepth`), or the node's `finalized` block holds it, a reorganisation may
 * take it away, and whoever anchored it must notice and anchor it again.
 */
import { checkInteger } from "./bytes.ts";

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

/**
 * The newest block with `depth` confirmations when the latest is `latest` (the latest block
 * itself counts as one); undefined when the chain is not that long yet.
 */
export function confirmedBlock(latest: number, depth: number): number | undefined {
  checkInteger(latest, 0, Number.MAX_SAFE_INTEGER, "latest");
  checkInteger(depth, 1, Number.MAX_SAFE_INTEGER, "finalityDepth");
  const block = latest - depth + 1;
  return block < 0 ? undefined : block;
}
