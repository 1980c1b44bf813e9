/**
 * ChaCheonIBS (contracts/libraries/ChaCheonIBS.sol): a Cha–Cheon signature made
 * in the test with noble's G1 and Fr (U = r·Q, h = H2(m, U), V = (r + h)·d)
 * verifies on chain; H1 and H2 match noble bit for bit; every flipped bit of U,
 * V, the master key, the identity or the message fails; malformed points revert
 * with the error naming the operand; gas.
 */
import { expect } from "chai";
import { network } from "hardhat";

import type { CryptoProbe } from "../../../types/ethers-contracts/index.ts";

import {
  DST_IBS_H1,
  DST_IBS_H2,
  encodeG1,
  encodeG2,
  flipBit,
  G1,
  G1_OFF_CURVE,
  G1_OUTSIDE_SUBGROUP,
  G2_OFF_CURVE,
  g2OutsideSubgroup,
  hex,
  ibsExtract,
  ibsH1,
  ibsH2,
  ibsSetup,
  ibsSign,
  ibsVerifyNoble,
  Operand,
  PROBE_CALL_GAS,
  probeCall,
  text,
  withCoordinatePlusP,
  unexpectedOutcomes,
} from "./helpers.ts";

const { ethers } = await network.create();

const ERRORS = new Set([
  "BLS12381InvalidLength",
  "BLS12381InvalidFieldElement",
  "BLS12381InvalidPoint",
  "BLS12381PointAtInfinity",
]);

async function deployHarness() {
  return ethers.deployContract("CryptoHarness");
}

describe("ChaCheonIBS", function () {
  let harness: Awaited<ReturnType<typeof deployHarness>>;
  let probe: CryptoProbe;
  const pkg = ibsSetup(0x5eed_0f_57a7a_c0ffeen);
  const identity = text("strata://city/d7/edge-3#device-42");
  const d = ibsExtract(pkg, identity);
  const message = text("nb-iot session 0x91: nonce 7f3a, reading 21.4C");
  const signature = ibsSign(identity, d, message, 0x1234_5678_9abc_def0_1357_9bdfn);
  const P = encodeG2(pkg.masterPublicKey);
  const U = encodeG1(signature.u);
  const V = encodeG1(signature.v);

  /** Every outcome of `calls` that is neither false nor one of the library's errors. */
  const unexpected = (calls: Array<() => Promise<boolean>>): Promise<string[]> =>
    unexpectedOutcomes(calls, ERRORS, (data) => harness.interface.parseError(data)?.name);

  const verify = (p: Uint8Array, id: Uint8Array, m: Uint8Array, u: Uint8Array, v: Uint8Array) =>
    harness.ibsVerify(hex(p), hex(id), hex(m), hex(u), hex(v));

  before(async function () {
    harness = await deployHarness();
    probe = await ethers.deployContract("CryptoProbe");
  });

  describe("H1 and H2", function () {
    it("use the SDK's DSTs", async function () {
      const [h1, h2] = await harness.ibsDomains();
      expect(h1).to.equal(hex(text(DST_IBS_H1)));
      expect(h2).to.equal(hex(text(DST_IBS_H2)));
    });

    it("H1(ID) is RFC 9380 hash_to_curve under the H1 DST, as noble computes it", async function () {
      expect(await harness.ibsIdentityPoint(hex(identity))).to.equal(hex(encodeG1(ibsH1(identity))));
    });

    it("H2(m, U) is hash_to_field over Fr of m ‖ EIP-2537(U), as noble computes it", async function () {
      expect(await harness.ibsChallenge(hex(message), hex(U))).to.equal(ibsH2(message, signature.u));
      expect(await harness.ibsChallenge("0x", hex(U))).to.equal(ibsH2(new Uint8Array(0), signature.u));
      await expect(harness.ibsChallenge(hex(message), hex(U.subarray(1))))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
        .withArgs(Operand.IbsU, 0n, 127n);
    });
  });

  describe("verify", function () {
    it("accepts a signature made with noble's G1 and Fr", async function () {
      expect(ibsVerifyNoble(pkg.masterPublicKey, identity, message, signature)).to.equal(true);
      expect(await verify(P, identity, message, U, V)).to.equal(true);
    });

    it("accepts signatures of other messages, identities and nonces", async function () {
      for (let i = 1; i <= 4; i++) {
        const id = text(`device-${i}`);
        const m = new Uint8Array(i * 50).fill(i);
        const sig = ibsSign(id, ibsExtract(pkg, id), m, BigInt(i) * 0x9e3779b97f4a7c15n);
        expect(await verify(P, id, m, encodeG1(sig.u), encodeG1(sig.v))).to.equal(true);
      }
    });

    it("rejects another identity, message, master key, swapped parts and another signer's key", async function () {
      expect(await verify(P, text("strata://city/d7/edge-3#device-43"), message, U, V)).to.equal(false);
      expect(await verify(P, identity, text("nb-iot session 0x91: nonce 7f3a, reading 99.9C"), U, V)).to.equal(false);
      expect(await verify(encodeG2(ibsSetup(7n).masterPublicKey), identity, message, U, V)).to.equal(false);
      expect(await verify(P, identity, message, V, U)).to.equal(false);
      // Signed with another identity's key under the same PKG.
      const other = text("device-evil");
      const forged = ibsSign(identity, ibsExtract(pkg, other), message, 99n);
      expect(await verify(P, identity, message, encodeG1(forged.u), encodeG1(forged.v))).to.equal(false);
      // A U that is not the one h was computed over.
      expect(await verify(P, identity, message, encodeG1(signature.u.add(G1.BASE)), V)).to.equal(false);
    });

    it("never accepts U or V with any one of their 2 × 1,024 bits flipped", async function () {
      const calls = [
        ...Array.from({ length: U.length * 8 }, (_, bit) => () => verify(P, identity, message, flipBit(U, bit), V)),
        ...Array.from({ length: V.length * 8 }, (_, bit) => () => verify(P, identity, message, U, flipBit(V, bit))),
      ];
      expect(await unexpected(calls)).to.deep.equal([]);
    });

    it("never accepts the master key with any one of its 2,048 bits flipped", async function () {
      const calls = Array.from(
        { length: P.length * 8 },
        (_, bit) => () => verify(flipBit(P, bit), identity, message, U, V),
      );
      expect(await unexpected(calls)).to.deep.equal([]);
    });

    it("never accepts the identity or the message with any one bit flipped", async function () {
      const calls = [
        ...Array.from(
          { length: identity.length * 8 },
          (_, bit) => () => verify(P, flipBit(identity, bit), message, U, V),
        ),
        ...Array.from(
          { length: message.length * 8 },
          (_, bit) => () => verify(P, identity, flipBit(message, bit), U, V),
        ),
      ];
      expect(await unexpected(calls)).to.deep.equal([]);
    });

    describe("malformed inputs revert with the error naming the operand", function () {
      it("wrong lengths", async function () {
        await expect(verify(P.subarray(1), identity, message, U, V))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
          .withArgs(Operand.MasterPublicKey, 0n, 255n);
        await expect(verify(P, identity, message, new Uint8Array(48), V))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
          .withArgs(Operand.IbsU, 0n, 48n);
        await expect(verify(P, identity, message, U, new Uint8Array([...V, 0])))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
          .withArgs(Operand.IbsV, 0n, 129n);
      });

      it("coordinates not below p", async function () {
        await expect(verify(withCoordinatePlusP(P, 128), identity, message, U, V))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
          .withArgs(Operand.MasterPublicKey, 0n);
        await expect(verify(P, identity, message, withCoordinatePlusP(U, 0), V))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
          .withArgs(Operand.IbsU, 0n);
        await expect(verify(P, identity, message, U, withCoordinatePlusP(V, 64)))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
          .withArgs(Operand.IbsV, 0n);
      });

      it("points off the curve or outside the subgroup", async function () {
        for (const bad of [G1_OFF_CURVE, G1_OUTSIDE_SUBGROUP]) {
          await expect(verify(P, identity, message, bad, V))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
            .withArgs(Operand.IbsU, 0n);
          await expect(verify(P, identity, message, U, bad))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
            .withArgs(Operand.IbsV, 0n);
        }
        for (const bad of [G2_OFF_CURVE, g2OutsideSubgroup()]) {
          await expect(verify(bad, identity, message, U, V))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
            .withArgs(Operand.MasterPublicKey, 0n);
        }
      });

      it("a bad U, V or master key costs a bounded amount of gas, however much the call is given", async function () {
        // Precompile calls are capped at twice their EIP-2537 price: a U off the curve burns
        // G1ADD's cap (750); a point outside its group burns the pairing's (205,800) and the capped
        // re-checks (master key, then U, then V), not the 63/64 of 10M it used to.
        const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array, bigint]> = [
          ["U off the curve", P, G1_OFF_CURVE, V, Operand.IbsU],
          ["U outside G1", P, G1_OUTSIDE_SUBGROUP, V, Operand.IbsU],
          ["V off the curve", P, U, G1_OFF_CURVE, Operand.IbsV],
          ["V outside G1", P, U, G1_OUTSIDE_SUBGROUP, Operand.IbsV],
          ["master key off the twist", G2_OFF_CURVE, U, V, Operand.MasterPublicKey],
          ["master key outside G2", g2OutsideSubgroup(), U, V, Operand.MasterPublicKey],
        ];
        for (const [name, p, u, v, operand] of cases) {
          const r = await probeCall(probe, harness, "ibsVerify", [hex(p), hex(identity), hex(message), hex(u), hex(v)]);
          expect([r.error, ...r.errorArgs], name).to.deep.equal(["BLS12381InvalidPoint", operand, 0n]);
          expect(r.gasUsed < 350_000n, `${name}: ${r.gasUsed} gas of ${PROBE_CALL_GAS}`).to.equal(true);
          console.log(`      gas IBS verify, ${name} (probe, 10,000,000 given): ${r.gasUsed.toLocaleString("en-US")}`);
        }
      });

      it("the point at infinity", async function () {
        await expect(verify(new Uint8Array(256), identity, message, U, new Uint8Array(128)))
          .to.be.revertedWithCustomError(harness, "BLS12381PointAtInfinity")
          .withArgs(Operand.MasterPublicKey, 0n);
        await expect(verify(P, identity, message, new Uint8Array(128), V))
          .to.be.revertedWithCustomError(harness, "BLS12381PointAtInfinity")
          .withArgs(Operand.IbsU, 0n);
        await expect(verify(P, identity, message, U, new Uint8Array(128)))
          .to.be.revertedWithCustomError(harness, "BLS12381PointAtInfinity")
          .withArgs(Operand.IbsV, 0n);
      });
    });

    it("records the gas of one verification in a transaction", async function () {
      const receipt = await (await harness.ibsVerifyTx(hex(P), hex(identity), hex(message), hex(U), hex(V))).wait();
      console.log(
        `      gas IBS verify (tx, 33-byte identity, 46-byte message): ${receipt!.gasUsed.toLocaleString("en-US")}`,
      );
      expect(receipt!.gasUsed < 200_000n).to.equal(true);
      await expect(
        harness.ibsVerifyTx(hex(P), hex(identity), hex(text("other")), hex(U), hex(V)),
      ).to.be.revertedWithCustomError(harness, "HarnessNotVerified");
    });
  });
});
