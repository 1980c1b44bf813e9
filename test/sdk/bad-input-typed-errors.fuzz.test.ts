/**
 * Bounded, seeded fuzzing of every decoder the SDK exports and every message a
 * role accepts: valid encodings mutated (bit flips, truncation, extension,
 * overwritten runs, random bytes of any length) and values of the wrong type.
 * The property is the SDK's error contract: an input is either accepted or
 * refused with a `StrataError` subclass, never a raw `Error`, `TypeError` or
 * `RangeError`; and a role that refused garbage still serves its honest peers.
 *
 * The seed is fixed so a failure reproduces; `STRATA_FUZZ_RUNS` raises the
 * number of runs per target (default 60) for a longer campaign.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";

import { fromHex, toHex } from "../../sdk/core/bytes.ts";
import { decodeProfile, encodeProfile, minimalProfile } from "../../sdk/core/profile.ts";
import { mclBackend, nobleBackend } from "../../sdk/core/crypto/backend.ts";
import { minPk, minSig } from "../../sdk/core/crypto/bls.ts";
import { BonehFranklinKem } from "../../sdk/core/crypto/ibe.ts";
import { ChaCheonIbs } from "../../sdk/core/crypto/ibs.ts";
import { Peks } from "../../sdk/core/crypto/peks.ts";
import { AeadKey } from "../../sdk/core/crypto/aead.ts";
import { parseUuid } from "../../sdk/core/ids.ts";
import { verifyProof } from "../../sdk/core/merkle.ts";
import { checkRoot } from "../../sdk/core/anchors.ts";
import { decodeBlock, encodeBlock } from "../../sdk/core/nbiot/block.ts";
import { checkAuthRequest, decodeAuthRequest, equalBytes } from "../../sdk/core/nbiot/handshake.ts";
import { checkHandoverRequest, makeHandoverRequest, verifyHandoverRecord } from "../../sdk/core/nbiot/handover.ts";
import { openPrimaryKey, sealPrimaryKey } from "../../sdk/core/nbiot/provisioning.ts";
import { readHeader } from "../../sdk/core/nbiot/session.ts";
import { pageEnd, verifyAcquisition } from "../../sdk/core/nbiot/acquisition.ts";
import { decodeReading, makeReading, openPayload, randomDeviceKey, sealPayload } from "../../sdk/core/fog/reading.ts";
import { decodePacket, encodePacket, newPacket, type Packet } from "../../sdk/core/layers/packet.ts";
import { decodeContractMessage, encodeContractMessage } from "../../sdk/core/layers/contract.ts";
import { checkAccessRequestShape, newAccessRequest } from "../../sdk/core/access.ts";
import { InvalidInputError, StrataError } from "../../sdk/errors.ts";
import { replayHistory } from "../../sdk/core/registry.ts";
import { makeDistrict } from "../helpers/fog.ts";
import { scene } from "../helpers/layers.ts";
import { enter, makeWorld, randomId, reading, sendAll, testClock, type World } from "../helpers/nbiot.ts";

const SEED = 0x5e7a7a;
const RUNS = Number(process.env.STRATA_FUZZ_RUNS ?? 60);
const mcl = await mclBackend();

/** Mutations of a valid encoding, and random bytes of any length. */
function mutants(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = valid.length;
  const flip = fc
    .array(fc.tuple(fc.nat({ max: Math.max(0, n - 1) }), fc.integer({ min: 1, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    })
    .map((flips) => {
      const out = Uint8Array.from(valid);
      for (const [i, x] of flips) if (n > 0) out[i]! ^= x;
      return out;
    });
  const truncate = fc.nat({ max: Math.max(0, n - 1) }).map((k) => valid.slice(0, k));
  const extend = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((tail) => Uint8Array.from([...valid, ...tail]));
  const overwrite = fc
    .tuple(fc.nat({ max: Math.max(0, n - 1) }), fc.uint8Array({ minLength: 1, maxLength: 40 }))
    .map(([at, run]) => {
      const out = Uint8Array.from(valid);
      out.set(run.subarray(0, Math.max(0, n - at)), at);
      return out;
    });
  const random = fc.uint8Array({ maxLength: Math.max(8, n + 16) });
  // a "mutant" equal to the valid encoding is the valid message itself: not a mutation
  return fc.oneof(flip, truncate, extend, overwrite, random).filter((b) => !equalBytes(b, valid));
}

/** Values of the wrong type, where bytes or an object are expected. */
const wrongTypes = fc.constantFrom<unknown>(
  undefined,
  null,
  0,
  -1,
  1.5,
  "0x",
  "0x12",
  "hello",
  [],
  [1, 2, 3],
  {},
  { length: 4 },
  new Uint16Array(4),
  new ArrayBuffer(8),
);

/** Runs `f`; a throw must be a StrataError. Returns whether the input was accepted. */
async function typed(what: string, f: () => unknown): Promise<boolean> {
  try {
    await f();
    return true;
  } catch (e) {
    if (!(e instanceof StrataError)) {
      expect.fail(`${what}: raw ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`);
    }
    return false;
  }
}

async function fuzzBytes(what: string, valid: Uint8Array, f: (bytes: Uint8Array) => unknown): Promise<void> {
  expect(await typed(`${what} (valid)`, () => f(valid))).to.equal(true, `${what}: the valid input is accepted`);
  await fc.assert(
    fc.asyncProperty(mutants(valid), async (bytes) => {
      await typed(what, () => f(bytes));
    }),
    { seed: SEED, numRuns: RUNS },
  );
  await fc.assert(
    fc.asyncProperty(wrongTypes, async (v) => {
      await typed(`${what} (wrong type)`, () => f(v as Uint8Array));
    }),
    { seed: SEED, numRuns: 20 },
  );
}

/** The same for decoders of text: mutated UTF-8 of a valid text, and values of the wrong type. */
async function fuzzText(what: string, valid: string, f: (text: string) => unknown): Promise<void> {
  const utf8 = new TextEncoder().encode(valid);
  expect(await typed(`${what} (valid)`, () => f(valid))).to.equal(true, `${what}: the valid input is accepted`);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        mutants(utf8).map((b) => new TextDecoder().decode(b)),
        fc.string(),
      ),
      async (text) => {
        await typed(what, () => f(text));
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
  await fc.assert(
    fc.asyncProperty(wrongTypes, async (v) => {
      await typed(`${what} (wrong type)`, () => f(v as string));
    }),
    { seed: SEED, numRuns: 20 },
  );
}

describe("fuzz: decoders and role messages refuse bad input with typed errors", function () {
  this.timeout(300_000);
  const t0 = 1_800_000_000_000;

  describe("pairing cryptography", function () {
    for (const [name, backend] of [
      ["mcl", mcl],
      ["noble", nobleBackend],
    ] as const) {
      it(`point decoders (${name})`, async function () {
        await fuzzBytes("g1.fromBytes", backend.g1.toBytes(backend.g1.generator), (b) => backend.g1.fromBytes(b));
        await fuzzBytes("g2.fromBytes", backend.g2.toBytes(backend.g2.generator), (b) => backend.g2.fromBytes(b));
      });
    }

    it("BLS keys and signatures (min-sig on mcl, min-pk on blst)", async function () {
      for (const [name, bls] of [
        ["min-sig", minSig(mcl)],
        ["min-pk", minPk(nobleBackend)],
      ] as const) {
        const sk = bls.keygen();
        const pk = bls.publicKey(sk);
        const msg = new Uint8Array([1, 2, 3]);
        const sig = bls.sign(sk, msg);
        await fuzzBytes(`${name} verify(key)`, pk, (b) => bls.verify(b, msg, sig));
        await fuzzBytes(`${name} verify(signature)`, sig, (b) => bls.verify(pk, msg, b));
        await fuzzBytes(`${name} aggregateSignatures`, sig, (b) => bls.aggregateSignatures([sig, b]));
        await fuzzBytes(`${name} aggregatePublicKeys`, pk, (b) => bls.aggregatePublicKeys([pk, b]));
        await fuzzBytes(`${name} popVerify`, bls.popProve(sk), (b) => bls.popVerify(pk, b));
        await fuzzBytes(`${name} verify(message)`, msg, (b) => bls.verify(pk, b, sig));
        await fuzzBytes(`${name} sign(message)`, msg, (b) => bls.sign(sk, b));
        await fuzzBytes(`${name} aggregateVerify(message)`, msg, (b) => bls.aggregateVerify([pk], [b], sig));
        await fuzzBytes(`${name} batchVerify(message)`, msg, (b) =>
          bls.batchVerify([{ publicKey: pk, message: b, signature: sig }]),
        );
        await fuzzBytes(`${name} fastAggregateVerify(message)`, msg, (b) => bls.fastAggregateVerify([pk], b, sig));
      }
    });

    it("IBS, IBE, PEKS and AEAD ciphertexts", async function () {
      const w = makeWorld();
      try {
        const ibs = new ChaCheonIbs(mcl);
        const kem = new BonehFranklinKem(mcl);
        const id = "device:fuzz";
        const d = w.pkg.extract(id);
        const sig = ibs.encode(ibs.sign(id, d, new Uint8Array([7])));
        await fuzzBytes("ibs.decode", sig, (b) =>
          ibs.verify(w.pkg.masterPublic, id, new Uint8Array([7]), ibs.decode(b)),
        );
        await fuzzBytes("ibs.verify(message)", new Uint8Array([7]), (b) =>
          ibs.verify(w.pkg.masterPublic, id, b, ibs.decode(sig)),
        );
        const ct = kem.encrypt(w.pkg.masterPublic, id, new Uint8Array([1, 2, 3]));
        await fuzzBytes("ibe.decrypt", ct, (b) => kem.decrypt(id, d, b));
        const peks = new Peks(mcl);
        const { secret, publicKey } = peks.keygen();
        const trapdoor = peks.trapdoor(secret, "alarm");
        await fuzzBytes("peks.test", peks.encrypt(publicKey, "alarm"), (b) => trapdoor.test(b));
        await fuzzBytes("peks.trapdoorFromBytes", mcl.g2.toBytes(trapdoor.point), (b) => peks.trapdoorFromBytes(b));
        const key = new AeadKey(new Uint8Array(32).fill(5));
        await fuzzBytes("aead.open", key.seal(new Uint8Array([9, 9])), (b) => key.open(b));
      } finally {
        w.cleanup();
      }
    });
  });

  describe("encodings at the edges", function () {
    it("UUIDs, roots and Merkle proofs", async function () {
      await fuzzText("parseUuid", "layer://city-7/district-2#42", (t) => parseUuid(t));
      const root = new Uint8Array(32).fill(3);
      await fuzzText("checkRoot", toHex(root), (t) => checkRoot(t));
      await fuzzBytes("verifyProof(leaf)", root, (b) => verifyProof(root, b, [toHex(root)]));
      await fuzzText("verifyProof(proof)", toHex(root), (t) => verifyProof(root, root, [t as `0x${string}`]));
      await fuzzText("verifyProof(root)", toHex(root), (t) => verifyProof(t as `0x${string}`, root, [toHex(root)]));
    });

    it("a registry history that is not a possible one (an event before the registration)", async function () {
      const id = randomId();
      const entry = {
        event: "TrustChanged",
        args: {},
        blockNumber: 1,
        logIndex: 0,
        transactionHash: id,
        timestamp: 1n,
      };
      expect(await typed("replayHistory", () => replayHistory(id, [entry]))).to.equal(false);
      expect(() => replayHistory(id, [entry])).to.throw(InvalidInputError);
    });

    it("registry profiles", async function () {
      const profile = fromHex(encodeProfile(minimalProfile("Device/Sensor/Air")), "profile");
      await fuzzBytes("decodeProfile", profile, (b) => decodeProfile(toHex(b)));
      await fuzzText("decodeProfile (text)", toHex(profile), (t) => decodeProfile(t as `0x${string}`));
    });

    it("access requests (shape)", async function () {
      const request = newAccessRequest({
        token: 1n,
        requester: "0x" + "11".repeat(20),
        resource: randomId(),
        scope: randomId(),
        issuedAt: 1_800_000_000n,
        expiresAt: 1_800_000_060n,
      });
      expect(await typed("valid", () => checkAccessRequestShape(request))).to.equal(true);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(request)),
          fc.oneof(wrongTypes, fc.bigInt(), fc.string()),
          async (field, value) => {
            await typed(`access request .${field}`, () => checkAccessRequestShape({ ...request, [field]: value }));
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    });
  });

  describe("fog readings", function () {
    it("decodeReading and openPayload", async function () {
      const device = randomDeviceKey();
      const owner = new AeadKey(new Uint8Array(32).fill(1));
      const peks = new Peks(mcl);
      const { publicKey } = peks.keygen();
      const id = randomId();
      const payload = sealPayload(owner, id, 1, t0, new Uint8Array([1, 2, 3]));
      const r = makeReading(device, id, 1, t0, payload, [peks.encrypt(publicKey, "pm25")]);
      await fuzzBytes("decodeReading", r.bytes, (b) => decodeReading(b));
      const decoded = decodeReading(r.bytes);
      await fuzzBytes("openPayload", decoded.payload, (b) =>
        openPayload(owner, { device: id, seq: 1, time: t0, payload: b }),
      );
    });
  });

  describe("a fog node", function () {
    it("refuses mutated readings one by one in its results, and still takes the honest ones of the chunk", async function () {
      const d = makeDistrict();
      try {
        const node = d.fogNode(1);
        const device = d.device();
        const valid = device.read(20, { sensitive: true });
        await fc.assert(
          fc.asyncProperty(mutants(valid), async (b) => {
            await typed("FogNode.ingest", async () => {
              const honest = device.read(21);
              const [bad, good] = await node.ingest([b, honest]);
              if (bad !== undefined && !bad.ok && !(bad.error instanceof StrataError)) throw bad.error;
              expect(good?.ok, "the honest reading after a mutated one").to.equal(true);
            });
          }),
          { seed: SEED, numRuns: RUNS },
        );
        await fc.assert(
          fc.asyncProperty(wrongTypes, async (v) => {
            await typed("FogNode.ingest (wrong type)", () => node.ingest([v as Uint8Array]));
          }),
          { seed: SEED, numRuns: 20 },
        );
      } finally {
        d.cleanup();
      }
    });
  });

  describe("layers", function () {
    it("packets and contract messages", async function () {
      const p = newPacket(new Uint8Array([1, 2, 3]), 1_800_000_000_000n, randomId(), [randomId(), randomId()]);
      await fuzzBytes("decodePacket", encodePacket(p), (b) => decodePacket(b));
      const m = encodeContractMessage({ from: randomId(), to: randomId(), body: new Uint8Array([4, 5]) });
      await fuzzBytes("decodeContractMessage", m, (b) => decodeContractMessage(b));
    });
  });

  describe("layer and edge nodes", function () {
    it("refuse mutated packets and edge signatures with typed errors, then route and deliver the honest one", async function () {
      const { ethers } = await network.create();
      const s = await scene(await ethers.getSigners());
      const first = await s.open();
      const encoded = encodePacket(first.packet);
      const signature = fromHex(first.edgeSignature!, "signature");
      const variants = fc.oneof(
        mutants(encoded).map((b) => ({ packet: b, signature })),
        mutants(signature).map((b) => ({ packet: encoded, signature: b })),
      );
      await fc.assert(
        fc.asyncProperty(variants, async ({ packet, signature }) => {
          let p: Packet;
          try {
            p = decodePacket(packet);
          } catch (e) {
            expect(e, "decodePacket").to.be.instanceOf(StrataError);
            return;
          }
          const t = { packet: p, edgeSignature: toHex(signature) };
          if (equalBytes(packet, encoded) && equalBytes(signature, fromHex(first.edgeSignature!, "signature"))) return;
          expect(await typed("LayerNode.receive", () => s.l1a.nodes[0]!.receive(t)), "a mutant accepted").to.equal(
            false,
          );
          expect(await typed("EdgeNode.deliver", () => s.b.deliver(t)), "a mutant delivered").to.equal(false);
        }),
        { seed: SEED, numRuns: Math.min(RUNS, 40) },
      );
      const r = await s.bed.router.route(first);
      expect(r.delivery?.object.id).to.equal(s.bed.light.id);
    });
  });

  describe("the NB-IoT data path", function () {
    let w: World;
    beforeEach(function () {
      w = makeWorld();
    });
    afterEach(function () {
      w.cleanup();
    });

    it("pure decoders: requests, blocks, handover messages, sealed keys, session headers, served pages", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1), reading(2)], t0 + 1);
      const request = node.enter(bs2.id, t0 + 10);
      await fuzzBytes("decodeAuthRequest", request, (b) => decodeAuthRequest(b));
      await fuzzBytes("checkAuthRequest", request, (b) => checkAuthRequest(w.params, bs2.id, b, t0 + 10));
      const block = bs1.store.block(node.id, 1)!;
      await fuzzBytes("decodeBlock", encodeBlock(block.block), (b) => decodeBlock(b));
      const handover = makeHandoverRequest(
        w.params,
        w.stationKeys(bs2.id),
        bs1.id,
        decodeAuthRequest(request),
        t0 + 10,
      );
      await fuzzBytes("checkHandoverRequest", handover.bytes, (b) =>
        checkHandoverRequest(w.params, bs1.id, b, t0 + 10),
      );
      testClock.now = t0 + 10;
      node.accept(await bs2.authenticate(request, t0 + 10), t0 + 10);
      const record = bs2.store.handoverAt(node.id, 2)!;
      await fuzzBytes("verifyHandoverRecord", record, (b) => verifyHandoverRecord(w.params, b));
      const app = w.applicationKeys();
      const sealed = sealPrimaryKey(w.params, app, node.id, t0).sealed;
      await fuzzBytes("openPrimaryKey", sealed, (b) => openPrimaryKey(w.params, node.keys, app.id, b));
      const frame = node.send(reading(3), t0 + 11);
      await fuzzBytes("readHeader", frame, (b) => readHeader(b, "frame"));
      await bs1.seal(t0 + 20);
      const page = await bs1.acquire(node.id, 0, t0 + 100);
      const served = page.blocks[0]!;
      await fuzzBytes("verifyAcquisition(block)", served.block, (b) =>
        verifyAcquisition(w.params, node.id, [{ ...page, blocks: [{ ...served, block: b }] }]),
      );
      await fuzzBytes("verifyAcquisition(primary)", served.primary, (b) =>
        verifyAcquisition(w.params, node.id, [{ ...page, blocks: [{ ...served, primary: b }] }]),
      );
      await fuzzBytes("pageEnd", served.block, (b) => pageEnd({ ...page, blocks: [{ ...served, block: b }] }));
    });

    it("a base station refuses mutated requests, frames, renewals and handovers, and still serves the node", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      testClock.now = t0 + 2;
      const request = node.enter(bs1.id, t0 + 2);
      await fuzzBytes("BaseStation.authenticate", request, (b) => bs1.authenticate(b, t0 + 2));
      node.accept(await bs1.authenticate(node.enter(bs1.id, t0 + 3), t0 + 3), t0 + 3);
      // frames: a mutated frame is refused in its result, never thrown
      const frame = node.send(reading(2), t0 + 4);
      await fc.assert(
        fc.asyncProperty(mutants(frame), async (b) => {
          await typed("BaseStation.ingest", () => {
            const [res] = bs1.ingest([b], t0 + 4);
            if (res !== undefined && !res.ok && !(res.error instanceof StrataError)) throw res.error;
          });
        }),
        { seed: SEED, numRuns: RUNS },
      );
      const [good] = bs1.ingest([frame], t0 + 4);
      expect(good?.ok).to.equal(true);
      node.onReceipt((good as { receipt: Uint8Array }).receipt);
      const renew = node.renew(t0 + 5);
      await fc.assert(
        fc.asyncProperty(mutants(renew), async (b) => {
          await typed("BaseStation.renew", () => bs1.renew(b, t0 + 5));
        }),
        { seed: SEED, numRuns: RUNS },
      );
      // a handover request from BS2, mutated, is refused and leaves the flow where it is
      testClock.now = t0 + 10;
      const toBs2 = decodeAuthRequest(node.enter(bs2.id, t0 + 10));
      const handover = makeHandoverRequest(w.params, w.stationKeys(bs2.id), bs1.id, toBs2, t0 + 10);
      await fc.assert(
        fc.asyncProperty(mutants(handover.bytes), async (b) => {
          await typed("BaseStation.handover", () => bs1.handover(b, t0 + 10));
        }),
        { seed: SEED, numRuns: RUNS },
      );
      expect(bs1.flow(node.id)?.tip.seq).to.equal(2);
      // the honest node still moves on and is served
      node.accept(await bs2.authenticate(toBs2.bytes, t0 + 10), t0 + 10);
      expect(sendAll(node, bs2, [reading(3)], t0 + 11)).to.deep.equal([3]);
    });

    it("a node refuses mutated responses and receipts, and still completes its entry", async function () {
      const node = w.node();
      const bs = w.station();
      testClock.now = t0;
      const response = await bs.authenticate(node.enter(bs.id, t0), t0);
      await fc.assert(
        fc.asyncProperty(mutants(response), async (b) => {
          await typed("NbiotNode.accept", () => node.accept(b, t0));
        }),
        { seed: SEED, numRuns: RUNS },
      );
      // the node spent its one attempt on the first forged response it checked: enter again
      const fresh = await bs.authenticate(node.enter(bs.id, t0 + 1), t0 + 1);
      node.accept(fresh, t0 + 1);
      const [res] = bs.ingest([node.send(reading(1), t0 + 2)], t0 + 2);
      const receipt = (res as { receipt: Uint8Array }).receipt;
      await fc.assert(
        fc.asyncProperty(mutants(receipt), async (b) => {
          await typed("NbiotNode.onReceipt", () => node.onReceipt(b));
        }),
        { seed: SEED, numRuns: RUNS },
      );
      expect(node.onReceipt(receipt).seq).to.equal(1);
    });
  });
});
