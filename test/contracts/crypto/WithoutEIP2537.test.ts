/**
 * The BLS12-381 libraries on a chain without EIP-2537 (cancun): a call to an
 * empty precompile address succeeds with no output, which must never be taken
 * for an answer. Verification reverts with BLS12381PrecompileFailed.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { blsKey, blsSign, DST_SIG, encodeG1, encodeG2, hex, text } from "./helpers.ts";

const { ethers } = await network.create({ override: { hardfork: "cancun" } });

describe("BLS12381 without EIP-2537 (cancun)", function () {
  const key = blsKey(1);
  const message = text("strata: no precompiles here");
  const pk = hex(encodeG2(key.publicKey));
  const sig = hex(encodeG1(blsSign(key, message)));

  it("verify reverts with BLS12381PrecompileFailed(MAP_FP_TO_G1) instead of answering", async function () {
    const harness = await ethers.deployContract("CryptoHarness");
    await expect(harness.blsVerify(pk, hex(message), sig, hex(text(DST_SIG))))
      .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
      .withArgs("0x0000000000000000000000000000000000000010");
    expect(await harness.isInSubgroupG1(sig)).to.equal(false);
    expect(await harness.isInSubgroupG2(pk)).to.equal(false);
  });
});
