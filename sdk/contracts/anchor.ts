/**
 * A typed client of `DataAnchor` over any ethers `ContractRunner`: a gateway's
 * key (a signer) anchors its batches' Merkle roots; anyone with a provider
 * checks a root, verifies a reading's proof and reads a gateway's chain from
 * the log, checked link by link against the on-chain head. A fog cluster's key
 * registers it with its members' approvals and a proof of possession of its
 * group key; anyone then anchors the cluster's batches with its group signature
 * (seed 004, docs/anchoring.md). Inputs are checked before anything is sent
 * (`InvalidInputError`, `InvalidPointError`); reverts come back as
 * `ContractRevertError` with the custom error's name and arguments.
 */
import {
  type BlockTag,
  type ContractRunner,
  type Log,
  type Provider,
  type Signer,
  type TransactionReceipt,
  type TypedDataDomain,
} from "ethers";

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
import { checkInteger, fromHex, type Hex, toHex } from "../core/bytes.ts";
import type { CompactSignature } from "../core/eip712.ts";
import {
  anchorDomain,
  checkGroupKey,
  checkGroupSignature,
  checkMembers,
  checkThreshold,
  FOG_CLUSTER_TYPES,
  fogBatchDigest,
  fogClusterValue,
} from "../core/fogBatch.ts";
import { InvalidInputError, TransportError } from "../errors.ts";
import { compactSignature } from "./registry.ts";
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

/** Bytes as the client takes them: 0x-prefixed hex or a `Uint8Array`. */
export type BytesInput = Hex | Uint8Array;

/** A fog cluster as `DataAnchor` keeps it (`fogCluster`). */
export interface FogClusterInfo {
  readonly cluster: Hex;
  /** The group key C0 = s·G2, 256-byte EIP-2537 encoding. */
  readonly groupKey: Hex;
  readonly threshold: number;
  /** 1 at registration, one more at each re-registration. */
  readonly epoch: number;
  /** The first sequence of the cluster's chain signed under this key. */
  readonly since: bigint;
  /** Member fog nodes in share-index order: `members[i]` holds share i + 1. */
  readonly members: readonly Hex[];
}

/** What `registerFogCluster` sends besides the cluster's id. */
export interface FogClusterRegistration {
  /** The group key C0 (256-byte EIP-2537 encoding). */
  readonly groupKey: BytesInput;
  readonly threshold: number;
  readonly members: readonly Hex[];
  /** The combined proof of possession of the group key (128-byte EIP-2537 G1). */
  readonly proof: BytesInput;
  /** Each member's approval (`signFogClusterApproval`), in the members' order. */
  readonly approvals: readonly CompactSignature[];
}

/** The outcome of a registration, from its `FogClusterRegistered` event. */
export interface FogClusterResult extends FogClusterInfo {
  readonly txHash: Hex;
  readonly blockNumber: number;
  readonly gasUsed: bigint;
}

/** The next batch of a cluster, ready for its members to sign. */
export interface FogBatchToSign {
  readonly cluster: Hex;
  /** The batch's position: the cluster's head + 1 when it was read. */
  readonly sequence: bigint;
  readonly root: Hex;
  readonly leafCount: bigint;
  /** The 32 bytes each member signs with `ThresholdScheme.partialSign(share, message)`. */
  readonly message: Uint8Array;
}

export class DataAnchorClient {
  readonly address: string;
  readonly contract: DataAnchor;
  readonly runner: ContractRunner;
  #domain: TypedDataDomain | undefined;

  constructor(address: string, runner: ContractRunner) {
    this.address = address;
    this.runner = runner;
    this.contract = DataAnchor__factory.connect(address, runner);
  }

  /** The same client acting through another runner (e.g. a gateway's own key). */
  connect(runner: ContractRunner): DataAnchorClient {
    const client = new DataAnchorClient(this.address, runner);
    client.#domain = this.#domain;
    return client;
  }

  /** The contract's EIP-712 domain (chain id read once). */
  async domain(): Promise<TypedDataDomain> {
    if (this.#domain === undefined) {
      const { chainId } = await guarded(NAME, this.contract.interface, () => this.provider.getNetwork());
      this.#domain = anchorDomain(chainId, this.address);
    }
    return this.#domain;
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
    return this.#anchored(word, () => this.contract.anchor(id, word, count));
  }

  // ------------------------------------------------------------ fog clusters

  /**
   * A member fog node's key approves `cluster`'s key of `epoch` (default: the
   * cluster's next epoch, read from the chain). The contract takes one approval
   * per member, in the members' order.
   */
  async signFogClusterApproval(
    memberKey: Signer,
    cluster: Hex,
    key: { groupKey: BytesInput; threshold: number; members: readonly Hex[]; epoch?: number },
  ): Promise<CompactSignature> {
    const id = checkWord(cluster, "cluster");
    const groupKey = bytesInput(key.groupKey, "groupKey");
    const epoch = key.epoch ?? ((await this.fogCluster(id))?.epoch ?? 0) + 1;
    const { chainId } = await this.domain();
    const value = fogClusterValue({
      chainId: BigInt(chainId!),
      anchor: this.address,
      cluster: id,
      groupKey,
      threshold: key.threshold,
      members: key.members,
      epoch,
    });
    return compactSignature(await memberKey.signTypedData(await this.domain(), FOG_CLUSTER_TYPES, value));
  }

  /**
   * Registers `cluster` as a fog cluster, or re-registers it with a new key
   * (the next epoch); the runner must be the cluster's registered key.
   */
  async registerFogCluster(cluster: Hex, registration: FogClusterRegistration): Promise<FogClusterResult> {
    const id = checkWord(cluster, "cluster");
    const members = checkMembers(registration.members, id);
    checkThreshold(registration.threshold, members.length);
    const groupKey = toHex(checkGroupKey(bytesInput(registration.groupKey, "groupKey")));
    const proof = toHex(checkGroupSignature(bytesInput(registration.proof, "proof"), "proof"));
    if (!Array.isArray(registration.approvals) || registration.approvals.length !== members.length) {
      throw new InvalidInputError("one approval per member is needed", {
        members: members.length,
        approvals: Array.isArray(registration.approvals)
          ? registration.approvals.length
          : typeof registration.approvals,
      });
    }
    const approvals = registration.approvals.map((a, i) => ({
      r: checkWord(a.r, `approvals[${i}].r`),
      vs: checkWord(a.vs, `approvals[${i}].vs`),
    }));
    return guarded(NAME, this.contract.interface, async () => {
      const tx = await this.contract.registerFogCluster(
        id,
        groupKey,
        registration.threshold,
        members,
        proof,
        approvals,
      );
      const receipt = await tx.wait();
      if (!receipt) throw new TransportError("transaction dropped", { hash: tx.hash });
      const event = receipt.logs
        .filter((log) => log.address.toLowerCase() === this.address.toLowerCase())
        .map((log) => this.contract.interface.parseLog({ topics: [...log.topics], data: log.data }))
        .find((e) => e?.name === "FogClusterRegistered");
      if (!event) throw new TransportError("FogClusterRegistered not emitted", { hash: receipt.hash });
      const [eventCluster, epoch, since, threshold, eventMembers, eventKey] = event.args as unknown as [
        string,
        bigint,
        bigint,
        bigint,
        string[],
        string,
      ];
      return {
        cluster: eventCluster.toLowerCase() as Hex,
        groupKey: eventKey.toLowerCase() as Hex,
        threshold: Number(threshold),
        epoch: Number(epoch),
        since,
        members: eventMembers.map((m) => m.toLowerCase() as Hex),
        txHash: receipt.hash as Hex,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
      };
    });
  }

  /** `cluster`'s key, threshold, epoch and members, or `undefined` when it is not a fog cluster. */
  async fogCluster(cluster: Hex, blockTag: BlockTag = "latest"): Promise<FogClusterInfo | undefined> {
    const id = checkWord(cluster, "cluster");
    const c = await guarded(NAME, this.contract.interface, () => this.contract.fogCluster(id, { blockTag }));
    if (c.threshold === 0n) return undefined;
    return {
      cluster: id,
      groupKey: c.groupKey.toLowerCase() as Hex,
      threshold: Number(c.threshold),
      epoch: Number(c.epoch),
      since: c.since,
      members: c.members.map((m) => m.toLowerCase() as Hex),
    };
  }

  /**
   * The message of `cluster`'s next batch (its head + 1) over `root` and
   * `leafCount`, for the members to sign. Another batch anchored first takes
   * that sequence, and the signature no longer verifies: sign again.
   */
  async nextFogBatch(cluster: Hex, root: Hex, leafCount: number | bigint): Promise<FogBatchToSign> {
    const id = checkWord(cluster, "cluster");
    const word = checkRoot(root);
    const count = checkLeafCount(leafCount);
    const sequence = (await this.head(id)) + 1n;
    const { chainId } = await this.domain();
    const digest = fogBatchDigest({
      chainId: BigInt(chainId!),
      anchor: this.address,
      cluster: id,
      sequence,
      root: word,
      leafCount: count,
    });
    return { cluster: id, sequence, root: word, leafCount: count, message: fromHex(digest, "digest", 32) };
  }

  /**
   * Anchors `root` as the next batch of fog cluster `cluster`, endorsed by its
   * group signature (128-byte EIP-2537 G1) over `nextFogBatch`'s message. Any
   * runner with funds may send it.
   */
  async anchorFogBatch(
    cluster: Hex,
    root: Hex,
    leafCount: number | bigint,
    groupSignature: BytesInput,
  ): Promise<AnchorResult> {
    const id = checkWord(cluster, "cluster");
    const word = checkRoot(root);
    const count = checkLeafCount(leafCount);
    const signature = toHex(checkGroupSignature(bytesInput(groupSignature, "groupSignature")));
    return this.#anchored(word, () => this.contract.anchorFogBatch(id, word, count, signature));
  }

  // ----------------------------------------------------------------- reads

  /**
   * `gateway`'s record of `root` (a gateway's or a fog cluster's), or
   * `undefined` when `gateway` did not anchor it. Records are kept per gateway:
   * the same root anchored by another gateway is that gateway's record. Read at `blockTag` (default latest).
   */
  async anchorOf(gateway: Hex, root: Hex, blockTag: BlockTag = "latest"): Promise<AnchorRecord | undefined> {
    const id = checkWord(gateway, "gateway");
    const word = checkWord(root, "root");
    const r = await guarded(NAME, this.contract.interface, () => this.contract.anchorOf(id, word, { blockTag }));
    if (r.sequence === 0n) return undefined;
    return { gateway: r.gateway as Hex, sequence: r.sequence, time: r.time, leafCount: r.leafCount };
  }

  /** Whether `gateway` (a gateway or a fog cluster) anchored `root`. */
  isAnchored(gateway: Hex, root: Hex): Promise<boolean> {
    const id = checkWord(gateway, "gateway");
    const word = checkWord(root, "root");
    return guarded(NAME, this.contract.interface, () => this.contract.isAnchored(id, word));
  }

  /**
   * Whether `gateway` anchored `root` and `proof` (sibling hashes, leaf to
   * root) proves the reading whose once-hashed `StandardMerkleTree` leaf is
   * `valuesHash` (`leafValuesHash(types, values)`, or `bytes32ValuesHash(h)`
   * for a block or reading hash h) in it. The contract hashes it into the leaf
   * itself, so an inner node of the tree never passes, and refuses a proof
   * longer than the anchored leaf count allows (ceil(log2 leafCount)).
   */
  verifyReading(gateway: Hex, root: Hex, valuesHash: Hex, proof: readonly Hex[]): Promise<boolean> {
    const args = this.#readingArgs(gateway, root, valuesHash, proof);
    return guarded(NAME, this.contract.interface, () => this.contract.verifyReading(...args));
  }

  /** The gas a transaction calling `verifyReading` would use (`eth_estimateGas`). */
  estimateVerifyReading(gateway: Hex, root: Hex, valuesHash: Hex, proof: readonly Hex[]): Promise<bigint> {
    const args = this.#readingArgs(gateway, root, valuesHash, proof);
    return guarded(NAME, this.contract.interface, () => this.contract.verifyReading.estimateGas(...args));
  }

  /** The chain's latest block number, as this client's node sees it (failures are `TransportError`). */
  blockNumber(): Promise<number> {
    return guarded(NAME, this.contract.interface, () => this.provider.getBlockNumber());
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

  /** Sends an anchoring transaction and reads its outcome from the `Anchored` event of `root`. */
  async #anchored(
    root: Hex,
    send: () => Promise<{ hash: string; wait(): Promise<TransactionReceipt | null> }>,
  ): Promise<AnchorResult> {
    return guarded(NAME, this.contract.interface, async () => {
      const tx = await send();
      const receipt = await tx.wait();
      if (!receipt) throw new TransportError("transaction dropped", { hash: tx.hash });
      const anchored = receipt.logs
        .map((log) => this.#parseAnchored(log))
        .find((e): e is AnchorEntry => e !== undefined && e.root === root);
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

  #readingArgs(gateway: Hex, root: Hex, valuesHash: Hex, proof: readonly Hex[]): [Hex, Hex, Hex, Hex[]] {
    if (!Array.isArray(proof)) throw new InvalidInputError("proof must be an array", { proof: typeof proof });
    return [
      checkWord(gateway, "gateway"),
      checkWord(root, "root"),
      checkWord(valuesHash, "valuesHash"),
      proof.map((p, i) => checkWord(p, `proof[${i}]`)),
    ];
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

/** Bytes from hex or a `Uint8Array` (a copy is not made). */
function bytesInput(value: BytesInput, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return fromHex(value, what);
}
