/**
 * A typed client of `DataAnchor` over any ethers `ContractRunner`: a gateway's
 * key (a signer) anchors its batches' Merkle roots; anyone with a provider
 * checks a root, verifies a reading's proof and reads a gateway's chain from
 * the log, checked link by link against the on-chain head. Inputs are checked
 * before anything is sent (`InvalidInputError`); reverts come back as
 * `ContractRevertError` with the custom error's name and arguments.
 */
import { type BlockTag, type ContractRunner, type Log, type Provider } from "ethers";

import { DataAnchor__factory } from "../../types/ethers-contracts/index.ts";
import type { DataAnchor } from "../../types/ethers-contracts/index.ts";
import {
  type AnchorEntry,
  type AnchorRecord,
  checkAnchorChain,
  checkLeafCount,
  checkRoot,
  checkWord,
} from "../core/anchors.ts";
import { checkInteger, type Hex } from "../core/bytes.ts";
import { InvalidInputError, TransportError } from "../errors.ts";
import { guarded } from "./revert.ts";

const NAME = "DataAnchor";

/** Blocks per `eth_getLogs` query when `chunkSize` is not given (many public nodes cap ranges at 10,000). */
export const DEFAULT_LOG_CHUNK = 10_000;

/** Which blocks `history` reads, in chunks of at most `chunkSize` blocks. */
export interface AnchorHistoryRange {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly chunkSize?: number;
}

/** The outcome of an anchor, from its receipt and its `Anchored` event. */
export interface AnchorResult {
  readonly gateway: Hex;
  readonly root: Hex;
  readonly sequence: bigint;
  readonly leafCount: bigint;
  /** The block's timestamp: the record's `time`. */
  readonly time: bigint;
  readonly txHash: Hex;
  readonly blockNumber: number;
  readonly gasUsed: bigint;
}

export class DataAnchorClient {
  readonly address: string;
  readonly contract: DataAnchor;
  readonly runner: ContractRunner;

  constructor(address: string, runner: ContractRunner) {
    this.address = address;
    this.runner = runner;
    this.contract = DataAnchor__factory.connect(address, runner);
  }

  /** The same client acting through another runner (e.g. a gateway's own key). */
  connect(runner: ContractRunner): DataAnchorClient {
    return new DataAnchorClient(this.address, runner);
  }

  get provider(): Provider {
    const provider = this.runner.provider;
    if (!provider) throw new TransportError("the runner has no provider");
    return provider;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Anchors `root`, the Merkle root of a batch of `leafCount` leaves, as the
   * next link of `gateway`'s chain; the runner must be the gateway's key.
   */
  async anchor(gateway: Hex, root: Hex, leafCount: number | bigint): Promise<AnchorResult> {
    const id = checkWord(gateway, "gateway");
    const word = checkRoot(root);
    const count = checkLeafCount(leafCount);
    return guarded(NAME, this.contract.interface, async () => {
      const tx = await this.contract.anchor(id, word, count);
      const receipt = await tx.wait();
      if (!receipt) throw new TransportError("transaction dropped", { hash: tx.hash });
      const anchored = receipt.logs
        .map((log) => this.#parseAnchored(log))
        .find((e): e is AnchorEntry => e !== undefined && e.root === word);
      if (!anchored) throw new TransportError("Anchored not emitted", { hash: receipt.hash });
      const block = await this.provider.getBlock(receipt.blockNumber);
      if (!block) throw new TransportError(`block ${receipt.blockNumber} not found`);
      return {
        gateway: anchored.gateway,
        root: anchored.root,
        sequence: anchored.sequence,
        leafCount: anchored.leafCount,
        time: BigInt(block.timestamp),
        txHash: receipt.hash as Hex,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
      };
    });
  }

  // ----------------------------------------------------------------- reads

  /** The record of `root`, or `undefined` when it is not anchored. */
  async anchorOf(root: Hex): Promise<AnchorRecord | undefined> {
    const word = checkWord(root, "root");
    const r = await guarded(NAME, this.contract.interface, () => this.contract.anchorOf(word));
    if (r.sequence === 0n) return undefined;
    return { gateway: r.gateway as Hex, sequence: r.sequence, time: r.time, leafCount: r.leafCount };
  }

  isAnchored(root: Hex): Promise<boolean> {
    const word = checkWord(root, "root");
    return guarded(NAME, this.contract.interface, () => this.contract.isAnchored(word));
  }

  /**
   * Whether `root` is anchored and `proof` (sibling hashes, leaf to root)
   * proves `leaf`, a `StandardMerkleTree` leaf hash, in it.
   */
  verifyReading(root: Hex, leaf: Hex, proof: readonly Hex[]): Promise<boolean> {
    const args = this.#readingArgs(root, leaf, proof);
    return guarded(NAME, this.contract.interface, () => this.contract.verifyReading(...args));
  }

  /** The gas a transaction calling `verifyReading` would use (`eth_estimateGas`). */
  estimateVerifyReading(root: Hex, leaf: Hex, proof: readonly Hex[]): Promise<bigint> {
    const args = this.#readingArgs(root, leaf, proof);
    return guarded(NAME, this.contract.interface, () => this.contract.verifyReading.estimateGas(...args));
  }

  /** The sequence of `gateway`'s last anchor (0 before its first), at `blockTag` (default latest). */
  head(gateway: Hex, blockTag: BlockTag = "latest"): Promise<bigint> {
    const id = checkWord(gateway, "gateway");
    return guarded(NAME, this.contract.interface, () => this.contract.head(id, { blockTag }));
  }

  /** The registry that authenticates gateways. */
  registry(): Promise<string> {
    return guarded(NAME, this.contract.interface, () => this.contract.registry());
  }

  /**
   * `gateway`'s anchors in a block window, oldest first, read from the
   * `Anchored` log in chunks of `chunkSize` blocks and checked to be exactly the
   * links the chain gained in the window: from the head before `fromBlock` + 1
   * (1 from block 0) to the head at `toBlock` (default: the latest block), with
   * no gap and no repeat. Throws `AnchorChainError` when the log disagrees.
   * The heads are read at `fromBlock - 1` and `toBlock`: a window that ends
   * before the latest block needs a node that keeps those blocks' state.
   */
  async history(gateway: Hex, range: AnchorHistoryRange = {}): Promise<AnchorEntry[]> {
    const id = checkWord(gateway, "gateway");
    const { fromBlock, toBlock, chunkSize } = await this.#window(range);
    const logs = await this.#logs([this.#anchoredTopic(), id], fromBlock, toBlock, chunkSize);
    const entries = logs.map((log) => this.#parseAnchored(log)).filter((e): e is AnchorEntry => e !== undefined);
    const first = fromBlock === 0 ? 1n : (await this.#headAt(id, fromBlock - 1)) + 1n;
    return checkAnchorChain(id, entries, { first, head: await this.#headAt(id, toBlock) });
  }

  /**
   * The `sequence`-th anchor of `gateway` (e.g. its head's root), found with one
   * filter on the indexed sequence; `undefined` when no such anchor is in the window.
   */
  async entryAt(gateway: Hex, sequence: bigint, range: AnchorHistoryRange = {}): Promise<AnchorEntry | undefined> {
    const id = checkWord(gateway, "gateway");
    if (typeof sequence !== "bigint" || sequence < 1n || sequence >= 1n << 64n) {
      throw new InvalidInputError("sequence must be a bigint in [1, 2^64 - 1]", { value: String(sequence) });
    }
    const { fromBlock, toBlock, chunkSize } = await this.#window(range);
    const topic = `0x${sequence.toString(16).padStart(64, "0")}`;
    const logs = await this.#logs([this.#anchoredTopic(), id, topic], fromBlock, toBlock, chunkSize);
    return logs.map((log) => this.#parseAnchored(log)).find((e) => e !== undefined);
  }

  // --------------------------------------------------------------- private

  #readingArgs(root: Hex, leaf: Hex, proof: readonly Hex[]): [Hex, Hex, Hex[]] {
    if (!Array.isArray(proof)) throw new InvalidInputError("proof must be an array", { proof: typeof proof });
    return [checkWord(root, "root"), checkWord(leaf, "leaf"), proof.map((p, i) => checkWord(p, `proof[${i}]`))];
  }

  /** `gateway`'s head at `block` (0 before the contract existed). */
  async #headAt(gateway: Hex, block: number): Promise<bigint> {
    const code = await guarded(NAME, this.contract.interface, () => this.provider.getCode(this.address, block));
    return code === "0x" ? 0n : this.head(gateway, block);
  }

  async #window(range: AnchorHistoryRange): Promise<{ fromBlock: number; toBlock: number; chunkSize: number }> {
    const fromBlock = range.fromBlock ?? 0;
    checkInteger(fromBlock, 0, Number.MAX_SAFE_INTEGER, "fromBlock");
    const chunkSize = range.chunkSize ?? DEFAULT_LOG_CHUNK;
    checkInteger(chunkSize, 1, Number.MAX_SAFE_INTEGER, "chunkSize");
    if (range.toBlock !== undefined) checkInteger(range.toBlock, 0, Number.MAX_SAFE_INTEGER, "toBlock");
    const toBlock =
      range.toBlock ?? (await guarded(NAME, this.contract.interface, () => this.provider.getBlockNumber()));
    if (fromBlock > toBlock) {
      throw new InvalidInputError("fromBlock must not be after toBlock", { fromBlock, toBlock });
    }
    return { fromBlock, toBlock, chunkSize };
  }

  async #logs(topics: string[], fromBlock: number, toBlock: number, chunkSize: number): Promise<Log[]> {
    return guarded(NAME, this.contract.interface, async () => {
      const found: Log[] = [];
      for (let start = fromBlock; start <= toBlock; start += chunkSize) {
        const end = Math.min(start + chunkSize - 1, toBlock);
        found.push(...(await this.provider.getLogs({ address: this.address, fromBlock: start, toBlock: end, topics })));
      }
      return found;
    });
  }

  #anchoredTopic(): string {
    return this.contract.interface.getEvent("Anchored").topicHash;
  }

  /** The `Anchored` event of this contract in `log`, if it is one. */
  #parseAnchored(log: Log): AnchorEntry | undefined {
    if (log.address.toLowerCase() !== this.address.toLowerCase()) return undefined;
    const parsed = this.contract.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed || parsed.name !== "Anchored") return undefined;
    const [gateway, sequence, root, leafCount] = parsed.args as unknown as [string, bigint, string, bigint];
    return {
      gateway: gateway.toLowerCase() as Hex,
      sequence,
      root: root.toLowerCase() as Hex,
      leafCount,
      blockNumber: log.blockNumber,
      logIndex: log.index,
      transactionHash: log.transactionHash as Hex,
    };
  }
}
