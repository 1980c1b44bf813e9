/**
 * A key server (seed 000's PKG as one of t-of-n networked services, issue 15): it holds one share
 * sᵢ of the master secret and issues identity-key shares sᵢ·H1(identity) over HTTP, only to a
 * requester whose signed request verifies under the device key `DeviceRegistry` holds for it,
 * and whose registered kind and status allow the role it asks for (the registry is the policy).
 * Each share is sealed to the requester's ephemeral key; each issuance and each refusal of a
 * well-formed request is appended to the hash-chained audit log before the answer leaves.
 *
 * Order of the checks, cheapest and chain-free first: the body's schema and size (before any
 * cryptography), the addressing (deployment, server), the epoch window, the deadline, the
 * ephemeral key, the signature (its encoding, and the key it was made with: recovered for
 * secp256k1, carried and verified for P-256); then one registry read, cached for
 * `registryCacheMs` (2 s by default: a revoked device stops getting keys within that time):
 * registered, signed by the registered key, not seen before, Active and of the right kind.
 * Only the requester's own signature makes a nonce remembered, so nobody can spend another's
 * nonce. A refusal is written to the audit log only once the requester is identified (its
 * signature verified under its registered key); anonymous refusals are counted in metrics only,
 * so a flood of forged requests fills neither the disk nor the RPC quota with one read each
 * (repeated ids hit the cache). A failure of the server itself (a worker) is a 500 and leaves
 * the nonce unspent.
 */
import type { FastifyInstance } from "fastify";
import { JsonRpcProvider, recoverAddress } from "ethers";

import { type Hex, toHex, uint256 } from "../../sdk/core/bytes.ts";
import { mclBackend, type PairingBackend } from "../../sdk/core/crypto/backend.ts";
import { ThresholdPkg } from "../../sdk/core/crypto/identity.ts";
import { type KeyShare, ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { DEFAULT_TIMING, type Role } from "../../sdk/core/nbiot/params.ts";
import {
  checkP256PublicKey,
  decodeP256DeviceSignature,
  isCanonicalSecp256k1Signature,
  P256_SIGNATURE_BYTES,
  p256Address,
  verifyP256Digest,
} from "../../sdk/core/p256.ts";
import { LruMap } from "../../sdk/core/lru.ts";
import { type DeviceRecord, Status } from "../../sdk/core/registry.ts";
import { DeploymentCheck, withDeadline } from "../../sdk/contracts/chain.ts";
import { DeviceRegistryClient } from "../../sdk/contracts/registry.ts";
import {
  ConfigError,
  InvalidInputError,
  KeyRequestRefusedError,
  RejectionError,
  StrataError,
  TransportError,
} from "../../sdk/errors.ts";
import { loadConfig, resolvePath } from "../runtime/config.ts";
import { closeHttp, createHttpService, listen } from "../runtime/http.ts";
import { createLogger, type Logger } from "../runtime/log.ts";
import { createMetrics, type Metrics } from "../runtime/metrics.ts";
import { openSecret } from "../runtime/secret-file.ts";
import { createPool, defaultThreads, workerUrl } from "../runtime/workers.ts";
import { AuditLog } from "./audit.ts";
import { loadKeyServerPublic } from "./client.ts";
import {
  checkEphemeralKey,
  checkEpoch,
  checkPolicy,
  DEFAULT_APPLICATION_PERMISSION,
  DEFAULT_MAX_DEADLINE_SECONDS,
  identitiesFor,
  type KeyAnswer,
  type KeyRequest,
  keyRequestDigest,
  keyServerDomain,
  type KeyServerPublic,
  type ExtractTask,
  ROLES,
  sealedParts,
} from "./protocol.ts";
import type { ExtractResult } from "./extract-worker.ts";

/** Largest request body by default: a request is under 1 KiB. */
export const KEYSERVER_BODY_LIMIT = 4096;

/** How long a registry read is reused by default (ms): a revoked device stops getting keys within it. */
export const REGISTRY_CACHE_MS = 2000;

/** How many registry reads are kept at most. */
const REGISTRY_CACHE_ENTRIES = 10_000;

/** Most audit entries one `GET /v1/audit` returns. */
export const AUDIT_PAGE = 1000;

// ---------------------------------------------------------------- files

/** A server's configuration file. Paths are relative to the file. */
export interface KeyServerConfig {
  /** The server's sealed share (from `strata keyserver deal`). */
  readonly share: string;
  /** The dealing's public file. */
  readonly public: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** The chain's JSON-RPC URL. */
  readonly rpc: string;
  /** The `DeviceRegistry` whose records decide who gets keys. */
  readonly registry: string;
  readonly chainId: number | string;
  /** The audit log (SQLite), created at first start. */
  readonly audit: string;
  /** The station key epoch (ms; the stations' `timing.keyEpochMs`, a day by default). */
  readonly keyEpochMs?: number;
  /** The permission bit that makes a registered `Device` an application (default 0x80000000). */
  readonly applicationPermission?: number;
  /** How far ahead a request's deadline may lie (s; default 300). */
  readonly maxDeadlineSeconds?: number;
  /** Deadline of each chain read (ms). */
  readonly rpcTimeoutMs?: number;
  /** How long a registry read is reused (ms; default 2000, 0: never): a revoked device stops getting keys within it. */
  readonly registryCacheMs?: number;
  /** Worker threads making shares (default one per core). */
  readonly workers?: number;
  readonly logLevel?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

const HEX32 = "^0x[0-9a-fA-F]{64}$";

export const KEYSERVER_CONFIG_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["share", "public", "listen", "rpc", "registry", "chainId", "audit"],
  properties: {
    share: { type: "string", minLength: 1 },
    public: { type: "string", minLength: 1 },
    listen: {
      type: "object",
      additionalProperties: false,
      required: ["host", "port"],
      properties: { host: { type: "string", minLength: 1 }, port: { type: "integer", minimum: 0, maximum: 65535 } },
    },
    rpc: { type: "string", pattern: "^https?://" },
    registry: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
    chainId: {
      anyOf: [
        { type: "integer", minimum: 1 },
        { type: "string", pattern: "^[1-9][0-9]{0,77}$" },
      ],
    },
    audit: { type: "string", minLength: 1 },
    keyEpochMs: { type: "integer", minimum: 1000 },
    applicationPermission: { type: "integer", minimum: 1, maximum: 4294967295 },
    maxDeadlineSeconds: { type: "integer", minimum: 1, maximum: 86400 },
    rpcTimeoutMs: { type: "integer", minimum: 100, maximum: 600000 },
    registryCacheMs: { type: "integer", minimum: 0, maximum: 60000 },
    workers: { type: "integer", minimum: 1, maximum: 256 },
    logLevel: { enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] },
  },
} as const;

/** What a sealed share file holds. */
export interface ShareFile {
  readonly format: "strata-keyserver-share/v1";
  readonly deployment: Hex;
  readonly index: number;
  readonly threshold: number;
  readonly servers: number;
  readonly secret: Hex;
}

/**
 * Opens a sealed share and checks it is this dealing's share of its index (its secret's public
 * key is the commitments' value there): a wrong passphrase, a damaged file or another dealing's
 * share is an `InvalidInputError` naming the file.
 */
export function openShareFile(
  backend: PairingBackend,
  file: string,
  passphrase: string,
  info: KeyServerPublic,
): KeyShare {
  const raw = openSecret<Partial<ShareFile>>(file, passphrase);
  const bad = (what: string): never => {
    throw new InvalidInputError(`${file}: ${what}`, { file });
  };
  if (typeof raw !== "object" || raw === null || raw.format !== "strata-keyserver-share/v1") {
    bad("not a key server's share (format)");
  }
  if (raw.deployment?.toLowerCase() !== info.deployment)
    bad("the share belongs to another dealing than the public file's");
  if (!Number.isInteger(raw.index) || raw.index! < 1 || raw.index! > info.servers)
    bad("the share's index is out of range");
  if (typeof raw.secret !== "string" || !/^0x[0-9a-f]{64}$/.test(raw.secret)) bad("the share's secret is malformed");
  const share: KeyShare = { index: raw.index!, secret: BigInt(raw.secret!) };
  const pkg = new ThresholdPkg(backend, info.commitments);
  if (!pkg.scheme.verifyShare(share, info.commitments)) bad("the share does not match the public commitments");
  return share;
}

// ---------------------------------------------------------------- the service

/** What a running key server is made of (the CLI builds it from a configuration file). */
export interface KeyServerParts {
  readonly backend: PairingBackend;
  readonly info: KeyServerPublic;
  readonly share: KeyShare;
  readonly chainId: bigint;
  readonly registryAddress: string;
  /** Reads the registry (`getDevice`). */
  readonly registry: Pick<DeviceRegistryClient, "getDevice">;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly keyEpochMs?: number;
  readonly applicationPermission?: number;
  readonly maxDeadlineSeconds?: number;
  readonly bodyLimit?: number;
  /** How long a registry read is reused (ms; default `REGISTRY_CACHE_MS`, 0: never). */
  readonly registryCacheMs?: number;
  /** The server's clock (ms). */
  readonly clock?: () => number;
  /** Reads the chain once (for `/healthz`: a key server that cannot read the registry cannot issue). */
  readonly probeChain?: () => Promise<unknown>;
  /** Makes the sealed parts of an authenticated request (default: on the main thread; the CLI: a worker pool). */
  readonly extract?: (task: ExtractTask) => Promise<readonly { readonly identity: string; readonly sealed: Hex }[]>;
}

interface RequestBody {
  readonly request: KeyRequest;
  readonly signature: Hex;
}

const REQUEST_BODY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["request", "signature"],
  properties: {
    request: {
      type: "object",
      additionalProperties: false,
      required: ["id", "role", "ephemeralKey", "deployment", "server", "nonce", "deadline"],
      properties: {
        id: { type: "string", pattern: HEX32 },
        role: { enum: ROLES },
        epoch: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        ephemeralKey: { type: "string", pattern: HEX32 },
        deployment: { type: "string", pattern: HEX32 },
        server: { type: "integer", minimum: 1, maximum: 65535 },
        nonce: { type: "string", pattern: HEX32 },
        deadline: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      },
    },
    // 65 bytes (secp256k1) or 128 bytes (P-256: x, y, r, s)
    signature: { type: "string", pattern: "^0x([0-9a-fA-F]{130}|[0-9a-fA-F]{256})$" },
  },
} as const;

const AUDIT_QUERY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    after: { type: "string", pattern: "^(0|[1-9][0-9]{0,14})$" },
    limit: { type: "string", pattern: "^[1-9][0-9]{0,3}$" },
  },
} as const;

/**
 * Checks a signature the registry's way, before any chain read, and returns the address of the
 * key that made it (recovered for secp256k1; carried, and verified over `digest`, for P-256):
 * the request is the requester's only if the registry holds that address for it.
 */
function signerOf(digest: Hex, signature: Hex): string {
  if ((signature.length - 2) / 2 === P256_SIGNATURE_BYTES) {
    let decoded;
    try {
      decoded = decodeP256DeviceSignature(signature);
      checkP256PublicKey(decoded.key, "the signature's P-256 key");
    } catch (cause) {
      throw new KeyRequestRefusedError(
        "bad-signature",
        "the P-256 signature's key is not a point of P-256",
        {},
        { cause },
      );
    }
    if (!verifyP256Digest(decoded.key, digest, decoded.sig)) {
      throw new KeyRequestRefusedError("bad-signature", "the P-256 signature does not verify with its key");
    }
    return p256Address(decoded.key).toLowerCase();
  }
  if (!isCanonicalSecp256k1Signature(signature)) {
    throw new KeyRequestRefusedError("bad-signature", "the signature is malformed (65 bytes, s ≤ n/2, v 27 or 28)");
  }
  try {
    return recoverAddress(digest, signature).toLowerCase();
  } catch (cause) {
    throw new KeyRequestRefusedError("bad-signature", "no key recovers from the signature", {}, { cause });
  }
}

/** A key server's failure (not the requester's): a 500, the nonce left unspent. */
export class ShareMakingError extends StrataError {
  override name = "ShareMakingError" as const;
}

/** The HTTP service of one key server: `POST /v1/keys`, `GET /v1/audit`, `GET /v1/info`, `/metrics`, `/healthz`. */
export function createKeyServer(parts: KeyServerParts): FastifyInstance {
  const { backend, info, share, audit, logger } = parts;
  const metrics = parts.metrics ?? createMetrics("keyserver");
  const clock = parts.clock ?? Date.now;
  const keyEpochMs = parts.keyEpochMs ?? DEFAULT_TIMING.keyEpochMs;
  const applicationPermission = parts.applicationPermission ?? DEFAULT_APPLICATION_PERMISSION;
  const maxDeadline = parts.maxDeadlineSeconds ?? DEFAULT_MAX_DEADLINE_SECONDS;
  const domain = keyServerDomain(parts.chainId, parts.registryAddress);
  const scheme = new ThresholdScheme(backend);
  const extract = parts.extract ?? ((task: ExtractTask) => Promise.resolve(sealedParts(scheme, task)));
  const secret = toHex(uint256(share.secret, "share"));
  const cacheMs = parts.registryCacheMs ?? REGISTRY_CACHE_MS;
  /** Registry reads (and reads under way, shared by their copies), each kept `cacheMs`. */
  const records = new LruMap<string, { read: Promise<DeviceRecord>; until: number }>(REGISTRY_CACHE_ENTRIES);
  const readDevice = (id: Hex): Promise<DeviceRecord> => {
    const hit = records.get(id);
    if (hit !== undefined && clock() < hit.until) return hit.read;
    const read = parts.registry.getDevice(id);
    records.set(id, { read, until: Number.POSITIVE_INFINITY }); // until it settles
    read.then(
      () => {
        if (records.peek(id)?.read === read) records.set(id, { read, until: clock() + cacheMs });
      },
      () => {
        if (records.peek(id)?.read === read) records.delete(id);
      },
    );
    return read;
  };
  /** Requests authenticated and being served: a copy arriving meanwhile is a replay too. */
  const inFlight = new Set<string>();
  const issued = metrics.counter("keyserver_issued_total", "identity-key shares issued, by role", ["role"]);
  const refused = metrics.counter("keyserver_refused_total", "key requests refused, by reason", ["reason"]);
  const anonymous = metrics.counter(
    "keyserver_refused_anonymous_total",
    "key requests refused before their requester was identified (not in the audit log), by reason",
    ["reason"],
  );
  const rpcErrors = metrics.counter("keyserver_rpc_errors_total", "registry reads that failed");
  const auditHead = metrics.gauge("keyserver_audit_entries", "entries in the audit log");
  const seconds = metrics.histogram("keyserver_request_seconds", "time to answer a key request");
  auditHead.set(audit.head.seq);
  let lastChainError: string | undefined;

  const app = createHttpService({
    name: "keyserver",
    logger,
    metrics,
    bodyLimit: parts.bodyLimit ?? KEYSERVER_BODY_LIMIT,
    health: async () => {
      let chain = "ok";
      if (parts.probeChain !== undefined) {
        try {
          await parts.probeChain();
        } catch (e) {
          chain = e instanceof StrataError ? e.shortMessage : String(e);
        }
      }
      return {
        ok: chain === "ok",
        server: share.index,
        audit: audit.head.seq,
        chain,
        ...(lastChainError === undefined ? {} : { lastChainError }),
      };
    },
  });

  app.get("/v1/info", () => ({
    server: share.index,
    deployment: info.deployment,
    threshold: info.threshold,
    servers: info.servers,
    chainId: parts.chainId.toString(),
    registry: parts.registryAddress.toLowerCase(),
    keyEpochMs,
    applicationPermission,
    maxDeadlineSeconds: maxDeadline,
  }));

  app.get<{ Querystring: { after?: string; limit?: string } }>(
    "/v1/audit",
    { schema: { querystring: AUDIT_QUERY_SCHEMA } },
    (request) => {
      const after = Number(request.query.after ?? "0");
      const limit = Math.min(AUDIT_PAGE, Number(request.query.limit ?? String(AUDIT_PAGE)));
      const prev = audit.hashAt(after);
      if (prev === undefined) {
        throw new InvalidInputError(`the audit log has ${audit.head.seq} entries; after=${after} is past its end`, {
          after,
          head: audit.head.seq,
        });
      }
      return {
        server: share.index,
        deployment: info.deployment,
        genesis: audit.genesis,
        head: audit.head,
        after,
        prev,
        entries: audit.entries(after, limit),
      };
    },
  );

  app.post<{ Body: RequestBody }>("/v1/keys", { schema: { body: REQUEST_BODY_SCHEMA } }, async (request) => {
    const started = performance.now();
    const { request: r, signature } = request.body;
    const now = clock();
    const role = r.role as Role;
    const id = r.id.toLowerCase() as Hex;
    const digest = keyRequestDigest(domain, r);
    let signer: string | null = null;
    let remember = false;
    let reserved: string | undefined;
    try {
      if (r.deployment.toLowerCase() !== info.deployment || r.server !== share.index) {
        throw new KeyRequestRefusedError(
          "wrong-server",
          `this is server ${share.index} of deployment ${info.deployment}`,
          {
            server: r.server,
            deployment: r.deployment,
          },
        );
      }
      checkEpoch(role, r.epoch, now, keyEpochMs);
      const nowSeconds = Math.floor(now / 1000);
      if (r.deadline < nowSeconds) {
        throw new KeyRequestRefusedError("expired", "the request's deadline has passed", {
          deadline: r.deadline,
          now: nowSeconds,
        });
      }
      if (r.deadline > nowSeconds + maxDeadline) {
        throw new KeyRequestRefusedError("too-far", `the request's deadline is more than ${maxDeadline} s ahead`, {
          deadline: r.deadline,
          now: nowSeconds,
        });
      }
      checkEphemeralKey(r.ephemeralKey);
      const claimed = signerOf(digest, signature);
      let record;
      try {
        record = await readDevice(id);
        lastChainError = undefined;
      } catch (e) {
        rpcErrors.inc();
        lastChainError = e instanceof StrataError ? e.shortMessage : String(e);
        throw e instanceof StrataError ? e : new TransportError("the registry could not be read", {}, { cause: e });
      }
      if (record.status === Status.None) {
        throw new KeyRequestRefusedError("unknown-device", "the requester is not registered", { id });
      }
      if (typeof record.key !== "string" || record.key.toLowerCase() !== claimed) {
        throw new KeyRequestRefusedError(
          "wrong-signer",
          "the request is not signed by the requester's registered key",
          {
            id,
            registered: record.key,
          },
        );
      }
      signer = record.key;
      // The replay check and the reservation are one step (nothing awaits between them); the nonce
      // is written with the audit entry, and held in `inFlight` until then.
      const key = `${id}/${r.nonce.toLowerCase()}`;
      if (inFlight.has(key) || audit.seen(id, r.nonce)) {
        throw new KeyRequestRefusedError("replayed", "this request was answered before", { nonce: r.nonce });
      }
      inFlight.add(key);
      reserved = key;
      remember = true;
      checkPolicy(record, role, applicationPermission);
      const identities = identitiesFor(role, id, r.epoch);
      let shares;
      try {
        shares = await extract({ secret, index: share.index, identities, ephemeralKey: r.ephemeralKey, digest });
      } catch (e) {
        // the server failed, not the requester: its nonce stays unspent, so it may ask again
        remember = false;
        throw e instanceof ShareMakingError
          ? e
          : new ShareMakingError("the shares could not be made", {}, { cause: e });
      }
      const entry = audit.append(
        {
          time: now,
          outcome: "issued",
          reason: null,
          id,
          role,
          epoch: r.epoch ?? null,
          nonce: r.nonce,
          digest,
          signer,
          identities,
        },
        { deadline: r.deadline },
      );
      issued.inc({ role });
      auditHead.set(entry.seq);
      seconds.observe((performance.now() - started) / 1000);
      logger.info({ id, role, epoch: r.epoch, audit: entry.seq }, "issued");
      const answer: KeyAnswer = {
        server: share.index,
        id,
        role,
        ...(r.epoch === undefined ? {} : { epoch: r.epoch }),
        shares,
        audit: entry.seq,
      };
      return answer;
    } catch (e) {
      const reason = e instanceof RejectionError ? String(e.reason) : e instanceof Error ? e.name : "Error";
      if (signer === null) {
        // not identified: anyone could send this, so it costs no disk (metrics and a debug line only)
        refused.inc({ reason });
        anonymous.inc({ reason });
        logger.debug({ id, role, reason }, "refused (anonymous)");
        throw e;
      }
      const entry = audit.append(
        {
          time: now,
          outcome: "refused",
          reason,
          id,
          role,
          epoch: r.epoch ?? null,
          nonce: r.nonce,
          digest,
          signer,
          identities: [],
        },
        remember ? { deadline: r.deadline } : undefined,
      );
      refused.inc({ reason });
      auditHead.set(entry.seq);
      logger.info({ id, role, epoch: r.epoch, reason, audit: entry.seq }, "refused");
      throw e;
    } finally {
      if (reserved !== undefined) inFlight.delete(reserved);
    }
  });

  return app;
}

/** A key server started from its configuration file. */
export interface RunningKeyServer {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  readonly server: number;
  readonly deployment: Hex;
  readonly logger: Logger;
  close(): Promise<void>;
}

/**
 * Reads the configuration, opens the share with `passphrase` and the audit log, checks the chain
 * serves `chainId` with the registry deployed, and listens. Every failure before listening is one
 * typed error naming the file (or the chain) at fault.
 */
export async function startKeyServer(
  configFile: string,
  passphrase: string,
  given?: Logger,
): Promise<RunningKeyServer> {
  const config = loadConfig<KeyServerConfig>(configFile, KEYSERVER_CONFIG_SCHEMA, "key server configuration");
  const logger = given ?? createLogger("keyserver", config.logLevel);
  const backend = await mclBackend();
  const info = loadKeyServerPublic(backend, resolvePath(configFile, config.public));
  const chainId = BigInt(config.chainId);
  if (info.chainId !== undefined && info.chainId !== chainId) {
    throw new ConfigError(`${configFile}: chainId ${chainId} is not the public file's ${info.chainId}`, {
      field: "/chainId",
    });
  }
  if (info.registry !== undefined && info.registry !== config.registry.toLowerCase()) {
    throw new ConfigError(`${configFile}: registry ${config.registry} is not the public file's ${info.registry}`, {
      field: "/registry",
    });
  }
  const share = openShareFile(backend, resolvePath(configFile, config.share), passphrase, info);
  const timeoutMs = config.rpcTimeoutMs ?? 10_000;
  const provider = new JsonRpcProvider(config.rpc, Number(chainId), { staticNetwork: true, cacheTimeout: -1 });
  try {
    await new DeploymentCheck(config.registry, { chainId, timeoutMs }).ensure(provider, "DeviceRegistry");
  } catch (e) {
    provider.destroy();
    throw e;
  }
  const registry = new DeviceRegistryClient(config.registry, provider, { chainId, timeoutMs });
  let audit: AuditLog;
  try {
    audit = new AuditLog(resolvePath(configFile, config.audit), info.deployment, share.index);
  } catch (e) {
    provider.destroy();
    throw e;
  }
  const pool = createPool(workerUrl(import.meta.url, "./extract-worker.ts"), config.workers ?? defaultThreads());
  const app = createKeyServer({
    extract: async (task) => {
      const result = (await pool.run(task)) as ExtractResult;
      if (!result.ok) throw new ShareMakingError(`the shares could not be made: ${result.message}`);
      return result.shares;
    },
    backend,
    info,
    share,
    chainId,
    registryAddress: config.registry,
    registry,
    audit,
    logger,
    ...(config.keyEpochMs === undefined ? {} : { keyEpochMs: config.keyEpochMs }),
    ...(config.applicationPermission === undefined ? {} : { applicationPermission: config.applicationPermission }),
    ...(config.maxDeadlineSeconds === undefined ? {} : { maxDeadlineSeconds: config.maxDeadlineSeconds }),
    ...(config.registryCacheMs === undefined ? {} : { registryCacheMs: config.registryCacheMs }),
    probeChain: () => withDeadline("eth_blockNumber", Math.min(timeoutMs, 5_000), provider.getBlockNumber()),
  });
  let where: { url: string; port: number };
  try {
    where = await listen(app, config.listen.host, config.listen.port);
  } catch (e) {
    audit.close();
    provider.destroy();
    await pool.destroy();
    throw e;
  }
  return {
    app,
    ...where,
    server: share.index,
    deployment: info.deployment,
    logger,
    async close() {
      await closeHttp(app);
      audit.close();
      await pool.destroy();
      provider.destroy();
    },
  };
}
