/**
 * The requester's side of the key servers (seed 000's PKG, t-of-n over the network, issue 15):
 * a node, station or application asks every key server at once for its identity-key shares,
 * each request signed by its registered device key and carrying a fresh ephemeral X25519 key;
 * it opens each sealed share, checks it against that server's public verification key (a
 * pairing: a wrong or malicious share is named, never combined), combines t of them by Lagrange
 * interpolation and checks the result against the master public key (`checkPrivateKey`). Fewer
 * than t good answers is a `KeyIssuanceError` naming each server that failed and why.
 *
 * `stationKeySource` keeps a station's epoch keys: fetched ahead of each epoch and cached, so
 * the station's synchronous `keyFor(epoch)` never waits on the network.
 */
import { readFileSync } from "node:fs";

import type { Signer } from "ethers";

import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import { type G1, mclBackend, type PairingBackend } from "../../sdk/core/crypto/backend.ts";
import { checkPrivateKey, DST_IDENTITY, identityBytes } from "../../sdk/core/crypto/identity.ts";
import { type PartialSignature, ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import {
  type ApplicationKeys,
  checkId,
  type NodeKeys,
  type StationKeys,
  type Timing,
} from "../../sdk/core/nbiot/params.ts";
import { encodeP256DeviceSignature, isP256Signer, p256Sign, type P256Signer } from "../../sdk/core/p256.ts";
import {
  InvalidInputError,
  KeyIssuanceError,
  type KeyServerFailure,
  ProtocolError,
  RejectionError,
  StrataError,
  ThresholdError,
} from "../../sdk/errors.ts";
import { requestJson } from "../runtime/http-client.ts";
import {
  auditGenesis,
  type AuditEntry,
  ephemeralKeyPair,
  firstBrokenEntry,
  identitiesFor,
  type KeyAnswer,
  type KeyRequest,
  keyRequestDigest,
  keyRequestValue,
  KEY_REQUEST_TYPES,
  keyServerDomain,
  type KeyServerPublic,
  openShare,
  publicFromJson,
} from "./protocol.ts";

/** How long a request stays valid by default (seconds). */
export const DEFAULT_REQUEST_LIFETIME_SECONDS = 120;

/** Deadline of each server's answer by default (ms). */
export const DEFAULT_KEY_TIMEOUT_MS = 10_000;

/** The device key that proves the requester's identity: an ethers signer (secp256k1) or a P-256 signer. */
export type DeviceSigner = Signer | P256Signer;

/** Where the key servers are and who asks them. */
export interface KeyServerAccess {
  /** Base URLs of the servers, in their dealing order: `servers[i]` holds share i + 1. */
  readonly servers: readonly string[];
  /** The public information (parsed, or the public file's JSON), or the public file's path. */
  readonly public: KeyServerPublic | string | object;
  /** The requester's registered id. */
  readonly id: Hex;
  /** Its registered device key. */
  readonly signer: DeviceSigner;
  /** The pairing backend the keys are for (default mcl). */
  readonly backend?: PairingBackend;
  /** The chain and registry the servers check (default: the public file's). */
  readonly chainId?: bigint;
  readonly registry?: string;
  /** Deadline of each server's answer (ms). */
  readonly timeoutMs?: number;
  /** How long each signed request stays valid (seconds). */
  readonly lifetimeSeconds?: number;
  /** The clock (ms), for tests of expiry. */
  readonly now?: () => number;
}

export type IdentityKeyRequest = KeyServerAccess &
  ({ readonly role: "node" } | { readonly role: "application" } | { readonly role: "station"; readonly epoch: number });

/** Public files parsed before, by backend and text (a simulator asks for many devices' keys with one file). */
const parsedFiles = new WeakMap<PairingBackend, Map<string, KeyServerPublic>>();

/** Reads public information from a file, JSON or an already parsed value. */
export function loadKeyServerPublic(
  backend: PairingBackend,
  source: KeyServerPublic | string | object,
): KeyServerPublic {
  if (typeof source === "string") {
    let text: string;
    try {
      text = readFileSync(source, "utf8");
    } catch (e) {
      throw new InvalidInputError(
        `${source}: the key servers' public file cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`,
        {
          file: source,
        },
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new InvalidInputError(`${source}: the key servers' public file is not JSON (${(e as Error).message})`, {
        file: source,
      });
    }
    let cache = parsedFiles.get(backend);
    if (cache === undefined) parsedFiles.set(backend, (cache = new Map()));
    const known = cache.get(text);
    if (known !== undefined) return known;
    const parsed = publicFromJson(backend, raw, source);
    if (cache.size >= 16) cache.delete(cache.keys().next().value!);
    cache.set(text, parsed);
    return parsed;
  }
  if (
    "memberKeys" in source &&
    Array.isArray((source as KeyServerPublic).memberKeys) &&
    typeof (source as KeyServerPublic).memberKeys[0] !== "string"
  ) {
    return source as KeyServerPublic;
  }
  return publicFromJson(backend, source);
}

async function signRequest(signer: DeviceSigner, chainId: bigint, registry: string, req: KeyRequest): Promise<Hex> {
  const domain = keyServerDomain(chainId, registry);
  if (isP256Signer(signer)) {
    return encodeP256DeviceSignature(signer.publicKey, await p256Sign(signer, keyRequestDigest(domain, req)));
  }
  return (await signer.signTypedData(domain, KEY_REQUEST_TYPES, keyRequestValue(req))) as Hex;
}

function failureOf(server: string, error: unknown): KeyServerFailure {
  if (error instanceof StrataError) {
    return {
      server,
      error: error.name,
      ...(error instanceof RejectionError ? { reason: String(error.reason) } : {}),
      message: error.shortMessage,
    };
  }
  return { server, error: error instanceof Error ? error.name : "Error", message: String(error) };
}

/**
 * Asks every server for the shares of `identities`; resolves with t verified shares of each as
 * soon as t servers have answered well, or throws `KeyIssuanceError` once too many have failed.
 */
async function collectShares(
  req: IdentityKeyRequest,
  backend: PairingBackend,
  info: KeyServerPublic,
  identities: readonly string[],
): Promise<Map<string, PartialSignature[]>> {
  const servers = req.servers;
  if (!Array.isArray(servers) || servers.length !== info.servers) {
    throw new InvalidInputError(
      `the deployment has ${info.servers} key servers; ${servers?.length ?? 0} URLs were given`,
      {
        servers: servers?.length,
      },
    );
  }
  const chainId = req.chainId ?? info.chainId;
  const registry = req.registry ?? info.registry;
  if (chainId === undefined || registry === undefined) {
    throw new InvalidInputError(
      "the chain id and registry the key servers check must be given (or be in the public file)",
    );
  }
  const now = req.now ?? Date.now;
  const lifetime = req.lifetimeSeconds ?? DEFAULT_REQUEST_LIFETIME_SECONDS;
  const scheme = new ThresholdScheme(backend);
  const epoch = req.role === "station" ? req.epoch : undefined;
  const id = checkId(req.id, "id");
  const t = info.threshold;

  const ask = async (url: string, index: number): Promise<PartialSignature[]> => {
    const { secretKey, publicKey } = ephemeralKeyPair();
    const request: KeyRequest = {
      id,
      role: req.role,
      ...(epoch === undefined ? {} : { epoch }),
      ephemeralKey: publicKey,
      deployment: info.deployment,
      server: index,
      nonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
      deadline: Math.floor(now() / 1000) + lifetime,
    };
    const signature = await signRequest(req.signer, chainId, registry, request);
    const digest = keyRequestDigest(keyServerDomain(chainId, registry), request);
    const answer = await requestJson<KeyAnswer>(`${url.replace(/\/+$/, "")}/v1/keys`, {
      method: "POST",
      body: { request, signature },
      timeoutMs: req.timeoutMs ?? DEFAULT_KEY_TIMEOUT_MS,
    });
    if (
      typeof answer !== "object" ||
      answer === null ||
      answer.server !== index ||
      !Array.isArray(answer.shares) ||
      answer.shares.length !== identities.length
    ) {
      throw new ProtocolError("wrong-peer", `${url} answered for another server or request`, { server: url });
    }
    return identities.map((identity, k) => {
      const share = answer.shares[k]!;
      if (share.identity !== identity || typeof share.sealed !== "string") {
        throw new ProtocolError("wrong-peer", `${url} answered with shares of another identity`, { server: url });
      }
      const partial = {
        index,
        signature: backend.g1.fromBytes(openShare(secretKey, identity, index, digest, share.sealed as Hex)),
      };
      if (!scheme.verifyPartial(info.commitments, identityBytes(identity), partial, DST_IDENTITY)) {
        throw new ThresholdError(`${url} answered with a share that fails its public key`, [index], {
          server: url,
          identity,
        });
      }
      return partial;
    });
  };

  // Resolves as soon as t servers answered well; when that can no longer happen, waits for every
  // answer (each bounded by its deadline) so the error names every server that failed.
  return new Promise((resolve, reject) => {
    const good: PartialSignature[][] = [];
    const failures: KeyServerFailure[] = [];
    let settled = false;
    const settle = () => {
      if (settled) return;
      if (good.length >= t) {
        settled = true;
        resolve(new Map(identities.map((identity, k) => [identity, good.slice(0, t).map((g) => g[k]!)])));
      } else if (good.length + failures.length === servers.length) {
        settled = true;
        failures.sort((a, b) => servers.indexOf(a.server) - servers.indexOf(b.server));
        reject(
          new KeyIssuanceError(
            `${good.length} of ${servers.length} key servers served, ${t} needed: ${failures
              .map((f) => `${f.server} ${f.reason ?? f.error}`)
              .join(", ")}`,
            failures,
            { threshold: t, id, role: req.role, ...(epoch === undefined ? {} : { epoch }) },
          ),
        );
      }
    };
    servers.forEach((url, i) => {
      ask(url, i + 1).then(
        (parts) => {
          good.push(parts);
          settle();
        },
        (error: unknown) => {
          failures.push(failureOf(url, error));
          settle();
        },
      );
    });
  });
}

/** Interpolates t checked shares of `identity` and checks the key against the master public key. */
function combine(
  backend: PairingBackend,
  info: KeyServerPublic,
  identity: string,
  parts: readonly PartialSignature[],
): G1 {
  const key = new ThresholdScheme(backend).interpolate(parts);
  if (!checkPrivateKey(backend, info.masterPublic, identity, key)) {
    throw new KeyIssuanceError(
      "the combined key is not the master key's for this identity: the public file is wrong",
      [],
      {
        identity,
      },
    );
  }
  return key;
}

/**
 * The requester's identity keys from the key servers: a node's `NodeKeys`, a station's key of
 * `epoch`, an application's `ApplicationKeys` (the shapes `sdk/core/nbiot/params.ts` makes).
 */
export async function requestIdentityKeys(req: KeyServerAccess & { readonly role: "node" }): Promise<NodeKeys>;
export async function requestIdentityKeys(
  req: KeyServerAccess & { readonly role: "station"; readonly epoch: number },
): Promise<G1>;
export async function requestIdentityKeys(
  req: KeyServerAccess & { readonly role: "application" },
): Promise<ApplicationKeys>;
export async function requestIdentityKeys(req: IdentityKeyRequest): Promise<NodeKeys | G1 | ApplicationKeys> {
  const backend = req.backend ?? (await mclBackend());
  const info = loadKeyServerPublic(backend, req.public);
  const id = checkId(req.id, "id");
  if (req.role === "station" && (!Number.isSafeInteger(req.epoch) || req.epoch < 0)) {
    throw new InvalidInputError("a station's key epoch is a non-negative integer", { epoch: req.epoch });
  }
  const identities = identitiesFor(req.role, id, req.role === "station" ? req.epoch : undefined);
  const shares = await collectShares(req, backend, info, identities);
  const keys = identities.map((identity) => combine(backend, info, identity, shares.get(identity)!));
  if (req.role === "node") return { role: "node", id, signKey: keys[0]!, decryptKey: keys[1]! };
  if (req.role === "application") return { role: "application", id, signKey: keys[0]! };
  return keys[0]!;
}

// ---------------------------------------------------------------- a station's epoch keys

export interface StationKeySourceOptions extends KeyServerAccess {
  /** The key epoch length (the station's `params.timing.keyEpochMs`). */
  readonly timing: Pick<Timing, "keyEpochMs">;
  /** The station's clock (ms; default `Date.now`). */
  readonly clock?: () => number;
  /** How often the source checks that the current and next epochs' keys are held (ms; default a tenth of an epoch, at most a minute). */
  readonly refreshMs?: number;
  /** Called when a background fetch fails (the key is asked again at the next check). */
  readonly onError?: (error: unknown, epoch: number) => void;
}

/** A station's keys fetched from the key servers ahead of each epoch. */
export interface StationKeySource extends StationKeys {
  /** Fetches the current and next epochs' keys (waits for them), then keeps fetching ahead until `stop`. */
  start(): Promise<void>;
  /** The key of `epoch`, fetched now unless held. */
  fetch(epoch: number): Promise<G1>;
  /** The epochs whose keys are held. */
  held(): number[];
  stop(): void;
}

/**
 * A `StationKeys` whose epoch keys come from the key servers: `start()` fetches the current and
 * the next epoch's keys, then a timer keeps the next one fetched ahead of its start and forgets
 * keys more than one epoch old. `keyFor(epoch)` answers from what is held (an `InvalidInputError`
 * when the epoch's key is not: the key servers refused or could not be reached).
 */
export function stationKeySource(options: StationKeySourceOptions): StationKeySource {
  const id = checkId(options.id, "id");
  const epochMs = options.timing.keyEpochMs;
  if (!Number.isSafeInteger(epochMs) || epochMs <= 0) {
    throw new InvalidInputError("timing.keyEpochMs must be a positive integer", { keyEpochMs: epochMs });
  }
  const clock = options.clock ?? Date.now;
  const refreshMs = options.refreshMs ?? Math.min(60_000, Math.max(1, Math.floor(epochMs / 10)));
  const issued = new Map<number, G1>();
  const pending = new Map<number, Promise<G1>>();
  let timer: NodeJS.Timeout | undefined;

  const fetch = (epoch: number): Promise<G1> => {
    const have = issued.get(epoch);
    if (have !== undefined) return Promise.resolve(have);
    let running = pending.get(epoch);
    if (running === undefined) {
      running = requestIdentityKeys({ ...options, id, role: "station", epoch }).then(
        (key) => {
          issued.set(epoch, key);
          pending.delete(epoch);
          return key;
        },
        (error: unknown) => {
          pending.delete(epoch);
          throw error;
        },
      );
      pending.set(epoch, running);
    }
    return running;
  };

  const refresh = async (): Promise<void> => {
    const current = Math.floor(clock() / epochMs);
    for (const epoch of [...issued.keys()]) if (epoch < current - 1) issued.delete(epoch);
    await Promise.all(
      [current, current + 1].map((epoch) =>
        fetch(epoch).catch((error: unknown) => {
          if (options.onError) options.onError(error, epoch);
          else if (epoch === current) throw error;
        }),
      ),
    );
  };

  return {
    role: "station",
    id,
    keyFor(epoch: number): G1 {
      const key = issued.get(epoch);
      if (key === undefined) {
        throw new InvalidInputError(
          `station ${id} holds no signing key for epoch ${epoch}: the key servers have not issued it`,
          {
            epoch,
          },
        );
      }
      return key;
    },
    async start() {
      await refresh();
      if (timer === undefined) {
        timer = setInterval(() => {
          refresh().catch((error: unknown) => options.onError?.(error, Math.floor(clock() / epochMs)));
        }, refreshMs);
        timer.unref();
      }
    },
    fetch,
    held: () => [...issued.keys()].sort((a, b) => a - b),
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** The 32-byte hex of a G1 key (for logs and tests). */
export function keyHex(backend: PairingBackend, key: G1): Hex {
  return toHex(backend.g1.toBytes(key));
}

/** Parses a 0x-hex G1 key. */
export function keyFromHex(backend: PairingBackend, hex: Hex): G1 {
  return backend.g1.fromBytes(fromHex(hex, "key"));
}

// ---------------------------------------------------------------- auditing a server

/** What `checkAuditLog` found. */
export interface AuditCheck {
  readonly url: string;
  readonly server: number;
  readonly deployment: Hex;
  readonly head: { readonly seq: number; readonly hash: Hex };
  /** Entries read and checked. */
  readonly entries: number;
  readonly issued: number;
  readonly refused: number;
  /** Whether every entry read continues the chain (from the genesis, or from `from`). */
  readonly verified: boolean;
  /** The first entry that breaks the chain, when one does. */
  readonly brokenAt?: number;
}

/**
 * Reads a key server's whole audit log (`GET /v1/audit`, page by page) and checks its hash
 * chain: from the genesis of the server's deployment and index, or from a head `from` read
 * earlier (then the server must still hold that hash at that sequence: history was not rewritten).
 */
export async function checkAuditLog(
  url: string,
  options: {
    readonly from?: { readonly seq: number; readonly hash: Hex };
    /** The deployment the server must belong to (the public file's): another's log is refused. */
    readonly deployment?: Hex;
    readonly timeoutMs?: number;
  } = {},
): Promise<AuditCheck> {
  const base = url.replace(/\/+$/, "");
  interface Page {
    server: number;
    deployment: Hex;
    genesis: Hex;
    head: { seq: number; hash: Hex };
    prev: Hex;
    entries: AuditEntry[];
  }
  let after = options.from?.seq ?? 0;
  let expected: Hex | undefined = options.from?.hash.toLowerCase() as Hex | undefined;
  let read = 0;
  let issued = 0;
  let refused = 0;
  let first: Page | undefined;
  for (;;) {
    const page = await requestJson<Page>(`${base}/v1/audit?after=${after}`, {
      timeoutMs: options.timeoutMs ?? DEFAULT_KEY_TIMEOUT_MS,
    });
    if (first === undefined) {
      first = page;
      if (options.deployment !== undefined && page.deployment !== options.deployment.toLowerCase()) {
        throw new InvalidInputError(`${base} serves deployment ${page.deployment}, not ${options.deployment}`, {
          deployment: page.deployment,
        });
      }
      if (page.genesis !== auditGenesis(page.deployment, page.server)) {
        return { ...summary(page), verified: false, brokenAt: 0 };
      }
      expected ??= page.genesis;
    }
    if (page.prev !== expected) return { ...summary(page), verified: false, brokenAt: after };
    const broken = firstBrokenEntry(page.entries, expected, after + 1);
    if (broken >= 0) return { ...summary(page), verified: false, brokenAt: after + 1 + broken };
    for (const e of page.entries) {
      if (e.outcome === "issued") issued++;
      else refused++;
    }
    read += page.entries.length;
    if (page.entries.length === 0) return { ...summary(page), verified: true };
    after = page.entries[page.entries.length - 1]!.seq;
    expected = page.entries[page.entries.length - 1]!.hash;
  }

  function summary(page: Page) {
    return {
      url: base,
      server: page.server,
      deployment: page.deployment,
      head: page.head,
      entries: read,
      issued,
      refused,
    };
  }
}
