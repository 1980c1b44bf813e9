/**
 * BLS signatures (sdk/core/crypto/bls.ts): both variants on both backends,
 * interoperability with independent implementations (noble's own BLS API for
 * min-sig, blst for min-pk), known-answer KeyGen agreement, and negative cases.
 */
import { expect } from "chai";
import fc from "fast-check";
import * as blst from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";

import { type BlsScheme, DST_MIN_SIG, minPk, minPkOn, minSig, text } from "../../../../sdk/core/crypto/bls.ts";
import { mclBackend, nobleBackend, type PairingBackend } from "../../../../sdk/core/crypto/backend.ts";
import { keygen } from "../../../../sdk/core/crypto/keygen.ts";
import { InvalidInputError, InvalidPointError } from "../../../../sdk/index.ts";

const mcl = await mclBackend();

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

const variants: Array<[string, BlsScheme]> = [
  ["min-sig on mcl", minSig(mcl)],
  ["min-sig on noble", minSig(nobleBackend)],
  ["min-pk on blst", minPk(nobleBackend)],
  ["min-pk on mcl", minPkOn(mcl)],
];

for (const [name, bls] of variants) {
  describe(`bls (${name})`, function () {
    this.timeout(60_000);
    const sk = bls.keygen();
    const pk = bls.publicKey(sk);
    const msg = text("meter 42: 17.3 kWh");
    const sig = bls.sign(sk, msg);

    it("verifies its own signature and refuses a wrong key or message", function () {
      expect(bls.verify(pk, msg, sig)).to.equal(true);
      expect(bls.verify(bls.publicKey(bls.keygen()), msg, sig)).to.equal(false);
      expect(bls.verify(pk, text("meter 42: 17.4 kWh"), sig)).to.equal(false);
    });

    it("refuses the signature with a bit flipped anywhere in it (every 7th bit)", function () {
      for (let bit = 0; bit < sig.length * 8; bit += 7) {
        try {
          expect(bls.verify(pk, msg, flip(sig, bit))).to.equal(false);
        } catch (e) {
          expect(e).to.be.instanceOf(InvalidPointError);
        }
      }
    });

    it("throws InvalidPointError for wrong lengths, the identity and off-curve points", function () {
      expect(() => bls.verify(pk, msg, sig.subarray(1))).to.throw(InvalidPointError);
      expect(() => bls.verify(pk.subarray(1), msg, sig)).to.throw(InvalidPointError);
      const identity = new Uint8Array(sig.length);
      identity[0] = 0xc0;
      expect(() => bls.verify(pk, msg, identity)).to.throw(InvalidPointError);
      const garbage = new Uint8Array(pk.length).fill(0xff);
      expect(() => bls.verify(garbage, msg, sig)).to.throw(InvalidPointError);
    });

    it("refuses secret keys out of range", function () {
      expect(() => bls.sign(new Uint8Array(32), msg)).to.throw(InvalidInputError);
      expect(() => bls.sign(new Uint8Array(32).fill(0xff), msg)).to.throw(InvalidInputError);
    });

    it("aggregates one message under many keys with proofs of possession", function () {
      const sks = [0, 1, 2, 3].map(() => bls.keygen());
      const pks = sks.map((s) => bls.publicKey(s));
      for (const [i, s] of sks.entries()) expect(bls.popVerify(pks[i]!, bls.popProve(s))).to.equal(true);
      expect(bls.popVerify(pks[0]!, bls.popProve(sks[1]!))).to.equal(false);
      const agg = bls.aggregateSignatures(sks.map((s) => bls.sign(s, msg)));
      expect(bls.fastAggregateVerify(pks, msg, agg)).to.equal(true);
      expect(bls.fastAggregateVerify(pks.slice(1), msg, agg)).to.equal(false);
      expect(bls.verify(bls.aggregatePublicKeys(pks), msg, agg)).to.equal(true);
    });

    it("aggregates distinct messages", function () {
      const sks = [0, 1, 2].map(() => bls.keygen());
      const msgs = sks.map((_, i) => text(`reading ${i}`));
      const agg = bls.aggregateSignatures(sks.map((s, i) => bls.sign(s, msgs[i]!)));
      const pks = sks.map((s) => bls.publicKey(s));
      expect(bls.aggregateVerify(pks, msgs, agg)).to.equal(true);
      expect(bls.aggregateVerify(pks, [msgs[1]!, msgs[0]!, msgs[2]!], agg)).to.equal(false);
      expect(() => bls.aggregateVerify(pks, msgs.slice(1), agg)).to.throw(InvalidInputError);
    });

    it("batch-verifies independent signatures and catches one bad one", function () {
      const items = [0, 1, 2, 3, 4].map((i) => {
        const s = bls.keygen();
        const m = text(`batch ${i}`);
        return { message: m, publicKey: bls.publicKey(s), signature: bls.sign(s, m) };
      });
      expect(bls.batchVerify(items)).to.equal(true);
      const bad = [...items];
      bad[2] = { ...bad[2]!, message: text("forged") };
      expect(bls.batchVerify(bad)).to.equal(false);
      // a swap of two signatures cancels in a plain sum, not in a random combination
      const swapped = [...items];
      swapped[0] = { ...items[0]!, signature: items[1]!.signature };
      swapped[1] = { ...items[1]!, signature: items[0]!.signature };
      expect(bls.batchVerify(swapped)).to.equal(false);
    });

    it("round-trips sign/verify for random messages", function () {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (m) => bls.verify(pk, m, bls.sign(sk, m))),
        { numRuns: 8 },
      );
    });
  });
}

describe("bls interoperability", function () {
  this.timeout(60_000);
  const msg = text("interop");

  it("min-sig signatures verify with noble's own BLS API and the other way round", function () {
    const ours = minSig(mcl);
    const sk = ours.keygen();
    const nb = bls12_381.shortSignatures;
    const pkN = nb.getPublicKey(sk);
    expect(Buffer.from(pkN.toBytes(true)).equals(Buffer.from(ours.publicKey(sk)))).to.equal(true);
    const sigOurs = ours.sign(sk, msg);
    // noble defaults to the basic scheme's _NUL_ tag; the PoP ciphersuite's tag is passed explicitly
    expect(nb.verify(nb.Signature.fromBytes(sigOurs), nb.hash(msg, DST_MIN_SIG), pkN)).to.equal(true);
    expect(nb.verify(nb.Signature.fromBytes(sigOurs), nb.hash(msg), pkN)).to.equal(false);
    const sigNoble = nb.sign(nb.hash(msg, DST_MIN_SIG), sk).toBytes(true);
    expect(ours.verify(ours.publicKey(sk), msg, sigNoble)).to.equal(true);
  });

  it("min-pk signatures made on mcl verify with blst and the other way round", function () {
    const ours = minPkOn(mcl);
    const sk = ours.keygen();
    const sig = ours.sign(sk, msg);
    const bk = blst.SecretKey.fromBytes(sk);
    expect(blst.verify(msg, blst.PublicKey.fromBytes(ours.publicKey(sk)), blst.Signature.fromBytes(sig))).to.equal(
      true,
    );
    expect(ours.verify(bk.toPublicKey().toBytes(), msg, bk.sign(msg).toBytes())).to.equal(true);
  });

  it("KeyGen derives the same secret key as blst", function () {
    for (let i = 0; i < 5; i++) {
      const ikm = crypto.getRandomValues(new Uint8Array(32));
      const ours = keygen(ikm);
      const theirs = BigInt(`0x${Buffer.from(blst.SecretKey.fromKeygen(ikm).toBytes()).toString("hex")}`);
      expect(ours).to.equal(theirs);
    }
    expect(() => keygen(new Uint8Array(31))).to.throw(InvalidInputError);
    const ikm = crypto.getRandomValues(new Uint8Array(48));
    const info = new TextEncoder().encode("strata fog node 3");
    const withInfo = BigInt(`0x${Buffer.from(blst.SecretKey.fromKeygen(ikm, info).toBytes()).toString("hex")}`);
    expect(keygen(ikm, info)).to.equal(withInfo);
  });

  it("both backends agree on every result", function () {
    const a = minSig(mcl);
    const b = minSig(nobleBackend as PairingBackend);
    const sk = a.keygen();
    expect(a.publicKey(sk)).to.deep.equal(b.publicKey(sk));
    expect(a.sign(sk, msg)).to.deep.equal(b.sign(sk, msg));
  });
});
