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
  type Signer,
  Transaction,
  type TransactionRequest,
} from "ethers";

import { DataAnchor as DataAnchorArtifact } from "../artifacts/DataAnchor.ts";
import type { DataAnchor } from "../../types/ethers-contracts/anchoring/DataAnchor.ts";
import {
  type AnchorEntry,
  type AnchorRecord,
  checkAnchorChain,
  checkLeafCount,
  checkRoot,
  checkWord,
} from "../core/anchors.ts";
import { type BytesInput, checkInteger, fromHex, type Hex, toHex } from "../core/bytes.ts";
import type { BatchBundle, ReadingBundle } from "../core/bundle/format.ts";
import { batchBundles, type FogBatchEvidence, readingBundle } from "../core/bundle/make.ts";
import { anchorDomain, type CompactSignature, FOG_CLUSTER_TYPES } from "../core/eip712.ts";
import {
  checkGroupKey,
  checkGroupSignature,
  checkMembers,
  checkThreshold,
  fogBatchDigest,
  fogClusterValue,
} from "../core/fogBatch.ts";
import type { SignedBatchHeader } from "../core/nbiot/batch-signature.ts";
import { decodeBlock } from "../core/nbiot/block.ts";
import type { NbiotParams } from "../core/nbiot/params.ts";
import { InvalidInputError, ProtocolError, TimeoutError, TransportError, TxRejectedError } from "../errors.ts";
import {
  artifactInterface,
  checkTimeout,
  type ClientOptions,
  type ContractEvent,
  ContractClient,
  logsOf,
  type LogsOf,
  RECEIPT_GUARD_GRACE_MS,
  receiptEvents,
  requiredEvent,
  type SentTx,
  type TxResult,
} from "./client.ts";
import { compactSignature } from "./registry.ts";
import { BENIGN_REFUSAL, bumpFees, capFees, nodeReason } from "./replacement.ts";

/** The fee bump and cap of a replacement, for senders that keep their own transactions (`./replacement.ts`). */
export { bumpFees, capFees } from "./replacement.ts";
import { checkWindow, DEFAULT_INITIAL_SPAN } from "./logs.ts";

const NAME = "DataAnchor";
const SPEC = { name: NAME, artifact: DataAnchorArtifact, domain: anchorDomain };
const IFACE = artifactInterface(DataAnchorArtifact);

/** Blocks in the first `eth_getLogs` query (many public nodes cap ranges at 10,000); the reader adapts from there. */
export const DEFAULT_LOG_CHUNK = DEFAULT_INITIAL_SPAN;

/**
 * Which blocks `history` reads (never before the contract's deployment
 * block), in queries of at most `chunkSize` blocks when it is given.
 */
export interface AnchorHistoryRange {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly chunkSize?: number;
}

/** The outcome of an anchor: its transaction's `TxResult` and its `Anchored` event. */
export interface AnchorResult extends TxResult {
  readonly gateway: Hex;
  readonly root: Hex;
  readonly sequence: bigint;
  readonly leafCount: bigint;
  /** The block's timestamp: the record's `time`. */
  readonly time: bigint;
}

/**
 * A signed transaction kept by its sender before it is sent, so that it can be
 * sent again (the same bytes) or replaced (the same nonce, a higher fee), and a
 * restart knows it may still be pending.
 */
export interface SignedTx {
  readonly nonce: number;
  readonly hash: Hex;
  readonly raw: Hex;
}

/** A mined transaction's block and outcome (`status` 1: success, 0: reverted). */
export interface MinedTx {
  readonly hash: Hex;
  readonly blockNumber: number;
  readonly status: number;
}

/** What an anchor transaction may pay (see `DataAnchorClient.signAnchor`). */
export interface AnchorFees {
  /** Most wei per gas it may pay: a replacement that would need more is not signed (`FeeCapError`). */
  readonly maxFeePerGas?: bigint;
}

export type { BytesInput } from "../core/bytes.ts";

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

/** The outcome of a registration: its transaction's `TxResult` and its `FogClusterRegistered` event. */
export interface FogClusterResult extends FogClusterInfo, TxResult {}

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

/**
 * The `DataAnchor` events in a receipt (or logs), arguments by name; with
 * `address`, only that contract's. Pure: no network call.
 */
export function parseAnchorReceipt(source: LogsOf, address: string): ContractEvent[] {
  return receiptEvents(IFACE, source, address);
}

/**
 * The anchors (`Anchored` events) of the `DataAnchor` at `address` in a receipt
 * (or logs), as `AnchorEntry`s in log order. Pure: no network call.
 */
export function anchoredEntries(source: LogsOf, address: string): AnchorEntry[] {
  return logsOf(source)
    .map((log) => anchoredEntry(log, address))
    .filter((e): e is AnchorEntry => e !== undefined);
}

/** The `Anchored` event of the `DataAnchor` at `address` in `log`, if it is one. */
function anchoredEntry(log: Log, address: string): AnchorEntry | undefined {
  if (log.address.toLowerCase() !== address.toLowerCase()) return undefined;
  const parsed = IFACE.parseLog({ topics: [...log.topics], data: log.data });
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

/** The fog cluster a `FogClusterRegistered` event sets. */
function fogClusterOf(e: ContractEvent): FogClusterInfo {
  return {
    cluster: String(e.args.cluster).toLowerCase() as Hex,
    groupKey: String(e.args.groupKey).toLowerCase() as Hex,
    threshold: Number(e.args.threshold),
    epoch: Number(e.args.epoch),
    since: e.args.since as bigint,
    members: (e.args.members as readonly string[]).map((m) => m.toLowerCase() as Hex),
  };
}

export class DataAnchorClient extends ContractClient<DataAnchor> {
  /**
   * A client of the `DataAnchor` at `address`. `options.chainId` pins the
   * deployment's chain; on first use the client checks the chain and that the
   * address holds code (`WrongChainError`, `NoCodeError`, before anything is
   * sent). Every call has a deadline (`options.timeoutMs`, a send and its
   * receipt `options.receiptTimeoutMs`): a `TimeoutError` (retryable) after it. Its logs are
   * read from `options.deploymentBlock` (found once on chain when not given) in adaptive chunks.
   */
  constructor(address: string, runner: ContractRunner, options: ClientOptions = {}) {
    super(SPEC, address, runner, options);
    checkTimeout(this.callTimeoutMs, "timeoutMs");
    checkTimeout(this.receiptTimeoutMs, "receiptTimeoutMs");
  }

  /** The same client acting through another runner (e.g. a gateway's own key). */
  connect(runner: ContractRunner): DataAnchorClient {
    return this.shareWith(new DataAnchorClient(this.address, runner, this.options));
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
    const result = await this.send(() =>
      this.contract.registerFogCluster(id, groupKey, registration.threshold, members, proof, approvals),
    );
    const registered = fogClusterOf(requiredEvent(result.events, "FogClusterRegistered", result.hash));
    return { ...result, ...registered };
  }

  /** `cluster`'s key, threshold, epoch and members, or `undefined` when it is not a fog cluster. */
  async fogCluster(cluster: Hex, blockTag: BlockTag = "latest"): Promise<FogClusterInfo | undefined> {
    const id = checkWord(cluster, "cluster");
    const c = await this.#call(() => this.contract.fogCluster(id, { blockTag }));
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

  // --------------------------------------------------- tracked transactions

  /**
   * Signs, without sending, the anchor of `root` as the next link of
   * `gateway`'s chain (see `anchor`), so the sender can keep it before it
   * sends it. A first transaction's gas is estimated, which runs the call: a
   * revert (`DataAnchorRootExists` …) is thrown here, before anything is sent.
   * With `replacing`, the transaction takes `replacing`'s nonce and gas limit
   * (no estimate: a node estimating against its pending block would see
   * `replacing` anchor the root already, and revert) and fees at least a
   * quarter above its fees, to replace it in the mempool.
   *
   * `fees.maxFeePerGas` caps what the transaction may pay per gas: a first
   * transaction's fees are lowered to it, and a replacement that would need more
   * is not signed (`FeeCapError`: leave `replacing` pending as it is).
   */
  async signAnchor(
    gateway: Hex,
    root: Hex,
    leafCount: number | bigint,
    replacing?: SignedTx,
    fees: AnchorFees = {},
  ): Promise<SignedTx> {
    const id = checkWord(gateway, "gateway");
    const word = checkRoot(root);
    const count = checkLeafCount(leafCount);
    const cap = fees.maxFeePerGas;
    if (cap !== undefined && (typeof cap !== "bigint" || cap < 1n)) {
      throw new InvalidInputError("maxFeePerGas must be a positive bigint", { maxFeePerGas: String(cap) });
    }
    const signer = this.#signer();
    const data = this.contract.interface.encodeFunctionData("anchor", [id, word, count]);
    const previous = replacing === undefined ? undefined : Transaction.from(replacing.raw);
    return this.#call(async () => {
      const request: TransactionRequest = await signer.populateTransaction({
        to: this.address,
        data,
        ...(previous === undefined ? {} : { nonce: previous.nonce, gasLimit: previous.gasLimit }),
      });
      if (previous !== undefined) bumpFees(request, previous);
      if (cap !== undefined) capFees(request, cap, previous !== undefined);
      const raw = await signer.signTransaction(request);
      const tx = Transaction.from(raw);
      return { nonce: tx.nonce, hash: tx.hash!.toLowerCase() as Hex, raw: raw as Hex };
    });
  }

  /**
   * Sends a signed transaction (again). A node that refuses it because it
   * knows it already ("already known", "known transaction", anvil's "already imported"), its nonce is taken
   * ("nonce too low", "nonce has already been used") or it holds a transaction
   * at that nonce paying as much ("replacement transaction underpriced") is not
   * an error here: what became of the transaction is read from the chain
   * (`mined`, `anchorOf`). Any other refusal (insufficient funds, a fee cap
   * below the base fee, too little gas …) is a `TxRejectedError` naming the
   * node's reason; a silent node a `TimeoutError`.
   */
  async broadcast(tx: SignedTx): Promise<void> {
    try {
      await this.#call(() => this.provider.broadcastTransaction(tx.raw));
    } catch (e) {
      if (e instanceof TimeoutError || !(e instanceof TransportError)) throw e;
      const reason = nodeReason(e);
      if (reason === undefined) throw e; // no answer from the node (a dropped connection): a TransportError
      if (BENIGN_REFUSAL.test(reason)) return;
      throw new TxRejectedError(
        `the node refused transaction ${tx.hash}: ${reason}`,
        { hash: tx.hash, reason },
        { cause: e },
      );
    }
  }

  /**
   * The block and status of transaction `hash`, waiting at most `timeoutMs`
   * (default: none) for it to be mined; `undefined` when it is not mined by then.
   */
  async mined(hash: Hex, timeoutMs = 0): Promise<MinedTx | undefined> {
    checkTimeout(timeoutMs, "timeoutMs", 0);
    const receipt = await this.#call(async () => {
      if (timeoutMs === 0) return this.provider.getTransactionReceipt(hash);
      try {
        return await this.provider.waitForTransaction(hash, 1, timeoutMs);
      } catch (e) {
        if (isTimeout(e)) return null;
        throw e;
      }
    }, timeoutMs + this.callTimeoutMs);
    if (receipt === null) return undefined;
    return { hash: receipt.hash.toLowerCase() as Hex, blockNumber: receipt.blockNumber, status: receipt.status ?? 0 };
  }

  /** How many transactions the runner's account has had mined (its next nonce once its pending ones are gone). */
  minedNonce(): Promise<number> {
    const signer = this.#signer();
    return this.#call(() => signer.getNonce("latest"));
  }

  /** The chain's latest block number. */
  blockNumber(): Promise<number> {
    return this.#call(() => this.provider.getBlockNumber());
  }

  // ----------------------------------------------------------------- reads

  /**
   * `gateway`'s record of `root` (a gateway's or a fog cluster's), or
   * `undefined` when `gateway` did not anchor it. Records are kept per gateway:
   * the same root anchored by another gateway is that gateway's record. At
   * `blockTag` (default latest): a record present at an older block has at
   * least that many confirmations.
   */
  async anchorOf(gateway: Hex, root: Hex, blockTag: BlockTag = "latest"): Promise<AnchorRecord | undefined> {
    const id = checkWord(gateway, "gateway");
    const word = checkWord(root, "root");
    const r = await this.#call(() => this.contract.anchorOf(id, word, { blockTag })).catch(async (e: unknown) => {
      // at a block before the contract was deployed there is nothing to read: no record
      if (blockTag !== "latest" && (await this.#codeAt(blockTag)) === "0x") return undefined;
      throw e;
    });
    if (r === undefined || r.sequence === 0n) return undefined;
    return { gateway: r.gateway as Hex, sequence: r.sequence, time: r.time, leafCount: r.leafCount };
  }

  /** Whether `gateway` (a gateway or a fog cluster) anchored `root`. */
  isAnchored(gateway: Hex, root: Hex): Promise<boolean> {
    const id = checkWord(gateway, "gateway");
    const word = checkWord(root, "root");
    return this.#call(() => this.contract.isAnchored(id, word));
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
    return this.#call(() => this.contract.verifyReading(...args));
  }

  /** The gas a transaction calling `verifyReading` would use (`eth_estimateGas`). */
  estimateVerifyReading(gateway: Hex, root: Hex, valuesHash: Hex, proof: readonly Hex[]): Promise<bigint> {
    const args = this.#readingArgs(gateway, root, valuesHash, proof);
    return this.#call(() => this.contract.verifyReading.estimateGas(...args));
  }

  /** The sequence of `gateway`'s last anchor (0 before its first), at `blockTag` (default latest). */
  head(gateway: Hex, blockTag: BlockTag = "latest"): Promise<bigint> {
    const id = checkWord(gateway, "gateway");
    return this.#call(() => this.contract.head(id, { blockTag }));
  }

  /** The registry that authenticates gateways. */
  registry(): Promise<string> {
    return this.#call(() => this.contract.registry());
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
    const deployed = await this.readMany(() => this.logs.deploymentBlock());
    const first = fromBlock <= deployed ? 1n : (await this.#headAt(id, fromBlock - 1)) + 1n;
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

  // ------------------------------------------------------------ proof bundles

  /**
   * The proof bundle (`kind: "reading"`) of a station's reading: a `ReadingProof`
   * (`BaseStation.proof`) or a verified `Reading` (`Application.acquire`). Its batch root's
   * anchor by the block's station is read here (`anchorOf`, then that sequence's `Anchored`
   * event, in `range`); a root the station has not anchored is a `ProtocolError("not-anchored")`.
   */
  async readingBundle(
    params: NbiotParams,
    proof: { readonly block: Uint8Array; readonly batch: SignedBatchHeader; readonly proof: readonly Hex[] },
    range: AnchorHistoryRange = {},
  ): Promise<ReadingBundle> {
    const station = decodeBlock(proof.block).bs;
    const root = checkRoot(proof.batch.root);
    const record = await this.anchorOf(station, root);
    const entry = record === undefined ? undefined : await this.entryAt(station, record.sequence, range);
    if (record === undefined || entry === undefined || entry.root !== root) {
      throw new ProtocolError("not-anchored", `root ${root} is not anchored by station ${station}`, { root, station });
    }
    const { chainId } = await this.domain();
    return readingBundle(params, proof, {
      chainId: BigInt(chainId!),
      contract: this.address,
      sequence: record.sequence,
      transaction: entry.transactionHash,
      block: entry.blockNumber,
    });
  }

  /**
   * The proof bundles (`kind: "batch"`, one per reading) of fog cluster `cluster`'s anchored
   * batch (`FogCluster.anchorNext`'s `AnchoredFogBatch`), with the group key the cluster had
   * registered for it and the anchor's block (read from its transaction when the batch does not say).
   */
  async batchBundles(cluster: Hex, batch: FogBatchEvidence): Promise<BatchBundle[]> {
    const id = checkWord(cluster, "cluster");
    const block = batch.blockNumber ?? (await this.mined(batch.txHash as Hex))?.blockNumber;
    if (block === undefined) {
      throw new ProtocolError("not-anchored", `the batch's transaction ${batch.txHash} is not mined`, {
        transaction: batch.txHash,
      });
    }
    let info = await this.fogCluster(id);
    // re-keyed since: the key the batch was signed under, as the chain held it then
    if (info !== undefined && info.since > batch.sequence) info = await this.fogCluster(id, block);
    if (info === undefined) throw new InvalidInputError(`${id} is not a registered fog cluster`, { cluster: id });
    const { chainId } = await this.domain();
    return batchBundles(
      batch,
      { id, groupKey: info.groupKey, chainId: BigInt(chainId!), contract: this.address },
      block,
    );
  }

  // --------------------------------------------------------------- private

  /** Sends an anchoring transaction and reads its outcome from the `Anchored` event of `root`. */
  async #anchored(root: Hex, send: () => Promise<SentTx>): Promise<AnchorResult> {
    // one deadline for the send, its receipt and the block's time, as `receiptTimeoutMs` promises
    const deadline = performance.now() + this.receiptTimeoutMs + RECEIPT_GUARD_GRACE_MS;
    const result = await this.send(send);
    const anchored = result.events.find((e) => e.name === "Anchored" && String(e.args.root).toLowerCase() === root);
    if (!anchored) throw new TransportError("Anchored not emitted", { hash: result.hash });
    const left = Math.max(1, Math.ceil(deadline - performance.now()));
    const block = await this.#call(() => this.provider.getBlock(result.blockNumber), left);
    if (!block) throw new TransportError(`block ${result.blockNumber} not found`);
    return {
      ...result,
      gateway: String(anchored.args.gateway).toLowerCase() as Hex,
      root: String(anchored.args.root).toLowerCase() as Hex,
      sequence: anchored.args.sequence as bigint,
      leafCount: anchored.args.leafCount as bigint,
      time: BigInt(block.timestamp),
    };
  }

  /**
   * Runs `call` once the deployment was found on the right chain, within the
   * deadline (`timeoutMs`, default the client's call deadline), errors typed.
   */
  #call<T>(call: () => Promise<T>, timeoutMs: number = this.callTimeoutMs): Promise<T> {
    return this.read(async () => {
      await this.ensureDeployed();
      return call();
    }, timeoutMs);
  }

  /** The runner as a signer that signs transactions (a wallet). */
  #signer(): Signer {
    const signer = this.runner as Partial<Signer>;
    if (typeof signer.signTransaction !== "function" || typeof signer.populateTransaction !== "function") {
      throw new InvalidInputError("the runner cannot sign transactions: connect a wallet");
    }
    return signer as Signer;
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
    return (await this.#codeAt(block)) === "0x" ? 0n : this.head(gateway, block);
  }

  /** The contract's code at `block` ("0x" before it was deployed). */
  #codeAt(block: BlockTag): Promise<string> {
    return this.read(() => this.provider.getCode(this.address, block));
  }

  async #window(
    range: AnchorHistoryRange,
  ): Promise<{ fromBlock: number; toBlock: number; chunkSize: number | undefined }> {
    checkWindow({ fromBlock: range.fromBlock, maxSpan: range.chunkSize }, "chunkSize");
    if (range.toBlock !== undefined) checkInteger(range.toBlock, 0, Number.MAX_SAFE_INTEGER, "toBlock");
    const fromBlock = range.fromBlock ?? 0;
    const toBlock = range.toBlock ?? (await this.read(() => this.provider.getBlockNumber()));
    if (fromBlock > toBlock) {
      throw new InvalidInputError("fromBlock must not be after toBlock", { fromBlock, toBlock });
    }
    return { fromBlock, toBlock, chunkSize: range.chunkSize };
  }

  /** This contract's logs in the window, from its deployment block on, in adaptive chunks of at most `chunkSize`. */
  async #logs(topics: string[], fromBlock: number, toBlock: number, chunkSize: number | undefined): Promise<Log[]> {
    // each request of the read has its own deadline: a long read is never cut off as a whole
    return this.readMany(() => this.logs.logs(topics, { fromBlock, toBlock, maxSpan: chunkSize }));
  }

  #anchoredTopic(): string {
    return this.contract.interface.getEvent("Anchored").topicHash;
  }

  /** The `Anchored` event of this contract in `log`, if it is one. */
  #parseAnchored(log: Log): AnchorEntry | undefined {
    return anchoredEntry(log, this.address);
  }
}

/** Whether ethers gave up waiting (`TIMEOUT`). */
function isTimeout(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "TIMEOUT";
}

/** Bytes from hex or a `Uint8Array` (a copy is not made). */
function bytesInput(value: BytesInput, what: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return fromHex(value, what);
}
