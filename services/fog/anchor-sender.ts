/**
 * A fog coordinator's anchoring transactions, kept and replaced (issue 15, "Chain faults": one
 * sender per account with its own nonce tracking and fee bumping for a stuck transaction;
 * nothing anchored twice). The SDK's `DataAnchorClient.anchorFogBatch` sends and waits; this
 * sender signs the `anchorFogBatch` transaction itself, keeps it in a file before it is sent,
 * sends it (again), waits at most `minedTimeoutMs`, and then signs a replacement at the same
 * nonce with fees a quarter higher; after `maxReplacements` it gives up for this round (a
 * `TimeoutError`: `FogCluster` proposes the same batch again at the next round, and the kept
 * transaction is taken up where it was left, after a restart too). A replacement never pays
 * more than `maxFeePerGas` per gas: one that would need more is not signed (`FeeCapError`, the
 * round fails with it and the kept transaction stays pending as it is, sent again at the next
 * round; a first transaction's fees are lowered to the cap). Each attempt first reads
 * the chain: a batch the chain holds is reported anchored, whichever of the transactions took
 * it; a kept transaction whose nonce went to another is dropped for a fresh one.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";

import { Interface, Transaction, type TransactionRequest, type Wallet } from "ethers";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { DataAnchor as DataAnchorArtifact } from "../../sdk/artifacts/DataAnchor.ts";
import { bumpFees, capFees, type DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { decodeRevert } from "../../sdk/contracts/revert.ts";
import { ContractRevertError, FeeCapError, TimeoutError } from "../../sdk/errors.ts";
import { writeFileAtomic } from "../runtime/secret-file.ts";

const IFACE = new Interface(DataAnchorArtifact.abi);

/** A signed transaction as it is kept. */
interface KeptTx {
  readonly nonce: number;
  readonly hash: Hex;
  readonly raw: Hex;
  readonly root: Hex;
}

export interface FogAnchorSenderOptions {
  readonly client: DataAnchorClient;
  readonly wallet: Wallet;
  /** Where the transaction in flight is kept. */
  readonly file: string;
  readonly minedTimeoutMs: number;
  readonly maxReplacements: number;
  /** Most wei per gas a transaction may pay (a replacement that would need more is not signed). */
  readonly maxFeePerGas?: bigint;
  /** Called for each replacement signed (a metric). */
  readonly onReplace?: () => void;
  /** Called when a replacement was not signed for the cap (a metric, the health detail). */
  readonly onFeeCap?: (error: FeeCapError) => void;
}

export class FogAnchorSender {
  readonly #o: FogAnchorSenderOptions;

  constructor(options: FogAnchorSenderOptions) {
    this.#o = options;
  }

  #kept(): KeptTx | undefined {
    if (!existsSync(this.#o.file)) return undefined;
    return JSON.parse(readFileSync(this.#o.file, "utf8")) as KeptTx;
  }

  /** `FogAnchorPort.anchorFogBatch` through kept, replaceable transactions. */
  async anchorFogBatch(
    cluster: Hex,
    root: Hex,
    leafCount: number | bigint,
    groupSignature: Uint8Array,
  ): Promise<{ sequence: bigint; hash: string; gasUsed?: bigint; blockNumber?: number }> {
    const { client, wallet } = this.#o;
    const data = IFACE.encodeFunctionData("anchorFogBatch", [cluster, root, leafCount, toHex(groupSignature)]);
    let tx = this.#kept();
    const sent = new Set<Hex>(tx === undefined ? [] : [tx.hash]);
    for (let attempt = 0; ; attempt++) {
      // the nonce first: a transaction of ours mined by then shows in the record read after it
      const minedNonce = await client.minedNonce();
      const at = await client.blockNumber();
      const found = await client.anchorOf(cluster, root, at);
      if (found !== undefined) {
        rmSync(this.#o.file, { force: true });
        for (const hash of sent) {
          const receipt = await wallet.provider!.getTransactionReceipt(hash);
          if (receipt !== null && receipt.status === 1) {
            return { sequence: found.sequence, hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber };
          }
        }
        return { sequence: found.sequence, hash: "unknown", blockNumber: at };
      }
      if (attempt > this.#o.maxReplacements) {
        throw new TimeoutError(`the anchor of ${root} was not mined after ${this.#o.maxReplacements} replacements`, {
          root,
          kept: tx?.hash,
        });
      }
      const fresh = tx === undefined || minedNonce > tx.nonce;
      if (fresh || attempt > 0 || tx!.root !== root) {
        const signed = await this.#sign(data, fresh ? undefined : tx, cluster, root);
        if (signed === undefined) continue; // anchored meanwhile: the record says where
        if (!fresh) this.#o.onReplace?.();
        tx = { ...signed, root };
        writeFileAtomic(this.#o.file, `${JSON.stringify(tx)}\n`); // kept before it is sent
        sent.add(tx.hash);
      }
      await client.broadcast(tx!);
      await client.mined(tx!.hash, this.#o.minedTimeoutMs);
    }
  }

  /** A first transaction (estimated), or a replacement of `replacing` at its nonce and gas limit. */
  async #sign(
    data: string,
    replacing: KeptTx | undefined,
    cluster: Hex,
    root: Hex,
  ): Promise<Omit<KeptTx, "root"> | undefined> {
    const { wallet, client } = this.#o;
    const previous = replacing === undefined ? undefined : Transaction.from(replacing.raw);
    let request: TransactionRequest;
    try {
      request = await wallet.populateTransaction({
        to: client.address,
        data,
        ...(previous === undefined ? {} : { nonce: previous.nonce, gasLimit: previous.gasLimit }),
      });
    } catch (e) {
      const typed = decodeRevert("DataAnchor", IFACE, e);
      // an estimate runs the call: the root is anchored already when the latest block holds it
      if (typed instanceof ContractRevertError && (await client.anchorOf(cluster, root, "latest")) !== undefined) {
        return undefined;
      }
      throw typed;
    }
    if (previous !== undefined) bumpFees(request, previous);
    if (this.#o.maxFeePerGas !== undefined) {
      try {
        capFees(request, this.#o.maxFeePerGas, previous !== undefined);
      } catch (e) {
        if (e instanceof FeeCapError) this.#o.onFeeCap?.(e);
        throw e;
      }
    }
    const raw = await wallet.signTransaction(request);
    const signed = Transaction.from(raw);
    return { nonce: signed.nonce, hash: signed.hash!.toLowerCase() as Hex, raw: raw as Hex };
  }
}
