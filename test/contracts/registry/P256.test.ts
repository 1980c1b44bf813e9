/**
 * Secure-element device keys (P-256, secp256r1): registration, re-key and signature checks by
 * `DeviceRegistry` through the EIP-7951 precompile, the SDK's off-chain rule agreeing with the
 * chain's, peer authentication and access requests answered by a P-256 key.
 */
import { expect } from "chai";
import { p256 } from "@noble/curves/nist.js";
import { network } from "hardhat";

import { deviceId, type Hex, InvalidInputError, PeerAuthenticationError, toHex } from "../../../sdk/index.ts";
import {
  buildRegistration,
  encodeP256DeviceSignature,
  Kind,
  Label,
  minimalProfile,
  newChallenge,
  p256Address,
  type P256Signer,
  p256SoftwareKey,
  randomP256PrivateKey,
  signP256Digest,
  Status,
  verifyKeySignature,
} from "../../../sdk/exports/registry.ts";
import {
  accessDomain,
  accessScope,
  checkAccessRequest,
  newAccessRequest,
  signAccessRequestP256,
} from "../../../sdk/exports/access.ts";
import {
  type City,
  coordinator,
  FAR_DEADLINE,
  fullNode,
  lightweight,
  registryFixture,
  TEST_CONFIG,
  TEST_LAYERS,
} from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

const N = p256.Point.CURVE().n;
let nextLocalId = 1_000_000n;

function p256Registration(address: string, label: Label = Label.Lightweight) {
  const uuid = { layer: TEST_LAYERS[0], localId: nextLocalId++ };
  const req = buildRegistration({
    uuid,
    key: address,
    kind: Kind.Device,
    label,
    permissions: 1,
    profile: minimalProfile("Device/Sensor/Air"),
    deadline: FAR_DEADLINE,
  });
  return { req, uuid };
}

/** A signature with s flipped to n − s: the same signature in its second (refused) encoding. */
function highS(sig: { r: Hex; s: Hex }): { r: Hex; s: Hex } {
  return { r: sig.r, s: toHex(ethers.getBytes(ethers.toBeHex(N - BigInt(sig.s), 32))) };
}

describe("DeviceRegistry: P-256 device keys (EIP-7951)", function () {
  let city: City;
  beforeEach(async function () {
    city = await loadFixture(deployRegistryFixture);
  });

  it("derives a P-256 key's device address exactly as the SDK does", async function () {
    for (let i = 0; i < 4; i++) {
      const key = p256SoftwareKey(randomP256PrivateKey());
      expect(await city.registry.p256Address(key.publicKey)).to.equal(key.address);
      expect(p256Address(key.publicKey)).to.equal(key.address);
    }
  });

  it("registers a device whose secure element signs with P-256, and logs its public key", async function () {
    const key = p256SoftwareKey(randomP256PrivateKey());
    const { req, uuid } = p256Registration(key.address);
    const sig = await city.client.signRegistrationP256(key, req, city.operator.address);
    const id = deviceId(uuid);
    await expect(city.registry.connect(city.operator).registerP256(req, key.publicKey, sig))
      .to.emit(city.registry, "P256KeyBound")
      .withArgs(id, key.address, key.publicKey.x, key.publicKey.y)
      .and.to.emit(city.registry, "DeviceRegistered");
    const rec = await city.client.getDevice(id);
    expect(rec).to.deep.include({ key: key.address, owner: city.operator.address, status: Status.Pending });
    const history = await city.client.history(id);
    expect(history.map((h) => h.event)).to.include("P256KeyBound");
  });

  it("refuses a P-256 registration signed by another key, for another owner, in its high-s form, or off the curve", async function () {
    const key = p256SoftwareKey(randomP256PrivateKey());
    const other = p256SoftwareKey(randomP256PrivateKey());
    const { req } = p256Registration(key.address);
    const registry = city.registry.connect(city.operator);
    const good = await city.client.signRegistrationP256(key, req, city.operator.address);

    // the public key given is not the one registered
    await expect(registry.registerP256(req, other.publicKey, good))
      .to.be.revertedWithCustomError(city.registry, "RegistryP256KeyMismatch")
      .withArgs(key.address, other.address);
    // right key, signature made by another P-256 key
    const { req: req2 } = p256Registration(key.address);
    const forged = await other.signDigest((await city.registry.registrationDigest(req2, city.operator.address)) as Hex);
    await expect(registry.registerP256(req2, key.publicKey, forged))
      .to.be.revertedWithCustomError(city.registry, "RegistryInvalidSignature")
      .withArgs(key.address, ethers.ZeroAddress);
    // signed for another owner
    const forStranger = await city.client.signRegistrationP256(key, req, city.stranger.address);
    await expect(registry.registerP256(req, key.publicKey, forStranger)).to.be.revertedWithCustomError(
      city.registry,
      "RegistryInvalidSignature",
    );
    // the same signature with s' = n − s: one encoding only
    await expect(registry.registerP256(req, key.publicKey, highS(good))).to.be.revertedWithCustomError(
      city.registry,
      "RegistryInvalidSignature",
    );
    // a "key" that is not a point of P-256 (its address derived from it all the same)
    const offCurve = {
      x: key.publicKey.x,
      y: toHex(ethers.getBytes(ethers.toBeHex(BigInt(key.publicKey.y) ^ 1n, 32))),
    };
    const offAddress = ethers.getAddress(
      `0x${ethers.keccak256(ethers.concat([ethers.toUtf8Bytes("strata.p256"), offCurve.x, offCurve.y])).slice(-40)}`,
    );
    const { req: req3 } = p256Registration(offAddress);
    await expect(registry.registerP256(req3, offCurve, good))
      .to.be.revertedWithCustomError(city.registry, "RegistryInvalidP256Key")
      .withArgs(offCurve.x, offCurve.y);
    // nothing was registered by any of these
    expect(
      (await city.client.getDevice(deviceId({ layer: TEST_LAYERS[0], localId: BigInt(req.localId) }))).status,
    ).to.equal(Status.None);
    // and the good one still goes through
    await expect(registry.registerP256(req, key.publicKey, good)).to.emit(city.registry, "DeviceRegistered");
    // a key, once bound, is never bound again
    const { req: again } = p256Registration(key.address);
    const sigAgain = await city.client.signRegistrationP256(key, again, city.operator.address);
    await expect(registry.registerP256(again, key.publicKey, sigAgain))
      .to.be.revertedWithCustomError(city.registry, "RegistryKeyInUse")
      .withArgs(key.address);
  });

  it("brings a secure element's high-s signature to s ≤ n/2, and refuses a signer whose signature is not its key's", async function () {
    const soft = p256SoftwareKey(randomP256PrivateKey());
    // a secure element returns either encoding; the contracts take only the low one
    const element: P256Signer = { ...soft, signDigest: async (d) => highS(await soft.signDigest(d)) };
    const { req } = p256Registration(element.address);
    const sig = await city.client.signRegistrationP256(element, req, city.operator.address);
    expect(BigInt(sig.s) <= N / 2n).to.equal(true);
    await expect(city.registry.connect(city.operator).registerP256(req, element.publicKey, sig)).to.emit(
      city.registry,
      "DeviceRegistered",
    );
    const other = p256SoftwareKey(randomP256PrivateKey());
    const liar: P256Signer = { ...soft, signDigest: (d) => other.signDigest(d) };
    const { req: req2 } = p256Registration(soft.address);
    try {
      await city.client.signRegistrationP256(liar, req2, city.operator.address);
      expect.fail("should have thrown");
    } catch (e) {
      expect(e).to.be.instanceOf(InvalidInputError);
    }
  });

  it("agrees with the SDK's verifyKeySignature on valid, tampered, high-s and malformed signatures of both curves", async function () {
    const p = p256SoftwareKey(randomP256PrivateKey());
    const k = ethers.Wallet.createRandom();
    const cases: { key: string; digest: Hex; signature: Hex; expected: boolean; what: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const digest = ethers.hexlify(ethers.randomBytes(32)) as Hex;
      const pSig = await p.signDigest(digest);
      const pEncoded = encodeP256DeviceSignature(p.publicKey, pSig);
      const kSig = ethers.Signature.from(k.signingKey.sign(digest));
      const kSerialized = kSig.serialized as Hex;
      const flippedDigest = ethers.hexlify(ethers.randomBytes(32)) as Hex;
      const kHigh = ethers.concat([
        kSig.r,
        ethers.toBeHex(ethers.N - BigInt(kSig.s), 32),
        kSig.v === 27 ? "0x1c" : "0x1b",
      ]);
      const kZeroV = ethers.concat([kSig.r, kSig.s, kSig.v === 27 ? "0x00" : "0x01"]);
      cases.push(
        { key: p.address, digest, signature: pEncoded, expected: true, what: "P-256" },
        { key: p.address, digest: flippedDigest, signature: pEncoded, expected: false, what: "P-256, other digest" },
        {
          key: p.address,
          digest,
          signature: encodeP256DeviceSignature(p.publicKey, highS(pSig)),
          expected: false,
          what: "P-256 high s",
        },
        { key: k.address, digest, signature: pEncoded, expected: false, what: "P-256 for a secp256k1 key" },
        { key: k.address, digest, signature: kSerialized, expected: true, what: "secp256k1" },
        { key: p.address, digest, signature: kSerialized, expected: false, what: "secp256k1 for a P-256 key" },
        { key: k.address, digest, signature: kHigh as Hex, expected: false, what: "secp256k1 high s" },
        { key: k.address, digest, signature: kZeroV as Hex, expected: false, what: "secp256k1 v = 0/1" },
        { key: k.address, digest, signature: kSerialized.slice(0, 130) as Hex, expected: false, what: "64 bytes" },
        { key: p.address, digest, signature: "0x" as Hex, expected: false, what: "empty" },
        { key: ethers.ZeroAddress, digest, signature: kSerialized, expected: false, what: "zero key" },
      );
    }
    for (const c of cases) {
      const chain = await city.registry.isValidKeySignature(c.key, c.digest, c.signature);
      expect(chain, `chain: ${c.what}`).to.equal(c.expected);
      expect(verifyKeySignature(c.key, c.digest, c.signature), `SDK: ${c.what}`).to.equal(c.expected);
    }
  });

  it("keeps P-256 keys to lightweight devices: a node that must send transactions cannot hold one", async function () {
    const cs = [await coordinator(city), await coordinator(city)];
    const registry = city.registry.connect(city.operator);
    for (const label of [Label.Full, Label.Coordination]) {
      const key = p256SoftwareKey(randomP256PrivateKey());
      const { req } = p256Registration(key.address, label);
      const sig = await city.client.signRegistrationP256(key, req, city.operator.address);
      await expect(registry.registerP256(req, key.publicKey, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryP256NotLightweight")
        .withArgs(label);
    }
    const f = await fullNode(city, cs);
    const next = p256SoftwareKey(randomP256PrivateKey());
    const sig = await city.client.signRekeyP256(next, f.id, FAR_DEADLINE);
    await expect(registry.requestRekeyP256(f.id, next.publicKey, FAR_DEADLINE, sig))
      .to.be.revertedWithCustomError(city.registry, "RegistryP256NotLightweight")
      .withArgs(Label.Full);
  });

  it("re-keys a secp256k1 lightweight device to a P-256 key once k coordinators approve", async function () {
    const cs = [await coordinator(city), await coordinator(city)];
    const f = await lightweight(city, cs[0]!, await fullNode(city, cs));
    const next = p256SoftwareKey(randomP256PrivateKey());
    const sig = await city.client.signRekeyP256(next, f.id, FAR_DEADLINE);
    await expect(city.registry.connect(city.operator).requestRekeyP256(f.id, next.publicKey, FAR_DEADLINE, sig))
      .to.emit(city.registry, "P256KeyBound")
      .withArgs(f.id, next.address, next.publicKey.x, next.publicKey.y);
    for (const c of cs.slice(0, TEST_CONFIG.fullNodeApprovals)) await city.client.connect(c.key).approve(c.id, f.id);
    expect((await city.client.getDevice(f.id)).key).to.equal(next.address);
    const digest = ethers.hexlify(ethers.randomBytes(32)) as Hex;
    const signature = encodeP256DeviceSignature(
      next.publicKey,
      signP256Digest(ethers.getBytes(ethers.ZeroHash).fill(1), digest),
    );
    expect(await city.client.isValidDeviceSignature(f.id, digest, signature)).to.equal(false);
    const good = encodeP256DeviceSignature(next.publicKey, await next.signDigest(digest));
    expect(await city.client.isValidDeviceSignature(f.id, digest, good)).to.equal(true);
    // a replayed re-key signature (same nonce) is refused
    await expect(
      city.registry.connect(city.operator).requestRekeyP256(f.id, next.publicKey, FAR_DEADLINE, sig),
    ).to.be.revertedWithCustomError(city.registry, "RegistryKeyInUse");
  });

  describe("a P-256 device authenticates to a peer and asks for access", function () {
    async function p256Device() {
      const cs = [await coordinator(city), await coordinator(city)];
      const serving = await fullNode(city, cs);
      const key = p256SoftwareKey(randomP256PrivateKey());
      const { req } = p256Registration(key.address);
      const sig = await city.client.signRegistrationP256(key, req, city.operator.address);
      const { id } = await city.client.connect(city.operator).registerP256(req, key.publicKey, sig);
      await city.client.connect(cs[0]!.key).approve(cs[0]!.id, id, serving.id);
      return { key, id, verifier: serving };
    }

    it("answers a peer challenge the registry checks on chain", async function () {
      const { key, id, verifier } = await p256Device();
      const now = 1_800_000_000n;
      const challenge = newChallenge(id, verifier.id, crypto.getRandomValues(new Uint8Array(32)), now);
      const signature = await city.client.signChallenge(key, challenge);
      expect((signature.length - 2) / 2).to.equal(128);
      const record = await city.client.verifyPeer({ expected: challenge, answered: challenge, signature, now });
      expect(record.key).to.equal(key.address);

      const impostor = p256SoftwareKey(randomP256PrivateKey());
      const forged = await city.client.signChallenge(impostor, challenge);
      try {
        await city.client.verifyPeer({ expected: challenge, answered: challenge, signature: forged, now });
        expect.fail("should have thrown");
      } catch (e) {
        expect(e).to.be.instanceOf(PeerAuthenticationError);
        expect((e as PeerAuthenticationError).reason).to.equal("wrong-signer");
      }
      // a 128-byte answer that is not even hex is refused as the wrong signer, not a network fault
      try {
        await city.client.verifyPeer({
          expected: challenge,
          answered: challenge,
          signature: `0x${"zz".repeat(128)}` as Hex,
          now,
        });
        expect.fail("should have thrown");
      } catch (e) {
        expect(e).to.be.instanceOf(PeerAuthenticationError);
      }
      // the right key signing another challenge does not answer this one
      const other = newChallenge(id, verifier.id, crypto.getRandomValues(new Uint8Array(32)), now);
      const wrong = await city.client.signChallenge(key, other);
      try {
        await city.client.verifyPeer({ expected: challenge, answered: challenge, signature: wrong, now });
        expect.fail("should have thrown");
      } catch (e) {
        expect((e as PeerAuthenticationError).reason).to.equal("wrong-signer");
      }
    });

    it("signs an access request a fog node accepts, and a tampered one it refuses", async function () {
      const key = p256SoftwareKey(randomP256PrivateKey());
      const domain = accessDomain(31337n, ethers.Wallet.createRandom().address);
      const resource = ethers.hexlify(ethers.randomBytes(32)) as Hex;
      const request = newAccessRequest({
        token: 7n,
        resource,
        requester: key.address,
        issuedAt: 1_800_000_000n,
        expiresAt: 1_800_000_060n,
        scope: accessScope("read"),
      });
      const signature = await signAccessRequestP256(key, domain, request);
      const facts = {
        resource,
        holder: key.address,
        start: 0n,
        end: 1_900_000_000n,
        revoked: false,
        resourceStatus: Status.Active,
      };
      const grant = checkAccessRequest({ domain, request, signature, facts, now: 1_800_000_010n });
      expect(grant.holder).to.equal(key.address);
      const other = p256SoftwareKey(randomP256PrivateKey());
      const forged = encodeP256DeviceSignature(
        key.publicKey,
        await other.signDigest(ethers.hexlify(ethers.randomBytes(32)) as Hex),
      );
      expect(() => checkAccessRequest({ domain, request, signature: forged, facts, now: 1_800_000_010n })).to.throw(
        "not the requester's",
      );
    });
  });
});
