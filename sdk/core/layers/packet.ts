/**
 * Contract communication of seed 003 §IV.B: P = {I, C, M}. Sum(M) =
 * keccak256(M ‖ uint64 time), the summary a layer's ledger records; C = {A_d,
 * A_s}, the destination and source sequences of layer ids (32-byte words, as
 * `SummaryLedger` names layers); I = Sum(M) and the block ids collected so far.
 * Each layer P crosses shifts its id from the front of A_d to the end of A_s
 * (`forward`). A first communication collects one block id per layer crossed;
 * a following one carries them all and each layer takes its own from I(1),
 * then moves it to the end (the paper's rotation of I_2). The ending tag
 * (statement 6) travels with P. Pure: bytes in, bytes out.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";

import { PacketError } from "../../errors.ts";

export { PacketError, type PacketRejection } from "../../errors.ts";
import { concat, fromHex, type Hex, toHex } from "../bytes.ts";

/** A contract communication P = {I, C, M}, with M's time. */
export interface Packet {
  /** I: Sum(M) first, then the block ids collected along the route. */
  readonly ids: readonly Hex[];
  /** A_d: the layers still to cross, next first. */
  readonly destination: readonly Hex[];
  /** A_s: the layers crossed, the origin first. */
  readonly source: readonly Hex[];
  readonly message: Uint8Array;
  /** M's time, part of Sum(M) (the sender's clock; edge central nodes use strictly rising milliseconds). */
  readonly time: bigint;
  /** The tag of contract ending (statement 6). */
  readonly ending: boolean;
}

const VERSION = 1;
const MAX_ENTRIES = 255;
const MAX_MESSAGE = 0xffffffff;

/** Sum(M) = keccak256(M ‖ uint64 big-endian time): the summary the ledger records. */
export function summaryOf(message: Uint8Array, time: bigint): Hex {
  if (!(message instanceof Uint8Array)) throw new PacketError("malformed", "message must be a Uint8Array");
  return toHex(keccak_256(concat(message, u64(time))));
}

/** The first communication's packet: I = {Sum(M)}, A_d = the route, A_s = {origin}. */
export function newPacket(
  message: Uint8Array,
  time: bigint,
  origin: Hex,
  destination: readonly Hex[],
  ending = false,
): Packet {
  const p = { ids: [summaryOf(message, time)], destination: [...destination], source: [origin], message, time, ending };
  return checkPacket(p);
}

/**
 * Statement 2: whether P is a first communication, I holding no block id for
 * the layers still ahead. A first communication has collected one id per
 * high-level layer crossed (|I| = |A_s|: Sum(M) and the origin edge layer's
 * none); a following one carries the ids of every high-level layer on the
 * route (|I| > |A_s| until it arrives).
 */
export function isFirstCommunication(p: Packet): boolean {
  return p.ids.length === p.source.length;
}

/** The block id the next layer handles a following communication in: I(1). Undefined for a first communication. */
export function nextBlockId(p: Packet): Hex | undefined {
  return isFirstCommunication(p) ? undefined : p.ids[1];
}

/**
 * A following communication on the contract `last` belongs to: `last` is the
 * latest packet delivered on it (either direction, arrived: A_d = {its edge
 * layer}); `from` is the edge layer sending, either end. The receiver replies
 * along the reversed route with the block ids reversed; the original sender
 * continues along the same route with the ids in route order.
 */
export function followUp(last: Packet, from: Hex, message: Uint8Array, time: bigint, ending = false): Packet {
  const p = checkPacket(last);
  const sender = word(from, "from");
  if (p.destination.length !== 1 || p.ids.length !== p.source.length) {
    throw new PacketError("not-arrived", "the packet has not arrived at its edge layer with every block id");
  }
  const blocks = p.ids.slice(1);
  const summary = summaryOf(message, time);
  let next: Omit<Packet, "message" | "time" | "ending">;
  if (sender === p.destination[0]) {
    next = { ids: [summary, ...blocks.reverse()], destination: [...p.source].reverse(), source: [sender] };
  } else if (sender === p.source[0]) {
    next = { ids: [summary, ...blocks], destination: [...p.source.slice(1), ...p.destination], source: [sender] };
  } else {
    throw new PacketError("not-party", "the sender is neither end of the contract's route", { from: sender });
  }
  if (next.ids.length - 1 !== next.destination.length - 1 || blocks.length === 0) {
    throw new PacketError("block-id", "the route and its block ids do not match", { blocks: blocks.length });
  }
  return checkPacket({ ...next, message, time, ending });
}

/** The layer P names as its sender: the last entry of A_s. */
export function sourceLayer(p: Packet): Hex {
  return checkPacket(p).source[p.source.length - 1]!;
}

/**
 * High-level layer `layer` passes P on: its id moves from the front of A_d to
 * the end of A_s. A first communication adds the layer's new block id
 * `blockId` to I; a following one moves I(1), the layer's block (which
 * `blockId` must equal when given), to the end. Refused unless `layer` is next
 * and another layer follows it.
 */
export function forward(p: Packet, layer: Hex, blockId?: Hex): Packet {
  const packet = checkPacket(p);
  const id = word(layer, "layer");
  const next = packet.destination[0];
  if (next === undefined || packet.destination.length < 2)
    throw new PacketError("no-destination", "no layer is left after this one", { layer: id });
  if (next !== id) throw new PacketError("not-next-layer", "the layer is not the packet's next", { layer: id, next });
  let ids: Hex[];
  if (isFirstCommunication(packet)) {
    if (blockId === undefined) throw new PacketError("block-id", "a first communication needs the layer's block id");
    ids = [...packet.ids, word(blockId, "blockId")];
  } else {
    const own = packet.ids[1]!;
    if (blockId !== undefined && word(blockId, "blockId") !== own) {
      throw new PacketError("block-id", "the block id is not this layer's block id in the packet", {
        blockId,
        expected: own,
      });
    }
    ids = [packet.ids[0]!, ...packet.ids.slice(2), own];
  }
  return checkPacket({
    ids,
    destination: packet.destination.slice(1),
    source: [...packet.source, id],
    message: packet.message,
    time: packet.time,
    ending: packet.ending,
  });
}

/**
 * The inverse of `forward` for a first communication: P as the layer that
 * passed it on (the last of A_s) received it, whose route hash that layer's
 * quorum attested when it opened its block.
 */
export function previousHop(p: Packet): Packet {
  const packet = checkPacket(p);
  if (!isFirstCommunication(packet) || packet.ids.length < 2) {
    throw new PacketError("block-id", "only a first communication that crossed a layer has a previous hop");
  }
  return checkPacket({
    ids: packet.ids.slice(0, -1),
    destination: [packet.source[packet.source.length - 1]!, ...packet.destination],
    source: packet.source.slice(0, -1),
    message: packet.message,
    time: packet.time,
    ending: packet.ending,
  });
}

/** keccak256 of C and I as `encodeRoute` lays them out: the `route` of a ledger's open request. */
export function routeHash(p: Packet): Hex {
  return toHex(keccak_256(encodeRoute(p)));
}

/** Checks I[0] = Sum(M). */
export function checkSummary(p: Packet): void {
  const expected = summaryOf(p.message, p.time);
  if (p.ids[0] !== expected)
    throw new PacketError("wrong-summary", "the packet's first id is not its message's summary", {
      expected,
      got: p.ids[0],
    });
}

/** version ‖ C and I ‖ uint64 time ‖ ending (0/1) ‖ uint32 |M| ‖ M. */
export function encodePacket(p: Packet): Uint8Array {
  const packet = checkPacket(p);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, packet.message.length);
  const ending = Uint8Array.of(packet.ending ? 1 : 0);
  return concat(Uint8Array.of(VERSION), encodeRoute(packet), u64(packet.time), ending, length, packet.message);
}

/** The inverse of `encodePacket`; refuses trailing or missing bytes. */
export function decodePacket(bytes: Uint8Array): Packet {
  if (!(bytes instanceof Uint8Array)) throw new PacketError("malformed", "bytes must be a Uint8Array");
  let at = 0;
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new PacketError("malformed", "the packet is truncated", { at, need: n });
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const version = take(1)[0];
  if (version !== VERSION) throw new PacketError("malformed", `unknown packet version ${version}`);
  const words = (): Hex[] => Array.from({ length: take(1)[0]! }, () => toHex(take(32)));
  const destination = words();
  const source = words();
  const ids = words();
  const time = new DataView(take(8).slice().buffer).getBigUint64(0);
  const flag = take(1)[0]!;
  if (flag > 1) throw new PacketError("malformed", `the ending tag must be 0 or 1, got ${flag}`);
  const length = new DataView(take(4).slice().buffer).getUint32(0);
  const message = take(length).slice();
  if (at !== bytes.length)
    throw new PacketError("malformed", "trailing bytes after the packet", { extra: bytes.length - at });
  return checkPacket({ ids, destination, source, message, time, ending: flag === 1 });
}

/** |A_d| ‖ A_d ‖ |A_s| ‖ A_s ‖ |I| ‖ I, each entry a 32-byte word. */
function encodeRoute(p: Packet): Uint8Array {
  const list = (xs: readonly Hex[], what: string) =>
    concat(Uint8Array.of(xs.length), ...xs.map((x, i) => fromHex(x, `${what}[${i}]`, 32)));
  return concat(list(p.destination, "destination"), list(p.source, "source"), list(p.ids, "ids"));
}

/** Checks that `p` is a well-formed packet (every field of the right type and size); returns a clean copy. */
export function checkPacket(p: Packet): Packet {
  if (typeof p !== "object" || p === null) throw new PacketError("malformed", "a packet must be an object");
  if (!(p.message instanceof Uint8Array) || p.message.length > MAX_MESSAGE) {
    throw new PacketError("malformed", "message must be a Uint8Array of at most 2^32 - 1 bytes");
  }
  u64(p.time);
  if (typeof p.ending !== "boolean") throw new PacketError("malformed", "ending must be a boolean");
  const list = (xs: readonly Hex[], what: string, min: number) => {
    if (!Array.isArray(xs) || xs.length < min || xs.length > MAX_ENTRIES) {
      throw new PacketError("malformed", `${what} must hold ${min} to ${MAX_ENTRIES} entries`);
    }
    return xs.map((x, i) => word(x, `${what}[${i}]`));
  };
  return {
    ids: list(p.ids, "ids", 1),
    destination: list(p.destination, "destination", 0),
    source: list(p.source, "source", 1),
    message: p.message,
    time: p.time,
    ending: p.ending,
  };
}

function word(value: Hex, what: string): Hex {
  try {
    return toHex(fromHex(value, what, 32));
  } catch (cause) {
    throw new PacketError("malformed", `${what} must be a 32-byte word`, { value, cause: String(cause) });
  }
}

function u64(time: bigint): Uint8Array {
  if (typeof time !== "bigint" || time < 0n || time >= 1n << 64n) {
    throw new PacketError("malformed", "time must be a bigint in [0, 2^64)", { time: String(time) });
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, time);
  return out;
}
