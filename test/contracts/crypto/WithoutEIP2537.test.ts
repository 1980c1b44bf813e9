/**
 * The BLS12-381 libraries on a chain without EIP-2537 (cancun): a call to an
 * empty precompile address succeeds with no output, which must never be taken
 * for an answer. Every function that calls an EIP-2537 precompile reverts with
 * BLS12381PrecompileFailed naming it: the group operations (which used to
 * return the point at infinity), the building blocks, the pairing, hashing to
 * G1 and verification. SHA-256 is older than EIP-2537 and still answers.
 */
import { expand_message_xmd } from "@noble/curves/abstract/hash-to-curve.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { expect } from "chai";
import { getAddress } from "ethers";
import { network } from "hardhat";

import {
  blsKey,
  blsSign,
  DST_SIG,
  encodeG1,
  encodeG2,
  G1,
  G2,
  hex,
  ibsExtract,
  ibsSetup,
  ibsSign,
  text,
} from "./helpers.ts";

const { ethers } = await network.create({ override: { hardfork: "cancun" } });

/** The checksummed address of precompile `n`. */
const precompile = (n: number): string => getAddress(`0x${n.toString(16).padStart(40, "0")}`);
const G1ADD = precompile(0x0b);
const G1MSM = precompile(0x0c);
const G2ADD = precompile(0x0d);
const PAIRING_CHECK = precompile(0x0f);
const MAP_FP_TO_G1 = precompile(0x10);

async function deploy() {
  return {
    harness: await ethers.deployContract("CryptoHarness"),
    probe: await ethers.deployContract("CryptoProbe"),
  };
}

describe("BLS12381 without EIP-2537 (cancun)", function () {
  let harness: Awaited<ReturnType<typeof deploy>>["harness"];
  let probe: Awaited<ReturnType<typeof deploy>>["probe"];
  const key = blsKey(1);
  const message = text("strata: no precompiles here");
  const pk = hex(encodeG2(key.publicKey));
  const sig = hex(encodeG1(blsSign(key, message)));
  const a = hex(encodeG1(G1.BASE.multiply(3n)));
  const b = hex(encodeG1(G1.BASE.multiply(5n)));
  const c = hex(encodeG2(G2.BASE.multiply(7n)));
  const d = hex(encodeG2(G2.BASE.multiply(11n)));

  before(async function () {
    ({ harness, probe } = await deploy());
  });

  it("verify reverts with BLS12381PrecompileFailed(MAP_FP_TO_G1) instead of answering", async function () {
    await expect(harness.blsVerify(pk, hex(message), sig, hex(text(DST_SIG))))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(MAP_FP_TO_G1);
    expect(await harness.isInSubgroupG1(sig)).to.equal(false);
    expect(await harness.isInSubgroupG2(pk)).to.equal(false);
  });

  it("g1Add, g1Mul and g2Add revert instead of returning the point at infinity", async function () {
    await expect(harness.g1Add(a, b))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(G1ADD);
    await expect(harness.g1Mul(a, 2n))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(G1MSM);
    await expect(harness.g2Add(c, d))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(G2ADD);
  });

  it("g1MulAt, g1AddAt and g2AddAt revert instead of reporting success", async function () {
    await expect(probe.g1MulAt(a, 2n)).to.be.revertedWithCustomError(probe, "BLS12381PrecompileFailed").withArgs(G1MSM);
    await expect(probe.g1AddAt(a, b)).to.be.revertedWithCustomError(probe, "BLS12381PrecompileFailed").withArgs(G1ADD);
    await expect(probe.g2AddAt(c, d)).to.be.revertedWithCustomError(probe, "BLS12381PrecompileFailed").withArgs(G2ADD);
  });

  it("pairingCheck, hashToG1 and key aggregation revert naming their precompile", async function () {
    await expect(harness.pairingCheck([a], [c]))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(PAIRING_CHECK);
    await expect(harness.hashToG1(hex(message), hex(text(DST_SIG))))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(MAP_FP_TO_G1);
    // Used to sum to "infinity" and revert as BLS12381PointAtInfinity(AggregatePublicKey).
    await expect(harness.blsAggregatePublicKeys([pk, hex(encodeG2(blsKey(2).publicKey))]))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(G2ADD);
    await expect(harness.blsFastAggregateVerifyAggregated(pk, hex(message), sig, hex(text(DST_SIG))))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(MAP_FP_TO_G1);
  });

  it("IBS verification reverts with BLS12381PrecompileFailed; SHA-256 hashing still works", async function () {
    const pkg = ibsSetup(12345n);
    const id = text("device-1");
    const s = ibsSign(id, ibsExtract(pkg, id), message, 777n);
    await expect(
      harness.ibsVerify(
        hex(encodeG2(pkg.masterPublicKey)),
        hex(id),
        hex(message),
        hex(encodeG1(s.u)),
        hex(encodeG1(s.v)),
      ),
    )
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs(MAP_FP_TO_G1);
    const dst = text("STRATA-TEST-CANCUN");
    expect(await harness.expandMessageXmd(hex(message), hex(dst), 96)).to.equal(
      hex(expand_message_xmd(message, dst, 96, sha256)),
    );
  });
});
