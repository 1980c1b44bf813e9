/**
 * Routing: a packet arriving at this layer through this member.
 *
 * - **First communication**: the receiving member proposes the open request;
 *   every peer checks the packet's source itself and signs the request with
 *   its BLS key; a quorum's aggregate opens the block with the receiving
 *   member responsible. A block already open is a no-op that stops the
 *   packet; an expired one is extended.
 * - **Following communication**: any member passes the packet to the block's
 *   responsible node (N_r in the paper); when that node does not answer, the
 *   member asks the quorum (each peer challenges it itself) to take the block
 *   over. The responsible node records the summary with the ending tag; a
 *   summary seen before stops the packet with the ledger's replay alarm.
 *
 * It also remembers which two edge layers each block was opened for, so a
 * following packet is only recorded into its own contract's block.
 */
import { withTimeout } from "../core/async.ts";
import { type Hex } from "../core/bytes.ts";
import {
  forward,
  isFirstCommunication,
  nextBlockId,
  type Packet,
  routeHash,
  sourceLayer,
} from "../core/layers/packet.ts";
import type { LedgerOpenRequest } from "../contracts/ledger.ts";
import { StrataError, TransportError } from "../errors.ts";
import { collectAttestation } from "./attestations.ts";
import type { Examination } from "./examination.ts";
import type { RegisteredKeys } from "./key-cache.ts";
import { ends, type MemberContext, same } from "./member.ts";
import { checkTransmission, type ContractEnds, type Hop, LayerError, type Transmission } from "./network.ts";
import type { SourceCheck } from "./source-check.ts";

export class Routing {
  readonly #member: MemberContext;
  readonly #keys: RegisteredKeys;
  readonly #sources: SourceCheck;
  readonly #examination: Examination;
  /** The edge layers each block was opened for, by block id. */
  readonly #contracts = new Map<Hex, ContractEnds>();
  /** The edge layers of openings this member reviewed, by summary, until their block id is known. */
  readonly #pending = new Map<Hex, ContractEnds>();

  constructor(member: MemberContext, keys: RegisteredKeys, sources: SourceCheck, examination: Examination) {
    this.#member = member;
    this.#keys = keys;
    this.#sources = sources;
    this.#examination = examination;
  }

  /** The packet arrives at this layer through this node; the hop says what was recorded. */
  async receive(transmission: Transmission): Promise<Hop> {
    this.#member.alive();
    const t = checkTransmission(transmission);
    await this.#sources.check(t);
    return isFirstCommunication(t.packet) ? this.#first(t) : this.following(t, true);
  }

  /** Remembers the edge layers of an opening this member reviewed (its block id is not known yet). */
  rememberOpening(summary: Hex, p: Packet): void {
    this.#pending.set(summary, ends(p));
  }

  /** The edge layers `blockId` was opened for, when this member saw its opening. */
  async contractOf(blockId: Hex): Promise<ContractEnds | undefined> {
    return this.#contracts.get(blockId) ?? (await this.#endsFromOpening(blockId));
  }

  async #first(t: Transmission): Promise<Hop> {
    const m = this.#member;
    const p = t.packet;
    if (p.ending) {
      // The ending tag is set by a following communication: opened here, the packet would be refused by the next layer.
      throw new LayerError("bad-source", "a first communication cannot carry the ending tag");
    }
    const summary = p.ids[0]!;
    const now = await m.now();
    // Only an attested open makes a summary opened: a copy some member recorded into its own
    // block's summaries does not stop the packet here.
    const existing = await m.ledger.openingOf(summary);
    if (existing !== undefined) {
      const block = await m.ledger.getBlock(existing.blockId);
      if (block !== undefined && block.expiry > now) {
        return m.hop("already-opened", existing.blockId, { accomplished: block.accomplished });
      }
    }
    const expiry = now + m.blockLifetime;
    const deadline = now + m.attestationLifetime;
    const request: LedgerOpenRequest = {
      summary,
      sourceLayer: sourceLayer(p),
      route: routeHash(p),
      responsible: m.node,
      expiry,
      // The ledger and the peers refuse an attestation outliving the block.
      deadline: deadline < expiry ? deadline : expiry,
    };
    const digest = await m.ledger.openDigest(request);
    const attestation = await collectAttestation(m, this.#keys, digest, (peer) => peer.reviewOpen(t, request));
    const r = await m.ledger.open(request, attestation);
    if (r.outcome === "replayed") {
      m.alarm("replayed", r.hash, { blockId: r.blockId, summary });
      return m.hop("replayed", r.blockId, { txHash: r.hash, gasUsed: r.gasUsed });
    }
    this.#contracts.set(r.blockId, ends(p));
    if (r.outcome === "already-opened") return m.hop("already-opened", r.blockId, { txHash: r.hash });
    return m.hop(r.outcome, r.blockId, {
      txHash: r.hash,
      gasUsed: r.gasUsed,
      next: { packet: forward(p, m.layerId, r.blockId) },
    });
  }

  /**
   * A following communication: recorded by the block's responsible node. At
   * the member it entered by (`entry`), passed on to the responsible node, or
   * taken over from it when it is silent; elsewhere, only the responsible
   * node records it.
   */
  async following(t: Transmission, entry: boolean): Promise<Hop> {
    const m = this.#member;
    const p = t.packet;
    const blockId = nextBlockId(p)!;
    const block = await m.ledger.getBlock(blockId);
    if (block === undefined) throw new LayerError("unknown-block", "no such block in this layer", { blockId });
    if (block.accomplished || block.expiry <= (await m.now())) {
      throw new LayerError("closed", "the block is accomplished or expired: it takes no more summaries", {
        blockId,
        accomplished: block.accomplished,
        expiry: String(block.expiry),
      });
    }
    await this.#checkContract(blockId, p);
    let tookOverFrom: string | undefined;
    if (!same(block.responsible, m.node)) {
      if (!entry) {
        throw new LayerError("not-responsible", "this node is not the block's responsible node", {
          blockId,
          responsible: block.responsible,
        });
      }
      const responsible = m.peerByNode(block.responsible);
      if (responsible !== undefined) {
        try {
          return await withTimeout(responsible.handleFollowing(t), m.timeoutMs);
        } catch (e) {
          // A refusal is the responsible node's decision; only silence (stopped, unreachable, no answer in time)
          // lets another take over.
          const silent = e instanceof TransportError || (e instanceof LayerError && e.reason === "stopped");
          if (e instanceof StrataError && !silent) throw e;
        }
      }
      await this.#takeOver(blockId, block.responsible);
      tookOverFrom = block.responsible;
    }
    const r = await m.ledger.record(blockId, p.ids[0]!, p.ending);
    if (!r.recorded) {
      m.alarm("replayed", r.hash, { blockId: r.blockId, summary: p.ids[0] });
      return m.hop("replayed", r.blockId, { txHash: r.hash, gasUsed: r.gasUsed, tookOverFrom });
    }
    const last = p.destination.length === 1;
    return m.hop("recorded", blockId, {
      txHash: r.hash,
      gasUsed: r.gasUsed,
      accomplished: r.accomplished,
      tookOverFrom,
      next: last ? undefined : { packet: forward(p, m.layerId, blockId) },
    });
  }

  /** Takes `blockId` over from a silent `responsible` node: at once from a member tagged invalid, else by quorum. */
  async #takeOver(blockId: Hex, responsible: string): Promise<void> {
    const m = this.#member;
    const valid = (await m.ledger.memberOf(responsible))?.valid ?? false;
    if (!valid) {
      await m.ledger.takeOver(blockId, m.node);
      return;
    }
    const digest = await m.ledger.takeOverDigest(blockId, m.node);
    const attestation = await collectAttestation(
      m,
      this.#keys,
      digest,
      (peer) => peer.reviewTakeOver(blockId, m.node, digest),
      {
        ownCheck: async () => {
          if (await this.#examination.reachesMember(responsible)) {
            throw new LayerError("disputed", "the responsible node answers", { blockId, responsible });
          }
        },
      },
    );
    await m.ledger.takeOver(blockId, m.node, attestation);
  }

  /** A following packet belongs to the contract its block was opened for (the same two edge layers). */
  async #checkContract(blockId: Hex, p: Packet): Promise<void> {
    const m = this.#member;
    let known = this.#contracts.get(blockId) ?? (await this.#endsFromOpening(blockId));
    for (const peer of m.peers) {
      if (known !== undefined) break;
      known = await withTimeout(peer.contractOf(blockId), m.timeoutMs).catch(() => undefined);
    }
    if (known === undefined) throw new LayerError("unknown-block", "no member knows what the block was opened for");
    this.#contracts.set(blockId, known);
    const e = ends(p);
    const sameEnds =
      (e.origin === known.origin && e.end === known.end) || (e.origin === known.end && e.end === known.origin);
    if (!sameEnds) {
      throw new LayerError("wrong-contract", "the packet runs between other edge layers than the block", { blockId });
    }
  }

  /** The ends of a block this member reviewed the opening of (remembered by summary until the block id was known). */
  async #endsFromOpening(blockId: Hex): Promise<ContractEnds | undefined> {
    for (const [summary, e] of this.#pending) {
      const at = await this.#member.ledger.openingOf(summary);
      if (at === undefined) continue;
      this.#pending.delete(summary);
      this.#contracts.set(at.blockId, e);
    }
    return this.#contracts.get(blockId);
  }
}
