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

/**
 * Judges a recorded anchor: `onChain` is the chain's record of its root now (undefined: none),
 * `confirmedHead` the anchorer's head at the newest block deep enough to be final. The root at
 * another sequence, or at none, means a reorganisation removed the recorded one (roots are
 * write-once, so it can only have been anchored anew). Held at its sequence, it is final once the
 * confirmed head reached that sequence: the confirmed block is an ancestor of the latest one, and
 * records are write-once, so the record it holds at that sequence is this one.
 */
export function anchorVerdict(
  recorded: { readonly sequence: bigint },
  onChain: { readonly sequence: bigint } | undefined,
  confirmedHead: bigint,
): AnchorVerdict {
  if (onChain?.sequence !== recorded.sequence) return "removed";
  return confirmedHead >= recorded.sequence ? "final" : "provisional";
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
