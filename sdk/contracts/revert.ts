/**
 * Decodes contract reverts in one place: a call that reverts with one of
 * Strata's custom errors becomes a `ContractRevertError` carrying the error's
 * name and arguments; anything else becomes a `TransportError`. Revert data is
 * looked for where ethers, Hardhat's EDR and JSON-RPC nodes (anvil, geth) put it.
 */
import { type Interface, isError } from "ethers";

import { ContractRevertError, StrataError, TimeoutError, TransportError } from "../errors.ts";
import { DEFAULT_CALL_TIMEOUT_MS, withDeadline } from "./chain.ts";

/** Turns whatever an ethers call threw into a typed error. */
export function decodeRevert(contract: string, iface: Interface, error: unknown): StrataError {
  if (error instanceof StrataError) return error;
  // ethers gave up waiting (a receipt's wait with a timeout): nothing was decided, retryable
  if (isError(error, "TIMEOUT")) return new TimeoutError(`${contract}: ${error.shortMessage}`, {}, { cause: error });
  if (isError(error, "CALL_EXCEPTION") && error.revert) {
    return new ContractRevertError(contract, error.revert.name, [...error.revert.args], error);
  }
  const data = findRevertData(error);
  if (data !== undefined) {
    try {
      const parsed = iface.parseError(data);
      if (parsed) return new ContractRevertError(contract, parsed.name, [...parsed.args], error);
    } catch {
      // not one of this contract's errors: fall through
    }
  }
  const shortMessage =
    typeof error === "object" && error !== null && "shortMessage" in error
      ? String((error as { shortMessage: unknown }).shortMessage)
      : error instanceof Error
        ? error.message.split("\n")[0]!
        : String(error);
  return new TransportError(`${contract}: ${shortMessage}`, {}, { cause: error });
}

/**
 * Runs `call` within a deadline of `timeoutMs` (a `TimeoutError` when the node
 * does not answer in time), rethrowing failures as typed errors. Every client's
 * chain calls go through here.
 */
export async function guarded<T>(
  contract: string,
  iface: Interface,
  call: () => Promise<T>,
  timeoutMs: number = DEFAULT_CALL_TIMEOUT_MS,
): Promise<T> {
  try {
    return await withDeadline(contract, timeoutMs, call());
  } catch (error) {
    throw decodeRevert(contract, iface, error);
  }
}

/**
 * Runs `call` with no deadline of its own, rethrowing failures as typed errors:
 * for work made of many requests that each carry their own deadline (the log
 * reader's), so a long read is never cut off as a whole and left running.
 */
export async function typed<T>(contract: string, iface: Interface, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw decodeRevert(contract, iface, error);
  }
}

/** The first `0x…` revert payload found in the error or the errors it wraps. */
function findRevertData(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 5) return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(e.data)) return e.data;
  if (typeof e.data === "object" && e.data !== null) {
    const nested = findRevertData(e.data, depth + 1);
    if (nested) return nested;
  }
  for (const key of ["error", "info", "cause", "payload"]) {
    const found = findRevertData(e[key], depth + 1);
    if (found) return found;
  }
  return undefined;
}
