/**
 * The configuration of a fog cluster member (`strata fog run --config FILE`), checked by JSON
 * Schema before anything starts. Paths are relative to the file's folder.
 */
import { loadConfig, resolvePath } from "../runtime/config.ts";

const HEX32 = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
const ADDRESS = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
const PORT = { type: "integer", minimum: 0, maximum: 65535 } as const;

export interface FogConfig {
  /** This member's index in the cluster (1..n). */
  readonly index: number;
  /** This member's registry id (a FogNode, Active). */
  readonly id: string;
  /** The cluster's registry id. */
  readonly cluster: string;
  /** The cluster's public file (`strata fog deal`). */
  readonly public: string;
  /** This member's sealed file (`strata fog deal`), opened with STRATA_PASSPHRASE. */
  readonly share: string;
  /** The member's fog store (SQLite); its inbox is `<store>.inbox`. */
  readonly store: string;
  readonly http: { readonly host: string; readonly port: number };
  /** The other members: registry id and HTTP URL. */
  readonly peers: readonly { readonly index: number; readonly id: string; readonly url: string }[];
  /** Whether this member proposes the cluster's batches and anchors them. */
  readonly coordinator: boolean;
  /** A sealed file holding `{ "privateKey": "0x…" }`: the account that sends the anchors (coordinator). */
  readonly senderKey?: string;
  readonly chain: {
    readonly rpc: string;
    readonly registry: string;
    readonly anchor: string;
    readonly accessTokens: string;
    /** Confirmations after which a batch is final (default: the node's `finalized` block). */
    readonly finalityDepth?: number;
    /** How long an anchoring transaction may stay unmined before it is replaced with higher fees (ms). */
    readonly anchorTimeoutMs: number;
    /** Replacements per round before the round is given up (its batch is proposed again next round). */
    readonly maxReplacements: number;
    /**
     * Most wei per gas an anchoring transaction may pay (a decimal string; default 100 gwei): a
     * replacement that would need more is not sent, and the transaction stays pending.
     */
    readonly maxFeePerGas: string;
  };
  /** Where sensors publish: an embedded broker on a port, or an external broker's URL. Absent: no readings taken. */
  readonly mqtt?: { readonly embedded: { readonly host?: string; readonly port: number } } | { readonly url: string };
  readonly batch: { readonly intervalMs: number; readonly max: number };
  /** Filter worker threads (default: one per core). */
  readonly workers?: number;
  /** The purpose sensitive-read requests must name (`accessScope(purpose)`; default `read:sensitive@<id>`). */
  readonly accessPurpose?: string;
  /** How long a member may take to endorse (ms). */
  readonly endorseTimeoutMs: number;
}

export const FOG_CONFIG_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["index", "id", "cluster", "public", "share", "store", "http", "peers", "coordinator", "chain"],
  properties: {
    index: { type: "integer", minimum: 1, maximum: 255 },
    id: HEX32,
    cluster: HEX32,
    public: { type: "string", minLength: 1 },
    share: { type: "string", minLength: 1 },
    store: { type: "string", minLength: 1 },
    http: {
      type: "object",
      additionalProperties: false,
      required: ["port"],
      properties: { host: { type: "string", default: "127.0.0.1" }, port: PORT },
    },
    peers: {
      type: "array",
      maxItems: 254,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["index", "id", "url"],
        properties: {
          index: { type: "integer", minimum: 1, maximum: 255 },
          id: HEX32,
          url: { type: "string", pattern: "^https?://" },
        },
      },
    },
    coordinator: { type: "boolean" },
    senderKey: { type: "string", minLength: 1 },
    chain: {
      type: "object",
      additionalProperties: false,
      required: ["rpc", "registry", "anchor", "accessTokens"],
      properties: {
        rpc: { type: "string", pattern: "^https?://" },
        registry: ADDRESS,
        anchor: ADDRESS,
        accessTokens: ADDRESS,
        finalityDepth: { type: "integer", minimum: 1, maximum: 1000 },
        anchorTimeoutMs: { type: "integer", minimum: 100, maximum: 3_600_000, default: 60_000 },
        maxReplacements: { type: "integer", minimum: 0, maximum: 20, default: 3 },
        maxFeePerGas: { type: "string", pattern: "^[1-9][0-9]{0,30}$", default: "100000000000" },
      },
    },
    mqtt: {
      oneOf: [
        {
          type: "object",
          additionalProperties: false,
          required: ["embedded"],
          properties: {
            embedded: {
              type: "object",
              additionalProperties: false,
              required: ["port"],
              properties: { host: { type: "string" }, port: PORT },
            },
          },
        },
        {
          type: "object",
          additionalProperties: false,
          required: ["url"],
          properties: { url: { type: "string", pattern: "^mqtts?://" } },
        },
      ],
    },
    batch: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        intervalMs: { type: "integer", minimum: 10, maximum: 3_600_000, default: 2000 },
        max: { type: "integer", minimum: 1, maximum: 512, default: 128 },
      },
    },
    workers: { type: "integer", minimum: 0, maximum: 256 },
    accessPurpose: { type: "string", minLength: 1, maxLength: 256 },
    endorseTimeoutMs: { type: "integer", minimum: 100, maximum: 600_000, default: 30_000 },
  },
} as const;

/** Reads `file`, checks it, and resolves its paths against its folder. */
export function loadFogConfig(file: string): FogConfig {
  const c = loadConfig<FogConfig>(file, FOG_CONFIG_SCHEMA, "fog configuration");
  return {
    ...c,
    public: resolvePath(file, c.public),
    share: resolvePath(file, c.share),
    store: resolvePath(file, c.store),
    ...(c.senderKey === undefined ? {} : { senderKey: resolvePath(file, c.senderKey) }),
  };
}
