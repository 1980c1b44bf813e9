/**
 * The seams of seed 003's layered network: what a layer hands the next one (a
 * `Transmission`), how a layer reaches another layer's ledger on whatever chain
 * it runs (`LedgerDirectory`: one provider per chain, in-process Hardhat
 * networks or JSON-RPC endpoints alike), what a member offers its peers and
 * the examiners of subordinate layers (`LayerPeer`), and the typed refusal of
 * every step (`LayerError`). No transport lives here: peers are called
 * in-process; a deployment puts its RPC behind `LayerPeer`.
 */
import type { Provider } from "ethers";

import { type Hex } from "../core/bytes.ts";
import {
  checkPacket,
  isFirstCommunication,
  nextBlockId,
  type Packet,
  previousHop,
  routeHash,
} from "../core/layers/packet.ts";
import type { Attestation } from "../core/layers/attestation.ts";
import {
  type LedgerBlock,
  type LedgerLayerLink,
  type LedgerOpenRequest,
  SummaryLedgerClient,
} from "../contracts/ledger.ts";
import { InvalidInputError, LayerError, TransportError } from "../errors.ts";

export { LayerError, type LayerRejection } from "../errors.ts";

/** P on its way to the next layer; `edgeSignature` when an edge layer's central node sent it. */
export interface Transmission {
  readonly packet: Packet;
  /** The central node's EIP-191 signature over `packetDigest(packet, superior's chain id)`. */
  readonly edgeSignature?: Hex;
}

/** A self-examination challenge sent to a member. */
export interface Challenge {
  readonly nonce: Uint8Array;
}

/** What a member of a high-level layer offers its peers (and examiners from the subordinate layers). */
export interface LayerPeer {
  readonly layerId: Hex;
  readonly index: number;
  readonly node: string;
  /** The member's BLS public key (G2, 96 bytes compressed), the one the ledger registered in EIP-2537 form. */
  readonly publicKey: Uint8Array;
  /** Answers a self-examination challenge: its BLS signature over `challengeDigest`. */
  answer(challenge: Challenge): Promise<Uint8Array>;
  /** Reviews a first communication and signs the open request when statement 1 holds. */
  reviewOpen(t: Transmission, request: LedgerOpenRequest): Promise<Uint8Array>;
  /** Handles a following communication as the block's responsible node. */
  handleFollowing(t: Transmission): Promise<Hop>;
  /** Signs moving `blockId` to `candidate` when the responsible node does not answer it either. */
  reviewTakeOver(blockId: Hex, candidate: string, digest: Hex): Promise<Uint8Array>;
  /** Judges member `index` by its own challenge; signs its invalid tag when it fails. */
  judgeMember(index: number, digest: Hex): Promise<Uint8Array>;
  /** Examines the superior layer itself; signs the alarm when every node of it fails. */
  judgeSuperior(digest: Hex): Promise<Uint8Array>;
  /** Signs linking to `link` (a new superior or a new subordinate layer) once that layer answers as a layer. */
  reviewAttachment(kind: "superior" | "subordinate", link: LedgerLayerLink, digest: Hex): Promise<Uint8Array>;
  /** Signs admitting `candidate` once it answers a challenge with the key it asks to join with (and proves possession). */
  reviewJoin(candidate: JoinCandidate, digest: Hex): Promise<Uint8Array>;
  /** The route endpoints a block was opened for, when this member saw its opening. */
  contractOf(blockId: Hex): Promise<ContractEnds | undefined>;
}

/** A node asking to join a layer: its account, its key with a proof of possession, and a way to challenge it. */
export interface JoinCandidate {
  readonly node: string;
  /** Its BLS public key (G2, 96 bytes compressed). */
  readonly publicKey: Uint8Array;
  /** Its proof of possession (G1, compressed), as `minSig(backend).popProve` makes it. */
  readonly proofOfPossession: Uint8Array;
  /** Answers a challenge as member `index` (the index it will get) of the layer it joins. */
  answer(challenge: Challenge): Promise<Uint8Array>;
  /** Submits its own join with the quorum's attestation, from `node` (the ledger accepts no other sender); returns its index. */
  submitJoin(attestation: Attestation): Promise<number>;
}

/** The two edge layers a contract runs between (the first packet's origin and final destination). */
export interface ContractEnds {
  readonly origin: Hex;
  readonly end: Hex;
}

/** What one layer did with P. */
export interface Hop {
  readonly layerId: Hex;
  readonly chainId: bigint;
  /**
   * `opened` / `extended` (first communication) and `recorded` (following) pass
   * P on; `already-opened` (statement 3 failed: another node opened it, a
   * no-op) and `replayed` (statement 5 failed: the alarm) stop it.
   */
  readonly outcome: "opened" | "already-opened" | "extended" | "recorded" | "replayed";
  readonly blockId: Hex;
  /** The member that wrote the ledger. */
  readonly node: string;
  readonly txHash?: Hex;
  readonly gasUsed?: bigint;
  /** Whether this record set F (statement 6). */
  readonly accomplished: boolean;
  /** A takeover that preceded the record (statement 4's robust rule). */
  readonly tookOverFrom?: string;
  /** P for the next layer; absent when the layer stopped it. */
  readonly next?: Transmission;
}

/** Checks a transmission's shape (a well-formed packet, an optional hex signature); `PacketError` or `LayerError` otherwise. */
export function checkTransmission(t: Transmission): Transmission {
  if (typeof t !== "object" || t === null) throw new LayerError("misrouted", "a transmission must be an object");
  const packet = checkPacket(t.packet);
  // One encoding per signature: 65 bytes r ‖ s ‖ v with v = 27 or 28, as EIP-191 signers make it. A
  // re-encoded v (0/1, EIP-155 style) recovers the same signer, so it would be the same packet under
  // another signature: refused, so a transmission has exactly one form.
  if (
    t.edgeSignature !== undefined &&
    (typeof t.edgeSignature !== "string" || !/^0x[0-9a-fA-F]{128}(1[bB]|1[cC])$/.test(t.edgeSignature))
  ) {
    throw new LayerError("bad-source", "edgeSignature must be a 65-byte hex signature with v = 27 or 28");
  }
  return t.edgeSignature === undefined ? { packet } : { packet, edgeSignature: t.edgeSignature };
}

/**
 * Statement 1 for P from a high-level layer, against that layer's ledger on
 * its own chain:
 * - the ledger holds Sum(M) in K of the block P names last in I (the one it
 *   just handled P in; K is per block, so a copy in another block proves
 *   nothing);
 * - the ending tag is there exactly when Sum(M) is the summary that set the
 *   block's F;
 * - a first communication's route is the one that layer's quorum attested
 *   when it opened the block (`BlockOpened`'s route is the hash of P as it
 *   arrived there);
 * - a following communication's block in the receiving layer (`receiver`,
 *   I(1)) belongs to the same contract as the source's: both were opened for
 *   the same first summary.
 * A source block that is final (accomplished and expired, or expired past the
 * ledger's extension window, as `SummaryLedger` rules it; or already cleaned,
 * which only a final block can be) is refused with `LayerError("closed")`:
 * `cleanup` deletes its K, so the outcome must not hang on whether someone
 * cleaned it yet. Chain time is the source ledger's latest block's, and the
 * block and K are read at that block.
 * Returns the source block, its opening summary (the contract's identity in
 * every layer) and whether P is its first communication (the block was opened
 * for Sum(M)).
 */
export async function checkLedgerHolds(
  directory: LedgerDirectory,
  link: LedgerLayerLink,
  p: Packet,
  receiver?: SummaryLedgerClient,
): Promise<{ blockId: Hex; block: LedgerBlock; opening: Hex; first: boolean }> {
  const ledger = await directory.ledger(link);
  const summary = p.ids[0]!;
  const blockId = p.ids[p.ids.length - 1]!;
  const pinned = p.ids.length < 2 ? undefined : await checkNotFinal(ledger, link, blockId);
  const at = pinned === undefined ? undefined : await ledger.summaryOf(blockId, summary, pinned);
  if (at === undefined) {
    throw new LayerError(
      "bad-source",
      "the source layer's ledger does not hold the message's summary in the block the packet names",
      {
        source: link.layerId,
        blockId,
      },
    );
  }
  const block = await ledger.getBlock(blockId, pinned);
  if (block === undefined) throw new LayerError("bad-source", "the source block is not in its ledger", { blockId });
  const ended = block.accomplished ? await ledger.endingSummary(blockId) : undefined;
  if (p.ending !== (ended === summary)) {
    throw new LayerError("bad-source", "the packet's ending tag does not match the source layer's block", {
      blockId,
      ending: p.ending,
      accomplished: block.accomplished,
    });
  }
  // The source block was opened for Sum(M) exactly when P is the contract's first communication
  // (only an attested open makes a summary a block's opening; a following summary recorded into
  // K never does); that also tells a packet arrived at its edge layer apart.
  const opening = await ledger.opening(blockId);
  if (opening === undefined) throw new LayerError("bad-source", "the source block has no opening", { blockId });
  if (opening.summary === summary) {
    let previous: Packet | undefined;
    try {
      previous = isFirstCommunication(p) ? previousHop(p) : undefined;
    } catch {
      previous = undefined;
    }
    if (previous === undefined || opening.route !== routeHash(previous)) {
      throw new LayerError("bad-source", "the packet's route is not the one the source layer's quorum attested", {
        source: link.layerId,
        blockId,
      });
    }
  } else if (receiver !== undefined) {
    const own = nextBlockId(p);
    const mine = own === undefined ? undefined : await receiver.opening(own);
    if (mine === undefined || mine.summary !== opening.summary) {
      throw new LayerError(
        "wrong-contract",
        "the block the packet names here belongs to another contract than the source's",
        {
          blockId: own,
          sourceBlock: blockId,
        },
      );
    }
  }
  return { blockId, block, opening: opening.summary, first: opening.summary === summary };
}

/**
 * `LayerError("closed")` when the source block is final as `SummaryLedger`
 * rules it (`_isFinal` of an expired block): cleaned (no block left, but an
 * attested open made it: only a final block is cleaned), or expired and either
 * accomplished or past the extension window. Chain time is the latest block's;
 * returns that block's number, for the caller's further reads.
 */
async function checkNotFinal(ledger: SummaryLedgerClient, link: LedgerLayerLink, blockId: Hex): Promise<number> {
  const provider = ledger.runner.provider;
  if (!provider) throw new TransportError("the source ledger's runner has no provider");
  const latest = await provider.getBlock("latest");
  if (latest === null) throw new TransportError("the source ledger's chain has no latest block");
  const now = BigInt(latest.timestamp);
  const block = await ledger.getBlock(blockId, latest.number);
  let final: boolean;
  if (block === undefined) final = (await ledger.opening(blockId)) !== undefined;
  else {
    const window = await ledger.extensionWindow();
    final = block.expiry <= now && (block.accomplished || block.expiry + window <= now);
  }
  if (final) {
    throw new LayerError(
      "closed",
      "the source block is final (accomplished and expired, or past extension): the packet is late",
      {
        source: link.layerId,
        blockId,
        ...(block === undefined
          ? { cleaned: true }
          : { accomplished: block.accomplished, expiry: String(block.expiry) }),
      },
    );
  }
  return latest.number;
}

/**
 * Resolves a layer link (ledger address and chain id) to a read client on a
 * provider of that chain: one provider per chain, each checked to be on the
 * chain it was registered for before its first use.
 */
export class LedgerDirectory {
  readonly #providers = new Map<bigint, Provider>();
  readonly #checked = new Map<bigint, Promise<void>>();
  /** One client per ledger, so what a client caches (block openings) is shared. */
  readonly #clients = new Map<string, SummaryLedgerClient>();

  /** Registers `provider` for `chainId` (an in-process network's or a JSON-RPC endpoint's). */
  addChain(chainId: bigint, provider: Provider): this {
    if (typeof chainId !== "bigint" || chainId <= 0n) {
      throw new InvalidInputError("chainId must be a positive bigint", { chainId: String(chainId) });
    }
    if (this.#providers.has(chainId) && this.#providers.get(chainId) !== provider) {
      throw new InvalidInputError(`chain ${chainId} already has a provider`, { chainId: String(chainId) });
    }
    this.#providers.set(chainId, provider);
    return this;
  }

  /** The chains registered. */
  chains(): bigint[] {
    return [...this.#providers.keys()];
  }

  /** A read client of `link`'s ledger on its chain; `LayerError("unknown-source")` when the chain is not known. */
  async ledger(link: LedgerLayerLink): Promise<SummaryLedgerClient> {
    const provider = this.#providers.get(link.chainId);
    if (provider === undefined) {
      throw new LayerError("unknown-source", `no provider for chain ${link.chainId}`, {
        layerId: link.layerId,
        chainId: String(link.chainId),
      });
    }
    let check = this.#checked.get(link.chainId);
    if (check === undefined) {
      check = provider.getNetwork().then((n) => {
        if (n.chainId !== link.chainId) {
          throw new LayerError("bad-source", `the provider for chain ${link.chainId} is on chain ${n.chainId}`);
        }
      });
      this.#checked.set(link.chainId, check);
    }
    await check;
    const key = `${link.chainId}:${link.ledger.toLowerCase()}`;
    let client = this.#clients.get(key);
    if (client === undefined) {
      client = new SummaryLedgerClient(link.ledger, provider);
      this.#clients.set(key, client);
    }
    return client;
  }
}
