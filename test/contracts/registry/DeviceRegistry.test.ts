/**
 * DeviceRegistry: every rule of seeds 001/002/003 the contract enforces, and
 * every revert with its exact custom error and arguments.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { deviceId, type Hex, layerHash, localIdWord } from "../../../sdk/index.ts";
import {
  buildRegistration,
  encodeProfile,
  Kind,
  Label,
  minimalProfile,
  Status,
  ZERO_ID,
} from "../../../sdk/exports/registry.ts";
import {
  type City,
  coordinator,
  FAR_DEADLINE,
  fullNode,
  fundedKey,
  lightweight,
  registerNode,
  registryFixture,
  signedRegistration,
  TEST_CONFIG,
} from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

const EVIDENCE = ethers.id("evidence: forged readings");

describe("DeviceRegistry", function () {
  let city: City;
  beforeEach(async function () {
    city = await loadFixture(deployRegistryFixture);
  });

  describe("deviceId", function () {
    it("derives the id from the UUID exactly as the SDK does", async function () {
      const uuid = { layer: "strata://city/d7/edge-3", localId: 42n };
      expect(await city.registry.deviceId(layerHash(uuid.layer), localIdWord(uuid.localId))).to.equal(deviceId(uuid));
    });
  });

  describe("register", function () {
    it("records a pending device owned by the caller with full trust", async function () {
      const key = ethers.Wallet.createRandom();
      const { req, sig, uuid } = await signedRegistration(city.client, key as never, city.operator.address, {
        label: Label.Full,
        kind: Kind.BaseStation,
        permissions: 0b1011,
      });
      const id = deviceId(uuid);
      await expect(city.registry.connect(city.operator).register(req, sig))
        .to.emit(city.registry, "DeviceRegistered")
        .withArgs(
          id,
          city.operator.address,
          key.address,
          req.layer,
          req.localId,
          Kind.BaseStation,
          Label.Full,
          0b1011,
          req.profileHash,
        );
      const rec = await city.client.getDevice(id);
      expect(rec).to.deep.include({
        key: key.address,
        owner: city.operator.address,
        kind: Kind.BaseStation,
        label: Label.Full,
        status: Status.Pending,
        trust: 1000,
        permissions: 0b1011,
        servingNode: ZERO_ID,
      });
      expect(await city.registry.ownerOf(id)).to.equal(city.operator.address);
      expect(await city.registry.keyOf(id)).to.equal(key.address);
    });

    it("signs the digest the contract computes", async function () {
      const key = ethers.Wallet.createRandom();
      const { req } = await signedRegistration(city.client, key as never, city.operator.address);
      const { registrationDigest } = await import("../../../sdk/index.ts");
      expect(await city.registry.registrationDigest(req, city.operator.address)).to.equal(
        registrationDigest(await city.client.domain(), req, city.operator.address),
      );
    });

    it("reverts with RegistryDeviceExists when the UUID is already registered (fake ID)", async function () {
      const node = await registerNode(city, Label.Lightweight);
      const forger = ethers.Wallet.createRandom();
      const { req, sig } = await signedRegistration(city.client, forger as never, city.operator.address, {
        layer: node.uuid.layer,
        localId: node.uuid.localId,
      });
      await expect(city.registry.connect(city.operator).register(req, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryDeviceExists")
        .withArgs(node.id);
    });

    it("reverts with RegistryUnauthorizedLayer for anyone but the layer's operator: UUIDs cannot be squatted", async function () {
      const { req, sig } = await signedRegistration(
        city.client,
        ethers.Wallet.createRandom() as never,
        city.stranger.address,
      );
      await expect(city.registry.connect(city.stranger).register(req, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedLayer")
        .withArgs(req.layer, city.stranger.address);
      const closed = await signedRegistration(
        city.client,
        ethers.Wallet.createRandom() as never,
        city.operator.address,
        {
          layer: "strata://city/unassigned/edge-9",
        },
      );
      await expect(city.registry.connect(city.operator).register(closed.req, closed.sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedLayer")
        .withArgs(closed.req.layer, city.operator.address);
    });

    it("reverts with RegistryDeviceExists for a revoked UUID: IDs are never reused", async function () {
      const node = await registerNode(city, Label.Lightweight);
      await city.registry.connect(city.operator).revoke(node.id);
      const { req, sig } = await signedRegistration(
        city.client,
        ethers.Wallet.createRandom() as never,
        city.operator.address,
        node.uuid,
      );
      await expect(city.registry.connect(city.operator).register(req, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryDeviceExists")
        .withArgs(node.id);
    });

    it("reverts with RegistryKeyInUse when the key belongs to another device", async function () {
      const node = await registerNode(city, Label.Lightweight);
      const { req, sig } = await signedRegistration(city.client, node.key, city.operator.address);
      await expect(city.registry.connect(city.operator).register(req, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryKeyInUse")
        .withArgs(node.key.address);
    });

    it("reverts with RegistryInvalidSignature when another key signed", async function () {
      const key = ethers.Wallet.createRandom();
      const impostor = ethers.Wallet.createRandom();
      const { req } = await signedRegistration(city.client, key as never, city.operator.address);
      const forged = await city.client.signRegistration(
        impostor as never,
        { ...req, key: impostor.address },
        city.operator.address,
      );
      const tx = city.registry.connect(city.operator).register(req, forged);
      await expect(tx).to.be.revertedWithCustomError(city.registry, "RegistryInvalidSignature");
      const recovered = ethers.recoverAddress(
        await city.registry.registrationDigest(req, city.operator.address),
        ethers.Signature.from({ r: forged.r, yParityAndS: forged.vs }),
      );
      await expect(tx)
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidSignature")
        .withArgs(key.address, recovered);
    });

    it("reverts with RegistryInvalidSignature when the operator submits a signature made for another owner", async function () {
      const key = ethers.Wallet.createRandom();
      const { req, sig } = await signedRegistration(city.client, key as never, city.stranger.address);
      await expect(city.registry.connect(city.operator).register(req, sig)).to.be.revertedWithCustomError(
        city.registry,
        "RegistryInvalidSignature",
      );
    });

    it("reverts with RegistryExpiredSignature after the deadline", async function () {
      const now = BigInt(await time.latest());
      const { req, sig } = await signedRegistration(
        city.client,
        ethers.Wallet.createRandom() as never,
        city.operator.address,
        {
          deadline: now + 10n,
        },
      );
      await time.increaseTo(now + 11n);
      await expect(city.registry.connect(city.operator).register(req, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryExpiredSignature")
        .withArgs(now + 10n, now + 12n);
    });

    it("reverts with RegistryUnknownKind and RegistryUnknownLabel for out-of-range enums", async function () {
      const { req, sig } = await signedRegistration(
        city.client,
        ethers.Wallet.createRandom() as never,
        city.operator.address,
      );
      await expect(city.registry.connect(city.operator).register({ ...req, kind: 4 }, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnknownKind")
        .withArgs(4);
      await expect(city.registry.connect(city.operator).register({ ...req, label: 3 }, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnknownLabel")
        .withArgs(3);
    });

    it("reverts with RegistryZeroAddress for the zero key", async function () {
      const { req, sig } = await signedRegistration(
        city.client,
        ethers.Wallet.createRandom() as never,
        city.operator.address,
      );
      await expect(
        city.registry.connect(city.operator).register({ ...req, key: ethers.ZeroAddress }, sig),
      ).to.be.revertedWithCustomError(city.registry, "RegistryZeroAddress");
    });
  });

  describe("registerBatch", function () {
    it("registers every device of the batch for the caller", async function () {
      const keys = [0, 1, 2].map(() => ethers.Wallet.createRandom());
      const signed = await Promise.all(
        keys.map((k) => signedRegistration(city.client, k as never, city.operator.address)),
      );
      const tx = city.registry.connect(city.operator).registerBatch(
        signed.map((s) => s.req),
        signed.map((s) => s.sig),
      );
      for (const s of signed)
        await expect(tx)
          .to.emit(city.registry, "DeviceRegistered")
          .withArgs(
            deviceId(s.uuid),
            city.operator.address,
            s.req.key,
            s.req.layer,
            s.req.localId,
            0,
            0,
            1,
            s.req.profileHash,
          );
      for (const s of signed) expect(await city.registry.statusOf(deviceId(s.uuid))).to.equal(Status.Pending);
    });

    it("reverts as a whole when one request is bad, storing nothing", async function () {
      const a = await signedRegistration(city.client, ethers.Wallet.createRandom() as never, city.operator.address);
      const b = await signedRegistration(city.client, ethers.Wallet.createRandom() as never, city.operator.address);
      await expect(
        city.registry.connect(city.operator).registerBatch([a.req, b.req], [a.sig, a.sig]),
      ).to.be.revertedWithCustomError(city.registry, "RegistryInvalidSignature");
      expect(await city.registry.statusOf(deviceId(a.uuid))).to.equal(Status.None);
    });

    it("reverts with RegistryInvalidBatch for mismatched or empty arrays", async function () {
      const a = await signedRegistration(city.client, ethers.Wallet.createRandom() as never, city.operator.address);
      await expect(city.registry.connect(city.operator).registerBatch([a.req], []))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidBatch")
        .withArgs(1, 0);
      await expect(city.registry.connect(city.operator).registerBatch([], []))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidBatch")
        .withArgs(0, 0);
    });
  });

  describe("appointCoordinator / dismissCoordinator", function () {
    it("lets the admin appoint a pending coordination node and dismiss it", async function () {
      const node = await registerNode(city, Label.Coordination);
      await expect(city.registry.connect(city.admin).appointCoordinator(node.id))
        .to.emit(city.registry, "CoordinatorAppointed")
        .withArgs(node.id)
        .and.to.emit(city.registry, "DeviceStatusChanged")
        .withArgs(node.id, Status.Pending, Status.Active);
      await expect(city.registry.connect(city.admin).dismissCoordinator(node.id))
        .to.emit(city.registry, "DeviceStatusChanged")
        .withArgs(node.id, Status.Active, Status.Suspended);
      await city.registry.connect(city.admin).appointCoordinator(node.id);
      expect(await city.registry.statusOf(node.id)).to.equal(Status.Active);
    });

    it("reverts with OwnableUnauthorizedAccount for anyone but the admin", async function () {
      const node = await registerNode(city, Label.Coordination);
      await expect(city.registry.connect(city.stranger).appointCoordinator(node.id))
        .to.be.revertedWithCustomError(city.registry, "OwnableUnauthorizedAccount")
        .withArgs(city.stranger.address);
    });

    it("reverts with RegistryInvalidLabel for a node not labelled coordination", async function () {
      const node = await registerNode(city, Label.Full);
      await expect(city.registry.connect(city.admin).appointCoordinator(node.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidLabel")
        .withArgs(node.id, Label.Full);
    });

    it("reverts with RegistryUnknownDevice and RegistryInvalidStatus", async function () {
      await expect(city.registry.connect(city.admin).appointCoordinator(ethers.id("nobody")))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnknownDevice")
        .withArgs(ethers.id("nobody"));
      const c = await coordinator(city);
      await expect(city.registry.connect(city.admin).appointCoordinator(c.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidStatus")
        .withArgs(c.id, Status.Active);
      const pending = await registerNode(city, Label.Coordination);
      await expect(city.registry.connect(city.admin).dismissCoordinator(pending.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidStatus")
        .withArgs(pending.id, Status.Pending);
    });
  });

  describe("approve", function () {
    it("admits a full node only after k distinct coordination approvals, and starts its liveness", async function () {
      const [c1, c2] = [await coordinator(city), await coordinator(city)];
      const node = await registerNode(city, Label.Full);
      await expect(city.registry.connect(c1.key).approve(c1.id, node.id, ZERO_ID))
        .to.emit(city.registry, "DeviceApproved")
        .withArgs(node.id, c1.id, 0, 1, 2);
      expect(await city.registry.statusOf(node.id)).to.equal(Status.Pending);
      await expect(city.registry.connect(c1.key).approve(c1.id, node.id, ZERO_ID))
        .to.be.revertedWithCustomError(city.registry, "RegistryAlreadyApproved")
        .withArgs(node.id, c1.id, 0);
      await expect(city.registry.connect(c2.key).approve(c2.id, node.id, ZERO_ID))
        .to.emit(city.registry, "DeviceStatusChanged")
        .withArgs(node.id, Status.Pending, Status.Active)
        .and.to.emit(city.registry, "FullNodeHeartbeat");
      expect(await city.registry.isLive(node.id)).to.equal(true);
    });

    it("admits a lightweight device with one approval and assigns its serving full node", async function () {
      const c = await coordinator(city);
      const f = await fullNode(city, [c, await coordinator(city)]);
      const d = await registerNode(city, Label.Lightweight);
      await expect(city.registry.connect(c.key).approve(c.id, d.id, f.id))
        .to.emit(city.registry, "ServingNodeAssigned")
        .withArgs(d.id, f.id, ZERO_ID);
      expect((await city.client.getDevice(d.id)).servingNode).to.equal(f.id);
      expect(await city.registry.servedDevices(f.id, 0, 10)).to.deep.equal([d.id]);
    });

    it("reverts with RegistryServingNodeMismatch when a lightweight device gets no serving node or a full node gets one", async function () {
      const [c1, c2] = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, [c1, c2]);
      const d = await registerNode(city, Label.Lightweight);
      await expect(city.registry.connect(c1.key).approve(c1.id, d.id, ZERO_ID))
        .to.be.revertedWithCustomError(city.registry, "RegistryServingNodeMismatch")
        .withArgs(d.id, ZERO_ID);
      const f2 = await registerNode(city, Label.Full);
      await expect(city.registry.connect(c1.key).approve(c1.id, f2.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryServingNodeMismatch")
        .withArgs(f2.id, f.id);
    });

    it("reverts with RegistryFullNodeNotLive when the serving node is offline or not a full node", async function () {
      const [c1, c2] = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, [c1, c2]);
      const d = await registerNode(city, Label.Lightweight);
      await expect(city.registry.connect(c1.key).approve(c1.id, d.id, c2.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryFullNodeNotLive")
        .withArgs(c2.id);
      await time.increase(TEST_CONFIG.heartbeatTimeout + 1);
      await expect(city.registry.connect(c1.key).approve(c1.id, d.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryFullNodeNotLive")
        .withArgs(f.id);
    });

    it("reverts with RegistryNotCoordinator for a node that is not an active coordination node", async function () {
      const [c1, c2] = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, [c1, c2]);
      const d = await registerNode(city, Label.Lightweight);
      await expect(city.registry.connect(f.key).approve(f.id, d.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryNotCoordinator")
        .withArgs(f.id);
      await city.registry.connect(city.admin).dismissCoordinator(c1.id);
      await expect(city.registry.connect(c1.key).approve(c1.id, d.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryNotCoordinator")
        .withArgs(c1.id);
    });

    it("reverts with RegistryUnauthorizedKey when the caller is not the coordinator's key", async function () {
      const c = await coordinator(city);
      const d = await registerNode(city, Label.Full);
      await expect(city.registry.connect(city.stranger).approve(c.id, d.id, ZERO_ID))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedKey")
        .withArgs(c.id, city.stranger.address);
    });

    it("reverts with RegistryApprovalNotExpected for an active device, a pending coordination node and a blocked device without re-key", async function () {
      const [c1, c2] = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, [c1, c2]);
      await expect(city.registry.connect(c1.key).approve(c1.id, f.id, ZERO_ID))
        .to.be.revertedWithCustomError(city.registry, "RegistryApprovalNotExpected")
        .withArgs(f.id, Status.Active);
      const pc = await registerNode(city, Label.Coordination);
      await expect(city.registry.connect(c1.key).approve(c1.id, pc.id, ZERO_ID))
        .to.be.revertedWithCustomError(city.registry, "RegistryApprovalNotExpected")
        .withArgs(pc.id, Status.Pending);
    });

    it("reverts with RegistrySelfAction when a coordinator approves itself", async function () {
      const c = await coordinator(city);
      await expect(city.registry.connect(c.key).approve(c.id, c.id, ZERO_ID))
        .to.be.revertedWithCustomError(city.registry, "RegistrySelfAction")
        .withArgs(c.id);
    });
  });

  describe("heartbeat / reportOffline / isLive", function () {
    it("keeps a full node live for heartbeatTimeout seconds after each heartbeat", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      await time.increase(TEST_CONFIG.heartbeatTimeout - 10);
      const tx = await city.registry.connect(f.key).heartbeat(f.id);
      const at = BigInt((await tx.getBlock())!.timestamp);
      await expect(tx)
        .to.emit(city.registry, "FullNodeHeartbeat")
        .withArgs(f.id, at + BigInt(TEST_CONFIG.heartbeatTimeout));
      await time.increase(TEST_CONFIG.heartbeatTimeout);
      expect(await city.registry.isLive(f.id)).to.equal(true);
      await time.increase(1);
      expect(await city.registry.isLive(f.id)).to.equal(false);
    });

    it("reverts with RegistryUnauthorizedKey, RegistryInvalidLabel and RegistryInvalidStatus for bad heartbeats", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      await expect(city.registry.connect(city.stranger).heartbeat(f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedKey")
        .withArgs(f.id, city.stranger.address);
      await expect(city.registry.connect(cs[0]!.key).heartbeat(cs[0]!.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidLabel")
        .withArgs(cs[0]!.id, Label.Coordination);
      const pending = await registerNode(city, Label.Full);
      await expect(city.registry.connect(pending.key).heartbeat(pending.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidStatus")
        .withArgs(pending.id, Status.Pending);
    });

    it("lets k coordination nodes take a full node offline; a heartbeat brings it back", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      await expect(city.registry.connect(cs[0]!.key).reportOffline(cs[0]!.id, f.id))
        .to.emit(city.registry, "FullNodeOfflineVoted")
        .withArgs(f.id, cs[0]!.id, 1, TEST_CONFIG.fullNodeApprovals)
        .and.not.to.emit(city.registry, "FullNodeReportedOffline");
      expect(await city.registry.isLive(f.id)).to.equal(true);
      const { period, votes } = await city.client.offlineBallot(f.id);
      expect(votes).to.equal(1);
      await expect(city.registry.connect(cs[0]!.key).reportOffline(cs[0]!.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryAlreadyReportedOffline")
        .withArgs(f.id, cs[0]!.id, period);
      await expect(city.registry.connect(cs[1]!.key).reportOffline(cs[1]!.id, f.id))
        .to.emit(city.registry, "FullNodeReportedOffline")
        .withArgs(f.id, cs[1]!.id);
      expect(await city.registry.isLive(f.id)).to.equal(false);
      await expect(city.registry.connect(cs[0]!.key).reportOffline(cs[0]!.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryFullNodeNotLive")
        .withArgs(f.id);
      await city.registry.connect(f.key).heartbeat(f.id);
      expect(await city.registry.isLive(f.id)).to.equal(true);
    });
  });

  describe("reassign", function () {
    async function servedCity() {
      const cs = [await coordinator(city), await coordinator(city)];
      const f1 = await fullNode(city, cs);
      const f2 = await fullNode(city, cs);
      const devices = [];
      for (let i = 0; i < 5; i++) devices.push(await lightweight(city, cs[0]!, f1));
      return { cs, f1, f2, devices };
    }

    it("moves at most maxCount devices per call from an offline full node to a live one", async function () {
      const { cs, f1, f2, devices } = await servedCity();
      for (const x of cs) await city.registry.connect(x.key).reportOffline(x.id, f1.id); // k = 2 reports
      const c = city.registry.connect(cs[1]!.key);
      expect(await c.reassign.staticCall(cs[1]!.id, f1.id, f2.id, 2)).to.equal(3n);
      await expect(c.reassign(cs[1]!.id, f1.id, f2.id, 2)).to.emit(city.registry, "ServingNodeAssigned");
      expect(await city.registry.servedCount(f1.id)).to.equal(3n);
      expect(await city.registry.servedCount(f2.id)).to.equal(2n);
      await c.reassign(cs[1]!.id, f1.id, f2.id, 100);
      expect(await city.registry.servedCount(f1.id)).to.equal(0n);
      for (const d of devices) expect((await city.client.getDevice(d.id)).servingNode).to.equal(f2.id);
    });

    it("moves devices off a full node whose heartbeat expired", async function () {
      const { cs, f1, f2 } = await servedCity();
      await time.increase(TEST_CONFIG.heartbeatTimeout + 1);
      await city.registry.connect(f2.key).heartbeat(f2.id);
      await city.registry.connect(cs[0]!.key).reassign(cs[0]!.id, f1.id, f2.id, 10);
      expect(await city.registry.servedCount(f2.id)).to.equal(5n);
    });

    it("reverts with RegistryFullNodeLive when the source is live and RegistryFullNodeNotLive when the target is not", async function () {
      const { cs, f1, f2 } = await servedCity();
      await expect(city.registry.connect(cs[0]!.key).reassign(cs[0]!.id, f1.id, f2.id, 10))
        .to.be.revertedWithCustomError(city.registry, "RegistryFullNodeLive")
        .withArgs(f1.id);
      await time.increase(TEST_CONFIG.heartbeatTimeout + 1);
      await expect(city.registry.connect(cs[0]!.key).reassign(cs[0]!.id, f1.id, f2.id, 10))
        .to.be.revertedWithCustomError(city.registry, "RegistryFullNodeNotLive")
        .withArgs(f2.id);
    });

    it("reverts with RegistryNotCoordinator for a caller that is not a coordination node", async function () {
      const { f1, f2 } = await servedCity();
      await expect(city.registry.connect(f2.key).reassign(f2.id, f1.id, f2.id, 1))
        .to.be.revertedWithCustomError(city.registry, "RegistryNotCoordinator")
        .withArgs(f2.id);
    });
  });

  describe("report", function () {
    it("lowers trust by the penalty, once per reporter and trust case; a quiet epoch closes the case", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      await expect(city.registry.connect(f.key).report(f.id, d.id, EVIDENCE))
        .to.emit(city.registry, "MisbehaviourReported")
        .withArgs(d.id, f.id, f.id, EVIDENCE, 850);
      expect(await city.registry.hasReported(d.id, f.id)).to.equal(true);
      await expect(city.registry.connect(f.key).report(f.id, d.id, EVIDENCE))
        .to.be.revertedWithCustomError(city.registry, "RegistryAlreadyReported")
        .withArgs(d.id, f.id, f.id);
      await time.increase(TEST_CONFIG.epochLength);
      expect(await city.registry.hasReported(d.id, f.id)).to.equal(false);
      await expect(city.registry.connect(f.key).report(f.id, d.id, EVIDENCE))
        .to.emit(city.registry, "TrustRestored")
        .withArgs(d.id, 1000);
      expect((await city.client.getDevice(d.id)).trust).to.equal(850);
    });

    it("counts the lightweight nodes a coordination node admitted as one reporter with it", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[1]!, f);
      const sybils = [await lightweight(city, cs[0]!, f), await lightweight(city, cs[0]!, f)];
      expect(await city.registry.cohortOf(sybils[0]!.id)).to.equal(cs[0]!.id);
      await city.registry.connect(sybils[0]!.key).report(sybils[0]!.id, d.id, EVIDENCE);
      for (const r of [sybils[1]!, cs[0]!])
        await expect(city.registry.connect(r.key).report(r.id, d.id, EVIDENCE))
          .to.be.revertedWithCustomError(city.registry, "RegistryAlreadyReported")
          .withArgs(d.id, r.id, cs[0]!.id);
      expect((await city.client.getDevice(d.id)).trust).to.equal(850);
    });

    it("answers hasReported false for a device never reported", async function () {
      const d = await registerNode(city, Label.Lightweight);
      expect(await city.registry.hasReported(d.id, d.id)).to.equal(false);
    });

    it("suspends an active device under suspendBelow and blocks it under blockBelow, removing it from its serving node", async function () {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      for (const c of cs) await city.registry.connect(c.key).report(c.id, d.id, EVIDENCE); // 1000 -> 550
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Suspended);
      expect(await city.registry.servedCount(f.id)).to.equal(0n);
      expect((await city.client.getDevice(d.id)).servingNode).to.equal(ZERO_ID);
      await city.registry.connect(f.key).report(f.id, d.id, EVIDENCE); // 400
      const fifth = await coordinator(city); // blocking takes a fifth independent reporter
      await expect(city.registry.connect(fifth.key).report(fifth.id, d.id, EVIDENCE)) // 250
        .to.emit(city.registry, "DeviceStatusChanged")
        .withArgs(d.id, Status.Suspended, Status.Blocked);
    });

    it("reverts with RegistryInvalidStatus when the reporter is not active or the device is blocked", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const pending = await registerNode(city, Label.Full);
      const f = await fullNode(city, cs);
      await expect(city.registry.connect(pending.key).report(pending.id, f.id, EVIDENCE))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidStatus")
        .withArgs(pending.id, Status.Pending);
      await city.registry.connect(city.operator).revoke(pending.id);
      await expect(city.registry.connect(f.key).report(f.id, pending.id, EVIDENCE))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidStatus")
        .withArgs(pending.id, Status.Revoked);
    });

    it("reverts with RegistrySelfAction on a self-report and RegistryUnauthorizedKey for a foreign key", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      await expect(city.registry.connect(f.key).report(f.id, f.id, EVIDENCE))
        .to.be.revertedWithCustomError(city.registry, "RegistrySelfAction")
        .withArgs(f.id);
      await expect(city.registry.connect(city.stranger).report(f.id, cs[0]!.id, EVIDENCE))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedKey")
        .withArgs(f.id, city.stranger.address);
    });

    it("reverts with RegistryReporterNotEligible when a lightweight node reports a full or coordination node", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      await expect(city.registry.connect(d.key).report(d.id, f.id, EVIDENCE))
        .to.be.revertedWithCustomError(city.registry, "RegistryReporterNotEligible")
        .withArgs(d.id, Label.Lightweight, Label.Full);
      await expect(city.registry.connect(d.key).report(d.id, cs[0]!.id, EVIDENCE))
        .to.be.revertedWithCustomError(city.registry, "RegistryReporterNotEligible")
        .withArgs(d.id, Label.Lightweight, Label.Coordination);
      const other = await lightweight(city, cs[0]!, f);
      await expect(city.registry.connect(d.key).report(d.id, other.id, EVIDENCE)).to.emit(
        city.registry,
        "MisbehaviourReported",
      );
    });

    it("suspends a pending device under suspendBelow, so one approval no longer admits it", async function () {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await registerNode(city, Label.Lightweight);
      for (const c of cs) await city.registry.connect(c.key).report(c.id, d.id, EVIDENCE);
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Suspended);
      await city.registry.connect(cs[0]!.key).approve(cs[0]!.id, d.id, f.id);
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Suspended);
    });

    it("leaves a suspended full node's devices to reassignment", async function () {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city)];
      const f1 = await fullNode(city, cs);
      const f2 = await fullNode(city, cs);
      await lightweight(city, cs[0]!, f1);
      for (const c of cs) await city.registry.connect(c.key).report(c.id, f1.id, EVIDENCE);
      expect(await city.registry.isLive(f1.id)).to.equal(false);
      await city.registry.connect(cs[0]!.key).reassign(cs[0]!.id, f1.id, f2.id, 10);
      expect(await city.registry.servedCount(f2.id)).to.equal(1n);
    });
  });

  describe("reinstatement and requestRekey", function () {
    async function blockedDevice() {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      for (const c of cs) await city.registry.connect(c.key).report(c.id, d.id, EVIDENCE);
      await city.registry.connect(f.key).report(f.id, d.id, EVIDENCE);
      const fifth = await coordinator(city); // five independent reporters block
      await city.registry.connect(fifth.key).report(fifth.id, d.id, EVIDENCE);
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Blocked);
      return { cs, f, d };
    }

    it("reinstates a suspended device only with k fresh approvals, at the suspension threshold", async function () {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      for (const c of cs) await city.registry.connect(c.key).report(c.id, d.id, EVIDENCE);
      // cs[0] admitted it in an earlier round; that approval no longer counts.
      await city.registry.connect(cs[0]!.key).approve(cs[0]!.id, d.id, f.id);
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Suspended);
      await expect(city.registry.connect(cs[1]!.key).approve(cs[1]!.id, d.id, f.id))
        .to.emit(city.registry, "TrustRestored")
        .withArgs(d.id, TEST_CONFIG.suspendBelow);
      const rec = await city.client.getDevice(d.id);
      expect(rec.status).to.equal(Status.Active);
      expect(rec.trust).to.equal(TEST_CONFIG.suspendBelow);
      expect(rec.servingNode).to.equal(f.id);
    });

    it("keeps a blocked device blocked until its owner re-keys it and k coordination nodes approve", async function () {
      const { cs, f, d } = await blockedDevice();
      await expect(city.registry.connect(cs[0]!.key).approve(cs[0]!.id, d.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryApprovalNotExpected")
        .withArgs(d.id, Status.Blocked);
      const newKey = ethers.Wallet.createRandom();
      const deadline = FAR_DEADLINE;
      const sig = await city.client.signRekey(newKey as never, d.id, deadline);
      await expect(city.registry.connect(city.operator).requestRekey(d.id, newKey.address, deadline, sig)).to.emit(
        city.registry,
        "RekeyRequested",
      );
      await city.registry.connect(cs[0]!.key).approve(cs[0]!.id, d.id, f.id);
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Blocked);
      await expect(city.registry.connect(cs[1]!.key).approve(cs[1]!.id, d.id, f.id))
        .to.emit(city.registry, "DeviceRekeyed")
        .withArgs(d.id, d.key.address, newKey.address);
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Active);
      expect(await city.registry.keyOf(d.id)).to.equal(newKey.address);
      // The compromised key can never be bound again.
      const { req, sig: s2 } = await signedRegistration(city.client, d.key, city.operator.address);
      await expect(city.registry.connect(city.operator).register(req, s2))
        .to.be.revertedWithCustomError(city.registry, "RegistryKeyInUse")
        .withArgs(d.key.address);
    });

    it("reverts with RegistryInvalidSignature when the new key did not sign, and refuses replaying a used re-key signature", async function () {
      const { d } = await blockedDevice();
      const newKey = ethers.Wallet.createRandom();
      const other = ethers.Wallet.createRandom();
      const wrong = await city.client.signRekey(other as never, d.id, FAR_DEADLINE);
      await expect(
        city.registry.connect(city.operator).requestRekey(d.id, newKey.address, FAR_DEADLINE, wrong),
      ).to.be.revertedWithCustomError(city.registry, "RegistryInvalidSignature");
      const sig = await city.client.signRekey(newKey as never, d.id, FAR_DEADLINE);
      await city.registry.connect(city.operator).requestRekey(d.id, newKey.address, FAR_DEADLINE, sig);
      await expect(city.registry.connect(city.operator).requestRekey(d.id, newKey.address, FAR_DEADLINE, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryKeyInUse")
        .withArgs(newKey.address);
    });

    it("drops a re-key requested before the block: the owner must ask again", async function () {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      const early = ethers.Wallet.createRandom();
      await city.registry
        .connect(city.operator)
        .requestRekey(
          d.id,
          early.address,
          FAR_DEADLINE,
          await city.client.signRekey(early as never, d.id, FAR_DEADLINE),
        );
      for (const c of cs) await city.registry.connect(c.key).report(c.id, d.id, EVIDENCE);
      await city.registry.connect(f.key).report(f.id, d.id, EVIDENCE);
      const fifth = await coordinator(city); // five independent reporters block
      await city.registry.connect(fifth.key).report(fifth.id, d.id, EVIDENCE);
      expect(await city.registry.statusOf(d.id)).to.equal(Status.Blocked);
      expect((await city.client.getDevice(d.id)).pendingKey).to.equal(ethers.ZeroAddress);
      await expect(city.registry.connect(cs[0]!.key).approve(cs[0]!.id, d.id, f.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryApprovalNotExpected")
        .withArgs(d.id, Status.Blocked);
    });

    it("reverts with RegistryUnauthorizedOwner when someone else asks for a re-key", async function () {
      const { d } = await blockedDevice();
      const newKey = ethers.Wallet.createRandom();
      const sig = await city.client.signRekey(newKey as never, d.id, FAR_DEADLINE);
      await expect(city.registry.connect(city.stranger).requestRekey(d.id, newKey.address, FAR_DEADLINE, sig))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedOwner")
        .withArgs(d.id, city.stranger.address);
    });

    it("returns a blocked coordination node to Suspended after a re-key, for the admin to re-appoint", async function () {
      const cs = [await coordinator(city), await coordinator(city), await coordinator(city), await coordinator(city)];
      const target = cs[3]!;
      const more = [await coordinator(city), await coordinator(city)]; // five independent reporters
      for (const c of [...cs.slice(0, 3), ...more])
        await city.registry.connect(c.key).report(c.id, target.id, EVIDENCE);
      expect(await city.registry.statusOf(target.id)).to.equal(Status.Blocked);
      const newKey = ethers.Wallet.createRandom();
      await city.registry
        .connect(city.operator)
        .requestRekey(
          target.id,
          newKey.address,
          FAR_DEADLINE,
          await city.client.signRekey(newKey as never, target.id, FAR_DEADLINE),
        );
      for (const c of cs.slice(0, 2)) await city.registry.connect(c.key).approve(c.id, target.id, ZERO_ID);
      expect(await city.registry.statusOf(target.id)).to.equal(Status.Suspended);
      // the admin re-appoints it at the suspension threshold: usable again, not one report from a block
      await expect(city.registry.connect(city.admin).appointCoordinator(target.id))
        .to.emit(city.registry, "TrustRestored")
        .withArgs(target.id, TEST_CONFIG.suspendBelow);
      expect((await city.client.getDevice(target.id)).status).to.equal(Status.Active);
    });
  });

  describe("owner actions", function () {
    it("transfers a device, and only the new owner may act on it", async function () {
      const d = await registerNode(city, Label.Lightweight);
      await expect(city.registry.connect(city.operator).transferDevice(d.id, city.stranger.address))
        .to.emit(city.registry, "DeviceTransferred")
        .withArgs(d.id, city.operator.address, city.stranger.address);
      expect(await city.registry.ownerOf(d.id)).to.equal(city.stranger.address);
      await expect(city.registry.connect(city.operator).setPermissions(d.id, 7))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedOwner")
        .withArgs(d.id, city.operator.address);
      await expect(city.registry.connect(city.stranger).setPermissions(d.id, 7))
        .to.emit(city.registry, "PermissionsChanged")
        .withArgs(d.id, 7);
      await expect(
        city.registry.connect(city.stranger).transferDevice(d.id, ethers.ZeroAddress),
      ).to.be.revertedWithCustomError(city.registry, "RegistryZeroAddress");
    });

    it("publishes a new profile with its hash", async function () {
      const d = await registerNode(city, Label.Lightweight);
      const encoded = encodeProfile(minimalProfile("Device/Meter/Water"));
      await expect(city.registry.connect(city.operator).updateProfile(d.id, encoded))
        .to.emit(city.registry, "ProfileUpdated")
        .withArgs(d.id, ethers.keccak256(encoded), encoded);
    });

    it("attaches a device to an active gateway and refuses anything else", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const station = await registerNode(city, Label.Full, Kind.BaseStation);
      const d = await registerNode(city, Label.Lightweight);
      await expect(city.registry.connect(city.operator).setGateway(d.id, station.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidGateway")
        .withArgs(station.id);
      for (const c of cs) await city.registry.connect(c.key).approve(c.id, station.id, ZERO_ID);
      await expect(city.registry.connect(city.operator).setGateway(d.id, station.id))
        .to.emit(city.registry, "GatewayAssigned")
        .withArgs(d.id, station.id);
      expect((await city.client.getDevice(d.id)).gateway).to.equal(station.id);
      await expect(city.registry.connect(city.operator).setGateway(station.id, station.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidGateway")
        .withArgs(station.id);
      const plainDevice = await fullNode(city, cs);
      await expect(city.registry.connect(city.operator).setGateway(d.id, plainDevice.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidGateway")
        .withArgs(plainDevice.id);
      await expect(city.registry.connect(city.stranger).setGateway(d.id, ZERO_ID))
        .to.be.revertedWithCustomError(city.registry, "RegistryUnauthorizedOwner")
        .withArgs(d.id, city.stranger.address);
      await city.registry.connect(city.operator).setGateway(d.id, ZERO_ID);
      expect((await city.client.getDevice(d.id)).gateway).to.equal(ZERO_ID);
    });

    it("revokes for good: a revoked device takes no more owner actions", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const d = await lightweight(city, cs[0]!, f);
      await expect(city.registry.connect(city.operator).revoke(d.id))
        .to.emit(city.registry, "DeviceStatusChanged")
        .withArgs(d.id, Status.Active, Status.Revoked);
      expect(await city.registry.servedCount(f.id)).to.equal(0n);
      await expect(city.registry.connect(city.operator).revoke(d.id))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidStatus")
        .withArgs(d.id, Status.Revoked);
      await expect(city.registry.connect(city.operator).setPermissions(d.id, 1))
        .to.be.revertedWithCustomError(city.registry, "RegistryInvalidStatus")
        .withArgs(d.id, Status.Revoked);
    });
  });

  describe("setLayerOperator", function () {
    it("lets the admin appoint and close a layer's operator", async function () {
      const layer = layerHash("strata://city/d9/edge-1");
      await expect(city.registry.connect(city.admin).setLayerOperator(layer, city.stranger.address))
        .to.emit(city.registry, "LayerOperatorSet")
        .withArgs(layer, city.stranger.address);
      expect(await city.registry.layerOperator(layer)).to.equal(city.stranger.address);
      await city.registry.connect(city.admin).setLayerOperator(layer, ethers.ZeroAddress);
      expect(await city.registry.layerOperator(layer)).to.equal(ethers.ZeroAddress);
    });

    it("reverts with OwnableUnauthorizedAccount for anyone but the admin", async function () {
      await expect(
        city.registry.connect(city.operator).setLayerOperator(layerHash("strata://x/y"), city.operator.address),
      )
        .to.be.revertedWithCustomError(city.registry, "OwnableUnauthorizedAccount")
        .withArgs(city.operator.address);
    });
  });

  describe("setConfig", function () {
    it("lets the admin change the rules", async function () {
      const next = { ...TEST_CONFIG, fullNodeApprovals: 3 };
      await expect(city.registry.connect(city.admin).setConfig(next)).to.emit(city.registry, "ConfigChanged");
      expect((await city.client.config()).fullNodeApprovals).to.equal(3);
    });

    for (const [field, value] of [
      ["fullNodeApprovals", 0],
      ["reportPenalty", 0],
      ["reportPenalty", 1001],
      ["suspendBelow", 0],
      ["suspendBelow", 1001],
      ["blockBelow", 600],
      ["epochLength", 0],
      ["heartbeatTimeout", 0],
    ] as const) {
      it(`reverts with RegistryInvalidConfig("${field}") for ${field} = ${value}`, async function () {
        await expect(city.registry.connect(city.admin).setConfig({ ...TEST_CONFIG, [field]: value }))
          .to.be.revertedWithCustomError(city.registry, "RegistryInvalidConfig")
          .withArgs(field);
      });
    }

    it("reverts with OwnableUnauthorizedAccount for anyone but the admin", async function () {
      await expect(city.registry.connect(city.stranger).setConfig(TEST_CONFIG))
        .to.be.revertedWithCustomError(city.registry, "OwnableUnauthorizedAccount")
        .withArgs(city.stranger.address);
    });
  });

  describe("servedDevices", function () {
    it("pages through the served list", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const ids: Hex[] = [];
      for (let i = 0; i < 3; i++) ids.push((await lightweight(city, cs[0]!, f)).id);
      expect(await city.registry.servedDevices(f.id, 0, 2)).to.deep.equal(ids.slice(0, 2));
      expect(await city.registry.servedDevices(f.id, 2, 2)).to.deep.equal(ids.slice(2));
      expect(await city.registry.servedDevices(f.id, 5, 2)).to.deep.equal([]);
    });
  });

  describe("keyKindStatusOf", function () {
    it("returns the key, kind and status getDevice holds, through the whole lifecycle", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const gateway = await registerNode(city, Label.Full, Kind.FogNode);
      const expectAuth = async (status: Status): Promise<void> => {
        const d = await city.client.getDevice(gateway.id);
        expect(d.status).to.equal(status);
        expect(await city.registry.keyKindStatusOf(gateway.id)).to.deep.equal([d.key, BigInt(d.kind), BigInt(status)]);
        expect(d.kind).to.equal(Kind.FogNode);
      };
      await expectAuth(Status.Pending);
      for (const c of cs) await city.client.connect(c.key).approve(c.id, gateway.id);
      await expectAuth(Status.Active);
      const f = await fullNode(city, cs);
      for (const reporter of [...cs, f])
        await city.registry.connect(reporter.key).report(reporter.id, gateway.id, EVIDENCE);
      await expectAuth(Status.Suspended);
      await city.registry.connect(city.operator).revoke(gateway.id);
      await expectAuth(Status.Revoked);
    });

    it("follows a re-key to the new key", async function () {
      const cs = [await coordinator(city), await coordinator(city)];
      const f = await fullNode(city, cs);
      const newKey = ethers.Wallet.createRandom();
      const deadline = BigInt(await time.latest()) + 3600n;
      const sig = await city.client.signRekey(newKey as never, f.id, deadline);
      await city.client.connect(city.operator).requestRekey(f.id, newKey.address, deadline, sig);
      expect((await city.registry.keyKindStatusOf(f.id))[0]).to.equal(f.key.address);
      for (const c of cs) await city.client.connect(c.key).approve(c.id, f.id);
      expect(await city.registry.keyKindStatusOf(f.id)).to.deep.equal([
        newKey.address,
        BigInt(Kind.Device),
        BigInt(Status.Active),
      ]);
    });

    it("returns zeros for an unknown id", async function () {
      expect(await city.registry.keyKindStatusOf(ethers.id("nobody"))).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
    });
  });

  it("builds registrations that the contract accepts for every kind and label", async function () {
    for (const kind of [Kind.Device, Kind.BaseStation, Kind.FogNode, Kind.EdgeNode]) {
      const key = await fundedKey(ethers, city.admin);
      const req = buildRegistration({
        uuid: { layer: "strata://city/d1/edge-1", localId: BigInt(100 + kind) },
        key: key.address,
        kind,
        label: Label.Full,
        permissions: 0,
        profile: minimalProfile("Gateway/Base"),
        deadline: FAR_DEADLINE,
      });
      await city.client
        .connect(city.operator)
        .register(req, await city.client.signRegistration(key, req, city.operator.address));
    }
  });
});
