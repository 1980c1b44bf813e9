/**
 * `strata layer run`: one member of a seed 003 high-level layer (§III.B,
 * §IV.B) as an HTTP service. It runs the SDK's `LayerNode` over its layer's
 * ledger on that layer's chain, with its peers and the superior layer's
 * members reached as `HttpLayerPeer`s, and serves:
 *
 * - `POST /packets`: P entering the layer through this member (statements 1-6);
 * - `POST /peer/*`: what it offers its peers and examiners (open reviews,
 *   following communications as the responsible node, takeover reviews,
 *   verdicts, challenge answers, a block's contract ends);
 * - `GET /metrics`, `GET /healthz`.
 *
 * Bodies are schema-checked and size-limited before any check of a signature;
 * a refusal is a typed error answer and writes nothing. Optionally it examines
 * its peers and its superior layer at random intervals (`examineEveryMs`).
 */
import { dirname, join } from "node:path";

import type { FastifyInstance } from "fastify";

import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { SummaryLedgerClient } from "../../sdk/contracts/ledger.ts";
import { ConfigError, InvalidInputError } from "../../sdk/errors.ts";
import { LayerNode } from "../../sdk/layers/layer-node.ts";
import type { Hop } from "../../sdk/layers/network.ts";
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
  peersOf,
  reasonOf,
  word,
} from "./common.ts";
import { layerOf, type MemberSecret, readLayersFile } from "./layout.ts";
import { isChainDown, type SenderEvent, TrackedWallet } from "./sender.ts";
import {
  ADDRESS,
  bodySchema,
  hopToJson,
  LAYER_BODY_LIMIT,
  LINK_SCHEMA,
  linkFromJson,
  type LinkJson,
  OPEN_REQUEST_SCHEMA,
  openRequestFromJson,
  TRANSMISSION_SCHEMA,
  transmissionFromJson,
  type TransmissionJson,
  WORD,
} from "./wire.ts";

/** How long requests in flight get to finish at shutdown (a ledger write waits for its receipt). */
const CLOSE_GRACE_MS = 30_000;

export interface LayerServiceConfig {
  /** The public file `strata layer establish` wrote. */
  readonly layers: string;
  /** This member's layer address. */
  readonly layer: string;
  readonly index: number;
  readonly listen: { readonly host?: string; readonly port: number };
  readonly network?: NetworkConfig;
  /** How long a peer gets to answer, in ms (default 5,000). */
  readonly answerTimeoutMs?: number;
  /** Mean wait between self-examinations, in ms (none when absent). */
  readonly examineEveryMs?: number;
  /** A new block's lifetime, in seconds (default one day). */
  readonly blockLifetimeS?: number;
  /** How the member's ledger writes are sent (see services/layers/sender.ts). */
  readonly sender?: SenderConfig;
  readonly logLevel?: string;
}

export interface SenderConfig {
  /** The SQLite file its signed transactions are kept in (default: `<key file>.sender.sqlite` next to the key file). */
  readonly store?: string;
  /** How long a transaction may stay unmined before it is replaced with higher fees, in ms (default 30,000). */
  readonly bumpAfterMs?: number;
  /** The most a transaction may pay per gas, in wei, as a decimal string (default: no cap). */
  readonly maxFeePerGas?: string;
  /** How long a packet waits for its chain to answer again before it is refused (503), in ms (default 60,000). */
  readonly waitMs?: number;
  /** The longest wait between two retries while the chain is down, in ms (default 8,000; the first is 250). */
  readonly backoffCapMs?: number;
}

export const LAYER_CONFIG_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["layers", "layer", "index", "listen"],
  properties: {
    layers: { type: "string", minLength: 1 },
    layer: { type: "string", minLength: 1 },
    index: { type: "integer", minimum: 0, maximum: 255 },
    listen: LISTEN_SCHEMA,
    network: NETWORK_SCHEMA,
    answerTimeoutMs: { type: "integer", minimum: 1, maximum: 600_000 },
    examineEveryMs: { type: "integer", minimum: 1_000 },
    blockLifetimeS: { type: "integer", minimum: 60 },
    sender: {
      type: "object",
      additionalProperties: false,
      properties: {
        store: { type: "string", minLength: 1 },
        bumpAfterMs: { type: "integer", minimum: 100, maximum: 3_600_000 },
        maxFeePerGas: { type: "string", pattern: "^[1-9][0-9]{0,30}$" },
        waitMs: { type: "integer", minimum: 0, maximum: 3_600_000 },
        backoffCapMs: { type: "integer", minimum: 10, maximum: 600_000 },
      },
    },
    logLevel: { enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] },
  },
} as const;

export interface RunningService {
  readonly url: string;
  readonly ready: Record<string, unknown>;
  readonly logger: Logger;
  close(): Promise<void>;
}

/** Starts the member `configFile` describes; `passphrase` opens its key file. */
export async function startLayerService(configFile: string, passphrase: string): Promise<RunningService> {
  const config = loadConfig<LayerServiceConfig>(configFile, LAYER_CONFIG_SCHEMA, "layer node configuration");
  const layersPath = resolvePath(configFile, config.layers);
  const file = readLayersFile(layersPath);
  const layer = layerOf(file, config.layer, configFile);
  const entry = layer.members.find((m) => m.index === config.index);
  if (entry === undefined) {
    throw new InvalidInputError(`${configFile}: ${config.layer} has no member ${config.index}`, {
      field: "/index",
    });
  }
  const secret = openSecret<MemberSecret>(join(dirname(layersPath), entry.keyFile), passphrase);
  if (secret.kind !== "layer-member" || secret.layer !== layer.address || secret.index !== entry.index) {
    throw new InvalidInputError(`${entry.keyFile} is not the key file of ${layer.address} member ${entry.index}`);
  }
  const logger = createLogger(`layer ${slugOf(layer.address)}#${entry.index}`, config.logLevel);
  const metrics = createMetrics("layer");
  const m = layerMetrics(metrics);
  const backend = await mclBackend();
  const { own, directory, providers } = await openChains(file, layer.rpc);
  const sending = config.sender ?? {};
  const sender = senderMetrics(metrics);
  const account = new TrackedWallet(secret.account, own.provider, {
    store:
      sending.store === undefined
        ? join(dirname(layersPath), `${entry.keyFile}.sender.sqlite`)
        : resolvePath(configFile, sending.store),
    chainId: own.chainId,
    ...(sending.bumpAfterMs === undefined ? {} : { bumpAfterMs: sending.bumpAfterMs }),
    ...(sending.maxFeePerGas === undefined ? {} : { maxFeePerGas: BigInt(sending.maxFeePerGas) }),
    ...(sending.waitMs === undefined ? {} : { waitMs: sending.waitMs }),
    ...(sending.backoffCapMs === undefined ? {} : { backoffCapMs: sending.backoffCapMs }),
    onEvent: (event: SenderEvent) => {
      sender.depth.set(account.depth);
      if (event.kind === "retry") {
        sender.retries.inc({ step: event.step });
        m.rpcErrors.inc({ call: "chain" });
        logger.warn({ step: event.step, err: event.error }, "the chain does not answer: retrying");
      } else if (event.kind === "bump") {
        sender.bumps.inc();
        logger.warn(
          { nonce: event.nonce, hash: event.hash, replaced: event.replaced },
          "transaction replaced with higher fees",
        );
      } else if (event.kind === "capped") {
        logger.warn({ nonce: event.nonce, hash: event.hash }, "transaction not mined, its fees at the cap: sent again");
      }
    },
  });
  if (account.address.toLowerCase() !== entry.node.toLowerCase()) {
    throw new InvalidInputError(`${entry.keyFile} holds another account than the layers file's member`);
  }
  const ledger = new SummaryLedgerClient(layer.ledger, account);
  // The ledger must be there and list this member with its account: a reset chain is one clear error.
  const registered = await ledger.member(entry.index).catch((e: unknown) => {
    throw new ConfigError(`${layer.address}'s ledger ${layer.ledger} cannot be read on chain ${own.chainId}`, {
      ledger: layer.ledger,
      cause: String(e),
    });
  });
  if (registered.node.toLowerCase() !== entry.node.toLowerCase()) {
    throw new ConfigError(`the ledger lists another account as member ${entry.index}`, { node: registered.node });
  }

  const network = config.network ?? {};
  const timeoutMs = config.answerTimeoutMs ?? 5_000;
  const onError = (call: string, error: unknown) => {
    m.rpcErrors.inc({ call });
    logger.warn({ call, err: error }, "a call to another node failed");
  };
  const reach = new Map(
    file.layers.map((l) => [l.layerId as string, peersOf(l, network, { timeoutMs, onError })] as const),
  );
  const node = new LayerNode(account.address, {
    layerId: layer.layerId,
    index: entry.index,
    secretKey: fromHex(secret.bls, "bls"),
    ledger,
    chainId: own.chainId,
    directory,
    backend,
    reach: (layerId) => reach.get(layerId),
    answerTimeoutMs: timeoutMs,
    ...(config.blockLifetimeS === undefined ? {} : { blockLifetime: BigInt(config.blockLifetimeS) }),
    onAlarm: (alarm) => {
      m.alarms.inc({ kind: alarm.kind });
      logger.warn({ alarm }, "alarm");
    },
  });
  if (toHex(node.publicKey) !== entry.publicKey.toLowerCase()) {
    throw new InvalidInputError(`${entry.keyFile} holds another BLS key than the layers file's member`);
  }
  node.setPeers(reach.get(layer.layerId) ?? []);

  const app = createHttpService({
    name: "layer",
    logger,
    metrics,
    bodyLimit: LAYER_BODY_LIMIT,
    health: async () => {
      const queued = { queue: account.depth, waiting: waiting.count };
      sender.depth.set(account.depth);
      try {
        const block = await own.provider.getBlockNumber();
        return {
          ok: node.running && (account.depth === 0 || !account.chainDown),
          chainId: own.chainId.toString(),
          block,
          layer: layer.address,
          index: entry.index,
          ...queued,
        };
      } catch (e) {
        return { ok: false, chain: "unreachable", error: String(e), ...queued };
      }
    },
  });
  const waiting = { count: 0 };
  const patiently = <T>(work: () => Promise<T>) =>
    untilChainAnswers(work, {
      chainAnswers: async () =>
        own.provider.getBlockNumber().then(
          () => true,
          () => false,
        ),
      waitMs: sending.waitMs ?? 60_000,
      capMs: sending.backoffCapMs ?? 8_000,
      onRetry: (e) => {
        sender.packetRetries.inc();
        m.rpcErrors.inc({ call: "chain" });
        logger.warn({ err: e }, "a packet waits for the chain: retrying");
      },
      waiting,
    });
  routes(app, node, m, logger, patiently);

  let stopExamining: (() => void) | undefined;
  if (config.examineEveryMs !== undefined) {
    stopExamining = node.examineEvery(config.examineEveryMs, (report) => {
      if (report.error !== undefined) {
        m.examinations.inc({ target: "round", status: "failed" });
        logger.warn({ err: report.error }, "self-examination failed");
        return;
      }
      if (report.peers !== undefined) {
        const { examined, invalidated, disputed } = report.peers;
        const status =
          invalidated.length > 0
            ? "invalidated"
            : disputed.length > 0
              ? "disputed"
              : examined.every((e) => e.passed)
                ? "answered"
                : "failed";
        m.examinations.inc({ target: "peers", status });
      }
      if (report.superior !== undefined) m.examinations.inc({ target: "superior", status: report.superior.status });
      logger.info({ report: summaryOf(report) }, "self-examination");
    });
  }
  const { url, port } = await listen(app, config.listen.host ?? "127.0.0.1", config.listen.port);
  const ready = {
    service: "layer",
    url,
    port,
    layer: layer.address,
    index: entry.index,
    node: account.address,
    chainId: own.chainId.toString(),
  };
  logger.info(ready, "layer node listening");
  return {
    url,
    ready,
    logger,
    close: async () => {
      stopExamining?.();
      // Stop accepting, let the requests in hand finish (a ledger write waits for its receipt), then stop.
      await closeHttp(app, CLOSE_GRACE_MS);
      node.stop();
      account.close();
      for (const p of providers) p.destroy();
    },
  };
}

/** Starts it and prints the ready line (the `run` command). */
export async function runLayerService(configFile: string, passphrase: string): Promise<RunningService> {
  const service = await startLayerService(configFile, passphrase);
  announceReady(service.ready);
  return service;
}

/** The sender's gauges and counters (its queue depth, retries while the chain is down, fee bumps). */
function senderMetrics(metrics: ReturnType<typeof createMetrics>) {
  return {
    depth: metrics.gauge("layer_sender_queue_depth", "ledger writes kept and not yet mined, or waiting their turn"),
    retries: metrics.counter("layer_sender_retries_total", "sender steps retried while the chain did not answer", [
      "step",
    ]),
    bumps: metrics.counter("layer_sender_fee_bumps_total", "transactions replaced with higher fees"),
    packetRetries: metrics.counter("layer_packet_retries_total", "packets retried while their chain did not answer"),
  };
}

/**
 * `work` (a packet's statements), run again with back-off doubling from 250 ms up to `capMs`
 * while it fails because the chain does not answer, for at most `waitMs`; then its error (a
 * 503). A retry is safe: every statement is read from the ledger first, and the ledger refuses
 * one written already.
 */
async function untilChainAnswers<T>(
  work: () => Promise<T>,
  options: {
    chainAnswers: () => Promise<boolean>;
    waitMs: number;
    capMs: number;
    onRetry: (e: unknown) => void;
    waiting: { count: number };
  },
): Promise<T> {
  const giveUp = Date.now() + options.waitMs;
  let wait = 250;
  options.waiting.count++;
  try {
    for (;;) {
      try {
        return await work();
      } catch (e) {
        if (!isChainDown(e) || Date.now() + wait > giveUp || (await options.chainAnswers())) throw e;
        options.onRetry(e);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, options.capMs);
      }
    }
  } finally {
    options.waiting.count--;
  }
}

function routes(
  app: FastifyInstance,
  node: LayerNode,
  m: LayerMetrics,
  logger: Logger,
  patiently: <T>(work: () => Promise<T>) => Promise<T>,
): void {
  /** A route whose refusals are counted by reason and whose hops are counted as anchored. */
  const post = <B>(path: string, body: Record<string, object>, handle: (b: B) => Promise<unknown>) => {
    app.post(path, { schema: { body: bodySchema(body) } }, async (request) => {
      try {
        return await handle(request.body as B);
      } catch (e) {
        m.rejections.inc({ reason: reasonOf(e) });
        logger.info({ path, reason: reasonOf(e), err: e }, "refused");
        throw e;
      }
    });
  };
  const hop = (h: Hop) => {
    if (h.txHash !== undefined && (h.outcome === "opened" || h.outcome === "extended" || h.outcome === "recorded")) {
      m.anchored.inc({ outcome: h.outcome });
    }
    if (h.gasUsed !== undefined) m.gas.inc(Number(h.gasUsed));
    logger.info({ outcome: h.outcome, blockId: h.blockId, txHash: h.txHash, tookOverFrom: h.tookOverFrom }, "hop");
    return { hop: hopToJson(h) };
  };
  const signature = (s: Uint8Array) => ({ signature: toHex(s) });

  post<{ transmission: TransmissionJson }>("/packets", { transmission: TRANSMISSION_SCHEMA }, async (b) => {
    m.packetsIn.inc({ route: "enter" });
    const t = transmissionFromJson(b.transmission);
    return hop(await patiently(() => node.receive(t)));
  });
  post<{ nonce: Hex }>("/peer/answer", { nonce: WORD }, async (b) =>
    signature(await node.answer({ nonce: fromHex(b.nonce, "nonce", 32) })),
  );
  post<{ transmission: TransmissionJson; request: Parameters<typeof openRequestFromJson>[0] }>(
    "/peer/review-open",
    { transmission: TRANSMISSION_SCHEMA, request: OPEN_REQUEST_SCHEMA },
    async (b) => signature(await node.reviewOpen(transmissionFromJson(b.transmission), openRequestFromJson(b.request))),
  );
  post<{ transmission: TransmissionJson }>(
    "/peer/handle-following",
    { transmission: TRANSMISSION_SCHEMA },
    async (b) => {
      m.packetsIn.inc({ route: "handover" });
      const t = transmissionFromJson(b.transmission);
      return hop(await patiently(() => node.handleFollowing(t)));
    },
  );
  post<{ blockId: Hex; candidate: string; digest: Hex }>(
    "/peer/review-take-over",
    { blockId: WORD, candidate: ADDRESS, digest: WORD },
    async (b) => signature(await node.reviewTakeOver(word(b.blockId), b.candidate, word(b.digest))),
  );
  post<{ index: number; digest: Hex }>(
    "/peer/judge-member",
    { index: { type: "integer", minimum: 0, maximum: 255 }, digest: WORD },
    async (b) => signature(await node.judgeMember(b.index, word(b.digest))),
  );
  post<{ digest: Hex }>("/peer/judge-superior", { digest: WORD }, async (b) =>
    signature(await node.judgeSuperior(word(b.digest))),
  );
  post<{ kind: "superior" | "subordinate"; link: LinkJson; digest: Hex }>(
    "/peer/review-attachment",
    { kind: { enum: ["superior", "subordinate"] }, link: LINK_SCHEMA, digest: WORD },
    async (b) => signature(await node.reviewAttachment(b.kind, linkFromJson(b.link), word(b.digest))),
  );
  post<{ blockId: Hex }>("/peer/contract-of", { blockId: WORD }, async (b) => ({
    ends: (await node.contractOf(word(b.blockId))) ?? null,
  }));
}

function slugOf(address: string): string {
  return address.replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
}

function summaryOf(report: { peers?: unknown; superior?: unknown }): unknown {
  return JSON.parse(JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}
