/**
 * The SDK registry client on the in-process network: typed errors, the
 * provenance timeline (replaying it rebuilds the stored record) and peer
 * authentication against on-chain keys.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { createServer, type Socket } from "node:net";

import { JsonRpcProvider, Wallet } from "ethers";

import {
  ContractRevertError,
  deviceId,
  type Hex,
  InvalidInputError,
  PeerAuthenticationError,
  TimeoutError,
} from "../../../sdk/index.ts";
import {
  DeviceRegistryClient,
  EIP7825_GAS_CAP,
  Kind,
  Label,
  minimalProfile,
  newChallenge,
  replayHistory,
  Status,
} from "../../../sdk/exports/registry.ts";
import {
  type City,
  coordinator,
  fullNode,
  lightweight,
  registerNode,
  registryFixture,
  signedRegistration,
  TEST_CONFIG,
} from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const deployRegistryFixture = registryFixture(ethers, ignition);

describe("DeviceRegistryClient", function () {
  let city: City;
  beforeEach(async function () {
    city = await networkHelpers.loadFixture(deployRegistryFixture);
  });

  describe("errors", function () {
    it("decodes admin errors too (the implementation's ABI)", async function () {
      try {
        await city.client.connect(city.stranger).setLayerOperator("strata://x/y", city.stranger.address);
        expect.fail("should have reverted");
      } catch (e) {
        expect(e).to.be.instanceOf(ContractRevertError);
        expect((e as ContractRevertError).errorName).to.equal("OwnableUnauthorizedAccount");
      }
    });

    it("decodes a revert into a ContractRevertError with the custom error's name and arguments", async function () {
      const node = await registerNode(city, Label.Lightweight);
      const { req, sig } = await signedRegistration(city.client, node.key, city.operator.address);
      try {
        await city.client.connect(city.operator).register(req, sig);
        expect.fail("register should have reverted");
      } catch (e) {
        expect(e).to.be.instanceOf(ContractRevertError);
        expect((e as ContractRevertError).errorName).to.equal("RegistryKeyInUse");
        expect((e as ContractRevertError).args).to.deep.equal([node.key.address]);
      }
    });

    it("refuses to sign a registration with a key other than the one registered", async function () {
      const { req } = await signedRegistration(
        city.client,
        ethers.Wallet.createRandom() as never,
        city.operator.address,
      );
      try {
        await city.client.signRegistration(ethers.Wallet.createRandom() as never, req, city.operator.address);
        expect.fail("should have thrown");
      } catch (e) {
        expect(e).to.be.instanceOf(InvalidInputError);
      }
    });
  });

  describe("history", function () {
    it("returns the timeline of a device and replays to exactly the stored record", async function () {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city)];
      const f1 = await fullNode(city, cs);
      const f2 = await fullNode(city, cs);
      const station = await registerNode(city, Label.Full, Kind.BaseStation);
      for (const c of cs.slice(0, 2)) await city.client.connect(c.key).approve(c.id, station.id);
      const d = await lightweight(city, cs[0]!, f1);
      const replayMatches = async (id: Hex): Promise<void> => {
        const replayed = replayHistory(id, await city.client.history(id))!;
        const stored = await city.client.getDevice(id);
        for (const [field, value] of Object.entries(stored)) {
          expect((replayed as unknown as Record<string, unknown>)[field], field).to.equal(value);
        }
      };
      // suspension, reinstatement at a lower trust, a new serving node
      for (const c of cs) await city.client.connect(c.key).report(c.id, d.id, ethers.id("spam") as Hex);
      await city.client.connect(cs[0]!.key).approve(cs[0]!.id, d.id, f2.id);
      await replayMatches(d.id);
      await city.client.connect(cs[1]!.key).approve(cs[1]!.id, d.id, f2.id);
      // owner actions
      await city.client.connect(city.operator).setPermissions(d.id, 9);
      await city.client.connect(city.operator).setGateway(d.id, station.id);
      await city.client.connect(city.operator).updateProfile(d.id, minimalProfile("Device/Meter/Gas"));
      // a re-key: requested, half approved (checked), then applied
      const newKey = ethers.Wallet.createRandom();
      await city.client
        .connect(city.operator)
        .requestRekey(d.id, newKey.address, 2n ** 40n, await city.client.signRekey(newKey, d.id, 2n ** 40n));
      await city.client.connect(cs[0]!.key).approve(cs[0]!.id, d.id);
      await replayMatches(d.id);
      await city.client.connect(cs[2]!.key).approve(cs[2]!.id, d.id);
      await city.client.connect(city.operator).transferDevice(d.id, city.stranger.address);
      await replayMatches(d.id);

      const timeline = await city.client.history(d.id);
      expect(timeline.map((e) => e.event)).to.include.members([
        "DeviceRegistered",
        "DeviceApproved",
        "ServingNodeAssigned",
        "MisbehaviourReported",
        "TrustRestored",
        "GatewayAssigned",
        "ProfileUpdated",
        "RekeyRequested",
        "DeviceRekeyed",
        "DeviceTransferred",
      ]);
      for (let i = 1; i < timeline.length; i++)
        expect(timeline[i]!.timestamp >= timeline[i - 1]!.timestamp).to.equal(true);
      expect((await city.client.getDevice(d.id)).trust).to.equal(TEST_CONFIG.suspendBelow);

      // a full node: heartbeats, offline report, revocation with a pending re-key
      for (const c of cs.slice(0, 2)) await city.client.connect(c.key).reportOffline(c.id, f1.id); // k = 2
      await replayMatches(f1.id);
      const k2 = ethers.Wallet.createRandom();
      await city.client
        .connect(city.operator)
        .requestRekey(f1.id, k2.address, 2n ** 40n, await city.client.signRekey(k2, f1.id, 2n ** 40n));
      await city.client.connect(city.operator).revoke(f1.id);
      await replayMatches(f1.id);
      await replayMatches(f2.id);
    });

    it("registerAll splits 400 registrations under the EIP-7825 gas cap and resumes past registered ones", async function () {
      this.timeout(300_000);
      const signed = [];
      for (let i = 0; i < 400; i++) {
        signed.push(await signedRegistration(city.client, Wallet.createRandom() as never, city.operator.address));
      }
      const asOperator = city.client.connect(city.operator);
      // one transaction of 400 is over the cap
      const whole = await asOperator
        .registerBatch(
          signed.map((s) => s.req),
          signed.map((s) => s.sig),
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(whole).to.be.instanceOf(Error);
      // a first run stopped after 60 devices: the next one skips them
      await asOperator.registerBatch(
        signed.slice(0, 60).map((s) => s.req),
        signed.slice(0, 60).map((s) => s.sig),
      );
      const done = await asOperator.registerAll(
        signed.map((s) => s.req),
        signed.map((s) => s.sig),
      );
      expect(done.skipped).to.have.length(60);
      expect(done.ids).to.have.length(340);
      expect(done.chunks.length).to.be.greaterThan(1);
      for (const c of done.chunks) expect(c.gasUsed < EIP7825_GAS_CAP).to.equal(true);
      expect(done.chunks.reduce((n, c) => n + c.count, 0)).to.equal(340);
      for (const s of signed) expect((await city.client.getDevice(deviceId(s.uuid))).status).to.equal(Status.Pending);
      const again = await asOperator.registerAll(
        signed.map((s) => s.req),
        signed.map((s) => s.sig),
      );
      expect(again).to.deep.equal({ ids: [], skipped: signed.map((s) => deviceId(s.uuid)), chunks: [] });
    });

    it("registerAll stops at a failing chunk with a typed error naming it, and a second call resumes", async function () {
      this.timeout(120_000);
      const signed = [];
      for (let i = 0; i < 40; i++) {
        signed.push(await signedRegistration(city.client, Wallet.createRandom() as never, city.operator.address));
      }
      const asOperator = city.client.connect(city.operator);
      const sigs = signed.map((s) => s.sig);
      sigs[25] = sigs[24]!; // a signature by another key: its chunk reverts
      const options = { gasCap: 1_500_000n }; // a low cap: chunks of a few devices
      const error = await asOperator
        .registerAll(
          signed.map((s) => s.req),
          sigs,
          options,
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      // a permanent refusal, not a transient one: ContractRevertError naming the chunk and the request
      expect(error).to.be.instanceOf(ContractRevertError);
      const details = (error as ContractRevertError).details as {
        chunk: number;
        first: number;
        count: number;
        registered: number;
        request: number;
        id: string;
      };
      expect(details.first <= 25 && 25 < details.first + details.count).to.equal(true);
      expect(details.registered).to.equal(details.first);
      expect(details.request).to.equal(25);
      expect(details.id).to.equal(deviceId(signed[25]!.uuid));
      expect((error as ContractRevertError).errorName).to.equal("RegistryInvalidSignature");
      const done = await asOperator.registerAll(
        signed.map((s) => s.req),
        signed.map((s) => s.sig),
        options,
      );
      expect(done.skipped).to.have.length(details.first);
      expect(done.ids).to.have.length(40 - details.first);
      for (const s of signed) expect((await city.client.getDevice(deviceId(s.uuid))).status).to.equal(Status.Pending);
    });

    it("reads the history in bounded block ranges", async function () {
      const d = await registerNode(city, Label.Lightweight);
      await city.client.connect(city.operator).setPermissions(d.id, 3);
      const whole = await city.client.history(d.id);
      const chunked = await city.client.history(d.id, { fromBlock: 0, maxBlockRange: 2 });
      expect(chunked).to.deep.equal(whole);
      expect(whole.length).to.equal(2);
    });

    it("returns the published profile only when it is the one the chain commits to", async function () {
      const d = await registerNode(city, Label.Lightweight);
      expect(await city.client.profileOf(d.id)).to.equal(undefined);
      const profile = { ...minimalProfile("Device/Meter/Gas"), metadataURI: "ipfs://bafy-meter" };
      await city.client.connect(city.operator).updateProfile(d.id, profile);
      expect(await city.client.profileOf(d.id)).to.deep.equal(profile);
    });

    it("returns an empty timeline for an unknown device", async function () {
      expect(await city.client.history(ethers.id("nobody") as Hex)).to.deep.equal([]);
    });
  });

  describe("verifyPeer", function () {
    async function peers() {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      // The verifier dates its challenge by its own clock (pinned: it judges the answer with it).
      const now = 1_800_000_000n;
      const challenge = newChallenge(d.id, f.id, crypto.getRandomValues(new Uint8Array(32)), now);
      return { cs, f, d, challenge };
    }

    it("authenticates a device from its on-chain key with no other party", async function () {
      const { d, challenge } = await peers();
      const signature = await city.client.signChallenge(d.key, challenge);
      const record = await city.client.verifyPeer({
        expected: challenge,
        answered: challenge,
        signature,
        now: challenge.issuedAt,
      });
      expect(record.key).to.equal(d.key.address);
    });

    it("rejects a device once it is suspended", async function () {
      const { cs, f, d, challenge } = await peers();
      const signature = await city.client.signChallenge(d.key, challenge);
      for (const reporter of [...cs, f])
        await city.client.connect(reporter.key).report(reporter.id, d.id, ethers.id("x") as Hex);
      try {
        await city.client.verifyPeer({ expected: challenge, answered: challenge, signature, now: challenge.issuedAt });
        expect.fail("should have thrown");
      } catch (e) {
        expect(e).to.be.instanceOf(PeerAuthenticationError);
        expect((e as PeerAuthenticationError).reason).to.equal("not-active");
      }
    });

    it("rejects an impostor holding another key", async function () {
      const { challenge } = await peers();
      const signature = await city.client.signChallenge(ethers.Wallet.createRandom() as never, challenge);
      try {
        await city.client.verifyPeer({ expected: challenge, answered: challenge, signature, now: challenge.issuedAt });
        expect.fail("should have thrown");
      } catch (e) {
        expect((e as PeerAuthenticationError).reason).to.equal("wrong-signer");
      }
    });
  });

  it("fails the domain read with a TimeoutError within its deadline when the node never answers", async function () {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const silent = new JsonRpcProvider(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    try {
      const client = new DeviceRegistryClient(city.client.address, silent, { timeoutMs: 300 });
      expect(await client.domain().catch((e: unknown) => e)).to.be.instanceOf(TimeoutError);
    } finally {
      silent.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
