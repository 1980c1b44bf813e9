/**
 * Self-examination: a member challenges its peers and the superior layer's
 * members; a challenge answered with the member's registered BLS key proves
 * both liveness and key validity. A peer that fails is tagged invalid by the
 * unanimous-invalid rule; a superior layer none of whose members answers is
 * declared lost by a quorum (the on-chain alarm), which freezes routes through
 * it until the layer re-attaches. The rules themselves are `core/layers/quorum.ts`'s.
 */
import { randomBytes } from "node:crypto";

import { withTimeout } from "../core/async.ts";
import { type Hex } from "../core/bytes.ts";
import type { Attestation } from "../core/layers/attestation.ts";
import { challengeDigest } from "../core/layers/contract.ts";
import { answersAsLayer, hasMember, superiorStatus } from "../core/layers/quorum.ts";
import type { LedgerLayerLink, SummaryLedgerClient } from "../contracts/ledger.ts";
import { InvalidInputError } from "../errors.ts";
import { collectAttestation } from "./attestations.ts";
import type { RegisteredKeys } from "./key-cache.ts";
import { isLinked, type KeyedLedger, type MemberContext } from "./member.ts";
import { LayerError, type LayerPeer } from "./network.ts";

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

/** What one round of `examineEvery` reports. */
export interface ExaminationReport {
  readonly peers?: PeerExamination;
  readonly superior?: SuperiorExamination;
  readonly error?: unknown;
}

export class Examination {
  readonly #member: MemberContext;
  readonly #keys: RegisteredKeys;

  constructor(member: MemberContext, keys: RegisteredKeys) {
    this.#member = member;
    this.#keys = keys;
  }

  /** Whether `peer` answers a fresh challenge with the key `at`'s ledger registered for it. */
  async challenge(peer: LayerPeer, at: KeyedLedger): Promise<boolean> {
    const m = this.#member;
    try {
      const nonce = randomBytes(32);
      const digest = challengeDigest(at.layerId, at.ledger.address, at.chainId, peer.index, nonce);
      const answer = await withTimeout(peer.answer({ nonce }), m.timeoutMs);
      if (!(await this.#keys.isRegistered(at.ledger, at.chainId, peer.index, peer.publicKey))) return false;
      return m.bls.verify(peer.publicKey, digest, answer);
    } catch {
      return false;
    }
  }

  /** Whether the peer whose account is `node` answers this node's challenge. */
  async reachesMember(node: string): Promise<boolean> {
    const peer = this.#member.peerByNode(node);
    return peer !== undefined && (await this.challenge(peer, this.#member.self()));
  }

  /**
   * Challenges the valid members of `link`'s layer, reached through the
   * `reach` option, against its ledger's keys; with that layer's valid members
   * (none when its ledger cannot be read).
   */
  async examineLayer(link: LedgerLayerLink): Promise<{ examined: ExaminedNode[]; validMask: bigint }> {
    let layer: Awaited<ReturnType<Examination["readLayer"]>>;
    try {
      layer = await this.readLayer(link);
    } catch {
      return { examined: [], validMask: 0n };
    }
    return { examined: await this.#examineMembers(link, layer), validMask: layer.validMask };
  }

  /** `link`'s ledger and membership; the directory's or the ledger's error when it cannot be read. */
  async readLayer(link: LedgerLayerLink): Promise<{ ledger: SummaryLedgerClient; count: number; validMask: bigint }> {
    const ledger = await this.#member.options.directory.ledger(link);
    const { count, validMask } = await ledger.membership();
    return { ledger, count, validMask };
  }

  async #examineMembers(
    link: LedgerLayerLink,
    { ledger, count, validMask }: { ledger: SummaryLedgerClient; count: number; validMask: bigint },
  ): Promise<ExaminedNode[]> {
    const nodes = this.#member.options.reach?.(link.layerId) ?? [];
    const examined: ExaminedNode[] = [];
    for (let i = 0; i < count; i++) {
      if (!hasMember(validMask, i)) continue;
      const peer = nodes.find((n) => n.index === i);
      const node = peer?.node ?? (await ledger.member(i)).node;
      const passed =
        peer !== undefined && (await this.challenge(peer, { ledger, layerId: link.layerId, chainId: link.chainId }));
      examined.push({ index: i, node, passed });
    }
    return examined;
  }

  /** `LayerError("unreachable")` unless `link`'s layer answers as a layer (a quorum of its members); an edge layer always does. */
  async checkAnswersAsLayer(link: LedgerLayerLink): Promise<void> {
    if (link.chainId === 0n) return;
    const layer = await this.readLayer(link);
    const examined = await this.#examineMembers(link, layer);
    const answered = examined.reduce((bits, n) => (n.passed ? bits | (1n << BigInt(n.index)) : bits), 0n);
    if (!answersAsLayer(answered, layer.validMask)) {
      throw new LayerError("unreachable", "fewer than a quorum of the layer's members answer", {
        layerId: link.layerId,
      });
    }
  }

  /** Whether the superior layer is lost as this member finds it (`LayerError("disputed")` when some node of it answers). */
  async checkSuperiorLost(): Promise<void> {
    const link = await this.#member.ledger.superior();
    const { examined } = await this.examineLayer(link);
    const status = superiorStatus({ linked: isLinked(link), frozen: false, answered: examined.map((n) => n.passed) });
    if (status === "none") throw new LayerError("disputed", "no superior layer is linked");
    if (status !== "lost") {
      throw new LayerError("disputed", "a node of the superior layer answers", { superior: link.layerId });
    }
  }

  /** Challenges every other valid member; tags invalid those the others unanimously find failed. */
  async examinePeers(): Promise<PeerExamination> {
    const m = this.#member;
    m.alive();
    const { validMask } = await m.ledger.membership();
    const examined: ExaminedNode[] = [];
    for (const peer of m.peers.filter((x) => hasMember(validMask, x.index))) {
      examined.push({ index: peer.index, node: peer.node, passed: await this.challenge(peer, m.self()) });
    }
    const passers = m.peers.filter((peer) => examined.some((e) => e.index === peer.index && e.passed));
    const invalidated = [];
    const disputed = [];
    for (const failed of examined.filter((e) => !e.passed)) {
      const digest = await m.ledger.invalidateDigest(failed.index);
      let attestation: Attestation;
      try {
        attestation = await collectAttestation(
          m,
          this.#keys,
          digest,
          (peer) => peer.judgeMember(failed.index, digest),
          {
            among: passers,
            verdictOn: failed.index,
          },
        );
      } catch (e) {
        if (e instanceof LayerError && (e.reason === "no-quorum" || e.reason === "disputed")) {
          disputed.push(failed.index);
          continue;
        }
        throw e;
      }
      const r = await m.ledger.invalidate(failed.index, attestation);
      invalidated.push({ index: failed.index, node: r.node, txHash: r.hash });
    }
    return { examined, invalidated, disputed };
  }

  /** Challenges every valid member of the superior layer; when none answers, the quorum raises the alarm and freezes routes through it. */
  async examineSuperior(): Promise<SuperiorExamination> {
    const m = this.#member;
    m.alive();
    const superior = await m.ledger.superior();
    if (!isLinked(superior)) return { status: "none", examined: [] };
    if (await m.ledger.isSuperiorFrozen()) return { status: "frozen", superior, examined: [] };
    const { examined } = await this.examineLayer(superior);
    const status = superiorStatus({ linked: true, frozen: false, answered: examined.map((n) => n.passed) });
    if (status !== "lost") return { status, superior, examined };
    const digest = await m.ledger.superiorLostDigest();
    const attestation = await collectAttestation(m, this.#keys, digest, (peer) => peer.judgeSuperior(digest));
    const r = await m.ledger.superiorLost(attestation);
    m.alarm("superior-lost", r.hash, { superior: superior.layerId });
    return { status: "lost", superior, examined, txHash: r.hash };
  }

  /** Re-attaches the layer to `superior` once a quorum of peers find it answering (the beginning block's update). */
  async reattach(superior: LedgerLayerLink): Promise<Hex> {
    const m = this.#member;
    m.alive();
    const digest = await m.ledger.reattachDigest(superior);
    const attestation = await collectAttestation(
      m,
      this.#keys,
      digest,
      (peer) => peer.reviewAttachment("superior", superior, digest),
      { ownCheck: () => this.checkAnswersAsLayer(superior) },
    );
    return (await m.ledger.reattach(superior, attestation)).hash;
  }

  /**
   * Runs self-examinations at random intervals, each after an exponentially
   * distributed wait with mean `meanIntervalMs`: the peers, then the superior
   * layer. `onReport` gets each round's results (or its error). Returns the
   * function that stops it.
   */
  examineEvery(meanIntervalMs: number, onReport: (report: ExaminationReport) => void): () => void {
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
      if (stopped || !this.#member.running) return;
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
}
