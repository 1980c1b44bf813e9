/**
 * When a transaction counts as final: after `depth` confirmations (its block
 * and depth - 1 on top of it), or once the node's `finalized` block covers it.
 * Until then a chain reorganisation may remove it, and whoever sent it checks
 * again.
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
  if (finality === "finalized") return "finalized";
  const block = head - finality + 1;
  return block < 0 ? undefined : block;
}
