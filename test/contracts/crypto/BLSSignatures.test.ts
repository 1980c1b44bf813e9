/**
 * BLSSignatures (contracts/libraries/BLSSignatures.sol): min-sig BLS signatures
 * made with @noble/curves (`bls12_381.shortSignatures`) verify on chain; every
 * flipped bit of the signature, key, message or DST fails; malformed inputs
 * revert with the custom error naming the operand; fast aggregate verification
 * of 100 signers; proofs of possession; gas.
 */
import { expect } from "chai";
import { network } from "hardhat";

import type { CryptoProbe } from "../../../types/ethers-contracts/index.ts";

import {
  aggregateG1,
  aggregateG2,
  blsKey,
  blsProve,
  blsSign,
  blsVerifyNoble,
  DST_SIG,
  encodeG1,
  encodeG2,
  flipBit,
  G1_OFF_CURVE,
  G1_OUTSIDE_SUBGROUP,
  G2_OFF_CURVE,
  g2OutsideSubgroup,
  hex,
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
  "BLS12381InvalidDST",
]);

let errorDecoder: (data: string) => string | undefined = () => undefined;

/** Every outcome of `calls` that is neither false nor one of the library's errors. */
const unexpected = (calls: Array<() => Promise<boolean>>): Promise<string[]> =>
  unexpectedOutcomes(calls, ERRORS, (data) => errorDecoder(data));

const gasReport: Record<string, bigint> = {};

/** Gas of the execution alone (no intrinsic or calldata cost), from the transaction's trace. */
async function executionGas(hash: string): Promise<bigint> {
  const trace = (await ethers.provider.send("debug_traceTransaction", [
    hash,
    { disableStack: true, disableMemory: true, disableStorage: true },
  ])) as { structLogs: Array<{ gas: number; gasCost: number }> };
  const first = trace.structLogs[0]!;
  const last = trace.structLogs[trace.structLogs.length - 1]!;
  return BigInt(first.gas - last.gas + last.gasCost);
}

/** EIP-7623 tokens of calldata: zero bytes count 1, others 4. */
function calldataTokens(data: string): bigint {
  let tokens = 0n;
  for (let i = 2; i < data.length; i += 2) tokens += data.slice(i, i + 2) === "00" ? 1n : 4n;
  return tokens;
}

async function deployHarness() {
  return ethers.deployContract("CryptoHarness");
}

describe("BLSSignatures", function () {
  let harness: Awaited<ReturnType<typeof deployHarness>>;
  let probe: CryptoProbe;
  const key = blsKey(1);
  const message = text("strata: gateway 7 batch 0x2a, root 0x5e1f…");
  const signature = blsSign(key, message);
  const pk = encodeG2(key.publicKey);
  const sig = encodeG1(signature);
  const dst = text(DST_SIG);

  before(async function () {
    harness = await deployHarness();
    probe = await ethers.deployContract("CryptoProbe");
    errorDecoder = (data) => harness.interface.parseError(data)?.name;
  });

  after(function () {
    for (const [k, v] of Object.entries(gasReport)) console.log(`      gas ${k}: ${v.toLocaleString("en-US")}`);
  });

  describe("verify", function () {
    it("accepts a noble min-sig signature (POP ciphersuite DST)", async function () {
      expect(blsVerifyNoble(key.publicKey, message, signature)).to.equal(true);
      expect(await harness.blsVerify(hex(pk), hex(message), hex(sig), hex(dst))).to.equal(true);
    });

    it("accepts signatures of empty, short and long messages under other DSTs", async function () {
      for (const [i, m] of [new Uint8Array(0), text("a"), new Uint8Array(2000).fill(0xab)].entries()) {
        const k = blsKey(10 + i);
        const d = `STRATA-TEST-V01-CS0${i}-with-BLS12381G1_XMD:SHA-256_SSWU_RO_`;
        const s = blsSign(k, m, d);
        expect(await harness.blsVerify(hex(encodeG2(k.publicKey)), hex(m), hex(encodeG1(s)), hex(text(d)))).to.equal(
          true,
        );
      }
    });

    it("rejects a wrong key, a wrong message, another DST and another message's signature", async function () {
      const other = blsKey(2);
      expect(await harness.blsVerify(hex(encodeG2(other.publicKey)), hex(message), hex(sig), hex(dst))).to.equal(false);
      expect(await harness.blsVerify(hex(pk), hex(text("strata: another message")), hex(sig), hex(dst))).to.equal(
        false,
      );
      const nul = text("BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_");
      expect(await harness.blsVerify(hex(pk), hex(message), hex(sig), hex(nul))).to.equal(false);
      const sigOther = encodeG1(blsSign(key, text("other")));
      expect(await harness.blsVerify(hex(pk), hex(message), hex(sigOther), hex(dst))).to.equal(false);
      // The negated signature is a valid point but not a signature.
      expect(await harness.blsVerify(hex(pk), hex(message), hex(encodeG1(signature.negate())), hex(dst))).to.equal(
        false,
      );
    });

    it("never accepts a signature with any one of its 1,024 bits flipped", async function () {
      const calls = Array.from(
        { length: sig.length * 8 },
        (_, bit) => () => harness.blsVerify(hex(pk), hex(message), hex(flipBit(sig, bit)), hex(dst)),
      );
      expect(await unexpected(calls)).to.deep.equal([]);
    });

    it("never accepts a public key with any one of its 2,048 bits flipped", async function () {
      const calls = Array.from(
        { length: pk.length * 8 },
        (_, bit) => () => harness.blsVerify(hex(flipBit(pk, bit)), hex(message), hex(sig), hex(dst)),
      );
      expect(await unexpected(calls)).to.deep.equal([]);
    });

    it("never accepts the message or the DST with any one bit flipped", async function () {
      const calls = [
        ...Array.from(
          { length: message.length * 8 },
          (_, bit) => () => harness.blsVerify(hex(pk), hex(flipBit(message, bit)), hex(sig), hex(dst)),
        ),
        ...Array.from(
          { length: dst.length * 8 },
          (_, bit) => () => harness.blsVerify(hex(pk), hex(message), hex(sig), hex(flipBit(dst, bit))),
        ),
      ];
      expect(await unexpected(calls)).to.deep.equal([]);
    });

    describe("malformed inputs revert with the error naming the operand", function () {
      it("wrong lengths", async function () {
        for (const len of [0, 96, 127, 129, 256]) {
          const bad = new Uint8Array(len).fill(1);
          await expect(harness.blsVerify(hex(pk), hex(message), hex(bad), hex(dst)))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
            .withArgs(Operand.Signature, 0n, BigInt(len));
        }
        for (const len of [0, 96, 192, 255, 257]) {
          const bad = new Uint8Array(len).fill(1);
          await expect(harness.blsVerify(hex(bad), hex(message), hex(sig), hex(dst)))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
            .withArgs(Operand.PublicKey, 0n, BigInt(len));
        }
      });

      it("non-zero padding or a coordinate not below p", async function () {
        for (const offset of [0, 64]) {
          await expect(harness.blsVerify(hex(pk), hex(message), hex(withCoordinatePlusP(sig, offset)), hex(dst)))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
            .withArgs(Operand.Signature, 0n);
        }
        for (const offset of [0, 64, 128, 192]) {
          await expect(harness.blsVerify(hex(withCoordinatePlusP(pk, offset)), hex(message), hex(sig), hex(dst)))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidFieldElement")
            .withArgs(Operand.PublicKey, 0n);
        }
      });

      it("a point off the curve or outside the subgroup", async function () {
        for (const bad of [G1_OFF_CURVE, G1_OUTSIDE_SUBGROUP]) {
          await expect(harness.blsVerify(hex(pk), hex(message), hex(bad), hex(dst)))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
            .withArgs(Operand.Signature, 0n);
        }
        for (const bad of [G2_OFF_CURVE, g2OutsideSubgroup()]) {
          await expect(harness.blsVerify(hex(bad), hex(message), hex(sig), hex(dst)))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
            .withArgs(Operand.PublicKey, 0n);
        }
      });

      it("the point at infinity as key or signature (infinity / infinity would verify anything)", async function () {
        await expect(harness.blsVerify(hex(new Uint8Array(256)), hex(message), hex(new Uint8Array(128)), hex(dst)))
          .to.be.revertedWithCustomError(harness, "BLS12381PointAtInfinity")
          .withArgs(Operand.PublicKey, 0n);
        await expect(harness.blsVerify(hex(pk), hex(message), hex(new Uint8Array(128)), hex(dst)))
          .to.be.revertedWithCustomError(harness, "BLS12381PointAtInfinity")
          .withArgs(Operand.Signature, 0n);
      });

      it("with too little gas for PAIRING_CHECK's cap: BLS12381PrecompileFailed, still a revert", async function () {
        // The pairing of two pairs is capped at 2 · 102,900 = 205,800 gas. With less than that
        // left, a failure may be a lack of gas: it is not blamed on an operand.
        await expect(
          harness.blsVerifyTx(hex(pk), hex(message), hex(G1_OUTSIDE_SUBGROUP), hex(dst), { gasLimit: 200_000n }),
        )
          .to.be.revertedWithCustomError(harness, "BLS12381PrecompileFailed")
          .withArgs("0x000000000000000000000000000000000000000F");
        // With enough for the cap and the capped re-checks the same input is named, and giving
        // more changes nothing.
        for (const gasLimit of [320_000n, 8_000_000n]) {
          await expect(harness.blsVerifyTx(hex(pk), hex(message), hex(G1_OUTSIDE_SUBGROUP), hex(dst), { gasLimit }))
            .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
            .withArgs(Operand.Signature, 0n);
        }
      });

      it("a malformed key or signature costs a bounded amount of gas, however much the call is given", async function () {
        // Every precompile call is capped at twice its EIP-2537 price: a rejected point burns the
        // pairing's cap (205,800) and the capped re-checks, not the 63/64 of 10M it used to.
        const cases: Array<[string, Uint8Array, Uint8Array, bigint]> = [
          ["signature off the curve", pk, G1_OFF_CURVE, Operand.Signature],
          ["signature outside G1", pk, G1_OUTSIDE_SUBGROUP, Operand.Signature],
          ["key off the twist", G2_OFF_CURVE, sig, Operand.PublicKey],
          ["key outside G2", g2OutsideSubgroup(), sig, Operand.PublicKey],
        ];
        const valid = await probeCall(probe, harness, "blsVerify", [hex(pk), hex(message), hex(sig), hex(dst)]);
        expect(valid.ok).to.equal(true);
        gasReport["verify, valid (probe, call in a contract)"] = valid.gasUsed;
        for (const [name, key, signature, operand] of cases) {
          const r = await probeCall(probe, harness, "blsVerify", [hex(key), hex(message), hex(signature), hex(dst)]);
          expect(r.ok, name).to.equal(false);
          expect(r.error, name).to.equal("BLS12381InvalidPoint");
          expect(r.errorArgs, name).to.deep.equal([operand, 0n]);
          expect(r.gasUsed < 300_000n, `${name}: ${r.gasUsed} gas of ${PROBE_CALL_GAS}`).to.equal(true);
          gasReport[`verify, ${name} (probe, ${PROBE_CALL_GAS.toLocaleString("en-US")} given)`] = r.gasUsed;
        }
        // The same through the transaction: the receipt shows the bound too.
        const tx = harness.blsVerifyTx(hex(pk), hex(message), hex(G1_OUTSIDE_SUBGROUP), hex(dst), {
          gasLimit: PROBE_CALL_GAS,
        });
        await expect(tx).to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint");
        const block = await ethers.provider.getBlock("latest", true);
        const receipt = await ethers.provider.getTransactionReceipt(block!.prefetchedTransactions.at(-1)!.hash);
        expect(receipt!.status).to.equal(0);
        expect(receipt!.gasUsed < 330_000n, `${receipt!.gasUsed}`).to.equal(true);
        gasReport["verify, signature outside G1 (tx, 10,000,000 gas limit)"] = receipt!.gasUsed;
      });

      it("an empty DST", async function () {
        await expect(harness.blsVerify(hex(pk), hex(message), hex(sig), "0x"))
          .to.be.revertedWithCustomError(harness, "BLS12381InvalidDST")
          .withArgs(0n);
      });
    });

    it("costs at most 150,000 gas in a transaction, hash-to-curve included", async function () {
      // The ciphersuite's DST fixed in code, as an application would have it.
      const fixedTx = await harness.blsVerifyPopSchemeTx(hex(pk), hex(message), hex(sig));
      const fixed = await fixedTx.wait();
      // The DST passed in calldata as well (43 more bytes and two words).
      const given = await (await harness.blsVerifyTx(hex(pk), hex(message), hex(sig), hex(dst))).wait();
      gasReport["verify, DST constant (tx)"] = fixed!.gasUsed;
      gasReport["verify, DST in calldata (tx)"] = given!.gasUsed;
      gasReport["verify, execution only"] = await executionGas(fixedTx.hash);
      gasReport["verify, DST constant (estimateGas)"] = await harness.blsVerifyPopSchemeTx.estimateGas(
        hex(pk),
        hex(message),
        hex(sig),
      );
      expect(fixed!.gasUsed <= 150_000n).to.equal(true, `verify used ${fixed!.gasUsed} gas`);
      expect(given!.gasUsed <= 150_000n).to.equal(true, `verify used ${given!.gasUsed} gas`);
      expect(await harness.blsVerifyPopScheme(hex(pk), hex(message), hex(sig))).to.equal(true);
      // The transaction functions revert when verification fails.
      await expect(harness.blsVerifyPopSchemeTx(hex(pk), hex(text("x")), hex(sig))).to.be.revertedWithCustomError(
        harness,
        "HarnessNotVerified",
      );
    });
  });

  describe("fastAggregateVerify", function () {
    const N = 100;
    const keys = Array.from({ length: N }, (_, i) => blsKey(1000 + i));
    const common = text("strata: fog cluster 3 attests batch 0x77 root 0xc0ffee");
    const aggregate = aggregateG1(keys.map((k) => blsSign(k, common)));
    const pks = keys.map((k) => hex(encodeG2(k.publicKey)));
    const aggSig = hex(encodeG1(aggregate));
    const aggPk = aggregateG2(keys.map((k) => k.publicKey));

    it("accepts 100 signers' aggregate signature of one message", async function () {
      expect(blsVerifyNoble(aggPk, common, aggregate)).to.equal(true);
      expect(await harness.blsFastAggregateVerify(pks, hex(common), aggSig, hex(dst))).to.equal(true);
    });

    it("sums the keys exactly as noble does; the pre-aggregated variant accepts the sum", async function () {
      const sum = await harness.blsAggregatePublicKeys(pks);
      expect(sum).to.equal(hex(encodeG2(aggPk)));
      expect(await harness.blsFastAggregateVerifyAggregated(sum, hex(common), aggSig, hex(dst))).to.equal(true);
    });

    it("rejects a missing signer, an extra signer, a swapped key and another message", async function () {
      expect(await harness.blsFastAggregateVerify(pks.slice(1), hex(common), aggSig, hex(dst))).to.equal(false);
      expect(
        await harness.blsFastAggregateVerify(
          [...pks, hex(encodeG2(blsKey(5).publicKey))],
          hex(common),
          aggSig,
          hex(dst),
        ),
      ).to.equal(false);
      const swapped = [...pks];
      swapped[42] = hex(encodeG2(blsKey(6).publicKey));
      expect(await harness.blsFastAggregateVerify(swapped, hex(common), aggSig, hex(dst))).to.equal(false);
      expect(await harness.blsFastAggregateVerify(pks, hex(text("other")), aggSig, hex(dst))).to.equal(false);
    });

    it("reverts naming the bad key, an empty key list, or an aggregate at infinity / outside G2", async function () {
      const offCurve = [...pks];
      offCurve[57] = hex(G2_OFF_CURVE);
      await expect(harness.blsFastAggregateVerify(offCurve, hex(common), aggSig, hex(dst)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.PublicKey, 57n);
      const infinity = [...pks];
      infinity[3] = hex(new Uint8Array(256));
      await expect(harness.blsFastAggregateVerify(infinity, hex(common), aggSig, hex(dst)))
        .to.be.revertedWithCustomError(harness, "BLS12381PointAtInfinity")
        .withArgs(Operand.PublicKey, 3n);
      const short = [...pks];
      short[9] = hex(new Uint8Array(255));
      await expect(harness.blsFastAggregateVerify(short, hex(common), aggSig, hex(dst)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidLength")
        .withArgs(Operand.PublicKey, 9n, 255n);
      await expect(harness.blsFastAggregateVerify([], hex(common), aggSig, hex(dst))).to.be.revertedWithCustomError(
        harness,
        "BLSEmptyPublicKeys",
      );
      // Rogue keys that cancel: exactly what a proof of possession rules out.
      const cancel = [pks[0]!, hex(encodeG2(keys[0]!.publicKey.negate()))];
      await expect(harness.blsFastAggregateVerify(cancel, hex(common), aggSig, hex(dst)))
        .to.be.revertedWithCustomError(harness, "BLS12381PointAtInfinity")
        .withArgs(Operand.AggregatePublicKey, 0n);
      await expect(harness.blsFastAggregateVerify([hex(g2OutsideSubgroup())], hex(common), aggSig, hex(dst)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.AggregatePublicKey, 0n);
    });

    it("a bad key costs a bounded amount of gas, however much the call is given", async function () {
      // Key 57 off the twist: G2ADD rejects it and burns its cap (1,200), then the loop ends.
      const offCurve = [...pks];
      offCurve[57] = hex(G2_OFF_CURVE);
      const r = await probeCall(probe, harness, "blsFastAggregateVerify", [offCurve, hex(common), aggSig, hex(dst)]);
      expect([r.error, ...r.errorArgs]).to.deep.equal(["BLS12381InvalidPoint", Operand.PublicKey, 57n]);
      expect(r.gasUsed < 300_000n, `${r.gasUsed}`).to.equal(true);
      gasReport["fastAggregateVerify, key 57 of 100 off the twist (probe)"] = r.gasUsed;
      // A sum outside G2: the pairing's cap and the capped re-checks, on top of 100 additions.
      const outside = [...pks];
      outside[99] = hex(g2OutsideSubgroup());
      const s = await probeCall(probe, harness, "blsFastAggregateVerify", [outside, hex(common), aggSig, hex(dst)]);
      expect([s.error, ...s.errorArgs]).to.deep.equal(["BLS12381InvalidPoint", Operand.AggregatePublicKey, 0n]);
      expect(s.gasUsed < 600_000n, `${s.gasUsed}`).to.equal(true);
      gasReport["fastAggregateVerify, 100 keys summing outside G2 (probe)"] = s.gasUsed;
    });

    it("records the gas of 100 signers, keys in calldata and pre-aggregated", async function () {
      const tx = await harness.blsFastAggregateVerifyTx(pks, hex(common), aggSig, hex(dst));
      const receipt = await tx.wait();
      gasReport["fastAggregateVerify, 100 keys in calldata (tx)"] = receipt!.gasUsed;
      // 25.6 kB of keys: the EIP-7623 floor (21,000 + 10 per token) is what the transaction pays.
      const floor = 21_000n + 10n * calldataTokens(tx.data);
      gasReport["fastAggregateVerify, 100 keys: EIP-7623 calldata floor"] = floor;
      gasReport["fastAggregateVerify, 100 keys: execution only"] = await executionGas(tx.hash);
      expect(receipt!.gasUsed).to.equal(floor);
      const r2 = await (
        await harness.blsFastAggregateVerifyAggregatedTx(hex(encodeG2(aggPk)), hex(common), aggSig, hex(dst))
      ).wait();
      gasReport["fastAggregateVerifyAggregated, 100 signers (tx)"] = r2!.gasUsed;
      await expect(
        harness.blsFastAggregateVerifyTx(pks.slice(1), hex(common), aggSig, hex(dst)),
      ).to.be.revertedWithCustomError(harness, "HarnessNotVerified");
    });
  });

  describe("verifyPossession", function () {
    it("accepts PopProve of the key (compressed key under the POP DST) and rejects anything else", async function () {
      const k = blsKey(3);
      const proof = blsProve(k);
      expect(await harness.blsVerifyPossession(hex(encodeG2(k.publicKey)), hex(encodeG1(proof)))).to.equal(true);
      // Another key's proof, and a plain signature of the key bytes under the signature DST.
      const other = blsKey(4);
      expect(await harness.blsVerifyPossession(hex(encodeG2(other.publicKey)), hex(encodeG1(proof)))).to.equal(false);
      const plain = blsSign(k, k.publicKey.toBytes(true));
      expect(await harness.blsVerifyPossession(hex(encodeG2(k.publicKey)), hex(encodeG1(plain)))).to.equal(false);
      // A key with the opposite y (the compressed flag differs) does not share the proof.
      expect(
        await harness.blsVerifyPossession(hex(encodeG2(k.publicKey.negate())), hex(encodeG1(proof.negate()))),
      ).to.equal(false);
    });

    it("rejects a key outside G2 with an error, at a bounded cost", async function () {
      await expect(harness.blsVerifyPossession(hex(g2OutsideSubgroup()), hex(sig)))
        .to.be.revertedWithCustomError(harness, "BLS12381InvalidPoint")
        .withArgs(Operand.PublicKey, 0n);
      const r = await probeCall(probe, harness, "blsVerifyPossession", [hex(g2OutsideSubgroup()), hex(sig)]);
      expect([r.error, ...r.errorArgs]).to.deep.equal(["BLS12381InvalidPoint", Operand.PublicKey, 0n]);
      expect(r.gasUsed < 300_000n, `${r.gasUsed}`).to.equal(true);
      gasReport["verifyPossession, key outside G2 (probe)"] = r.gasUsed;
    });
  });
});
