/**
 * A Secuchain fog cluster's "sign share" round (seed 004): a member proposes
 * the next sensitive batch; every member checks it itself and, if it agrees,
 * signs a share of the cluster's t-of-n key over the batch message that
 * `DataAnchor` checks; any t valid shares combine (Lagrange) into the group
 * signature; the batch root is anchored with it (the chain's "verification
 * decoding phase"). A member that disagrees, or whose share does not verify
 * under its public key share (compromised, or lying), is named in the result
 * and reported; fewer than t honest shares anchor nothing.
 *
 * A member the registry no longer has Active (suspended, blocked, revoked) is
 * not asked and its share never counts: until the cluster re-deals its key
 * (a fresh DKG and `register` with `rekey`, without it) the chain would still
 * accept its share, so the rule lives here, and t Active members must endorse.
 * A round is kept in the proposer's store before any member signs it, so one
 * that fails (the transaction, too few shares, or the proposer's process) is
 * retried with the same batch (`FogNode.propose`), after a restart too; one
 * whose transaction took its sequence though the answer was lost (or the
 * proposer died before recording it) is recorded as anchored before the next
 * round,
 * and one whose sequence another root took (a racing proposer) is dropped and
 * its readings proposed afresh at the next sequence (members with the chain
 * view release them, `FogNode.endorse`). An anchored batch stays provisional
 * until `finalityDepth` blocks (or the node's `finalized` block) confirm it;
 * each round re-checks it (`reconcile`) and anchors it again if a
 * reorganisation removed it (docs/secuchain.md, "Fault model").
 */

import { withTimeout } from "../core/async.ts";
import type { Signer } from "ethers";

import { FinalHeadReader } from "../contracts/chain.ts";
import type { DataAnchorClient, FogClusterInfo, FogClusterResult } from "../contracts/anchor.ts";
import { type Hex, toHex } from "../core/bytes.ts";
import type { Commitments, PartialSignature, ThresholdScheme } from "../core/crypto/threshold.ts";
import { g1ToEip2537, g2ToEip2537 } from "../core/crypto/eip2537.ts";
import { anchorVerdict, confirmedBlock } from "../core/finality.ts";
import { type AnchorDeployment, FOG_POSSESSION_DST, fogBatchMessage, possessionMessage } from "../core/fogBatch.ts";
import { Status } from "../core/registry.ts";
import {
  ClusterRegistrationConflictError,
  ContractRevertError,
  InvalidInputError,
  StrataError,
  ThresholdError,
  TransportError,
} from "../errors.ts";

export { ClusterRegistrationConflictError } from "../errors.ts";
import type { DirectoryEntry } from "../nbiot/ports.ts";
import type { BatchProposal, Endorsement, FogChainView } from "./fog-node.ts";

/** How the coordinator reaches a member (in process: the `FogNode` itself). */
export interface FogMember {
  readonly index: number;
  readonly id: Hex;
  endorse(proposal: BatchProposal, deployment: AnchorDeployment): Promise<Endorsement>;
  /**
   * A member in the cluster's own process that was given no chain view of its own reads the
   * chain through the cluster's port (it needs it to release a reading whose sequence another
   * batch took); a member with its own view, or a remote one, keeps it.
   */
  readChainThrough?(view: FogChainView): void;
  /**
   * The member's sign share of the proof of possession of the cluster's group key (`groupKey`,
   * 256-byte EIP-2537), for `FogCluster.register`; a member without it takes no part in the proof.
   */
  signPossession?(groupKey: Uint8Array): Promise<PartialSignature>;
}

/** The part of `DataAnchorClient` the cluster uses. */
export interface FogAnchorPort {
  /** The cluster's head at `blockTag` (default the latest block; a block number, or `"finalized"`). */
  head(cluster: Hex, blockTag?: number | "latest" | "finalized"): Promise<bigint>;
  /**
   * The cluster's record of `root` at `blockTag` (default latest; undefined: not anchored by it):
   * settles a round whose answer was lost, and re-checks a provisional batch.
   */
  anchorOf(cluster: Hex, root: Hex, blockTag?: number | "latest"): Promise<{ readonly sequence: bigint } | undefined>;
  /**
   * The latest block number as this port's node sees it: `reconcile` pins its reads to it (a
   * lagging node then answers for one older block, and proves no removal). Without it (nor
   * `blocks`) each read is at the node's latest block.
   */
  blockNumber?(): Promise<number>;
  anchorFogBatch(
    cluster: Hex,
    root: Hex,
    leafCount: number | bigint,
    groupSignature: Uint8Array,
  ): Promise<{
    readonly sequence: bigint;
    readonly hash: string;
    readonly gasUsed?: bigint;
    readonly blockNumber?: number;
  }>;
}

/** Why a member's part was set aside. */
export interface MemberReport {
  readonly member: number;
  readonly id: Hex;
  readonly reason: string;
  /** For a disagreement: the reading index it refused (-1: the batch as a whole). */
  readonly at?: number;
  /** For `already-endorsed`: the anchored root the member says it signed that reading under. */
  readonly anchoredIn?: Hex;
}

export interface AnchoredFogBatch {
  readonly sequence: bigint;
  readonly root: Hex;
  readonly leafCount: number;
  readonly signature: Uint8Array;
  /** The members whose shares made the group signature. */
  readonly signers: readonly number[];
  readonly reports: readonly MemberReport[];
  readonly txHash: string;
  /** The block that mined the anchor, when the chain port tells it (`DataAnchorClient` does). */
  readonly blockNumber?: number;
  /** The batch's encoded readings, in leaf order: with the rest, what `batchBundles` takes. */
  readonly readings: readonly Uint8Array[];
}

export interface FogClusterOptions {
  /** The cluster's registry id (a FogNode entity whose key registered the cluster). */
  readonly id: Hex;
  readonly deployment: AnchorDeployment;
  readonly commitments: Commitments;
  readonly scheme: ThresholdScheme;
  readonly members: readonly FogMember[];
  readonly anchor: FogAnchorPort;
  /**
   * Called for each member set aside (e.g. a misbehaviour report to the
   * registry), except `inactive` and `already-endorsed` ones (not misbehaviour).
   */
  readonly report?: (report: MemberReport) => Promise<void>;
  /** How long a member may take to answer (default 30 s); one that does not answer is set aside. */
  readonly timeoutMs?: number;
  /**
   * The registry as the cluster reads it: a member that is not Active there is
   * set aside (`inactive`, not passed to `report`: the registry already stopped
   * it) and its share never counts. Without it every member is taken as Active.
   */
  readonly directory?: { lookup(id: Hex): Promise<DirectoryEntry | undefined> };
  /**
   * Confirmations after which an anchored batch is final (the block that mined it counts as one);
   * needs `blocks`. Without it a batch is final once the node's `finalized` block holds it. Until
   * then it is provisional: each round re-checks it (`reconcile`) and anchors it again if a
   * reorganisation removed it.
   */
  readonly finalityDepth?: number;
  /**
   * The chain's latest block number (an ethers `Provider`), for `finalityDepth`, and to pin
   * `reconcile`'s reads to one block when the port has no `blockNumber`.
   */
  readonly blocks?: { getBlockNumber(): Promise<number> };
}

/** What `anchorNext` needs of the proposing member (a `FogNode`). */
export interface FogProposer {
  propose(cluster: Hex, sequence: bigint, max?: number): Promise<BatchProposal | undefined>;
  /** `block`: the block the batch was seen anchored at (mined in, or read at), for `reconcile`. */
  recordBatch(
    proposal: BatchProposal,
    signature: Uint8Array | undefined,
    txHash: string | undefined,
    block?: number,
  ): void;
  /** The batch it proposed that is not recorded as anchored yet (see `FogNode.propose`). */
  pendingBatch?(cluster: Hex): BatchProposal | undefined;
  /**
   * Every round it proposed that is not settled yet, oldest first (the last is `pendingBatch`): a
   * round kept across a restart, or one whose batch shrank, may be the one the chain took.
   */
  pendingRounds?(cluster: Hex): readonly BatchProposal[];
  /** Readings of `proposal` found anchored already, in a batch it did not sign: they leave its queue. */
  dropAnchored?(proposal: BatchProposal, indices: readonly number[]): void;
  /** The batches it recorded as anchored for `cluster` that are not final yet (see `FogCluster.reconcile`). */
  provisionalBatches?(
    cluster: Hex,
  ): readonly { readonly sequence: bigint; readonly root: Hex; readonly block?: number }[];
  /** The batch at `sequence` is final. */
  finalizeBatch?(sequence: bigint, cluster?: Hex): void;
  /** The chain no longer holds the batch at `sequence`: it becomes the live round again. */
  revertBatch?(cluster: Hex, sequence: bigint): void;
}

/** What `FogCluster.register` needs besides the cluster itself: the chain and the keys that sign. */
export interface FogClusterRegistrar {
  /** The `DataAnchor` client the cluster registers through (its runner reads the chain). */
  readonly client: DataAnchorClient;
  /** The cluster's key in the registry (the key its id was registered with): it sends the registration. */
  readonly clusterKey: Signer;
  /**
   * Each member's key in the registry, in member index order (`memberKeys[i]` is member i + 1's):
   * each signs its member's approval of the cluster's key, threshold and members.
   */
  readonly memberKeys: readonly Signer[];
  /**
   * A cluster registered with another key, threshold or members is registered again, at the next
   * epoch (a re-dealt key), instead of refused with `ClusterRegistrationConflictError`.
   */
  readonly rekey?: boolean;
  /** How long a member may take to sign its share of the proof of possession (default 30 s). */
  readonly timeoutMs?: number;
}

/**
 * The cluster as the chain holds it after `FogCluster.register`: `sent` when this call registered
 * it (with its transaction), not when the chain held this very registration already.
 */
export type ClusterRegistration =
  (FogClusterResult & { readonly sent: true }) | (FogClusterInfo & { readonly sent: false });

/** What `reconcile` found of the provisional batches. */
export interface Reconciliation {
  /** Sequences of batches now final. */
  readonly final: readonly bigint[];
  /** Sequences of batches a reorganisation removed: they are proposed again. */
  readonly removed: readonly bigint[];
}

export class FogCluster {
  readonly id: Hex;
  readonly #o: FogClusterOptions;
  /** Group signatures combined for batches whose transaction failed, by root (kept for their record). */
  readonly #signed = new Map<Hex, Uint8Array>();
  /** Set once the node refused the `finalized` block tag (see `#confirmedHead`). */
  readonly #finalHead = new FinalHeadReader("FogCluster");

  constructor(options: FogClusterOptions) {
    const indices = options.members.map((m) => m.index);
    if (new Set(indices).size !== indices.length || indices.some((i) => !Number.isInteger(i) || i < 1)) {
      throw new InvalidInputError("members have distinct indices from 1", { indices });
    }
    if (options.finalityDepth !== undefined) {
      if (!Number.isSafeInteger(options.finalityDepth) || options.finalityDepth < 1) {
        throw new InvalidInputError("finalityDepth must be an integer of at least 1", {
          finalityDepth: options.finalityDepth,
        });
      }
      if (options.blocks === undefined) {
        throw new InvalidInputError("finalityDepth needs `blocks` (the chain's block number) to count confirmations");
      }
    }
    this.id = options.id.toLowerCase() as Hex;
    this.#o = options;
    for (const m of options.members) m.readChainThrough?.(options.anchor);
  }

  /**
   * Registers the cluster in `DataAnchor` so its batches can be anchored: its group key (C0 of
   * its commitments), threshold and members in index order (which must be 1..n), with every
   * member's approval (`memberKeys`) and a proof of possession of the group key combined from
   * t members' shares (`FogMember.signPossession`; a share that does not verify is left out),
   * sent by the cluster's key. Idempotent: a cluster the chain already holds with this key,
   * threshold and members is left as it is (`sent: false`, its record returned, nothing signed);
   * one held with others is refused (`ClusterRegistrationConflictError`) unless `rekey` is set.
   * Fewer than t valid shares of the proof: `ThresholdError`, nothing sent.
   */
  async register(registrar: FogClusterRegistrar): Promise<ClusterRegistration> {
    const o = this.#o;
    const { client } = registrar;
    const members = [...o.members].sort((a, b) => a.index - b.index);
    if (members.some((m, i) => m.index !== i + 1)) {
      throw new InvalidInputError("a registered cluster's members are indexed from 1, without gaps", {
        indices: members.map((m) => m.index),
      });
    }
    if (registrar.memberKeys.length !== members.length) {
      throw new InvalidInputError("one key per member is needed to approve the registration", {
        members: members.length,
        keys: registrar.memberKeys.length,
      });
    }
    const groupKeyBytes = g2ToEip2537(o.scheme.backend, o.scheme.groupKey(o.commitments));
    const requested = {
      groupKey: toHex(groupKeyBytes) as Hex,
      threshold: o.commitments.threshold,
      members: members.map((m) => m.id.toLowerCase() as Hex),
    };
    const held = await client.fogCluster(this.id);
    if (held !== undefined && sameRegistration(held, requested)) return { ...held, sent: false };
    if (held !== undefined && registrar.rekey !== true) throw new ClusterRegistrationConflictError(held, requested);
    const epoch = (held?.epoch ?? 0) + 1;
    const proof = await this.#possessionProof(members, groupKeyBytes, registrar.timeoutMs ?? o.timeoutMs ?? 30_000);
    const approvals = await Promise.all(
      registrar.memberKeys.map((key) =>
        client.signFogClusterApproval(key, this.id, {
          groupKey: groupKeyBytes,
          threshold: requested.threshold,
          members: requested.members,
          epoch,
        }),
      ),
    );
    try {
      const result = await client.connect(registrar.clusterKey).registerFogCluster(this.id, {
        groupKey: groupKeyBytes,
        threshold: requested.threshold,
        members: requested.members,
        proof,
        approvals,
      });
      return { ...result, sent: true };
    } catch (e) {
      // another process of the cluster may have sent the same registration first: then the
      // approvals (for this epoch) no longer match the contract's next epoch, and it reverts
      if (!(e instanceof ContractRevertError)) throw e;
      const now = await client.fogCluster(this.id);
      if (now !== undefined && now.epoch === epoch && sameRegistration(now, requested)) return { ...now, sent: false };
      throw e;
    }
  }

  /** The proof of possession of the group key, combined from the members' shares (EIP-2537 G1). */
  async #possessionProof(members: readonly FogMember[], groupKey: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const { scheme, commitments } = this.#o;
    const signers = members.filter((m) => m.signPossession !== undefined);
    const settled = await Promise.allSettled(signers.map((m) => withTimeout(m.signPossession!(groupKey), timeoutMs)));
    const { g1 } = scheme.backend;
    const partials = settled.flatMap((r, i) =>
      r.status === "fulfilled" && r.value.index === signers[i]!.index && isG1(g1, r.value.signature) ? [r.value] : [],
    );
    const message = possessionMessage(groupKey);
    try {
      if (partials.length === 0) throw new ThresholdError("no member signed the proof of possession", []);
      return g1ToEip2537(scheme.backend, scheme.combine(commitments, message, partials, FOG_POSSESSION_DST).signature);
    } catch (e) {
      if (!(e instanceof ThresholdError)) throw e;
      throw new ThresholdError(
        `the proof of possession has ${partials.length - e.badShares.length} valid shares of the ${commitments.threshold} it needs`,
        e.badShares,
        { cluster: this.id },
      );
    }
  }

  /**
   * Runs one sign-share round for the batch `proposer` proposes (`propose`
   * with the chain's next sequence number) and anchors it. Returns undefined
   * when the proposer has nothing to batch; throws `ThresholdError` (with the
   * reports) when fewer than t members endorse it validly.
   */
  async anchorNext(proposer: FogProposer, max?: number): Promise<AnchoredFogBatch | undefined> {
    const o = this.#o;
    await this.reconcile(proposer);
    const at = await this.#blockNumber();
    const sequence = (await o.anchor.head(this.id, at ?? "latest")) + 1n;
    await this.#settle(proposer, sequence, at);
    const proposal = await proposer.propose(this.id, sequence, max);
    if (proposal === undefined) return undefined;
    if (proposal.cluster !== this.id || proposal.sequence !== sequence) {
      // members would sign what the proposer says; their shares would then fail against what we asked
      throw new InvalidInputError("the proposal is not for this cluster's next batch", {
        cluster: proposal.cluster,
        sequence: String(proposal.sequence),
        expected: String(sequence),
      });
    }
    // a member the registry stopped is not asked: its share must not count, whatever it signs
    const active = await this.#activeMembers();
    const inactive: MemberReport[] = o.members
      .filter((m) => !active.includes(m))
      .map((m) => ({ member: m.index, id: m.id, reason: "inactive" }));
    // every member answers or is set aside: one offline, slow or throwing member blocks nothing
    const settled = await Promise.allSettled(
      active.map((m) => withTimeout(m.endorse(proposal, o.deployment), o.timeoutMs ?? 30_000)),
    );
    const reports: MemberReport[] = [...inactive];
    const partials: PartialSignature[] = [];
    const { g1 } = o.scheme.backend;
    for (const [i, outcome] of settled.entries()) {
      const member = active[i]!;
      if (outcome.status === "rejected") {
        reports.push({ member: member.index, id: member.id, reason: "no-answer" });
        continue;
      }
      const e = outcome.value;
      if (!e.ok) {
        reports.push({
          member: member.index,
          id: member.id,
          reason: e.reason,
          at: e.at,
          ...(e.anchoredIn === undefined ? {} : { anchoredIn: e.anchoredIn }),
        });
      } else if (e.partial.index !== member.index) {
        reports.push({ member: member.index, id: member.id, reason: "share-for-another-index" });
      } else if (!isG1(g1, e.partial.signature)) {
        reports.push(this.#invalid(member.index));
      } else partials.push(e.partial);
    }
    const message = fogBatchMessage({
      ...o.deployment,
      cluster: this.id,
      sequence,
      root: proposal.root,
      leafCount: proposal.leafCount,
    });
    let combined: { signature: ReturnType<ThresholdScheme["interpolate"]>; used: number[]; bad: number[] };
    try {
      if (partials.length === 0) throw new ThresholdError("no member endorsed the batch", []);
      combined = o.scheme.combine(o.commitments, message, partials);
    } catch (e) {
      if (!(e instanceof ThresholdError)) throw e;
      for (const bad of e.badShares) reports.push(this.#invalid(bad));
      await this.#report(reports);
      await this.#dropAnchored(proposer, proposal, reports);
      throw new ThresholdError(
        `the batch has ${partials.length - e.badShares.length} valid shares of the ${o.commitments.threshold} it needs`,
        e.badShares,
        { reports, sequence: String(sequence) },
      );
    }
    for (const bad of combined.bad) reports.push(this.#invalid(bad));
    await this.#report(reports);
    const signature = g1ToEip2537(o.scheme.backend, combined.signature);
    this.#signed.set(proposal.root, signature);
    const anchored = await o.anchor.anchorFogBatch(this.id, proposal.root, proposal.leafCount, signature);
    this.#signed.delete(proposal.root);
    proposer.recordBatch(proposal, signature, anchored.hash, anchored.blockNumber);
    return {
      sequence: anchored.sequence,
      root: proposal.root,
      leafCount: proposal.leafCount,
      signature,
      signers: combined.used,
      reports,
      txHash: anchored.hash,
      ...(anchored.blockNumber === undefined ? {} : { blockNumber: anchored.blockNumber }),
      readings: proposal.readings,
    };
  }

  /**
   * A reading the proposer holds may be anchored already in a batch it never signed (another
   * node received it too, and anchored it while this one was away): the members that signed it
   * refuse it (`already-endorsed`) and name the anchored root. When enough of them do that the
   * batch can never reach t shares (n - t + 1), each naming a root the chain holds, the reading
   * leaves the proposer's queue, so its other readings are not held back for good. Fewer cannot
   * make an honest reading leave: they could not stop it from being anchored anyway.
   */
  async #dropAnchored(proposer: FogProposer, proposal: BatchProposal, reports: readonly MemberReport[]) {
    if (proposer.dropAnchored === undefined) return;
    const o = this.#o;
    const needed = o.members.length - o.commitments.threshold + 1;
    const onChain = new Map<Hex, boolean>();
    const confirmed = new Map<number, number>();
    for (const r of reports) {
      if (r.reason !== "already-endorsed" || r.anchoredIn === undefined || r.at === undefined || r.at < 0) continue;
      let held = onChain.get(r.anchoredIn);
      if (held === undefined) {
        held = (await o.anchor.anchorOf(this.id, r.anchoredIn)) !== undefined;
        onChain.set(r.anchoredIn, held);
      }
      if (held) confirmed.set(r.at, (confirmed.get(r.at) ?? 0) + 1);
    }
    const indices = [...confirmed].filter(([, count]) => count >= needed).map(([at]) => at);
    if (indices.length > 0) proposer.dropAnchored(proposal, indices);
  }

  /**
   * The rounds the proposer still has pending for sequences the chain took since (kept across a
   * restart, see `FogNode.propose`): one whose root the chain holds at its sequence went through
   * though its answer was lost (or the proposer died before recording it), and is recorded as
   * anchored (its readings must not be batched again); the others are abandoned by `propose`.
   */
  async #settle(proposer: FogProposer, sequence: bigint, at: number | undefined): Promise<void> {
    const pending = proposer.pendingRounds?.(this.id) ?? [proposer.pendingBatch?.(this.id)];
    for (const round of pending) {
      if (round === undefined || round.sequence >= sequence) continue;
      const record = await this.#o.anchor.anchorOf(this.id, round.root, at ?? "latest");
      if (record?.sequence === round.sequence) {
        // seen anchored at block `at`: it was mined there or before
        proposer.recordBatch(round, this.#signed.get(round.root), undefined, at);
      }
      this.#signed.delete(round.root);
    }
  }

  /**
   * Re-checks the batches the proposer recorded as anchored that are not final yet: one the chain
   * confirmed deeply enough (`finalityDepth`, or the node's `finalized` block) becomes final; one a
   * reorganisation removed goes back to the proposer as a kept round, so a later round anchors it
   * again (at its sequence when the chain's next is that one, else its readings afresh). All reads
   * of one check are pinned to one block, and a record missing there counts as a removal only
   * with proof (`anchorVerdict`): a node that lags reverts nothing. At most 64 provisional batches
   * are checked per call, oldest first. Each `anchorNext` runs it first; call it between rounds to
   * notice a rollback sooner.
   */
  async reconcile(proposer: FogProposer): Promise<Reconciliation> {
    const open = (proposer.provisionalBatches?.(this.id) ?? []).slice(0, RECONCILE_BATCHES);
    if (open.length === 0) return { final: [], removed: [] };
    const { anchor } = this.#o;
    // every read of this check at one block: a node that lags answers for an older block, consistently
    const at = await this.#blockNumber();
    const confirmed = await this.#confirmedHead(at);
    const view = { head: await anchor.head(this.id, at ?? "latest"), ...(at === undefined ? {} : { block: at }) };
    const final: bigint[] = [];
    const removed: bigint[] = [];
    for (const batch of open) {
      const verdict = anchorVerdict(batch, await anchor.anchorOf(this.id, batch.root, at ?? "latest"), confirmed, view);
      if (verdict === "final") final.push(batch.sequence);
      else if (verdict === "removed") removed.push(batch.sequence);
    }
    for (const sequence of final) proposer.finalizeBatch?.(sequence, this.id);
    // the lowest last, so it is the live round: the others follow it in sequence order
    for (const sequence of removed.toReversed()) proposer.revertBatch?.(this.id, sequence);
    return { final, removed };
  }

  /** The latest block number, from the port or `blocks` (undefined: neither reads it); failures are typed. */
  async #blockNumber(): Promise<number | undefined> {
    const { anchor, blocks } = this.#o;
    const read = anchor.blockNumber?.bind(anchor) ?? blocks?.getBlockNumber.bind(blocks);
    if (read === undefined) return undefined;
    try {
      return await read();
    } catch (e) {
      if (e instanceof StrataError) throw e;
      throw new TransportError("the chain's block number could not be read", {}, { cause: e });
    }
  }

  /**
   * The cluster's head at the newest block deep enough to be final (0 while the chain is shorter):
   * `finalityDepth` blocks below `latest`, or the node's `finalized` block. A node that does not
   * serve `finalized` (a pre-merge or proof-of-authority chain, some L2s) is told once: every
   * later round fails at once with `ConfigError` naming `finalityDepth`, the option to set.
   */
  async #confirmedHead(latest: number | undefined): Promise<bigint> {
    const { finalityDepth, anchor } = this.#o;
    let at: number | "finalized" | undefined = "finalized";
    if (finalityDepth !== undefined) {
      at = confirmedBlock(latest ?? (await this.#o.blocks!.getBlockNumber()), finalityDepth);
    }
    if (at === undefined) return 0n;
    return this.#finalHead.headAt((tag) => anchor.head(this.id, tag), at, latest ?? "latest");
  }

  /** The members the registry has Active now (all of them without a directory). */
  async #activeMembers(): Promise<readonly FogMember[]> {
    const directory = this.#o.directory;
    if (directory === undefined) return this.#o.members;
    const entries = await Promise.all(this.#o.members.map((m) => directory.lookup(m.id)));
    return this.#o.members.filter((_, i) => entries[i]?.status === Status.Active);
  }

  #invalid(index: number): MemberReport {
    const member = this.#o.members.find((m) => m.index === index);
    return { member: index, id: member?.id ?? (toHex(new Uint8Array(32)) as Hex), reason: "invalid-share" };
  }

  async #report(reports: readonly MemberReport[]): Promise<void> {
    if (this.#o.report === undefined) return;
    // a member set aside as inactive did nothing wrong in this round: the registry already stopped it;
    // nor did one refusing a reading it endorsed for a live or anchored batch (`already-endorsed`): two
    // proposers raced, and it kept the reading from being anchored twice
    for (const r of reports) if (!UNREPORTED.has(r.reason)) await this.#o.report(r);
  }
}

/**
 * At most this many provisional batches are re-checked per round, oldest first (each costs a read):
 * a backlog is worked off over the next rounds.
 */
const RECONCILE_BATCHES = 64;

/** Reasons a member is set aside without being reported: not misbehaviour. */
const UNREPORTED: ReadonlySet<string> = new Set(["inactive", "already-endorsed"]);

/** Whether two member lists name the same members in the same order (ids compared in lower case). */
function sameMembers(a: readonly Hex[], b: readonly Hex[]): boolean {
  return a.length === b.length && a.every((m, i) => m.toLowerCase() === b[i]!.toLowerCase());
}

/** Whether the chain's record of a cluster holds this key, threshold and members. */
function sameRegistration(
  held: FogClusterInfo,
  requested: { readonly groupKey: Hex; readonly threshold: number; readonly members: readonly Hex[] },
): boolean {
  return (
    held.groupKey.toLowerCase() === requested.groupKey.toLowerCase() &&
    held.threshold === requested.threshold &&
    sameMembers(held.members, requested.members)
  );
}

/** Whether `p` is a point of the backend's G1 (a member could answer with anything). */
function isG1(g1: ThresholdScheme["backend"]["g1"], p: unknown): boolean {
  try {
    g1.toBytes(p as Parameters<typeof g1.toBytes>[0]);
    return !g1.isZero(p as Parameters<typeof g1.isZero>[0]);
  } catch {
    return false;
  }
}
