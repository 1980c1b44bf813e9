/**
 * A fog cluster's key (seed 004: the cluster signs "sign shares"): t-of-n
 * threshold BLS made by joint-Feldman distributed key generation, so no fog
 * node — and no dealer — ever holds the group secret. `runDkg` plays the five
 * rounds of `ThresholdScheme` among members that run in one process (a
 * co-located cluster's set-up, tests, the demo), every member checking what it
 * received; members on separate machines exchange the same round messages over
 * their network and call the same functions.
 */
import { type Commitments, type KeyShare, type ThresholdScheme } from "../crypto/threshold.ts";
import { ThresholdError } from "../../errors.ts";

/** The most members a DKG runs among (share indices are one byte). */
const MAX_DKG_MEMBERS = 255;

export interface ClusterKeys {
  /** The group's Feldman commitments (C0 is the group public key, in G2). */
  readonly commitments: Commitments;
  /** Member i's key share is `shares[i - 1]`. */
  readonly shares: readonly KeyShare[];
  /** The dealers whose contributions make up the key. */
  readonly qualified: readonly number[];
}

/** Runs the DKG among `size` in-process members (n) with threshold `threshold` (t). */
export function runDkg(scheme: ThresholdScheme, threshold: number, size: number): ClusterKeys {
  if (
    !Number.isInteger(threshold) ||
    !Number.isInteger(size) ||
    threshold < 1 ||
    threshold > size ||
    size > MAX_DKG_MEMBERS
  ) {
    throw new ThresholdError(
      `a cluster's threshold is from 1 to its number of members, of which it has at most ${MAX_DKG_MEMBERS}`,
      [],
      { threshold, members: size },
    );
  }
  const members = Array.from({ length: size }, (_, i) => i + 1);
  // round 1: every member deals
  const dealt = new Map(members.map((m) => [m, scheme.dkgDeal(threshold, size)]));
  const commitments = new Map(members.map((m) => [m, dealt.get(m)!.commitments]));
  const received = (member: number) =>
    new Map(members.map((dealer) => [dealer, dealt.get(dealer)!.shares.find((s) => s.index === member)!]));
  // round 2: complaints; round 3: answers
  const complaints = new Map(members.map((m) => [m, scheme.dkgComplaints(m, threshold, received(m), commitments)]));
  const answers = new Map(
    members.map((dealer) => [
      dealer,
      scheme.dkgAnswer(
        dealt.get(dealer)!.shares,
        members.filter((m) => complaints.get(m)!.includes(dealer)),
      ),
    ]),
  );
  // round 4: the qualified set; round 5: each member's share and the group's commitments
  const qualified = scheme.dkgQualified(threshold, commitments, complaints, answers);
  const finished = members.map((m) => scheme.dkgFinish(m, threshold, qualified, received(m), commitments, answers));
  return { commitments: finished[0]!.commitments, shares: finished.map((f) => f.share), qualified };
}

/**
 * A member's check before it approves its cluster's key for registration:
 * its own share verifies under the commitments, the commitments are of
 * degree t − 1, and the group key is their C0. A member that skips this could
 * approve a key it holds no valid share of.
 */
export function checkClusterKey(
  scheme: ThresholdScheme,
  commitments: Commitments,
  share: KeyShare,
  groupKey: Uint8Array,
  threshold: number,
  encode: (c: Commitments) => Uint8Array,
): void {
  if (commitments.threshold !== threshold || commitments.points.length !== threshold) {
    throw new ThresholdError("the commitments are not of the cluster's threshold", [], {
      threshold,
      points: commitments.points.length,
    });
  }
  if (!scheme.verifyShare(share, commitments)) {
    throw new ThresholdError("this member's share does not verify under the commitments", [share.index]);
  }
  const expected = encode(commitments);
  if (expected.length !== groupKey.length || expected.some((b, i) => b !== groupKey[i])) {
    throw new ThresholdError("the group key is not the one the commitments define");
  }
}
