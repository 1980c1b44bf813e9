import { expect } from "chai";
import fc from "fast-check";
import { p256 } from "@noble/curves/nist.js";
import { keccak256 } from "ethers";

import { InvalidInputError } from "../../../sdk/index.ts";
import {
  decodeProfile,
  encodeProfile,
  isUnderClass,
  minimalProfile,
  type Profile,
  profileHash,
} from "../../../sdk/exports/registry.ts";

const p256Key = (): Uint8Array => p256.getPublicKey(p256.utils.randomSecretKey(), false).slice(1);

describe("core/profile", function () {
  const full: Profile = {
    identity: new Uint8Array(48).fill(7),
    p256PublicKey: p256Key(),
    classPath: "Device/Meter/Electric",
    metadataURI: "ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
    metadataHash: `0x${"ab".repeat(32)}`,
  };

  it("hashes the canonical encoding", function () {
    expect(profileHash(full)).to.equal(keccak256(encodeProfile(full)));
  });

  it("changes the hash when any field changes", function () {
    const variants: Profile[] = [
      { ...full, identity: new Uint8Array(48).fill(8) },
      { ...full, p256PublicKey: new Uint8Array() },
      { ...full, classPath: "Device/Meter/Water" },
      { ...full, metadataURI: "ipfs://other" },
      { ...full, metadataHash: `0x${"cd".repeat(32)}` },
    ];
    for (const v of variants) expect(profileHash(v)).to.not.equal(profileHash(full));
  });

  it("round-trips through encode and decode", function () {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 192 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,12}(\/[A-Za-z0-9_-]{1,12}){0,3}$/),
        fc.stringMatching(/^[a-z]{1,8}:\/\/[a-z0-9/]{0,30}$/),
        (identity, classPath, metadataURI) => {
          const p: Profile = { ...full, identity, classPath, metadataURI };
          expect(decodeProfile(encodeProfile(p))).to.deep.equal(p);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("throws InvalidInputError naming the bad field", function () {
    expect(() => profileHash({ ...full, identity: new Uint8Array(193) })).to.throw(InvalidInputError, /identity/);
    expect(() => profileHash({ ...full, p256PublicKey: new Uint8Array(33) })).to.throw(
      InvalidInputError,
      /p256PublicKey/,
    );
    const offCurve = new Uint8Array(64).fill(1);
    expect(() => profileHash({ ...full, p256PublicKey: offCurve })).to.throw(InvalidInputError, /not a point on P-256/);
    for (const classPath of ["", "/Device", "Device//Meter", "Device/Me ter"]) {
      expect(() => profileHash({ ...full, classPath })).to.throw(InvalidInputError, /classPath/);
    }
    expect(() => profileHash({ ...full, metadataURI: "has space" })).to.throw(InvalidInputError, /metadataURI/);
    expect(() => profileHash({ ...full, metadataHash: "0x1234" })).to.throw(InvalidInputError, /metadataHash/);
    expect(() => decodeProfile("0x1234")).to.throw(InvalidInputError, /not an encoded profile/);
  });

  it("throws InvalidInputError, never a raw decoding error, for an encoding with any byte changed", function () {
    const bytes = Buffer.from(encodeProfile(full).slice(2), "hex");
    let refused = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const v of [0x00, 0x01, 0x80, 0xff]) {
        if (bytes[i] === v) continue;
        const mutated = Buffer.from(bytes);
        mutated[i] = v;
        try {
          decodeProfile(`0x${mutated.toString("hex")}`);
        } catch (e) {
          expect(e, `byte ${i} set to ${v}`).to.be.instanceOf(InvalidInputError);
          refused++;
        }
      }
    }
    expect(refused).to.be.greaterThan(0);
    // a truncated encoding and one that is no hex at all
    expect(() => decodeProfile(`0x${bytes.subarray(0, 100).toString("hex")}`)).to.throw(InvalidInputError);
    expect(() => decodeProfile("0xzz" as `0x${string}`)).to.throw(InvalidInputError);
  });

  it("tells whether a class is under another", function () {
    expect(isUnderClass("Device/Meter/Electric", "Device/Meter")).to.equal(true);
    expect(isUnderClass("Device/Meter", "Device/Meter")).to.equal(true);
    expect(isUnderClass("Device/MeterX", "Device/Meter")).to.equal(false);
    expect(minimalProfile("Device").classPath).to.equal("Device");
  });
});
