/**
 * Verifying a proof bundle: first everything that needs no chain (`offlineChecks`), then the
 * chain at `provider` — the same chain id, `DataAnchor`'s code at the address, the anchor
 * transaction mined with its `Anchored` event in the bundle's block, the root still anchored at
 * that sequence, the contract's own `verifyReading` — and the state: `pending` (the transaction
 * is known, not mined), `anchored`, or `final` once `confirmations` blocks hold it. One function,
 * so an app, the command and a browser give the same verdict.
 */
import type { Provider } from "ethers";

import type { Hex } from "../core/bytes.ts";
import { type BundleCheck, offlineChecks, type ProofBundle } from "../core/bundle.ts";
import { DEFAULT_FINALITY_DEPTH } from "../core/finality.ts";
import { bytes32ValuesHash } from "../core/merkle.ts";
import { toHex } from "../core/bytes.ts";
import { InvalidInputError, StrataError } from "../errors.ts";
import { anchoredEntries, DataAnchorClient } from "./anchor.ts";
import { DEFAULT_CALL_TIMEOUT_MS, withDeadline } from "./chain.ts";

/** Where a bundle stands. */
export type BundleState = "invalid" | "offline" | "pending" | "anchored" | "final";

export interface BundleVerdict {
  readonly state: BundleState;
  readonly checks: readonly BundleCheck[];
  /** Blocks holding the anchor (its own included), when it is mined. */
  readonly confirmations?: number;
}

export interface VerifyBundleOptions {
  /** The chain to check against; without it, only the offline checks run (state `offline`). */
  readonly provider?: Provider;
  /**
   * The `DataAnchor` the verifier trusts on that chain (from its own deployment record, never
   * from the bundle): required with `provider`. A bundle naming another contract is invalid, as
   * anyone can deploy a contract that emits and answers whatever a forged bundle needs.
   */
  readonly anchorContract?: string;
  /** Blocks that make an anchor final (default `DEFAULT_FINALITY_DEPTH`, 12). */
  readonly confirmations?: number;
  /** The keccak-256 of the record's bytes, when the verifier holds the record. */
  readonly recordHash?: Hex;
  /** Deadline of each chain call (default `DEFAULT_CALL_TIMEOUT_MS`). */
  readonly timeoutMs?: number;
}

export async function verifyBundle(bundle: ProofBundle, options: VerifyBundleOptions = {}): Promise<BundleVerdict> {
  const checks = offlineChecks(bundle, options.recordHash);
  const offlineOk = checks.every((c) => c.ok);
  const { provider } = options;
  if (!provider) return { state: offlineOk ? "offline" : "invalid", checks };
  if (typeof options.anchorContract !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(options.anchorContract)) {
    throw new InvalidInputError("anchorContract: the DataAnchor this verifier trusts is required to check on chain");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const call = <T>(what: string, work: Promise<T>): Promise<T> => withDeadline(what, timeoutMs, work);
  const add = (check: string, ok: boolean, detail: string): boolean => {
    checks.push({ check, ok, detail });
    return ok;
  };
  const { anchor, merkle } = bundle;

  const chainId = (await call("eth_chainId", provider.getNetwork())).chainId;
  if (
    !add(
      "chain",
      chainId === anchor.chainId,
      chainId === anchor.chainId
        ? `chain ${chainId}`
        : `the node serves chain ${chainId}, the bundle is from chain ${anchor.chainId}`,
    )
  ) {
    return { state: "invalid", checks };
  }
  const trusted = anchor.contract.toLowerCase() === options.anchorContract.toLowerCase();
  if (
    !add(
      "contract",
      trusted,
      trusted
        ? `the trusted DataAnchor ${options.anchorContract}`
        : `the bundle names ${anchor.contract}, not the trusted DataAnchor ${options.anchorContract}`,
    )
  ) {
    return { state: "invalid", checks };
  }
  const code = await call("eth_getCode", provider.getCode(anchor.contract));
  if (
    !add(
      "contract",
      code !== "0x",
      code !== "0x" ? `DataAnchor at ${anchor.contract}` : `no contract code at ${anchor.contract}`,
    )
  ) {
    return { state: "invalid", checks };
  }

  const receipt = await call("eth_getTransactionReceipt", provider.getTransactionReceipt(anchor.transaction));
  if (!receipt) {
    const tx = await call("eth_getTransactionByHash", provider.getTransaction(anchor.transaction));
    add(
      "transaction",
      false,
      tx ? `${anchor.transaction} is not mined yet` : `no transaction ${anchor.transaction} on this chain`,
    );
    return { state: tx && offlineOk ? "pending" : "invalid", checks };
  }
  const entry = anchoredEntries(receipt, anchor.contract).find((e) => e.root === merkle.root);
  const matches =
    receipt.status === 1 &&
    entry !== undefined &&
    entry.gateway === anchor.gateway &&
    entry.sequence === anchor.sequence &&
    entry.leafCount === BigInt(merkle.leafCount) &&
    receipt.blockNumber === anchor.block;
  add(
    "transaction",
    matches,
    matches
      ? `mined in block ${receipt.blockNumber}: Anchored(gateway, sequence ${anchor.sequence}, root, ${merkle.leafCount} leaves)`
      : entry === undefined
        ? "the transaction anchored no such root at this contract"
        : `the transaction's anchor differs from the bundle's (block ${receipt.blockNumber}, sequence ${entry.sequence}, ${entry.leafCount} leaves)`,
  );

  const client = new DataAnchorClient(anchor.contract, provider, { chainId, timeoutMs });
  try {
    const record = await client.anchorOf(anchor.gateway, merkle.root);
    const held =
      record !== undefined && record.sequence === anchor.sequence && record.leafCount === BigInt(merkle.leafCount);
    add(
      "anchor",
      held,
      held
        ? `the contract holds the root at sequence ${anchor.sequence}`
        : "the contract does not hold this root for the gateway (a rolled-back block?)",
    );
    const valuesHash = toHex(bytes32ValuesHash(bundle.record.hash));
    const proved = await client.verifyReading(anchor.gateway, merkle.root, valuesHash, merkle.proof);
    add(
      "on-chain proof",
      proved,
      proved
        ? "DataAnchor.verifyReading accepts the record and path"
        : "DataAnchor.verifyReading refuses the record and path",
    );
  } catch (error) {
    if (!(error instanceof StrataError)) throw error;
    add("anchor", false, error.shortMessage);
  }
  const valid = checks.every((c) => c.ok);
  if (!valid) return { state: "invalid", checks };
  const head = await call("eth_blockNumber", provider.getBlockNumber());
  const confirmations = head - anchor.block + 1;
  const needed = options.confirmations ?? DEFAULT_FINALITY_DEPTH;
  add("finality", true, `${confirmations} of ${needed} confirmations`);
  return { state: confirmations >= needed ? "final" : "anchored", checks, confirmations };
}
