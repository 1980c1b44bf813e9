/**
 * Decodes contract reverts in one place: a call that reverts with one of
 * Strata's custom errors becomes a `ContractRevertError` carrying the error's
 * name and arguments; anything else becomes a `TransportError`.
 */
import { type Interface, isError } from "ethers";

import { ContractRevertError, StrataError, TransportError } from "../errors.ts";

/** Turns whatever an ethers call threw into a typed error. */
export function decodeRevert(contract: string, iface: Interface, error: unknown): StrataError {
  if (error instanceof StrataError) return error;
  if (isError(error, "CALL_EXCEPTION")) {
    if (error.revert) return new ContractRevertError(contract, error.revert.name, [...error.revert.args], error);
    const data = error.data;
    if (data) {
      const parsed = iface.parseError(data);
      if (parsed) return new ContractRevertError(contract, parsed.name, [...parsed.args], error);
    }
  }
  const shortMessage =
    typeof error === "object" && error !== null && "shortMessage" in error
      ? String((error as { shortMessage: unknown }).shortMessage)
      : String(error);
  return new TransportError(`${contract}: ${shortMessage}`, {}, { cause: error });
}

/** Runs `call`, rethrowing failures as typed errors. */
export async function guarded<T>(contract: string, iface: Interface, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw decodeRevert(contract, iface, error);
  }
}
