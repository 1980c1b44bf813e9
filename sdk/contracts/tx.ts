/**
 * The transaction plumbing every typed client shares: send a call, wait for
 * its receipt, decode the contract's own events, and read one event argument.
 * Reverts come back as `ContractRevertError` (via `guarded`).
 */
import type { ContractTransactionResponse, Interface, Log, TransactionReceipt } from "ethers";

import type { Hex } from "../core/bytes.ts";
import { TransportError } from "../errors.ts";
import { DEFAULT_RECEIPT_TIMEOUT_MS } from "./chain.ts";
import { guarded } from "./revert.ts";

/** A decoded event of a Strata contract. */
export interface RegistryEvent {
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** The outcome of a transaction: its hash, gas and events. */
export interface TxResult {
  readonly hash: Hex;
  readonly gasUsed: bigint;
  readonly blockNumber: number;
  readonly events: readonly RegistryEvent[];
}

/** Decodes `log` with `iface`, arguments by name (undefined when it is not one of its events). */
export function parseEvent(iface: Interface, log: Log): RegistryEvent | undefined {
  const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return undefined;
  const args: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    args[input.name] = parsed.args[i];
  });
  return { name: parsed.name, args };
}

/**
 * How long past a send's deadline the guard around it waits: the wait for the receipt ends at the
 * deadline itself (ethers stops polling then), the guard only catches a send or a read that hangs.
 */
export const RECEIPT_GUARD_GRACE_MS = 1_000;

/**
 * `tx`'s receipt, waiting for it until `deadline` (on `performance.now()`'s clock): then ethers
 * stops polling and removes its listeners, and the wait fails with a `TimeoutError` (via
 * `guarded`), so nothing keeps running after a caller gave up.
 */
export async function receiptBy(
  tx: { readonly hash: string; wait(confirms?: number, timeout?: number): Promise<TransactionReceipt | null> },
  deadline: number,
): Promise<TransactionReceipt> {
  const receipt = await tx.wait(1, Math.max(1, Math.ceil(deadline - performance.now())));
  if (!receipt) throw new TransportError("transaction dropped", { hash: tx.hash });
  return receipt;
}

/** How `sendTx` sends. */
export interface SendOptions {
  /** Deadline of the send and its receipt (default `DEFAULT_RECEIPT_TIMEOUT_MS`). */
  readonly timeoutMs?: number | undefined;
  /** Runs first, within the deadline (e.g. `DeploymentCheck.ensure`): a throw sends nothing. */
  readonly before?: () => Promise<void>;
}

/**
 * Sends `call` to contract `name` at `address`, waits (at most `timeoutMs` for
 * the send and its receipt: a `TimeoutError` then, with the transaction maybe
 * still pending), and returns the receipt's events from that contract.
 */
export function sendTx(
  name: string,
  iface: Interface,
  address: string,
  call: () => Promise<ContractTransactionResponse>,
  options: SendOptions = {},
): Promise<TxResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  return guarded(
    name,
    iface,
    async () => {
      await options.before?.();
      const tx = await call();
      const receipt = await receiptBy(tx, deadline);
      const events = receipt.logs
        .filter((log) => log.address.toLowerCase() === address.toLowerCase())
        .map((log) => parseEvent(iface, log))
        .filter((e): e is RegistryEvent => e !== undefined);
      return { hash: receipt.hash as Hex, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, events };
    },
    timeoutMs + RECEIPT_GUARD_GRACE_MS,
  );
}

/** Argument `arg` of the first `event` in `result` (a `TransportError` when the event is missing). */
export function eventArg(result: TxResult, event: string, arg: string): unknown {
  const found = result.events.find((e) => e.name === event);
  if (!found) throw new TransportError(`${event} not emitted`, { hash: result.hash });
  return found.args[arg];
}
