/**
 * The base station's configuration file (`strata station run --config FILE`): who it is, its
 * store, the chain and contracts it anchors on, its account (a sealed secret), the key servers
 * its epoch keys come from, its peers, where it listens, and how it batches. Checked whole
 * (strict JSON Schema, no unknown fields) before anything starts; paths are relative to the file.
 */
import { type Hex } from "../../sdk/core/bytes.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { loadConfig, resolvePath } from "../runtime/config.ts";

const id32 = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } as const;
const url = { type: "string", pattern: "^https?://[^\\s]+$" } as const;
const host = { type: "string", minLength: 1, maxLength: 255 } as const;
const port = { type: "integer", minimum: 0, maximum: 65535 } as const;

export const stationConfigSchema = {
  type: "object",
  additionalProperties: false,
  required: [
    "id",
    "store",
    "rpcUrl",
    "chainId",
    "dataAnchor",
    "deviceRegistry",
    "account",
    "keyServers",
    "coap",
    "http",
  ],
  properties: {
    /** The station's `DeviceId` in the registry. */
    id: id32,
    /** Its SQLite store (created on first start). */
    store: { type: "string", minLength: 1 },
    rpcUrl: url,
    chainId: { type: "integer", minimum: 1 },
    dataAnchor: address,
    deviceRegistry: address,
    /** A sealed secret file `{ "privateKey": "0x…" }`: the station's registered account, opened with STRATA_PASSPHRASE. */
    account: { type: "string", minLength: 1 },
    keyServers: {
      type: "object",
      additionalProperties: false,
      required: ["urls", "publicFile"],
      properties: {
        urls: { type: "array", minItems: 1, maxItems: 64, items: url },
        /** The key servers' public file (master public key, commitments, threshold). */
        publicFile: { type: "string", minLength: 1 },
      },
    },
    /** Other stations: id → HTTP base URL (handover). */
    peers: { type: "object", additionalProperties: false, patternProperties: { "^0x[0-9a-fA-F]{64}$": url } },
    coap: {
      type: "object",
      additionalProperties: false,
      required: ["port"],
      properties: { host, port },
    },
    http: {
      type: "object",
      additionalProperties: false,
      required: ["port"],
      properties: { host, port, bodyLimit: { type: "integer", minimum: 1024, maximum: 16 * 1024 * 1024 } },
    },
    batch: {
      type: "object",
      additionalProperties: false,
      properties: {
        intervalMs: { type: "integer", minimum: 10, maximum: 3_600_000 },
        maxSize: { type: "integer", minimum: 1, maximum: 1 << 24 },
      },
    },
    anchoring: {
      type: "object",
      additionalProperties: false,
      properties: {
        finalityDepth: { type: "integer", minimum: 1, maximum: 1000 },
        receiptTimeoutMs: { type: "integer", minimum: 100, maximum: 600_000 },
        maxReplacements: { type: "integer", minimum: 0, maximum: 20 },
        graceMs: { type: "integer", minimum: 0, maximum: 600_000 },
      },
    },
    /** Worker threads for pairings (default: one per core). */
    workers: { type: "integer", minimum: 1, maximum: 256 },
    clock: {
      type: "object",
      additionalProperties: false,
      properties: {
        /**
         * Added to the machine's clock (ms): for testing, and to stand in for a machine whose
         * clock is off. The station follows the chain's clock anyway (`followChain`).
         */
        offsetMs: { type: "integer", minimum: -86_400_000, maximum: 86_400_000 },
        /** Run on the chain's clock when the machine's is off by more than the tolerated skew (default true). */
        followChain: { type: "boolean" },
      },
    },
    logLevel: { type: "string", enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] },
  },
} as const;

export interface StationConfig {
  readonly id: Hex;
  readonly store: string;
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly dataAnchor: string;
  readonly deviceRegistry: string;
  readonly account: string;
  readonly keyServers: { readonly urls: readonly string[]; readonly publicFile: string };
  readonly peers?: Readonly<Record<string, string>>;
  readonly coap: { readonly host?: string; readonly port: number };
  readonly http: { readonly host?: string; readonly port: number; readonly bodyLimit?: number };
  readonly batch?: { readonly intervalMs?: number; readonly maxSize?: number };
  readonly anchoring?: {
    readonly finalityDepth?: number;
    readonly receiptTimeoutMs?: number;
    readonly maxReplacements?: number;
    readonly graceMs?: number;
  };
  readonly workers?: number;
  readonly clock?: { readonly offsetMs?: number; readonly followChain?: boolean };
  readonly logLevel?: string;
}

/** Reads and checks a station configuration; its paths made absolute (relative to the file). */
export function loadStationConfig(file: string): StationConfig {
  const c = loadConfig<StationConfig>(file, stationConfigSchema, "station configuration");
  const peers = c.peers ?? {};
  if (Object.keys(peers).some((p) => p.toLowerCase() === c.id.toLowerCase())) {
    throw new InvalidInputError(`${file}: /peers names the station itself`, { file, field: "/peers" });
  }
  return {
    ...c,
    store: resolvePath(file, c.store),
    account: resolvePath(file, c.account),
    keyServers: { ...c.keyServers, publicFile: resolvePath(file, c.keyServers.publicFile) },
  };
}
