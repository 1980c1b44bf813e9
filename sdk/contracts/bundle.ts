/**
 * Verifying a proof bundle of any kind: first everything that needs no chain (`offlineChecks`),
 * then the chain at `provider` — the same chain id, the contract the verifier trusts (from its own
 * deployment record, never from the bundle) with code at its address, the transaction mined with
 * the expected event in the bundle's block, the state still held on chain and the contract's own
 * verify views, and whether the signer is the one the chain registered — and the state:
 * `pending` (the bundle's own transaction is known, not mined), `anchored`, or `final` once
 * `confirmations` blocks hold it. One function, so an app, the command and a browser give the
 * same verdict. The per-kind chain checks are in `bundle-chain.ts`.
 */
import { isError, type Provider, type TransactionResponse } from "ethers";

import type { Hex } from "../core/bytes.ts";
import type { BundleCheck, ProofBundle } from "../core/bundle/format.ts";
import { offlineChecks, type OfflineOptions } from "../core/bundle/offline.ts";
import { DEFAULT_FINALITY_DEPTH } from "../core/finality.ts";
import { InvalidInputError } from "../errors.ts";
import { anchorChecks, callName, type ChainRun, matchCall, summaryChecks } from "./bundle-chain.ts";
import { DEFAULT_CALL_TIMEOUT_MS, nodeAnswered, withDeadline } from "./chain.ts";

/** Where a bundle stands. */
export type BundleState = "invalid" | "offline" | "pending" | "anchored" | "final";

export interface BundleVerdict {
  readonly state: BundleState;
  readonly checks: readonly BundleCheck[];
  /** Blocks holding the anchor (its own included), when it is mined. */
  readonly confirmations?: number;
}

/**
 * The contracts a verifier trusts on the chain it checks against, from its own deployment record:
 * a bundle naming another contract is invalid, as anyone can deploy a contract that emits and
 * answers whatever a forged bundle needs.
 */
export interface TrustedContracts {
  /** Needed for `record`, `reading` and `batch` bundles. */
  readonly DataAnchor?: string;
  /** The layer's ledger: needed for `summary` bundles. */
  readonly SummaryLedger?: string;
  /** When given, `DataAnchor.registry()` must be it (a `reading` bundle's station is read there). */
  readonly DeviceRegistry?: string;
}

export interface VerifyBundleOptions extends OfflineOptions {
  /** The chain to check against; without it, only the offline checks run (state `offline`). */
  readonly provider?: Provider;
  /** The contracts the verifier trusts on that chain (the one the bundle's kind needs is required with `provider`). */
  readonly trusted?: TrustedContracts;
  /** @deprecated The former name of `trusted.DataAnchor`. */
  readonly anchorContract?: string;
  /** Blocks that make an anchor final (default `DEFAULT_FINALITY_DEPTH`, 12). */
  readonly confirmations?: number;
  /** Deadline of each chain call (default `DEFAULT_CALL_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export async function verifyBundle(bundle: ProofBundle, options: VerifyBundleOptions = {}): Promise<BundleVerdict> {
  if (
    options.confirmations !== undefined &&
    (!Number.isSafeInteger(options.confirmations) || options.confirmations < 1)
  ) {
    throw new InvalidInputError("confirmations: a whole number of blocks, at least 1", {
      confirmations: options.confirmations,
    });
  }
  if (options.timeoutMs !== undefined && (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs < 1)) {
    throw new InvalidInputError("timeoutMs: a whole number of milliseconds, at least 1", {
      timeoutMs: options.timeoutMs,
    });
  }
  const checks: BundleCheck[] = offlineChecks(bundle, options);
  const offlineOk = checks.every((c) => c.ok);
  const { provider } = options;
  if (!provider) return { state: offlineOk ? "offline" : "invalid", checks };
  const name = bundle.kind === "summary" ? "SummaryLedger" : "DataAnchor";
  const trusted =
    name === "DataAnchor" ? (options.trusted?.DataAnchor ?? options.anchorContract) : options.trusted?.SummaryLedger;
  if (typeof trusted !== "string" || !ADDRESS.test(trusted)) {
    throw new InvalidInputError(`trusted.${name}: the ${name} this verifier trusts is required to check on chain`, {
      kind: bundle.kind,
    });
  }
  const registry = options.trusted?.DeviceRegistry;
  if (registry !== undefined && (typeof registry !== "string" || !ADDRESS.test(registry))) {
    throw new InvalidInputError("trusted.DeviceRegistry: expected an address");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const run: ChainRun = {
    provider,
    timeoutMs,
    call: (what, work) => withDeadline(what, timeoutMs, work),
    add: (check, ok, detail) => {
      checks.push({ check, ok, detail });
      return ok;
    },
    ...(registry === undefined ? {} : { registry }),
  };
  const { anchor } = bundle;

  const chainId = (await run.call("eth_chainId", provider.getNetwork())).chainId;
  const sameChain = chainId === anchor.chainId;
  if (
    !run.add(
      "chain",
      sameChain,
      sameChain ? `chain ${chainId}` : `the node serves chain ${chainId}, the bundle is from chain ${anchor.chainId}`,
    )
  ) {
    return { state: "invalid", checks };
  }
  const isTrusted = anchor.contract.toLowerCase() === trusted.toLowerCase();
  if (
    !run.add(
      "contract",
      isTrusted,
      isTrusted
        ? `the trusted ${name} ${trusted}`
        : `the bundle names ${anchor.contract}, not the trusted ${name} ${trusted}`,
    )
  ) {
    return { state: "invalid", checks };
  }
  const code = await run.call("eth_getCode", provider.getCode(anchor.contract));
  if (
    !run.add(
      "code",
      code !== "0x",
      code !== "0x" ? `${name} code at ${anchor.contract}` : `no code at ${anchor.contract}`,
    )
  ) {
    return { state: "invalid", checks };
  }

  const receipt = await run.call("eth_getTransactionReceipt", provider.getTransactionReceipt(anchor.transaction));
  if (!receipt) {
    const tx = await run.call("eth_getTransactionByHash", provider.getTransaction(anchor.transaction));
    let ours = tx === null ? undefined : pendingMatch(bundle, tx, trusted);
    if (ours === true && tx !== null) {
      // the bundle's own call, but would it be accepted? Anyone can send a call that will revert
      // (a stranger's key, a group signature of their own): run it as its sender, at the head
      try {
        await run.call("eth_call", provider.call({ from: tx.from, to: tx.to, data: tx.data }));
      } catch (error) {
        // a revert is the node's answer (in-process networks throw their own error naming it);
        // no answer at all (a timeout, a dropped connection) is not a verdict
        const message = error instanceof Error ? error.message : String(error);
        if (!nodeAnswered(error) && !/revert/i.test(message)) throw error;
        ours = `the contract would refuse it (${isError(error, "CALL_EXCEPTION") ? error.shortMessage : message.split("\n")[0]})`;
      }
    }
    run.add(
      "transaction",
      ours === true,
      tx === null
        ? `no transaction ${anchor.transaction} on this chain`
        : ours === true
          ? `${anchor.transaction} is not mined yet; it is the bundle's ${callName(bundle)} to the trusted ${name}`
          : `${anchor.transaction} is not mined yet, and it is not the bundle's ${callName(bundle)}: ${ours}`,
    );
    return { state: ours === true && offlineOk ? "pending" : "invalid", checks };
  }
  if (bundle.kind === "summary") await summaryChecks(run, bundle, receipt);
  else await anchorChecks(run, bundle, receipt);

  if (!checks.every((c) => c.ok)) return { state: "invalid", checks };
  const head = await run.call("eth_blockNumber", provider.getBlockNumber());
  const confirmations = head - anchor.block + 1;
  const needed = options.confirmations ?? DEFAULT_FINALITY_DEPTH;
  run.add("finality", true, `${confirmations} of ${needed} confirmations`);
  return { state: confirmations >= needed ? "final" : "anchored", checks, confirmations };
}

/**
 * Whether a transaction that is not mined yet is the one the bundle names: sent to the trusted
 * contract, calling it with the bundle's values (`true`), or why not.
 */
function pendingMatch(bundle: ProofBundle, tx: TransactionResponse, trusted: string): true | string {
  if (tx.to === null || tx.to.toLowerCase() !== trusted.toLowerCase()) {
    return `it is sent to ${tx.to ?? "no contract (a deployment)"}`;
  }
  return matchCall(bundle, tx.data as Hex);
}
