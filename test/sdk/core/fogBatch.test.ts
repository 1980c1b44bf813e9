/**
 * core/fogBatch: the messages a fog cluster signs for `DataAnchor` — known
 * answers against an EIP-712 encoding written out here with noble's keccak,
 * every input check, the proof-of-possession message against both pairing
 * backends, point validation of keys and signatures, and round trips: sign
 * shares over `fogBatchMessage` combine into a signature the group key verifies,
 * and any change of a field changes the message (property tests).
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import { expect } from "chai";
import fc from "fast-check";

import { concat, fromHex, type Hex, toHex, uint256 } from "../../../sdk/core/bytes.ts";
import { mclBackend, nobleBackend } from "../../../sdk/core/crypto/backend.ts";
import { DST_MIN_SIG, DST_MIN_SIG_POP, minSig } from "../../../sdk/core/crypto/bls.ts";
import { g1ToEip2537, g2ToEip2537 } from "../../../sdk/core/crypto/eip2537.ts";
import { ThresholdScheme } from "../../../sdk/core/crypto/threshold.ts";
import {
  anchorDomain,
  checkGroupKey,
  checkGroupSignature,
  checkMembers,
  checkSequence,
  FOG_BATCH_DST,
  FOG_POP_DST,
  fogBatchDigest,
  type FogBatchInput,
  fogBatchMessage,
  fogClusterDigest,
  type FogClusterInput,
  fogPopMessage,
  MAX_FOG_CLUSTER_MEMBERS,
} from "../../../sdk/core/fogBatch.ts";
import { InvalidInputError, InvalidPointError, type PointRejection } from "../../../sdk/errors.ts";
import { G1_OFF_CURVE, G1_OUTSIDE_SUBGROUP, G2_OFF_CURVE, g2OutsideSubgroup } from "../../contracts/crypto/helpers.ts";

const ANCHOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const CLUSTER = `0x${"c1".repeat(32)}` as Hex;
const ROOT = `0x${"7e".repeat(32)}` as Hex;
const MEMBERS = [`0x${"01".repeat(32)}`, `0x${"02".repeat(32)}`] as Hex[];
const KEY_42 = g2ToEip2537(nobleBackend, nobleBackend.g2.mul(nobleBackend.g2.generator, 42n));

const BATCH: FogBatchInput = {
  chainId: 31337n,
  anchor: ANCHOR,
  cluster: CLUSTER,
  sequence: 7n,
  root: ROOT,
  leafCount: 1n << 20n,
};
const CLUSTER_KEY: FogClusterInput = {
  chainId: 31337n,
  anchor: ANCHOR,
  cluster: CLUSTER,
  groupKey: KEY_42,
  threshold: 2,
  members: MEMBERS,
  epoch: 1,
};

// ------------------------------------------- an independent EIP-712 encoder

const keccak = (...parts: Uint8Array[]): Uint8Array => keccak_256(concat(...parts));
const typeHash = (s: string): Uint8Array => keccak(utf8ToBytes(s));
const word = (hex: string): Uint8Array => fromHex(hex, "word", 32);
const address = (a: string): Uint8Array => concat(new Uint8Array(12), fromHex(a, "address", 20));

function domainSeparator(chainId: bigint, anchor: string): Uint8Array {
  return keccak(
    typeHash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
    typeHash("Strata DataAnchor"),
    typeHash("1"),
    uint256(chainId, "chainId"),
    address(anchor),
  );
}

function typedDigest(chainId: bigint, anchor: string, structHash: Uint8Array): Hex {
  return toHex(keccak(Uint8Array.of(0x19, 0x01), domainSeparator(chainId, anchor), structHash));
}

function expectedBatchDigest(b: FogBatchInput): Hex {
  const struct = keccak(
    typeHash("FogBatch(bytes32 cluster,uint64 sequence,bytes32 root,uint64 leafCount)"),
    word(b.cluster),
    uint256(b.sequence, "sequence"),
    word(b.root),
    uint256(BigInt(b.leafCount), "leafCount"),
  );
  return typedDigest(b.chainId, b.anchor, struct);
}

function expectedClusterDigest(c: FogClusterInput): Hex {
  const struct = keccak(
    typeHash("FogCluster(bytes32 cluster,bytes groupKey,uint8 threshold,bytes32[] members,uint32 epoch)"),
    word(c.cluster),
    keccak(c.groupKey),
    uint256(BigInt(c.threshold), "threshold"),
    keccak(...c.members.map(word)),
    uint256(BigInt(c.epoch), "epoch"),
  );
  return typedDigest(c.chainId, c.anchor, struct);
}

function rejection(run: () => unknown): PointRejection | undefined {
  try {
    run();
  } catch (e) {
    if (e instanceof InvalidPointError) return e.reason;
    throw e;
  }
  return undefined;
}

describe("core/fogBatch", function () {
  describe("fogBatchMessage / fogBatchDigest", function () {
    it("is the EIP-712 digest of FogBatch in DataAnchor's domain (known answer)", function () {
      expect(fogBatchDigest(BATCH)).to.equal("0x85fb157e32ea4d5b25023ac1aa33d4f08adb05abecfe86d30a2de90da79523eb");
      expect(fogBatchDigest(BATCH)).to.equal(expectedBatchDigest(BATCH));
      expect(toHex(fogBatchMessage(BATCH))).to.equal(fogBatchDigest(BATCH));
      expect(fogBatchMessage(BATCH)).to.have.length(32);
    });

    it("does not depend on the address's checksum case", function () {
      expect(fogBatchDigest({ ...BATCH, anchor: ANCHOR.toLowerCase() })).to.equal(fogBatchDigest(BATCH));
    });

    it("changes with every field, and equals the independent encoding for any input (property)", function () {
      const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b));
      const input = fc.record({
        chainId: fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }),
        anchor: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => toHex(b) as string),
        cluster: hex32,
        sequence: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
        root: hex32.filter((h) => !/^0x0{64}$/.test(h)),
        leafCount: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
      });
      fc.assert(
        fc.property(input, input, (a, b) => {
          expect(fogBatchDigest(a)).to.equal(expectedBatchDigest(a));
          for (const field of Object.keys(a) as (keyof FogBatchInput)[]) {
            const changed = { ...a, [field]: b[field] };
            const same =
              String(b[field]).toLowerCase() === String(a[field]).toLowerCase() && typeof b[field] === typeof a[field];
            expect(fogBatchDigest(changed) === fogBatchDigest(a)).to.equal(same);
          }
        }),
        { numRuns: 50 },
      );
    });

    it("refuses malformed input with InvalidInputError naming the field", function () {
      const bad: [Partial<FogBatchInput>, string][] = [
        [{ chainId: 0n }, "chainId"],
        [{ chainId: 1 as unknown as bigint }, "chainId"],
        [{ anchor: "0x1234" }, "anchor"],
        [{ anchor: "5FbDB2315678afecb367f032d93F642f64180aa3" }, "anchor"],
        [{ cluster: "0x12" as Hex }, "cluster"],
        [{ sequence: 0n }, "sequence"],
        [{ sequence: 1n << 64n }, "sequence"],
        [{ sequence: 1 as unknown as bigint }, "sequence"],
        [{ root: `0x${"00".repeat(32)}` as Hex }, "root"],
        [{ root: "0xzz" as Hex }, "root"],
        [{ leafCount: 0 }, "leafCount"],
        [{ leafCount: 1n << 64n }, "leafCount"],
        [{ leafCount: 1.5 }, "leafCount"],
      ];
      for (const [override, field] of bad) {
        expect(() => fogBatchMessage({ ...BATCH, ...override }), field)
          .to.throw(InvalidInputError)
          .with.property("shortMessage")
          .that.contains(field);
      }
      expect(checkSequence((1n << 64n) - 1n)).to.equal((1n << 64n) - 1n);
      expect(anchorDomain(1n, ANCHOR).verifyingContract).to.equal(ANCHOR.toLowerCase());
    });
  });

  describe("fogClusterDigest", function () {
    it("is the EIP-712 digest of FogCluster (bytes hashed, bytes32[] hashed as its words; known answer)", function () {
      expect(fogClusterDigest(CLUSTER_KEY)).to.equal(
        "0x84fa29b55a6bfb9b592b5fbf882aa1e3b91624d55b5c785c103601d51989dffe",
      );
      expect(fogClusterDigest(CLUSTER_KEY)).to.equal(expectedClusterDigest(CLUSTER_KEY));
      expect(fogClusterDigest({ ...CLUSTER_KEY, epoch: 2 })).to.not.equal(fogClusterDigest(CLUSTER_KEY));
      expect(fogClusterDigest({ ...CLUSTER_KEY, members: [...MEMBERS].reverse() })).to.not.equal(
        fogClusterDigest(CLUSTER_KEY),
      );
    });

    it("refuses a bad threshold, member list, epoch or key", function () {
      const bad: [Partial<FogClusterInput>, string][] = [
        [{ threshold: 0 }, "threshold"],
        [{ threshold: 3 }, "threshold"],
        [{ members: [] }, "members"],
        [{ members: [MEMBERS[0]!, MEMBERS[0]!] }, "distinct"],
        [{ members: [MEMBERS[0]!, CLUSTER] }, "own member"],
        [{ members: ["0x01" as Hex] }, "members[0]"],
        [{ epoch: 0 }, "epoch"],
        [{ epoch: 2 ** 32 }, "epoch"],
        [{ groupKey: KEY_42.slice(1) }, "groupKey"],
      ];
      for (const [override, field] of bad) {
        expect(() => fogClusterDigest({ ...CLUSTER_KEY, ...override }), field)
          .to.throw(InvalidInputError)
          .with.property("shortMessage")
          .that.contains(field);
      }
      const many = Array.from({ length: MAX_FOG_CLUSTER_MEMBERS + 1 }, (_, i) => toHex(uint256(BigInt(i + 1), "m")));
      expect(() => checkMembers(many, CLUSTER)).to.throw(InvalidInputError, /1 to 64/);
      expect(checkMembers(many.slice(1), CLUSTER)).to.have.length(64);
    });
  });

  describe("fogPopMessage and point checks", function () {
    it("is the key's compressed encoding on both backends (what verifyPossession signs)", async function () {
      const mcl = await mclBackend();
      for (const k of [1n, 42n, 2n ** 200n + 7n]) {
        const q = mcl.g2.mul(mcl.g2.generator, k);
        expect(fogPopMessage(g2ToEip2537(mcl, q))).to.deep.equal(mcl.g2.toBytes(q));
        expect(fogPopMessage(g2ToEip2537(mcl, q))).to.deep.equal(
          nobleBackend.g2.toBytes(nobleBackend.g2.mul(nobleBackend.g2.generator, k)),
        );
      }
      expect(toHex(fogPopMessage(KEY_42))).to.equal(
        "0xac7fa63dfc38bbf3712e27a180391bca4ccabf609c5967a0592eff420b6235f3f2b323051cb099acc3969aca310f7ff4" +
          "191b2d6db43fafc2c9592f7e5f73981107975d3d92b843891e724dbc9f05b5eee5a3b2b1fc782ede8149f30830b84444",
      );
      expect([FOG_BATCH_DST, FOG_POP_DST]).to.deep.equal([DST_MIN_SIG, DST_MIN_SIG_POP]);
    });

    it("refuses keys that are not points of G2 other than the identity", function () {
      const padded = KEY_42.slice();
      padded[0] = 1;
      const aboveP = KEY_42.slice();
      aboveP.fill(0xff, 16, 64);
      expect(rejection(() => checkGroupKey(new Uint8Array(256)))).to.equal("identity");
      expect(rejection(() => checkGroupKey(padded))).to.equal("encoding");
      expect(rejection(() => checkGroupKey(aboveP))).to.equal("encoding");
      expect(rejection(() => checkGroupKey(G2_OFF_CURVE))).to.equal("not-on-curve");
      expect(rejection(() => checkGroupKey(g2OutsideSubgroup()))).to.equal("not-in-subgroup");
      expect(() => checkGroupKey(KEY_42.slice(0, 255))).to.throw(InvalidInputError, /256 bytes/);
      expect(() => checkGroupKey(toHex(KEY_42) as unknown as Uint8Array)).to.throw(InvalidInputError, /Uint8Array/);
      expect(checkGroupKey(KEY_42)).to.equal(KEY_42);
    });

    it("refuses signatures that are not points of G1 other than the identity", function () {
      const good = g1ToEip2537(nobleBackend, nobleBackend.g1.mul(nobleBackend.g1.generator, 5n));
      expect(checkGroupSignature(good)).to.equal(good);
      expect(rejection(() => checkGroupSignature(new Uint8Array(128)))).to.equal("identity");
      expect(rejection(() => checkGroupSignature(G1_OFF_CURVE))).to.equal("not-on-curve");
      expect(rejection(() => checkGroupSignature(G1_OUTSIDE_SUBGROUP))).to.equal("not-in-subgroup");
      expect(() => checkGroupSignature(good.slice(0, 127))).to.throw(InvalidInputError, /128 bytes/);
    });
  });

  describe("round trip with threshold sign shares", function () {
    it("any t of n shares over fogBatchMessage make a signature the group key verifies; t - 1 do not", async function () {
      const backend = await mclBackend();
      const th = new ThresholdScheme(backend);
      const bls = minSig(backend);
      const { shares, commitments } = th.deal(3, 5);
      const groupKey = th.groupKey(commitments);
      const message = fogBatchMessage(BATCH);
      const { signature } = th.combine(
        commitments,
        message,
        [2, 4, 5].map((i) => th.partialSign(shares[i - 1]!, message)),
      );
      const pk = backend.g2.toBytes(groupKey);
      expect(bls.verify(pk, message, backend.g1.toBytes(signature))).to.equal(true);
      expect(checkGroupSignature(g1ToEip2537(backend, signature))).to.have.length(128);
      const forged = th.interpolate([1, 3].map((i) => th.partialSign(shares[i - 1]!, message)));
      expect(bls.verify(pk, message, backend.g1.toBytes(forged))).to.equal(false);
      // The proof of possession: shares under the POP tag over the key's compressed encoding.
      const popMessage = fogPopMessage(g2ToEip2537(backend, groupKey));
      const proof = th.combine(
        commitments,
        popMessage,
        [1, 2, 3].map((i) => th.partialSign(shares[i - 1]!, popMessage, FOG_POP_DST)),
        FOG_POP_DST,
      ).signature;
      expect(bls.popVerify(pk, backend.g1.toBytes(proof))).to.equal(true);
    });
  });
});
