/**
 * Collecting a layer decision: this member's signature and its peers' over a
 * ledger digest, each checked against the signer's registered key, aggregated
 * once the signers are what the ledger takes (`isQuorum`), or, for a verdict
 * on a member, what the unanimous-invalid rule asks (`isInvalidVerdict`).
 */
import { getBytes } from "ethers";

import { withTimeout } from "../core/async.ts";
import { type Hex } from "../core/bytes.ts";
import {
  aggregateAttestation,
  type Attestation,
  type PartialAttestation,
  signerBitmap,
} from "../core/layers/attestation.ts";
import { hasMember, isInvalidVerdict, isQuorum, isUnanimous, quorumAmong } from "../core/layers/quorum.ts";
import { StrataError } from "../errors.ts";
import type { RegisteredKeys } from "./key-cache.ts";
import type { MemberContext } from "./member.ts";
import { LayerError, type LayerPeer } from "./network.ts";

export interface CollectOptions {
  /** The peers to ask (default all); only the valid ones are asked. */
  readonly among?: readonly LayerPeer[];
  /** This member's own check before it signs (it throws when the member would not sign). */
  readonly ownCheck?: () => Promise<void>;
  /**
   * A verdict on member `verdictOn`: every peer asked must agree, and the
   * quorum is the others', counted without it (as the ledger counts it).
   */
  readonly verdictOn?: number;
}

/**
 * Collects partial signatures over `digest`: this member's (after
 * `ownCheck`) and its valid peers' (`ask`), each checked against the peer's
 * registered key; the attestation once the decision rule holds, else
 * `LayerError("no-quorum")` (or `"disputed"` when a verdict was not unanimous).
 */
export async function collectAttestation(
  member: MemberContext,
  keys: RegisteredKeys,
  digest: Hex,
  ask: (peer: LayerPeer) => Promise<Uint8Array>,
  options: CollectOptions = {},
): Promise<Attestation> {
  await options.ownCheck?.();
  const { validMask } = await member.ledger.membership();
  const asked = (options.among ?? member.peers).filter((peer) => hasMember(validMask, peer.index));
  const message = getBytes(digest);
  const answers = await Promise.all(
    asked.map(async (peer) => {
      try {
        const signature = await withTimeout(ask(peer), member.timeoutMs);
        if (!(await keys.isRegistered(member.ledger, member.chainId, peer.index, peer.publicKey))) {
          return { peer, refusal: "key" };
        }
        if (!member.bls.verify(peer.publicKey, message, signature)) return { peer, refusal: "signature" };
        return { peer, partial: { index: peer.index, signature } as PartialAttestation };
      } catch (e) {
        return { peer, refusal: e instanceof StrataError ? e.shortMessage : String(e) };
      }
    }),
  );
  const partials: PartialAttestation[] = [
    { index: member.index, signature: member.sign(digest) },
    ...answers.flatMap((a) => (a.partial ? [a.partial] : [])),
  ];
  const refusals = answers.filter((a) => a.refusal !== undefined).map((a) => ({ index: a.peer.index, why: a.refusal }));
  const agreed = signerBitmap(partials.map((p) => p.index));
  const judged = options.verdictOn;
  if (judged !== undefined) {
    const askedBits = asked.length === 0 ? 0n : signerBitmap(asked.map((peer) => peer.index));
    if (!isInvalidVerdict({ validMask, judged, asked: askedBits, agreed })) {
      if (!isUnanimous(askedBits, agreed)) {
        throw new LayerError("disputed", "not every member asked agreed", { refusals });
      }
      throw noQuorum(partials.length, quorumAmong(validMask, 1n << BigInt(judged)), refusals);
    }
  } else if (!isQuorum(agreed, validMask)) {
    throw noQuorum(partials.length, quorumAmong(validMask), refusals);
  }
  return aggregateAttestation(member.backend, partials);
}

function noQuorum(agreed: number, quorum: number, refusals: readonly { index: number; why?: string }[]): LayerError {
  return new LayerError("no-quorum", `${agreed} of the quorum of ${quorum} agreed`, { refusals });
}
