/**
 * What the layer and edge services share: the network section of their
 * configuration (every reachable node's URL, by layer address), the chains of
 * every layer of the public file (the service's own chain must answer at
 * start; the others are reached when first needed), the HTTP peers built from
 * the public file, and the metrics of seed 003's traffic.
 */
import { FetchRequest, JsonRpcProvider, Network } from "ethers";

import { fromHex, type Hex } from "../../sdk/core/bytes.ts";
import {
  LayerError,
  PacketError,
  RejectionError,
  StrataError,
  TimeoutError,
  TransportError,
  WrongChainError,
} from "../../sdk/errors.ts";
import { LedgerDirectory } from "../../sdk/layers/network.ts";
import { type Chain, connect, REQUEST_TIMEOUT_MS } from "../../cli/chain.ts";
import type { Metrics } from "../runtime/metrics.ts";
import { HttpLayerPeer, type RpcErrorListener } from "./http-peer.ts";
import type { LayersFile, PublicLayer } from "./layout.ts";

/** Reachable nodes: each high-level layer's members' URLs by index, each edge layer's central node's URL. */
export interface NetworkConfig {
  readonly layers?: { readonly [address: string]: readonly string[] };
  readonly edges?: { readonly [address: string]: string };
}

const URL_SCHEMA = { type: "string", pattern: "^https?://", maxLength: 2048 } as const;

export const NETWORK_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    layers: { type: "object", additionalProperties: { type: "array", items: URL_SCHEMA, maxItems: 255 } },
    edges: { type: "object", additionalProperties: URL_SCHEMA },
  },
} as const;

export const LISTEN_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["port"],
  properties: {
    host: { type: "string", minLength: 1, maxLength: 255 },
    port: { type: "integer", minimum: 0, maximum: 65535 },
  },
} as const;

/** Providers of every chain the public file names; the one at `own` connected (it must answer now). */
export async function openChains(
  file: LayersFile,
  ownRpc: string,
): Promise<{ own: Chain; directory: LedgerDirectory; providers: JsonRpcProvider[] }> {
  let own: Chain;
  try {
    own = await connect(ownRpc);
  } catch (e) {
    // The service's own chain must answer at start: one line naming it, not a service that starts half-alive.
    if (!(e instanceof TransportError)) throw e;
    const why = e.shortMessage.replace(/^--rpc \S+: /, "");
    throw new (e instanceof TimeoutError ? TimeoutError : TransportError)(
      `the chain at ${ownRpc} does not answer: ${why}`,
      { rpc: ownRpc },
      { cause: e },
    );
  }
  const directory = new LedgerDirectory();
  const providers: JsonRpcProvider[] = [own.provider];
  for (const layer of file.layers) {
    const chainId = BigInt(layer.chainId);
    if (directory.chains().includes(chainId)) continue;
    if (layer.rpc === ownRpc) {
      if (own.chainId !== chainId) {
        throw new WrongChainError(`${ownRpc} is on chain ${own.chainId}, the layers file says ${chainId}`, {
          rpc: ownRpc,
          chainId: layer.chainId,
        });
      }
      directory.addChain(chainId, own.provider);
      continue;
    }
    // Another layer's chain: reached when first needed (the directory checks its chain id then).
    const template = new FetchRequest(layer.rpc);
    template.timeout = REQUEST_TIMEOUT_MS;
    const provider = new JsonRpcProvider(template, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 });
    providers.push(provider);
    directory.addChain(chainId, provider);
  }
  return { own, directory, providers };
}

/** The HTTP peers of `layer` this service reaches (the URLs the network section gives, by index). */
export function peersOf(
  layer: PublicLayer,
  network: NetworkConfig,
  options: { timeoutMs?: number; onError?: RpcErrorListener } = {},
): HttpLayerPeer[] {
  const urls = network.layers?.[layer.address] ?? [];
  return layer.members.flatMap((m) => {
    const url = urls[m.index];
    if (url === undefined) return [];
    return [
      new HttpLayerPeer(
        {
          layerId: layer.layerId,
          index: m.index,
          node: m.node,
          publicKey: fromHex(m.publicKey, "publicKey", 96),
          url,
        },
        options,
      ),
    ];
  });
}

/** The counters of seed 003's traffic every layer and edge service keeps. */
export function layerMetrics(metrics: Metrics) {
  return {
    packetsIn: metrics.counter("layer_packets_in_total", "packets P received, by route", ["route"]),
    rejections: metrics.counter("layer_rejections_total", "requests refused, by reason", ["reason"]),
    anchored: metrics.counter("layer_summaries_anchored_total", "summaries written to a ledger, by outcome", [
      "outcome",
    ]),
    gas: metrics.counter("layer_gas_used_total", "gas used by this node's ledger writes"),
    rpcErrors: metrics.counter("layer_rpc_errors_total", "calls to other nodes that failed, by call", ["call"]),
    alarms: metrics.counter("layer_alarms_total", "alarms raised (replay, superior lost), by kind", ["kind"]),
    delivered: metrics.counter("layer_deliveries_total", "packets delivered to an object of this edge layer"),
    examinations: metrics.counter(
      "layer_examinations_total",
      "self-examination rounds, by target (peers, superior) and what they found",
      ["target", "status"],
    ),
  };
}

export type LayerMetrics = ReturnType<typeof layerMetrics>;

/** The reason a refusal is counted under. */
export function reasonOf(error: unknown): string {
  if (error instanceof LayerError || error instanceof PacketError) return String(error.reason);
  if (error instanceof RejectionError) return `${error.name}:${String(error.reason)}`;
  if (error instanceof StrataError) return error.name;
  return "internal";
}

/** A hex word from a route parameter or body (already schema-checked). */
export const word = (value: string): Hex => value.toLowerCase() as Hex;
