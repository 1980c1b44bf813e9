/**
 * The peer service: what a member offers its peers (and examiners from other
 * layers), the `LayerPeer` surface. Each call is this member's own review: it
 * checks what it is asked to sign against its own reading of the ledger and
 * the network, and signs only then.
 */
import { type Hex } from "../core/bytes.ts";
import { challengeDigest } from "../core/layers/contract.ts";
import { isFirstCommunication, routeHash, sourceLayer } from "../core/layers/packet.ts";
import type { LedgerLayerLink, LedgerOpenRequest } from "../contracts/ledger.ts";
import type { Examination } from "./examination.ts";
import { type MemberContext, same } from "./member.ts";
import type { Membership } from "./membership.ts";
import {
  type Challenge,
  checkTransmission,
  type ContractEnds,
  type Hop,
  type JoinCandidate,
  LayerError,
  type LayerPeer,
  type Transmission,
} from "./network.ts";
import type { Routing } from "./routing.ts";
import type { SourceCheck } from "./source-check.ts";

/** The `LayerPeer` calls, without the member's identity (the node composing them supplies it). */
export type PeerCalls = Omit<LayerPeer, "layerId" | "index" | "node" | "publicKey">;

export class PeerService implements PeerCalls {
  readonly #member: MemberContext;
  readonly #sources: SourceCheck;
  readonly #routing: Routing;
  readonly #examination: Examination;
  readonly #membership: Membership;

  constructor(
    member: MemberContext,
    parts: { sources: SourceCheck; routing: Routing; examination: Examination; membership: Membership },
  ) {
    this.#member = member;
    this.#sources = parts.sources;
    this.#routing = parts.routing;
    this.#examination = parts.examination;
    this.#membership = parts.membership;
  }

  /** Answers a self-examination challenge: its BLS signature over `challengeDigest`. */
  async answer(challenge: Challenge): Promise<Uint8Array> {
    const m = this.#member;
    m.alive();
    return m.sign(challengeDigest(m.layerId, m.ledger.address, m.chainId, m.index, challenge.nonce));
  }

  /** Reviews a first communication and signs the open request when the source checks out and the request matches the packet. */
  async reviewOpen(transmission: Transmission, request: LedgerOpenRequest): Promise<Uint8Array> {
    const m = this.#member;
    m.alive();
    const t = checkTransmission(transmission);
    await this.#sources.check(t);
    const p = t.packet;
    if (!isFirstCommunication(p)) throw new LayerError("bad-source", "not a first communication");
    if (p.ending) throw new LayerError("bad-source", "a first communication cannot carry the ending tag");
    const now = await m.now();
    const wrong = (field: string) =>
      new LayerError("bad-source", `the open request's ${field} does not match the packet`);
    if (request.summary !== p.ids[0]) throw wrong("summary");
    if (request.sourceLayer !== sourceLayer(p)) throw wrong("source layer");
    if (request.route !== routeHash(p)) throw wrong("route");
    if (!(await m.ledger.memberOf(request.responsible))?.valid) throw wrong("responsible node");
    if (request.expiry <= now || request.expiry > now + 2n * m.blockLifetime) throw wrong("expiry");
    if (request.deadline > request.expiry || request.deadline > now + 2n * m.attestationLifetime) {
      throw wrong("deadline");
    }
    const digest = await m.ledger.openDigest(request);
    const existing = await m.ledger.openingOf(request.summary);
    if (existing === undefined) this.#routing.rememberOpening(request.summary, p);
    return m.sign(digest);
  }

  /** Handles a following communication as the block's responsible node. */
  async handleFollowing(transmission: Transmission): Promise<Hop> {
    this.#member.alive();
    const t = checkTransmission(transmission);
    await this.#sources.check(t);
    if (isFirstCommunication(t.packet)) throw new LayerError("bad-source", "not a following communication");
    return this.#routing.following(t, false);
  }

  /** Signs moving `blockId` to `candidate` when the responsible node does not answer this member either. */
  async reviewTakeOver(blockId: Hex, candidate: string, digest: Hex): Promise<Uint8Array> {
    const m = this.#member;
    m.alive();
    const block = await m.ledger.getBlock(blockId);
    if (block === undefined) throw new LayerError("unknown-block", "no such block in this layer", { blockId });
    if (same(block.responsible, candidate)) throw new LayerError("disputed", "the candidate is responsible already");
    if (same(block.responsible, m.node)) {
      throw new LayerError("disputed", "this node is the responsible node and answers", { blockId });
    }
    if (await this.#examination.reachesMember(block.responsible)) {
      throw new LayerError("disputed", "the responsible node answers", { blockId, responsible: block.responsible });
    }
    m.sameDigest(digest, await m.ledger.takeOverDigest(blockId, candidate));
    return m.sign(digest);
  }

  /** Judges member `index` by its own challenge; signs its invalid tag when it fails. */
  async judgeMember(index: number, digest: Hex): Promise<Uint8Array> {
    const m = this.#member;
    m.alive();
    if (index === m.index) throw new LayerError("disputed", "a member does not judge itself");
    m.sameDigest(digest, await m.ledger.invalidateDigest(index));
    const peer = m.peers.find((x) => x.index === index);
    const { node } = await m.ledger.member(index);
    if (peer !== undefined && (await this.#examination.challenge(peer, m.self()))) {
      throw new LayerError("disputed", "the judged member answers", { index, node });
    }
    return m.sign(digest);
  }

  /** Examines the superior layer itself; signs the alarm when every node of it fails. */
  async judgeSuperior(digest: Hex): Promise<Uint8Array> {
    const m = this.#member;
    m.alive();
    m.sameDigest(digest, await m.ledger.superiorLostDigest());
    await this.#examination.checkSuperiorLost();
    return m.sign(digest);
  }

  /** Signs linking to `link` (a new superior or a new subordinate layer) once that layer answers as a layer. */
  async reviewAttachment(kind: "superior" | "subordinate", link: LedgerLayerLink, digest: Hex): Promise<Uint8Array> {
    const m = this.#member;
    m.alive();
    const expected = kind === "superior" ? await m.ledger.reattachDigest(link) : await m.ledger.linkDigest(link);
    m.sameDigest(digest, expected);
    await this.#examination.checkAnswersAsLayer(link);
    return m.sign(digest);
  }

  /** Signs admitting `candidate` once it answers a challenge with the key it asks to join with. */
  async reviewJoin(candidate: JoinCandidate, digest: Hex): Promise<Uint8Array> {
    return this.#membership.reviewJoin(candidate, digest);
  }

  /** The route endpoints a block was opened for, when this member saw its opening. */
  async contractOf(blockId: Hex): Promise<ContractEnds | undefined> {
    this.#member.alive();
    return this.#routing.contractOf(blockId);
  }
}
