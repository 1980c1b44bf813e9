/**
 * A member node of a high-level layer of seed 003 (§III.B, §IV.B): it receives
 * contract communications, checks statements 1-6 with its peers and records
 * them in the layer's `SummaryLedger`, and runs self-examinations of its peers
 * and of the superior layer (§IV.B(5)).
 *
 * - **First communication** (statements 1-3): the receiving node N_1 proposes
 *   the open request; every peer checks statement 1 itself (an edge layer's
 *   central-node signature, or the source layer's ledger on its own chain) and
 *   the request, then signs it with its BLS key; a quorum's aggregate opens
 *   the block with N_1 responsible. A block already open is a no-op that stops
 *   P; an expired one is extended.
 * - **Following communication** (statements 4-6): any member passes P to the
 *   block's responsible node N_r; when N_r does not answer, the member asks
 *   the quorum (each peer challenges N_r itself) to take the block over. The
 *   responsible node records Sum(M) with the ending tag; a summary seen before
 *   stops P with the ledger's `SummaryReplayed` alarm.
 * - **Self-examination**: a challenge answered with the member's registered BLS
 *   key proves both liveness and key validity. A member that fails is tagged
 *   invalid when every other member that passed judges it failed too (the
 *   unanimous verdict); a superior layer none of whose members answers is
 *   declared lost by a quorum (the on-chain alarm), which freezes routes
 *   through it until the layer re-attaches.
 */
import { randomBytes } from "node:crypto";

import { getBytes, type Provider, verifyMessage } from "ethers";

import { withTimeout } from "../core/async.ts";
import { type Hex, toHex } from "../core/bytes.ts";
import type { PairingBackend } from "../core/crypto/backend.ts";
import { minSig } from "../core/crypto/bls.ts";
import { g1ToEip2537, g2ToEip2537 } from "../core/crypto/eip2537.ts";
import {
  aggregateAttestation,
  type Attestation,
  partialAttestation,
  type PartialAttestation,
  quorumOf,
} from "../core/layers/attestation.ts";
import { challengeDigest, packetDigest } from "../core/layers/contract.ts";
import {
  checkSummary,
  forward,
  isFirstCommunication,
  nextBlockId,
  type Packet,
  routeHash,
  sourceLayer,
} from "../core/layers/packet.ts";
import { type LedgerLayerLink, type LedgerOpenRequest, type SummaryLedgerClient } from "../contracts/ledger.ts";
import { InvalidInputError, StrataError, TransportError } from "../errors.ts";
import {
  type Challenge,
  checkLedgerHolds,
  checkTransmission,
  type ContractEnds,
  type Hop,
  type JoinCandidate,
  LayerError,
  type LayerPeer,
  type LedgerDirectory,
  type Transmission,
} from "./network.ts";

const ZERO_WORD = `0x${"00".repeat(32)}`;

/** An alarm a member raised: a replayed summary (statement 5) or a lost superior layer. */
export interface LayerAlarm {
  readonly kind: "replayed" | "superior-lost";
  readonly layerId: Hex;
  readonly node: string;
  readonly txHash?: Hex;
  readonly details: { readonly [key: string]: unknown };
}

export interface LayerNodeOptions {
  readonly layerId: Hex;
  /** This member's index in the ledger. */
  readonly index: number;
  /** This member's BLS secret key (its registered key's). */
  readonly secretKey: Uint8Array;
  /** The layer's ledger, connected with this member's account. */
  readonly ledger: SummaryLedgerClient;
  /** The chain the ledger is on. */
  readonly chainId: bigint;
  /** Other layers' ledgers (statement 1 from a high-level source, the superior's members). */
  readonly directory: LedgerDirectory;
  readonly backend: PairingBackend;
  /** Members of other layers this node can reach, by layer id (to examine its superior layer). */
  readonly reach?: (layerId: Hex) => readonly LayerPeer[] | undefined;
  /** A new block's lifetime T, in seconds (default one day). */
  readonly blockLifetime?: bigint;
  /** How long an open attestation may be submitted, in seconds (default 10 minutes). */
  readonly attestationLifetime?: bigint;
  /** How long a peer gets to answer, in ms (default 5,000). */
  readonly answerTimeoutMs?: number;
  readonly onAlarm?: (alarm: LayerAlarm) => void;
}

/** One examined member or layer node. */
export interface ExaminedNode {
  readonly index: number;
  readonly node: string;
  readonly passed: boolean;
}

/** A self-examination of the peers. */
export interface PeerExamination {
  readonly examined: readonly ExaminedNode[];
  /** Members tagged invalid by this round, with the transaction. */
  readonly invalidated: readonly { readonly index: number; readonly node: string; readonly txHash: Hex }[];
  /** Failed members the others did not unanimously judge failed (nothing recorded). */
  readonly disputed: readonly number[];
}

/** A self-examination of the superior layer. */
export interface SuperiorExamination {
  readonly status: "none" | "reachable" | "lost" | "frozen";
  readonly superior?: LedgerLayerLink;
  readonly examined: readonly ExaminedNode[];
  readonly txHash?: Hex;
}

export class LayerNode implements LayerPeer {
  readonly layerId: Hex;
  readonly index: number;
  readonly node: string;
  readonly publicKey: Uint8Array;
  readonly ledger: SummaryLedgerClient;
  readonly chainId: bigint;
  readonly #o: LayerNodeOptions;
  readonly #secretKey: Uint8Array;
  readonly #bls;
  readonly #lifetime: bigint;
  readonly #attestationLifetime: bigint;
  readonly #timeout: number;
  #peers: LayerPeer[] = [];
  readonly #contracts = new Map<Hex, ContractEnds>();
  /** Registered member keys (EIP-2537) by chain, ledger and index; compressed keys' EIP-2537 forms. */
  readonly #keys = new Map<string, Hex>();
  readonly #encoded = new Map<Hex, Hex>();
  #running = true;

  /** `node` is the ledger runner's address (the account this member submits from). */
  constructor(node: string, options: LayerNodeOptions) {
    if (!(options.secretKey instanceof Uint8Array)) throw new InvalidInputError("secretKey must be a Uint8Array");
    if (!Number.isInteger(options.index) || options.index < 0 || options.index > 63) {
      throw new InvalidInputError("index must be an integer in [0, 63]", { index: options.index });
    }
    this.#o = options;
    this.layerId = options.layerId.toLowerCase() as Hex;
    this.index = options.index;
    this.node = node;
    this.ledger = options.ledger;
    this.chainId = options.chainId;
    this.#secretKey = options.secretKey;
    this.#bls = minSig(options.backend);
    this.publicKey = this.#bls.publicKey(options.secretKey);
    this.#lifetime = options.blockLifetime ?? 86_400n;
    this.#attestationLifetime = options.attestationLifetime ?? 600n;
    this.#timeout = options.answerTimeoutMs ?? 5_000;
  }

  /** The other members of the layer, as this node reaches them. */
  setPeers(peers: readonly LayerPeer[]): void {
    this.#peers = peers.filter((p) => p.index !== this.index);
  }

  /** Stops answering (a node shut down): every peer call is refused with `LayerError("stopped")`. */
  stop(): void {
    this.#running = false;
  }

  /** Whether the node answers. */
  get running(): boolean {
    return this.#running;
  }

  // -------------------------------------------------------------- routing

  /** P arrives at this layer through this node: statements 1-6; the hop says what was recorded. */
  async receive(transmission: Transmission): Promise<Hop> {
    this.#alive();
    const t = checkTransmission(transmission);
    await this.#checkSource(t);
    return isFirstCommunication(t.packet) ? this.#first(t) : this.#following(t, true);
  }

  async #first(t: Transmission): Promise<Hop> {
    const p = t.packet;
    if (p.ending) {
      // F is set by a following communication (statement 6): opened here, P would be refused by the next layer.
      throw new LayerError("bad-source", "a first communication cannot carry the ending tag");
    }
    const summary = p.ids[0]!;
    const now = await this.#now();
    // Only an attested open makes a summary opened: a copy some member recorded into its own
    // block's K does not stop P here.
    const existing = await this.ledger.openingOf(summary);
    if (existing !== undefined) {
      const block = await this.ledger.getBlock(existing.blockId);
      if (block !== undefined && block.expiry > now) {
        return this.#hop("already-opened", existing.blockId, { accomplished: block.accomplished });
      }
    }
    const expiry = now + this.#lifetime;
    const deadline = now + this.#attestationLifetime;
    const request: LedgerOpenRequest = {
      summary,
      sourceLayer: sourceLayer(p),
      route: routeHash(p),
      responsible: this.node,
      expiry,
      // The ledger and the peers refuse an attestation outliving the block.
      deadline: deadline < expiry ? deadline : expiry,
    };
    const digest = await this.ledger.openDigest(request);
    const attestation = await this.#collect(digest, (peer) => peer.reviewOpen(t, request));
    const r = await this.ledger.open(request, attestation);
    if (r.outcome === "replayed") {
      this.#alarm("replayed", r.txHash, { blockId: r.blockId, summary });
      return this.#hop("replayed", r.blockId, { txHash: r.txHash, gasUsed: r.gasUsed });
    }
    this.#contracts.set(r.blockId, ends(p));
    if (r.outcome === "already-opened") return this.#hop("already-opened", r.blockId, { txHash: r.txHash });
    return this.#hop(r.outcome, r.blockId, {
      txHash: r.txHash,
      gasUsed: r.gasUsed,
      next: { packet: forward(p, this.layerId, r.blockId) },
    });
  }

  async #following(t: Transmission, entry: boolean): Promise<Hop> {
    const p = t.packet;
    const blockId = nextBlockId(p)!;
    const block = await this.ledger.getBlock(blockId);
    if (block === undefined) throw new LayerError("unknown-block", "no such block in this layer", { blockId });
    if (block.accomplished || block.expiry <= (await this.#now())) {
      throw new LayerError("closed", "the block is accomplished or expired: it takes no more summaries", {
        blockId,
        accomplished: block.accomplished,
        expiry: String(block.expiry),
      });
    }
    await this.#checkContract(blockId, p);
    let tookOverFrom: string | undefined;
    if (block.responsible.toLowerCase() !== this.node.toLowerCase()) {
      if (!entry) {
        throw new LayerError("not-responsible", "this node is not the block's responsible node", {
          blockId,
          responsible: block.responsible,
        });
      }
      const responsible = this.#peers.find((peer) => same(peer.node, block.responsible));
      if (responsible !== undefined) {
        try {
          return await withTimeout(responsible.handleFollowing(t), this.#timeout);
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
    const r = await this.ledger.record(blockId, p.ids[0]!, p.ending);
    if (!r.recorded) {
      this.#alarm("replayed", r.txHash, { blockId: r.blockId, summary: p.ids[0] });
      return this.#hop("replayed", r.blockId, { txHash: r.txHash, gasUsed: r.gasUsed, tookOverFrom });
    }
    const last = p.destination.length === 1;
    return this.#hop("recorded", blockId, {
      txHash: r.txHash,
      gasUsed: r.gasUsed,
      accomplished: r.accomplished,
      tookOverFrom,
      next: last ? undefined : { packet: forward(p, this.layerId, blockId) },
    });
  }

  async #takeOver(blockId: Hex, responsible: string): Promise<void> {
    const valid = (await this.ledger.memberOf(responsible))?.valid ?? false;
    if (!valid) {
      await this.ledger.takeOver(blockId, this.node);
      return;
    }
    const digest = await this.ledger.takeOverDigest(blockId, this.node);
    const attestation = await this.#collect(digest, (peer) => peer.reviewTakeOver(blockId, this.node, digest), {
      ownCheck: async () => {
        if (await this.#reachesMember(responsible)) {
          throw new LayerError("disputed", "the responsible node answers", { blockId, responsible });
        }
      },
    });
    await this.ledger.takeOver(blockId, this.node, attestation);
  }

  // ---------------------------------------------------------- peer service

  /** @inheritdoc */
  async answer(challenge: Challenge): Promise<Uint8Array> {
    this.#alive();
    return this.#bls.sign(
      this.#secretKey,
      challengeDigest(this.layerId, this.ledger.address, this.chainId, this.index, challenge.nonce),
    );
  }

  /** @inheritdoc */
  async reviewOpen(transmission: Transmission, request: LedgerOpenRequest): Promise<Uint8Array> {
    this.#alive();
    const t = checkTransmission(transmission);
    await this.#checkSource(t);
    const p = t.packet;
    if (!isFirstCommunication(p)) throw new LayerError("bad-source", "not a first communication");
    if (p.ending) throw new LayerError("bad-source", "a first communication cannot carry the ending tag");
    const now = await this.#now();
    const wrong = (field: string) => new LayerError("bad-source", `the open request's ${field} does not match P`);
    if (request.summary !== p.ids[0]) throw wrong("summary");
    if (request.sourceLayer !== sourceLayer(p)) throw wrong("source layer");
    if (request.route !== routeHash(p)) throw wrong("route");
    if (!(await this.ledger.memberOf(request.responsible))?.valid) throw wrong("responsible node");
    if (request.expiry <= now || request.expiry > now + 2n * this.#lifetime) throw wrong("expiry");
    if (request.deadline > request.expiry || request.deadline > now + 2n * this.#attestationLifetime) {
      throw wrong("deadline");
    }
    const digest = await this.ledger.openDigest(request);
    const existing = await this.ledger.openingOf(request.summary);
    if (existing === undefined) this.#pending.set(request.summary, ends(p));
    return partialAttestation(this.#o.backend, this.#secretKey, digest);
  }

  readonly #pending = new Map<Hex, ContractEnds>();

  /** @inheritdoc */
  async handleFollowing(transmission: Transmission): Promise<Hop> {
    this.#alive();
    const t = checkTransmission(transmission);
    await this.#checkSource(t);
    if (isFirstCommunication(t.packet)) throw new LayerError("bad-source", "not a following communication");
    return this.#following(t, false);
  }

  /** @inheritdoc */
  async reviewTakeOver(blockId: Hex, candidate: string, digest: Hex): Promise<Uint8Array> {
    this.#alive();
    const block = await this.ledger.getBlock(blockId);
    if (block === undefined) throw new LayerError("unknown-block", "no such block in this layer", { blockId });
    if (same(block.responsible, candidate)) throw new LayerError("disputed", "the candidate is responsible already");
    if (same(block.responsible, this.node)) {
      throw new LayerError("disputed", "this node is the responsible node and answers", { blockId });
    }
    if (await this.#reachesMember(block.responsible)) {
      throw new LayerError("disputed", "the responsible node answers", { blockId, responsible: block.responsible });
    }
    await this.#sameDigest(digest, await this.ledger.takeOverDigest(blockId, candidate));
    return partialAttestation(this.#o.backend, this.#secretKey, digest);
  }

  /** @inheritdoc */
  async judgeMember(index: number, digest: Hex): Promise<Uint8Array> {
    this.#alive();
    if (index === this.index) throw new LayerError("disputed", "a member does not judge itself");
    await this.#sameDigest(digest, await this.ledger.invalidateDigest(index));
    const peer = this.#peers.find((x) => x.index === index);
    const { node } = await this.ledger.member(index);
    if (peer !== undefined && (await this.#challenge(peer, this.#self()))) {
      throw new LayerError("disputed", "the judged member answers", { index, node });
    }
    return partialAttestation(this.#o.backend, this.#secretKey, digest);
  }

  /** @inheritdoc */
  async judgeSuperior(digest: Hex): Promise<Uint8Array> {
    this.#alive();
    await this.#sameDigest(digest, await this.ledger.superiorLostDigest());
    const link = await this.ledger.superior();
    const examined = await this.#examineLayer(link);
    if (examined.some((n) => n.passed)) {
      throw new LayerError("disputed", "a node of the superior layer answers", { superior: link.layerId });
    }
    return partialAttestation(this.#o.backend, this.#secretKey, digest);
  }

  /** @inheritdoc */
  async reviewAttachment(kind: "superior" | "subordinate", link: LedgerLayerLink, digest: Hex): Promise<Uint8Array> {
    this.#alive();
    const expected = kind === "superior" ? await this.ledger.reattachDigest(link) : await this.ledger.linkDigest(link);
    await this.#sameDigest(digest, expected);
    if (link.chainId !== 0n) {
      const examined = await this.#examineLayer(link);
      const { quorum } = await (await this.#o.directory.ledger(link)).membership();
      if (examined.filter((n) => n.passed).length < quorum) {
        throw new LayerError("unreachable", "fewer than a quorum of the layer's members answer", {
          layerId: link.layerId,
        });
      }
    }
    return partialAttestation(this.#o.backend, this.#secretKey, digest);
  }

  /** @inheritdoc */
  async contractOf(blockId: Hex): Promise<ContractEnds | undefined> {
    this.#alive();
    return this.#contracts.get(blockId) ?? (await this.#endsFromOpening(blockId));
  }

  // ---------------------------------------------------- self-examination

  /** Challenges every other valid member; tags invalid those the others unanimously find failed. */
  async examinePeers(): Promise<PeerExamination> {
    this.#alive();
    const { validMask } = await this.ledger.membership();
    const valid = (i: number) => ((validMask >> BigInt(i)) & 1n) === 1n;
    const examined: ExaminedNode[] = [];
    for (const peer of this.#peers.filter((x) => valid(x.index))) {
      examined.push({ index: peer.index, node: peer.node, passed: await this.#challenge(peer, this.#self()) });
    }
    const passers = this.#peers.filter((peer) => examined.some((e) => e.index === peer.index && e.passed));
    const invalidated = [];
    const disputed = [];
    for (const failed of examined.filter((e) => !e.passed)) {
      const digest = await this.ledger.invalidateDigest(failed.index);
      let attestation: Attestation;
      try {
        attestation = await this.#collect(digest, (peer) => peer.judgeMember(failed.index, digest), {
          among: passers,
          unanimous: true,
          judged: failed.index,
        });
      } catch (e) {
        if (e instanceof LayerError && (e.reason === "no-quorum" || e.reason === "disputed")) {
          disputed.push(failed.index);
          continue;
        }
        throw e;
      }
      const r = await this.ledger.invalidate(failed.index, attestation);
      invalidated.push({ index: failed.index, node: r.node, txHash: r.txHash });
    }
    return { examined, invalidated, disputed };
  }

  /** Challenges every valid member of the superior layer; when none answers, the quorum raises the alarm and freezes routes through it. */
  async examineSuperior(): Promise<SuperiorExamination> {
    this.#alive();
    const superior = await this.ledger.superior();
    if (superior.layerId === ZERO_WORD) return { status: "none", examined: [] };
    if (await this.ledger.isSuperiorFrozen()) return { status: "frozen", superior, examined: [] };
    const examined = await this.#examineLayer(superior);
    if (examined.some((n) => n.passed)) return { status: "reachable", superior, examined };
    const digest = await this.ledger.superiorLostDigest();
    const attestation = await this.#collect(digest, (peer) => peer.judgeSuperior(digest));
    const r = await this.ledger.superiorLost(attestation);
    this.#alarm("superior-lost", r.txHash, { superior: superior.layerId });
    return { status: "lost", superior, examined, txHash: r.txHash };
  }

  /** Re-attaches the layer to `superior` once a quorum of peers find it answering (the beginning block's update). */
  async reattach(superior: LedgerLayerLink): Promise<Hex> {
    this.#alive();
    const digest = await this.ledger.reattachDigest(superior);
    const attestation = await this.#collect(digest, (peer) => peer.reviewAttachment("superior", superior, digest), {
      ownCheck: () => this.reviewAttachment("superior", superior, digest).then(() => undefined),
    });
    return (await this.ledger.reattach(superior, attestation)).txHash;
  }

  /**
   * Admits `candidate` (a node joining the layer, e.g. `node.candidate()`) by
   * quorum: every member challenges it as the member it will become and checks
   * its proof of possession before signing the join, which the candidate then
   * submits from its own account. Returns the new member's index; the
   * new node is then introduced to its peers (`setPeers`) by its operator or
   * the router.
   */
  async admit(candidate: JoinCandidate): Promise<number> {
    this.#alive();
    const { publicKey } = this.#joinKeys(candidate);
    const digest = await this.ledger.joinDigest(candidate.node, publicKey);
    const attestation = await this.#collect(digest, (peer) => peer.reviewJoin(candidate, digest), {
      ownCheck: () => this.reviewJoin(candidate, digest).then(() => undefined),
    });
    // The candidate submits its join itself: the ledger takes it from no other account.
    return candidate.submitJoin(attestation);
  }

  /**
   * This node as a candidate to join its layer (before it is a member): its
   * account and key with a proof of possession, answering challenges as the
   * member index it was given, and submitting its own join.
   */
  candidate(): JoinCandidate {
    const backend = this.#o.backend;
    const proofOfPossession = this.#bls.popProve(this.#secretKey);
    return {
      node: this.node,
      publicKey: this.publicKey,
      proofOfPossession,
      answer: (challenge) => this.answer(challenge),
      submitJoin: async (attestation) => {
        const member = {
          node: this.node,
          publicKey: g2ToEip2537(backend, backend.g2.fromBytes(this.publicKey)),
          proofOfPossession: g1ToEip2537(backend, backend.g1.fromBytes(proofOfPossession)),
        };
        const r = await this.ledger.join(member, attestation);
        if (r.index !== this.index) {
          throw new LayerError("misrouted", "the ledger gave this node another index than it answers as", {
            index: r.index,
            expected: this.index,
          });
        }
        return r.index;
      },
    };
  }

  /** @inheritdoc */
  async reviewJoin(candidate: JoinCandidate, digest: Hex): Promise<Uint8Array> {
    this.#alive();
    const { publicKey } = this.#joinKeys(candidate);
    await this.#sameDigest(digest, await this.ledger.joinDigest(candidate.node, publicKey));
    if (!this.#bls.popVerify(candidate.publicKey, candidate.proofOfPossession)) {
      throw new LayerError("disputed", "the candidate's proof of possession does not verify", { node: candidate.node });
    }
    const { count } = await this.ledger.membership();
    const nonce = randomBytes(32);
    const challenge = challengeDigest(this.layerId, this.ledger.address, this.chainId, count, nonce);
    const answer = await withTimeout(candidate.answer({ nonce }), this.#timeout).catch(() => undefined);
    if (answer === undefined || !this.#bls.verify(candidate.publicKey, challenge, answer)) {
      throw new LayerError("unreachable", "the candidate does not answer with its key", { node: candidate.node });
    }
    return partialAttestation(this.#o.backend, this.#secretKey, digest);
  }

  #joinKeys(candidate: JoinCandidate): { publicKey: Uint8Array; proofOfPossession: Uint8Array } {
    const backend = this.#o.backend;
    try {
      return {
        publicKey: g2ToEip2537(backend, backend.g2.fromBytes(candidate.publicKey)),
        proofOfPossession: g1ToEip2537(backend, backend.g1.fromBytes(candidate.proofOfPossession)),
      };
    } catch (cause) {
      throw new LayerError("disputed", "the candidate's key or proof is not a valid point", {
        node: candidate.node,
        cause: String(cause),
      });
    }
  }

  /**
   * Runs self-examinations at random intervals (seed 003: "at random
   * intervals"), each after an exponentially distributed wait with mean
   * `meanIntervalMs`: the peers, then the superior layer. `onReport` gets each
   * round's results (or its error). Returns the function that stops it.
   */
  examineEvery(
    meanIntervalMs: number,
    onReport: (report: { peers?: PeerExamination; superior?: SuperiorExamination; error?: unknown }) => void,
  ): () => void {
    if (!Number.isFinite(meanIntervalMs) || meanIntervalMs <= 0) {
      throw new InvalidInputError("meanIntervalMs must be a positive number", { meanIntervalMs });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    // setTimeout takes at most 2^31 - 1 ms (longer fires at once): a long wait is chained.
    const MAX_TIMEOUT = 2 ** 31 - 1;
    const wait = (ms: number) => {
      timer = setTimeout(() => (ms > MAX_TIMEOUT ? wait(ms - MAX_TIMEOUT) : void round()), Math.min(ms, MAX_TIMEOUT));
      timer.unref?.();
    };
    const schedule = () => wait(-Math.log(1 - Math.random()) * meanIntervalMs);
    const round = async () => {
      if (stopped || !this.#running) return;
      try {
        const peers = await this.examinePeers();
        const superior = await this.examineSuperior();
        onReport({ peers, superior });
      } catch (error) {
        onReport({ error });
      }
      if (!stopped) schedule();
    };
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /** Links a subordinate layer (a new edge layer's central node, or a layer re-attaching here) by quorum. */
  async linkSubordinate(subordinate: LedgerLayerLink): Promise<Hex> {
    this.#alive();
    const digest = await this.ledger.linkDigest(subordinate);
    const attestation = await this.#collect(digest, (peer) =>
      peer.reviewAttachment("subordinate", subordinate, digest),
    );
    return (await this.ledger.linkSubordinate(subordinate, attestation)).txHash;
  }

  // ---------------------------------------------------------------- checks

  /** Statement 1 (and the frozen-route rule): P comes from the layer it names, addressed here. */
  async #checkSource(t: Transmission): Promise<void> {
    const p: Packet = t.packet;
    checkSummary(p);
    if (p.destination[0] !== this.layerId) {
      throw new LayerError("misrouted", "P is not addressed to this layer next", { next: p.destination[0] });
    }
    const source = sourceLayer(p);
    const links = await this.#links();
    const { superior } = links;
    const link = source === superior.layerId ? superior : await this.#subordinate(links, source);
    if (link === undefined || source === ZERO_WORD) {
      throw new LayerError("unknown-source", "the source layer is neither a subordinate nor the superior", { source });
    }
    const next = p.destination[1];
    if (next !== undefined && next !== superior.layerId && (await this.#subordinate(links, next)) === undefined) {
      throw new LayerError("misrouted", "the layer after this one is neither a subordinate nor the superior", { next });
    }
    const viaSuperior = source === superior.layerId || next === superior.layerId;
    if (viaSuperior && links.frozen) {
      throw new LayerError("frozen", "the route crosses the superior layer found lost", { superior: superior.layerId });
    }
    if (link.chainId === 0n) {
      // An edge layer: its central node (the link's account) signed P.
      if (p.source.length !== 1 || t.edgeSignature === undefined) {
        throw new LayerError("bad-source", "a packet from an edge layer needs its central node's signature");
      }
      let signer: string;
      try {
        signer = verifyMessage(getBytes(packetDigest(p, this.chainId)), t.edgeSignature);
      } catch (cause) {
        throw new LayerError("bad-source", "the central node's signature is malformed", { cause: String(cause) });
      }
      if (!same(signer, link.ledger)) {
        throw new LayerError("bad-source", "the packet is not signed by the edge layer's central node", {
          signer,
          centralNode: link.ledger,
        });
      }
      return;
    }
    // A high-level layer: its ledger on its chain holds Sum(M) in the block it handled P in.
    await checkLedgerHolds(this.#o.directory, link, p, this.ledger);
  }

  /**
   * The layer's links (superior, its frozen flag, subordinates looked up so
   * far) as of the ledger's links version: every change of a link moves it,
   * so one `linksVersion` call tells whether the cached links still hold.
   */
  async #links(): Promise<Links> {
    const version = await this.ledger.linksVersion();
    if (this.#linkCache?.version !== version) {
      const superior = await this.ledger.superior();
      const frozen = superior.layerId !== ZERO_WORD && (await this.ledger.isSuperiorFrozen());
      this.#linkCache = { version, superior, frozen, subordinates: new Map() };
    }
    return this.#linkCache;
  }

  async #subordinate(links: Links, layerId: Hex): Promise<LedgerLayerLink | undefined> {
    if (!links.subordinates.has(layerId)) links.subordinates.set(layerId, await this.ledger.subordinate(layerId));
    return links.subordinates.get(layerId);
  }

  #linkCache: Links | undefined;

  /** A following P belongs to the contract its block was opened for (the same two edge layers). */
  async #checkContract(blockId: Hex, p: Packet): Promise<void> {
    let known = this.#contracts.get(blockId) ?? (await this.#endsFromOpening(blockId));
    for (const peer of this.#peers) {
      if (known !== undefined) break;
      known = await withTimeout(peer.contractOf(blockId), this.#timeout).catch(() => undefined);
    }
    if (known === undefined) throw new LayerError("unknown-block", "no member knows what the block was opened for");
    this.#contracts.set(blockId, known);
    const e = ends(p);
    const sameEnds =
      (e.origin === known.origin && e.end === known.end) || (e.origin === known.end && e.end === known.origin);
    if (!sameEnds)
      throw new LayerError("wrong-contract", "P runs between other edge layers than the block", { blockId });
  }

  /** The ends of a block this member reviewed the opening of (remembered by summary until the block id was known). */
  async #endsFromOpening(blockId: Hex): Promise<ContractEnds | undefined> {
    for (const [summary, e] of this.#pending) {
      const at = await this.ledger.openingOf(summary);
      if (at === undefined) continue;
      this.#pending.delete(summary);
      this.#contracts.set(at.blockId, e);
    }
    return this.#contracts.get(blockId);
  }

  /** Whether `peer` answers a fresh challenge with the key `keys` holds for it. */
  async #challenge(peer: LayerPeer, keys: { ledger: SummaryLedgerClient; layerId: Hex; chainId: bigint }) {
    try {
      const nonce = randomBytes(32);
      const digest = challengeDigest(keys.layerId, keys.ledger.address, keys.chainId, peer.index, nonce);
      const answer = await withTimeout(peer.answer({ nonce }), this.#timeout);
      if (!(await this.#isRegisteredKey(keys.ledger, keys.chainId, peer.index, peer.publicKey))) return false;
      return this.#bls.verify(peer.publicKey, digest, answer);
    } catch {
      return false;
    }
  }

  async #reachesMember(node: string): Promise<boolean> {
    const peer = this.#peers.find((x) => same(x.node, node));
    return peer !== undefined && (await this.#challenge(peer, this.#self()));
  }

  /** Challenges the valid members of `link`'s layer, reached through `reach`, against its ledger's keys. */
  async #examineLayer(link: LedgerLayerLink): Promise<ExaminedNode[]> {
    let ledger: SummaryLedgerClient;
    let count: number;
    let validMask: bigint;
    try {
      ledger = await this.#o.directory.ledger(link);
      ({ count, validMask } = await ledger.membership());
    } catch {
      return [];
    }
    const nodes = this.#o.reach?.(link.layerId) ?? [];
    const out: ExaminedNode[] = [];
    for (let i = 0; i < count; i++) {
      if (((validMask >> BigInt(i)) & 1n) === 0n) continue;
      const peer = nodes.find((n) => n.index === i);
      const node = peer?.node ?? (await ledger.member(i)).node;
      const passed =
        peer !== undefined && (await this.#challenge(peer, { ledger, layerId: link.layerId, chainId: link.chainId }));
      out.push({ index: i, node, passed });
    }
    return out;
  }

  /** Whether `publicKey` (compressed) is member `index`'s valid registered key in `ledger`. */
  async #isRegisteredKey(
    ledger: SummaryLedgerClient,
    chainId: bigint,
    index: number,
    publicKey: Uint8Array,
  ): Promise<boolean> {
    // A member index's key never changes (validity does, and callers read it from the valid mask).
    const slot = `${chainId}:${ledger.address}:${index}`;
    let registered = this.#keys.get(slot);
    if (registered === undefined) {
      registered = (await ledger.member(index)).publicKey.toLowerCase() as Hex;
      this.#keys.set(slot, registered);
    }
    const given = toHex(publicKey);
    let encoded = this.#encoded.get(given);
    if (encoded === undefined) {
      const backend = this.#o.backend;
      encoded = toHex(g2ToEip2537(backend, backend.g2.fromBytes(publicKey)));
      this.#encoded.set(given, encoded);
    }
    return encoded === registered;
  }

  /**
   * Collects partial signatures over `digest`: this member's (after
   * `ownCheck`) and its valid peers' (`among`, default all), each checked
   * against the member's registered key; an attestation once a quorum signed,
   * or, when `unanimous`, only if every one asked signed.
   */
  async #collect(
    digest: Hex,
    ask: (peer: LayerPeer) => Promise<Uint8Array>,
    options: {
      among?: readonly LayerPeer[];
      unanimous?: boolean;
      ownCheck?: () => Promise<void>;
      /** A verdict on this member: the quorum is the others', counted without it (as the ledger counts it). */
      judged?: number;
    } = {},
  ): Promise<Attestation> {
    await options.ownCheck?.();
    const { validMask } = await this.ledger.membership();
    const valid = (i: number) => ((validMask >> BigInt(i)) & 1n) === 1n;
    const asked = (options.among ?? this.#peers).filter((peer) => valid(peer.index));
    const message = getBytes(digest);
    const answers = await Promise.all(
      asked.map(async (peer) => {
        try {
          const signature = await withTimeout(ask(peer), this.#timeout);
          if (!(await this.#isRegisteredKey(this.ledger, this.chainId, peer.index, peer.publicKey))) {
            return { peer, refusal: "key" };
          }
          if (!this.#bls.verify(peer.publicKey, message, signature)) return { peer, refusal: "signature" };
          return { peer, partial: { index: peer.index, signature } as PartialAttestation };
        } catch (e) {
          return { peer, refusal: e instanceof StrataError ? e.shortMessage : String(e) };
        }
      }),
    );
    const partials: PartialAttestation[] = [
      { index: this.index, signature: partialAttestation(this.#o.backend, this.#secretKey, digest) },
      ...answers.flatMap((a) => (a.partial ? [a.partial] : [])),
    ];
    const refusals = answers
      .filter((a) => a.refusal !== undefined)
      .map((a) => ({ index: a.peer.index, why: a.refusal }));
    if (options.unanimous && refusals.length > 0) {
      throw new LayerError("disputed", "not every member asked agreed", { refusals });
    }
    let n = 0;
    for (let i = 0; i < 64; i++) if (valid(i) && i !== options.judged) n++;
    if (partials.length < quorumOf(n)) {
      throw new LayerError("no-quorum", `${partials.length} of the quorum of ${quorumOf(n)} agreed`, { refusals });
    }
    return aggregateAttestation(this.#o.backend, partials);
  }

  async #sameDigest(given: Hex, expected: Hex): Promise<void> {
    if (given.toLowerCase() !== expected.toLowerCase()) {
      throw new LayerError("disputed", "the digest to sign is not the ledger's", { given, expected });
    }
  }

  #self() {
    return { ledger: this.ledger, layerId: this.layerId, chainId: this.chainId };
  }

  #alive(): void {
    if (!this.#running) throw new LayerError("stopped", "the node is stopped", { node: this.node });
  }

  async #now(): Promise<bigint> {
    const provider = this.ledger.runner.provider as Provider | null;
    if (!provider) throw new TransportError("the ledger's runner has no provider");
    const block = await provider.getBlock("latest");
    if (!block) throw new TransportError("no latest block");
    return BigInt(block.timestamp);
  }

  #alarm(kind: LayerAlarm["kind"], txHash: Hex | undefined, details: LayerAlarm["details"]): void {
    this.#o.onAlarm?.({ kind, layerId: this.layerId, node: this.node, txHash, details });
  }

  #hop(
    outcome: Hop["outcome"],
    blockId: Hex,
    extra: Partial<Omit<Hop, "outcome" | "blockId" | "layerId" | "chainId" | "node">>,
  ): Hop {
    return {
      layerId: this.layerId,
      chainId: this.chainId,
      node: this.node,
      outcome,
      blockId,
      accomplished: false,
      ...extra,
    };
  }
}

interface Links {
  readonly version: bigint;
  readonly superior: LedgerLayerLink;
  readonly frozen: boolean;
  readonly subordinates: Map<Hex, LedgerLayerLink | undefined>;
}

function ends(p: Packet): ContractEnds {
  return { origin: p.source[0]!, end: p.destination[p.destination.length - 1]! };
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
