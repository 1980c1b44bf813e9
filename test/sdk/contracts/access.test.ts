/**
 * The SDK's AccessTokens client on the in-process network: an owner's day of
 * crews through the client, reverts decoded into `ContractRevertError`, input
 * refused before anything is sent, the access log read back with block times,
 * and a gateway verifying signed access requests against the chain — accepted
 * inside the shift, refused after it, past it, from the previous crew after a
 * hand-over, once revoked, for another resource, from a forger, and replayed.
 */
import { expect } from "chai";
import { network } from "hardhat";

import AccessTokensModule from "../../../ignition/modules/AccessTokens.ts";
import { AccessDeniedError, ContractRevertError, type Hex, InvalidInputError } from "../../../sdk/index.ts";
import { type AccessRequest, accessScope, AccessTokensClient, newAccessRequest } from "../../../sdk/exports/access.ts";
import type { AccessTokens } from "../../../types/ethers-contracts/index.ts";
import { type AccessCity, accessFixture, HOUR } from "../../helpers/access.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, mine, time } = networkHelpers;
const deployAccessFixture = accessFixture(ethers, ignition);

const SCOPE = accessScope("read:telemetry@fog/d7-1");
const ZERO = ethers.ZeroAddress;

describe("AccessTokensClient", function () {
  let fx: AccessCity;
  beforeEach(async function () {
    fx = await loadFixture(deployAccessFixture);
  });

  const now = async (): Promise<bigint> => BigInt(await time.latest());
  const at = (t: bigint): Promise<void> => time.setNextBlockTimestamp(t);

  async function expectRevert(promise: Promise<unknown>, errorName: string, args: readonly unknown[]): Promise<void> {
    try {
      await promise;
    } catch (e) {
      expect(e).to.be.instanceOf(ContractRevertError);
      expect((e as ContractRevertError).errorName).to.equal(errorName);
      expect((e as ContractRevertError).args).to.deep.equal(args);
      return;
    }
    expect.fail(`expected ${errorName}`);
  }

  async function expectInvalid(promise: Promise<unknown>, field: string): Promise<void> {
    try {
      await promise;
    } catch (e) {
      expect(e).to.be.instanceOf(InvalidInputError);
      expect((e as InvalidInputError).shortMessage.startsWith(field)).to.equal(true, (e as Error).message);
      return;
    }
    expect.fail(`expected InvalidInputError for ${field}`);
  }

  async function expectDenied(promise: Promise<unknown>, reason: string): Promise<void> {
    try {
      await promise;
    } catch (e) {
      expect(e).to.be.instanceOf(AccessDeniedError);
      expect((e as AccessDeniedError).reason).to.equal(reason, (e as Error).message);
      return;
    }
    expect.fail(`expected denial ${reason}`);
  }

  describe("owner and holder actions", function () {
    it("mints, schedules, hands over, revokes and reads back through typed results", async function () {
      const { tokenId, gasUsed } = await fx.client.mint(fx.stream);
      expect(tokenId).to.equal(1n);
      expect(gasUsed > 0n).to.equal(true);
      const t = (await now()) + 10n;
      await at(t);
      const { shift } = await fx.client.scheduleShift(tokenId, fx.crewA.address, 0n, t + 8n * HOUR);
      expect(shift).to.deep.equal({ holder: fx.crewA.address, start: t, end: t + 8n * HOUR }); // start clamped to now
      const { shifts } = await fx.client.scheduleShifts(tokenId, [
        { holder: fx.crewC.address, start: t + 16n * HOUR, end: t + 24n * HOUR },
      ]);
      expect(shifts).to.have.length(1);
      expect(await fx.client.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
      expect(await fx.client.shiftOf(fx.stream, fx.crewA.address)).to.deep.equal({ tokenId, shift });
      expect(await fx.client.shiftOf(fx.stream, fx.crewB.address)).to.equal(undefined);

      await at(t + 8n * HOUR - 60n);
      const handed = await fx.client.handOver(tokenId, fx.crewB.address, t + 16n * HOUR);
      expect(handed.previousHolder).to.equal(fx.crewA.address);
      expect(handed.shift).to.deep.equal({ holder: fx.crewB.address, start: t + 8n * HOUR - 60n, end: t + 16n * HOUR });
      expect(await fx.client.holderOf(tokenId)).to.equal(fx.crewB.address);
      expect(await fx.client.ownerOf(tokenId)).to.equal(fx.owner.address);
      expect(await fx.client.tokensOf(fx.stream)).to.deep.equal([tokenId]);
      expect(await fx.client.resourceOf(tokenId)).to.equal(fx.stream);
      expect(await fx.client.registry()).to.equal(await fx.city.registry.getAddress());

      await fx.client.connect(fx.crewB).returnToOwner(tokenId);
      expect(await fx.client.holderOf(tokenId)).to.equal(fx.owner.address);
      await fx.client.revokeShift(tokenId, t + 16n * HOUR);
      expect(await fx.client.shifts(tokenId)).to.deep.equal([]);
      const second = (await fx.client.mint(fx.stream)).tokenId;
      await fx.client.revoke(second);
      expect((await fx.client.currentShift(second)).revoked).to.equal(true);
      expect((await fx.client.handOver(tokenId, fx.crewA.address, t + 20n * HOUR)).previousHolder).to.equal(undefined);
    });

    it("reclaims a resource's tokens for its new registry owner", async function () {
      const { tokenId } = await fx.client.mint(fx.stream);
      await fx.city.client.connect(fx.owner).transferDevice(fx.stream, fx.stranger.address);
      const { reclaimed } = await fx.client.connect(fx.stranger).reclaim(fx.stream);
      expect(reclaimed).to.deep.equal([tokenId]);
      expect(await fx.client.ownerOf(tokenId)).to.equal(fx.stranger.address);
    });

    it("decodes reverts into ContractRevertError with the custom error's name and arguments", async function () {
      const { tokenId } = await fx.client.mint(fx.stream);
      await expectRevert(fx.client.connect(fx.stranger).mint(fx.stream), "AccessTokensNotResourceOwner", [
        fx.stream,
        fx.stranger.address,
      ]);
      await expectRevert(
        fx.client.connect(fx.crewA).handOver(tokenId, fx.crewB.address, (await now()) + HOUR),
        "AccessTokensUnauthorizedOwner",
        [tokenId, fx.crewA.address],
      );
      await expectRevert(fx.client.connect(fx.crewA).returnToOwner(tokenId), "AccessTokensUnauthorizedHolder", [
        tokenId,
        fx.crewA.address,
      ]);
      await expectRevert(fx.client.revokeShift(tokenId, 5n), "AccessTokensUnknownShift", [tokenId, 5n]);
      await expectRevert(fx.client.ownerOf(99n), "ERC721NonexistentToken", [99n]);
    });

    it("refuses malformed input before sending anything, naming the field", async function () {
      const t = (await now()) + HOUR;
      await expectInvalid(fx.client.mint("0x1234" as Hex), "resource");
      await expectInvalid(fx.client.scheduleShift(0n, fx.crewA.address, t, t + HOUR), "tokenId");
      await expectInvalid(fx.client.scheduleShift(1n, "crew-a", t, t + HOUR), "shift.holder");
      await expectInvalid(fx.client.scheduleShift(1n, fx.crewA.address, t + HOUR, t), "shift.start");
      await expectInvalid(fx.client.scheduleShift(1n, fx.crewA.address, t, 1n << 40n), "shift.end");
      await expectInvalid(
        fx.client.scheduleShifts(1n, [{ holder: fx.crewA.address, start: -1n, end: t }]),
        "shifts[0].start",
      );
      await expectInvalid(fx.client.handOver(1n, ZERO.slice(0, 10), t), "to");
      await expectInvalid(fx.client.handOver(1n, fx.crewA.address, 3.5 as unknown as bigint), "end");
      await expectInvalid(fx.client.hasAccess(fx.stream, "nobody"), "account");
      await expectInvalid(fx.client.history(1n, { fromBlock: 10, toBlock: 2 }), "fromBlock");
      await expectInvalid(fx.client.history(1n, { maxBlockRange: 0 }), "maxBlockRange");
      expect(() => new AccessTokensClient("0x12", fx.owner)).to.throw(InvalidInputError, /^address/);
    });
  });

  describe("history", function () {
    it("reads a token's access log, oldest first, with block times, in block chunks too", async function () {
      const { tokenId } = await fx.client.mint(fx.stream);
      const other = (await fx.client.mint(fx.stream)).tokenId;
      const t = (await now()) + 10n;
      await at(t);
      await fx.client.scheduleShift(tokenId, fx.crewA.address, t, t + HOUR);
      await fx.client.scheduleShift(other, fx.crewC.address, t + HOUR, t + 2n * HOUR);
      await at(t + 600n);
      await fx.client.handOver(tokenId, fx.crewB.address, t + 2n * HOUR);
      await fx.client.connect(fx.crewB).returnToOwner(tokenId);
      await fx.client.revoke(tokenId);
      const log = await fx.client.history(tokenId);
      expect(log.map((e) => e.event)).to.deep.equal([
        "AccessTokenMinted",
        "ShiftScheduled",
        "ShiftHandedOver",
        "AccessReturned",
        "AccessTokenRevoked",
      ]);
      expect(log[2]!.timestamp).to.equal(t + 600n);
      expect(log[2]!.args).to.deep.include({ previousHolder: fx.crewA.address, holder: fx.crewB.address });
      const chunked = await fx.client.history(tokenId, { maxBlockRange: 2 });
      expect(chunked).to.deep.equal(log);
      expect((await fx.client.history(other)).map((e) => e.event)).to.deep.equal([
        "AccessTokenMinted",
        "ShiftScheduled",
      ]);
    });
  });

  describe("verifyAccessRequest (a gateway's check)", function () {
    let token: bigint;
    let t: bigint;
    /** Crew A holds [t, t + 8h); crew B is scheduled for [t + 8h, t + 16h). */
    beforeEach(async function () {
      token = (await fx.client.mint(fx.stream)).tokenId;
      t = (await now()) + 10n;
      await at(t);
      await fx.client.scheduleShifts(token, [
        { holder: fx.crewA.address, start: t, end: t + 8n * HOUR },
        { holder: fx.crewB.address, start: t + 8n * HOUR, end: t + 16n * HOUR },
      ]);
    });

    const requestBy = (requester: string, issuedAt: bigint, expiresAt: bigint, over: Partial<AccessRequest> = {}) => ({
      ...newAccessRequest({ token, resource: fx.stream, requester, issuedAt, expiresAt, scope: SCOPE }),
      ...over,
    });
    const gateway = () => fx.client.connect(ethers.provider);

    it("grants the current holder's signed request, inside the shift", async function () {
      const req = requestBy(fx.crewA.address, t + 60n, t + 660n);
      const signature = await fx.client.signAccessRequest(fx.crewA, req);
      const grant = await gateway().verifyAccessRequest(req, signature, t + 120n, { scope: SCOPE });
      expect(grant).to.deep.include({ token, resource: fx.stream, holder: fx.crewA.address, expiresAt: t + 660n });
    });

    it("refuses a request signed by the previous crew after the hand-over", async function () {
      const req = requestBy(fx.crewA.address, t + HOUR, t + HOUR + 600n);
      const signature = await fx.client.signAccessRequest(fx.crewA, req);
      await at(t + HOUR + 10n);
      await fx.client.handOver(token, fx.crewC.address, t + 8n * HOUR);
      await expectDenied(gateway().verifyAccessRequest(req, signature, t + HOUR + 20n), "not-holder");
      const fromC = requestBy(fx.crewC.address, t + HOUR + 15n, t + HOUR + 600n);
      const grant = await gateway().verifyAccessRequest(
        fromC,
        await fx.client.signAccessRequest(fx.crewC, fromC),
        t + HOUR + 20n,
      );
      expect(grant.holder).to.equal(fx.crewC.address);
    });

    it("refuses once the shift has expired, by the chain and by the gateway's clock alone", async function () {
      const req = requestBy(fx.crewA.address, t + 8n * HOUR - 300n, t + 8n * HOUR);
      const signature = await fx.client.signAccessRequest(fx.crewA, req);
      await time.increaseTo(t + 8n * HOUR - 200n);
      // The gateway's clock is past the end while the latest block is not yet.
      await expectDenied(gateway().verifyAccessRequest(req, signature, t + 8n * HOUR), "expired");
      await time.increaseTo(t + 8n * HOUR + 5n);
      await expectDenied(gateway().verifyAccessRequest(req, signature, t + 8n * HOUR + 10n), "expired");
      const late = requestBy(fx.crewA.address, t + 8n * HOUR + 6n, t + 8n * HOUR + 60n);
      await expectDenied(
        gateway().verifyAccessRequest(late, await fx.client.signAccessRequest(fx.crewA, late), t + 8n * HOUR + 10n),
        "not-holder",
      );
    });

    it("refuses a request expiring after the shift's end", async function () {
      const req = requestBy(fx.crewA.address, t + 8n * HOUR - 600n, t + 8n * HOUR + 1n);
      const signature = await fx.client.signAccessRequest(fx.crewA, req);
      await time.increaseTo(t + 8n * HOUR - 590n);
      await expectDenied(gateway().verifyAccessRequest(req, signature, t + 8n * HOUR - 580n), "beyond-shift");
    });

    it("refuses a replayed nonce when the gateway keeps a replay cache", async function () {
      const req = requestBy(fx.crewA.address, t + 60n, t + 660n);
      const signature = await fx.client.signAccessRequest(fx.crewA, req);
      const seen = new Set<string>();
      await gateway().verifyAccessRequest(req, signature, t + 120n, { seen });
      await expectDenied(gateway().verifyAccessRequest(req, signature, t + 130n, { seen }), "replay");
    });

    it("refuses a request of the next crew issued before its shift began", async function () {
      const req = requestBy(fx.crewB.address, t + 8n * HOUR - 600n, t + 8n * HOUR + 600n);
      const signature = await fx.client.signAccessRequest(fx.crewB, req);
      await time.increaseTo(t + 8n * HOUR + 1n);
      await expectDenied(gateway().verifyAccessRequest(req, signature, t + 8n * HOUR + 2n), "not-yet");
    });

    it("refuses a revoked token, another resource, another scope and a forged signature", async function () {
      const req = requestBy(fx.crewA.address, t + 60n, t + 660n);
      const signature = await fx.client.signAccessRequest(fx.crewA, req);
      await expectDenied(
        gateway().verifyAccessRequest(req, signature, t + 120n, { scope: accessScope("x") }),
        "wrong-scope",
      );
      const elsewhere = requestBy(fx.crewA.address, t + 60n, t + 660n, { resource: fx.actuator });
      await expectDenied(
        gateway().verifyAccessRequest(elsewhere, await fx.client.signAccessRequest(fx.crewA, elsewhere), t + 120n),
        "wrong-resource",
      );
      // The owner signs in crew A's name: the signature is not crew A's.
      const forged = (await fx.owner.signTypedData(
        await fx.client.domain(),
        (await import("../../../sdk/exports/access.ts")).ACCESS_REQUEST_TYPES,
        { ...req },
      )) as Hex;
      await expectDenied(gateway().verifyAccessRequest(req, forged, t + 120n), "bad-signature");
      await fx.client.revoke(token);
      await expectDenied(gateway().verifyAccessRequest(req, signature, t + 120n), "revoked");
    });

    it("signs only with the requester's own key", async function () {
      const req = requestBy(fx.crewA.address, t + 60n, t + 660n);
      await expectInvalid(fx.client.signAccessRequest(fx.crewB, req), "the signer is not the requester");
      await mine();
    });
  });

  it("deploys through its Ignition module against the registry it is given", async function () {
    const { accessTokens } = (await ignition.deploy(AccessTokensModule, {
      parameters: { AccessTokens: { registry: fx.stranger.address } },
    })) as unknown as { accessTokens: AccessTokens };
    expect(await accessTokens.registry()).to.equal(fx.stranger.address);
  });
});
