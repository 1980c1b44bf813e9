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
import { InvalidInputError, ThresholdError } from "../../errors.ts";
import type { G1, G2, PairingBackend } from "./backend.ts";
import { DST_MIN_SIG } from "./bls.ts";
import { evalPolynomial, lagrangeAtZero, mod, R, randomScalar } from "./scalar.ts";

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

  /** Round 1 of member `index`: a random polynomial, its commitments, and one share per member. */
  dkgDeal(t: number, n: number): { commitments: Commitments; shares: KeyShare[] } {
    return this.deal(t, n, randomScalar());
  }

  /**
   * Round 2, run by every member on what it received: returns the dealers
   * whose share to it fails their commitments (its complaints).
   * `received.get(d)` is dealer d's share for this member, `commitments.get(d)` dealer d's commitments.
   */
  dkgComplaints(received: ReadonlyMap<number, KeyShare>, commitments: ReadonlyMap<number, Commitments>): number[] {
    const bad: number[] = [];
    for (const [dealer, c] of commitments) {
      const share = received.get(dealer);
      if (share === undefined || !this.verifyShare(share, c)) bad.push(dealer);
    }
    return bad.sort((a, b) => a - b);
  }

  /**
   * Round 3: with the set of qualified dealers (those nobody complained about
   * or who answered every complaint with a valid share in public), member
   * `index` adds up its shares; everybody adds up the commitments.
   */
  dkgFinish(
    index: number,
    qualified: readonly number[],
    received: ReadonlyMap<number, KeyShare>,
    commitments: ReadonlyMap<number, Commitments>,
  ): { share: KeyShare; commitments: Commitments } {
    if (qualified.length === 0) throw new ThresholdError("no qualified dealer");
    const first = commitments.get(qualified[0]!);
    if (!first) throw new ThresholdError("missing commitments of a qualified dealer", [qualified[0]!]);
    const t = first.threshold;
    let secret = 0n;
    const sum: G2[] = [...first.points].map(() => this.backend.g2.zero);
    for (const dealer of qualified) {
      const share = received.get(dealer);
      const c = commitments.get(dealer);
      if (!share || !c || c.threshold !== t || share.index !== index || !this.verifyShare(share, c)) {
        throw new ThresholdError("a qualified dealer's share does not match its commitments", [dealer]);
      }
      secret = mod(secret + share.secret);
      c.points.forEach((p, j) => (sum[j] = this.backend.g2.add(sum[j]!, p)));
    }
    return { share: { index, secret }, commitments: { threshold: t, points: sum } };
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
    const seen = new Set<number>();
    for (const p of partials) {
      checkIndex(p.index);
      if (seen.has(p.index))
        throw new InvalidInputError("two partial signatures with the same index", { index: p.index });
      seen.add(p.index);
    }
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
    return { signature: this.interpolate(chosen), used: chosen.map((p) => p.index), bad };
  }

  /** Lagrange interpolation at 0 of exactly the given partials (no verification). */
  interpolate(partials: readonly PartialSignature[]): G1 {
    const lambdas = lagrangeAtZero(partials.map((p) => BigInt(p.index)));
    return this.backend.g1.msm(
      partials.map((p) => p.signature),
      lambdas,
    );
  }

  /** Recovers the shared secret from t shares (a PKG or a test; never needed to sign). */
  recoverSecret(shares: readonly KeyShare[]): bigint {
    const lambdas = lagrangeAtZero(shares.map((s) => BigInt(s.index)));
    return shares.reduce((acc, s, i) => mod(acc + s.secret * lambdas[i]!), 0n) % R;
  }
}
