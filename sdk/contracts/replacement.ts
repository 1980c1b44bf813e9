/**
 * How a sender replaces a transaction it keeps (seed 001's anchor sender, a
 * layer member's ledger writes): the fees a replacement needs to take a pending
 * transaction's place in a node's mempool, the cap it may not pass, and which
 * refusals of a re-sent transaction only say the node has it already.
 */
import type { Transaction, TransactionRequest } from "ethers";

import { FeeCapError } from "../errors.ts";

/** Raises `request`'s fees to at least 5/4 of `previous`'s, as a node needs to replace `previous` in its mempool. */
export function bumpFees(request: TransactionRequest, previous: Transaction): void {
  const raise = (now: bigint | null | undefined, before: bigint | null): bigint | undefined => {
    if (before === null) return now ?? undefined;
    const floor = (before * 5n) / 4n + 1n;
    return now === null || now === undefined || BigInt(now) < floor ? floor : BigInt(now);
  };
  if (previous.maxFeePerGas !== null) {
    request.maxFeePerGas = raise(request.maxFeePerGas as bigint | undefined, previous.maxFeePerGas);
    request.maxPriorityFeePerGas = raise(
      request.maxPriorityFeePerGas as bigint | undefined,
      previous.maxPriorityFeePerGas,
    );
  } else {
    request.gasPrice = raise(request.gasPrice as bigint | undefined, previous.gasPrice);
  }
}

/**
 * Keeps `request`'s fees at most `cap` per gas: a first transaction's are lowered to it; a
 * replacement's, raised by `bumpFees` to what the node needs, are refused above it (`FeeCapError`).
 */
export function capFees(request: TransactionRequest, cap: bigint, replacement: boolean): void {
  const key = request.maxFeePerGas !== undefined && request.maxFeePerGas !== null ? "maxFeePerGas" : "gasPrice";
  const fee = request[key] === undefined || request[key] === null ? undefined : BigInt(request[key]);
  if (fee === undefined || fee <= cap) return;
  if (replacement) {
    throw new FeeCapError(`replacing the pending transaction needs ${fee} wei per gas, above maxFeePerGas ${cap}`, {
      maxFeePerGas: cap,
      needed: fee,
    });
  }
  request[key] = cap;
  const tip = request.maxPriorityFeePerGas;
  if (key === "maxFeePerGas" && tip !== undefined && tip !== null && BigInt(tip) > cap) {
    request.maxPriorityFeePerGas = cap;
  }
}

/**
 * Refusals of a sent transaction that say only that the node has it, or has its nonce taken or
 * held by a transaction paying as much: what became of it is read from the chain.
 */
export const BENIGN_REFUSAL =
  /already known|known transaction|already imported|alreadyknown|nonce too low|nonce has already been used|replacement transaction underpriced|replacement fee too low/i;

/**
 * The node's own answer to a refused call, through any `cause` (the JSON-RPC error's message,
 * or ethers' reading of it); `undefined` when the node gave none (a dropped connection).
 */
export function nodeReason(e: unknown): string | undefined {
  for (let at = e; at instanceof Error; at = at.cause) {
    const rpc = at as { error?: { message?: unknown }; info?: { error?: { message?: unknown } }; code?: unknown };
    const message = rpc.info?.error?.message ?? rpc.error?.message;
    if (typeof message === "string") return message;
    if (rpc.code === "NONCE_EXPIRED" || rpc.code === "REPLACEMENT_UNDERPRICED") return (at as Error).message;
  }
  return undefined;
}
