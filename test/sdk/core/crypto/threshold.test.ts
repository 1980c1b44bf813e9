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
    expect(() => th.combine(commitments, msg, [p, p])).to.throw(InvalidInputError, /same index/);
  });

  it("recovers the dealt secret from any t shares", function () {
    const secret = 123456789n;
    const { shares } = th.deal(3, 5, secret);
    expect(th.recoverSecret([shares[4]!, shares[0]!, shares[2]!])).to.equal(secret);
  });

  describe("dealer-free DKG", function () {
    function runDkg(t: number, n: number, cheat?: { dealer: number; victim: number }) {
      const rounds = Array.from({ length: n }, () => th.dkgDeal(t, n));
      const commitments = new Map<number, Commitments>(rounds.map((r, d) => [d + 1, r.commitments]));
      const inbox = (member: number): Map<number, KeyShare> =>
        new Map(
          rounds.map((r, d) => {
            let share = r.shares[member - 1]!;
            if (cheat && cheat.dealer === d + 1 && cheat.victim === member)
              share = { ...share, secret: mod(share.secret + 1n) };
            return [d + 1, share];
          }),
        );
      const complaints = Array.from({ length: n }, (_, m) => th.dkgComplaints(inbox(m + 1), commitments));
      const disqualified = new Set(complaints.flat());
      const qualified = [...commitments.keys()].filter((d) => !disqualified.has(d));
      const results = Array.from({ length: n }, (_, m) => th.dkgFinish(m + 1, qualified, inbox(m + 1), commitments));
      return { complaints, qualified, results, rounds };
    }

    it("gives every member a verifiable share of one group key nobody knows", function () {
      const { results, rounds } = runDkg(3, 5);
      const groupKeys = results.map((r) => backend.g2.toBytes(th.groupKey(r.commitments)));
      for (const k of groupKeys) expect(k).to.deep.equal(groupKeys[0]);
      for (const r of results) expect(th.verifyShare(r.share, r.commitments)).to.equal(true);
      const partials = results.slice(1, 4).map((r) => th.partialSign(r.share, msg));
      const { signature } = th.combine(results[0]!.commitments, msg, partials);
      expect(bls.verify(groupKeys[0]!, msg, backend.g1.toBytes(signature))).to.equal(true);
      // the group secret is the sum of the dealers' secrets, which no single member holds
      const sum = rounds.reduce((acc, r) => mod(acc + th.recoverSecret(r.shares.slice(0, 3))), 0n);
      expect(backend.g2.toBytes(backend.g2.mul(backend.g2.generator, sum))).to.deep.equal(groupKeys[0]);
    });

    it("disqualifies a dealer that sends a bad share, and the others still agree", function () {
      const { complaints, qualified, results } = runDkg(2, 4, { dealer: 3, victim: 1 });
      expect(complaints[0]).to.deep.equal([3]);
      expect(qualified).to.deep.equal([1, 2, 4]);
      const keys = results.map((r) => backend.g2.toBytes(th.groupKey(r.commitments)));
      for (const k of keys) expect(k).to.deep.equal(keys[0]);
    });

    it("refuses to finish with a qualified dealer whose share is bad", function () {
      const rounds = [th.dkgDeal(2, 2), th.dkgDeal(2, 2)];
      const commitments = new Map(rounds.map((r, d) => [d + 1, r.commitments]));
      const inbox = new Map(rounds.map((r, d) => [d + 1, r.shares[0]!]));
      inbox.set(2, { ...inbox.get(2)!, secret: mod(inbox.get(2)!.secret + 1n) });
      expect(() => th.dkgFinish(1, [1, 2], inbox, commitments)).to.throw(ThresholdError);
    });
  });
});
