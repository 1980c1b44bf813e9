/**
 * AEAD/HKDF, identity keys (single and t-of-n PKG), Cha–Cheon IBS, Boneh–Franklin
 * KEM + DEM and PEKS: round trips on both backends, cross-backend agreement, and
 * every negative case the schemes promise (wrong key, wrong identity, wrong
 * keyword, tampered ciphertext/tag/nonce, truncated input, invalid points).
 */
import { expect } from "chai";
import fc from "fast-check";

import { AeadKey, hkdf } from "../../../../sdk/core/crypto/aead.ts";
import { mclBackend, nobleBackend, type PairingBackend } from "../../../../sdk/core/crypto/backend.ts";
import { BonehFranklinKem, ENCAPSULATION_BYTES } from "../../../../sdk/core/crypto/ibe.ts";
import { ChaCheonIbs } from "../../../../sdk/core/crypto/ibs.ts";
import { checkPrivateKey, Pkg, ThresholdPkg } from "../../../../sdk/core/crypto/identity.ts";
import { Peks } from "../../../../sdk/core/crypto/peks.ts";
import { mod } from "../../../../sdk/core/crypto/scalar.ts";
import { DecryptionError, InvalidInputError, InvalidPointError, ThresholdError } from "../../../../sdk/index.ts";

const mcl = await mclBackend();
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const flip = (b: Uint8Array, i: number): Uint8Array => {
  const o = Uint8Array.from(b);
  o[i]! ^= 1;
  return o;
};

describe("aead", function () {
  const key = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
  const pt = enc("23.4 °C at node 7");
  const ad = enc("frame 12");

  it("round-trips with associated data, with a fresh nonce each time", function () {
    const a = key.seal(pt, ad);
    expect(key.open(a, ad)).to.deep.equal(pt);
    expect(key.seal(pt, ad)).to.not.deep.equal(a);
    fc.assert(
      fc.property(fc.uint8Array(), fc.uint8Array({ maxLength: 16 }), (m, d) => {
        expect(key.open(key.seal(m, d), d)).to.deep.equal(m);
      }),
      { numRuns: 50 },
    );
  });

  it("throws DecryptionError for a tampered nonce, body, tag, associated data or truncation", function () {
    const sealed = key.seal(pt, ad);
    for (const i of [0, 11, 12, sealed.length - 1])
      expect(() => key.open(flip(sealed, i), ad)).to.throw(DecryptionError);
    expect(() => key.open(sealed, enc("frame 13"))).to.throw(DecryptionError);
    expect(() => key.open(sealed.subarray(0, 20), ad)).to.throw(DecryptionError);
    expect(() => new AeadKey(crypto.getRandomValues(new Uint8Array(32))).open(sealed, ad)).to.throw(DecryptionError);
  });

  it("refuses keys of the wrong size", function () {
    expect(() => new AeadKey(new Uint8Array(16))).to.throw(InvalidInputError);
  });

  it("derives RFC 5869 HKDF-SHA256 (test case 1)", function () {
    const ikm = new Uint8Array(22).fill(0x0b);
    const salt = Uint8Array.from(Buffer.from("000102030405060708090a0b0c", "hex"));
    const info = Uint8Array.from(Buffer.from("f0f1f2f3f4f5f6f7f8f9", "hex"));
    expect(Buffer.from(hkdf(ikm, salt, info, 42)).toString("hex")).to.equal(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );
  });
});

for (const [name, backend] of [
  ["mcl", mcl],
  ["noble", nobleBackend],
] as Array<[string, PairingBackend]>) {
  describe(`identity-based schemes (${name})`, function () {
    this.timeout(120_000);
    const pkg = new Pkg(backend);
    const id = "strata://city/d7/edge-3#42";
    const d = pkg.extract(id);

    describe("PKG", function () {
      it("extracts keys that check against the master key, and only for their identity", function () {
        expect(checkPrivateKey(backend, pkg.masterPublic, id, d)).to.equal(true);
        expect(checkPrivateKey(backend, pkg.masterPublic, "strata://city/d7/edge-3#43", d)).to.equal(false);
        expect(checkPrivateKey(backend, new Pkg(backend).masterPublic, id, d)).to.equal(false);
        expect(() => pkg.extract("")).to.throw(InvalidInputError);
      });

      it("t-of-n PKGs give the same key as one PKG with the shared secret, and catch a bad part", function () {
        const { pkg: tpkg, shares } = ThresholdPkg.deal(backend, 2, 3);
        const parts = shares.map((s) => tpkg.extractPart(s, id));
        const key = tpkg.combine(id, [parts[2]!, parts[0]!]);
        expect(checkPrivateKey(backend, tpkg.masterPublic, id, key)).to.equal(true);
        const forged = tpkg.extractPart({ index: 2, secret: mod(shares[1]!.secret + 1n) }, id);
        expect(() => tpkg.combine(id, [parts[0]!, forged])).to.throw(ThresholdError);
        expect(() => tpkg.combine(id, [parts[0]!])).to.throw(ThresholdError);
      });
    });

    describe("Cha–Cheon IBS", function () {
      const ibs = new ChaCheonIbs(backend);
      const msg = enc("auth: node 42 -> BS 7, nonce 9f2c, t=1732280000");

      it("verifies a signature and refuses another identity, message or master key", function () {
        const sig = ibs.sign(id, d, msg);
        expect(ibs.verify(pkg.masterPublic, id, msg, sig)).to.equal(true);
        expect(ibs.verify(pkg.masterPublic, "strata://city/d7/edge-3#43", msg, sig)).to.equal(false);
        expect(ibs.verify(pkg.masterPublic, id, enc("auth: other"), sig)).to.equal(false);
        expect(ibs.verify(new Pkg(backend).masterPublic, id, msg, sig)).to.equal(false);
      });

      it("round-trips its encoding and refuses tampered bytes", function () {
        const bytes = ibs.encode(ibs.sign(id, d, msg));
        expect(ibs.verify(pkg.masterPublic, id, msg, ibs.decode(bytes))).to.equal(true);
        for (const i of [3, 50, 95]) {
          try {
            expect(ibs.verify(pkg.masterPublic, id, msg, ibs.decode(flip(bytes, i)))).to.equal(false);
          } catch (e) {
            expect(e).to.be.instanceOf(InvalidPointError);
          }
        }
        expect(() => ibs.decode(bytes.subarray(1))).to.throw(InvalidInputError);
      });

      it("batch-verifies many signers with two pairings and catches one forgery", function () {
        const items = [1, 2, 3, 4].map((i) => {
          const who = `strata://city/d7/edge-3#${i}`;
          const m = enc(`reading ${i}`);
          return { id: who, message: m, signature: ibs.sign(who, pkg.extract(who), m) };
        });
        expect(ibs.batchVerify(pkg.masterPublic, items)).to.equal(true);
        const bad = [...items];
        bad[1] = { ...bad[1]!, message: enc("forged") };
        expect(ibs.batchVerify(pkg.masterPublic, bad)).to.equal(false);
      });
    });

    describe("Boneh–Franklin KEM + AES-256-GCM", function () {
      const kem = new BonehFranklinKem(backend);

      it("agrees on a session key with the identity's holder only", function () {
        const { encapsulation, key } = kem.encapsulate(pkg.masterPublic, id);
        expect(encapsulation.length).to.equal(ENCAPSULATION_BYTES);
        expect(kem.decapsulate(id, d, encapsulation)).to.deep.equal(key);
        const other = "strata://city/d7/edge-3#43";
        expect(() => kem.decapsulate(other, pkg.extract(other), encapsulation)).to.throw(DecryptionError);
        expect(() => kem.decapsulate(id, new Pkg(backend).extract(id), encapsulation)).to.throw(DecryptionError);
      });

      it("refuses any altered encapsulation (the FO check), never a related key", function () {
        const { encapsulation } = kem.encapsulate(pkg.masterPublic, id);
        for (const i of [5, 95, 96, 127]) {
          expect(() => kem.decapsulate(id, d, flip(encapsulation, i))).to.throw(DecryptionError);
        }
        expect(() => kem.decapsulate(id, d, encapsulation.subarray(1))).to.throw(DecryptionError);
      });

      it("refuses a valid but different U (−U, or r'·G2): the re-encryption check itself", function () {
        const { encapsulation } = kem.encapsulate(pkg.masterPublic, id);
        const negated = Uint8Array.from(encapsulation);
        negated[0]! ^= 0x20; // the y-sign flag of the compressed G2 point: U becomes −U, still valid
        backend.g2.fromBytes(negated.subarray(0, 96));
        expect(() => kem.decapsulate(id, d, negated)).to.throw(DecryptionError, /re-encryption/);
        const other = Uint8Array.from(encapsulation);
        other.set(backend.g2.toBytes(backend.g2.mul(backend.g2.generator, 77n)), 0);
        expect(() => kem.decapsulate(id, d, other)).to.throw(DecryptionError, /re-encryption/);
      });

      it("encrypts hybrid messages bound to identity and associated data", function () {
        const pt = enc("session key negotiation payload");
        const ct = kem.encrypt(pkg.masterPublic, id, pt, enc("BS 7"));
        expect(kem.decrypt(id, d, ct, enc("BS 7"))).to.deep.equal(pt);
        expect(() => kem.decrypt(id, d, ct, enc("BS 8"))).to.throw(DecryptionError);
        expect(() => kem.decrypt(id, d, flip(ct, ct.length - 1), enc("BS 7"))).to.throw(DecryptionError);
        expect(() => kem.decrypt(id, d, flip(ct, ENCAPSULATION_BYTES + 2), enc("BS 7"))).to.throw(DecryptionError);
      });
    });

    describe("PEKS", function () {
      const peks = new Peks(backend);
      const owner = peks.keygen();

      it("a trapdoor finds its keyword and nothing else, without decrypting", function () {
        const sensitive = peks.trapdoor(owner.secret, "sensitive");
        const alarm = peks.trapdoor(owner.secret, "alarm");
        const c = peks.encrypt(owner.publicKey, "sensitive");
        expect(sensitive.test(c)).to.equal(true);
        expect(alarm.test(c)).to.equal(false);
        expect(peks.trapdoor(peks.keygen().secret, "sensitive").test(c)).to.equal(false);
        expect(peks.encrypt(owner.publicKey, "sensitive")).to.not.deep.equal(c);
      });

      it("refuses tampered and malformed keyword ciphertexts", function () {
        const t = peks.trapdoor(owner.secret, "alarm");
        const c = peks.encrypt(owner.publicKey, "alarm");
        expect(t.test(flip(c, 70))).to.equal(false);
        expect(() => t.test(c.subarray(1))).to.throw(InvalidInputError);
        try {
          expect(t.test(flip(c, 10))).to.equal(false);
        } catch (e) {
          expect(e).to.be.instanceOf(InvalidPointError);
        }
        const trapBytes = backend.g2.toBytes(t.point);
        expect(peks.trapdoorFromBytes(trapBytes).test(c)).to.equal(true);
      });
    });
  });
}

describe("identity-based schemes across backends", function () {
  this.timeout(60_000);
  it("data made on mcl is read on noble and vice versa", function () {
    const secret = 987654321n;
    const [pm, pn] = [new Pkg(mcl, secret), new Pkg(nobleBackend, secret)];
    const id = "strata://x/bs-1#1";
    expect(mcl.g1.toBytes(pm.extract(id))).to.deep.equal(nobleBackend.g1.toBytes(pn.extract(id)));
    const ct = new BonehFranklinKem(mcl).encrypt(pm.masterPublic, id, enc("hello"));
    expect(new BonehFranklinKem(nobleBackend).decrypt(id, pn.extract(id), ct)).to.deep.equal(enc("hello"));
    const sig = new ChaCheonIbs(nobleBackend).sign(id, pn.extract(id), enc("m"));
    const bytes = new ChaCheonIbs(nobleBackend).encode(sig);
    const ibsM = new ChaCheonIbs(mcl);
    expect(ibsM.verify(pm.masterPublic, id, enc("m"), ibsM.decode(bytes))).to.equal(true);
    const peksN = new Peks(nobleBackend);
    const c = peksN.encrypt(peksN.keygen(secret).publicKey, "alarm");
    expect(new Peks(mcl).trapdoor(secret, "alarm").test(c)).to.equal(true);
  });
});

describe("EIP-2537 encodings", function () {
  it("are the same on both backends", async function () {
    const { g1ToEip2537, g2ToEip2537 } = await import("../../../../sdk/core/crypto/eip2537.ts");
    for (const k of [1n, 2n, 123456789n]) {
      const p1 = mcl.g1.mul(mcl.g1.generator, k);
      const n1 = nobleBackend.g1.mul(nobleBackend.g1.generator, k);
      expect(g1ToEip2537(mcl, p1)).to.deep.equal(g1ToEip2537(nobleBackend, n1));
      const p2 = mcl.g2.mul(mcl.g2.generator, k);
      const n2 = nobleBackend.g2.mul(nobleBackend.g2.generator, k);
      expect(g2ToEip2537(mcl, p2)).to.deep.equal(g2ToEip2537(nobleBackend, n2));
    }
    expect(g1ToEip2537(mcl, mcl.g1.zero)).to.deep.equal(new Uint8Array(128));
  });
});
