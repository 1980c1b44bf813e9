/**
 * What the SDK makes, the contracts accept: min-sig BLS signatures, threshold
 * group signatures and Cha–Cheon IBS signatures produced by `sdk/core/crypto`
 * (mcl backend) verify through the EIP-2537 libraries, and the SDK's hashes
 * (H1 identities, H2 challenges) equal the on-chain ones byte for byte.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { DST_MIN_SIG, minSig, text } from "../../../sdk/core/crypto/bls.ts";
import { g1ToEip2537, g2ToEip2537 } from "../../../sdk/core/crypto/eip2537.ts";
import { ChaCheonIbs } from "../../../sdk/core/crypto/ibs.ts";
import { identityBytes, identityPoint, Pkg } from "../../../sdk/core/crypto/identity.ts";
import { ThresholdScheme } from "../../../sdk/core/crypto/threshold.ts";
import { toHex } from "../../../sdk/index.ts";
import type { CryptoHarness } from "../../../types/ethers-contracts/index.ts";

const { ethers } = await network.create();
const backend = await mclBackend();
const bls = minSig(backend);
const dst = toHex(text(DST_MIN_SIG));

const g1 = (bytes: Uint8Array) => toHex(g1ToEip2537(backend, backend.g1.fromBytes(bytes)));
const g2 = (bytes: Uint8Array) => toHex(g2ToEip2537(backend, backend.g2.fromBytes(bytes)));

describe("SDK signatures on chain", function () {
  this.timeout(120_000);
  let harness: CryptoHarness;
  before(async function () {
    harness = await ethers.deployContract("CryptoHarness");
  });

  it("a min-sig signature made by the SDK verifies; a flipped message or signature does not", async function () {
    const sk = bls.keygen();
    const msg = text("fog batch root 0x01");
    const sig = bls.sign(sk, msg);
    expect(await harness.blsVerify(g2(bls.publicKey(sk)), toHex(msg), g1(sig), dst)).to.equal(true);
    expect(await harness.blsVerify(g2(bls.publicKey(sk)), toHex(text("fog batch root 0x02")), g1(sig), dst)).to.equal(
      false,
    );
    const other = bls.sign(bls.keygen(), msg);
    expect(await harness.blsVerify(g2(bls.publicKey(sk)), toHex(msg), g1(other), dst)).to.equal(false);
  });

  it("a threshold group signature combined from 3 of 5 sign shares verifies under the group key", async function () {
    const th = new ThresholdScheme(backend);
    const { shares, commitments } = th.deal(3, 5);
    const root = text("sensitive batch 17");
    const { signature } = th.combine(
      commitments,
      root,
      [1, 3, 4].map((i) => th.partialSign(shares[i]!, root)),
    );
    const groupKey = toHex(g2ToEip2537(backend, th.groupKey(commitments)));
    expect(await harness.blsVerify(groupKey, toHex(root), toHex(g1ToEip2537(backend, signature)), dst)).to.equal(true);
    // two colluding members cannot produce it
    const forged = th.interpolate([1, 3].map((i) => th.partialSign(shares[i]!, root)));
    expect(await harness.blsVerify(groupKey, toHex(root), toHex(g1ToEip2537(backend, forged)), dst)).to.equal(false);
  });

  it("100 SDK signers aggregate and verify as one (fast aggregate verify)", async function () {
    const msg = text("layer decision 42");
    const sks = Array.from({ length: 100 }, () => bls.keygen());
    const agg = bls.aggregateSignatures(sks.map((s) => bls.sign(s, msg)));
    const keys = sks.map((s) => g2(bls.publicKey(s)));
    expect(await harness.blsFastAggregateVerify(keys, toHex(msg), g1(agg), dst)).to.equal(true);
    expect(await harness.blsFastAggregateVerify(keys.slice(1), toHex(msg), g1(agg), dst)).to.equal(false);
  });

  it("hashes identities and IBS challenges exactly as the SDK does", async function () {
    const id = "strata://city/d7/edge-3#42";
    expect(await harness.ibsIdentityPoint(toHex(identityBytes(id)))).to.equal(
      toHex(g1ToEip2537(backend, identityPoint(backend, id))),
    );
    const ibs = new ChaCheonIbs(backend);
    const u = backend.g1.mul(backend.g1.generator, 12345n);
    const m = text("auth challenge");
    expect(await harness.ibsChallenge(toHex(m), toHex(g1ToEip2537(backend, u)))).to.equal(ibs.h2(m, u));
  });

  it("a Cha–Cheon signature made by the SDK verifies on chain; another identity or message does not", async function () {
    const pkg = new Pkg(backend);
    const id = "strata://city/d7/bs-1#7";
    const ibs = new ChaCheonIbs(backend);
    const m = text("BS 7 -> node 42: nonce 9f2c");
    const sig = ibs.sign(id, pkg.extract(id), m);
    const args = (who: string, msg: Uint8Array) =>
      [
        toHex(g2ToEip2537(backend, pkg.masterPublic)),
        toHex(identityBytes(who)),
        toHex(msg),
        toHex(g1ToEip2537(backend, sig.u)),
        toHex(g1ToEip2537(backend, sig.v)),
      ] as const;
    expect(await harness.ibsVerify(...args(id, m))).to.equal(true);
    expect(await harness.ibsVerify(...args("strata://city/d7/bs-1#8", m))).to.equal(false);
    expect(await harness.ibsVerify(...args(id, text("other")))).to.equal(false);
  });
});
