/**
 * A typed client of `DeviceRegistry` over any ethers `ContractRunner`: a signer
 * to send transactions, a provider to read. Every write returns the parsed
 * events of its receipt; every failure is a typed `StrataError` (custom errors
 * decoded by name). Signatures by device keys are made with `sign*` helpers so
 * a device, a gateway and an owner can each hold only their own key.
 */
import {
  type ContractRunner,
  type ContractTransactionResponse,
  type Interface,
  type Log,
  type Provider,
  type Signer,
  type TypedDataDomain,
  concat,
  keccak256,
  Signature,
} from "ethers";

import { DeviceRegistry__factory } from "../../types/ethers-contracts/index.ts";
import type { DeviceRegistry } from "../../types/ethers-contracts/index.ts";
import type { Hex } from "../core/bytes.ts";
import {
  type CompactSignature,
  type PeerChallenge,
  PEER_CHALLENGE_TYPES,
  REGISTRATION_TYPES,
  REKEY_TYPES,
  type RegistrationMessage,
  registrationValue,
  registryDomain,
} from "../core/eip712.ts";
import { layerHash } from "../core/ids.ts";
import type { Label } from "../core/labels.ts";
import { checkPeerResponse, type FreshnessPolicy } from "../core/peer.ts";
import { decodeProfile, encodeProfile, type Profile } from "../core/profile.ts";
import {
  type DeviceRecord,
  type HistoryEntry,
  type Kind,
  type RegistryConfig,
  replayHistory,
  sortHistory,
  Status,
  ZERO_ID,
} from "../core/registry.ts";
import { ContractRevertError, InvalidInputError, TransportError } from "../errors.ts";
import { type ChainOptions, DeploymentCheck } from "./chain.ts";
import { checkWindow, LogReader, type LogReaderOptions } from "./logs.ts";
import { decodeRevert, guarded } from "./revert.ts";
import { eventArg, parseEvent, type RegistryEvent, sendTx, type TxResult } from "./tx.ts";

export type { RegistryEvent, TxResult };

const NAME = "DeviceRegistry";

/**
 * Which blocks `history` reads (never before the registry's deployment block);
 * `maxBlockRange` bounds every `eth_getLogs` query of this read (the reader
 * also adapts to a node's cap on its own).
 */
export interface HistoryRange {
  readonly fromBlock?: number;
  readonly toBlock?: number;
  readonly maxBlockRange?: number;
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
  "DeviceRekeyed",
  "DeviceTransferred",
  "PermissionsChanged",
  "ProfileUpdated",
  "GatewayAssigned",
  "CoordinatorAppointed",
  "CoordinatorDismissed",
] as const;

/** What the client remembers of a device's profile: the committed hash, the published profiles by hash, up to which block. */
interface ProfileTrack {
  hash: Hex | undefined;
  readonly published: Map<Hex, Hex>;
  scannedTo: number;
}

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

export class DeviceRegistryClient {
  readonly address: string;
  readonly contract: DeviceRegistry;
  readonly runner: ContractRunner;
  readonly options: ChainOptions & LogReaderOptions;
  readonly #deployment: DeploymentCheck;
  /** Reads this registry's logs from its deployment block in adaptive chunks (shared by `connect`ed clients). */
  readonly logs: LogReader;
  #domain: TypedDataDomain | undefined;
  #profiles = new Map<Hex, ProfileTrack>();

  /**
   * With `options.chainId`, the first transaction checks the node serves that
   * chain and the address holds code (`WrongChainError`, `NoCodeError`) before
   * anything is sent; `options.receiptTimeoutMs` is the deadline of a send and
   * its receipt. Reads use `DEFAULT_CALL_TIMEOUT_MS` (`guarded`). `options.deploymentBlock`
   * is where its logs start (found once on chain when not given), read in adaptive chunks.
   */
  constructor(address: string, runner: ContractRunner, options: ChainOptions & LogReaderOptions = {}) {
    this.options = options;
    this.#deployment = new DeploymentCheck(address, options);
    this.address = address;
    this.runner = runner;
    // The implementation's ABI, not only the interface's: admin errors (Ownable) decode too.
    this.contract = DeviceRegistry__factory.connect(address, runner);
    this.logs = new LogReader(address, () => this.provider, options);
  }

  /** The same client acting through another runner (e.g. a device's own key). */
  connect(runner: ContractRunner): DeviceRegistryClient {
    const client = new DeviceRegistryClient(this.address, runner, this.options);
    client.#domain = this.#domain;
    (client as { logs: LogReader }).logs = this.logs;
    client.#profiles = this.#profiles;
    return client;
  }

  get provider(): Provider {
    const provider = this.runner.provider;
    if (!provider) throw new TransportError("the runner has no provider");
    return provider;
  }

  /** The registry's EIP-712 domain (chain id read once, within the call deadline: `TimeoutError`). */
  async domain(): Promise<TypedDataDomain> {
    if (this.#domain === undefined) {
      const { chainId } = await guarded(
        NAME,
        this.contract.interface,
        () => this.provider.getNetwork(),
        this.options.timeoutMs,
      );
      this.#domain = registryDomain(chainId, this.address);
    }
    return this.#domain;
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

  /** The prover's device key answers a peer challenge. */
  async signChallenge(deviceKey: Signer, challenge: PeerChallenge): Promise<Hex> {
    return (await deviceKey.signTypedData(await this.domain(), PEER_CHALLENGE_TYPES, { ...challenge })) as Hex;
  }

  // ---------------------------------------------------------------- writes

  /** Registers one device owned by the runner's account. */
  async register(req: RegistrationMessage, sig: CompactSignature): Promise<TxResult & { id: Hex }> {
    const result = await this.#send(() => this.contract.register(req, sig));
    return { ...result, id: eventArg(result, "DeviceRegistered", "id") as Hex };
  }

  /** Registers many devices owned by the runner's account, in one transaction. */
  async registerBatch(
    reqs: readonly RegistrationMessage[],
    sigs: readonly CompactSignature[],
  ): Promise<TxResult & { ids: Hex[] }> {
    const result = await this.#send(() => this.contract.registerBatch([...reqs], [...sigs]));
    const ids = result.events.filter((e) => e.name === "DeviceRegistered").map((e) => e.args.id as Hex);
    return { ...result, ids };
  }

  /**
   * Registers many devices owned by the runner's account in as many
   * `registerBatch` transactions as the per-transaction gas cap needs
   * (EIP-7825: 16,777,216; one batch of ~280 devices reaches it). Devices the
   * registry already holds are skipped, so a call after a failure resumes
   * where the last one stopped. Each chunk's gas is estimated and the chunk
   * halved until the estimate, plus `margin` percent, fits `gasCap`. A chunk
   * that fails throws a typed error naming it (`chunk`, `first`, `count`)
   * with the ids registered before it (`registered`).
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
    const todo: number[] = [];
    const states = await Promise.all(ids.map((id) => this.getDevice(id)));
    for (const [i, state] of states.entries()) (state.status === Status.None ? todo : skipped).push(i);
    const chunks: BatchChunk[] = [];
    const registered: Hex[] = [];
    let size = todo.length;
    while (todo.length > 0) {
      const take = todo.slice(0, Math.min(size, todo.length));
      const args = [take.map((i) => reqs[i]!), take.map((i) => sigs[i]!)] as const;
      const details = { chunk: chunks.length, first: take[0]!, count: take.length, registered: registered.length };
      let estimate: bigint | undefined;
      try {
        estimate = await this.contract.registerBatch.estimateGas([...args[0]], [...args[1]]);
      } catch (e) {
        const decoded = decodeRevert(NAME, this.contract.interface, e);
        if (decoded instanceof ContractRevertError || take.length === 1) {
          throw new TransportError(`registerBatch chunk ${details.chunk} cannot be sent`, details, { cause: decoded });
        }
      }
      if (estimate === undefined || (estimate * (100n + margin)) / 100n > gasCap) {
        if (take.length === 1) throw new InvalidInputError("one registration exceeds the gas cap", details);
        size = Math.ceil(take.length / 2);
        continue;
      }
      let result: TxResult & { ids: Hex[] };
      try {
        result = await this.registerBatch(args[0], args[1]);
      } catch (e) {
        throw new TransportError(
          `registerBatch chunk ${details.chunk} failed`,
          { ...details, ids: registered },
          { cause: e },
        );
      }
      chunks.push({ ...result, first: take[0]!, count: take.length });
      registered.push(...result.ids);
      todo.splice(0, take.length);
    }
    return { ids: registered, skipped: skipped.map((i) => ids[i]!), chunks };
  }

  /** A coordination node approves `id` (a lightweight device also gets its serving full node). */
  approve(coordinator: Hex, id: Hex, servingNode: Hex = ZERO_ID): Promise<TxResult> {
    return this.#send(() => this.contract.approve(coordinator, id, servingNode));
  }

  appointCoordinator(id: Hex): Promise<TxResult> {
    return this.#send(() => this.contract.appointCoordinator(id));
  }

  dismissCoordinator(id: Hex): Promise<TxResult> {
    return this.#send(() => this.contract.dismissCoordinator(id));
  }

  heartbeat(fullNode: Hex): Promise<TxResult> {
    return this.#send(() => this.contract.heartbeat(fullNode));
  }

  reportOffline(coordinator: Hex, fullNode: Hex): Promise<TxResult> {
    return this.#send(() => this.contract.reportOffline(coordinator, fullNode));
  }

  /** One bounded reassignment batch; `remaining` says how many devices are left on `from`. */
  async reassign(coordinator: Hex, from: Hex, to: Hex, maxCount: number): Promise<TxResult & { moved: number }> {
    const result = await this.#send(() => this.contract.reassign(coordinator, from, to, maxCount));
    return { ...result, moved: result.events.filter((e) => e.name === "ServingNodeAssigned").length };
  }

  /** Moves every device off `from`, `batchSize` per transaction. */
  async reassignAll(coordinator: Hex, from: Hex, to: Hex, batchSize: number): Promise<TxResult[]> {
    const results: TxResult[] = [];
    while ((await this.servedCount(from)) > 0n) results.push(await this.reassign(coordinator, from, to, batchSize));
    return results;
  }

  report(reporter: Hex, id: Hex, evidenceHash: Hex): Promise<TxResult> {
    return this.#send(() => this.contract.report(reporter, id, evidenceHash));
  }

  requestRekey(id: Hex, newKey: string, deadline: bigint, sig: CompactSignature): Promise<TxResult> {
    return this.#send(() => this.contract.requestRekey(id, newKey, deadline, sig));
  }

  revoke(id: Hex): Promise<TxResult> {
    return this.#send(() => this.contract.revoke(id));
  }

  transferDevice(id: Hex, newOwner: string): Promise<TxResult> {
    return this.#send(() => this.contract.transferDevice(id, newOwner));
  }

  setPermissions(id: Hex, permissions: number): Promise<TxResult> {
    return this.#send(() => this.contract.setPermissions(id, permissions));
  }

  /** The owner publishes the device's profile (its hash becomes the commitment). */
  updateProfile(id: Hex, profile: Profile): Promise<TxResult> {
    const encoded = encodeProfile(profile);
    return this.#send(() => this.contract.updateProfile(id, encoded));
  }

  /** The owner attaches the device to an active gateway (zero id: detach). */
  setGateway(id: Hex, gateway: Hex): Promise<TxResult> {
    return this.#send(() => this.contract.setGateway(id, gateway));
  }

  /** The admin appoints the account that registers the UUIDs of the edge layer `layer` (its address). */
  setLayerOperator(layer: string, operator: string): Promise<TxResult> {
    return this.#send(() => this.contract.setLayerOperator(layerHash(layer), operator));
  }

  layerOperator(layer: string): Promise<string> {
    return guarded(NAME, this.contract.interface, () => this.contract.layerOperator(layerHash(layer)));
  }

  setConfig(config: RegistryConfig): Promise<TxResult> {
    return this.#send(() => this.contract.setConfig(config));
  }

  // ----------------------------------------------------------------- reads

  async getDevice(id: Hex): Promise<DeviceRecord> {
    const v = await guarded(NAME, this.contract.interface, () => this.contract.getDevice(id));
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
    const c = await guarded(NAME, this.contract.interface, () => this.contract.config());
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
    return guarded(NAME, this.contract.interface, () => this.contract.hasReported(id, reporter));
  }

  /** The cohort `reporter` reports for: itself, or the coordination node that admitted a lightweight node. */
  async cohortOf(reporter: Hex): Promise<Hex> {
    return (await guarded(NAME, this.contract.interface, () => this.contract.cohortOf(reporter))) as Hex;
  }

  /** `fullNode`'s current heartbeat period and the offline votes cast in it (k of them take it offline). */
  async offlineBallot(fullNode: Hex): Promise<{ period: number; votes: number }> {
    const [period, votes] = await guarded(NAME, this.contract.interface, () => this.contract.offlineBallot(fullNode));
    return { period: Number(period), votes: Number(votes) };
  }

  isLive(fullNode: Hex): Promise<boolean> {
    return guarded(NAME, this.contract.interface, () => this.contract.isLive(fullNode));
  }

  servedCount(fullNode: Hex): Promise<bigint> {
    return guarded(NAME, this.contract.interface, () => this.contract.servedCount(fullNode));
  }

  async servedDevices(fullNode: Hex, offset = 0n, limit = 1000n): Promise<Hex[]> {
    const page = await guarded(NAME, this.contract.interface, () =>
      this.contract.servedDevices(fullNode, offset, limit),
    );
    return page.map((id) => id as Hex);
  }

  /**
   * The provenance log of `id`: every event naming it, oldest first, with the
   * block time (seed 002: every lifecycle change on chain with a timestamp).
   */
  async history(id: Hex, range: HistoryRange = {}): Promise<HistoryEntry[]> {
    const logs = await this.#logs([...HISTORY_EVENTS], id, range);
    const times = await guarded(NAME, this.contract.interface, () =>
      this.logs.blockTimes(logs.map((l) => l.blockNumber)),
    );
    return sortHistory(
      logs.map((log) => {
        const parsed = parseEvent(this.contract.interface, log)!;
        return {
          event: parsed.name,
          args: parsed.args,
          blockNumber: log.blockNumber,
          logIndex: log.index,
          transactionHash: log.transactionHash as Hex,
          timestamp: times.get(log.blockNumber)!,
        };
      }),
    );
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
    checkPeerResponse({ ...args, domain: await this.domain(), prover, now });
    return prover;
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
    const track = await this.#trackProfile(id, range.maxBlockRange);
    const bytes = track.hash === undefined ? undefined : track.published.get(track.hash);
    return bytes === undefined ? undefined : decodeProfile(bytes);
  }

  /**
   * The hash the chain commits `id`'s profile to now (its registration's or
   * its last update's), `undefined` when it is not registered. Read from the
   * log tail after the last call: the registry keeps no profile hash in
   * state, so each call costs one `eth_getLogs` over the blocks since the last.
   */
  async profileHashOf(id: Hex): Promise<Hex | undefined> {
    return (await this.#trackProfile(id)).hash;
  }

  // --------------------------------------------------------------- private

  /** Brings what the client knows of `id`'s profile up to the latest block, reading only the blocks it has not read. */
  async #trackProfile(id: Hex, maxBlockRange?: number): Promise<ProfileTrack> {
    const key = id.toLowerCase() as Hex;
    const known = this.#profiles.get(key);
    const toBlock = await guarded(NAME, this.contract.interface, () => this.provider.getBlockNumber());
    if (known !== undefined && known.scannedTo >= toBlock) return known;
    const fromBlock = known === undefined ? 0 : known.scannedTo + 1;
    const logs = await this.#logs(["DeviceRegistered", "ProfileUpdated"], id, { fromBlock, toBlock, maxBlockRange });
    const track: ProfileTrack = known ?? { hash: undefined, published: new Map(), scannedTo: -1 };
    for (const log of logs) {
      const parsed = parseEvent(this.contract.interface, log)!;
      track.hash = (parsed.args.profileHash as string).toLowerCase() as Hex;
      if (parsed.name === "ProfileUpdated") track.published.set(track.hash, parsed.args.profile as Hex);
    }
    track.scannedTo = toBlock;
    this.#profiles.set(key, track);
    return track;
  }

  /** This registry's logs of `events` naming `id`, in chain order. */
  #logs(events: readonly string[], id: Hex, range: HistoryRange): Promise<Log[]> {
    const iface = this.contract.interface as Interface;
    const topics = [events.map((name) => iface.getEvent(name)!.topicHash), id];
    const window = { fromBlock: range.fromBlock, toBlock: range.toBlock, maxSpan: range.maxBlockRange };
    checkWindow(window, "maxBlockRange");
    return guarded(NAME, iface, () => this.logs.logs(topics, window));
  }

  #send(call: () => Promise<ContractTransactionResponse>): Promise<TxResult> {
    return sendTx(NAME, this.contract.interface, this.address, call, {
      timeoutMs: this.options.receiptTimeoutMs,
      before: () => this.#deployment.ensure(this.provider, NAME),
    });
  }
}
