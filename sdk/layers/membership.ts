/**
 * Membership: admitting a node to the layer by quorum (each member challenges
 * the candidate as the member it will become and checks its proof of
 * possession), this node as a candidate itself, and linking a subordinate
 * layer by quorum.
 */
import { randomBytes } from "node:crypto";

import { withTimeout } from "../core/async.ts";
import { type Hex } from "../core/bytes.ts";
import { g1ToEip2537, g2ToEip2537 } from "../core/crypto/eip2537.ts";
import { challengeDigest } from "../core/layers/contract.ts";
import type { LedgerLayerLink } from "../contracts/ledger.ts";
import { collectAttestation } from "./attestations.ts";
import type { RegisteredKeys } from "./key-cache.ts";
import type { MemberContext } from "./member.ts";
import { type JoinCandidate, LayerError } from "./network.ts";

export class Membership {
  readonly #member: MemberContext;
  readonly #keys: RegisteredKeys;

  constructor(member: MemberContext, keys: RegisteredKeys) {
    this.#member = member;
    this.#keys = keys;
  }

  /**
   * Admits `candidate` by quorum: every member challenges it as the member it
   * will become and checks its proof of possession before signing the join,
   * which the candidate then submits from its own account. Returns the new
   * member's index.
   */
  async admit(candidate: JoinCandidate): Promise<number> {
    const m = this.#member;
    m.alive();
    const { publicKey } = this.#joinKeys(candidate);
    const digest = await m.ledger.joinDigest(candidate.node, publicKey);
    const attestation = await collectAttestation(m, this.#keys, digest, (peer) => peer.reviewJoin(candidate, digest), {
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
  candidate(answer: JoinCandidate["answer"]): JoinCandidate {
    const m = this.#member;
    const backend = m.backend;
    const proofOfPossession = m.proveKey();
    return {
      node: m.node,
      publicKey: m.publicKey,
      proofOfPossession,
      answer,
      submitJoin: async (attestation) => {
        const member = {
          node: m.node,
          publicKey: g2ToEip2537(backend, backend.g2.fromBytes(m.publicKey)),
          proofOfPossession: g1ToEip2537(backend, backend.g1.fromBytes(proofOfPossession)),
        };
        const r = await m.ledger.join(member, attestation);
        if (r.index !== m.index) {
          throw new LayerError("misrouted", "the ledger gave this node another index than it answers as", {
            index: r.index,
            expected: m.index,
          });
        }
        return r.index;
      },
    };
  }

  /** Signs admitting `candidate` once it answers a challenge with the key it asks to join with (and proves possession). */
  async reviewJoin(candidate: JoinCandidate, digest: Hex): Promise<Uint8Array> {
    const m = this.#member;
    m.alive();
    const { publicKey } = this.#joinKeys(candidate);
    m.sameDigest(digest, await m.ledger.joinDigest(candidate.node, publicKey));
    if (!m.bls.popVerify(candidate.publicKey, candidate.proofOfPossession)) {
      throw new LayerError("disputed", "the candidate's proof of possession does not verify", { node: candidate.node });
    }
    const { count } = await m.ledger.membership();
    const nonce = randomBytes(32);
    const challenge = challengeDigest(m.layerId, m.ledger.address, m.chainId, count, nonce);
    const answer = await withTimeout(candidate.answer({ nonce }), m.timeoutMs).catch(() => undefined);
    if (answer === undefined || !m.bls.verify(candidate.publicKey, challenge, answer)) {
      throw new LayerError("unreachable", "the candidate does not answer with its key", { node: candidate.node });
    }
    return m.sign(digest);
  }

  /** Links a subordinate layer (a new edge layer's central node, or a layer re-attaching here) by quorum. */
  async linkSubordinate(subordinate: LedgerLayerLink): Promise<Hex> {
    const m = this.#member;
    m.alive();
    const digest = await m.ledger.linkDigest(subordinate);
    const attestation = await collectAttestation(m, this.#keys, digest, (peer) =>
      peer.reviewAttachment("subordinate", subordinate, digest),
    );
    return (await m.ledger.linkSubordinate(subordinate, attestation)).hash;
  }

  #joinKeys(candidate: JoinCandidate): { publicKey: Uint8Array; proofOfPossession: Uint8Array } {
    const backend = this.#member.backend;
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
}
