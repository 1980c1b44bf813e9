/**
 * BLS12381 (contracts/libraries/BLS12381.sol): RFC 9380 known answers for
 * expand_message_xmd and hash_to_curve (BLS12381G1_XMD:SHA-256_SSWU_RO_),
 * cross-checks against @noble/curves, the EIP-2537 group operations, the
 * compressed G2 encoding, and every malformed-encoding revert.
 */
import { expand_message_xmd, hash_to_field } from "@noble/curves/abstract/hash-to-curve.js";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { expect } from "chai";
import { network } from "hardhat";

import type { CryptoProbe } from "../../../types/ethers-contracts/index.ts";

import {
  decodeG1,
  decodeG2,
  encodeG1,
  encodeG2,
  fp64,
  G1,
  G1_OFF_CURVE,
  G1_OUTSIDE_SUBGROUP,
  G2,
  G2_OFF_CURVE,
  g2OutsideSubgroup,
  hex,
  Operand,
  P,
  probeCall,
  R,
  text,
  withCoordinatePlusP,
} from "./helpers.ts";

const { ethers } = await network.create();

// RFC 9380 Appendix J.9.1, suite BLS12381G1_XMD:SHA-256_SSWU_RO_: P.x and P.y for each msg.
// Copied from the RFC as reproduced in zkcrypto/bls12_381 (`test_hash_to_curve_10`,
// src/hash_to_curve/map_g1.rs); the same values are in the CFRG draft repository
// (cfrg/draft-irtf-cfrg-hash-to-curve, poc/vectors) and noble-curves' test vectors.
const RFC9380_G1_DST = "QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_";
const RFC9380_G1_VECTORS: ReadonlyArray<{ msg: string; x: string; y: string }> = [
  {
    msg: "",
    x: "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1",
    y: "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265",
  },
  {
    msg: "abc",
    x: "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903",
    y: "0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d",
  },
  {
    msg: "abcdef0123456789",
    x: "11e0b079dea29a68f0383ee94fed1b940995272407e3bb916bbf268c263ddd57a6a27200a784cbc248e84f357ce82d98",
    y: "03a87ae2caf14e8ee52e51fa2ed8eefe80f02457004ba4d486d6aa1f517c0889501dc7413753f9599b099ebcbbd2d709",
  },
  {
    msg: "q128_" + "q".repeat(128),
    x: "15f68eaa693b95ccb85215dc65fa81038d69629f70aeee0d0f677cf22285e7bf58d7cb86eefe8f2e9bc3f8cb84fac488",
    y: "1807a1d50c29f430b8cafc4f8638dfeeadf51211e1602a5f184443076715f91bb90a48ba1e370edce6ae1062f5e6dd38",
  },
  {
    msg: "a512_" + "a".repeat(512),
    x: "082aabae8b7dedb0e78aeb619ad3bfd9277a2f77ba7fad20ef6aabdc6c31d19ba5a6d12283553294c1825c4b3ca2dcfe",
    y: "05b84ae5a942248eea39e1d91030458c40153f3b654ab7872d779ad1e942856a20c438e8d99bc8abfbf74729ce1f7ac8",
  },
];

// RFC 9380 Appendix K.1 (expand_message_xmd, SHA-256), from cfrg/draft-irtf-cfrg-hash-to-curve
// poc/vectors/expand_message_xmd_SHA256_38.json.
const RFC9380_XMD_DST = "QUUX-V01-CS02-with-expander-SHA256-128";
const RFC9380_XMD_VECTORS: ReadonlyArray<{ msg: string; len: number; out: string }> = [
  { msg: "", len: 0x20, out: "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235" },
  { msg: "abc", len: 0x20, out: "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615" },
  {
    msg: "",
    len: 0x80,
    out:
      "af84c27ccfd45d41914fdff5df25293e221afc53d8ad2ac06d5e3e29485dadbee0d121587713a3e0dd4d5e69e93eb7cd" +
      "4f5df4cd103e188cf60cb02edc3edf18eda8576c412b18ffb658e3dd6ec849469b979d444cf7b26911a08e63cf31f9dc" +
      "c541708d3491184472c2c29bb749d4286b004ceb5ee6b9a7fa5b646c993f0ced",
  },
  {
    msg: "abc",
    len: 0x80,
    out:
      "abba86a6129e366fc877aab32fc4ffc70120d8996c88aee2fe4b32d6c7b6437a647e6c3163d40b76a73cf6a5674ef1d8" +
      "90f95b664ee0afa5359a5c4e07985635bbecbac65d747d3d2da7ec2b8221b17b0ca9dc8a1ac1c07ea6a1e60583e2cb00" +
      "058e77b7b72a298425cd1b941ad4ec65e8afc50303a22c0f99b0509b4c895f40",
  },
];

async function deployHarness() {
  return ethers.deployContract("CryptoHarness");
}

describe("BLS12381", function () {
  let harness: Awaited<ReturnType<typeof deployHarness>>;
  let probe: CryptoProbe;
  before(async function () {
    harness = await deployHarness();
    probe = await ethers.deployContract("CryptoProbe");
  });

  describe("expandMessageXmd", function () {
    for (const v of RFC9380_XMD_VECTORS) {
      it(`matches RFC 9380 K.1 for msg "${v.msg}", len_in_bytes ${v.len}`, async function () {
        expect(await harness.expandMessageXmd(hex(text(v.msg)), hex(text(RFC9380_XMD_DST)), v.len)).to.equal(
          `0x${v.out}`,
        );
      });
    }

    it("matches noble for lengths 1 to 8160 and DSTs of 1 to 255 bytes", async function () {
      const cases: Array<[number, number, number]> = [
        [0, 1, 1],
        [3, 31, 17],
        [64, 32, 255],
        [200, 33, 43],
        [1000, 48, 8],
        [5, 255, 100],
        [5, 256, 100],
        [7, 8160, 12],
      ];
      for (const [msgLen, len, dstLen] of cases) {
        const msg = Uint8Array.from({ length: msgLen }, (_, i) => (i * 7 + 3) & 0xff);
        const dst = Uint8Array.from({ length: dstLen }, (_, i) => 0x41 + (i % 26));
        const expected = expand_message_xmd(msg, dst, len, sha256);
        expect(await harness.expandMessageXmd(hex(msg), hex(dst), len)).to.equal(hex(expected));
      }
    });

    it("reverts with BLS12381InvalidDST for an empty or over-long DST", async function () {
      await expect(harness.expandMessageXmd("0x", "0x", 32))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidDST")
        .withArgs(0n);
      await expect(harness.expandMessageXmd("0x", hex(new Uint8Array(256).fill(0x41)), 32))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidDST")
        .withArgs(256n);
    });

    it("reverts with BLS12381InvalidExpandLength for 0 or more than 8160 bytes", async function () {
      for (const len of [0n, 8161n, 65536n]) {
        await expect(harness.expandMessageXmd("0x", hex(text("DST")), len))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidExpandLength")
          .withArgs(len);
      }
    });
  });

  describe("hashToScalar", function () {
    it("is noble's hash_to_field over Fr (L = 48, k = 128)", async function () {
      for (const m of ["", "abc", "x".repeat(300)]) {
        const dst = "STRATA-TEST-HashToScalar_XMD:SHA-256_";
        const expected = hash_to_field(text(m), 1, {
          DST: dst,
          p: R,
          m: 1,
          k: 128,
          expand: "xmd",
          hash: sha256,
        })[0]![0]!;
        const got = await harness.hashToScalar(hex(text(m)), hex(text(dst)));
        expect(got).to.equal(expected);
        expect(got < R).to.equal(true);
      }
    });
  });

  describe("hashToG1", function () {
    for (const v of RFC9380_G1_VECTORS) {
      it(`matches RFC 9380 J.9.1 for msg "${v.msg.slice(0, 16)}${v.msg.length > 16 ? "…" : ""}"`, async function () {
        const out = await harness.hashToG1(hex(text(v.msg)), hex(text(RFC9380_G1_DST)));
        expect(out).to.equal(hex(encodeG1(G1.fromAffine({ x: BigInt(`0x${v.x}`), y: BigInt(`0x${v.y}`) }))));
        // noble agrees with the RFC too.
        const noble = bls12_381.G1.hashToCurve(text(v.msg), { DST: RFC9380_G1_DST }).toAffine();
        expect(noble.x).to.equal(BigInt(`0x${v.x}`));
        expect(noble.y).to.equal(BigInt(`0x${v.y}`));
      });
    }

    it("matches noble's hashToCurve on other messages and DSTs", async function () {
      for (let i = 0; i < 8; i++) {
        const msg = Uint8Array.from({ length: i * 37 }, (_, j) => (j * 13 + i) & 0xff);
        const dst = `STRATA-TEST-V01-CS0${i}-with-BLS12381G1_XMD:SHA-256_SSWU_RO_`;
        const expected = bls12_381.G1.hashToCurve(msg, { DST: dst });
        expect(await harness.hashToG1(hex(msg), hex(text(dst)))).to.equal(hex(encodeG1(expected)));
      }
    });

    it("reverts with BLS12381InvalidDST for an empty DST", async function () {
      await expect(harness.hashToG1(hex(text("abc")), "0x"))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidDST")
        .withArgs(0n);
    });
  });

  describe("group operations", function () {
    const a = G1.BASE.multiply(123456789n);
    const b = G1.BASE.multiply(987654321n);
    const c = G2.BASE.multiply(5555n);
    const d = G2.BASE.multiply(7777n);

    it("g1Add, g1Mul and g2Add agree with noble", async function () {
      expect(decodeG1(await harness.g1Add(hex(encodeG1(a)), hex(encodeG1(b)))).equals(a.add(b))).to.equal(true);
      expect(decodeG1(await harness.g1Mul(hex(encodeG1(a)), 42n)).equals(a.multiply(42n))).to.equal(true);
      expect(decodeG1(await harness.g1Mul(hex(encodeG1(a)), R + 5n)).equals(a.multiply(5n))).to.equal(true);
      expect(decodeG2(await harness.g2Add(hex(encodeG2(c)), hex(encodeG2(d)))).equals(c.add(d))).to.equal(true);
      // a + (-a) is infinity, all zeros.
      expect(await harness.g1Add(hex(encodeG1(a)), hex(encodeG1(a.negate())))).to.equal(hex(new Uint8Array(128)));
    });

    it("pairingCheck: e(a, c) · e(-a, c) == 1, e(a, c) · e(b, d) != 1", async function () {
      expect(
        await harness.pairingCheck([hex(encodeG1(a)), hex(encodeG1(a.negate()))], [hex(encodeG2(c)), hex(encodeG2(c))]),
      ).to.equal(true);
      expect(
        await harness.pairingCheck([hex(encodeG1(a)), hex(encodeG1(b))], [hex(encodeG2(c)), hex(encodeG2(d))]),
      ).to.equal(false);
      // e(k·G1, G2) == e(G1, k·G2)
      const k = 31337n;
      expect(
        await harness.pairingCheck(
          [hex(encodeG1(G1.BASE.multiply(k))), hex(encodeG1(G1.BASE.negate()))],
          [hex(encodeG2(G2.BASE)), hex(encodeG2(G2.BASE.multiply(k)))],
        ),
      ).to.equal(true);
    });

    it("names the operand that is off the curve or outside the subgroup", async function () {
      await expect(harness.g1Add(hex(encodeG1(a)), hex(G1_OFF_CURVE)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.Point, 1n);
      await expect(harness.g1Add(hex(G1_OFF_CURVE), hex(encodeG1(a))))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.Point, 0n);
      // G1ADD does not check the subgroup; G1MSM does.
      await harness.g1Add(hex(G1_OUTSIDE_SUBGROUP), hex(encodeG1(a)));
      await expect(harness.g1Mul(hex(G1_OUTSIDE_SUBGROUP), 3n))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.Point, 0n);
      await expect(harness.g2Add(hex(encodeG2(c)), hex(G2_OFF_CURVE)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.Point, 1n);
      await expect(
        harness.pairingCheck([hex(encodeG1(a)), hex(G1_OUTSIDE_SUBGROUP)], [hex(encodeG2(c)), hex(encodeG2(d))]),
      )
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.Point, 2n);
      await expect(harness.pairingCheck([hex(encodeG1(a))], [hex(g2OutsideSubgroup())]))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.Point, 1n);
    });

    it("a rejected point costs a bounded amount of gas, however much the call is given", async function () {
      // Each precompile call is capped at twice its EIP-2537 price (G1ADD 375, G2ADD 600, G1MSM
      // 12,000, G2MSM 22,500, PAIRING_CHECK 32,600·k + 37,700); a rejection burns the cap.
      const cases: Array<[string, string, unknown[], bigint, bigint]> = [
        ["g1Add, b off the curve", "g1Add", [hex(encodeG1(a)), hex(G1_OFF_CURVE)], 1n, 10_000n],
        ["g1Mul, outside G1", "g1Mul", [hex(G1_OUTSIDE_SUBGROUP), 3n], 0n, 40_000n],
        ["g2Add, b off the twist", "g2Add", [hex(encodeG2(c)), hex(G2_OFF_CURVE)], 1n, 15_000n],
        [
          "pairingCheck (k = 2), second G1 point outside G1",
          "pairingCheck",
          [
            [hex(encodeG1(a)), hex(G1_OUTSIDE_SUBGROUP)],
            [hex(encodeG2(c)), hex(encodeG2(d))],
          ],
          2n,
          320_000n,
        ],
        [
          "pairingCheck (k = 1), G2 point outside G2",
          "pairingCheck",
          [[hex(encodeG1(a))], [hex(g2OutsideSubgroup())]],
          1n,
          250_000n,
        ],
      ];
      for (const [name, fn, args, index, bound] of cases) {
        const r = await probeCall(probe, harness, fn, args);
        expect([r.error, ...r.errorArgs], name).to.deep.equal(["BLS12381InvalidPoint", Operand.Point, index]);
        expect(r.gasUsed < bound, `${name}: ${r.gasUsed}`).to.equal(true);
        console.log(`      gas ${name} (probe, 10,000,000 given): ${r.gasUsed.toLocaleString("en-US")}`);
      }
      // isInSubgroupG1 / G2 answer false for 2 × their price, not all the gas.
      for (const [fn, point, bound] of [
        ["isInSubgroupG1", G1_OUTSIDE_SUBGROUP, 40_000n],
        ["isInSubgroupG2", g2OutsideSubgroup(), 60_000n],
      ] as const) {
        const r = await probeCall(probe, harness, fn, [hex(point)]);
        expect(r.ok).to.equal(true);
        expect(r.gasUsed < bound, `${fn}: ${r.gasUsed}`).to.equal(true);
      }
    });

    it("the building blocks return false on a rejected point (g1MulAt, g1AddAt, g2AddAt)", async function () {
      const [mulOk, product] = await probe.g1MulAt(hex(encodeG1(a)), 42n);
      expect(mulOk).to.equal(true);
      expect(decodeG1(product).equals(a.multiply(42n))).to.equal(true);
      expect((await probe.g1MulAt(hex(G1_OUTSIDE_SUBGROUP), 42n))[0]).to.equal(false);
      const [addOk, sum] = await probe.g1AddAt(hex(encodeG1(a)), hex(encodeG1(b)));
      expect(addOk).to.equal(true);
      expect(decodeG1(sum).equals(a.add(b))).to.equal(true);
      expect((await probe.g1AddAt(hex(encodeG1(a)), hex(G1_OFF_CURVE)))[0]).to.equal(false);
      const [add2Ok, sum2] = await probe.g2AddAt(hex(encodeG2(c)), hex(encodeG2(d)));
      expect(add2Ok).to.equal(true);
      expect(decodeG2(sum2).equals(c.add(d))).to.equal(true);
      expect((await probe.g2AddAt(hex(encodeG2(c)), hex(G2_OFF_CURVE)))[0]).to.equal(false);
    });

    it("pairingCheck reverts with BLS12381InvalidPairingInput for no pairs or unequal counts", async function () {
      await expect(harness.pairingCheck([], []))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPairingInput")
        .withArgs(0n, 0n);
      await expect(harness.pairingCheck([hex(encodeG1(a))], []))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPairingInput")
        .withArgs(1n, 0n);
    });

    it("isInSubgroupG1 / isInSubgroupG2 tell subgroup points from the rest", async function () {
      expect(await harness.isInSubgroupG1(hex(encodeG1(a)))).to.equal(true);
      expect(await harness.isInSubgroupG1(hex(G1_OUTSIDE_SUBGROUP))).to.equal(false);
      expect(await harness.isInSubgroupG1(hex(G1_OFF_CURVE))).to.equal(false);
      expect(await harness.isInSubgroupG1(hex(new Uint8Array(127)))).to.equal(false);
      expect(await harness.isInSubgroupG2(hex(encodeG2(c)))).to.equal(true);
      expect(await harness.isInSubgroupG2(hex(g2OutsideSubgroup()))).to.equal(false);
      expect(await harness.isInSubgroupG2(hex(G2_OFF_CURVE))).to.equal(false);
    });

    it("reverts with BLS12381InvalidLength and BLS12381InvalidFieldElement on bad encodings", async function () {
      const good = encodeG1(a);
      await expect(harness.g1Add(hex(good), hex(good.subarray(0, 127))))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
        .withArgs(Operand.Point, 1n, 127n);
      const padded = Uint8Array.from(good);
      padded[64] = 1; // padding of y
      await expect(harness.g1Add(hex(padded), hex(good)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
        .withArgs(Operand.Point, 0n);
      for (const offset of [0, 64]) {
        await expect(harness.g1Add(hex(good), hex(withCoordinatePlusP(good, offset))))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
          .withArgs(Operand.Point, 1n);
      }
      const g2 = encodeG2(c);
      for (const offset of [0, 64, 128, 192]) {
        await expect(harness.g2Add(hex(withCoordinatePlusP(g2, offset)), hex(g2)))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
          .withArgs(Operand.Point, 0n);
      }
      // p itself is not a field element; p - 1 is.
      const pMinus1 = Uint8Array.from([...fp64(P - 1n), ...fp64(0n)]);
      const pExact = Uint8Array.from([...fp64(P), ...fp64(0n)]);
      await expect(harness.g1Add(hex(pExact), hex(good)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
        .withArgs(Operand.Point, 0n);
      // (p - 1, 0) is well formed but off the curve: the precompile decides.
      await expect(harness.g1Add(hex(pMinus1), hex(good)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.Point, 0n);
    });
  });

  describe("compressG2", function () {
    it("is noble's compressed G2 encoding, both signs of y and infinity", async function () {
      for (let k = 1n; k <= 6n; k++) {
        for (const q of [G2.BASE.multiply(k * 1000003n), G2.BASE.multiply(k * 1000003n).negate()]) {
          expect(await harness.compressG2(hex(encodeG2(q)))).to.equal(hex(q.toBytes(true)));
        }
      }
      expect(await harness.compressG2(hex(new Uint8Array(256)))).to.equal(hex(G2.ZERO.toBytes(true)));
    });
  });
});
