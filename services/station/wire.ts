/**
 * The base station's HTTP wire forms (seed 000, "Handover" and "Data acquisition" between
 * machines): what `BaseStation.acquire` and `proof` return, as JSON with every byte string in
 * hex, and back. The JSON schemas here are what the station's routes declare for their inputs and
 * what `HttpStationLink` checks an answer against before anything is decoded; the answers carry
 * the station's signatures and proofs as they are, so an application verifies them exactly as it
 * would in process (`verifyAcquisition`, `DataAnchor`).
 */
import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import type { AcquisitionResponse, ProvenBlock, ReadingProof, SignedBatch } from "../../sdk/core/nbiot/acquisition.ts";
import { ProtocolError } from "../../sdk/errors.ts";

/** Most bytes of one handover message (a request carries the node's request: well under 1 KiB). */
export const MAX_HANDOVER_BYTES = 4096;

const hex = (maxBytes: number) => ({ type: "string", pattern: `^0x([0-9a-fA-F]{2}){0,${maxBytes}}$` }) as const;
const id32 = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
/** A non-negative integer in a path or query (a string there; above 2^53 the station refuses it). */
const uintText = { type: "string", pattern: "^(0|[1-9][0-9]{0,15})$" } as const;

/** Body of `POST /nbiot/handover`, and of its answer. */
export const handoverBodySchema = {
  type: "object",
  additionalProperties: false,
  required: ["request"],
  properties: { request: hex(MAX_HANDOVER_BYTES) },
} as const;

export const handoverAnswerSchema = {
  type: "object",
  additionalProperties: false,
  required: ["record"],
  properties: { record: hex(MAX_HANDOVER_BYTES) },
} as const;

/** Path of `GET /nbiot/nodes/:node/blocks` and `/proofs/:seq`. */
export const nodeParamsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["node"],
  properties: { node: id32 },
} as const;

export const proofParamsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["node", "seq"],
  properties: { node: id32, seq: { type: "string", pattern: "^[1-9][0-9]{0,14}$" } },
} as const;

/** Query of `GET /nbiot/nodes/:node/blocks`. */
export const acquireQuerySchema = {
  type: "object",
  additionalProperties: false,
  required: ["from", "to"],
  properties: {
    from: uintText,
    to: uintText,
    afterSeq: uintText,
    limit: { type: "string", pattern: "^([1-9][0-9]{0,3}|10000)$" },
  },
} as const;

export interface WireBatch {
  number: number;
  root: Hex;
  leafCount: number;
  time: number;
  signature: Hex;
}

export interface WireBlock {
  block: Hex;
  primary: Hex;
  batch: number;
  leafIndex: number;
  proof: Hex[];
}

export interface WireAcquisition {
  station: Hex;
  node: Hex;
  blocks: WireBlock[];
  batches: WireBatch[];
  handovers: Hex[];
  more: boolean;
}

export interface WireProof {
  block: Hex;
  hash: Hex;
  batch: WireBatch;
  leafIndex: number;
  proof: Hex[];
}

const batchOut = (b: SignedBatch): WireBatch => ({
  number: b.number,
  root: b.root,
  leafCount: b.leafCount,
  time: b.time,
  signature: toHex(b.signature),
});

const blockOut = (b: ProvenBlock): WireBlock => ({
  block: toHex(b.block),
  primary: toHex(b.primary),
  batch: b.batch,
  leafIndex: b.leafIndex,
  proof: [...b.proof],
});

export function acquisitionToWire(a: AcquisitionResponse): WireAcquisition {
  return {
    station: a.station,
    node: a.node,
    blocks: a.blocks.map(blockOut),
    batches: a.batches.map(batchOut),
    handovers: a.handovers.map(toHex),
    more: a.more,
  };
}

export function proofToWire(p: ReadingProof): WireProof {
  return {
    block: toHex(p.block),
    hash: toHex(p.hash),
    batch: batchOut(p.batch),
    leafIndex: p.leafIndex,
    proof: [...p.proof],
  };
}

// ------------------------------------------------------------- decoding answers

/** A served answer that is not of the wire form: a `ProtocolError("malformed")` naming where. */
function malformed(where: string): never {
  throw new ProtocolError("malformed", `the station's answer is malformed at ${where}`, { where });
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) malformed(where);
  return v as Record<string, unknown>;
}

function int(v: unknown, where: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) malformed(where);
  return v as number;
}

function bytes(v: unknown, where: string, length?: number): Uint8Array {
  if (typeof v !== "string") malformed(where);
  try {
    return fromHex(v, where, length);
  } catch {
    return malformed(where);
  }
}

function hash32(v: unknown, where: string): Hex {
  return toHex(bytes(v, where, 32));
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) malformed(where);
  return v;
}

function batchIn(v: unknown, where: string): SignedBatch {
  const b = obj(v, where);
  return {
    number: int(b.number, `${where}.number`),
    root: hash32(b.root, `${where}.root`),
    leafCount: int(b.leafCount, `${where}.leafCount`),
    time: int(b.time, `${where}.time`),
    signature: bytes(b.signature, `${where}.signature`),
  };
}

const proofIn = (v: unknown, where: string): Hex[] => list(v, where).map((h, i) => hash32(h, `${where}[${i}]`));

/** An acquisition answer from its wire form (any other shape: `ProtocolError("malformed")`). */
export function acquisitionFromWire(v: unknown): AcquisitionResponse {
  const a = obj(v, "answer");
  if (typeof a.more !== "boolean") malformed("more");
  return {
    station: hash32(a.station, "station"),
    node: hash32(a.node, "node"),
    blocks: list(a.blocks, "blocks").map((x, i) => {
      const b = obj(x, `blocks[${i}]`);
      return {
        block: bytes(b.block, `blocks[${i}].block`),
        primary: bytes(b.primary, `blocks[${i}].primary`),
        batch: int(b.batch, `blocks[${i}].batch`),
        leafIndex: int(b.leafIndex, `blocks[${i}].leafIndex`),
        proof: proofIn(b.proof, `blocks[${i}].proof`),
      };
    }),
    batches: list(a.batches, "batches").map((b, i) => batchIn(b, `batches[${i}]`)),
    handovers: list(a.handovers, "handovers").map((h, i) => bytes(h, `handovers[${i}]`)),
    more: a.more,
  };
}

/** A reading's proof from its wire form. */
export function proofFromWire(v: unknown): ReadingProof {
  const p = obj(v, "answer");
  return {
    block: bytes(p.block, "block"),
    hash: bytes(p.hash, "hash", 32),
    batch: batchIn(p.batch, "batch"),
    leafIndex: int(p.leafIndex, "leafIndex"),
    proof: proofIn(p.proof, "proof"),
  };
}

/** A handover record from its wire form. */
export function recordFromWire(v: unknown): Uint8Array {
  return bytes(obj(v, "answer").record, "record");
}
