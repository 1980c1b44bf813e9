/**
 * A fog cluster member as a service (seed 004 on the network, issue 15). It takes its sensors'
 * encrypted, signed readings over MQTT (`mqtt.ts`) into a durable inbox (`inbox.ts`), filters
 * them with the SDK's `FogNode` — the PEKS pairings on a pool of worker threads
 * (`filter-pool.ts`) — and serves over HTTP:
 *
 * - `GET /open`: the open store's query API (normal readings; anyone may call it);
 * - `POST /sensitive`: a device's sensitive readings, only on an access request signed by the
 *   current holder of an access token for it, checked against `AccessTokens` on chain;
 * - `POST /cluster/endorse`, `POST /cluster/possession`: the sign-share round, only for requests
 *   a member signed with its share of the cluster key (`member-auth.ts`).
 *
 * The coordinator proposes the sensitive batches to every member over HTTP, combines t shares
 * and anchors the batch in `DataAnchor` (the SDK's `FogCluster`: a round is kept before any member
 * signs it, a lost answer is settled against the chain, so nothing is anchored twice). A reading
 * the node cannot judge while the chain cannot be read stays in the inbox and is offered again
 * with back-off. `/metrics`, `/healthz`, a graceful stop.
 */
import { JsonRpcProvider, Wallet } from "ethers";

import { accessScope } from "../../sdk/core/access.ts";
import { type Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { decodeReading } from "../../sdk/core/fog/reading-bytes.ts";
import { AccessTokensClient } from "../../sdk/contracts/access.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { DeviceRegistryClient } from "../../sdk/contracts/registry.ts";
import { type FogAnchorPort, FogCluster, type FogMember } from "../../sdk/fog/cluster.ts";
import { type BatchProposal, FogNode, registryFogDirectory } from "../../sdk/fog/fog-node.ts";
import { providerChainClock } from "../../sdk/nbiot/ports.ts";
import { FogStore } from "../../sdk/store/fog-store.ts";
import { ContractRevertError, InvalidInputError, StrataError, TransportError } from "../../sdk/errors.ts";
import { requestJson } from "../runtime/http-client.ts";
import { createHttpService, listen } from "../runtime/http.ts";
import type { Logger } from "../runtime/log.ts";
import { createMetrics, SIZE_BUCKETS } from "../runtime/metrics.ts";
import { openSecret } from "../runtime/secret-file.ts";
import type { FogConfig } from "./config.ts";
import { FogAnchorSender } from "./anchor-sender.ts";
import { FilterPool } from "./filter-pool.ts";
import { Inbox } from "./inbox.ts";
import { commitmentsOf, openMember, readPublic } from "./keys.ts";
import { AUTH_SCHEMA, MemberRequestVerifier, type SignedRequest, signMemberRequest } from "./member-auth.ts";
import { embeddedBroker, externalBroker, READING_TOPIC_PREFIX, type ReadingSource } from "./mqtt.ts";
import {
  type EndorsementJson,
  endorsementFromJson,
  endorsementToJson,
  MAX_READING_BYTES,
  type ProposalJson,
  proposalFromJson,
  proposalSchema,
  proposalToJson,
} from "./wire.ts";

/** Readings taken from the inbox per filtering round. */
const DRAIN_CHUNK = 256;
/** Longest wait between two attempts while the chain cannot be read. */
const MAX_BACKOFF_MS = 30_000;

export interface FogService {
  readonly url: string;
  readonly mqtt?: string;
  readonly node: FogNode;
  close(): Promise<void>;
}

const OPEN_QUERY = {
  type: "object",
  additionalProperties: false,
  properties: {
    device: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" },
    from: { type: "string", pattern: "^[0-9]{1,16}$" },
    to: { type: "string", pattern: "^[0-9]{1,16}$" },
    tag: { type: "string", minLength: 1, maxLength: 64 },
    afterId: { type: "string", pattern: "^[0-9]{1,16}$" },
    limit: { type: "string", pattern: "^[0-9]{1,5}$" },
  },
} as const;

const UINT = { type: "string", pattern: "^[0-9]{1,20}$" } as const;
const WORD = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } as const;
const SENSITIVE_BODY = {
  type: "object",
  additionalProperties: false,
  required: ["request", "signature", "from", "to"],
  properties: {
    request: {
      type: "object",
      additionalProperties: false,
      required: ["token", "resource", "requester", "nonce", "issuedAt", "expiresAt", "scope"],
      properties: {
        token: UINT,
        resource: WORD,
        requester: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
        nonce: WORD,
        issuedAt: UINT,
        expiresAt: UINT,
        scope: WORD,
      },
    },
    signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
    from: { type: "integer", minimum: 0 },
    to: { type: "integer", minimum: 0 },
  },
} as const;

const signedSchema = (payload: object) =>
  ({
    type: "object",
    additionalProperties: false,
    required: ["auth", "payload"],
    properties: { auth: AUTH_SCHEMA, payload },
  }) as const;

function readingJson(r: {
  id: number;
  device: Hex;
  seq: number;
  time: number;
  received: number;
  tags: readonly string[];
  reading: Uint8Array;
}) {
  return {
    id: r.id,
    device: r.device,
    seq: r.seq,
    time: r.time,
    received: r.received,
    tags: r.tags,
    reading: `0x${Buffer.from(r.reading).toString("hex")}`,
  };
}

/** Starts a member from its checked configuration; resolves when it listens. */
export async function startFogService(config: FogConfig, passphrase: string, logger: Logger): Promise<FogService> {
  const metrics = createMetrics("fog");
  const m = {
    readingsIn: metrics.counter("fog_readings_in_total", "Readings taken from MQTT", ["source"]),
    filtered: metrics.counter("fog_readings_filtered_total", "Readings stored, by class", ["class"]),
    rejected: metrics.counter("fog_readings_rejected_total", "Readings refused, by reason", ["reason"]),
    mqttRefused: metrics.counter(
      "fog_mqtt_refused_total",
      "MQTT clients cut by the embedded broker: oversized packet, foreign topic or retained message",
      ["reason"],
    ),
    mqttErrors: metrics.counter(
      "fog_mqtt_errors_total",
      "External MQTT broker connection errors (refused, reset), each taken up by a reconnect",
    ),
    retried: metrics.counter("fog_readings_retried_total", "Readings kept for later: the chain could not be read"),
    batchSize: metrics.histogram("fog_batch_size", "Readings per anchored sensitive batch", SIZE_BUCKETS),
    endorseSeconds: metrics.histogram("fog_endorsement_seconds", "Time of a sign-share round, proposal to combined"),
    anchorSeconds: metrics.histogram(
      "fog_reading_to_anchor_seconds",
      "Time from a reading's device time to its anchored root",
    ),
    gas: metrics.counter("fog_anchor_gas_total", "Gas used by anchoring transactions"),
    replacements: metrics.counter("fog_anchor_replacements_total", "Anchoring transactions replaced with higher fees"),
    feeCapped: metrics.counter(
      "fog_anchor_fee_capped_total",
      "Replacements not sent: they needed more than maxFeePerGas (the transaction stays pending)",
    ),
    anchored: metrics.counter("fog_batches_anchored_total", "Sensitive batches anchored"),
    roundsFailed: metrics.counter("fog_rounds_failed_total", "Sign-share rounds that anchored nothing, by error", [
      "name",
    ]),
    rpcErrors: metrics.counter("fog_rpc_errors_total", "Chain (JSON-RPC) calls that failed", ["part"]),
    inbox: metrics.gauge("fog_inbox_depth", "Readings waiting in the inbox"),
    unbatched: metrics.gauge("fog_sensitive_unbatched", "Sensitive readings not yet in an anchored batch"),
    filterQueue: metrics.gauge("fog_filter_queue_depth", "Filter tasks waiting for a worker thread"),
    endorsements: metrics.counter("fog_endorsements_total", "Batches this member was asked to endorse, by outcome", [
      "outcome",
    ]),
  };

  const backend = await mclBackend();
  const scheme = new ThresholdScheme(backend);
  const pub = readPublic(config.public);
  const commitments = commitmentsOf(backend, pub);
  const member = openMember(backend, config.share, passphrase, commitments);
  if (member.share.index !== config.index) {
    throw new InvalidInputError(
      `${config.share}: the sealed share is member ${member.share.index}'s, not ${config.index}'s`,
      {
        file: config.share,
      },
    );
  }
  const id = config.id.toLowerCase() as Hex;
  const cluster = config.cluster.toLowerCase() as Hex;

  const provider = new JsonRpcProvider(config.chain.rpc, undefined, { cacheTimeout: -1, pollingInterval: 250 });
  const network = await provider.getNetwork();
  const deployment = { chainId: network.chainId, anchor: config.chain.anchor };
  const registry = new DeviceRegistryClient(config.chain.registry, provider);
  const directory = registryFogDirectory(registry, 5_000);
  const sender =
    config.senderKey === undefined
      ? undefined
      : new Wallet(openSecret<{ privateKey: string }>(config.senderKey, passphrase).privateKey, provider);
  if (config.coordinator && sender === undefined) {
    throw new InvalidInputError("a coordinator needs senderKey: the account that sends the anchors", {
      field: "senderKey",
    });
  }
  const anchorClient = new DataAnchorClient(config.chain.anchor, sender ?? provider);
  const access = new AccessTokensClient(config.chain.accessTokens, provider);
  // access requests are judged on the chain's clock: the one shifts start and end on
  const chainClock = providerChainClock(provider);

  const pool = new FilterPool(backend, member.policy, config.workers);
  const store = new FogStore(config.store, id);
  const inbox = new Inbox(`${config.store}.inbox`);
  const node = new FogNode({
    id,
    index: config.index,
    share: member.share,
    commitments,
    scheme,
    policy: pool.policy,
    directory,
    store,
    anchors: anchorClient,
    // nothing is held in memory: a reading the chain cannot judge now stays in the durable inbox
    maxHeld: 0,
    ...(config.accessPurpose === undefined ? {} : { accessScope: accessScope(config.accessPurpose) }),
  });
  const verifier = new MemberRequestVerifier(
    scheme,
    commitments,
    cluster,
    node.index,
    config.peers.map((p) => p.index),
  );

  // ------------------------------------------------------------------ intake
  let closing = false;
  let backoffMs = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let drainAgain = false;

  const accept = (topic: string, payload: Uint8Array): void => {
    m.readingsIn.inc({ source: "mqtt" });
    if (payload.length > MAX_READING_BYTES) {
      m.rejected.inc({ reason: "oversized" });
      return;
    }
    const device = topic.slice(READING_TOPIC_PREFIX.length).toLowerCase();
    let reading: ReturnType<typeof decodeReading>;
    try {
      reading = decodeReading(payload);
    } catch {
      m.rejected.inc({ reason: "malformed" });
      return;
    }
    if (reading.device.toLowerCase() !== device) {
      m.rejected.inc({ reason: "wrong-topic" });
      return;
    }
    inbox.add(payload);
    m.inbox.set(inbox.size);
    scheduleDrain();
  };

  function scheduleDrain(): void {
    if (closing || retryTimer !== undefined) return;
    if (draining !== undefined) {
      drainAgain = true;
      return;
    }
    draining = drain().finally(() => {
      draining = undefined;
      if (drainAgain && !closing) {
        drainAgain = false;
        scheduleDrain();
      }
    });
  }

  async function drain(): Promise<void> {
    for (;;) {
      if (closing) return;
      const entries = inbox.take(DRAIN_CHUNK);
      if (entries.length === 0) return;
      const bytes = entries.map((e) => e.bytes);
      let retry = false;
      try {
        m.filterQueue.set(pool.queued);
        await pool.prime(bytes);
        const results = await node.ingest(bytes);
        const done: number[] = [];
        for (const [i, r] of results.entries()) {
          if (r.ok) {
            m.filtered.inc({ class: r.cls });
            done.push(entries[i]!.id);
          } else if (r.error.reason === "held" || r.error.reason === "retry") {
            retry = true;
          } else {
            m.rejected.inc({ reason: r.error.reason });
            done.push(entries[i]!.id);
          }
        }
        inbox.remove(done);
        if (retry) {
          m.retried.inc(entries.length - done.length);
          m.rpcErrors.inc({ part: "registry" }); // `retry`: the registry could not be read
        }
      } catch (e) {
        if (e instanceof TransportError || e instanceof ContractRevertError) m.rpcErrors.inc({ part: "filter" });
        logger.warn({ err: e }, "filtering failed: the readings stay in the inbox");
        retry = true;
      }
      m.inbox.set(inbox.size);
      if (retry) {
        backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(250, backoffMs * 2));
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          scheduleDrain();
        }, backoffMs);
        return;
      }
      backoffMs = 0;
    }
  }

  // ----------------------------------------------------------------- cluster
  const peers: FogMember[] = config.peers.map((p) => ({
    index: p.index,
    id: p.id.toLowerCase() as Hex,
    async endorse(proposal: BatchProposal) {
      const body = signMemberRequest(
        scheme,
        member.share,
        cluster,
        p.index,
        "/cluster/endorse",
        proposalToJson(proposal),
      );
      const answer = await requestJson<EndorsementJson>(`${p.url}/cluster/endorse`, {
        method: "POST",
        body,
        timeoutMs: config.endorseTimeoutMs,
      });
      return endorsementFromJson(backend, answer);
    },
    async signPossession(groupKey: Uint8Array) {
      const body = signMemberRequest(scheme, member.share, cluster, p.index, "/cluster/possession", {
        groupKey: `0x${Buffer.from(groupKey).toString("hex")}`,
      });
      const answer = await requestJson<{ index: number; signature: Hex }>(`${p.url}/cluster/possession`, {
        method: "POST",
        body,
        timeoutMs: config.endorseTimeoutMs,
      });
      return { index: answer.index, signature: backend.g1.fromBytes(Buffer.from(answer.signature.slice(2), "hex")) };
    },
  }));
  const self: FogMember = {
    index: node.index,
    id,
    async endorse(proposal, d) {
      await pool.prime(proposal.readings);
      return node.endorse(proposal, d);
    },
    readChainThrough: (view) => node.readChainThrough(view),
    signPossession: (groupKey) => node.signPossession(groupKey),
  };
  // the coordinator's anchors: kept, sent again and replaced with higher fees while unmined
  /** Set while the last replacement was not sent for the fee cap (cleared by an anchored batch). */
  let feeCapped: { needed: string; maxFeePerGas: string; at: number } | undefined;
  const sending =
    sender === undefined
      ? undefined
      : new FogAnchorSender({
          client: anchorClient,
          wallet: sender,
          file: `${config.store}.anchor-tx.json`,
          minedTimeoutMs: config.chain.anchorTimeoutMs,
          maxReplacements: config.chain.maxReplacements,
          maxFeePerGas: BigInt(config.chain.maxFeePerGas),
          onReplace: () => m.replacements.inc(),
          onFeeCap: (e) => {
            m.feeCapped.inc();
            feeCapped = { needed: String(e.details?.needed), maxFeePerGas: config.chain.maxFeePerGas, at: Date.now() };
          },
        });
  const port: FogAnchorPort = {
    head: (c, tag) => anchorClient.head(c, tag),
    anchorOf: (c, r, tag) => anchorClient.anchorOf(c, r, tag),
    blockNumber: () => anchorClient.blockNumber(),
    async anchorFogBatch(c, r, n, s) {
      const anchored = await (sending ?? anchorClient).anchorFogBatch(c, r, n, s);
      feeCapped = undefined;
      if (anchored.gasUsed !== undefined) m.gas.inc(Number(anchored.gasUsed));
      return anchored;
    },
  };
  const fogCluster = new FogCluster({
    id: cluster,
    deployment,
    commitments,
    scheme,
    members: [self, ...peers],
    anchor: port,
    directory,
    timeoutMs: config.endorseTimeoutMs,
    ...(config.chain.finalityDepth === undefined ? {} : { finalityDepth: config.chain.finalityDepth }),
    blocks: provider,
    report: (r) => {
      logger.warn({ member: r.member, reason: r.reason, at: r.at }, "a member's share was set aside");
      return Promise.resolve();
    },
  });

  let batchTimer: NodeJS.Timeout | undefined;
  let batching: Promise<void> | undefined;
  async function anchorRounds(): Promise<void> {
    while (!closing) {
      const started = performance.now();
      try {
        const batch = await fogCluster.anchorNext(node, config.batch.max);
        if (batch === undefined) return;
        const now = Date.now();
        m.endorseSeconds.observe((performance.now() - started) / 1000);
        m.batchSize.observe(batch.leafCount);
        m.anchored.inc();
        for (const r of batch.readings) m.anchorSeconds.observe(Math.max(0, now - decodeReading(r).time) / 1000);
        logger.info(
          {
            sequence: String(batch.sequence),
            root: batch.root,
            leafCount: batch.leafCount,
            tx: batch.txHash,
            signers: batch.signers,
          },
          "sensitive batch anchored",
        );
      } catch (e) {
        m.roundsFailed.inc({ name: e instanceof StrataError ? e.name : "Error" });
        if (e instanceof TransportError || e instanceof ContractRevertError) m.rpcErrors.inc({ part: "anchor" });
        logger.warn({ err: e }, "sign-share round failed; retried at the next interval");
        return;
      } finally {
        m.unbatched.set(node.store.unbatched(10_000).length);
      }
    }
  }
  function scheduleBatch(): void {
    if (!config.coordinator || closing) return;
    batchTimer = setTimeout(() => {
      batching = anchorRounds().finally(() => {
        batching = undefined;
        scheduleBatch();
      });
    }, config.batch.intervalMs);
  }

  // -------------------------------------------------------------------- http
  const batchBytes = config.batch.max * (2 * MAX_READING_BYTES + 32) + 64 * 1024;
  const app = createHttpService({
    name: "fog",
    logger,
    metrics,
    bodyLimit: Math.max(1024 * 1024, batchBytes),
    health: () => ({
      ok: !closing && (source?.connected() ?? true),
      index: config.index,
      coordinator: config.coordinator,
      inbox: inbox.size,
      mqtt: source?.connected() ?? null,
      // the anchoring transaction left pending: replacing it needs more than maxFeePerGas
      anchorFeeCapped: feeCapped ?? null,
    }),
  });
  app.get("/open", { schema: { querystring: OPEN_QUERY } }, (request) => {
    const q = request.query as Record<string, string | undefined>;
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const readings = node.queryOpen({
      ...(q.device === undefined ? {} : { device: q.device.toLowerCase() as Hex }),
      ...(q.from === undefined ? {} : { from: num(q.from)! }),
      ...(q.to === undefined ? {} : { to: num(q.to)! }),
      ...(q.tag === undefined ? {} : { tag: q.tag }),
      ...(q.afterId === undefined ? {} : { afterId: num(q.afterId)! }),
      ...(q.limit === undefined ? {} : { limit: num(q.limit)! }),
    });
    return { readings: readings.map(readingJson) };
  });
  app.get("/batches", () => ({
    batches: node.store.batches().map((b) => ({
      sequence: b.sequence,
      root: b.root,
      leafCount: b.leafCount,
      firstId: b.firstId,
      lastId: b.lastId,
      txHash: b.txHash ?? null,
      block: b.block ?? null,
    })),
  }));
  app.post("/sensitive", { schema: { body: SENSITIVE_BODY }, bodyLimit: 16 * 1024 }, async (request) => {
    const b = request.body as {
      request: Record<string, string>;
      signature: Hex;
      from: number;
      to: number;
    };
    const r = b.request;
    const accessRequest = {
      token: BigInt(r.token!),
      resource: r.resource as Hex,
      requester: r.requester!,
      nonce: r.nonce as Hex,
      issuedAt: BigInt(r.issuedAt!),
      expiresAt: BigInt(r.expiresAt!),
      scope: r.scope as Hex,
    };
    try {
      const now = BigInt(Math.floor((await chainClock.latestBlockTime()) / 1000));
      const readings = await node.serveSensitive(access, accessRequest, b.signature, { from: b.from, to: b.to }, now);
      return { readings: readings.map(readingJson) };
    } catch (e) {
      if (e instanceof TransportError) m.rpcErrors.inc({ part: "access" });
      throw e;
    }
  });
  app.post(
    "/cluster/endorse",
    { schema: { body: signedSchema(proposalSchema(config.batch.max)) } },
    async (request) => {
      const body = request.body as SignedRequest<ProposalJson>;
      verifier.verify("/cluster/endorse", body);
      const proposal = proposalFromJson(body.payload);
      if (proposal.cluster !== cluster) {
        throw new InvalidInputError("the proposal is for another cluster", { cluster: proposal.cluster });
      }
      await pool.prime(proposal.readings);
      const e = await node.endorse(proposal, deployment);
      m.endorsements.inc({ outcome: e.ok ? "signed" : e.reason });
      return endorsementToJson(backend, e);
    },
  );
  app.post(
    "/cluster/possession",
    {
      schema: {
        body: signedSchema({
          type: "object",
          additionalProperties: false,
          required: ["groupKey"],
          properties: { groupKey: { type: "string", pattern: "^0x[0-9a-f]{512}$" } },
        }),
      },
    },
    async (request) => {
      const body = request.body as SignedRequest<{ groupKey: Hex }>;
      verifier.verify("/cluster/possession", body);
      const partial = await node.signPossession(Buffer.from(body.payload.groupKey.slice(2), "hex"));
      return {
        index: partial.index,
        signature: `0x${Buffer.from(backend.g1.toBytes(partial.signature)).toString("hex")}`,
      };
    },
  );

  let source: ReadingSource | undefined;
  const { url } = await listen(app, config.http.host, config.http.port);
  try {
    if (config.mqtt !== undefined) {
      source =
        "embedded" in config.mqtt
          ? await embeddedBroker(config.mqtt.embedded.host ?? "127.0.0.1", config.mqtt.embedded.port, accept, {
              // a reading and its topic, with room for the MQTT headers
              maxPacketBytes: MAX_READING_BYTES + 512,
              refused: (reason) => m.mqttRefused.inc({ reason }),
            })
          : await externalBroker(config.mqtt.url, `strata-fog-${cluster.slice(2, 18)}-${config.index}`, accept, {
              onError: (e) => {
                m.mqttErrors.inc();
                logger.warn({ err: e.message }, "MQTT broker connection error; reconnecting");
              },
              onReconnected: () => logger.info("MQTT broker reconnected"),
            });
    }
  } catch (e) {
    await app.close();
    throw e;
  }
  // what a crash left in the inbox is offered again first
  m.inbox.set(inbox.size);
  scheduleDrain();
  scheduleBatch();
  logger.info({ url, mqtt: source?.url, index: config.index, coordinator: config.coordinator }, "fog member listening");

  return {
    url,
    ...(source === undefined ? {} : { mqtt: source.url }),
    node,
    async close() {
      closing = true;
      clearTimeout(batchTimer);
      clearTimeout(retryTimer);
      await source?.close();
      await app.close();
      await draining;
      await batching;
      await pool.close();
      inbox.close();
      store.close();
      provider.destroy();
    },
  };
}
