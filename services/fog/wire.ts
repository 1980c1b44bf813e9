/**
 * The JSON forms of a fog cluster's messages between members (seed 004's sign-share round over
 * HTTP), with their schemas: a batch proposal and a member's endorsement. Bytes travel as
 * lower-case hex, big numbers as decimal strings.
 */
import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import type { PairingBackend } from "../../sdk/core/crypto/backend.ts";
import { MAX_KEYWORDS, MAX_PAYLOAD } from "../../sdk/core/fog/reading-bytes.ts";
import type { BatchProposal, Endorsement } from "../../sdk/fog/fog-node.ts";
import { InvalidInputError } from "../../sdk/errors.ts";

/** The largest encoded reading (a full payload, every keyword slot, headers and signature). */
export const MAX_READING_BYTES = MAX_PAYLOAD + MAX_KEYWORDS * 80 + 256;

export interface ProposalJson {
  readonly cluster: Hex;
  readonly sequence: string;
  readonly root: Hex;
  readonly leafCount: number;
  readonly readings: readonly Hex[];
  readonly ids: readonly number[];
  readonly proposer: number;
}

export const proposalSchema = (max: number) =>
  ({
    type: "object",
    additionalProperties: false,
    required: ["cluster", "sequence", "root", "leafCount", "readings", "ids", "proposer"],
    properties: {
      cluster: { type: "string", pattern: "^0x[0-9a-f]{64}$" },
      sequence: { type: "string", pattern: "^[1-9][0-9]{0,19}$" },
      root: { type: "string", pattern: "^0x[0-9a-f]{64}$" },
      leafCount: { type: "integer", minimum: 1, maximum: max },
      readings: {
        type: "array",
        minItems: 1,
        maxItems: max,
        items: { type: "string", pattern: "^0x([0-9a-f]{2})+$", maxLength: 2 + 2 * MAX_READING_BYTES },
      },
      ids: { type: "array", minItems: 1, maxItems: max, items: { type: "integer", minimum: 1 } },
      proposer: { type: "integer", minimum: 1, maximum: 255 },
    },
  }) as const;

export function proposalToJson(p: BatchProposal): ProposalJson {
  return {
    cluster: p.cluster.toLowerCase() as Hex,
    sequence: String(p.sequence),
    root: p.root.toLowerCase() as Hex,
    leafCount: p.leafCount,
    readings: p.readings.map((r) => toHex(r)),
    ids: [...p.ids],
    proposer: p.proposer,
  };
}

export function proposalFromJson(j: ProposalJson): BatchProposal {
  if (j.readings.length !== j.ids.length) {
    throw new InvalidInputError("a proposal has one id per reading", {
      readings: j.readings.length,
      ids: j.ids.length,
    });
  }
  return {
    cluster: j.cluster,
    sequence: BigInt(j.sequence),
    root: j.root,
    leafCount: j.leafCount,
    readings: j.readings.map((h) => fromHex(h, "reading")),
    ids: j.ids,
    proposer: j.proposer,
  };
}

export type EndorsementJson =
  | {
      readonly ok: true;
      readonly member: number;
      readonly partial: { readonly index: number; readonly signature: Hex };
    }
  | {
      readonly ok: false;
      readonly member: number;
      readonly reason: string;
      readonly at: number;
      readonly anchoredIn?: Hex;
    };

export function endorsementToJson(backend: PairingBackend, e: Endorsement): EndorsementJson {
  if (!e.ok) return { ...e };
  return {
    ok: true,
    member: e.member,
    partial: { index: e.partial.index, signature: toHex(backend.g1.toBytes(e.partial.signature)) },
  };
}

/** A member's answer as the coordinator reads it; a signature that is not a G1 point is a malformed answer. */
export function endorsementFromJson(backend: PairingBackend, j: EndorsementJson): Endorsement {
  if (typeof j !== "object" || j === null || typeof j.member !== "number") {
    throw new InvalidInputError("a member's endorsement is malformed");
  }
  if (!j.ok) {
    return {
      ok: false,
      member: j.member,
      reason: j.reason as Extract<Endorsement, { ok: false }>["reason"],
      at: j.at,
      ...(j.anchoredIn === undefined ? {} : { anchoredIn: j.anchoredIn }),
    };
  }
  return {
    ok: true,
    member: j.member,
    partial: { index: j.partial.index, signature: backend.g1.fromBytes(fromHex(j.partial.signature, "signature", 48)) },
  };
}
