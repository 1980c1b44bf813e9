/**
 * The base station as a networked service (seed 000's transport layer; issue 15, "Base
 * station"): `BaseStation` behind CoAP on UDP for devices and HTTP for stations and
 * applications, with its epoch keys from the key servers, authentication checks on a pool of
 * worker threads, a sealing and anchoring loop, metrics, health and a graceful stop.
 * `startStation` is what `strata station run` calls, and what a benchmark or a local deployment
 * starts in process.
 */
import { JsonRpcProvider, Wallet } from "ethers";
import type { FastifyInstance } from "fastify";

import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import type { G2 } from "../../sdk/core/crypto/backend.ts";
import { nbiotParams, type StationKeys, type Timing } from "../../sdk/core/nbiot/params.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { DeviceRegistryClient } from "../../sdk/contracts/registry.ts";
import { BaseStation } from "../../sdk/nbiot/base-station.ts";
import { type ChainClock, providerChainClock, registryDirectory } from "../../sdk/nbiot/ports.ts";
import type { BatchRecord } from "../../sdk/store/flow-store.ts";
import { InvalidInputError, ProtocolError, StrataError } from "../../sdk/errors.ts";
import { closeHttp, createHttpService, listen } from "../runtime/http.ts";
import { createLogger, type Logger } from "../runtime/log.ts";
import { createMetrics, type Metrics, SIZE_BUCKETS } from "../runtime/metrics.ts";
import { openSecret } from "../runtime/secret-file.ts";
import { createPool, workerUrl } from "../runtime/workers.ts";
import { AnchorLoop } from "./anchoring.ts";
import type { AuthTask, AuthVerdict } from "./auth-worker.ts";
import { CoapService } from "./coap.ts";
import type { StationConfig } from "./config.ts";
import { httpStationResolver } from "./link.ts";
import {
  acquireQuerySchema,
  acquisitionToWire,
  handoverBodySchema,
  nodeParamsSchema,
  proofParamsSchema,
  proofToWire,
} from "./wire.ts";

/** Default batch interval and size. */
export const DEFAULT_BATCH = { intervalMs: 5_000, maxSize: 10_000 } as const;

/** How often the station reads the chain's clock again when following it (ms). */
const CLOCK_CHECK_MS = 60_000;

/**
 * A station's epoch keys (seed 000: one signing key per key epoch, issued only while the registry
 * lists the station as an active base station): `keys.keyFor` answers synchronously from what is
 * held, so `start` fetches the current and next epochs' keys and keeps fetching ahead until
 * `stop` (the key servers' `stationKeySource`).
 */
export interface StationKeyProvider {
  readonly keys: StationKeys;
  start(): Promise<void>;
  stop(): void;
}

/** What a key provider is built from: the station's account (its registered key), its clock and timing. */
export interface KeyProviderContext {
  readonly account: Wallet;
  readonly clock: () => number;
  readonly timing: Timing;
}

export interface StartStationOptions {
  /** The passphrase of the account's sealed file (the CLI takes it from STRATA_PASSPHRASE). */
  readonly passphrase: string;
  /** The master public key, known before any key is fetched (the key servers' public file). */
  readonly masterPublic: G2;
  /** Where the epoch keys come from (the CLI: the key servers of `config.keyServers`). */
  readonly keyProvider: (context: KeyProviderContext) => StationKeyProvider;
  readonly logger?: Logger;
}

export interface RunningStation {
  readonly id: Hex;
  readonly station: BaseStation;
  readonly coap: { readonly url: string; readonly port: number };
  readonly http: { readonly url: string; readonly port: number };
  readonly metrics: Metrics;
  /** Stop accepting, finish the queued frames, a last seal and anchor (grace period), close the store. */
  close(): Promise<void>;
}

/**
 * The station's clock: the machine's plus `offsetMs`, corrected to the chain's clock when it is
 * off by more than the tolerated skew (a station with a bad clock would otherwise refuse
 * every device's request as stale and seal nothing the chain accepts as dated before its anchor).
 */
class StationClock {
  readonly #offsetMs: number;
  #correctionMs = 0;

  constructor(offsetMs: number) {
    this.#offsetMs = offsetMs;
  }

  readonly now = (): number => Date.now() + this.#offsetMs + this.#correctionMs;

  get correctionMs(): number {
    return this.#correctionMs;
  }

  async follow(chain: ChainClock, skewMs: number, logger: Logger): Promise<void> {
    const local = Date.now() + this.#offsetMs;
    const chainTime = await chain.latestBlockTime();
    const off = chainTime - local;
    // within the skew the protocol tolerates, the machine is trusted: a chain that mines a block per
    // transaction runs a few seconds ahead of the wall clock after a burst, and devices keep true time
    // (once following, it follows until back within half the skew, so it does not flap at the edge)
    const next = Math.abs(off) > (this.#correctionMs === 0 ? skewMs : skewMs / 2) ? off : 0;
    if (next !== this.#correctionMs) {
      logger.warn({ offByMs: off, correctionMs: next }, "the machine's clock is off the chain's: following the chain");
    }
    this.#correctionMs = next;
  }
}

export async function startStation(config: StationConfig, options: StartStationOptions): Promise<RunningStation> {
  const logger = options.logger ?? createLogger("station", config.logLevel);
  const metrics = createMetrics("station");
  const id = config.id.toLowerCase() as Hex;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const account = openSecret<{ privateKey?: unknown }>(config.account, options.passphrase);
    if (typeof account.privateKey !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(account.privateKey)) {
      throw new InvalidInputError(`${config.account}: the sealed account holds no privateKey`, {
        file: config.account,
      });
    }
    const provider = new JsonRpcProvider(config.rpcUrl, config.chainId, { staticNetwork: true, pollingInterval: 250 });
    cleanups.push(() => provider.destroy());
    const wallet = new Wallet(account.privateKey, provider);
    const backend = await mclBackend();
    const params = nbiotParams(backend, options.masterPublic);
    const chainClock = providerChainClock(provider);
    const clock = new StationClock(config.clock?.offsetMs ?? 0);
    if (config.clock?.followChain !== false) {
      await clock.follow(chainClock, params.timing.clockSkewMs, logger);
      const timer = setInterval(() => {
        clock
          .follow(chainClock, params.timing.clockSkewMs, logger)
          .catch((e: unknown) => logger.warn({ err: String(e) }, "chain clock read failed"));
      }, CLOCK_CHECK_MS);
      timer.unref();
      cleanups.push(() => clearInterval(timer));
    }
    const keys = options.keyProvider({ account: wallet, clock: clock.now, timing: params.timing });
    await keys.start();
    cleanups.push(() => keys.stop());

    const directory = registryDirectory(
      new DeviceRegistryClient(config.deviceRegistry, provider, { chainId: BigInt(config.chainId) }),
      { ttlMs: 10_000 },
    );
    const anchors = new DataAnchorClient(config.dataAnchor, wallet, { chainId: BigInt(config.chainId) });
    const pool = createPool(workerUrl(import.meta.url, "./auth-worker.ts"), config.workers);
    cleanups.push(() => pool.destroy());
    const masterPublic = toHex(backend.g2.toBytes(params.masterPublic));
    const checkAuth = async (request: Uint8Array, now: number): Promise<void> => {
      const task: AuthTask = { masterPublic, timing: params.timing, station: id, request, now };
      const verdict = (await pool.run(task)) as AuthVerdict;
      if (!verdict.ok) {
        throw new ProtocolError(
          verdict.reason as ProtocolError["reason"],
          verdict.message,
          (verdict.details ?? {}) as Record<string, unknown>,
        );
      }
    };
    const batch = { ...DEFAULT_BATCH, ...config.batch };
    const station = await BaseStation.start({
      params,
      keys: keys.keys,
      storePath: config.store,
      anchors,
      create: true,
      // a receipt tells the device to forget the reading: the commit before it must survive a power loss
      synchronous: "FULL",
      directory,
      stations: httpStationResolver(config.peers ?? {}),
      maxBatch: batch.maxSize,
      clock: clock.now,
      chain: chainClock,
      checkAuth,
      anchoring: {
        finalityDepth: config.anchoring?.finalityDepth ?? 1,
        ...(config.anchoring?.receiptTimeoutMs === undefined
          ? {}
          : { receiptTimeoutMs: config.anchoring.receiptTimeoutMs }),
        ...(config.anchoring?.maxReplacements === undefined
          ? {}
          : { maxReplacements: config.anchoring.maxReplacements }),
      },
    });
    cleanups.push(() => station.close());

    // ------------------------------------------------------------------ metrics
    const readingsIn = metrics.counter("station_readings_in_total", "Readings stored as new blocks");
    const duplicatesIn = metrics.counter("station_readings_repeated_total", "Readings sent again and receipted again");
    const refusals = metrics.counter("station_refusals_total", "Requests and readings refused, by reason", ["reason"]);
    const coapAnswers = metrics.counter("station_coap_requests_total", "CoAP requests answered", ["resource", "code"]);
    const batchSize = metrics.histogram("station_batch_size", "Blocks per sealed batch", SIZE_BUCKETS);
    const toAnchor = metrics.histogram(
      "station_reading_to_anchor_seconds",
      "From a reading's arrival to its root anchored",
    );
    const gasUsed = metrics.counter("station_anchor_gas_used_total", "Gas used by anchor transactions");
    const feesWei = metrics.counter("station_anchor_fees_wei_total", "Fees paid by anchor transactions (wei)");
    const frameQueue = metrics.gauge("station_frame_queue_depth", "Frames waiting to be ingested");
    const coapInFlight = metrics.gauge("station_coap_in_flight", "CoAP requests being handled");
    const pendingGauge = metrics.gauge("station_pending_readings", "Readings stored and not yet sealed");
    const unanchoredGauge = metrics.gauge("station_unanchored_batches", "Sealed batches not yet anchored");
    const rpcErrors = metrics.counter("station_rpc_errors_total", "Failed anchoring rounds and chain reads, by error", [
      "name",
    ]);
    const roundsFailed = metrics.counter("station_anchor_rounds_failed_total", "Anchoring rounds that failed");

    // reading → anchored root: arrival times in storing order, moved to their batch when sealed
    const arrivals: { count: number; at: number | undefined }[] = [];
    const leftAtStart = station.store.pending(Number.MAX_SAFE_INTEGER).length;
    if (leftAtStart > 0) arrivals.push({ count: leftAtStart, at: undefined });
    const sealedArrivals = new Map<number, { count: number; at: number | undefined }[]>();
    const takeArrivals = (n: number) => {
      const taken: { count: number; at: number | undefined }[] = [];
      while (n > 0 && arrivals.length > 0) {
        const head = arrivals[0]!;
        const k = Math.min(n, head.count);
        taken.push({ count: k, at: head.at });
        head.count -= k;
        n -= k;
        if (head.count === 0) arrivals.shift();
      }
      return taken;
    };

    const loop = new AnchorLoop({
      station,
      writer: anchors,
      intervalMs: batch.intervalMs,
      maxPending: batch.maxSize,
      clock: clock.now,
      logger,
      onSealed: (sealed) => {
        batchSize.observe(sealed.leafCount);
        sealedArrivals.set(sealed.number, takeArrivals(sealed.leafCount));
      },
      onAnchored: async (done: readonly BatchRecord[]) => {
        const now = Date.now();
        for (const b of done) {
          for (const { count, at } of sealedArrivals.get(b.number) ?? []) {
            if (at !== undefined) for (let i = 0; i < count; i++) toAnchor.observe((now - at) / 1000);
          }
          sealedArrivals.delete(b.number);
          const hash = b.anchor?.txHash;
          if (hash === undefined || hash === "") continue;
          try {
            const receipt = await provider.getTransactionReceipt(hash);
            if (receipt !== null) {
              gasUsed.inc(Number(receipt.gasUsed));
              feesWei.inc(Number(receipt.gasUsed * receipt.gasPrice));
            }
          } catch (e) {
            rpcErrors.inc({ name: e instanceof StrataError ? e.name : "TransportError" });
          }
        }
      },
      onFailure: (e) => {
        roundsFailed.inc();
        rpcErrors.inc({ name: e.name });
      },
      onRoundEnd: () => {
        pendingGauge.set(loop.pendingReadings);
        unanchoredGauge.set(station.store.unanchored().length);
      },
    });

    const coap = new CoapService({
      station,
      clock: clock.now,
      logger: logger.child({ part: "coap" }),
      metrics: {
        answered: (resource, code) => coapAnswers.inc({ resource, code }),
        refused: (reason) => refusals.inc({ reason }),
        ingested: (fresh, duplicates) => {
          readingsIn.inc(fresh);
          duplicatesIn.inc(duplicates);
        },
        queueDepth: (depth) => frameQueue.set(depth),
        inFlight: (count) => coapInFlight.set(count),
      },
      onReadings: (count) => {
        arrivals.push({ count, at: Date.now() });
        loop.readingsIn(count);
      },
    });

    // -------------------------------------------------------------------- HTTP
    const health = () => {
      const h = loop.health();
      pendingGauge.set(loop.pendingReadings);
      const unanchored = station.store.unanchored().length;
      unanchoredGauge.set(unanchored);
      return { ...h, station: id, unanchoredBatches: unanchored, clockCorrectionMs: clock.correctionMs };
    };
    const app: FastifyInstance = createHttpService({
      name: "station",
      logger,
      metrics,
      bodyLimit: config.http.bodyLimit ?? 64 * 1024,
      health,
    });
    app.post("/nbiot/handover", { schema: { body: handoverBodySchema } }, async (request) => {
      const { request: hex } = request.body as { request: string };
      const record = await station.handover(fromHex(hex, "request", undefined), clock.now());
      return { record: toHex(record) };
    });
    app.get(
      "/nbiot/nodes/:node/blocks",
      { schema: { params: nodeParamsSchema, querystring: acquireQuerySchema } },
      async (request) => {
        const { node } = request.params as { node: Hex };
        const q = request.query as { from: string; to: string; afterSeq?: string; limit?: string };
        const answer = await station.acquire(
          node,
          Number(q.from),
          Number(q.to),
          q.afterSeq === undefined ? 0 : Number(q.afterSeq),
          q.limit === undefined ? undefined : Number(q.limit),
        );
        return acquisitionToWire(answer);
      },
    );
    app.get("/nbiot/nodes/:node/proofs/:seq", { schema: { params: proofParamsSchema } }, async (request) => {
      const { node, seq } = request.params as { node: Hex; seq: string };
      return proofToWire(await station.proof(node, Number(seq)));
    });
    app.get("/nbiot/status", async () => ({
      station: id,
      lastBatch: station.store.lastBatchNumber,
      unanchoredBatches: station.store.unanchored().length,
      pendingReadings: loop.pendingReadings,
      anchoring: loop.health(),
      clockCorrectionMs: clock.correctionMs,
    }));
    const httpAddress = await listen(app, config.http.host ?? "127.0.0.1", config.http.port);
    cleanups.push(() => closeHttp(app));
    const coapAddress = await coap.listen(config.coap.host ?? "127.0.0.1", config.coap.port);
    cleanups.push(() => coap.close());
    loop.start();
    logger.info({ id, coap: coapAddress.url, http: httpAddress.url }, "station listening");

    let closing: Promise<void> | undefined;
    return {
      id,
      station,
      coap: coapAddress,
      http: httpAddress,
      metrics,
      close: () =>
        (closing ??= (async () => {
          await coap.stop();
          await loop.close(config.anchoring?.graceMs ?? 10_000);
          await cleanup();
        })()),
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
