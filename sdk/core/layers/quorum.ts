/**
 * The decision rules of a high-level layer, as `contracts/ledger/SummaryLedger.sol`
 * states them, in small pure functions: every member node asks these, never
 * its own arithmetic.
 *
 * - **Quorum**: of n valid members, up to f = floor((n - 1) / 3) may be faulty;
 *   a decision needs n - f of them (`_quorum`; 2f + 1 when n = 3f + 1).
 * - **Attestation**: its signers are valid members and reach the quorum
 *   (`_verifyAttestation`: `LedgerSignersNotMembers`, `LedgerQuorumNotReached`).
 * - **Invalid verdict**: a member is tagged invalid by the others: it does not
 *   sign its own verdict (`LedgerJudgedMemberSigned`) and the quorum is counted
 *   without it (`invalidate`'s `judged`). A member node adds unanimity: it asks
 *   every other member that passed the examination, and submits the verdict
 *   only if each of them agreed.
 * - **Superior lost**: a superior layer none of whose examined members answers
 *   is lost; the ledger takes the alarm from a quorum, once per link (a linked,
 *   not yet frozen superior: `LedgerNoSuperior`, `LedgerSuperiorFrozen`).
 *
 * Member sets are 64-bit bitmaps (bit i = member i), as the ledger keeps them.
 */
import { InvalidInputError } from "../../errors.ts";

/** Members a ledger admits over its life (`SummaryLedger.MAX_MEMBERS`): the bitmap's width. */
export const MAX_LAYER_MEMBERS = 64;

const ALL = (1n << BigInt(MAX_LAYER_MEMBERS)) - 1n;

/** Faulty members a layer of `n` valid members tolerates: floor((n - 1) / 3). */
export function toleratedFaults(n: number): number {
  checkCount(n);
  return Math.floor((n - 1) / 3);
}

/** The quorum of `n` valid members: n - floor((n - 1) / 3) (2f + 1 when n = 3f + 1). */
export function quorumOf(n: number): number {
  return n - toleratedFaults(n);
}

/** How many members `members` (a bitmap) names. */
export function memberCount(members: bigint): number {
  checkMask(members, "members");
  let count = 0;
  for (let rest = members; rest !== 0n; rest &= rest - 1n) count++;
  return count;
}

/** Whether member `index` is in `members` (a bitmap). */
export function hasMember(members: bigint, index: number): boolean {
  checkMask(members, "members");
  checkIndex(index);
  return ((members >> BigInt(index)) & 1n) === 1n;
}

/**
 * The quorum the ledger asks of a decision of a layer whose valid members are
 * `validMask`: of all of them, or, for a verdict on members `judged`, of the
 * others (`_quorum(_popcount(valid & ~judged))`). `InvalidInputError` when no
 * member is left to decide (the ledger never gets there: it keeps one valid
 * member at least).
 */
export function quorumAmong(validMask: bigint, judged = 0n): number {
  checkMask(validMask, "validMask");
  checkMask(judged, "judged");
  const deciders = memberCount(validMask & ~judged);
  if (deciders === 0) {
    throw new InvalidInputError("no valid member is left to decide", {
      validMask: String(validMask),
      judged: String(judged),
    });
  }
  return quorumOf(deciders);
}

/**
 * Whether `signers` may decide for a layer whose valid members are
 * `validMask`, as the ledger accepts an attestation: every signer a valid
 * member, none of the members `judged` (a verdict on them is the others'),
 * and at least `quorumAmong(validMask, judged)` of them.
 */
export function isQuorum(signers: bigint, validMask: bigint, judged = 0n): boolean {
  checkMask(signers, "signers");
  const quorum = quorumAmong(validMask, judged);
  if ((signers & ~validMask) !== 0n || (signers & judged) !== 0n) return false;
  return memberCount(signers) >= quorum;
}

/** Whether every member in `asked` is among `agreed` (bitmaps): nobody asked refused. */
export function isUnanimous(asked: bigint, agreed: bigint): boolean {
  checkMask(asked, "asked");
  checkMask(agreed, "agreed");
  return (asked & ~agreed) === 0n;
}

/** A verdict on one member, as the examining member collected it. */
export interface MemberVerdict {
  /** The layer's valid members (the ledger's `validMask`). */
  readonly validMask: bigint;
  /** The member judged (it failed the examiner's challenge). */
  readonly judged: number;
  /** The members asked to judge it: the others that passed the examination. */
  readonly asked: bigint;
  /** The members that judged it failed: the examiner and those of `asked` that agreed. */
  readonly agreed: bigint;
}

/**
 * The unanimous-invalid rule: member `judged` is tagged invalid when every
 * member asked agreed it failed, and those that agreed are a quorum of the
 * valid members other than it (it never counts towards its own verdict).
 */
export function isInvalidVerdict(v: MemberVerdict): boolean {
  checkIndex(v.judged);
  return isUnanimous(v.asked, v.agreed) && isQuorum(v.agreed, v.validMask, 1n << BigInt(v.judged));
}

/** What an examiner makes of its superior layer. */
export type SuperiorStatus = "none" | "frozen" | "reachable" | "lost";

/**
 * The superior-lost rule, as one examiner reads it: no superior linked
 * (`none`), one already found lost and not re-attached (`frozen`), one some
 * examined member of answered (`reachable`), else `lost` (also when none of
 * its members could be examined at all).
 */
export function superiorStatus(s: {
  readonly linked: boolean;
  readonly frozen: boolean;
  /** Whether each examined member of the superior layer answered its challenge. */
  readonly answered: readonly boolean[];
}): SuperiorStatus {
  if (!s.linked) return "none";
  if (s.frozen) return "frozen";
  return s.answered.some((a) => a) ? "reachable" : "lost";
}

/**
 * Whether the ledger takes the alarm that its superior layer is lost
 * (`SummaryLedger.superiorLost`): a superior is linked, not already frozen,
 * and `signers` are a quorum of the valid members.
 */
export function acceptsSuperiorLost(s: {
  readonly linked: boolean;
  readonly frozen: boolean;
  readonly signers: bigint;
  readonly validMask: bigint;
}): boolean {
  return s.linked && !s.frozen && isQuorum(s.signers, s.validMask);
}

/**
 * Whether a layer answers as a layer (before linking to it as superior or
 * subordinate): the members that answered, `answered`, are a quorum of its
 * valid members `validMask`.
 */
export function answersAsLayer(answered: bigint, validMask: bigint): boolean {
  return isQuorum(answered & validMask, validMask);
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_LAYER_MEMBERS) {
    throw new InvalidInputError(`n must be an integer in [1, ${MAX_LAYER_MEMBERS}]`, { n });
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_LAYER_MEMBERS) {
    throw new InvalidInputError(`a member index must be an integer in [0, ${MAX_LAYER_MEMBERS - 1}]`, { index });
  }
}

function checkMask(mask: bigint, name: string): void {
  if (typeof mask !== "bigint" || mask < 0n || mask > ALL) {
    throw new InvalidInputError(`${name} must be a bigint in [0, 2^${MAX_LAYER_MEMBERS})`, { [name]: String(mask) });
  }
}
