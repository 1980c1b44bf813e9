/**
 * A member node of a high-level layer (seed 003 §III.B, §IV.B): it receives
 * contract communications, checks them with its peers and records them in the
 * layer's `SummaryLedger`, and runs self-examinations of its peers and of the
 * superior layer. `LayerNode` composes the parts, each its own module:
 *
 * - `member.ts`: identity and shared state (ledger, peers, running, clock, alarms);
 * - `routing.ts`: a packet arriving through this member (first and following
 *   communications, handing over to the responsible node, takeover);
 * - `source-check.ts`: where a packet may come from (the layer's links);
 * - `peer-service.ts`: what this member offers its peers (the `LayerPeer` calls);
 * - `examination.ts`: challenges, verdicts on peers, the superior-lost alarm;
 * - `membership.ts`: joining, linking subordinates; `key-cache.ts`: registered keys;
 * - `attestations.ts`: collecting a quorum's signatures.
 *
 * The decision rules (quorum, the unanimous-invalid verdict, superior lost) are
 * `core/layers/quorum.ts`'s, the same as the ledger's.
 */
import { type Hex } from "../core/bytes.ts";
import type { LedgerLayerLink, LedgerOpenRequest, SummaryLedgerClient } from "../contracts/ledger.ts";
import { Examination, type ExaminationReport, type PeerExamination, type SuperiorExamination } from "./examination.ts";
import { RegisteredKeys } from "./key-cache.ts";
import { type LayerNodeOptions, MemberContext } from "./member.ts";
import { Membership } from "./membership.ts";
import type { Challenge, ContractEnds, Hop, JoinCandidate, LayerPeer, Transmission } from "./network.ts";
import { PeerService } from "./peer-service.ts";
import { Routing } from "./routing.ts";
import { SourceCheck } from "./source-check.ts";

export type { ExaminationReport, ExaminedNode, PeerExamination, SuperiorExamination } from "./examination.ts";
export type { LayerAlarm, LayerNodeOptions } from "./member.ts";

export class LayerNode implements LayerPeer {
  readonly layerId: Hex;
  readonly index: number;
  readonly node: string;
  readonly publicKey: Uint8Array;
  readonly ledger: SummaryLedgerClient;
  readonly chainId: bigint;
  readonly #member: MemberContext;
  readonly #routing: Routing;
  readonly #peerService: PeerService;
  readonly #examination: Examination;
  readonly #membership: Membership;

  /** `node` is the ledger runner's address (the account this member submits from). */
  constructor(node: string, options: LayerNodeOptions) {
    const member = new MemberContext(node, options);
    const keys = new RegisteredKeys(options.backend);
    const sources = new SourceCheck(member);
    const examination = new Examination(member, keys);
    const routing = new Routing(member, keys, sources, examination);
    const membership = new Membership(member, keys);
    this.#member = member;
    this.layerId = member.layerId;
    this.index = member.index;
    this.node = member.node;
    this.publicKey = member.publicKey;
    this.ledger = member.ledger;
    this.chainId = member.chainId;
    this.#routing = routing;
    this.#examination = examination;
    this.#membership = membership;
    this.#peerService = new PeerService(member, { sources, routing, examination, membership });
  }

  /** The other members of the layer, as this node reaches them. */
  setPeers(peers: readonly LayerPeer[]): void {
    this.#member.setPeers(peers);
  }

  /** Stops answering (a node shut down): every peer call is refused with `LayerError("stopped")`. */
  stop(): void {
    this.#member.stop();
  }

  /** Whether the node answers. */
  get running(): boolean {
    return this.#member.running;
  }

  // -------------------------------------------------------------- routing

  /** A packet arrives at this layer through this node; the hop says what was recorded. */
  receive(transmission: Transmission): Promise<Hop> {
    return this.#routing.receive(transmission);
  }

  // ---------------------------------------------------------- peer service

  /** @inheritdoc */
  answer(challenge: Challenge): Promise<Uint8Array> {
    return this.#peerService.answer(challenge);
  }

  /** @inheritdoc */
  reviewOpen(transmission: Transmission, request: LedgerOpenRequest): Promise<Uint8Array> {
    return this.#peerService.reviewOpen(transmission, request);
  }

  /** @inheritdoc */
  handleFollowing(transmission: Transmission): Promise<Hop> {
    return this.#peerService.handleFollowing(transmission);
  }

  /** @inheritdoc */
  reviewTakeOver(blockId: Hex, candidate: string, digest: Hex): Promise<Uint8Array> {
    return this.#peerService.reviewTakeOver(blockId, candidate, digest);
  }

  /** @inheritdoc */
  judgeMember(index: number, digest: Hex): Promise<Uint8Array> {
    return this.#peerService.judgeMember(index, digest);
  }

  /** @inheritdoc */
  judgeSuperior(digest: Hex): Promise<Uint8Array> {
    return this.#peerService.judgeSuperior(digest);
  }

  /** @inheritdoc */
  reviewAttachment(kind: "superior" | "subordinate", link: LedgerLayerLink, digest: Hex): Promise<Uint8Array> {
    return this.#peerService.reviewAttachment(kind, link, digest);
  }

  /** @inheritdoc */
  reviewJoin(candidate: JoinCandidate, digest: Hex): Promise<Uint8Array> {
    return this.#peerService.reviewJoin(candidate, digest);
  }

  /** @inheritdoc */
  contractOf(blockId: Hex): Promise<ContractEnds | undefined> {
    return this.#peerService.contractOf(blockId);
  }

  // ---------------------------------------------------- self-examination

  /** Challenges every other valid member; tags invalid those the others unanimously find failed. */
  examinePeers(): Promise<PeerExamination> {
    return this.#examination.examinePeers();
  }

  /** Challenges every valid member of the superior layer; when none answers, the quorum raises the alarm and freezes routes through it. */
  examineSuperior(): Promise<SuperiorExamination> {
    return this.#examination.examineSuperior();
  }

  /** Re-attaches the layer to `superior` once a quorum of peers find it answering (the beginning block's update). */
  reattach(superior: LedgerLayerLink): Promise<Hex> {
    return this.#examination.reattach(superior);
  }

  /**
   * Runs self-examinations at random intervals (seed 003: "at random
   * intervals"), each after an exponentially distributed wait with mean
   * `meanIntervalMs`: the peers, then the superior layer. `onReport` gets each
   * round's results (or its error). Returns the function that stops it.
   */
  examineEvery(meanIntervalMs: number, onReport: (report: ExaminationReport) => void): () => void {
    return this.#examination.examineEvery(meanIntervalMs, onReport);
  }

  // ------------------------------------------------------------ membership

  /**
   * Admits `candidate` (a node joining the layer, e.g. `node.candidate()`) by
   * quorum: every member challenges it as the member it will become and checks
   * its proof of possession before signing the join, which the candidate then
   * submits from its own account. Returns the new member's index; the
   * new node is then introduced to its peers (`setPeers`) by its operator or
   * the router.
   */
  admit(candidate: JoinCandidate): Promise<number> {
    return this.#membership.admit(candidate);
  }

  /**
   * This node as a candidate to join its layer (before it is a member): its
   * account and key with a proof of possession, answering challenges as the
   * member index it was given, and submitting its own join.
   */
  candidate(): JoinCandidate {
    return this.#membership.candidate((challenge) => this.answer(challenge));
  }

  /** Links a subordinate layer (a new edge layer's central node, or a layer re-attaching here) by quorum. */
  linkSubordinate(subordinate: LedgerLayerLink): Promise<Hex> {
    return this.#membership.linkSubordinate(subordinate);
  }
}
