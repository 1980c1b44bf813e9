/**
 * Threshold BLS — the "sign shares" of Secuchain's fog clusters (seed 004).
 *
 * A group secret s is shared t-of-n with Shamir over Fr; Feldman commitments
 * Cⱼ = aⱼ·G2 to the polynomial's coefficients let every member check its share
 * (sᵢ·G2 = Σ iʲ·Cⱼ) and let anyone compute each member's verification key
 * PKᵢ = sᵢ·G2. The group key is C₀ = s·G2. Signatures are min-sig (G1), so the
 * combined signature verifies on chain like any BLS signature under C₀.
 *
 * Two ways to make the shares:
 * - `deal` — a dealer who knows s (a PKG, a test);
 * - `dkg*` — no dealer: each member deals a random polynomial, members check
 *   the shares they receive against its commitments, complaints disqualify bad
 *   dealers, and each member's key share is the sum of the shares from the
 *   qualified dealers (joint-Feldman DKG, Pedersen 1991 / GJKR 1999). The group
 *   key is the sum of the qualified dealers' C₀; nobody ever holds s.
 *
 * Combining: any t partial signatures σᵢ = sᵢ·H(m) combine with Lagrange
 * coefficients at 0 into s·H(m). `combine` verifies each partial against PKᵢ
 * first and names the bad ones, so a compromised or disagreeing fog node is
 * detected, not silently averaged in.
 */
import { sha256 } from "@noble/hashes/sha2.js";

import { concat } from "../bytes.ts";
import { InvalidInputError, ThresholdError } from "../../errors.ts";
import type { G1, G2, PairingBackend } from "./backend.ts";
import { DST_MIN_SIG } from "./bls-pairing.ts";
import { checkScalar, evalPolynomial, lagrangeAtZero, mod, R, randomScalar } from "./scalar.ts";

/** A member's secret share: its index (1..n) and sᵢ. */
export interface KeyShare {
  readonly index: number;
  readonly secret: bigint;
}

/** Public data of a sharing: the Feldman commitments (C₀ is the group key). */
export interface Commitments {
  readonly threshold: number;
  readonly points: readonly G2[];
}

/** A partial signature from member `index`. */
export interface PartialSignature {
  readonly index: number;
  readonly signature: G1;
}

function checkParams(t: number, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidInputError("n must be an integer in [1, 1000]", { n });
  if (!Number.isInteger(t) || t < 1 || t > n) throw new InvalidInputError("t must be an integer in [1, n]", { t, n });
}

function checkIndex(index: number, n?: number): void {
  if (!Number.isInteger(index) || index < 1 || (n !== undefined && index > n)) {
    throw new InvalidInputError("share index must be an integer in [1, n]", { index, n });
  }
}

function distinctIndices(indices: readonly number[]): void {
  if (indices.length === 0) throw new InvalidInputError("no shares given");
  indices.forEach((i) => checkIndex(i));
  if (new Set(indices).size !== indices.length)
    throw new InvalidInputError("share indices must be distinct", { indices });
}

/** A random polynomial of degree t-1 with constant term `secret`. */
function polynomial(t: number, secret: bigint): bigint[] {
  return [mod(secret), ...Array.from({ length: t - 1 }, () => randomScalar())];
}

export class ThresholdScheme {
  readonly backend: PairingBackend;

  constructor(backend: PairingBackend) {
    this.backend = backend;
  }

  // ------------------------------------------------------------ sharing

  /** A dealer shares `secret` (random if omitted) t-of-n. */
  deal(t: number, n: number, secret: bigint = randomScalar()): { shares: KeyShare[]; commitments: Commitments } {
    checkParams(t, n);
    checkScalar(secret, "shared secret");
    const coefficients = polynomial(t, secret);
    return {
      shares: Array.from({ length: n }, (_, i) => ({
        index: i + 1,
        secret: evalPolynomial(coefficients, BigInt(i + 1)),
      })),
      commitments: this.commit(coefficients),
    };
  }

  /** Feldman commitments to `coefficients`. */
  commit(coefficients: readonly bigint[]): Commitments {
    const g2 = this.backend.g2;
    return { threshold: coefficients.length, points: coefficients.map((a) => g2.mul(g2.generator, a)) };
  }

  /** The group public key C₀. */
  groupKey(commitments: Commitments): G2 {
    return commitments.points[0]!;
  }

  /** The verification key of member `index`: Σ indexʲ·Cⱼ = sᵢ·G2. */
  memberKey(commitments: Commitments, index: number): G2 {
    checkIndex(index);
    const x = BigInt(index);
    const powers = commitments.points.map((_, j) => mod(x ** BigInt(j)));
    return this.backend.g2.msm(commitments.points, powers);
  }

  /** True when `share` is the value the commitments promise at its index. */
  verifyShare(share: KeyShare, commitments: Commitments): boolean {
    const g2 = this.backend.g2;
    return g2.eq(g2.mul(g2.generator, share.secret), this.memberKey(commitments, share.index));
  }

  // -------------------------------------------------------- dealer-free DKG
  //
  // Joint-Feldman over a broadcast channel (the cluster anchors it on chain):
  //  1. every member deals (`dkgDeal`), broadcasts its commitments and sends share j to member j
  //     privately;
  //  2. every member checks what it received (`dkgComplaints`) and broadcasts its complaints;
  //  3. every accused dealer answers by broadcasting the disputed shares (`dkgAnswer`);
  //  4. everybody computes the same qualified set from the broadcast data (`dkgQualified`): a
  //     dealer is out if its commitments are malformed or a complaint against it is unanswered
  //     or answered with a share that fails its commitments;
  //  5. every member adds up its shares from the qualified dealers (`dkgFinish`).
  // Members compare `commitmentsDigest` of what they saw (or read it from the chain), so a
  // dealer who shows different commitments to different members is caught.

  /** Round 1 of a member: a random polynomial of degree t-1, its commitments, one share per member. */
  dkgDeal(t: number, n: number): { commitments: Commitments; shares: KeyShare[] } {
    return this.deal(t, n, randomScalar());
  }

  /** True when `c` is a well-formed commitment vector for threshold t. */
  #wellFormed(c: Commitments | undefined, t: number): c is Commitments {
    return c !== undefined && c.threshold === t && c.points.length === t && !this.backend.g2.isZero(c.points[0]!);
  }

  /** True when `share` is member `member`'s valid share under `c`. */
  #validFor(share: KeyShare | undefined, member: number, c: Commitments): boolean {
    return share !== undefined && share.index === member && this.verifyShare(share, c);
  }

  /**
   * Round 2, by member `index`: the dealers it complains about — malformed
   * commitments (wrong threshold or degree), a missing share, a share for
   * another index, or a share that fails the dealer's commitments.
   */
  dkgComplaints(
    index: number,
    t: number,
    received: ReadonlyMap<number, KeyShare>,
    commitments: ReadonlyMap<number, Commitments>,
  ): number[] {
    checkIndex(index);
    const bad: number[] = [];
    for (const [dealer, c] of commitments) {
      if (!this.#wellFormed(c, t) || !this.#validFor(received.get(dealer), index, c)) bad.push(dealer);
    }
    return bad.sort((a, b) => a - b);
  }

  /** Round 3, by a dealer: the shares it reveals to answer the complaints of `complainers`. */
  dkgAnswer(shares: readonly KeyShare[], complainers: readonly number[]): Map<number, KeyShare> {
    const answers = new Map<number, KeyShare>();
    for (const member of complainers) {
      const share = shares.find((s) => s.index === member);
      if (share) answers.set(member, share);
    }
    return answers;
  }

  /**
   * Round 4, the same for everybody: the qualified dealers, from the broadcast
   * commitments, complaints (`complaints.get(member)` = dealers it accused) and
   * answers (`answers.get(dealer).get(member)` = the revealed share). Throws a
   * `ThresholdError` when fewer than t dealers qualify.
   */
  dkgQualified(
    t: number,
    commitments: ReadonlyMap<number, Commitments>,
    complaints: ReadonlyMap<number, readonly number[]>,
    answers: ReadonlyMap<number, ReadonlyMap<number, KeyShare>>,
  ): number[] {
    const qualified: number[] = [];
    const out: number[] = [];
    for (const [dealer, c] of [...commitments].sort(([a], [b]) => a - b)) {
      let ok = this.#wellFormed(c, t);
      for (const [member, accused] of complaints) {
        if (!ok || !accused.includes(dealer)) continue;
        ok = this.#validFor(answers.get(dealer)?.get(member), member, c);
      }
      (ok ? qualified : out).push(dealer);
    }
    if (qualified.length < t) throw new ThresholdError(`only ${qualified.length} dealers qualify, need ${t}`, out);
    return qualified;
  }

  /**
   * Round 5, by member `index`: its key share (the sum of its shares from the
   * qualified dealers, a publicly answered share replacing a disputed one) and
   * the group's commitments (their sum).
   */
  dkgFinish(
    index: number,
    t: number,
    qualified: readonly number[],
    received: ReadonlyMap<number, KeyShare>,
    commitments: ReadonlyMap<number, Commitments>,
    answers: ReadonlyMap<number, ReadonlyMap<number, KeyShare>> = new Map(),
  ): { share: KeyShare; commitments: Commitments } {
    checkIndex(index);
    if (qualified.length < t) throw new ThresholdError(`only ${qualified.length} dealers qualify, need ${t}`);
    const { g2 } = this.backend;
    let secret = 0n;
    const sum: G2[] = Array.from({ length: t }, () => g2.zero);
    for (const dealer of qualified) {
      const c = commitments.get(dealer);
      const share = answers.get(dealer)?.get(index) ?? received.get(dealer);
      if (!this.#wellFormed(c, t) || !this.#validFor(share, index, c)) {
        throw new ThresholdError("a qualified dealer's share does not match its commitments", [dealer]);
      }
      secret = mod(secret + share!.secret);
      c.points.forEach((p, j) => (sum[j] = g2.add(sum[j]!, p)));
    }
    return { share: { index, secret }, commitments: { threshold: t, points: sum } };
  }

  /** A digest of everything dealt, in dealer order, for members to compare (or anchor on chain). */
  commitmentsDigest(commitments: ReadonlyMap<number, Commitments>): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const [dealer, c] of [...commitments].sort(([a], [b]) => a - b)) {
      parts.push(Uint8Array.of(dealer >> 8, dealer & 0xff, c.threshold >> 8, c.threshold & 0xff));
      for (const p of c.points) parts.push(this.backend.g2.toBytes(p));
    }
    return sha256(concat(...parts));
  }

  // ------------------------------------------------------------- signing

  /** Member `share.index` signs `message` with its share (min-sig DST unless given). */
  partialSign(share: KeyShare, message: Uint8Array, dst: string = DST_MIN_SIG): PartialSignature {
    checkIndex(share.index);
    const g1 = this.backend.g1;
    return { index: share.index, signature: g1.mul(g1.hash(message, dst), share.secret) };
  }

  /** True when `partial` is member `partial.index`'s signature on `message`. */
  verifyPartial(
    commitments: Commitments,
    message: Uint8Array,
    partial: PartialSignature,
    dst: string = DST_MIN_SIG,
  ): boolean {
    const { g1, g2 } = this.backend;
    const key = this.memberKey(commitments, partial.index);
    if (g1.isZero(partial.signature) || g2.isZero(key)) return false;
    return this.backend.pairingCheck([
      [partial.signature, g2.neg(g2.generator)],
      [g1.hash(message, dst), key],
    ]);
  }

  /**
   * Combines partial signatures into the group signature. Every partial is
   * verified first; invalid ones are set aside and reported in `bad`. Throws a
   * `ThresholdError` naming them when fewer than t valid partials remain.
   */
  combine(
    commitments: Commitments,
    message: Uint8Array,
    partials: readonly PartialSignature[],
    dst: string = DST_MIN_SIG,
  ): { signature: G1; used: number[]; bad: number[] } {
    distinctIndices(partials.map((p) => p.index));
    const good: PartialSignature[] = [];
    const bad: number[] = [];
    for (const p of partials) {
      if (this.verifyPartial(commitments, message, p, dst)) good.push(p);
      else bad.push(p.index);
    }
    const t = commitments.threshold;
    if (good.length < t) {
      throw new ThresholdError(`need ${t} valid partial signatures, have ${good.length}`, bad, { threshold: t });
    }
    const chosen = good.slice(0, t);
    const signature = this.interpolate(chosen);
    // Valid partials always combine into a valid signature unless the commitments themselves are
    // malformed (a degree above t-1): check the result once rather than trust that.
    const { g1, g2 } = this.backend;
    const groupKey = this.groupKey(commitments);
    if (
      commitments.points.length !== t ||
      !this.backend.pairingCheck([
        [signature, g2.neg(g2.generator)],
        [g1.hash(message, dst), groupKey],
      ])
    ) {
      throw new ThresholdError("the combined signature does not verify: the commitments are malformed");
    }
    return { signature, used: chosen.map((p) => p.index), bad };
  }

  /** Lagrange interpolation at 0 of exactly the given partials (no verification). */
  interpolate(partials: readonly PartialSignature[]): G1 {
    distinctIndices(partials.map((p) => p.index));
    const lambdas = lagrangeAtZero(partials.map((p) => BigInt(p.index)));
    return this.backend.g1.msm(
      partials.map((p) => p.signature),
      lambdas,
    );
  }

  /** Recovers the shared secret from t shares (a PKG or a test; never needed to sign). */
  recoverSecret(shares: readonly KeyShare[]): bigint {
    distinctIndices(shares.map((s) => s.index));
    const lambdas = lagrangeAtZero(shares.map((s) => BigInt(s.index)));
    return shares.reduce((acc, s, i) => mod(acc + s.secret * lambdas[i]!), 0n) % R;
  }
}
