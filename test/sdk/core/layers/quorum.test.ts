/**
 * A layer's decision rules (`sdk/core/layers/quorum.ts`), pure: the quorum of
 * n members, whether signers are a quorum (every subset for n = 1..7, and a
 * property test over any 64-member masks against a brute-force statement of
 * the rule: "at most f of the members deciding left out, f the largest number
 * with 3f < n"), the unanimous-invalid verdict, the superior-lost rule, and
 * input refused. `quorum.ledger.test.ts` compares them with the ledger's answers.
 */
import { expect } from "chai";
import fc from "fast-check";

import {
  acceptsSuperiorLost,
  answersAsLayer,
  hasMember,
  isInvalidVerdict,
  isQuorum,
  isUnanimous,
  MAX_LAYER_MEMBERS,
  memberCount,
  quorumAmong,
  quorumOf,
  superiorStatus,
  toleratedFaults,
} from "../../../../sdk/core/layers/quorum.ts";
import { InvalidInputError } from "../../../../sdk/errors.ts";

/** Members named in `mask`, by testing each bit (no popcount trick). */
const membersIn = (mask: bigint): number[] =>
  Array.from({ length: MAX_LAYER_MEMBERS }, (_, i) => i).filter((i) => (mask & (1n << BigInt(i))) !== 0n);

/** f for n members, by search: the largest f with 3f < n. */
function faultsBySearch(n: number): number {
  let f = 0;
  while (3 * (f + 1) < n) f++;
  return f;
}

/**
 * The rule as a sentence: the signers are members deciding (valid, not
 * judged), and of the members deciding at most f did not sign.
 */
function bruteIsQuorum(signers: bigint, valid: bigint, judged: bigint): boolean {
  const deciding = membersIn(valid).filter((i) => !membersIn(judged).includes(i));
  const signed = membersIn(signers);
  if (!signed.every((i) => deciding.includes(i))) return false;
  const leftOut = deciding.filter((i) => !signed.includes(i)).length;
  return leftOut <= faultsBySearch(deciding.length);
}

const ALL = (n: number): bigint => (1n << BigInt(n)) - 1n;
const mask64 = fc.bigInt({ min: 0n, max: ALL(64) });

describe("layers/quorum", function () {
  describe("quorum size", function () {
    it("is n - f, f = floor((n - 1) / 3), for n = 1..7 and the large cases", function () {
      const ns = [1, 2, 3, 4, 5, 6, 7];
      expect(ns.map(toleratedFaults)).to.deep.equal([0, 0, 0, 1, 1, 1, 2]);
      expect(ns.map(quorumOf)).to.deep.equal([1, 2, 3, 3, 4, 5, 5]);
      expect([10, 31, 64].map(quorumOf)).to.deep.equal([7, 21, 43]);
      for (let n = 1; n <= MAX_LAYER_MEMBERS; n++) {
        expect(toleratedFaults(n), `f(${n})`).to.equal(faultsBySearch(n));
        // 2f + 1 of 3f + 1, and two quorums always share a member
        if (n % 3 === 1) expect(quorumOf(n)).to.equal(2 * toleratedFaults(n) + 1);
        expect(2 * quorumOf(n) - n).to.be.greaterThan(toleratedFaults(n));
      }
    });

    it("refuses a member count outside [1, 64]", function () {
      for (const n of [0, -1, 65, 1.5, Number.NaN]) {
        expect(() => quorumOf(n), String(n)).to.throw(InvalidInputError, "n must be");
      }
    });

    it("counts members in a bitmap and asks the quorum of the deciders", function () {
      expect(memberCount(0n)).to.equal(0);
      expect(memberCount(ALL(64))).to.equal(64);
      expect(memberCount(0b1011n)).to.equal(3);
      expect(hasMember(0b1010n, 1)).to.equal(true);
      expect(hasMember(0b1010n, 2)).to.equal(false);
      expect(quorumAmong(ALL(7))).to.equal(5);
      // a verdict on member 6 is the other six's: 6 - 1
      expect(quorumAmong(ALL(7), 1n << 6n)).to.equal(5);
      expect(quorumAmong(ALL(4), 1n << 3n)).to.equal(3);
      expect(() => quorumAmong(0n)).to.throw(InvalidInputError, "no valid member");
      expect(() => quorumAmong(1n, 1n)).to.throw(InvalidInputError, "no valid member");
      expect(() => memberCount(1n << 64n)).to.throw(InvalidInputError, "members");
      expect(() => memberCount(-1n)).to.throw(InvalidInputError, "members");
      expect(() => hasMember(1n, 64)).to.throw(InvalidInputError, "member index");
    });
  });

  describe("isQuorum", function () {
    it("takes exactly the subsets of size >= n - f, for every subset of n = 1..7 members", function () {
      for (let n = 1; n <= 7; n++) {
        for (let signers = 0n; signers <= ALL(n); signers++) {
          const expected = memberCount(signers) >= quorumOf(n);
          expect(isQuorum(signers, ALL(n)), `n=${n} signers=${signers.toString(2)}`).to.equal(expected);
          expect(bruteIsQuorum(signers, ALL(n), 0n)).to.equal(expected);
        }
      }
    });

    it("counts a verdict without the judged member, who never signs it (n = 2..7)", function () {
      for (let n = 2; n <= 7; n++) {
        for (let j = 0; j < n; j++) {
          const judged = 1n << BigInt(j);
          for (let signers = 0n; signers <= ALL(n); signers++) {
            const expected = (signers & judged) === 0n && memberCount(signers) >= quorumOf(n - 1);
            expect(isQuorum(signers, ALL(n), judged), `n=${n} j=${j} s=${signers.toString(2)}`).to.equal(expected);
          }
        }
      }
    });

    it("refuses a signer that is not a valid member, whatever the count", function () {
      const valid = 0b0111_1110n; // member 0 tagged invalid, 6 valid: quorum 5
      expect(isQuorum(0b0011_1110n, valid)).to.equal(true);
      expect(isQuorum(0b0011_1111n, valid)).to.equal(false);
      expect(isQuorum(ALL(7) | (1n << 40n), ALL(7))).to.equal(false);
      expect(isQuorum(0n, 1n)).to.equal(false);
      expect(isQuorum(1n, 1n)).to.equal(true);
    });

    it("agrees with the brute-force rule on any 64-member masks (property)", function () {
      fc.assert(
        fc.property(mask64, mask64, mask64, (valid, judged, signers) => {
          fc.pre((valid & ~judged) !== 0n);
          // biased towards the interesting cases: signers mostly among the deciders
          const s = signers & valid;
          expect(isQuorum(signers, valid, judged)).to.equal(bruteIsQuorum(signers, valid, judged));
          expect(isQuorum(s, valid, judged)).to.equal(bruteIsQuorum(s, valid, judged));
          const deciders = valid & ~judged;
          expect(isQuorum(deciders, valid, judged)).to.equal(true);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("the unanimous-invalid verdict", function () {
    const verdict = (n: number, judged: number, asked: number[], agreed: number[]) =>
      isInvalidVerdict({
        validMask: ALL(n),
        judged,
        asked: asked.reduce((m, i) => m | (1n << BigInt(i)), 0n),
        agreed: agreed.reduce((m, i) => m | (1n << BigInt(i)), 0n),
      });

    it("tags a member invalid when every member asked agreed and they are the others' quorum", function () {
      // 4 members, 3 judged by examiner 0 with the two others that passed
      expect(verdict(4, 3, [1, 2], [0, 1, 2])).to.equal(true);
      // 7 members, 6 judged by all the others
      expect(verdict(7, 6, [1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5])).to.equal(true);
      // 2 members: the other one alone is the quorum of the others
      expect(verdict(2, 1, [], [0])).to.equal(true);
    });

    it("needs unanimity: a quorum is not enough when one member asked refused", function () {
      // 7 members, 6 judged: 5 of the others agree (their quorum), member 5 answered and refused
      expect(verdict(7, 6, [1, 2, 3, 4, 5], [0, 1, 2, 3, 4])).to.equal(false);
      expect(isUnanimous(0b111110n, 0b011111n)).to.equal(false);
      expect(isUnanimous(0b000110n, 0b000111n)).to.equal(true);
    });

    it("needs the others' quorum: unanimity among too few passers is not enough", function () {
      // 7 members, 6 judged, members 4 and 5 failed too: the 4 left are unanimous but below 5
      expect(verdict(7, 6, [1, 2, 3], [0, 1, 2, 3])).to.equal(false);
      // 4 members, 3 judged, member 2 failed too: 2 of the quorum of 3
      expect(verdict(4, 3, [1], [0, 1])).to.equal(false);
    });

    it("is never the judged member's own: its signature spoils the verdict", function () {
      expect(verdict(4, 3, [1, 2], [0, 1, 2, 3])).to.equal(false);
    });

    it("is unanimity and the others' quorum, for any masks (property)", function () {
      fc.assert(
        fc.property(mask64, fc.nat({ max: 63 }), mask64, mask64, (valid, judged, asked, agreed) => {
          const judgedBit = 1n << BigInt(judged);
          fc.pre((valid & ~judgedBit) !== 0n);
          const a = asked & valid & ~judgedBit;
          for (const g of [agreed, agreed | a, (agreed | a) & valid & ~judgedBit]) {
            const expected = membersIn(a).every((i) => membersIn(g).includes(i)) && bruteIsQuorum(g, valid, judgedBit);
            expect(isInvalidVerdict({ validMask: valid, judged, asked: a, agreed: g })).to.equal(expected);
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("the superior-lost rule", function () {
    it("reads a superior as lost only when linked, not frozen, and no examined member answered", function () {
      expect(superiorStatus({ linked: false, frozen: false, answered: [] })).to.equal("none");
      expect(superiorStatus({ linked: true, frozen: true, answered: [false] })).to.equal("frozen");
      expect(superiorStatus({ linked: true, frozen: false, answered: [false, true, false] })).to.equal("reachable");
      expect(superiorStatus({ linked: true, frozen: false, answered: [false, false, false, false] })).to.equal("lost");
      // a superior layer whose members could not be examined at all is lost too
      expect(superiorStatus({ linked: true, frozen: false, answered: [] })).to.equal("lost");
    });

    it("is taken by the ledger from a quorum, once per link", function () {
      const base = { linked: true, frozen: false, validMask: ALL(4) };
      expect(acceptsSuperiorLost({ ...base, signers: 0b0111n })).to.equal(true);
      expect(acceptsSuperiorLost({ ...base, signers: 0b0011n })).to.equal(false);
      expect(acceptsSuperiorLost({ ...base, frozen: true, signers: 0b1111n })).to.equal(false);
      expect(acceptsSuperiorLost({ ...base, linked: false, signers: 0b1111n })).to.equal(false);
    });

    it("finds a layer answering as a layer when a quorum of its valid members answered", function () {
      expect(answersAsLayer(0b0111n, ALL(4))).to.equal(true);
      expect(answersAsLayer(0b0011n, ALL(4))).to.equal(false);
      // a member that answered but is no longer valid does not count
      expect(answersAsLayer(0b1011n, 0b0111n)).to.equal(false);
    });
  });
});
