/**
 * `strata edge run`: an edge layer's central node (seed 003 §III.A, Layer 0)
 * as an HTTP service. It keeps the layer's object database and runs the SDK's
 * `EdgeNode`; what its objects send goes up through the SDK's one
 * `LayerRouter`, whose layers are the high-level members reached over HTTP
 * (`HttpLayerMember`: a member that does not take the connection is skipped,
 * the next one takes P) and whose receiving edge layer is another central
 * node's service (`HttpEdge`). It serves:
 *
 * - `POST /contracts/open`, `POST /contracts/follow`: an object of this layer
 *   opens a contract or sends a following message (P signed here, routed, the
 *   hops and the delivery answered);
 * - `POST /packets`: P arriving from the superior layer, checked against the
 *   superior's ledger and delivered once to its object;
 * - `GET /metrics`, `GET /healthz`.
 */
import { dirname, join } from "node:path";

import type { FastifyInstance, FastifyRequest } from "fastify";
import { Wallet } from "ethers";

import { fromHex, type Hex } from "../../sdk/core/bytes.ts";
import { layerHash, parseUuid } from "../../sdk/core/ids.ts";
import { checkPacket } from "../../sdk/core/layers/packet.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { EdgeNode } from "../../sdk/layers/edge-node.ts";
import { linkFromJson } from "./wire.ts";
import { LayerRouter, type RouteResult } from "../../sdk/layers/router.ts";
import type { Transmission } from "../../sdk/layers/network.ts";
import { ObjectStore } from "../../sdk/store/object-store.ts";
import { loadConfig, resolvePath } from "../runtime/config.ts";
import { closeHttp, createHttpService, listen } from "../runtime/http.ts";
import { announceReady } from "../runtime/lifecycle.ts";
import { createLogger, type Logger } from "../runtime/log.ts";
import { createMetrics } from "../runtime/metrics.ts";
import { openSecret } from "../runtime/secret-file.ts";
import {
  layerMetrics,
  LISTEN_SCHEMA,
  type LayerMetrics,
  NETWORK_SCHEMA,
  type NetworkConfig,
  openChains,
  reasonOf,
} from "./common.ts";
import { HttpEdge, HttpLayerMember } from "./http-peer.ts";
import { checkObjectAccess, type ObjectClient, OBJECT_CLIENTS_SCHEMA, objectAuthHook } from "./object-auth.ts";
import { type EdgeSecret, edgeOf, type LayersFile, layerOf, readLayersFile } from "./layout.ts";
import type { RunningService } from "./layer-service.ts";
import {
  bodySchema,
  type DeliveryJson,
  deliveryToJson,
  hopToJson,
  LAYER_BODY_LIMIT,
  MAX_MESSAGE_BYTES,
  MAX_ROUTE,
  PACKET_SCHEMA,
  type PacketJson,
  packetFromJson,
  TRANSMISSION_SCHEMA,
  transmissionFromJson,
  type TransmissionJson,
  transmissionToJson,
} from "./wire.ts";

/** How long requests in flight get to finish at shutdown (a ledger write waits for its receipt). */
const CLOSE_GRACE_MS = 30_000;

export interface EdgeServiceConfig {
  readonly layers: string;
  /** This edge layer's address. */
  readonly edge: string;
  readonly listen: { readonly host?: string; readonly port: number };
  readonly network?: NetworkConfig;
  /** Who may call `/contracts/*` (required when listening beyond loopback). */
  readonly clients?: readonly ObjectClient[];
  readonly logLevel?: string;
}

export const EDGE_CONFIG_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["layers", "edge", "listen"],
  properties: {
    layers: { type: "string", minLength: 1 },
    edge: { type: "string", minLength: 1 },
    listen: LISTEN_SCHEMA,
    network: NETWORK_SCHEMA,
    clients: OBJECT_CLIENTS_SCHEMA,
    logLevel: { enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] },
  },
} as const;

const LOCAL_ID = { type: "string", pattern: "^[0-9]{1,78}$" } as const;
const BODY = { type: "string", pattern: "^0x([0-9a-fA-F]{2})*$", maxLength: 2 + 2 * MAX_MESSAGE_BYTES } as const;

type Router = LayerRouter<HttpLayerMember, HttpEdge>;

export async function startEdgeService(configFile: string, passphrase: string): Promise<RunningService> {
  const config = loadConfig<EdgeServiceConfig>(configFile, EDGE_CONFIG_SCHEMA, "edge node configuration");
  checkObjectAccess(config.listen.host ?? "127.0.0.1", config.clients, configFile);
  const layersPath = resolvePath(configFile, config.layers);
  const file = readLayersFile(layersPath);
  const edge = edgeOf(file, config.edge, configFile);
  const superior = layerOf(file, edge.superior, layersPath);
  const secret = openSecret<EdgeSecret>(join(dirname(layersPath), edge.keyFile), passphrase);
  if (secret.kind !== "edge-node" || secret.edge !== edge.address) {
    throw new InvalidInputError(`${edge.keyFile} is not the key file of edge layer ${edge.address}`);
  }
  const account = new Wallet(secret.account);
  if (account.address.toLowerCase() !== edge.node.toLowerCase()) {
    throw new InvalidInputError(`${edge.keyFile} holds another account than the layers file's central node`);
  }
  const logger = createLogger(`edge ${edge.address.replace(/^[a-z][a-z0-9+.-]*:\/\//, "")}`, config.logLevel);
  const metrics = createMetrics("edge");
  const m = layerMetrics(metrics);
  const { own, directory, providers } = await openChains(file, superior.rpc);
  const store = new ObjectStore(join(dirname(layersPath), edge.store), edge.address, { mode: "open" });
  const node = new EdgeNode({
    store,
    account,
    superior: linkFromJson({ layerId: superior.layerId, ledger: superior.ledger, chainId: superior.chainId }),
    directory,
    onAlarm: (alarm) => {
      m.alarms.inc({ kind: alarm.kind });
      logger.warn({ alarm }, "alarm");
    },
  });
  const network = config.network ?? {};
  const onError = (call: string, error: unknown) => {
    m.rpcErrors.inc({ call });
    logger.warn({ call, err: error }, "a call to another node failed");
  };
  const router: Router = new LayerRouter<HttpLayerMember, HttpEdge>();
  for (const layer of file.layers) {
    const urls = network.layers?.[layer.address] ?? [];
    if (urls.length > 0) router.addLayer(urls.map((u) => new HttpLayerMember(layer.layerId, u, { onError })));
  }
  for (const [address, url] of Object.entries(network.edges ?? {})) {
    if (address !== edge.address) router.addEdge(new HttpEdge(layerHash(address), url, { onError }));
  }

  const app = createHttpService({
    name: "edge",
    logger,
    metrics,
    bodyLimit: LAYER_BODY_LIMIT,
    health: async () => {
      try {
        const block = await own.provider.getBlockNumber();
        return { ok: true, chainId: own.chainId.toString(), block, edge: edge.address };
      } catch (e) {
        return { ok: false, chain: "unreachable", error: String(e) };
      }
    },
  });
  routes(app, { node, router, file, m, logger, objectAuth: objectAuthHook(config.clients) });
  const { url, port } = await listen(app, config.listen.host ?? "127.0.0.1", config.listen.port);
  const ready = { service: "edge", url, port, edge: edge.address, node: account.address };
  logger.info(ready, "edge node listening");
  return {
    url,
    ready,
    logger,
    close: async () => {
      await closeHttp(app, CLOSE_GRACE_MS);
      store.close();
      for (const p of providers) p.destroy();
    },
  };
}

export async function runEdgeService(configFile: string, passphrase: string): Promise<RunningService> {
  const service = await startEdgeService(configFile, passphrase);
  announceReady(service.ready);
  return service;
}

interface Parts {
  readonly node: EdgeNode;
  readonly router: Router;
  readonly file: LayersFile;
  readonly m: LayerMetrics;
  readonly logger: Logger;
  /** Checks who calls the objects' endpoints. */
  readonly objectAuth: (request: FastifyRequest) => Promise<void>;
}

function routes(app: FastifyInstance, { node, router, file, m, logger, objectAuth }: Parts): void {
  const post = <B>(
    path: string,
    body: Record<string, object>,
    optional: string[],
    handle: (b: B) => Promise<unknown>,
  ) => {
    const preHandler = path.startsWith("/contracts/") ? [objectAuth] : [];
    app.post(path, { schema: { body: bodySchema(body, optional) }, onRequest: preHandler }, async (request) => {
      try {
        return await handle(request.body as B);
      } catch (e) {
        m.rejections.inc({ reason: reasonOf(e) });
        logger.info({ path, reason: reasonOf(e), err: e }, "refused");
        throw e;
      }
    });
  };
  const send = async (t: Transmission) => {
    m.packetsIn.inc({ route: "send" });
    const r: RouteResult<DeliveryJson> = await router.route(t);
    for (const h of r.hops) {
      if (h.txHash !== undefined && h.outcome !== "replayed" && h.outcome !== "already-opened") {
        m.anchored.inc({ outcome: h.outcome });
      }
      if (h.gasUsed !== undefined) m.gas.inc(Number(h.gasUsed));
    }
    logger.info({ summary: t.packet.ids[0], hops: r.hops.map((h) => h.outcome) }, "routed");
    return {
      summary: t.packet.ids[0],
      transmission: transmissionToJson(t),
      hops: r.hops.map(hopToJson),
      ...(r.delivery === undefined ? {} : { delivery: r.delivery }),
      ...(r.stoppedAt === undefined ? {} : { stoppedAt: hopToJson(r.stoppedAt) }),
    };
  };

  post<{ transmission: TransmissionJson }>("/packets", { transmission: TRANSMISSION_SCHEMA }, [], async (b) => {
    m.packetsIn.inc({ route: "deliver" });
    const delivery = await node.deliver(transmissionFromJson(b.transmission));
    m.delivered.inc();
    logger.info({ summary: delivery.packet.ids[0], to: delivery.object.id, renewal: delivery.renewal }, "delivered");
    return { delivery: deliveryToJson(delivery) };
  });

  post<{ from: string; to: string; body: Hex; route: string[]; ending?: boolean }>(
    "/contracts/open",
    {
      from: LOCAL_ID,
      to: { type: "string", minLength: 3, maxLength: 600 },
      body: BODY,
      route: { type: "array", items: { type: "string", maxLength: 512 }, minItems: 1, maxItems: MAX_ROUTE },
      ending: { type: "boolean" },
    },
    ["ending"],
    async (b) => {
      const to = parseUuid(b.to);
      const route = b.route.map((address) => layerOf(file, address, "route").layerId);
      return send(await node.open(BigInt(b.from), to, fromHex(b.body, "body"), route, b.ending ?? false));
    },
  );

  post<{ last: PacketJson; from: string; body: Hex; ending?: boolean }>(
    "/contracts/follow",
    { last: PACKET_SCHEMA, from: LOCAL_ID, body: BODY, ending: { type: "boolean" } },
    ["ending"],
    async (b) => {
      const last = checkPacket(packetFromJson(b.last));
      return send(await node.follow(last, BigInt(b.from), fromHex(b.body, "body"), b.ending ?? false));
    },
  );
}
