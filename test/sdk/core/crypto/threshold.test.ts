/**
 * Threshold BLS: Shamir + Feldman dealing, dealer-free DKG, partial signatures,
 * Lagrange combination, detection of bad shares; the group signature is a
 * plain min-sig BLS signature under the group key.
 */
import { expect } from "chai";

import { mclBackend } from "../../../../sdk/core/crypto/backend.ts";
import { minSig, text } from "../../../../sdk/core/crypto/bls.ts";
import { mod } from "../../../../sdk/core/crypto/scalar.ts";
import { type Commitments, type KeyShare, ThresholdScheme } from "../../../../sdk/core/crypto/threshold.ts";
import { InvalidInputError, ThresholdError } from "../../../../sdk/index.ts";

const backend = await mclBackend();
const th = new ThresholdScheme(backend);
const bls = minSig(backend);
const msg = text("batch root 0xabc…");

describe("threshold BLS", function () {
  this.timeout(60_000);

  it("any t of n partial signatures combine into a signature that verifies under the group key", function () {
    const { shares, commitments } = th.deal(3, 5);
    const partials = shares.map((s) => th.partialSign(s, msg));
    const pk = backend.g2.toBytes(th.groupKey(commitments));
    for (const subset of [
      [0, 1, 2],
      [2, 3, 4],
      [0, 2, 4],
      [4, 1, 3],
    ]) {
      const { signature, bad } = th.combine(
        commitments,
        msg,
        subset.map((i) => partials[i]!),
      );
      expect(bad).to.deep.equal([]);
      expect(bls.verify(pk, msg, backend.g1.toBytes(signature))).to.equal(true);
    }
  });

  it("every share verifies against the Feldman commitments; a tampered one does not", function () {
    const { shares, commitments } = th.deal(3, 5);
    for (const s of shares) expect(th.verifyShare(s, commitments)).to.equal(true);
    expect(th.verifyShare({ ...shares[0]!, secret: mod(shares[0]!.secret + 1n) }, commitments)).to.equal(false);
    expect(th.verifyShare({ ...shares[0]!, index: 2 }, commitments)).to.equal(false);
  });

  it("refuses t-1 shares with a ThresholdError", function () {
    const { shares, commitments } = th.deal(3, 5);
    const partials = shares.slice(0, 2).map((s) => th.partialSign(s, msg));
    expect(() => th.combine(commitments, msg, partials)).to.throw(ThresholdError, /need 3 valid/);
  });

  it("detects and names a corrupted partial signature, and still combines from the honest ones", function () {
    const { shares, commitments } = th.deal(3, 5);
    const partials = shares.map((s) => th.partialSign(s, msg));
    partials[1] = th.partialSign({ index: 2, secret: mod(shares[1]!.secret + 7n) }, msg); // compromised node 2
    partials[3] = th.partialSign(shares[3]!, text("another root")); // node 4 signs something else
    const { signature, bad, used } = th.combine(commitments, msg, partials);
    expect(bad).to.deep.equal([2, 4]);
    expect(used).to.not.include.members([2, 4]);
    expect(bls.verify(backend.g2.toBytes(th.groupKey(commitments)), msg, backend.g1.toBytes(signature))).to.equal(true);
    try {
      th.combine(commitments, msg, [partials[0]!, partials[1]!, partials[3]!]);
      expect.fail("combined with bad shares");
    } catch (e) {
      expect(e).to.be.instanceOf(ThresholdError);
      expect((e as ThresholdError).badShares).to.deep.equal([2, 4]);
    }
  });

  it("interpolating a corrupted partial without verification gives a signature that fails", function () {
    const { shares, commitments } = th.deal(2, 3);
    const p1 = th.partialSign(shares[0]!, msg);
    const p2 = th.partialSign({ index: 2, secret: mod(shares[1]!.secret + 1n) }, msg);
    const sig = th.interpolate([p1, p2]);
    expect(bls.verify(backend.g2.toBytes(th.groupKey(commitments)), msg, backend.g1.toBytes(sig))).to.equal(false);
  });

  it("refuses bad parameters and duplicate indices", function () {
    expect(() => th.deal(0, 3)).to.throw(InvalidInputError);
    expect(() => th.deal(4, 3)).to.throw(InvalidInputError);
    const { shares, commitments } = th.deal(2, 3);
    const p = th.partialSign(shares[0]!, msg);
    expect(() => th.combine(commitments, msg, [p, p])).to.throw(InvalidInputError, /distinct/);
  });

  it("recovers the dealt secret from any t shares", function () {
    const secret = 123456789n;
    const { shares } = th.deal(3, 5, secret);
    expect(th.recoverSecret([shares[4]!, shares[0]!, shares[2]!])).to.equal(secret);
  });

  it("refuses a zero secret, index 0 and duplicate indices in interpolation and recovery", function () {
    expect(() => th.deal(2, 3, 0n)).to.throw(InvalidInputError);
    const { shares } = th.deal(2, 3, 5n);
    expect(() => th.recoverSecret([{ index: 0, secret: 5n }, shares[1]!])).to.throw(InvalidInputError);
    expect(() => th.recoverSecret([shares[1]!, shares[1]!])).to.throw(InvalidInputError, /distinct/);
    const p = th.partialSign(shares[0]!, msg);
    expect(() => th.interpolate([p, p])).to.throw(InvalidInputError, /distinct/);
  });

  it("rejects the identity as a partial signature", function () {
    const { commitments } = th.deal(2, 3);
    expect(th.verifyPartial(commitments, msg, { index: 1, signature: backend.g1.zero })).to.equal(false);
  });

  describe("dealer-free DKG", function () {
    type Dealing = { commitments: Commitments; shares: KeyShare[] };
    /** Runs the five rounds with honest members; `tamper` lets a test play a dishonest dealer. */
    function runDkg(t: number, n: number, tamper: (dealer: number, d: Dealing) => Dealing = (_, d) => d) {
      const dealings = Array.from({ length: n }, (_, i) => tamper(i + 1, th.dkgDeal(t, n)));
      const commitments = new Map<number, Commitments>(dealings.map((d, i) => [i + 1, d.commitments]));
      const inbox = (member: number) => new Map(dealings.map((d, i) => [i + 1, d.shares[member - 1]!]));
      const complaints = new Map(
        Array.from({ length: n }, (_, m) => [m + 1, th.dkgComplaints(m + 1, t, inbox(m + 1), commitments)]),
      );
      const answers = new Map(
        dealings.map((d, i) => {
          const dealer = i + 1;
          const complainers = [...complaints].filter(([, accused]) => accused.includes(dealer)).map(([m]) => m);
          return [dealer, th.dkgAnswer(honestShares.get(dealer) ?? d.shares, complainers)];
        }),
      );
      const qualified = th.dkgQualified(t, commitments, complaints, answers);
      const results = Array.from({ length: n }, (_, m) =>
        th.dkgFinish(m + 1, t, qualified, inbox(m + 1), commitments, answers),
      );
      return { complaints, qualified, results, dealings, commitments };
    }
    const honestShares = new Map<number, KeyShare[]>();

    it("gives every member a verifiable share of one group key nobody knows", function () {
      honestShares.clear();
      const { results, dealings } = runDkg(3, 5);
      const groupKeys = results.map((r) => backend.g2.toBytes(th.groupKey(r.commitments)));
      for (const k of groupKeys) expect(k).to.deep.equal(groupKeys[0]);
      for (const r of results) expect(th.verifyShare(r.share, r.commitments)).to.equal(true);
      const partials = results.slice(1, 4).map((r) => th.partialSign(r.share, msg));
      const { signature } = th.combine(results[0]!.commitments, msg, partials);
      expect(bls.verify(groupKeys[0]!, msg, backend.g1.toBytes(signature))).to.equal(true);
      const sum = dealings.reduce((acc, d) => mod(acc + th.recoverSecret(d.shares.slice(0, 3))), 0n);
      expect(backend.g2.toBytes(backend.g2.mul(backend.g2.generator, sum))).to.deep.equal(groupKeys[0]);
    });

    it("keeps an honest dealer that answers a false complaint in public", function () {
      honestShares.clear();
      // dealer 2 sends member 1 a corrupted share by mistake, then answers with the right one
      const { complaints, qualified, results } = runDkg(2, 4, (dealer, d) => {
        if (dealer !== 2) return d;
        honestShares.set(2, d.shares);
        return { ...d, shares: d.shares.map((s) => (s.index === 1 ? { ...s, secret: mod(s.secret + 1n) } : s)) };
      });
      expect(complaints.get(1)).to.deep.equal([2]);
      expect(qualified).to.deep.equal([1, 2, 3, 4]);
      const keys = results.map((r) => backend.g2.toBytes(th.groupKey(r.commitments)));
      for (const k of keys) expect(k).to.deep.equal(keys[0]);
      for (const r of results) expect(th.verifyShare(r.share, r.commitments)).to.equal(true);
    });

    it("disqualifies, for everybody alike, a dealer whose answer is bad or missing", function () {
      honestShares.clear();
      const { qualified, results } = runDkg(2, 4, (dealer, d) =>
        dealer === 3
          ? { ...d, shares: d.shares.map((s) => (s.index === 2 ? { ...s, secret: mod(s.secret + 9n) } : s)) }
          : d,
      );
      expect(qualified).to.deep.equal([1, 2, 4]);
      const keys = results.map((r) => backend.g2.toBytes(th.groupKey(r.commitments)));
      for (const k of keys) expect(k).to.deep.equal(keys[0]);
    });

    it("disqualifies a dealer with a polynomial of the wrong degree or a share for another index", function () {
      honestShares.clear();
      const { qualified } = runDkg(2, 4, (dealer, d) => {
        if (dealer === 1) return th.dkgDeal(3, 4); // one coefficient too many
        if (dealer === 4) return { ...d, shares: d.shares.map((s) => ({ ...s, index: s.index === 1 ? 2 : s.index })) };
        return d;
      });
      expect(qualified).to.deep.equal([2, 3]);
    });

    it("a single member complaining about every dealer cannot take over: answered complaints are void", function () {
      honestShares.clear();
      const t = 2;
      const n = 4;
      const dealings = Array.from({ length: n }, () => th.dkgDeal(t, n));
      const commitments = new Map(dealings.map((d, i) => [i + 1, d.commitments]));
      const complaints = new Map<number, number[]>([[4, [1, 2, 3]]]); // member 4 lies
      const answers = new Map(dealings.map((d, i) => [i + 1, th.dkgAnswer(d.shares, i + 1 === 4 ? [] : [4])]));
      expect(th.dkgQualified(t, commitments, complaints, answers)).to.deep.equal([1, 2, 3, 4]);
    });

    it("throws when fewer than t dealers qualify", function () {
      const commitments = new Map([[1, th.dkgDeal(2, 2).commitments]]);
      expect(() => th.dkgQualified(2, commitments, new Map(), new Map())).to.throw(ThresholdError);
    });

    it("catches a dealer showing different commitments to different members", function () {
      const d1 = th.dkgDeal(2, 3);
      const d2 = th.dkgDeal(2, 3);
      const other = th.dkgDeal(2, 3);
      const seenBy1 = new Map([
        [1, d1.commitments],
        [2, d2.commitments],
      ]);
      const seenBy2 = new Map([
        [1, other.commitments],
        [2, d2.commitments],
      ]);
      expect(th.commitmentsDigest(seenBy1)).to.not.deep.equal(th.commitmentsDigest(seenBy2));
      expect(th.commitmentsDigest(seenBy1)).to.deep.equal(th.commitmentsDigest(new Map(seenBy1)));
    });

    it("refuses to combine under commitments of the wrong degree", function () {
      const { shares } = th.deal(2, 3);
      const wrong = th.deal(3, 3).commitments;
      const partials = shares.slice(0, 3).map((s) => th.partialSign(s, msg));
      expect(() => th.combine({ ...wrong, threshold: 2 }, msg, partials)).to.throw(ThresholdError);
    });
  });
});
