/**
 * The flow-chain rules of a base station (seed 000, "Foundation block
 * generation" and "Blockchain generation", docs/nbiot.md) as pure steps: each
 * takes where a node's flow stands at the station and one input — a confirmed
 * reading, a node entering with the tip it holds, a handover record from
 * another station, another station's handover request — and gives the flow's
 * next state (and the block to store), or the typed `ProtocolError` that
 * refuses the input. No store, no clock, no I/O: `BaseStation` reads the state
 * from its store, calls a step and writes what it returns.
 *
 * The rules:
 * - a reading extends the flow by exactly one block: sequence number tip + 1
 *   (`out-of-order` otherwise), linked to the tip's hash (zero for the
 *   foundation block), dated no earlier than the tip whatever the station's
 *   clock says; a reading at or below the tip is a resend (`repeatReading`):
 *   the same ciphertext gets the block already made, another one is a
 *   `conflict`, and so is a block this station does not hold;
 * - a flow handed over to another station is not extended (`handed-over`);
 * - a node entering with a tip: a tip beyond ours that it says this station
 *   made, the tip's sequence number with another hash, or a tip here on a
 *   flow this station never held is `forged-tip`; a tip beyond ours made
 *   elsewhere, or held by another station, is taken over from that station;
 * - a handover record is adopted only when its tip is not behind the flow
 *   this station holds (`forged-tip`);
 * - a handover request is answered only for a flow held here (`missing-block`),
 *   not handed to a third station (`handed-over`), with a claimed tip on the
 *   chain this station holds (`forged-tip`).
 */
import { type Hex } from "../bytes.ts";
import { ProtocolError } from "../../errors.ts";
import { type Block, blockHash, ZERO_HASH } from "./block.ts";
import { type ChainTip, equalBytes } from "./handshake.ts";

/** The last block of a flow a station knows (its own or a handed-over one). */
export interface FlowTip {
  /** The station that made the block. */
  readonly bs: Hex;
  readonly seq: number;
  readonly hash: Uint8Array;
  readonly time: number;
}

/** Where a node's flow stands at this station. */
export interface FlowState {
  readonly node: Hex;
  /** The last block of the flow this station knows (its own or a handed-over one). */
  readonly tip: FlowTip;
  /** Set when this station handed the flow to another station and may not extend it. */
  readonly handedOverTo?: Hex;
}

/** A step's refusal: the input is refused and the flow stays as it was. */
export interface FlowRefusal {
  readonly ok: false;
  readonly error: ProtocolError;
}

/** A block with its hash (what a station holds at a sequence number). */
export interface HashedBlock {
  readonly block: Block;
  readonly hash: Uint8Array;
}

/** One confirmed reading of a node at a station (a data frame, opened). */
export interface FlowReading {
  /** The station confirming it. */
  readonly station: Hex;
  readonly node: Hex;
  readonly seq: number;
  /** SHA-256 of the primary ciphertext (`ciphertextDigest`). */
  readonly digest: Uint8Array;
  /** The station's clock (ms). */
  readonly now: number;
}

/**
 * What a reading does to its flow: a new block (`next` is the flow after it), a resend of a
 * reading at or below the tip (look up the block held at `seq` and pass it to
 * `repeatReading`), or a refusal.
 */
export type FlowStep =
  | {
      readonly ok: true;
      readonly kind: "block";
      readonly block: Block;
      readonly hash: Uint8Array;
      readonly next: FlowState;
    }
  | { readonly ok: true; readonly kind: "repeat"; readonly seq: number }
  | FlowRefusal;

function refuse(error: ProtocolError): FlowRefusal {
  return { ok: false, error };
}

/** A claimed tip that is not on the chain this station holds. */
function forgedTip(claimed: number, ours: number): ProtocolError {
  return new ProtocolError("forged-tip", `the claimed tip (block ${claimed}) is not on the chain this station holds`, {
    claimed,
    ours,
  });
}

/**
 * Chains one reading onto `state` (`undefined`: no flow of the node here yet, the reading makes
 * the foundation block).
 */
export function stepFlow(state: FlowState | undefined, reading: FlowReading): FlowStep {
  if (state?.handedOverTo !== undefined) {
    return refuse(
      new ProtocolError("handed-over", "this flow was handed over to another station", { to: state.handedOverTo }),
    );
  }
  const tipSeq = state?.tip.seq ?? 0;
  if (reading.seq <= tipSeq) return { ok: true, kind: "repeat", seq: reading.seq };
  if (reading.seq !== tipSeq + 1) {
    return refuse(
      new ProtocolError("out-of-order", `expected block ${tipSeq + 1}, got ${reading.seq}`, {
        expected: tipSeq + 1,
        got: reading.seq,
      }),
    );
  }
  // a chain's times never run backwards, whatever this clock or the previous station's did
  const time = state === undefined ? reading.now : Math.max(reading.now, state.tip.time);
  const block: Block = {
    node: reading.node,
    bs: reading.station,
    seq: reading.seq,
    time,
    digest: reading.digest,
    prev: state === undefined ? ZERO_HASH : state.tip.hash,
  };
  const hash = blockHash(block);
  return {
    ok: true,
    kind: "block",
    block,
    hash,
    next: { node: reading.node, tip: { bs: reading.station, seq: reading.seq, hash, time } },
  };
}

/**
 * A resent reading (`stepFlow` said `repeat`) against the block this station holds at its
 * sequence number (`undefined`: none, the block was made by another station): the same block
 * again when it holds the same ciphertext, else a `conflict`.
 */
export function repeatReading(
  held: HashedBlock | undefined,
  seq: number,
  digest: Uint8Array,
): { readonly ok: true; readonly block: Block; readonly hash: Uint8Array } | FlowRefusal {
  if (held === undefined) {
    return refuse(new ProtocolError("conflict", `block ${seq} of this flow is held by another station`, { seq }));
  }
  if (!equalBytes(held.block.digest, digest)) {
    return refuse(new ProtocolError("conflict", `block ${seq} already holds a different reading`, { seq }));
  }
  return { ok: true, block: held.block, hash: held.hash };
}

/**
 * A node entering `station` with the tip it holds (`claim`, `undefined`: a node with no
 * blocks yet): whether the station must first take the flow over from another station
 * (`source`), or may go on with the flow it holds (`source` undefined), or the claim is forged.
 */
export function stepEntry(
  state: FlowState | undefined,
  claim: ChainTip | undefined,
  station: Hex,
): { readonly ok: true; readonly source: Hex | undefined } | FlowRefusal {
  const holder = claim?.holder ?? claim?.bs;
  if (state !== undefined && state.handedOverTo === undefined) {
    const tip = state.tip;
    if (claim !== undefined && claim.seq > tip.seq) {
      if (holder === station) return refuse(forgedTip(claim.seq, tip.seq));
      return { ok: true, source: holder }; // the node moved on and came back without a handover through us
    }
    if (claim !== undefined && claim.seq === tip.seq && !equalBytes(claim.hash, tip.hash)) {
      return refuse(forgedTip(claim.seq, tip.seq));
    }
    return { ok: true, source: undefined };
  }
  if (claim !== undefined && holder !== station) return { ok: true, source: holder };
  if (state?.handedOverTo !== undefined) return { ok: true, source: state.handedOverTo };
  if (claim !== undefined) return refuse(forgedTip(claim.seq, 0)); // a tip here that we never made
  return { ok: true, source: undefined };
}

/** The tip a handover record hands to the taking station. */
export interface HandedTip {
  /** The station that made the tip block. */
  readonly origin: Hex;
  readonly tipSeq: number;
  readonly tipHash: Uint8Array;
  readonly tipTime: number;
}

/**
 * The taking station's side of a handover: adopts the record's tip as the flow of `node`,
 * unless it is behind the flow this station holds (`state`), or this station holds a block
 * after it (`holdsBlockAfter`).
 */
export function stepTakeOver(
  state: FlowState | undefined,
  node: Hex,
  record: HandedTip,
  holdsBlockAfter: boolean,
): { readonly ok: true; readonly next: FlowState } | FlowRefusal {
  if (
    (state !== undefined && record.tipSeq < state.tip.seq) ||
    (state !== undefined && record.tipSeq === state.tip.seq && !equalBytes(record.tipHash, state.tip.hash)) ||
    holdsBlockAfter
  ) {
    return refuse(
      new ProtocolError("forged-tip", "the handed-back tip is behind the chain this station holds", {
        tip: record.tipSeq,
        ours: state?.tip.seq,
      }),
    );
  }
  return {
    ok: true,
    next: { node, tip: { bs: record.origin, seq: record.tipSeq, hash: record.tipHash, time: record.tipTime } },
  };
}

/** What a handover request asks of the station holding the flow. */
export interface HandoverAsk {
  readonly node: Hex;
  /** The station taking the flow. */
  readonly to: Hex;
  /** The tip the node holds (sequence 0: none). */
  readonly claimedSeq: number;
  readonly claimedHash: Uint8Array;
}

/**
 * The holding station's side of a handover: the tip it confirms and the flow after it (handed
 * over to `ask.to`, no longer extended here). `heldAtClaim` is the hash of the block this
 * station holds at the claimed sequence number, if any (checked when the claim is below the tip).
 * The station a flow went to may ask again, on a newer request of the node, when it lost the
 * first answer: it gets the same tip, and nothing moves back.
 */
export function stepHandOver(
  state: FlowState | undefined,
  ask: HandoverAsk,
  heldAtClaim: Uint8Array | undefined,
): { readonly ok: true; readonly tip: FlowTip; readonly next: FlowState } | FlowRefusal {
  if (state === undefined) {
    return refuse(new ProtocolError("missing-block", `no flow of node ${ask.node} here`, { node: ask.node }));
  }
  if (state.handedOverTo !== undefined && state.handedOverTo !== ask.to) {
    return refuse(
      new ProtocolError("handed-over", `the flow of ${ask.node} was handed over to ${state.handedOverTo}`, {
        to: state.handedOverTo,
      }),
    );
  }
  const tip = state.tip;
  if (ask.claimedSeq > tip.seq || (ask.claimedSeq === tip.seq && !equalBytes(ask.claimedHash, tip.hash))) {
    return refuse(forgedTip(ask.claimedSeq, tip.seq));
  }
  if (
    ask.claimedSeq > 0 &&
    ask.claimedSeq < tip.seq &&
    heldAtClaim !== undefined &&
    !equalBytes(heldAtClaim, ask.claimedHash)
  ) {
    return refuse(forgedTip(ask.claimedSeq, tip.seq));
  }
  return { ok: true, tip, next: { node: ask.node, tip, handedOverTo: ask.to } };
}
