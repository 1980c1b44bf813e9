/**
 * Contract communication of seed 003 §IV.B: P = {I, C, M}. Sum(M) =
 * keccak256(M ‖ uint64 time), the summary a layer's ledger records; C = {A_d,
 * A_s}, the destination and source sequences of layer ids (32-byte words, as
 * `SummaryLedger` names layers); I = Sum(M) and the block ids collected so far.
 * Each layer P crosses shifts its id from the front of A_d to the end of A_s
 * (`forward`). Pure: bytes in, bytes out.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";

import { StrataError } from "../../errors.ts";
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
  /** M's time (seconds), part of Sum(M). */
  readonly time: bigint;
}

export type PacketRejection = "malformed" | "not-next-layer" | "no-destination" | "wrong-summary";

/** A packet is malformed or cannot take the step asked; `reason` says why. */
export class PacketError extends StrataError {
  override name = "PacketError" as const;
  readonly reason: PacketRejection;

  constructor(reason: PacketRejection, shortMessage: string, details: Record<string, unknown> = {}) {
    super(shortMessage, { reason, ...details });
    this.reason = reason;
  }
}

const VERSION = 1;
const MAX_ENTRIES = 255;
const MAX_MESSAGE = 0xffffffff;

/** Sum(M) = keccak256(M ‖ uint64 big-endian time): the summary the ledger records. */
export function summaryOf(message: Uint8Array, time: bigint): Hex {
  if (!(message instanceof Uint8Array)) throw new PacketError("malformed", "message must be a Uint8Array");
  return toHex(keccak_256(concat(message, u64(time))));
}

/** The first communication's packet: I = {Sum(M)}, A_d = the route up, A_s = {origin}. */
export function newPacket(message: Uint8Array, time: bigint, origin: Hex, destination: readonly Hex[]): Packet {
  const p = { ids: [summaryOf(message, time)], destination: [...destination], source: [origin], message, time };
  return checkPacket(p);
}

/** The layer P names as its sender: the last entry of A_s. */
export function sourceLayer(p: Packet): Hex {
  return checkPacket(p).source[p.source.length - 1]!;
}

/**
 * Layer `layer` passes P on: its id moves from the front of A_d to the end of
 * A_s, and its block id, when given, is added to I. Refused unless `layer` is next.
 */
export function forward(p: Packet, layer: Hex, blockId?: Hex): Packet {
  const packet = checkPacket(p);
  const id = word(layer, "layer");
  const next = packet.destination[0];
  if (next === undefined)
    throw new PacketError("no-destination", "the packet has no layer left to cross", { layer: id });
  if (next !== id) throw new PacketError("not-next-layer", "the layer is not the packet's next", { layer: id, next });
  const ids = blockId === undefined ? packet.ids : [...packet.ids, word(blockId, "blockId")];
  return checkPacket({
    ids,
    destination: packet.destination.slice(1),
    source: [...packet.source, id],
    message: packet.message,
    time: packet.time,
  });
}

/** keccak256 of C and I as `encodeRoute` lays them out: the `route` of a ledger's open request. */
export function routeHash(p: Packet): Hex {
  return toHex(keccak_256(encodeRoute(p)));
}

/** Checks I[0] = Sum(M). */
export function checkSummary(p: Packet): void {
  const expected = summaryOf(p.message, p.time);
  if (p.ids[0] !== expected) throw new PacketError("wrong-summary", "I[0] is not Sum(M)", { expected, got: p.ids[0] });
}

/** version ‖ C and I ‖ uint64 time ‖ uint32 |M| ‖ M. */
export function encodePacket(p: Packet): Uint8Array {
  const packet = checkPacket(p);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, packet.message.length);
  return concat(Uint8Array.of(VERSION), encodeRoute(packet), u64(packet.time), length, packet.message);
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
  const length = new DataView(take(4).slice().buffer).getUint32(0);
  const message = take(length).slice();
  if (at !== bytes.length)
    throw new PacketError("malformed", "trailing bytes after the packet", { extra: bytes.length - at });
  return checkPacket({ ids, destination, source, message, time });
}

/** |A_d| ‖ A_d ‖ |A_s| ‖ A_s ‖ |I| ‖ I, each entry a 32-byte word. */
function encodeRoute(p: Packet): Uint8Array {
  const list = (xs: readonly Hex[], what: string) =>
    concat(Uint8Array.of(xs.length), ...xs.map((x, i) => fromHex(x, `${what}[${i}]`, 32)));
  return concat(list(p.destination, "destination"), list(p.source, "source"), list(p.ids, "ids"));
}

function checkPacket(p: Packet): Packet {
  if (typeof p !== "object" || p === null) throw new PacketError("malformed", "a packet must be an object");
  if (!(p.message instanceof Uint8Array) || p.message.length > MAX_MESSAGE) {
    throw new PacketError("malformed", "message must be a Uint8Array of at most 2^32 - 1 bytes");
  }
  u64(p.time);
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
