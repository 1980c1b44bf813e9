import { expect } from "chai";
import fc from "fast-check";
import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { toHex } from "../../../sdk/core/bytes.ts";
import {
  buildTree,
  type IndexedProof,
  leafHash,
  verifyMultiProof,
  verifyProof,
  verifyProofsInTree,
} from "../../../sdk/core/merkle.ts";
import { InvalidInputError } from "../../../sdk/errors.ts";

const TYPES = ["address", "uint256"];

function values(n: number, seed = 0): [string, bigint][] {
  return Array.from({ length: n }, (_, i) => [
    `0x${(i + seed * 7919 + 1).toString(16).padStart(40, "0")}`,
    BigInt(i * 31 + seed),
  ]);
}

function flip(hex: string): `0x${string}` {
  const last = parseInt(hex.slice(-1), 16) ^ 1;
  return `${hex.slice(0, -1)}${last.toString(16)}` as `0x${string}`;
}

describe("core/merkle", function () {
  describe("OpenZeppelin StandardMerkleTree cross-check", function () {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 1000]) {
      for (const sortLeaves of [true, false]) {
        it(`gives the same root, leaves and proofs for ${n} leaves (sortLeaves ${sortLeaves})`, async function () {
          const vals = values(n, n);
          const oz = StandardMerkleTree.of(vals, TYPES, { sortLeaves });
          const tree = await buildTree(
            vals.map((v) => leafHash(TYPES, v)),
            { sortLeaves },
          );
          expect(tree.root).to.equal(oz.root);
          expect(tree.leafCount).to.equal(n);
          const step = n > 50 ? 37 : 1;
          for (let i = 0; i < n; i += step) {
            expect(tree.leaf(i)).to.equal(oz.leafHash(vals[i]!));
            const proof = tree.proof(i);
            expect(proof).to.deep.equal(oz.getProof(i));
            expect(verifyProof(tree.root, tree.leaf(i), proof)).to.equal(true);
            expect(StandardMerkleTree.verify(tree.root, TYPES, vals[i]!, proof)).to.equal(true);
          }
        });
      }
    }

    it("gives the same multi-proofs", async function () {
      const vals = values(40, 3);
      const oz = StandardMerkleTree.of(vals, TYPES);
      const tree = await buildTree(vals.map((v) => leafHash(TYPES, v)));
      for (const indices of [[0], [1, 2], [0, 5, 17, 39], [3, 2, 1, 0], Array.from({ length: 40 }, (_, i) => i)]) {
        const mp = tree.multiProof(indices);
        const ozMp = oz.getMultiProof(indices);
        expect(mp.proof).to.deep.equal(ozMp.proof);
        expect(mp.proofFlags).to.deep.equal(ozMp.proofFlags);
        expect(mp.leaves).to.deep.equal(ozMp.leaves.map((v) => oz.leafHash(v)));
        expect(verifyMultiProof(tree.root, mp)).to.equal(true);
      }
      const empty = tree.multiProof([]);
      expect(empty).to.deep.equal({ leaves: [], proof: [tree.root], proofFlags: [] });
      expect(verifyMultiProof(tree.root, empty)).to.equal(true);
    });

    it("sorts like OpenZeppelin when many hashes share a prefix, duplicates included", async function () {
      const leaves = Array.from({ length: 300 }, (_, i) => {
        const leaf = new Uint8Array(32);
        leaf[2] = (i * 37) % 5;
        leaf[31] = (i * 101) % 97;
        return leaf;
      });
      const oz = SimpleMerkleTree.of(leaves);
      const tree = await buildTree(leaves);
      expect(tree.root).to.equal(oz.root);
      for (let i = 0; i < 300; i += 13) expect(verifyProof(tree.root, leaves[i]!, tree.proof(i))).to.equal(true);
    });

    it("accepts one flat buffer of 32 * n bytes", async function () {
      const hashes = values(13).map((v) => leafHash(TYPES, v));
      const flat = new Uint8Array(13 * 32);
      hashes.forEach((h, i) => flat.set(h, i * 32));
      expect((await buildTree(flat)).root).to.equal((await buildTree(hashes)).root);
    });
  });

  describe("tampering", function () {
    it("rejects a tampered leaf, proof or root", async function () {
      const tree = await buildTree(values(9).map((v) => leafHash(TYPES, v)));
      const leaf = tree.leaf(4);
      const proof = tree.proof(4);
      expect(verifyProof(tree.root, leaf, proof)).to.equal(true);
      expect(verifyProof(tree.root, flip(leaf), proof)).to.equal(false);
      expect(verifyProof(flip(tree.root), leaf, proof)).to.equal(false);
      for (let k = 0; k < proof.length; k++) {
        const bad = [...proof];
        bad[k] = flip(bad[k]!);
        expect(verifyProof(tree.root, leaf, bad)).to.equal(false);
      }
      expect(verifyProof(tree.root, leaf, proof.slice(1))).to.equal(false);
      expect(verifyProof(tree.root, tree.leaf(5), proof)).to.equal(false);

      const mp = tree.multiProof([1, 6]);
      expect(verifyMultiProof(tree.root, { ...mp, leaves: [flip(mp.leaves[0]!), mp.leaves[1]!] })).to.equal(false);
      expect(verifyMultiProof(flip(tree.root), mp)).to.equal(false);
    });
  });

  describe("property", function () {
    it("every proof of a random tree verifies, and only for its own leaf", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 70 }),
          fc.boolean(),
          async (leaves, sortLeaves) => {
            const tree = await buildTree(leaves, { sortLeaves });
            for (let i = 0; i < leaves.length; i++) {
              expect(tree.leaf(i)).to.equal(toHex(leaves[i]!));
              expect(verifyProof(tree.root, leaves[i]!, tree.proof(i))).to.equal(true);
            }
            const other = new Uint8Array(32).fill(0xee);
            if (!leaves.some((l) => l.every((b) => b === 0xee))) {
              expect(verifyProof(tree.root, other, tree.proof(0))).to.equal(false);
            }
            const indices = leaves.map((_, i) => i).filter((i) => i % 3 === 0);
            expect(verifyMultiProof(tree.root, tree.multiProof(indices))).to.equal(true);
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe("verifyProofsInTree (one tree's proofs checked together)", function () {
    const leaves = (n: number) => values(n, 3).map((v) => leafHash(TYPES, v));
    const some = [2, 3, 17, 40, 41, 42, 77, 98];

    async function proofsOf(n: number, indices: readonly number[]) {
      const tree = await buildTree(leaves(n), { sortLeaves: false });
      const proofs: IndexedProof[] = indices.map((i) => ({ index: i, leaf: tree.leaf(i), proof: tree.proof(i) }));
      return { tree, proofs };
    }

    it("accepts every leaf's own proof, shared paths, repeats and single-leaf trees included", async function () {
      const { tree, proofs } = await proofsOf(100, some);
      expect(verifyProofsInTree(tree.root, 100, proofs)).to.equal(-1);
      expect(verifyProofsInTree(tree.root, 100, [...proofs, proofs[2]!])).to.equal(-1);
      expect(verifyProofsInTree(tree.root, 100, [])).to.equal(-1);
      const one = await proofsOf(1, [0]);
      expect(verifyProofsInTree(one.tree.root, 1, one.proofs)).to.equal(-1);
    });

    it("names the first tampered, missing, extra or reordered part", async function () {
      const { tree, proofs } = await proofsOf(100, some);
      const at = (k: number, change: (p: IndexedProof) => IndexedProof) =>
        verifyProofsInTree(
          tree.root,
          100,
          proofs.map((p, i) => (i === k ? change(p) : p)),
        );
      // a tampered leaf, at the start of the batch and after its path is shared
      expect(at(0, (p) => ({ ...p, leaf: flip(p.leaf as string) }))).to.equal(0);
      expect(at(5, (p) => ({ ...p, leaf: flip(p.leaf as string) }))).to.equal(5);
      // a tampered sibling at each level, also above where the path meets a proven one
      for (let level = 0; level < proofs[4]!.proof.length; level++) {
        expect(
          at(4, (p) => ({ ...p, proof: p.proof.map((h, j) => (j === level ? flip(h as string) : h)) })),
          `level ${level}`,
        ).to.equal(4);
      }
      // missing, extra and reordered proof elements
      expect(at(3, (p) => ({ ...p, proof: p.proof.slice(0, -1) }))).to.equal(3);
      expect(at(3, (p) => ({ ...p, proof: [...p.proof, p.proof.at(-1)!] }))).to.equal(3);
      expect(at(6, (p) => ({ ...p, proof: [p.proof[1]!, p.proof[0]!, ...p.proof.slice(2)] }))).to.equal(6);
      // a leaf at another index than its own, a leaf of no tree, an index outside the tree
      expect(at(1, (p) => ({ ...p, index: 4 }))).to.equal(1);
      expect(at(2, (p) => ({ ...p, leaf: toHex(new Uint8Array(32).fill(7)) }))).to.equal(2);
      expect(at(7, (p) => ({ ...p, index: 100 }))).to.equal(7);
      // two leaves' proofs swapped
      const swapped = proofs.map((p, i) => (i === 3 ? { ...p, proof: proofs[4]!.proof } : p));
      expect(verifyProofsInTree(tree.root, 100, swapped)).to.equal(3);
      // another root, another leaf count
      expect(verifyProofsInTree(flip(tree.root), 100, proofs)).to.equal(0);
      // (hashing takes sorted pairs, so a proof may still climb to the root; the leaves' positions then clash)
      expect(verifyProofsInTree(tree.root, 101, proofs)).to.not.equal(-1);
    });

    it("agrees with verifyProof on random trees and random tampering", async function () {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 70 }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
          fc.nat(),
          fc.nat(),
          async (ls, picks, victim, where) => {
            const tree = await buildTree(ls, { sortLeaves: false });
            const proofs = picks.map((p) => {
              const i = p % ls.length;
              return { index: i, leaf: tree.leaf(i), proof: tree.proof(i) };
            });
            expect(verifyProofsInTree(tree.root, ls.length, proofs)).to.equal(-1);
            const k = victim % proofs.length;
            const v = proofs[k]!;
            const spots = v.proof.length + 1;
            const spot = where % spots;
            const bad =
              spot === 0
                ? { ...v, leaf: flip(v.leaf) }
                : { ...v, proof: v.proof.map((h, j) => (j === spot - 1 ? flip(h) : h)) };
            const first = proofs.findIndex((p) => p.index === v.index);
            const got = verifyProofsInTree(
              tree.root,
              ls.length,
              proofs.map((p, i) => (i === k ? bad : p)),
            );
            expect(verifyProof(tree.root, bad.leaf, bad.proof)).to.equal(false);
            expect(got).to.be.within(Math.min(first, k), k);
            expect(got).to.not.equal(-1);
          },
        ),
        { numRuns: 80 },
      );
    });
  });

  describe("bad inputs", function () {
    it("throws InvalidInputError", async function () {
      const leaf = new Uint8Array(32);
      for (const bad of [[], new Uint8Array(0), new Uint8Array(33), [new Uint8Array(31)], [leaf, new Uint8Array(64)]]) {
        let caught: unknown;
        try {
          await buildTree(bad);
        } catch (e) {
          caught = e;
        }
        expect(caught).to.be.instanceOf(InvalidInputError);
      }
      const tree = await buildTree([leaf, leaf, leaf]);
      for (const index of [-1, 3, 1.5, Number.NaN]) {
        expect(() => tree.proof(index)).to.throw(InvalidInputError, /index/);
        expect(() => tree.leaf(index)).to.throw(InvalidInputError, /index/);
      }
      expect(() => tree.multiProof([0, 0])).to.throw(InvalidInputError, /distinct/);
      expect(() => verifyProof(tree.root, new Uint8Array(31), [])).to.throw(InvalidInputError, /leaf/);
      expect(() => verifyProof("0x1234", leaf, [])).to.throw(InvalidInputError, /root/);
      expect(() => verifyProof(tree.root, leaf, ["0xzz"])).to.throw(InvalidInputError, /proof\[0\]/);
      expect(() => verifyMultiProof(tree.root, { leaves: [tree.root], proof: [], proofFlags: [true] })).to.throw(
        InvalidInputError,
      );
      expect(() => leafHash(["uint256"], [-1n])).to.throw(InvalidInputError);
      expect(() => leafHash(["uint256"], [])).to.throw(InvalidInputError);
    });
  });
});
