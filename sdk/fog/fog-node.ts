/**
 * A Secuchain fog node (seed 004's fog computing layer). It takes readings
 * from the devices it serves and, without decrypting anything:
 *
 * - drops bogus input with a counted reason — malformed, a device that is not
 *   registered (or has no P-256 key in its registry profile), a device whose
 *   published profile does not decode, a blocked device, a bad signature, a
 *   replay;
 * - sorts the rest with the data owner's PEKS trapdoors: normal readings go to
 *   the open store (anyone may query it), sensitive ones are kept for the
 *   cluster's batches;
 * - endorses a batch another member proposes only after checking every reading
 *   in it itself, by signing a share of the cluster's threshold key over the
 *   batch (`FogCluster` combines t shares into the group signature that
 *   `DataAnchor` checks on chain). It signs the readings of a batch again for
 *   the same cluster and sequence (a retried round: the same root gives the
 *   same share), for another sequence only once the chain gave theirs to
 *   another root (`anchors`); a node the registry no longer has Active signs
 *   nothing.
 */
import { type KeyObject } from "node:crypto";

import { checkInteger, type Hex } from "../core/bytes.ts";
import {
  type Commitments,
  type KeyShare,
  type PartialSignature,
  type ThresholdScheme,
} from "../core/crypto/threshold.ts";
import { classify, type FilterPolicy } from "../core/fog/filter.ts";
import { checkReadingSignature, decodeReading, type SecuReading, verifyingKey } from "../core/fog/reading.ts";
import { batchTree } from "../core/fog/reading-bytes.ts";
import { accessScope, DEFAULT_ACCESS_POLICY } from "../core/access.ts";
import { g2ToEip2537 } from "../core/crypto/eip2537.ts";
import { checkClusterKey } from "../core/fog/dkg.ts";
import { type AnchorDeployment, FOG_POSSESSION_DST, fogBatchMessage, possessionMessage } from "../core/fogBatch.ts";
import { Kind, Status } from "../core/registry.ts";
import {
  ContractRevertError,
  InvalidInputError,
  InvalidPointError,
  ProtocolError,
  type ProtocolRejection,
  TransportError,
} from "../errors.ts";
import {
  type EndorsedMessage,
  type FogStore,
  type NewReading,
  type OpenQuery,
  type ReadingClass,
  type StoredReading,
} from "../store/fog-store.ts";
import { DIRECTORY_CACHE_ENTRIES, type DirectoryEntry } from "../nbiot/ports.ts";
import { LruMap } from "../core/lru.ts";
import { ReplayGuard } from "../core/replay.ts";

/** Registry lookups a fog node needs: status and kind, and the device's P-256 profile key. */
export interface FogDirectory {
  lookup(id: Hex): Promise<DirectoryEntry | undefined>;
  /** The P-256 key (x ‖ y) the device published in its registry profile, if any. */
  p256Key(id: Hex): Promise<Uint8Array | undefined>;
}

/**
 * The chain as a fog node reads it (`DataAnchorClient`): a cluster's head and
 * its record of a root. With it a member releases a reading's binding once
 * the sequence it was bound to went to another root (`FogNode.endorse`).
 */
export interface FogChainView {
  head(cluster: Hex): Promise<bigint>;
  /** The cluster's record of `root` (undefined: not anchored by it). */
  anchorOf(cluster: Hex, root: Hex): Promise<{ readonly sequence: bigint } | undefined>;
}

/** Why a reading was dropped, or where it went. */
export type FilterOutcome =
  "normal" | "sensitive" | "malformed" | "not-registered" | "blocked" | "bad-signature" | "replay" | "bad-profile";

export type FilterResult =
  | {
      readonly ok: true;
      readonly cls: ReadingClass;
      readonly device: Hex;
      readonly seq: number;
      readonly tags: readonly string[];
    }
  | { readonly ok: false; readonly error: ProtocolError };

export interface FogNodeOptions {
  /** The node's registry id (kind FogNode). */
  readonly id: Hex;
  /** Its member index in the cluster (1..n). */
  readonly index: number;
  readonly share: KeyShare;
  readonly commitments: Commitments;
  readonly scheme: ThresholdScheme;
  readonly policy: FilterPolicy;
  readonly directory: FogDirectory;
  readonly store: FogStore;
  readonly clock?: () => number;
  /**
   * The scope this node serves sensitive data under (`accessScope(...)`): a
   * request signed for another verifier or purpose is refused (`wrong-scope`).
   * Default: this node's own scope, so a request is good at one fog node only.
   */
  readonly accessScope?: Hex;
  /**
   * The chain (`DataAnchorClient`): a reading endorsed for a sequence that
   * another root took is endorsed again for a later one. Without it such a
   * reading stays refused (`already-endorsed`).
   */
  readonly anchors?: FogChainView;
  /**
   * Readings held while the chain cannot be read (default 10,000): a reading
   * whose device check fails with a transport or chain error is kept, in
   * order, and checked again first at the next `ingest` (`ingest([])` only
   * retries). Beyond the bound a reading is answered `retry`: send it again.
   */
  readonly maxHeld?: number;
  /**
   * Access-request nonces remembered at once (default 100,000): each is kept for the longest a
   * request may be fresh, and when that many are, a new request is refused (`ProtocolError("busy")`)
   * until the oldest expires, so a flood of served requests cannot grow the node's memory.
   */
  readonly maxAccessNonces?: number;
  /**
   * Access-request nonces one requester may hold at once (default 1,000), so one token holder
   * flooding the node with requests cannot lock the others out: its own new requests are refused
   * `busy` instead.
   */
  readonly maxAccessNoncesPerRequester?: number;
}

/** Readings a fog node holds for a chain that cannot be read, by default. */
export const DEFAULT_MAX_HELD = 10_000;

/** Access-request nonces a fog node remembers at once, by default. */
export const DEFAULT_MAX_ACCESS_NONCES = 100_000;

/** Access-request nonces one requester may hold at once, by default. */
export const DEFAULT_MAX_ACCESS_NONCES_PER_REQUESTER = 1_000;

/**
 * How long an accepted access-request nonce is remembered: a request is accepted from `skew` before
 * it was issued until it expires, at most its longest lifetime after that (`checkAccessRequest`),
 * so one first accepted at `now` can no longer be accepted after `now + lifetime + skew`. A
 * `ReplayGuard` keeps a key for twice its window, hence half of that.
 */
const ACCESS_NONCE_WINDOW_MS =
  ((Number(DEFAULT_ACCESS_POLICY.maxLifetimeSeconds) + Number(DEFAULT_ACCESS_POLICY.maxSkewSeconds)) * 1000) / 2;

const REJECTIONS: readonly FilterOutcome[] = [
  "malformed",
  "not-registered",
  "blocked",
  "bad-signature",
  "replay",
  "bad-profile",
];

export class FogNode {
  readonly id: Hex;
  readonly index: number;
  readonly store: FogStore;
  /** How many readings went where, and how many were dropped for each reason. */
  readonly counters: Record<FilterOutcome, number> = {
    normal: 0,
    sensitive: 0,
    malformed: 0,
    "not-registered": 0,
    blocked: 0,
    "bad-signature": 0,
    replay: 0,
    "bad-profile": 0,
  };
  readonly #share: KeyShare;
  readonly #scheme: ThresholdScheme;
  readonly #policy: FilterPolicy;
  readonly #directory: FogDirectory;
  #anchors: FogChainView | undefined;
  readonly #clock: () => number;
  readonly #keys = new Map<string, KeyObject>();
  readonly #lastSeq: Map<Hex, number>;
  /** The access-request nonces served, for as long as such a request can be fresh. */
  readonly #nonces: ReplayGuard;
  #ingesting: Promise<unknown> = Promise.resolve();
  /** Readings whose device check met a chain error, oldest first (checked again before new ones). */
  #held: Uint8Array[] = [];
  readonly #maxHeld: number;
  #endorsing: Promise<unknown> = Promise.resolve();
  /** The scope requests to this node must carry (default: `accessScope("read:sensitive@<node id>")`, this node only). */
  readonly accessScope: Hex;
  readonly commitments: Commitments;

  constructor(options: FogNodeOptions) {
    this.id = options.id.toLowerCase() as Hex;
    if (options.share.index !== options.index) {
      throw new InvalidInputError("the key share belongs to another member", {
        index: options.index,
        share: options.share.index,
      });
    }
    if (options.store.node !== this.id) {
      throw new InvalidInputError("the store belongs to another fog node", { store: options.store.node, id: this.id });
    }
    this.index = options.index;
    this.store = options.store;
    this.commitments = options.commitments;
    this.#share = options.share;
    this.#scheme = options.scheme;
    this.#policy = options.policy;
    this.#directory = options.directory;
    this.#anchors = options.anchors;
    this.#clock = options.clock ?? Date.now;
    this.#maxHeld = options.maxHeld ?? DEFAULT_MAX_HELD;
    checkInteger(this.#maxHeld, 0, Number.MAX_SAFE_INTEGER, "maxHeld");
    this.accessScope = options.accessScope ?? accessScope(`read:sensitive@${this.id}`);
    // Freshness is judged on the caller's `now` when given, so a nonce is never forgotten early
    // because this node's clock stepped back (keepAfterStepBack).
    this.#nonces = new ReplayGuard(ACCESS_NONCE_WINDOW_MS, {
      maxEntries: options.maxAccessNonces ?? DEFAULT_MAX_ACCESS_NONCES,
      maxPerGroup: options.maxAccessNoncesPerRequester ?? DEFAULT_MAX_ACCESS_NONCES_PER_REQUESTER,
      keepAfterStepBack: true,
    });
    this.#lastSeq = this.store.lastSequences();
  }

  /** Checks a reading's device in the registry and its signature; returns the decoded reading. */
  async #authenticate(bytes: Uint8Array): Promise<SecuReading> {
    const reading = decodeReading(bytes);
    const entry = await this.#directory.lookup(reading.device);
    if (entry === undefined || entry.kind !== Kind.Device) {
      throw new ProtocolError("not-registered", `device ${reading.device} is not registered`, {
        device: reading.device,
      });
    }
    if (entry.status !== Status.Active) {
      throw new ProtocolError("blocked", `device ${reading.device} is not active`, {
        device: reading.device,
        status: entry.status,
      });
    }
    // the key as the registry profile publishes it now (the directory caches it for its TTL): a
    // device that rotates a compromised key is checked against the new one
    let raw: Uint8Array | undefined;
    try {
      raw = await this.#directory.p256Key(reading.device);
    } catch (e) {
      // an owner may publish any bytes as a profile: one that does not decode rejects this device's
      // readings only; a network failure (TransportError, a revert) is not the reading's fault
      if (!(e instanceof InvalidInputError || e instanceof InvalidPointError)) throw e;
      throw badProfile(reading.device, e);
    }
    if (raw === undefined || raw.length === 0) {
      throw new ProtocolError("not-registered", `device ${reading.device} published no P-256 key`, {
        device: reading.device,
      });
    }
    const cacheKey = `${reading.device}:${Buffer.from(raw).toString("hex")}`;
    let key = this.#keys.get(cacheKey);
    if (key === undefined) {
      try {
        key = verifyingKey(raw);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        throw badProfile(reading.device, e);
      }
      if (this.#keys.size >= 100_000) this.#keys.clear();
      this.#keys.set(cacheKey, key);
    }
    checkReadingSignature(reading, key);
    return reading;
  }

  /** How many readings wait for the chain (see `maxHeld`). */
  get heldCount(): number {
    return this.#held.length;
  }

  /**
   * Filters readings: authenticates each, refuses replays, sorts the rest and
   * stores them in one transaction. One result per reading, in order; a bad
   * reading never sinks its neighbours. When the chain cannot be read (a
   * `TransportError` or revert from the directory) a reading is `held` and
   * checked again, before new ones, at the next call (`retry` once the hold
   * queue is full); later readings of a device with a held one are held too,
   * so its sequence order is kept.
   */
  ingest(readings: readonly Uint8Array[]): Promise<FilterResult[]> {
    // one chunk at a time, so the replay state each chunk checks against is the stored one
    const run = this.#ingesting.then(() => this.#ingest(readings));
    this.#ingesting = run.catch(() => undefined);
    return run;
  }

  async #ingest(fresh: readonly Uint8Array[]): Promise<FilterResult[]> {
    const retried = this.#held;
    this.#held = [];
    try {
      return await this.#ingestHeld(retried, fresh);
    } catch (e) {
      // Nothing of this call was stored (the store appends in one transaction, last): the
      // readings held before it stay held; the caller's own readings are answered by the throw.
      this.#held = retried;
      throw e;
    }
  }

  async #ingestHeld(retried: readonly Uint8Array[], fresh: readonly Uint8Array[]): Promise<FilterResult[]> {
    const readings = [...retried, ...fresh];
    const heldDevices = new Set<string>();
    // after the first chain failure of this call the rest is held without asking the chain:
    // a silent node costs one deadline per call, not one per device
    let chainFailure: unknown;
    const results: FilterResult[] = [];
    const staged: { cls: ReadingClass; reading: NewReading }[] = [];
    const seen = new Map<Hex, number>();
    const now = this.#clock();
    for (const bytes of readings) {
      let device: Hex | undefined;
      try {
        device = decodeReading(bytes).device;
        if (heldDevices.has(device.toLowerCase())) {
          results.push({ ok: false, error: this.#hold(bytes, device, "an earlier reading of the device is held") });
          continue;
        }
        if (chainFailure !== undefined) {
          heldDevices.add(device.toLowerCase());
          results.push({ ok: false, error: this.#hold(bytes, device, chainFailure) });
          continue;
        }
        const r = await this.#authenticate(bytes);
        const last = seen.get(r.device) ?? this.#lastSeq.get(r.device) ?? 0;
        if (r.seq <= last) {
          throw new ProtocolError("replay", `reading ${r.seq} of ${r.device} is not newer than ${last}`, {
            device: r.device,
            seq: r.seq,
          });
        }
        const c = classify(r, this.#policy);
        const cls: ReadingClass = c.sensitive ? "sensitive" : "normal";
        seen.set(r.device, r.seq);
        staged.push({
          cls,
          reading: {
            device: r.device,
            seq: r.seq,
            time: r.time,
            received: now,
            tags: c.tags,
            reading: r.bytes.slice(),
          },
        });
        results.push({ ok: true, cls, device: r.device, seq: r.seq, tags: c.tags });
      } catch (e) {
        if (device !== undefined && (e instanceof TransportError || e instanceof ContractRevertError)) {
          chainFailure = e;
          heldDevices.add(device.toLowerCase());
          results.push({ ok: false, error: this.#hold(bytes, device, e) });
          continue;
        }
        if (!(e instanceof ProtocolError)) throw e;
        results.push({ ok: false, error: e });
      }
    }
    if (staged.length > 0) {
      try {
        this.store.append(staged);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.#appendOneByOne(staged, results); // nothing was stored: find the readings at fault
      }
    }
    for (const [device, seq] of seen) this.#lastSeq.set(device, Math.max(seq, this.#lastSeq.get(device) ?? 0));
    for (const r of results) {
      if (!r.ok && (r.error.reason === "held" || r.error.reason === "retry")) continue;
      if (r.ok) this.counters[r.cls]++;
      else if ((REJECTIONS as readonly string[]).includes(r.error.reason))
        this.counters[r.error.reason as FilterOutcome]++;
      else this.counters.malformed++;
    }
    return results.slice(retried.length);
  }

  /** Keeps a reading the chain could not check for the next `ingest` (`retry` when the queue is full). */
  #hold(bytes: Uint8Array, device: Hex, cause: unknown): ProtocolError {
    const details = { device, cause: cause instanceof Error ? cause.message : String(cause) };
    if (this.#held.length >= this.#maxHeld) {
      return new ProtocolError("retry", "the chain cannot be read and the hold queue is full: send it again", details);
    }
    this.#held.push(bytes);
    return new ProtocolError("held", "the chain cannot be read: the reading is held and checked again", details);
  }

  /** Stores staged readings one by one after their chunk failed; a reading that cannot be stored becomes its error. */
  #appendOneByOne(staged: readonly { cls: ReadingClass; reading: NewReading }[], results: FilterResult[]): void {
    for (const item of staged) {
      try {
        this.store.append([item]);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        const at = results.findIndex((r) => r.ok && r.device === item.reading.device && r.seq === item.reading.seq);
        if (at >= 0) results[at] = { ok: false, error: e };
      }
    }
  }

  /** The open store's query API (normal readings; anyone may call it). */
  queryOpen(q: OpenQuery = {}): StoredReading[] {
    return this.store.queryOpen(q);
  }

  /**
   * A proposal of the next sensitive batch: up to `max` readings not yet in a
   * batch, their Merkle root, for the cluster's `sequence`-th link. While a
   * batch this node proposed for `sequence` is not anchored (its transaction
   * failed, too few shares arrived, or this node's process died: each round is
   * kept in the store before it is returned, so before any member signs it),
   * the same batch is proposed again, so members sign the same message; a reading of it that no longer passes is
   * dropped and the rest proposed under the new root, for the same sequence.
   * The live round is the newest kept round for `sequence`, whatever rounds
   * were kept after it. A pending batch for an earlier sequence (taken since)
   * is abandoned: its readings go back to the queue (`FogCluster` first
   * records it as anchored when its own transaction took that sequence). A
   * kept round for a later sequence (a rollback removed several batches)
   * keeps its readings out of a fresh batch: members are bound to that
   * sequence, so they wait for it, or go back to the queue once the chain
   * passes it with another root.
   */
  async propose(cluster: Hex, sequence: bigint, max = 4096): Promise<BatchProposal | undefined> {
    const c = cluster.toLowerCase() as Hex;
    const rounds = this.pendingRounds(c);
    const pending = rounds.filter((r) => r.sequence === sequence).at(-1);
    const held = new Set(rounds.filter((r) => r.sequence > sequence).flatMap((r) => r.ids));
    // rounds of earlier sequences are over (`FogCluster` settled them against the chain first), except
    // other roots at a sequence whose batch is provisional (a reorganisation may bring one back)
    this.store.forgetRounds(c, sequence);
    if (pending !== undefined) {
      const again = await this.#repropose(pending);
      if (again !== undefined) return again;
    }
    // the proposer checks its queue as every member will: a reading that no longer authenticates (its
    // device blocked, its key rotated) or tests sensitive leaves the queue for good, so it cannot stall it
    const chosen: StoredReading[] = [];
    const anchored = new Map<Hex, boolean>();
    let after = 0;
    while (chosen.length < max) {
      const page = this.store.unbatched(max - chosen.length, after);
      if (page.length === 0) break;
      for (const r of page) {
        if (held.has(r.id)) continue;
        const reason = await this.#whyNot(r.reading, anchored);
        if (reason === undefined) chosen.push(r);
        else this.store.dropSensitive(r.id, reason);
      }
      after = page.at(-1)!.id;
    }
    if (chosen.length === 0) return undefined;
    return this.#pend(
      c,
      sequence,
      chosen.map((r) => r.reading),
      chosen.map((r) => r.id),
    );
  }

  /** The pending batch again, less the readings that no longer pass (undefined: none is left). */
  async #repropose(pending: BatchProposal): Promise<BatchProposal | undefined> {
    const readings: Uint8Array[] = [];
    const ids: number[] = [];
    const anchored = new Map<Hex, boolean>();
    for (const [i, bytes] of pending.readings.entries()) {
      const reason = await this.#whyNot(bytes, anchored);
      if (reason === undefined) {
        readings.push(bytes);
        ids.push(pending.ids[i]!);
      } else this.store.dropSensitive(pending.ids[i]!, reason);
    }
    if (readings.length === 0) return undefined;
    if (readings.length === pending.readings.length) {
      this.store.saveRound(pending.cluster, pending);
      return pending;
    }
    return this.#pend(pending.cluster, pending.sequence, readings, ids);
  }

  /** A new round, kept in the store before any member is asked to sign it (it survives a crash). */
  async #pend(cluster: Hex, sequence: bigint, readings: Uint8Array[], ids: number[]): Promise<BatchProposal> {
    const tree = await batchTree(readings);
    const proposal: BatchProposal = {
      cluster,
      sequence,
      root: tree.root,
      leafCount: readings.length,
      readings,
      ids,
      proposer: this.index,
    };
    this.store.saveRound(cluster, proposal);
    return proposal;
  }

  /**
   * The newest round this node kept for `cluster` that is not recorded as anchored yet, if any,
   * read from the store (`propose` picks the live round among `pendingRounds`).
   */
  pendingBatch(cluster: Hex): BatchProposal | undefined {
    return this.pendingRounds(cluster).at(-1);
  }

  /**
   * Every round this node proposed for `cluster` that is not settled yet, oldest first (the live one
   * is the newest for the chain's next sequence, see `propose`): a batch that had to shrink left a
   * round for each root it was signed under, and any of them may be the one the chain took
   * (`FogCluster` settles them); a rollback leaves one for each batch it removed.
   */
  pendingRounds(cluster: Hex): BatchProposal[] {
    const c = cluster.toLowerCase() as Hex;
    return this.store.rounds(c).map((round) => {
      const byId = new Map(
        this.store.sensitiveRange(Math.min(...round.ids), Math.max(...round.ids)).map((r) => [r.id, r.reading]),
      );
      const readings = round.ids.map((id) => byId.get(id) ?? new Uint8Array());
      return { cluster: c, ...round, leafCount: round.ids.length, readings, proposer: this.index };
    });
  }

  /**
   * Why a stored sensitive reading cannot go into a batch now (undefined: it
   * can). One this node endorsed into a batch the chain holds is `anchored`
   * (another proposer's, or one whose record was lost): members would refuse
   * it for good. `anchored` memoizes the chain's answer per root.
   */
  async #whyNot(bytes: Uint8Array, anchored: Map<Hex, boolean>): Promise<string | undefined> {
    try {
      const r = await this.#authenticate(bytes);
      if (!classify(r, this.#policy).sensitive) return "not-sensitive";
      const bound = this.#anchors === undefined ? undefined : this.store.endorsement(r.device, r.seq);
      if (bound?.cluster === undefined) return undefined;
      for (const root of bound.roots) {
        let hit = anchored.get(root);
        if (hit === undefined) {
          hit = (await this.#anchors!.anchorOf(bound.cluster, root)) !== undefined;
          anchored.set(root, hit);
        }
        if (hit) return "anchored";
      }
      return undefined;
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      return e.reason;
    }
  }

  /**
   * This member's sign share of the proof of possession of the cluster's group key (`groupKey`,
   * 256-byte EIP-2537), for its registration (`FogCluster.register`): t shares combine into the
   * proof `DataAnchor` checks. Only for the key its share verifies under (`checkClusterKey`):
   * anything else is refused with `ThresholdError`, so a member never vouches for another key.
   */
  signPossession(groupKey: Uint8Array): Promise<PartialSignature> {
    try {
      const { backend } = this.#scheme;
      checkClusterKey(this.#scheme, this.commitments, this.#share, groupKey, this.commitments.threshold, (c) =>
        g2ToEip2537(backend, this.#scheme.groupKey(c)),
      );
      return Promise.resolve(this.#scheme.partialSign(this.#share, possessionMessage(groupKey), FOG_POSSESSION_DST));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /**
   * Endorses a batch a member proposes, only after checking it here: this
   * node must be Active in the registry (`inactive`), every reading must
   * authenticate and test sensitive, and the root must be theirs. Returns
   * this member's share over the batch message (built here, from the
   * deployment, cluster, sequence, root and leaf count — never taken from the
   * proposer), or the reason it disagrees.
   *
   * Idempotent for a round retried: a reading endorsed before is endorsed
   * again for the same cluster and sequence (the same root gives the same
   * share; another root is accepted too, since the chain takes one batch per
   * sequence, so neither signature can anchor the reading a second time), and
   * refused (`already-endorsed`) for any other cluster or sequence — unless
   * the chain (`anchors`) shows that sequence taken by another root: the
   * binding is then released and the reading judged afresh (two proposers
   * raced and this batch lost). A reading in a batch the chain holds is
   * refused for good.
   */
  endorse(proposal: BatchProposal, deployment: AnchorDeployment): Promise<Endorsement> {
    // one at a time: a reading's binding is read, judged over awaits and recorded; two proposals
    // judged at once would both see it unbound and sign it under two sequences
    const run = this.#endorsing.then(() => this.#endorse(proposal, deployment));
    this.#endorsing = run.catch(() => undefined);
    return run;
  }

  async #endorse(proposal: BatchProposal, deployment: AnchorDeployment): Promise<Endorsement> {
    // a node the registry suspends, blocks or revokes stops signing (its share would not count anyway)
    const self = await this.#directory.lookup(this.id);
    if (self === undefined || self.status !== Status.Active) {
      return { ok: false, member: this.index, reason: "inactive", at: -1 };
    }
    const seen = new Set<string>();
    const checked: SecuReading[] = [];
    for (const [i, bytes] of proposal.readings.entries()) {
      try {
        const r = await this.#authenticate(bytes);
        if (!classify(r, this.#policy).sensitive) {
          return { ok: false, member: this.index, reason: "not-sensitive", at: i };
        }
        const key = `${r.device}:${r.seq}`;
        if (seen.has(key)) return { ok: false, member: this.index, reason: "duplicate", at: i };
        const before = this.store.endorsement(r.device, r.seq);
        if (
          before !== undefined &&
          (before.cluster !== proposal.cluster.toLowerCase() || before.sequence !== proposal.sequence) &&
          !(await this.#released(before))
        ) {
          const anchoredIn = await this.#anchoredRoot(before);
          return {
            ok: false,
            member: this.index,
            reason: "already-endorsed",
            at: i,
            ...(anchoredIn === undefined ? {} : { anchoredIn }),
          };
        }
        seen.add(key);
        checked.push(r);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        return { ok: false, member: this.index, reason: e.reason, at: i };
      }
    }
    const tree = await batchTree(proposal.readings);
    if (tree.root !== proposal.root || proposal.leafCount !== proposal.readings.length) {
      return { ok: false, member: this.index, reason: "wrong-root", at: -1 };
    }
    const message = fogBatchMessage({
      ...deployment,
      cluster: proposal.cluster,
      sequence: proposal.sequence,
      root: proposal.root,
      leafCount: proposal.leafCount,
    });
    const partial = this.#scheme.partialSign(this.#share, message);
    // a reading is endorsed for one (cluster, sequence): never under another sequence
    this.store.recordEndorsed(checked, { cluster: proposal.cluster, sequence: proposal.sequence, root: proposal.root });
    return { ok: true, member: this.index, partial };
  }

  /** The root this node signed a reading under that the chain holds, if any. */
  async #anchoredRoot(before: EndorsedMessage): Promise<Hex | undefined> {
    const chain = this.#anchors;
    if (chain === undefined || before.cluster === undefined) return undefined;
    for (const root of before.roots) if ((await chain.anchorOf(before.cluster, root)) !== undefined) return root;
    return undefined;
  }

  /**
   * The readings at `indices` of `proposal` are anchored already, in a batch this node did not
   * sign (the cluster found enough members bound to an anchored root for each, see
   * `FogCluster`): they leave the queue (`anchored`), and the pending batch holding them is dropped.
   */
  dropAnchored(proposal: BatchProposal, indices: readonly number[]): void {
    for (const i of indices) {
      const id = proposal.ids[i];
      if (id !== undefined) this.store.dropSensitive(id, "anchored");
    }
    this.store.forgetRounds(proposal.cluster, 0n, proposal.root);
  }

  /** See `FogMember.readChainThrough`: the cluster's port, unless this node was given a view of its own. */
  readChainThrough(view: FogChainView): void {
    this.#anchors ??= view;
  }

  /**
   * Whether a reading's binding to (cluster, sequence) is void: the chain's
   * head passed that sequence and none of the roots this node signed the
   * reading under there is anchored, so no share it gave can anchor the
   * reading any more (the chain takes one root per sequence, and the message
   * names the sequence). Never without the chain, nor for a binding whose
   * roots this node did not keep.
   */
  async #released(before: EndorsedMessage): Promise<boolean> {
    const chain = this.#anchors;
    const { cluster, sequence, roots } = before;
    if (chain === undefined || cluster === undefined || sequence === undefined || roots.length === 0) return false;
    // the head first: once it passed the sequence, whatever was anchored there shows in the records read next
    if ((await chain.head(cluster)) < sequence) return false;
    for (const root of roots) if ((await chain.anchorOf(cluster, root)) !== undefined) return false;
    return true;
  }

  /**
   * Records that a proposed batch was signed and anchored: its readings leave
   * the queue. `txHash` is unknown when the transaction's answer was lost and
   * the chain showed the batch anchored afterwards.
   */
  recordBatch(
    proposal: BatchProposal,
    signature: Uint8Array | undefined,
    txHash: string | undefined,
    block?: number,
  ): void {
    this.store.saveBatch(
      {
        sequence: Number(proposal.sequence),
        root: proposal.root,
        leafCount: proposal.leafCount,
        firstId: Math.min(...proposal.ids),
        lastId: Math.max(...proposal.ids),
        signature,
        txHash,
        block,
      },
      proposal.ids,
      proposal.cluster,
    );
  }

  /**
   * The batches recorded as anchored for `cluster` (all without it) that are not final yet
   * (`FogCluster.reconcile` re-checks them), with the block each was seen anchored at.
   */
  provisionalBatches(cluster?: Hex): { readonly sequence: bigint; readonly root: Hex; readonly block?: number }[] {
    const c = cluster === undefined ? undefined : (cluster.toLowerCase() as Hex);
    return this.store.provisionalBatches(c).map((b) => ({
      sequence: BigInt(b.sequence),
      root: b.root,
      ...(b.block === undefined ? {} : { block: b.block }),
    }));
  }

  /** The batch at `sequence` is final on chain: it is no longer re-checked (nor `cluster`'s other roots there kept). */
  finalizeBatch(sequence: bigint, cluster?: Hex): void {
    this.store.finalizeBatch(Number(sequence), cluster === undefined ? undefined : (cluster.toLowerCase() as Hex));
  }

  /**
   * The chain no longer holds the batch recorded at `sequence` (a reorganisation removed it): its
   * readings leave the batch and it becomes the live round again, to be anchored anew.
   */
  revertBatch(cluster: Hex, sequence: bigint): void {
    this.store.revertBatch(cluster.toLowerCase() as Hex, Number(sequence));
  }

  /** Sensitive readings of `device` in a device-time range, for a requester whose access the caller checked. */
  sensitiveOf(device: Hex, from: number, to: number): StoredReading[] {
    return this.store.sensitiveOf(device, from, to);
  }

  /**
   * Serves a device's sensitive readings only to a request signed (EIP-712)
   * by the holder of the current shift of an access token for that device,
   * checked against the chain (`AccessTokensClient.verifyAccessRequest`):
   * expired, revoked, replayed, out-of-shift or foreign requests are refused
   * with an `AccessDeniedError`. Nonces are remembered, so a request is served
   * once. When the node holds `maxAccessNonces` fresh nonces, or the requester
   * `maxAccessNoncesPerRequester`, a new request is refused with
   * `ProtocolError("busy")`: retry once the oldest has expired.
   */
  async serveSensitive<R extends { readonly resource: Hex }>(
    access: AccessVerifier<R>,
    request: R,
    signature: Hex,
    range: { readonly from: number; readonly to: number },
    now?: bigint,
  ): Promise<StoredReading[]> {
    if (
      typeof range !== "object" ||
      range === null ||
      !Number.isSafeInteger(range.from) ||
      !Number.isSafeInteger(range.to) ||
      range.from > range.to
    ) {
      throw new InvalidInputError("a range is two integers with from <= to (ms)", { range: String(range) });
    }
    // the nonce is recorded only after the request's signature is checked: `requester` is then
    // the authenticated sender, which the per-requester bound counts
    const requester = (request as { readonly requester?: unknown }).requester;
    const group = typeof requester === "string" ? requester.toLowerCase() : undefined;
    const grant = await access.verifyAccessRequest(request, signature, now, {
      seen: {
        has: (nonce) => this.#nonces.has(nonce, this.#clock()),
        add: (nonce) => this.#nonces.checkKey(nonce, this.#clock(), { nonce }, group),
      },
      scope: this.accessScope,
    });
    return this.store.sensitiveOf(grant.resource, range.from, range.to);
  }
}

/** The access-token check a fog node relies on (`AccessTokensClient`). */
export interface AccessVerifier<R> {
  verifyAccessRequest(
    request: R,
    signature: Hex,
    now?: bigint,
    options?: {
      readonly seen?: { has(nonce: string): boolean; add(nonce: string): unknown };
      readonly scope?: Hex;
    },
  ): Promise<{ readonly resource: Hex }>;
}

/** A reading's rejection for its device's registry profile, which does not decode or holds no valid key. */
function badProfile(device: Hex, cause: Error): ProtocolError {
  return new ProtocolError("bad-profile", `device ${device} published a profile that does not decode`, {
    device,
    cause: cause.message,
  });
}

/** A proposed sensitive batch. */
export interface BatchProposal {
  readonly cluster: Hex;
  readonly sequence: bigint;
  readonly root: Hex;
  readonly leafCount: number;
  /** The encoded readings, in leaf order. */
  readonly readings: readonly Uint8Array[];
  /** The proposer's store ids of the readings. */
  readonly ids: readonly number[];
  readonly proposer: number;
}

// The Merkle tree of a batch lives with the reading's bytes (a bundle verifier rebuilds it too).
export { batchTree } from "../core/fog/reading-bytes.ts";

/** A member's answer to a batch proposal. */
export type Endorsement =
  | { readonly ok: true; readonly member: number; readonly partial: PartialSignature }
  | {
      readonly ok: false;
      readonly member: number;
      readonly reason:
        ProtocolRejection | "not-sensitive" | "wrong-root" | "duplicate" | "already-endorsed" | "inactive";
      /** The reading it refused (-1: the batch as a whole). */
      readonly at: number;
      /** For `already-endorsed`: the anchored root this member signed the reading under, if the chain holds one. */
      readonly anchoredIn?: Hex;
    };

/**
 * A `FogDirectory` over the registry client: `getDevice` and the P-256 key of
 * the latest published profile. A profile that does not decode throws
 * `InvalidInputError` from `p256Key` (the fog node rejects that device's
 * readings as `bad-profile`), remembered for the TTL. Decoded keys are cached
 * by (device, committed profile hash): after the TTL the hash is read again
 * (`profileHashOf`, the registry client's log tail since its last read) and the
 * profile is read and decoded again only when the hash changed. Each cache
 * keeps at most `maxEntries` devices (default `DIRECTORY_CACHE_ENTRIES`), the
 * least recently used forgotten first; a device answer past its TTL is dropped
 * when next asked for (a key's entry is kept past it for its hash).
 */
export function registryFogDirectory(
  registry: {
    getDevice(id: Hex): Promise<{ readonly kind: Kind; readonly status: Status }>;
    profileOf(id: Hex): Promise<{ readonly p256PublicKey: Uint8Array } | undefined>;
    profileHashOf?(id: Hex): Promise<Hex | undefined>;
  },
  ttlMs = 10_000,
  clock: () => number = Date.now,
  maxEntries: number = DIRECTORY_CACHE_ENTRIES,
): FogDirectory & { readonly cached: { readonly entries: number; readonly keys: number } } {
  const entries = new LruMap<string, { entry: DirectoryEntry | undefined; until: number }>(maxEntries);
  const keys = new LruMap<string, { key: Uint8Array | undefined; hash?: Hex; error?: unknown; until: number }>(
    maxEntries,
  );
  return {
    get cached() {
      return { entries: entries.size, keys: keys.size };
    },
    async lookup(id) {
      const key = id.toLowerCase();
      const hit = entries.get(key);
      if (hit !== undefined && hit.until > clock()) return hit.entry;
      if (hit !== undefined) entries.delete(key);
      const r = await registry.getDevice(id);
      const entry = r.status === Status.None ? undefined : { kind: r.kind, status: r.status };
      entries.set(key, { entry, until: clock() + ttlMs });
      return entry;
    },
    async p256Key(id) {
      const key = id.toLowerCase();
      const hit = keys.get(key);
      if (hit !== undefined && hit.until > clock()) {
        if (hit.error !== undefined) throw hit.error;
        return hit.key;
      }
      const hash = await registry.profileHashOf?.(id);
      if (hit !== undefined && hash !== undefined && hit.hash === hash) {
        keys.set(key, { ...hit, until: clock() + ttlMs }); // the same commitment: the same profile
        if (hit.error !== undefined) throw hit.error;
        return hit.key;
      }
      let found: Uint8Array | undefined;
      try {
        found = (await registry.profileOf(id))?.p256PublicKey;
      } catch (e) {
        // a published profile that does not decode stays bad until the owner publishes another:
        // remembered by its hash, so each reading of the device does not re-read the log
        if (e instanceof InvalidInputError) keys.set(key, { key: undefined, hash, error: e, until: clock() + ttlMs });
        throw e;
      }
      keys.set(key, { key: found, hash, until: clock() + ttlMs });
      return found;
    },
  };
}
