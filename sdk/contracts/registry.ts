/**
 * A typed client of `DeviceRegistry` over any ethers `ContractRunner`: a signer
 * to send transactions, a provider to read. Every write returns the parsed
 * events of its receipt; every failure is a typed `StrataError` (custom errors
 * decoded by name). Signatures by device keys are made with `sign*` helpers so
 * a device, a gateway and an owner can each hold only their own key.
 */
import { type ContractRunner, type Log, type Signer, concat, keccak256, Signature } from "ethers";

import { DeviceRegistry as DeviceRegistryArtifact } from "../artifacts/DeviceRegistry.ts";
import type { DeviceRegistry } from "../../types/ethers-contracts/registry/DeviceRegistry.ts";
import type { Hex } from "../core/bytes.ts";
import {
  type CompactSignature,
  type PeerChallenge,
  PEER_CHALLENGE_TYPES,
  REGISTRATION_TYPES,
  REKEY_TYPES,
  peerChallengeDigest,
  type RegistrationMessage,
  registrationDigest,
  registrationValue,
  registryDomain,
  rekeyDigest,
} from "../core/eip712.ts";
import { layerHash } from "../core/ids.ts";
import { LruMap } from "../core/lru.ts";
import type { Label } from "../core/labels.ts";
import {
  encodeP256DeviceSignature,
  isP256Signer,
  p256Sign,
  type P256PublicKey,
  type P256Signature,
  type P256Signer,
  P256_SIGNATURE_BYTES,
  checkP256PublicKey,
} from "../core/p256.ts";
import { checkPeerResponse, type FreshnessPolicy } from "../core/peer.ts";
import { decodeProfile, encodeProfile, type Profile } from "../core/profile.ts";
import {
  type DeviceRecord,
  type HistoryEntry,
  type Kind,
  type RegistryConfig,
  replayHistory,
  Status,
  ZERO_ID,
} from "../core/registry.ts";
import { ContractRevertError, InvalidInputError, TimeoutError, TransportError } from "../errors.ts";
import { type ChainOptions } from "./chain.ts";
import {
  artifactInterface,
  type ContractEvent,
  ContractClient,
  eventArg,
  type LogsOf,
  parseEvent,
  receiptEvents,
  type RegistryEvent,
  type TxResult,
} from "./client.ts";
import { checkWindow, type LogReaderOptions } from "./logs.ts";

export type { ContractEvent, RegistryEvent, TxResult };

const NAME = "DeviceRegistry";
const SPEC = { name: NAME, artifact: DeviceRegistryArtifact, domain: registryDomain };
const IFACE = artifactInterface(DeviceRegistryArtifact);

/**
 * The `DeviceRegistry` events in a receipt (or logs), arguments by name; with
 * `address`, only that registry's. Pure: no network call.
 */
export function parseRegistryReceipt(source: LogsOf, address: string): ContractEvent[] {
  return receiptEvents(IFACE, source, address);
}

/**
 * Which blocks `history` reads (never before the registry's deployment block);
 * `maxBlockRange` bounds every `eth_getLogs` query of this read (the reader
 * also adapts to a node's cap on its own).
 */
export interface HistoryRange {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly maxBlockRange?: number;
  /** The caller's overall budget: once aborted, the read stops before its next request (`TimeoutError`). */
  readonly signal?: AbortSignal;
}

/** Every event that names a device in its first indexed topic. */
const HISTORY_EVENTS = [
  "DeviceRegistered",
  "DeviceApproved",
  "DeviceStatusChanged",
  "ServingNodeAssigned",
  "FullNodeHeartbeat",
  "FullNodeOfflineVoted",
  "FullNodeReportedOffline",
  "MisbehaviourReported",
  "TrustRestored",
  "RekeyRequested",
  "P256KeyBound",
  "DeviceRekeyed",
  "DeviceTransferred",
  "PermissionsChanged",
  "ProfileUpdated",
  "GatewayAssigned",
  "CoordinatorAppointed",
  "CoordinatorDismissed",
] as const;

/** A device's profile as read: the committed hash and the published profiles by hash. */
interface ProfileView {
  hash: Hex | undefined;
  readonly published: Map<Hex, Hex>;
}

/**
 * What the client remembers of a device's profile: its view up to `scannedTo`,
 * a block at least `confirmations` below the head when it was read (blocks
 * after it are read again at every call: a reorg may still change them).
 */
interface ProfileTrack extends ProfileView {
  scannedTo: number;
}

/** Devices `registerAll` checks at once before it registers (`getDevice`). */
export const PRECHECK_CONCURRENCY = 16;

/** EIP-7825's cap on one transaction's gas limit (Osaka). */
export const EIP7825_GAS_CAP = 16_777_216n;

/** One `registerBatch` transaction of `registerAll`: requests `first` .. `first + count - 1`. */
export interface BatchChunk extends TxResult {
  readonly ids: Hex[];
  readonly first: number;
  readonly count: number;
}

/** What `registerAll` did: the ids it registered, those already registered, and each transaction. */
export interface BatchRegistration {
  readonly ids: Hex[];
  readonly skipped: Hex[];
  readonly chunks: BatchChunk[];
}

/** Compacts a 65-byte signature to EIP-2098 (r, yParity‖s). */
export function compactSignature(signature: string): CompactSignature {
  const sig = Signature.from(signature);
  return { r: sig.r as Hex, vs: sig.yParityAndS as Hex };
}

/** Devices whose profile reads a `DeviceRegistryClient` keeps by default (`maxProfiles`). */
export const PROFILE_CACHE_ENTRIES = 10_000;

/** A registry client's options: the chain's, the log reader's, and its profile cache's bound. */
export type RegistryClientOptions = ChainOptions &
  LogReaderOptions & {
    /**
     * Devices whose profile read (the confirmed part of their log) is kept, the least
     * recently used forgotten first (default `PROFILE_CACHE_ENTRIES`): a forgotten device's
     * profile is read again from the deployment block.
     */
    readonly maxProfiles?: number;
  };

export class DeviceRegistryClient extends ContractClient<DeviceRegistry, RegistryClientOptions> {
  #profiles: LruMap<Hex, ProfileTrack>;
  /** The profile read running for each device: a second call waits for it, then reads only the blocks after. */
  #profileReads = new Map<Hex, Promise<unknown>>();

  /**
   * With `options.chainId`, the first transaction checks the node serves that
   * chain and the address holds code (`WrongChainError`, `NoCodeError`) before
   * anything is sent; `options.receiptTimeoutMs` is the deadline of a send and
   * its receipt. Each read has the deadline `options.timeoutMs` (default `DEFAULT_CALL_TIMEOUT_MS`). `options.deploymentBlock`
   * is where its logs start (found once on chain when not given), read in adaptive chunks.
   */
  constructor(address: string, runner: ContractRunner, options: RegistryClientOptions = {}) {
    // The implementation's ABI, not only the interface's: admin errors (Ownable) decode too.
    super(SPEC, address, runner, options);
    this.#profiles = new LruMap(options.maxProfiles ?? PROFILE_CACHE_ENTRIES);
  }

  /** Devices whose profile read is kept (at most `options.maxProfiles`). */
  get cachedProfiles(): number {
    return this.#profiles.size;
  }

  /** The same client acting through another runner (e.g. a device's own key). */
  connect(runner: ContractRunner): DeviceRegistryClient {
    const client = this.shareWith(new DeviceRegistryClient(this.address, runner, this.options));
    client.#profiles = this.#profiles;
    client.#profileReads = this.#profileReads;
    return client;
  }

  // ------------------------------------------------------------ signatures

  /** The device key signs its registration for `owner`. */
  async signRegistration(deviceKey: Signer, req: RegistrationMessage, owner: string): Promise<CompactSignature> {
    const signer = await deviceKey.getAddress();
    if (signer.toLowerCase() !== req.key.toLowerCase()) {
      throw new InvalidInputError("the signer is not the key being registered", { signer, key: req.key });
    }
    const sig = await deviceKey.signTypedData(await this.domain(), REGISTRATION_TYPES, registrationValue(req, owner));
    return compactSignature(sig);
  }

  /** A new key proves its control for a re-key of `id`. */
  async signRekey(newKey: Signer, id: Hex, deadline: bigint): Promise<CompactSignature> {
    const nonce = Number((await this.getDevice(id)).nonce);
    const value = { id, newKey: await newKey.getAddress(), nonce, deadline };
    return compactSignature(await newKey.signTypedData(await this.domain(), REKEY_TYPES, value));
  }

  /**
   * The prover's device key answers a peer challenge: 65 bytes from a secp256k1 key, 128 bytes
   * (`abi.encode(x, y, r, s)`) from a P-256 key.
   */
  async signChallenge(deviceKey: Signer | P256Signer, challenge: PeerChallenge): Promise<Hex> {
    if (isP256Signer(deviceKey)) {
      const digest = peerChallengeDigest(await this.domain(), challenge);
      return encodeP256DeviceSignature(deviceKey.publicKey, await p256Sign(deviceKey, digest));
    }
    return (await deviceKey.signTypedData(await this.domain(), PEER_CHALLENGE_TYPES, { ...challenge })) as Hex;
  }

  /**
   * A P-256 device key (a secure element) signs its registration for `owner`: `req.key` must be
   * the key's `p256Address`. Send it with `registerP256`.
   */
  async signRegistrationP256(deviceKey: P256Signer, req: RegistrationMessage, owner: string): Promise<P256Signature> {
    if (deviceKey.address.toLowerCase() !== req.key.toLowerCase()) {
      throw new InvalidInputError("the P-256 key is not the key being registered", {
        signer: deviceKey.address,
        key: req.key,
      });
    }
    return p256Sign(deviceKey, registrationDigest(await this.domain(), req, owner));
  }

  /** A new P-256 key proves its control for a re-key of `id`; send it with `requestRekeyP256`. */
  async signRekeyP256(newKey: P256Signer, id: Hex, deadline: bigint): Promise<P256Signature> {
    const nonce = Number((await this.getDevice(id)).nonce);
    return p256Sign(newKey, rekeyDigest(await this.domain(), id, newKey.address, nonce, deadline));
  }

  // ---------------------------------------------------------------- writes

  /** Registers one device owned by the runner's account. */
  async register(req: RegistrationMessage, sig: CompactSignature): Promise<TxResult & { id: Hex }> {
    const result = await this.send(() => this.contract.register(req, sig));
    return { ...result, id: eventArg(result, "DeviceRegistered", "id") as Hex };
  }

  /**
   * Registers one device whose key is the P-256 key `publicKey` (checked on chain through the
   * EIP-7951 precompile), owned by the runner's account.
   */
  async registerP256(
    req: RegistrationMessage,
    publicKey: P256PublicKey,
    sig: P256Signature,
  ): Promise<TxResult & { id: Hex }> {
    const key = checkP256PublicKey(publicKey);
    const result = await this.send(() => this.contract.registerP256(req, key, sig));
    return { ...result, id: eventArg(result, "DeviceRegistered", "id") as Hex };
  }

  /** Registers many devices owned by the runner's account, in one transaction. */
  async registerBatch(
    reqs: readonly RegistrationMessage[],
    sigs: readonly CompactSignature[],
  ): Promise<TxResult & { ids: Hex[] }> {
    const result = await this.send(() => this.contract.registerBatch([...reqs], [...sigs]));
    const ids = result.events.filter((e) => e.name === "DeviceRegistered").map((e) => e.args.id as Hex);
    return { ...result, ids };
  }

  /**
   * Registers many devices owned by the runner's account in as many
   * `registerBatch` transactions as the per-transaction gas cap needs
   * (EIP-7825: 16,777,216; one batch of ~280 devices reaches it). Devices the
   * registry already holds are skipped (checked `PRECHECK_CONCURRENCY` at a
   * time), so a call after a failure resumes where the last one stopped. Each
   * chunk's gas is estimated (within `timeoutMs`) and the chunk halved until
   * the estimate, plus `margin` percent, fits `gasCap`; the size grows back
   * after a chunk is sent. A chunk the contract refuses (a bad signature, an
   * expired deadline, a duplicate) throws `ContractRevertError` with the chunk
   * (`chunk`, `first`, `count`, `registered`: how many were registered before it)
   * and, when the estimate finds it by halving the chunk, the failing
   * request (`request`, its index in `reqs`, and `id`); a transient failure
   * (no answer, a dropped connection) throws `TransportError` with the same
   * chunk details: call again to resume.
   */
  async registerAll(
    reqs: readonly RegistrationMessage[],
    sigs: readonly CompactSignature[],
    options: { readonly gasCap?: bigint; readonly margin?: number } = {},
  ): Promise<BatchRegistration> {
    if (reqs.length !== sigs.length) {
      throw new InvalidInputError("one signature per request", { requests: reqs.length, signatures: sigs.length });
    }
    const gasCap = options.gasCap ?? EIP7825_GAS_CAP;
    const margin = BigInt(options.margin ?? 10);
    const ids = reqs.map((r) => keccak256(concat([r.layer, r.localId])) as Hex);
    const skipped: number[] = [];
    const unregistered: number[] = [];
    const states: DeviceRecord[] = [];
    for (let i = 0; i < ids.length; i += PRECHECK_CONCURRENCY) {
      states.push(...(await Promise.all(ids.slice(i, i + PRECHECK_CONCURRENCY).map((id) => this.getDevice(id)))));
    }
    for (const [i, state] of states.entries()) (state.status === Status.None ? unregistered : skipped).push(i);
    const chunks: BatchChunk[] = [];
    const registered: Hex[] = [];
    const estimate = (take: readonly number[]): Promise<bigint> =>
      this.read(() =>
        this.contract.registerBatch.estimateGas(
          take.map((i) => reqs[i]!),
          take.map((i) => sigs[i]!),
        ),
      );
    let size = unregistered.length;
    while (unregistered.length > 0) {
      const take = unregistered.slice(0, Math.min(size, unregistered.length));
      const details = { chunk: chunks.length, first: take[0]!, count: take.length, registered: registered.length };
      let gas: bigint | undefined;
      try {
        gas = await estimate(take);
      } catch (e) {
        if (e instanceof ContractRevertError) {
          const culprit = await this.#findRefused(take, estimate);
          throw new ContractRevertError(NAME, culprit.error.errorName, culprit.error.args, e, {
            ...details,
            ids: registered,
            ...(culprit.request === undefined ? {} : { request: culprit.request, id: ids[culprit.request] }),
          });
        }
        // no answer: nothing is wrong with the chunk, the caller may call again
        if (e instanceof TimeoutError || take.length === 1) {
          throw new TransportError(`registerBatch chunk ${details.chunk} cannot be estimated`, details, { cause: e });
        }
        // another refusal of the estimate (e.g. above the node's gas allowance): try half of it
      }
      if (gas === undefined || (gas * (100n + margin)) / 100n > gasCap) {
        if (take.length === 1) throw new InvalidInputError("one registration exceeds the gas cap", details);
        size = Math.ceil(take.length / 2);
        continue;
      }
      let result: TxResult & { ids: Hex[] };
      try {
        result = await this.registerBatch(
          take.map((i) => reqs[i]!),
          take.map((i) => sigs[i]!),
        );
      } catch (e) {
        if (e instanceof ContractRevertError) {
          throw new ContractRevertError(NAME, e.errorName, e.args, e, { ...details, ids: registered });
        }
        throw new TransportError(
          `registerBatch chunk ${details.chunk} failed`,
          { ...details, ids: registered },
          { cause: e },
        );
      }
      chunks.push({ ...result, first: take[0]!, count: take.length });
      registered.push(...result.ids);
      unregistered.splice(0, take.length);
      size = Math.min(size * 2, Math.max(unregistered.length, 1)); // a smaller chunk was for that chunk only
    }
    return { ids: registered, skipped: skipped.map((i) => ids[i]!), chunks };
  }

  /** The first request of `take` the contract refuses, found by halving (about log2 estimates); its revert. */
  async #findRefused(
    take: readonly number[],
    estimate: (take: readonly number[]) => Promise<bigint>,
  ): Promise<{ request: number | undefined; error: ContractRevertError }> {
    let part = take;
    let error: ContractRevertError | undefined;
    while (part.length > 0) {
      const half = part.slice(0, Math.ceil(part.length / 2));
      const refused = await estimate(half).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (refused instanceof ContractRevertError) {
        error = refused;
        if (half.length === 1) return { request: half[0], error };
        part = half;
      } else if (refused === undefined) {
        // the first half passes: the refusal is in the second (a request may also fail only with others)
        const rest = part.slice(half.length);
        if (rest.length === 0) break;
        const alone = await estimate(rest).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (!(alone instanceof ContractRevertError)) break;
        error = alone;
        if (rest.length === 1) return { request: rest[0], error };
        part = rest;
      } else {
        break; // a transient failure while searching: report the chunk only
      }
    }
    if (error !== undefined) return { request: undefined, error };
    return {
      request: undefined,
      error: await estimate(take).then(
        () => new ContractRevertError(NAME, "unknown", [], undefined),
        (e: unknown) => (e instanceof ContractRevertError ? e : new ContractRevertError(NAME, "unknown", [], e)),
      ),
    };
  }

  /** A coordination node approves `id` (a lightweight device also gets its serving full node). */
  approve(coordinator: Hex, id: Hex, servingNode: Hex = ZERO_ID): Promise<TxResult> {
    return this.send(() => this.contract.approve(coordinator, id, servingNode));
  }

  appointCoordinator(id: Hex): Promise<TxResult> {
    return this.send(() => this.contract.appointCoordinator(id));
  }

  dismissCoordinator(id: Hex): Promise<TxResult> {
    return this.send(() => this.contract.dismissCoordinator(id));
  }

  heartbeat(fullNode: Hex): Promise<TxResult> {
    return this.send(() => this.contract.heartbeat(fullNode));
  }

  reportOffline(coordinator: Hex, fullNode: Hex): Promise<TxResult> {
    return this.send(() => this.contract.reportOffline(coordinator, fullNode));
  }

  /** One bounded reassignment batch; `remaining` says how many devices are left on `from`. */
  async reassign(coordinator: Hex, from: Hex, to: Hex, maxCount: number): Promise<TxResult & { moved: number }> {
    const result = await this.send(() => this.contract.reassign(coordinator, from, to, maxCount));
    return { ...result, moved: result.events.filter((e) => e.name === "ServingNodeAssigned").length };
  }

  /** Moves every device off `from`, `batchSize` per transaction. */
  async reassignAll(coordinator: Hex, from: Hex, to: Hex, batchSize: number): Promise<TxResult[]> {
    const results: TxResult[] = [];
    while ((await this.servedCount(from)) > 0n) results.push(await this.reassign(coordinator, from, to, batchSize));
    return results;
  }

  report(reporter: Hex, id: Hex, evidenceHash: Hex): Promise<TxResult> {
    return this.send(() => this.contract.report(reporter, id, evidenceHash));
  }

  requestRekey(id: Hex, newKey: string, deadline: bigint, sig: CompactSignature): Promise<TxResult> {
    return this.send(() => this.contract.requestRekey(id, newKey, deadline, sig));
  }

  requestRekeyP256(id: Hex, newKey: P256PublicKey, deadline: bigint, sig: P256Signature): Promise<TxResult> {
    const key = checkP256PublicKey(newKey);
    return this.send(() => this.contract.requestRekeyP256(id, key, deadline, sig));
  }

  revoke(id: Hex): Promise<TxResult> {
    return this.send(() => this.contract.revoke(id));
  }

  transferDevice(id: Hex, newOwner: string): Promise<TxResult> {
    return this.send(() => this.contract.transferDevice(id, newOwner));
  }

  setPermissions(id: Hex, permissions: number): Promise<TxResult> {
    return this.send(() => this.contract.setPermissions(id, permissions));
  }

  /** The owner publishes the device's profile (its hash becomes the commitment). */
  updateProfile(id: Hex, profile: Profile): Promise<TxResult> {
    const encoded = encodeProfile(profile);
    return this.send(() => this.contract.updateProfile(id, encoded));
  }

  /** The owner attaches the device to an active gateway (zero id: detach). */
  setGateway(id: Hex, gateway: Hex): Promise<TxResult> {
    return this.send(() => this.contract.setGateway(id, gateway));
  }

  /** The admin appoints the account that registers the UUIDs of the edge layer `layer` (its address). */
  setLayerOperator(layer: string, operator: string): Promise<TxResult> {
    return this.send(() => this.contract.setLayerOperator(layerHash(layer), operator));
  }

  layerOperator(layer: string): Promise<string> {
    return this.read(() => this.contract.layerOperator(layerHash(layer)));
  }

  setConfig(config: RegistryConfig): Promise<TxResult> {
    return this.send(() => this.contract.setConfig(config));
  }

  // ----------------------------------------------------------------- reads

  async getDevice(id: Hex): Promise<DeviceRecord> {
    const v = await this.read(() => this.contract.getDevice(id));
    return {
      id,
      key: v.key,
      owner: v.owner,
      kind: Number(v.kind) as Kind,
      label: Number(v.label) as Label,
      status: Number(v.status) as Status,
      trust: Number(v.trust),
      permissions: Number(v.permissions),
      nonce: Number(v.nonce),
      servingNode: v.servingNode as Hex,
      liveUntil: v.liveUntil,
      keyBoundAt: v.keyBoundAt,
      round: Number(v.round),
      approvals: Number(v.approvals),
      pendingKey: v.pendingKey,
      gateway: v.gateway as Hex,
    };
  }

  async config(): Promise<RegistryConfig> {
    const c = await this.read(() => this.contract.config());
    return {
      fullNodeApprovals: Number(c.fullNodeApprovals),
      reportPenalty: Number(c.reportPenalty),
      suspendBelow: Number(c.suspendBelow),
      blockBelow: Number(c.blockBelow),
      epochLength: Number(c.epochLength),
      heartbeatTimeout: Number(c.heartbeatTimeout),
    };
  }

  /** True when `reporter`'s cohort already reported `id` in its current trust case. */
  hasReported(id: Hex, reporter: Hex): Promise<boolean> {
    return this.read(() => this.contract.hasReported(id, reporter));
  }

  /** The cohort `reporter` reports for: itself, or the coordination node that admitted a lightweight node. */
  async cohortOf(reporter: Hex): Promise<Hex> {
    return (await this.read(() => this.contract.cohortOf(reporter))) as Hex;
  }

  /** `fullNode`'s current heartbeat period and the offline votes cast in it (k of them take it offline). */
  async offlineBallot(fullNode: Hex): Promise<{ period: number; votes: number }> {
    const [period, votes] = await this.read(() => this.contract.offlineBallot(fullNode));
    return { period: Number(period), votes: Number(votes) };
  }

  isLive(fullNode: Hex): Promise<boolean> {
    return this.read(() => this.contract.isLive(fullNode));
  }

  servedCount(fullNode: Hex): Promise<bigint> {
    return this.read(() => this.contract.servedCount(fullNode));
  }

  async servedDevices(fullNode: Hex, offset = 0n, limit = 1000n): Promise<Hex[]> {
    const page = await this.read(() => this.contract.servedDevices(fullNode, offset, limit));
    return page.map((id) => id as Hex);
  }

  /**
   * The provenance log of `id`: every event naming it, oldest first, with the
   * block time (seed 002: every lifecycle change on chain with a timestamp).
   */
  async history(id: Hex, range: HistoryRange = {}): Promise<HistoryEntry[]> {
    const logs = await this.#logs([...HISTORY_EVENTS], id, range);
    return this.timeline(logs, range.signal);
  }

  /**
   * Seed 002 peer authentication: checks a peer's signed answer to `expected`
   * against the key and status the chain holds for the prover, with no other
   * arbiter. Returns the prover's record; throws `PeerAuthenticationError`.
   */
  async verifyPeer(args: {
    readonly expected: PeerChallenge;
    readonly answered: PeerChallenge;
    readonly signature: Hex;
    readonly now?: bigint;
    readonly freshness?: FreshnessPolicy;
  }): Promise<DeviceRecord> {
    const prover = await this.getDevice(args.expected.prover);
    // The verifier judges its own challenge by its own clock (block times lag by a slot or more).
    const now = args.now ?? BigInt(Math.floor(Date.now() / 1000));
    const domain = await this.domain();
    // Every check that needs no further call first (the answer, freshness, status, and the
    // signature by the registry's rule); then a P-256 answer is checked by the registry itself,
    // through the EIP-7951 precompile.
    checkPeerResponse({ ...args, domain, prover, now });
    if ((args.signature.length - 2) / 2 === P256_SIGNATURE_BYTES) {
      const onChain = await this.isValidDeviceSignature(
        args.expected.prover,
        peerChallengeDigest(domain, args.answered),
        args.signature,
      );
      checkPeerResponse({ ...args, domain, prover, now, signatureValid: onChain });
    }
    return prover;
  }

  /**
   * Whether `signature` is `key`'s signature of `digest` by the registry's own rule (65-byte
   * secp256k1, or 128-byte P-256 through the EIP-7951 precompile), asked of the chain.
   */
  isValidKeySignature(key: string, digest: Hex, signature: Hex): Promise<boolean> {
    return this.read(() => this.contract.isValidKeySignature(key, digest, signature));
  }

  /** `isValidKeySignature` for the current key of device `id`, asked of the chain. */
  isValidDeviceSignature(id: Hex, digest: Hex, signature: Hex): Promise<boolean> {
    return this.read(() => this.contract.isValidDeviceSignature(id, digest, signature));
  }

  /**
   * The device's published profile, if its owner published the one the chain
   * commits to now (registration or last update); `undefined` otherwise.
   */
  async profileOf(id: Hex, range: HistoryRange = {}): Promise<Profile | undefined> {
    if (range.fromBlock !== undefined || range.toBlock !== undefined) {
      const history = await this.history(id, range);
      const current = replayHistory(id, history)?.profileHash;
      const published = history.filter((e) => e.event === "ProfileUpdated" && e.args.profileHash === current).at(-1);
      return published ? decodeProfile(published.args.profile as Hex) : undefined;
    }
    const track = await this.#trackProfile(id, range.maxBlockRange, range.signal);
    const bytes = track.hash === undefined ? undefined : track.published.get(track.hash);
    return bytes === undefined ? undefined : decodeProfile(bytes);
  }

  /**
   * The hash the chain commits `id`'s profile to now (its registration's or
   * its last update's), `undefined` when it is not registered. Read from the
   * log: the registry keeps no profile hash in state, so each call costs one
   * `eth_getLogs` over the last `confirmations` blocks (read again every time:
   * a reorg may change them) and one over the blocks confirmed since the last call.
   */
  async profileHashOf(id: Hex): Promise<Hex | undefined> {
    return (await this.#trackProfile(id)).hash;
  }

  // --------------------------------------------------------------- private

  /**
   * What the chain says of `id`'s profile at the latest block. The blocks up to
   * `confirmations` below the head are read once (progress kept after each
   * finished query, so a read cut short resumes where it stopped); the newer
   * tail is read again at every call and never kept, so a reorg that replaces
   * a profile update is seen. One read per device at a time.
   */
  async #trackProfile(id: Hex, maxBlockRange?: number, signal?: AbortSignal): Promise<ProfileView> {
    const key = id.toLowerCase() as Hex;
    const before = this.#profileReads.get(key) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.#readProfile(key, maxBlockRange, signal));
    this.#profileReads.set(key, run);
    try {
      return await run;
    } finally {
      if (this.#profileReads.get(key) === run) this.#profileReads.delete(key);
    }
  }

  async #readProfile(
    key: Hex,
    maxBlockRange: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ProfileView> {
    const events = ["DeviceRegistered", "ProfileUpdated"];
    const head = await this.readMany(() => this.logs.head());
    const settled = head - this.logs.confirmations;
    let track = this.#profiles.get(key);
    if (track === undefined) {
      track = { hash: undefined, published: new Map(), scannedTo: -1 };
      this.#profiles.set(key, track);
    }
    const kept = track;
    if (kept.scannedTo < settled) {
      await this.#logs(events, key, {
        fromBlock: kept.scannedTo + 1,
        toBlock: settled,
        maxBlockRange,
        signal,
        onChunk: (logs, end) => {
          this.#applyProfileLogs(kept, logs);
          kept.scannedTo = end;
        },
      });
    }
    const view: ProfileView = { hash: kept.hash, published: new Map(kept.published) };
    if (head > kept.scannedTo) {
      const tail = await this.#logs(events, key, {
        fromBlock: kept.scannedTo + 1,
        toBlock: head,
        maxBlockRange,
        signal,
      });
      this.#applyProfileLogs(view, tail);
    }
    return view;
  }

  #applyProfileLogs(view: ProfileView, logs: readonly Log[]): void {
    for (const log of logs) {
      const parsed = parseEvent(this.contract.interface, log)!;
      view.hash = (parsed.args.profileHash as string).toLowerCase() as Hex;
      if (parsed.name === "ProfileUpdated") view.published.set(view.hash, parsed.args.profile as Hex);
    }
  }

  /** This registry's logs of `events` naming `id`, in chain order. */
  #logs(
    events: readonly string[],
    id: Hex,
    range: HistoryRange & { readonly onChunk?: (logs: readonly Log[], toBlock: number) => void },
  ): Promise<Log[]> {
    const iface = this.iface;
    const topics = [events.map((name) => iface.getEvent(name)!.topicHash), id];
    const window = { fromBlock: range.fromBlock, toBlock: range.toBlock, maxSpan: range.maxBlockRange };
    checkWindow(window, "maxBlockRange");
    // each request of the read has its own deadline (the reader's): a long read is never cut off as a whole
    return this.readMany(() => this.logs.logs(topics, { ...window, signal: range.signal, onChunk: range.onChunk }));
  }
}
