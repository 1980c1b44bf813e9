/**
 * The files of a seed 003 deployment (§III.B, "Establishment"): the plan an
 * operator writes (layers, their chains, members, edge layers and objects),
 * the public file `strata layer establish` writes last (each layer's ledger,
 * chain and members' registered keys; each edge layer's central node and
 * object database), and the sealed key files (one per member and per central
 * node, `sealSecret`). Services read the public file and their own key file.
 */
import { readFileSync } from "node:fs";

import type { Hex } from "../../sdk/core/bytes.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { checkAgainstSchema } from "../runtime/config.ts";
import { ADDRESS, UINT, WORD } from "./wire.ts";

const LAYER_ADDRESS = { type: "string", pattern: "^[a-z][a-z0-9+.-]*://[^\\s#]+$", maxLength: 512 } as const;
const URL = { type: "string", pattern: "^https?://", maxLength: 2048 } as const;

// ---------------------------------------------------------------- the plan

export interface ObjectPlan {
  readonly classPath: string;
  readonly permissions?: number;
  readonly description?: string;
  readonly state?: Record<string, unknown>;
  readonly functions?: readonly { name: string; inputs: string[]; outputs: string[] }[];
}

export interface EdgeLayerPlan {
  readonly address: string;
  readonly objects?: readonly ObjectPlan[];
}

export interface HighLayerPlan {
  readonly address: string;
  /** The JSON-RPC URL of the layer's own chain. */
  readonly rpc: string;
  /** How many members (four or more tolerate one fault). */
  readonly members: number;
  readonly superior?: string;
  readonly consensus?: string;
  readonly edges?: readonly EdgeLayerPlan[];
}

export interface LayerPlanFile {
  readonly layers: readonly HighLayerPlan[];
  /** Ether sent to every member's account for its ledger writes (default "1"). */
  readonly fundEth?: string;
}

const OBJECT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["classPath"],
  properties: {
    classPath: { type: "string", minLength: 1, maxLength: 256 },
    permissions: { type: "integer", minimum: 0, maximum: 4294967295 },
    description: { type: "string", maxLength: 4096 },
    state: { type: "object" },
    functions: {
      type: "array",
      maxItems: 64,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "inputs", "outputs"],
        properties: {
          name: { type: "string", minLength: 1, maxLength: 128 },
          inputs: { type: "array", items: { type: "string" }, maxItems: 32 },
          outputs: { type: "array", items: { type: "string" }, maxItems: 32 },
        },
      },
    },
  },
} as const;

export const PLAN_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["layers"],
  properties: {
    fundEth: { type: "string", pattern: "^[0-9]+(\\.[0-9]+)?$" },
    layers: {
      type: "array",
      minItems: 1,
      maxItems: 64,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["address", "rpc", "members"],
        properties: {
          address: LAYER_ADDRESS,
          rpc: URL,
          members: { type: "integer", minimum: 1, maximum: 255 },
          superior: LAYER_ADDRESS,
          consensus: { type: "string", minLength: 1, maxLength: 64 },
          edges: {
            type: "array",
            maxItems: 64,
            items: {
              type: "object",
              additionalProperties: false,
              required: ["address"],
              properties: {
                address: LAYER_ADDRESS,
                objects: { type: "array", maxItems: 10_000, items: OBJECT_SCHEMA },
              },
            },
          },
        },
      },
    },
  },
} as const;

// ---------------------------------------------------------- the public file

export interface PublicMember {
  readonly index: number;
  /** Its account (the ledger's `node`). */
  readonly node: string;
  /** Its registered BLS key, G2 compressed. */
  readonly publicKey: Hex;
  /** Its sealed key file, relative to the public file. */
  readonly keyFile: string;
}

export interface PublicLayer {
  readonly address: string;
  readonly layerId: Hex;
  readonly chainId: string;
  readonly rpc: string;
  readonly ledger: string;
  readonly superior?: string;
  readonly consensus: string;
  readonly members: readonly PublicMember[];
}

export interface PublicEdge {
  readonly address: string;
  readonly layerId: Hex;
  /** Its superior high-level layer's address. */
  readonly superior: string;
  /** The central node's account (the superior's subordinate link). */
  readonly node: string;
  readonly keyFile: string;
  /** Its object database, relative to the public file. */
  readonly store: string;
}

export interface LayersFile {
  readonly version: 1;
  readonly layers: readonly PublicLayer[];
  readonly edges: readonly PublicEdge[];
}

const FILE_NAME = { type: "string", pattern: "^[A-Za-z0-9._-]+$", maxLength: 255 } as const;

export const LAYERS_FILE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "layers", "edges"],
  properties: {
    version: { const: 1 },
    layers: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["address", "layerId", "chainId", "rpc", "ledger", "consensus", "members"],
        properties: {
          address: LAYER_ADDRESS,
          layerId: WORD,
          chainId: UINT,
          rpc: URL,
          ledger: ADDRESS,
          superior: LAYER_ADDRESS,
          consensus: { type: "string" },
          members: {
            type: "array",
            items: {
              type: "object",
              additionalProperties: false,
              required: ["index", "node", "publicKey", "keyFile"],
              properties: {
                index: { type: "integer", minimum: 0, maximum: 255 },
                node: ADDRESS,
                publicKey: { type: "string", pattern: "^0x[0-9a-fA-F]{192}$" },
                keyFile: FILE_NAME,
              },
            },
          },
        },
      },
    },
    edges: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["address", "layerId", "superior", "node", "keyFile", "store"],
        properties: {
          address: LAYER_ADDRESS,
          layerId: WORD,
          superior: LAYER_ADDRESS,
          node: ADDRESS,
          keyFile: FILE_NAME,
          store: FILE_NAME,
        },
      },
    },
  },
} as const;

/** Reads and checks the public file. */
export function readLayersFile(file: string): LayersFile {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new InvalidInputError(`${file}: the layers file cannot be read (${why})`, { file });
  }
  return checkAgainstSchema<LayersFile>(value, LAYERS_FILE_SCHEMA, file);
}

/** The layer named `address`, or `InvalidInputError` naming the file. */
export function layerOf(file: LayersFile, address: string, where: string): PublicLayer {
  const layer = file.layers.find((l) => l.address === address);
  if (layer === undefined) throw new InvalidInputError(`${where}: no high-level layer ${address}`, { layer: address });
  return layer;
}

/** The edge layer named `address`, or `InvalidInputError` naming the file. */
export function edgeOf(file: LayersFile, address: string, where: string): PublicEdge {
  const edge = file.edges.find((e) => e.address === address);
  if (edge === undefined) throw new InvalidInputError(`${where}: no edge layer ${address}`, { edge: address });
  return edge;
}

// ------------------------------------------------------------ the key files

/** A member's sealed key file. */
export interface MemberSecret {
  readonly kind: "layer-member";
  readonly layer: string;
  readonly index: number;
  /** The account's private key. */
  readonly account: Hex;
  /** The BLS secret key. */
  readonly bls: Hex;
}

/** A central node's sealed key file. */
export interface EdgeSecret {
  readonly kind: "edge-node";
  readonly edge: string;
  readonly account: Hex;
}

/** A file name for a layer address: its path's characters kept, the rest dashes. */
export function slug(address: string): string {
  return address
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 200);
}
