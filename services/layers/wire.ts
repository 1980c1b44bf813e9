/**
 * The wire forms of seed 003's layer traffic (§IV.B) between services: P and
 * its transmission, a layer's hop, an open request, a layer link and a
 * delivery, as JSON (bytes hex, chain values decimal strings), with the JSON
 * Schemas every route checks a body against before any cryptography. The
 * transmission keeps the edge central node's signature and every partial or
 * challenge answer is a BLS signature: what is signed stays signed on the wire.
 */
import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import type { Packet } from "../../sdk/core/layers/packet.ts";
import type { LedgerLayerLink, LedgerOpenRequest } from "../../sdk/contracts/ledger.ts";
import type { Hop, Transmission } from "../../sdk/layers/network.ts";
import type { Delivery } from "../../sdk/layers/edge-node.ts";
import type { StoredObject } from "../../sdk/store/object-store.ts";

/** Largest message M a service takes, in bytes (the packet format allows more; a service does not). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Largest request body of a layer or edge service (a packet with its largest message, hex, and room). */
export const LAYER_BODY_LIMIT = 4 * MAX_MESSAGE_BYTES;
/** Most layers a route may name. */
export const MAX_ROUTE = 32;

// ------------------------------------------------------------------ schemas

export const WORD = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
export const ADDRESS = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
export const UINT = { type: "string", pattern: "^[0-9]{1,78}$" } as const;
const SIGNATURE = { type: "string", pattern: "^0x[0-9a-fA-F]{2,512}$" } as const;
const words = (max: number) => ({ type: "array", items: WORD, minItems: 0, maxItems: max }) as const;

export const PACKET_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["ids", "destination", "source", "message", "time", "ending"],
  properties: {
    ids: words(MAX_ROUTE + 1),
    destination: words(MAX_ROUTE),
    source: words(MAX_ROUTE),
    message: { type: "string", pattern: "^0x([0-9a-fA-F]{2})*$", maxLength: 2 + 2 * MAX_MESSAGE_BYTES },
    time: { type: "string", pattern: "^[0-9]{1,20}$" },
    ending: { type: "boolean" },
  },
} as const;

export const TRANSMISSION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["packet"],
  properties: { packet: PACKET_SCHEMA, edgeSignature: SIGNATURE },
} as const;

export const LINK_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["layerId", "ledger", "chainId"],
  properties: { layerId: WORD, ledger: ADDRESS, chainId: UINT },
} as const;

export const OPEN_REQUEST_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["summary", "sourceLayer", "route", "responsible", "expiry", "deadline"],
  properties: {
    summary: WORD,
    sourceLayer: WORD,
    route: WORD,
    responsible: ADDRESS,
    expiry: UINT,
    deadline: UINT,
  },
} as const;

/** A body of named fields, every one required, nothing else. */
export function bodySchema(properties: Record<string, object>, optional: readonly string[] = []): object {
  return {
    type: "object",
    additionalProperties: false,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

// ------------------------------------------------------------------ codecs

export interface PacketJson {
  readonly ids: readonly Hex[];
  readonly destination: readonly Hex[];
  readonly source: readonly Hex[];
  readonly message: Hex;
  readonly time: string;
  readonly ending: boolean;
}

export interface TransmissionJson {
  readonly packet: PacketJson;
  readonly edgeSignature?: Hex;
}

export interface LinkJson {
  readonly layerId: Hex;
  readonly ledger: string;
  readonly chainId: string;
}

export interface HopJson {
  readonly layerId: Hex;
  readonly chainId: string;
  readonly outcome: Hop["outcome"];
  readonly blockId: Hex;
  readonly node: string;
  readonly txHash?: Hex;
  readonly gasUsed?: string;
  readonly accomplished: boolean;
  readonly tookOverFrom?: string;
  readonly next?: TransmissionJson;
}

export const packetToJson = (p: Packet): PacketJson => ({
  ids: [...p.ids],
  destination: [...p.destination],
  source: [...p.source],
  message: toHex(p.message),
  time: p.time.toString(),
  ending: p.ending,
});

/** Bytes and numbers back (shape only: `checkTransmission`/`checkPacket` judge the packet itself). */
export const packetFromJson = (p: PacketJson): Packet => ({
  ids: [...p.ids],
  destination: [...p.destination],
  source: [...p.source],
  message: fromHex(p.message, "message"),
  time: BigInt(p.time),
  ending: p.ending,
});

export const transmissionToJson = (t: Transmission): TransmissionJson =>
  t.edgeSignature === undefined
    ? { packet: packetToJson(t.packet) }
    : { packet: packetToJson(t.packet), edgeSignature: t.edgeSignature };

export const transmissionFromJson = (t: TransmissionJson): Transmission =>
  t.edgeSignature === undefined
    ? { packet: packetFromJson(t.packet) }
    : { packet: packetFromJson(t.packet), edgeSignature: t.edgeSignature };

export const linkToJson = (l: LedgerLayerLink): LinkJson => ({
  layerId: l.layerId,
  ledger: l.ledger,
  chainId: l.chainId.toString(),
});

export const linkFromJson = (l: LinkJson): LedgerLayerLink => ({
  layerId: l.layerId,
  ledger: l.ledger,
  chainId: BigInt(l.chainId),
});

export const openRequestToJson = (r: LedgerOpenRequest) => ({
  ...r,
  expiry: r.expiry.toString(),
  deadline: r.deadline.toString(),
});

export const openRequestFromJson = (r: ReturnType<typeof openRequestToJson>): LedgerOpenRequest => ({
  ...r,
  expiry: BigInt(r.expiry),
  deadline: BigInt(r.deadline),
});

export function hopToJson(h: Hop): HopJson {
  return {
    layerId: h.layerId,
    chainId: h.chainId.toString(),
    outcome: h.outcome,
    blockId: h.blockId,
    node: h.node,
    accomplished: h.accomplished,
    ...(h.txHash === undefined ? {} : { txHash: h.txHash }),
    ...(h.gasUsed === undefined ? {} : { gasUsed: h.gasUsed.toString() }),
    ...(h.tookOverFrom === undefined ? {} : { tookOverFrom: h.tookOverFrom }),
    ...(h.next === undefined ? {} : { next: transmissionToJson(h.next) }),
  };
}

export function hopFromJson(h: HopJson): Hop {
  return {
    layerId: h.layerId,
    chainId: BigInt(h.chainId),
    outcome: h.outcome,
    blockId: h.blockId,
    node: h.node,
    accomplished: h.accomplished,
    ...(h.txHash === undefined ? {} : { txHash: h.txHash }),
    ...(h.gasUsed === undefined ? {} : { gasUsed: BigInt(h.gasUsed) }),
    ...(h.tookOverFrom === undefined ? {} : { tookOverFrom: h.tookOverFrom }),
    ...(h.next === undefined ? {} : { next: transmissionFromJson(h.next) }),
  };
}

/** What a client of another edge layer learns of an object: its ids and class, not its state. */
export interface ObjectJson {
  readonly uuid: string;
  readonly id: Hex;
  readonly localId: string;
  readonly classPath: string;
}

export const objectToJson = (o: StoredObject): ObjectJson => ({
  uuid: `${o.uuid.layer}#${o.uuid.localId}`,
  id: o.id,
  localId: o.localId.toString(),
  classPath: o.classPath,
});

export interface DeliveryJson {
  readonly packet: PacketJson;
  readonly message: { readonly from: Hex; readonly to: Hex; readonly body: Hex };
  readonly object: ObjectJson;
  readonly renewal: boolean;
}

export const deliveryToJson = (d: Delivery): DeliveryJson => ({
  packet: packetToJson(d.packet),
  message: { from: d.message.from, to: d.message.to, body: toHex(d.message.body) },
  object: objectToJson(d.object),
  renewal: d.renewal,
});

/** Hex of bytes a peer sent (a BLS signature), checked hex. */
export const bytesFromJson = (hex: string, what: string): Uint8Array => fromHex(hex, what);
