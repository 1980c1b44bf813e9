/**
 * A typed client of `SummaryLedger`, the ledger of one high-level layer of
 * seed 003 (§III.B, §IV.B), over any ethers `ContractRunner`: proof queries
 * (blocks, summaries, the layer and its members), the attestation digests the
 * members sign (with `core/layers/attestation.ts`; those without ledger state,
 * open, join and invalidate, computed here), and the writes of
 * statements 1-6 (open, record, takeOver, cleanup) and of membership (join,
 * invalidate, reattach, linkSubordinate), each returning what its events say.
 * Inputs are checked before anything is sent (`InvalidInputError` naming the
 * field); reverts come back as `ContractRevertError`.
 */
import { type BlockTag, type ContractRunner, keccak256, type LogDescription } from "ethers";

import { SummaryLedger as SummaryLedgerArtifact } from "../artifacts/SummaryLedger.ts";
import type { SummaryLedger } from "../../types/ethers-contracts/ledger/SummaryLedger.ts";
import { checkRoot, checkWord } from "../core/anchors.ts";
import { type BytesInput, checkInteger, fromHex, type Hex, toHex } from "../core/bytes.ts";
import { checkAccount } from "../core/access.ts";
import {
  ledgerDomain,
  ledgerInvalidateDigest,
  ledgerJoinDigest,
  type LedgerOpenMessage,
  ledgerOpenDigest,
} from "../core/eip712.ts";
import type { SummaryBundle, SummaryOpening } from "../core/bundle/format.ts";
import { summaryBundle } from "../core/bundle/make.ts";
import { type Attestation, signerIndices } from "../core/layers/attestation.ts";
import { ContractRevertError, InvalidInputError, ProtocolError, TransportError } from "../errors.ts";
import {
  artifactInterface,
  type ClientOptions,
  type ContractEvent,
  ContractClient,
  type LogsOf,
  receiptEvents,
  requiredEvent,
  type SentTx,
  type TxResult,
} from "./client.ts";

const NAME = "SummaryLedger";
const SPEC = { name: NAME, artifact: SummaryLedgerArtifact, domain: ledgerDomain };
const IFACE = artifactInterface(SummaryLedgerArtifact);
const ZERO_ADDRESS = `0x${"00".repeat(20)}`;
const UINT40_MAX = (1n << 40n) - 1n;

/** A layer this layer is linked to (`LayerLink`). */
export interface LedgerLayerLink {
  readonly layerId: Hex;
  readonly ledger: string;
  readonly chainId: bigint;
}

/** A first communication's request (`OpenRequest`), as the quorum signs it; times in seconds. */
export type LedgerOpenRequest = LedgerOpenMessage;

/** A contract block {N_r, T, opening time, F}. */
export interface LedgerBlock {
  readonly responsible: string;
  readonly expiry: bigint;
  readonly openedAt: bigint;
  readonly accomplished: boolean;
}

/** A member to admit (`MemberKey`): keys in EIP-2537 encoding. */
export interface LedgerMemberKey {
  readonly node: string;
  readonly publicKey: BytesInput;
  readonly proofOfPossession: BytesInput;
}

/** The transaction behind a write: its `TxResult`. */
export type LedgerTx = TxResult;

/** What `open` did: statements 1-3 held (`opened`), the block existed (`already-opened`, a no-op), an expired block was `extended`, or the summary is a replay (`replayed`: its block is final, i.e. its contract ended, it expired more than `extensionWindow()` ago, or it was cleaned). */
export type OpenOutcome = "opened" | "already-opened" | "extended" | "replayed";

export interface OpenResult extends LedgerTx {
  readonly outcome: OpenOutcome;
  readonly blockId: Hex;
}

export interface RecordResult extends LedgerTx {
  /** False when statement 5 failed: the summary was recorded before (`SummaryReplayed`, the alarm). */
  readonly recorded: boolean;
  /** The block: K is per block, so a replay is always of this block's own summary. */
  readonly blockId: Hex;
  /** Whether this record set F (statement 6). */
  readonly accomplished: boolean;
}

export interface TakeOverResult extends LedgerTx {
  readonly previous: string;
  readonly responsible: string;
}

/** A payer's settlement in a block (`Escrow`, seed 002 M2X). */
export interface LedgerEscrow {
  readonly payer: string;
  /** The block's expiry when funded: confirmations before it, a refund after it. */
  readonly deadline: bigint;
  readonly provider: string;
  /** The ERC-20 escrowed, or the zero address for ETH. */
  readonly token: string;
  readonly amount: bigint;
  readonly payerConfirmed: boolean;
  readonly providerConfirmed: boolean;
  readonly settled: boolean;
}

/** What a block was opened for (`BlockOpened`). */
export interface BlockOpening {
  readonly summary: Hex;
  readonly responsible: string;
  readonly sourceLayer: Hex;
  readonly route: Hex;
  readonly expiry: bigint;
}

/** What a proof query returns for a block: the block and its summary array K, in recording order. */
export interface BlockProof {
  readonly blockId: Hex;
  readonly block: LedgerBlock;
  readonly summaries: readonly { readonly summary: Hex; readonly time: bigint }[];
}

/**
 * The `SummaryLedger` events in a receipt (or logs), arguments by name; with
 * `address`, only that ledger's. Pure: no network call.
 */
export function parseLedgerReceipt(source: LogsOf, address: string): ContractEvent[] {
  return receiptEvents(IFACE, source, address);
}

export class SummaryLedgerClient extends ContractClient<SummaryLedger> {
  /**
   * With `options.chainId`, the first transaction checks the node serves that
   * chain and the address holds code (`WrongChainError`, `NoCodeError`) before
   * anything is sent. Calls have the deadline `options.timeoutMs`, a send and
   * its receipt `options.receiptTimeoutMs` (`TimeoutError`).
   */
  constructor(address: string, runner: ContractRunner, options: ClientOptions = {}) {
    super(SPEC, checkAccount(address, "address"), runner, options);
  }

  /** The same client acting through another runner (another member's key). */
  connect(runner: ContractRunner): SummaryLedgerClient {
    return this.shareWith(new SummaryLedgerClient(this.address, runner, this.options));
  }

  // ------------------------------------------------------------------ reads

  /** Block `blockId`, or `undefined` when there is none (never opened, or cleaned). */
  async getBlock(blockId: Hex, blockTag: BlockTag = "latest"): Promise<LedgerBlock | undefined> {
    const id = checkWord(blockId, "blockId");
    const b = await this.read(() => this.contract.getBlock(id, { blockTag }));
    if (b.responsible === ZERO_ADDRESS) return undefined;
    return { responsible: b.responsible, expiry: b.expiry, openedAt: b.openedAt, accomplished: b.accomplished };
  }

  /**
   * When `summary` was recorded into K of `blockId`, or `undefined` when it is
   * not there (never recorded in that block, or cleaned). K is per block: the
   * same summary in another block's K says nothing about this one.
   */
  async summaryOf(blockId: Hex, summary: Hex, blockTag: BlockTag = "latest"): Promise<{ time: bigint } | undefined> {
    const id = checkWord(blockId, "blockId");
    const word = checkWord(summary, "summary");
    const time = await this.read(() => this.contract.summaryOf(id, word, { blockTag }));
    return time === 0n ? undefined : { time };
  }

  /**
   * The block an attested `open` created for the first summary `summary`, and
   * when; `undefined` when none did (a summary merely recorded into some
   * block's K is not opened). Kept after the block is cleaned.
   */
  async openingOf(summary: Hex, blockTag: BlockTag = "latest"): Promise<{ blockId: Hex; time: bigint } | undefined> {
    const word = checkWord(summary, "summary");
    const [blockId, time] = await this.read(() => this.contract.openingOf(word, { blockTag }));
    if (time === 0n) return undefined;
    return { blockId: blockId.toLowerCase() as Hex, time };
  }

  /** How long (seconds) an expired block that is not accomplished may still be extended; then it is final. */
  async extensionWindow(): Promise<bigint> {
    this.#window ??= this.read(() => this.contract.EXTENSION_WINDOW());
    return this.#window;
  }

  #window: Promise<bigint> | undefined;

  /** The beginning block's id, consensus label and establishment time. */
  async layer(): Promise<{ layerId: Hex; consensus: string; establishedAt: bigint }> {
    const [layerId, consensus, establishedAt] = await this.read(() => this.contract.layer());
    return { layerId: layerId.toLowerCase() as Hex, consensus, establishedAt };
  }

  /** The superior layer (a zero id when there is none). */
  async superior(): Promise<LedgerLayerLink> {
    return toLink(await this.read(() => this.contract.superior()));
  }

  /** Subordinate layer `layerId`'s link, or `undefined` when it is not one. */
  async subordinate(layerId: Hex): Promise<LedgerLayerLink | undefined> {
    const id = checkWord(layerId, "layerId");
    const link = toLink(await this.read(() => this.contract.subordinate(id)));
    return link.layerId === id ? link : undefined;
  }

  /** Member `index`: node, 256-byte key, validity. */
  async member(index: number): Promise<{ node: string; publicKey: Hex; valid: boolean }> {
    checkInteger(index, 0, 63, "index");
    const [node, publicKey, valid] = await this.read(() => this.contract.member(index));
    return { node, publicKey: publicKey.toLowerCase() as Hex, valid };
  }

  /** `node`'s index and validity, or `undefined` when it was never a member. */
  async memberOf(node: string): Promise<{ index: number; valid: boolean } | undefined> {
    const account = checkAccount(node, "node");
    try {
      const [valid, index] = await this.read(() => this.contract.memberOf(account));
      return { index: Number(index), valid };
    } catch (error) {
      if (error instanceof ContractRevertError && error.errorName === "LedgerNotMember") return undefined;
      throw error;
    }
  }

  /** Members ever admitted, the bitmap of the valid ones and the quorum. */
  async membership(): Promise<{ count: number; validMask: bigint; quorum: number }> {
    const [count, validMask, quorum] = await this.read(() => this.contract.membership());
    return { count: Number(count), validMask, quorum: Number(quorum) };
  }

  /** A counter every change of the layer's links moves (re-attachment, the superior's alarm, a subordinate link). */
  linksVersion(): Promise<bigint> {
    return this.read(() => this.contract.linksVersion());
  }

  /**
   * Whether `attestation` is a quorum's valid signature over `digest`, by the members valid at
   * `blockTag` (default latest).
   */
  isValidAttestation(digest: Hex, attestation: Attestation, blockTag: BlockTag = "latest"): Promise<boolean> {
    const word = checkWord(digest, "digest");
    const [signers, signature] = attestationArgs(attestation);
    return this.read(() => this.contract.isValidAttestation(word, signers, signature, { blockTag }));
  }

  // ---------------------------------------------------------------- digests

  /** The digest the quorum signs to open a block for `request`. */
  async openDigest(request: LedgerOpenRequest): Promise<Hex> {
    const r = openRequest(request);
    // No ledger state in it: computed here (the EIP-712 hash `openDigest` returns) without a call.
    return ledgerOpenDigest(await this.domain(), r);
  }

  /**
   * The digest the quorum signs to admit `node` with `publicKey`, computed here
   * (no ledger state in it: a node joins once, which spends it).
   */
  async joinDigest(node: string, publicKey: BytesInput): Promise<Hex> {
    const account = checkAccount(node, "node");
    const publicKeyHash = keccak256(bytesOf(publicKey, "publicKey", 256));
    return ledgerJoinDigest(await this.domain(), { node: account, publicKeyHash: publicKeyHash as Hex });
  }

  /**
   * The digest the other members sign to tag member `index` invalid, computed
   * here (no ledger state in it: the tag is never lifted, which spends it).
   */
  async invalidateDigest(index: number): Promise<Hex> {
    checkInteger(index, 0, 63, "index");
    return ledgerInvalidateDigest(await this.domain(), { index });
  }

  /** The digest the quorum signs to re-attach to `superior` (in the current superior epoch). */
  reattachDigest(superior: LedgerLayerLink): Promise<Hex> {
    const link = layerLink(superior, "superior");
    return this.#digest(() => this.contract.reattachDigest(link));
  }

  /** The digest the quorum signs to link `subordinate` (with that subordinate's own counter). */
  linkDigest(subordinate: LedgerLayerLink): Promise<Hex> {
    const link = layerLink(subordinate, "subordinate");
    return this.#digest(() => this.contract.linkDigest(link));
  }

  /** The digest the quorum signs to hand `blockId` to `responsible` (with the block's handover counter). */
  takeOverDigest(blockId: Hex, responsible: string): Promise<Hex> {
    const id = checkWord(blockId, "blockId");
    const account = checkAccount(responsible, "responsible");
    return this.#digest(() => this.contract.takeOverDigest(id, account));
  }

  /**
   * The proof query of seed 003 §IV.B(4): block `blockId` and its summary array
   * K, read from the block's `SummaryRecorded` logs (each confirmed against
   * `summaryOf`), scanned from `fromBlock`. `undefined` when there is no block.
   */
  async proof(blockId: Hex, fromBlock = 0): Promise<BlockProof | undefined> {
    const id = checkWord(blockId, "blockId");
    checkInteger(fromBlock, 0, Number.MAX_SAFE_INTEGER, "fromBlock");
    const block = await this.getBlock(id);
    if (block === undefined) return undefined;
    const logs = await this.#events("SummaryRecorded", id, fromBlock);
    const summaries = [];
    for (const log of logs) {
      const summary = word(log.args[1]);
      const at = await this.summaryOf(id, summary);
      if (at !== undefined) summaries.push({ summary, time: at.time });
    }
    return { blockId: id, block, summaries };
  }

  /**
   * What block `blockId` was opened for (its `BlockOpened` event): the first
   * summary (the contract's identity in every layer it crosses), the source
   * layer, the route hash the quorum attested, the first responsible node and
   * the expiry. `undefined` when it was never opened. Cached: it never changes.
   */
  async opening(blockId: Hex): Promise<BlockOpening | undefined> {
    const id = checkWord(blockId, "blockId");
    const cached = this.#openings.get(id);
    if (cached !== undefined) return cached;
    const log = (await this.#events("BlockOpened", id))[0];
    if (log === undefined) return undefined;
    const opening: BlockOpening = {
      summary: word(log.args[1]),
      responsible: String(log.args[2]),
      sourceLayer: word(log.args[3]),
      route: word(log.args[4]),
      expiry: BigInt(log.args[5]),
    };
    this.#openings.set(id, opening);
    return opening;
  }

  readonly #openings = new Map<Hex, BlockOpening>();

  /**
   * How block `blockId` was opened, as a proof bundle carries it: the `open` transaction (its
   * `BlockOpened` event) and block, the request and the quorum's attestation read from its
   * calldata, and each signer's key as the ledger holds it. An `open` sent through another
   * contract is a `ProtocolError("malformed")` (its calldata is not the ledger's); a block never
   * opened, `ProtocolError("not-anchored")`.
   */
  async openingEvidence(blockId: Hex): Promise<SummaryOpening> {
    const id = checkWord(blockId, "blockId");
    const iface = this.contract.interface;
    const log = (
      await this.readMany(() => this.logs.logs([iface.getEvent("BlockOpened").topicHash, id], { fromBlock: 0 }))
    )[0];
    if (log === undefined) throw new ProtocolError("not-anchored", `block ${id} was never opened`, { blockId: id });
    const tx = await this.read(() => this.provider.getTransaction(log.transactionHash));
    const call = tx === null || tx.to?.toLowerCase() !== this.address.toLowerCase() ? null : iface.parseTransaction(tx);
    if (call?.name !== "open") {
      throw new ProtocolError("malformed", `block ${id} was not opened by a direct open call`, {
        transaction: log.transactionHash,
      });
    }
    const [r, signers, signature] = call.args as unknown as [readonly unknown[], bigint, string];
    const keys = [];
    for (const index of signerIndices(signers)) keys.push({ index, publicKey: (await this.member(index)).publicKey });
    return {
      request: {
        summary: word(r[0]),
        sourceLayer: word(r[1]),
        route: word(r[2]),
        responsible: String(r[3]),
        expiry: BigInt(r[4] as bigint),
        deadline: BigInt(r[5] as bigint),
      },
      attestation: { signers, signature: word(signature) },
      keys,
      transaction: word(log.transactionHash),
      block: log.blockNumber,
    };
  }

  /**
   * The proof bundle (`kind: "summary"`) of `summary` in block `blockId`: the transaction that
   * recorded it (its `SummaryRecorded` event; the `open` for the first summary), the block's
   * opening (`openingEvidence`), the layer and the chain. `message` and `time` (M and its time,
   * both or neither) are disclosed in the bundle so a verifier checks Sum(M). A summary not in
   * the block is a `ProtocolError("not-anchored")`.
   */
  async proofBundle(
    blockId: Hex,
    summary: Hex,
    disclosed: { readonly message?: Uint8Array; readonly time?: bigint } = {},
  ): Promise<SummaryBundle> {
    const id = checkWord(blockId, "blockId");
    const sum = checkWord(summary, "summary");
    const iface = this.contract.interface;
    const log = (
      await this.readMany(() =>
        this.logs.logs([iface.getEvent("SummaryRecorded").topicHash, id, sum], { fromBlock: 0 }),
      )
    )[0];
    if (log === undefined || (await this.summaryOf(id, sum)) === undefined) {
      throw new ProtocolError("not-anchored", `summary ${sum} is not in block ${id}`, { blockId: id, summary: sum });
    }
    const opening = await this.openingEvidence(id);
    const { layerId } = await this.layer();
    const { chainId } = await this.domain();
    return summaryBundle({
      chainId: BigInt(chainId!),
      ledger: this.address,
      layerId,
      blockId: id,
      summary: sum,
      ...disclosed,
      opening,
      transaction: log.transactionHash,
      block: log.blockNumber,
    });
  }

  /** The summary whose record set F of `blockId` (statement 6, `BlockAccomplished`), or `undefined` while F is not set. */
  async endingSummary(blockId: Hex): Promise<Hex | undefined> {
    const id = checkWord(blockId, "blockId");
    const log = (await this.#events("BlockAccomplished", id))[0];
    return log === undefined ? undefined : word(log.args[1]);
  }

  /** Whether self-examination found the superior layer lost (routes through it frozen). */
  isSuperiorFrozen(): Promise<boolean> {
    return this.read(() => this.contract.isSuperiorFrozen());
  }

  /** `payer`'s escrow in `blockId`, or `undefined` when there is none. */
  async escrowOf(blockId: Hex, payer: string): Promise<LedgerEscrow | undefined> {
    const id = checkWord(blockId, "blockId");
    const who = checkAccount(payer, "payer");
    const e = await this.read(() => this.contract.escrowOf(id, who));
    if (e.payer === ZERO_ADDRESS) return undefined;
    return {
      payer: e.payer,
      deadline: e.deadline,
      provider: e.provider,
      token: e.token,
      amount: e.amount,
      payerConfirmed: e.payerConfirmed,
      providerConfirmed: e.providerConfirmed,
      settled: e.settled,
    };
  }

  /** The digest the quorum signs to declare the current superior layer lost (in the current superior epoch). */
  superiorLostDigest(): Promise<Hex> {
    return this.#digest(() => this.contract.superiorLostDigest());
  }

  // ----------------------------------------------------------------- writes

  /** Statements 1-3: opens (or finds, or extends) the block of `request.summary`; the runner must be a valid member. */
  async open(request: LedgerOpenRequest, attestation: Attestation): Promise<OpenResult> {
    const r = openRequest(request);
    const [signers, signature] = attestationArgs(attestation);
    return this.#send(
      () => this.contract.open(r, signers, signature),
      (events) => {
        for (const [name, outcome] of [
          ["BlockOpened", "opened"],
          ["BlockAlreadyOpened", "already-opened"],
          ["BlockExtended", "extended"],
          ["SummaryReplayed", "replayed"],
        ] as const) {
          const e = events.find((x) => x.name === name);
          if (e) return { outcome, blockId: word(e.args.blockId) };
        }
        throw new TransportError("open emitted none of its events");
      },
    );
  }

  /** Statements 4-6: the responsible node adds `summary` to K of `blockId`; `ending` sets F. */
  async record(blockId: Hex, summary: Hex, ending = false): Promise<RecordResult> {
    const id = checkWord(blockId, "blockId");
    const s = checkRoot(summary, "summary");
    if (typeof ending !== "boolean") throw new InvalidInputError("ending must be a boolean", { ending });
    return this.#send(
      () => this.contract.record(id, s, ending),
      (events) => {
        const replayed = events.find((e) => e.name === "SummaryReplayed");
        if (replayed) return { recorded: false, blockId: word(replayed.args.blockId), accomplished: false };
        if (!events.some((e) => e.name === "SummaryRecorded")) throw new TransportError("SummaryRecorded not emitted");
        return { recorded: true, blockId: id, accomplished: events.some((e) => e.name === "BlockAccomplished") };
      },
    );
  }

  /**
   * Moves `blockId` to `responsible` under the quorum's `attestation`, or, when
   * the responsible node is tagged invalid, to the runner itself without one.
   */
  async takeOver(blockId: Hex, responsible: string, attestation?: Attestation): Promise<TakeOverResult> {
    const id = checkWord(blockId, "blockId");
    const account = checkAccount(responsible, "responsible");
    const [signers, signature] = attestation === undefined ? [0n, "0x" as Hex] : attestationArgs(attestation);
    return this.#send(
      () => this.contract.takeOver(id, account, signers, signature),
      (events) => {
        const e = required(events, "ResponsibilityTaken");
        return { previous: String(e.args.previous), responsible: String(e.args.responsible) };
      },
    );
  }

  /** Deletes the expired `blockId` and its listed `summaries` (anyone). */
  async cleanup(blockId: Hex, summaries: readonly Hex[]): Promise<LedgerTx & { summaries: number }> {
    const id = checkWord(blockId, "blockId");
    if (!Array.isArray(summaries)) throw new InvalidInputError("summaries must be an array", { summaries });
    const words = summaries.map((s, i) => checkWord(s, `summaries[${i}]`));
    return this.#send(
      () => this.contract.cleanup(id, words),
      (events) => ({ summaries: Number(required(events, "BlockCleaned").args.summaries) }),
    );
  }

  /** Admits `member` under the quorum's attestation over `joinDigest`; the runner must be `member.node` itself. */
  async join(member: LedgerMemberKey, attestation: Attestation): Promise<LedgerTx & { index: number }> {
    const m = {
      node: checkAccount(member.node, "member.node"),
      publicKey: toHex(bytesOf(member.publicKey, "member.publicKey", 256)),
      proofOfPossession: toHex(bytesOf(member.proofOfPossession, "member.proofOfPossession", 128)),
    };
    const [signers, signature] = attestationArgs(attestation);
    return this.#send(
      () => this.contract.join(m, signers, signature),
      (events) => ({ index: Number(required(events, "MemberJoined").args.index) }),
    );
  }

  /** Tags member `index` invalid under the others' attestation over `invalidateDigest`. */
  async invalidate(index: number, attestation: Attestation): Promise<LedgerTx & { node: string }> {
    checkInteger(index, 0, 63, "index");
    const [signers, signature] = attestationArgs(attestation);
    return this.#send(
      () => this.contract.invalidate(index, signers, signature),
      (events) => ({ node: String(required(events, "MemberInvalidated").args.node) }),
    );
  }

  /** Re-attaches the layer to `superior` under the quorum's attestation over `reattachDigest`. */
  async reattach(superior: LedgerLayerLink, attestation: Attestation): Promise<LedgerTx & LedgerLayerLink> {
    const link = layerLink(superior, "superior");
    const [signers, signature] = attestationArgs(attestation);
    return this.#send(
      () => this.contract.reattach(link, signers, signature),
      (events) => linkEvent(required(events, "SuperiorChanged")),
    );
  }

  /** Links `subordinate` under the quorum's attestation over `linkDigest`. */
  async linkSubordinate(subordinate: LedgerLayerLink, attestation: Attestation): Promise<LedgerTx & LedgerLayerLink> {
    const link = layerLink(subordinate, "subordinate");
    const [signers, signature] = attestationArgs(attestation);
    return this.#send(
      () => this.contract.linkSubordinate(link, signers, signature),
      (events) => linkEvent(required(events, "SubordinateLinked")),
    );
  }

  /** Self-examination's alarm: the quorum declares the superior lost, freezing routes through it. */
  async superiorLost(attestation: Attestation): Promise<LedgerTx & LedgerLayerLink> {
    const [signers, signature] = attestationArgs(attestation);
    return this.#send(
      () => this.contract.superiorLost(signers, signature),
      (events) => linkEvent(required(events, "SuperiorLost")),
    );
  }

  /**
   * The runner (the payer) escrows `amount` of `token` in `blockId` for
   * `provider`, until the block's current expiry: ETH when `token` is the zero
   * address (sent as the value), else an ERC-20 the payer has approved the
   * ledger for beforehand. Returns the escrow as stored.
   */
  async escrow(blockId: Hex, provider: string, token: string, amount: bigint): Promise<LedgerTx & LedgerEscrow> {
    const id = checkWord(blockId, "blockId");
    const to = checkAccount(provider, "provider");
    const asset = checkAccount(token, "token");
    if (typeof amount !== "bigint" || amount <= 0n || amount >= 1n << 256n) {
      throw new InvalidInputError("amount must be a bigint in [1, 2^256)", { value: String(amount) });
    }
    const value = asset === ZERO_ADDRESS ? amount : 0n;
    const tx = await this.#send(
      () => this.contract.escrow(id, to, asset, amount, { value }),
      (events) => ({ payer: String(required(events, "EscrowFunded").args.payer) }),
    );
    const stored = await this.escrowOf(id, tx.payer);
    if (stored === undefined) throw new TransportError("the escrow is not stored after EscrowFunded", { blockId });
    return { ...tx, ...stored };
  }

  /**
   * The runner (`payer` or the provider of `payer`'s escrow) confirms the
   * accomplished block before the escrow's deadline; `released` when this was
   * the second confirmation.
   */
  async confirm(blockId: Hex, payer: string): Promise<LedgerTx & { released: boolean; amount: bigint }> {
    const id = checkWord(blockId, "blockId");
    const who = checkAccount(payer, "payer");
    return this.#send(
      () => this.contract.confirm(id, who),
      (events) => {
        const released = events.find((e) => e.name === "EscrowReleased");
        return { released: released !== undefined, amount: released ? BigInt(released.args.amount as bigint) : 0n };
      },
    );
  }

  /** Returns `payer`'s unsettled escrow in `blockId` once its deadline passed (anyone may call). */
  async refund(blockId: Hex, payer: string): Promise<LedgerTx & { payer: string; amount: bigint }> {
    const id = checkWord(blockId, "blockId");
    const who = checkAccount(payer, "payer");
    return this.#send(
      () => this.contract.refund(id, who),
      (events) => {
        const e = required(events, "EscrowRefunded");
        return { payer: String(e.args.payer), amount: BigInt(e.args.amount as bigint) };
      },
    );
  }

  // ---------------------------------------------------------------- private

  /** The ledger's `event` logs of block `blockId` (its first indexed topic), parsed, from `fromBlock` or the deployment block. */
  async #events(
    event: "SummaryRecorded" | "BlockOpened" | "BlockAccomplished",
    blockId: Hex,
    fromBlock = 0,
  ): Promise<LogDescription[]> {
    const iface = this.contract.interface;
    // each request of the read has its own deadline: a long read is never cut off as a whole
    const logs = await this.readMany(() => this.logs.logs([iface.getEvent(event).topicHash, blockId], { fromBlock }));
    return logs.map((log) => iface.parseLog({ topics: [...log.topics], data: log.data })!);
  }

  async #digest(call: () => Promise<string>): Promise<Hex> {
    return (await this.read(call)).toLowerCase() as Hex;
  }

  /** Sends a transaction and reads its outcome from this ledger's events in the receipt. */
  async #send<T>(send: () => Promise<SentTx>, parse: (events: readonly ContractEvent[]) => T): Promise<T & LedgerTx> {
    const result = await this.send(send);
    return { ...result, ...parse(result.events) };
  }
}

function bytesOf(value: BytesInput, what: string, length: number): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== length) throw new InvalidInputError(`${what} must be ${length} bytes, got ${value.length}`);
    return value;
  }
  return fromHex(value, what, length);
}

function uint40(value: bigint, what: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > UINT40_MAX) {
    throw new InvalidInputError(`${what} must be a bigint in [0, 2^40)`, { value: String(value) });
  }
  return value;
}

function openRequest(request: LedgerOpenRequest) {
  if (typeof request !== "object" || request === null) throw new InvalidInputError("request must be an object");
  return {
    summary: checkRoot(request.summary, "request.summary"),
    sourceLayer: checkRoot(request.sourceLayer, "request.sourceLayer"),
    route: checkWord(request.route, "request.route"),
    responsible: checkAccount(request.responsible, "request.responsible"),
    expiry: uint40(request.expiry, "request.expiry"),
    deadline: uint40(request.deadline, "request.deadline"),
  };
}

function layerLink(link: LedgerLayerLink, what: string) {
  if (typeof link !== "object" || link === null) throw new InvalidInputError(`${what} must be an object`);
  if (typeof link.chainId !== "bigint" || link.chainId < 0n || link.chainId >= 1n << 256n) {
    throw new InvalidInputError(`${what}.chainId must be a bigint in [0, 2^256)`, { value: String(link.chainId) });
  }
  return {
    layerId: checkWord(link.layerId, `${what}.layerId`),
    ledger: checkAccount(link.ledger, `${what}.ledger`),
    chainId: link.chainId,
  };
}

function attestationArgs(attestation: Attestation): [bigint, Hex] {
  if (typeof attestation !== "object" || attestation === null) {
    throw new InvalidInputError("attestation must be an object");
  }
  const { signers, signature } = attestation;
  if (typeof signers !== "bigint" || signers <= 0n || signers >= 1n << 64n) {
    throw new InvalidInputError("attestation.signers must be a bigint in [1, 2^64)", { value: String(signers) });
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 128) {
    throw new InvalidInputError("attestation.signature must be 128 bytes (EIP-2537 G1)");
  }
  return [signers, toHex(signature)];
}

function toLink(link: { layerId: string; ledger: string; chainId: bigint }): LedgerLayerLink {
  return { layerId: link.layerId.toLowerCase() as Hex, ledger: link.ledger, chainId: link.chainId };
}

function linkEvent(e: ContractEvent): LedgerLayerLink {
  return { layerId: word(e.args.layerId), ledger: String(e.args.ledger), chainId: BigInt(e.args.chainId as bigint) };
}

function word(value: unknown): Hex {
  return String(value).toLowerCase() as Hex;
}

function required(events: readonly ContractEvent[], name: string): ContractEvent {
  return requiredEvent(events, name);
}
