/**
 * AccessTokens (seed 004 §IV): minting by the registry's owner of a resource,
 * shift queues (order, no overlap, bounds), hand-over from crew to crew through
 * the owner in one transaction, revocation of shifts and tokens, early return
 * (the only transfer a holder may make), every other transfer and approval
 * refused, reclaim after a registry transfer, and `hasAccess` only inside a
 * current shift. Every revert is matched with its exact custom error and args.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { type Hex } from "../../../sdk/index.ts";
import { Label, Status } from "../../../sdk/exports/registry.ts";
import { type AccessCity, accessFixture, HOUR } from "../../helpers/access.ts";
import { fullNode, registerNode } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;
const deployAccessFixture = accessFixture(ethers, ignition);

const ZERO = ethers.ZeroAddress;
const MAX_SHIFTS = 16;
const MAX_TOKENS = 8;

describe("AccessTokens", function () {
  let fx: AccessCity;
  beforeEach(async function () {
    fx = await loadFixture(deployAccessFixture);
  });

  const now = async (): Promise<bigint> => BigInt(await time.latest());
  /** The next transaction runs at `t`. */
  const at = (t: bigint): Promise<void> => time.setNextBlockTimestamp(t);
  const asOwner = () => fx.tokens.connect(fx.owner);
  const mintStream = async (): Promise<bigint> => (await fx.client.mint(fx.stream)).tokenId;
  const shift = (holder: string, start: bigint, end: bigint) => ({ holder, start, end });

  describe("deployment", function () {
    it("keeps the registry, names the token and advertises IAccessTokens, ERC-721 and ERC-165", async function () {
      expect(await fx.tokens.registry()).to.equal(await fx.city.registry.getAddress());
      expect(await fx.tokens.name()).to.equal("Strata Access Token");
      expect(await fx.tokens.symbol()).to.equal("SAT");
      expect(await fx.tokens.MAX_SHIFTS()).to.equal(BigInt(MAX_SHIFTS));
      expect(await fx.tokens.MAX_TOKENS_PER_RESOURCE()).to.equal(BigInt(MAX_TOKENS));
      const iface = fx.tokens.interface;
      let id = 0n;
      const own = [
        "mint",
        "scheduleShift",
        "scheduleShifts",
        "handOver",
        "revokeShift",
        "revoke",
        "reclaim",
        "returnToOwner",
        "hasAccess",
        "shiftOf",
        "currentShift",
        "holderOf",
        "shifts",
        "tokensOf",
        "resourceOf",
        "registry",
        "deployedAt",
      ] as const;
      for (const name of own) id ^= BigInt(iface.getFunction(name)!.selector);
      expect(await fx.tokens.supportsInterface(ethers.toBeHex(id, 4))).to.equal(true);
      expect(await fx.tokens.supportsInterface("0x80ac58cd")).to.equal(true); // ERC-721
      expect(await fx.tokens.supportsInterface("0x5b5e139f")).to.equal(true); // ERC-721 metadata
      expect(await fx.tokens.supportsInterface("0x01ffc9a7")).to.equal(true); // ERC-165
      expect(await fx.tokens.supportsInterface("0xad092b5c")).to.equal(false); // not ERC-4907
    });
  });

  describe("mint", function () {
    it("mints to the registry's owner of the resource, with sequential ids, and logs the resource", async function () {
      await expect(asOwner().mint(fx.stream))
        .to.emit(fx.tokens, "Transfer")
        .withArgs(ZERO, fx.owner.address, 1n)
        .and.to.emit(fx.tokens, "AccessTokenMinted")
        .withArgs(1n, fx.stream, fx.owner.address);
      await asOwner().mint(fx.actuator);
      await asOwner().mint(fx.stream);
      expect(await fx.tokens.ownerOf(1n)).to.equal(fx.owner.address);
      expect(await fx.tokens.balanceOf(fx.owner.address)).to.equal(3n);
      expect(await fx.tokens.resourceOf(3n)).to.equal(fx.stream);
      expect(await fx.tokens.tokensOf(fx.stream)).to.deep.equal([1n, 3n]);
      expect(await fx.tokens.tokensOf(fx.actuator)).to.deep.equal([2n]);
      expect(await fx.tokens.holderOf(1n)).to.equal(fx.owner.address);
    });

    it("reverts with AccessTokensNotResourceOwner for anyone but the resource's owner", async function () {
      await expect(fx.tokens.connect(fx.stranger).mint(fx.stream))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensNotResourceOwner")
        .withArgs(fx.stream, fx.stranger.address);
    });

    it("reverts with AccessTokensNotResourceOwner for an id the registry does not know", async function () {
      const unknown = ethers.id("not a device") as Hex;
      await expect(asOwner().mint(unknown))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensNotResourceOwner")
        .withArgs(unknown, fx.owner.address);
    });

    it("reverts with AccessTokensTooManyTokens past 8 live tokens, and a revocation frees a place", async function () {
      for (let i = 0; i < MAX_TOKENS; i++) await asOwner().mint(fx.stream);
      await expect(asOwner().mint(fx.stream))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensTooManyTokens")
        .withArgs(fx.stream, BigInt(MAX_TOKENS));
      await asOwner().revoke(3n);
      await expect(asOwner().mint(fx.stream))
        .to.emit(fx.tokens, "AccessTokenMinted")
        .withArgs(9n, fx.stream, fx.owner.address);
      expect(await fx.tokens.tokensOf(fx.stream)).to.have.members([1n, 2n, 8n, 4n, 5n, 6n, 7n, 9n]);
    });

    it("reverts with AccessTokensSupplyExhausted when every 32-bit id is taken", async function () {
      await mintStream();
      // The id counter is the slot after ERC-721's six and the three mappings: it reads 1 now.
      const slot = 9n;
      expect(BigInt(await ethers.provider.getStorage(fx.address, slot))).to.equal(1n);
      await networkHelpers.setStorageAt(fx.address, slot, 2n ** 32n - 1n);
      await expect(asOwner().mint(fx.stream))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensSupplyExhausted")
        .withArgs(2n ** 32n - 1n);
    });
  });

  describe("scheduleShift", function () {
    it("stores the shift, logs it and keeps the queue in time order", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      await expect(asOwner().scheduleShift(token, fx.crewB.address, t + 2n * HOUR, t + 3n * HOUR))
        .to.emit(fx.tokens, "ShiftScheduled")
        .withArgs(token, fx.crewB.address, t + 2n * HOUR, t + 3n * HOUR);
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + HOUR);
      await asOwner().scheduleShift(token, fx.crewC.address, t + HOUR, t + 2n * HOUR); // adjacent on both sides
      expect((await fx.client.shifts(token)).map((s) => [s.holder, s.start, s.end])).to.deep.equal([
        [fx.crewA.address, t, t + HOUR],
        [fx.crewC.address, t + HOUR, t + 2n * HOUR],
        [fx.crewB.address, t + 2n * HOUR, t + 3n * HOUR],
      ]);
    });

    it("makes a start in the past mean now (the stored and logged start is the block time)", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await expect(asOwner().scheduleShift(token, fx.crewA.address, 1n, t + HOUR))
        .to.emit(fx.tokens, "ShiftScheduled")
        .withArgs(token, fx.crewA.address, t, t + HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
    });

    it("prunes ended shifts so that the queue never holds more than 16 current and upcoming ones", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      const batch = Array.from({ length: MAX_SHIFTS }, (_, i) =>
        shift(fx.crewA.address, t + BigInt(i) * HOUR, t + BigInt(i + 1) * HOUR),
      );
      await asOwner().scheduleShifts(token, batch);
      const late = t + BigInt(MAX_SHIFTS) * HOUR;
      await expect(asOwner().scheduleShift(token, fx.crewB.address, late, late + HOUR))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensQueueFull")
        .withArgs(token, BigInt(MAX_SHIFTS));
      await time.increaseTo(t + 2n * HOUR); // two shifts have ended
      await asOwner().scheduleShift(token, fx.crewB.address, late, late + HOUR);
      const live = await fx.client.shifts(token);
      expect(live).to.have.length(MAX_SHIFTS - 1);
      expect(live[0]!.start).to.equal(t + 2n * HOUR);
      expect(live.at(-1)!.holder).to.equal(fx.crewB.address);
    });

    it("reverts with AccessTokensUnauthorizedOwner for anyone but the owner, holders included", async function () {
      const token = await mintStream();
      const t = await now();
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + HOUR);
      for (const signer of [fx.stranger, fx.crewA]) {
        await expect(fx.tokens.connect(signer).scheduleShift(token, fx.crewB.address, t + HOUR, t + 2n * HOUR))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedOwner")
          .withArgs(token, signer.address);
      }
    });

    it("reverts with AccessTokensUnknownToken for a token never minted or revoked", async function () {
      const token = await mintStream();
      await asOwner().revoke(token);
      const t = await now();
      for (const id of [token, 99n]) {
        await expect(asOwner().scheduleShift(id, fx.crewA.address, t, t + HOUR))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnknownToken")
          .withArgs(id);
      }
    });

    it("reverts with AccessTokensInvalidHolder for the zero address and for the owner", async function () {
      const token = await mintStream();
      const t = await now();
      for (const holder of [ZERO, fx.owner.address]) {
        await expect(asOwner().scheduleShift(token, holder, t + HOUR, t + 2n * HOUR))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensInvalidHolder")
          .withArgs(token, holder);
      }
    });

    it("reverts with AccessTokensInvalidShift unless the start is before the end", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      for (const [start, end] of [
        [t, t],
        [t + 1n, t],
      ] as const) {
        await expect(asOwner().scheduleShift(token, fx.crewA.address, start, end))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensInvalidShift")
          .withArgs(start, end);
      }
    });

    it("reverts with AccessTokensShiftInPast for a shift that ends by now", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await expect(asOwner().scheduleShift(token, fx.crewA.address, t - HOUR, t))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensShiftInPast")
        .withArgs(t, t);
    });

    it("reverts with AccessTokensShiftOverlap against the shift before, the shift after and the current one", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + HOUR); // current
      await asOwner().scheduleShift(token, fx.crewB.address, t + 2n * HOUR, t + 3n * HOUR);
      const cases: [bigint, bigint, bigint, bigint][] = [
        [t + HOUR - 1n, t + 2n * HOUR, t, t + HOUR], // runs into the current one's end
        [t + HOUR, t + 2n * HOUR + 1n, t + 2n * HOUR, t + 3n * HOUR], // runs into the next one
        [t + 2n * HOUR, t + 3n * HOUR, t + 2n * HOUR, t + 3n * HOUR], // the same slot
        [t + HOUR, t + 4n * HOUR, t + 2n * HOUR, t + 3n * HOUR], // covers the next one
      ];
      for (const [start, end, otherStart, otherEnd] of cases) {
        await expect(asOwner().scheduleShift(token, fx.crewC.address, start, end))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensShiftOverlap")
          .withArgs(token, start, end, otherStart, otherEnd);
      }
    });
  });

  describe("scheduleShifts", function () {
    it("schedules a week of crews in one transaction, in any order", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      const crews = [fx.crewA, fx.crewB, fx.crewC];
      const week = Array.from({ length: 14 }, (_, i) =>
        shift(crews[i % 3]!.address, t + BigInt(i) * 12n * HOUR, t + BigInt(i + 1) * 12n * HOUR),
      ).reverse();
      const { shifts } = await fx.client.scheduleShifts(token, week);
      expect(shifts).to.have.length(14);
      const stored = await fx.client.shifts(token);
      expect(stored.map((s) => s.start)).to.deep.equal([...week].reverse().map((s) => s.start));
    });

    it("reverts with AccessTokensInvalidBatch for no shift and for more than 16", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      await expect(asOwner().scheduleShifts(token, []))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensInvalidBatch")
        .withArgs(0n, BigInt(MAX_SHIFTS));
      const many = Array.from({ length: MAX_SHIFTS + 1 }, (_, i) =>
        shift(fx.crewA.address, t + BigInt(i) * HOUR, t + BigInt(i + 1) * HOUR),
      );
      await expect(asOwner().scheduleShifts(token, many))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensInvalidBatch")
        .withArgs(BigInt(MAX_SHIFTS + 1), BigInt(MAX_SHIFTS));
    });

    it("reverts the whole batch when two of its shifts overlap", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      const batch = [shift(fx.crewA.address, t, t + 2n * HOUR), shift(fx.crewB.address, t + HOUR, t + 3n * HOUR)];
      await expect(asOwner().scheduleShifts(token, batch))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensShiftOverlap")
        .withArgs(token, t + HOUR, t + 3n * HOUR, t, t + 2n * HOUR);
      expect(await fx.client.shifts(token)).to.deep.equal([]);
    });

    it("reverts with AccessTokensUnauthorizedOwner for anyone but the owner", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      await expect(fx.tokens.connect(fx.stranger).scheduleShifts(token, [shift(fx.crewA.address, t, t + HOUR)]))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedOwner")
        .withArgs(token, fx.stranger.address);
    });
  });

  describe("handOver", function () {
    it("passes the token from crew A to crew B through the owner in one transaction", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + 8n * HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
      await at(t + 4n * HOUR);
      await expect(asOwner().handOver(token, fx.crewB.address, t + 12n * HOUR))
        .to.emit(fx.tokens, "ShiftHandedOver")
        .withArgs(token, fx.crewA.address, fx.crewB.address, t + 4n * HOUR, t + 12n * HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewB.address)).to.equal(true);
      expect(await fx.tokens.holderOf(token)).to.equal(fx.crewB.address);
      expect(await fx.client.shifts(token)).to.deep.equal([shift(fx.crewB.address, t + 4n * HOUR, t + 12n * HOUR)]);
    });

    it("costs at most 35,000 gas from one crew to the next (one storage word rewritten)", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + 8n * HOUR);
      const { gasUsed } = await fx.client.handOver(token, fx.crewB.address, t + 16n * HOUR);
      expect(gasUsed <= 35_000n, `handOver used ${gasUsed} gas`).to.equal(true);
    });

    it("starts a shift between shifts, reusing the ended shift's place, before the next upcoming one", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShifts(token, [
        shift(fx.crewA.address, t, t + HOUR),
        shift(fx.crewC.address, t + 4n * HOUR, t + 5n * HOUR),
      ]);
      await at(t + 2n * HOUR);
      await expect(asOwner().handOver(token, fx.crewB.address, t + 3n * HOUR))
        .to.emit(fx.tokens, "ShiftHandedOver")
        .withArgs(token, ZERO, fx.crewB.address, t + 2n * HOUR, t + 3n * HOUR);
      expect(await fx.client.shifts(token)).to.deep.equal([
        shift(fx.crewB.address, t + 2n * HOUR, t + 3n * HOUR),
        shift(fx.crewC.address, t + 4n * HOUR, t + 5n * HOUR),
      ]);
    });

    it("hands a token with no shift at all over to a first crew", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await expect(asOwner().handOver(token, fx.crewA.address, t + HOUR))
        .to.emit(fx.tokens, "ShiftHandedOver")
        .withArgs(token, ZERO, fx.crewA.address, t, t + HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
    });

    it("puts the new shift first when only upcoming shifts are queued", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await asOwner().scheduleShift(token, fx.crewC.address, t + 2n * HOUR, t + 3n * HOUR);
      await at(t);
      await asOwner().handOver(token, fx.crewA.address, t + 2n * HOUR);
      expect((await fx.client.shifts(token)).map((s) => s.holder)).to.deep.equal([fx.crewA.address, fx.crewC.address]);
    });

    it("reverts with AccessTokensShiftOverlap when the new shift runs into the next upcoming one", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShifts(token, [
        shift(fx.crewA.address, t, t + HOUR),
        shift(fx.crewC.address, t + 2n * HOUR, t + 3n * HOUR),
      ]);
      await at(t + 30n);
      await expect(asOwner().handOver(token, fx.crewB.address, t + 2n * HOUR + 1n))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensShiftOverlap")
        .withArgs(token, t + 30n, t + 2n * HOUR + 1n, t + 2n * HOUR, t + 3n * HOUR);
      await time.increaseTo(t + HOUR + 5n); // A's shift ended: between shifts now
      await at(t + HOUR + 10n);
      await expect(asOwner().handOver(token, fx.crewB.address, t + 2n * HOUR + 1n))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensShiftOverlap")
        .withArgs(token, t + HOUR + 10n, t + 2n * HOUR + 1n, t + 2n * HOUR, t + 3n * HOUR);
      await at(t + HOUR + 20n);
      await asOwner().handOver(token, fx.crewB.address, t + 2n * HOUR); // ends as C's begins: fine
    });

    it("reverts with AccessTokensQueueFull when no place is free for a first shift", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      await asOwner().scheduleShifts(
        token,
        Array.from({ length: MAX_SHIFTS }, (_, i) =>
          shift(fx.crewA.address, t + BigInt(i) * HOUR, t + BigInt(i + 1) * HOUR),
        ),
      );
      await expect(asOwner().handOver(token, fx.crewB.address, t))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensQueueFull")
        .withArgs(token, BigInt(MAX_SHIFTS));
    });

    it("reverts with AccessTokensUnauthorizedOwner for the holder itself: crews cannot pass the token on", async function () {
      const token = await mintStream();
      const t = await now();
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + HOUR);
      await expect(fx.tokens.connect(fx.crewA).handOver(token, fx.crewB.address, t + HOUR))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedOwner")
        .withArgs(token, fx.crewA.address);
    });

    it("reverts with AccessTokensInvalidHolder, AccessTokensShiftInPast and AccessTokensUnknownToken", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await expect(asOwner().handOver(token, ZERO, t + HOUR))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensInvalidHolder")
        .withArgs(token, ZERO);
      await expect(asOwner().handOver(token, fx.owner.address, t + HOUR))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensInvalidHolder")
        .withArgs(token, fx.owner.address);
      await at(t);
      await expect(asOwner().handOver(token, fx.crewA.address, t))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensShiftInPast")
        .withArgs(t, t);
      await expect(asOwner().handOver(42n, fx.crewA.address, t + HOUR))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnknownToken")
        .withArgs(42n);
    });
  });

  describe("revokeShift", function () {
    it("ends the current shift at once", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + 8n * HOUR);
      await at(t + HOUR);
      await expect(asOwner().revokeShift(token, t))
        .to.emit(fx.tokens, "ShiftRevoked")
        .withArgs(token, fx.crewA.address, t, t + 8n * HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect(await fx.tokens.holderOf(token)).to.equal(fx.owner.address);
      expect(await fx.client.shifts(token)).to.deep.equal([]);
    });

    it("removes an upcoming shift; the later ones keep their times", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      await asOwner().scheduleShifts(token, [
        shift(fx.crewA.address, t, t + HOUR),
        shift(fx.crewB.address, t + HOUR, t + 2n * HOUR),
        shift(fx.crewC.address, t + 2n * HOUR, t + 3n * HOUR),
      ]);
      await expect(asOwner().revokeShift(token, t + HOUR))
        .to.emit(fx.tokens, "ShiftRevoked")
        .withArgs(token, fx.crewB.address, t + HOUR, t + 2n * HOUR);
      expect(await fx.client.shifts(token)).to.deep.equal([
        shift(fx.crewA.address, t, t + HOUR),
        shift(fx.crewC.address, t + 2n * HOUR, t + 3n * HOUR),
      ]);
      await time.increaseTo(t + HOUR + 1n);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewB.address)).to.equal(false);
      expect(await fx.tokens.holderOf(token)).to.equal(fx.owner.address);
    });

    it("no longer bounds a hand-over once the upcoming shift is revoked", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShifts(token, [
        shift(fx.crewA.address, t, t + HOUR),
        shift(fx.crewC.address, t + 2n * HOUR, t + 3n * HOUR),
      ]);
      await asOwner().revokeShift(token, t + 2n * HOUR);
      await at(t + 60n);
      await expect(asOwner().handOver(token, fx.crewB.address, t + 10n * HOUR))
        .to.emit(fx.tokens, "ShiftHandedOver")
        .withArgs(token, fx.crewA.address, fx.crewB.address, t + 60n, t + 10n * HOUR);
      expect(await fx.client.shifts(token)).to.deep.equal([shift(fx.crewB.address, t + 60n, t + 10n * HOUR)]);
    });

    it("reverts with AccessTokensUnknownShift for a start no current or upcoming shift has", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShifts(token, [
        shift(fx.crewA.address, t, t + HOUR),
        shift(fx.crewB.address, t + HOUR, t + 2n * HOUR),
      ]);
      for (const start of [t - 1n, t + 1n, t + 3n * HOUR]) {
        await expect(asOwner().revokeShift(token, start))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnknownShift")
          .withArgs(token, start);
      }
      await time.increaseTo(t + HOUR); // A's shift has ended: nothing left to revoke
      await expect(asOwner().revokeShift(token, t))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnknownShift")
        .withArgs(token, t);
    });

    it("reverts with AccessTokensUnauthorizedOwner for anyone but the owner", async function () {
      const token = await mintStream();
      const t = await now();
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + HOUR);
      await expect(fx.tokens.connect(fx.crewA).revokeShift(token, t + 1n))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedOwner")
        .withArgs(token, fx.crewA.address);
    });
  });

  describe("returnToOwner", function () {
    it("lets the current holder give the token back early; the next crew still starts on time", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShifts(token, [
        shift(fx.crewA.address, t, t + 8n * HOUR),
        shift(fx.crewB.address, t + 8n * HOUR, t + 16n * HOUR),
      ]);
      await at(t + HOUR);
      await expect(fx.tokens.connect(fx.crewA).returnToOwner(token))
        .to.emit(fx.tokens, "AccessReturned")
        .withArgs(token, fx.crewA.address, fx.owner.address, t + 8n * HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect(await fx.tokens.holderOf(token)).to.equal(fx.owner.address);
      expect(await fx.tokens.ownerOf(token)).to.equal(fx.owner.address);
      await time.increaseTo(t + 8n * HOUR);
      expect(await fx.tokens.holderOf(token)).to.equal(fx.crewB.address);
    });

    it("reverts with AccessTokensUnauthorizedHolder for anyone but the current holder", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShifts(token, [
        shift(fx.crewA.address, t, t + HOUR),
        shift(fx.crewB.address, t + HOUR, t + 2n * HOUR),
      ]);
      // The next crew before its shift, a stranger and the owner itself.
      for (const signer of [fx.crewB, fx.stranger, fx.owner]) {
        await expect(fx.tokens.connect(signer).returnToOwner(token))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedHolder")
          .withArgs(token, signer.address);
      }
      await time.increaseTo(t + 2n * HOUR); // both shifts over: crew B no longer holds it
      await expect(fx.tokens.connect(fx.crewB).returnToOwner(token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedHolder")
        .withArgs(token, fx.crewB.address);
    });

    it("reverts with AccessTokensUnknownToken for a token that is not live", async function () {
      await expect(fx.tokens.connect(fx.crewA).returnToOwner(7n))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnknownToken")
        .withArgs(7n);
    });
  });

  describe("transfers and approvals", function () {
    let token: bigint;
    let t: bigint;
    beforeEach(async function () {
      token = await mintStream();
      t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + 8n * HOUR);
    });

    it("accepts the holder's transferFrom back to the owner as a return (no Transfer: the owner never changed)", async function () {
      const tx = fx.tokens.connect(fx.crewA).transferFrom(fx.crewA.address, fx.owner.address, token);
      await expect(tx).to.emit(fx.tokens, "AccessReturned").and.not.to.emit(fx.tokens, "Transfer");
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect(await fx.tokens.ownerOf(token)).to.equal(fx.owner.address);
    });

    it("accepts both safeTransferFrom forms back to the owner as a return", async function () {
      const asA = fx.tokens.connect(fx.crewA);
      await expect(asA["safeTransferFrom(address,address,uint256)"](fx.crewA.address, fx.owner.address, token)).to.emit(
        fx.tokens,
        "AccessReturned",
      );
      await asOwner().handOver(token, fx.crewB.address, t + 8n * HOUR);
      const asB = fx.tokens.connect(fx.crewB);
      const withData = asB["safeTransferFrom(address,address,uint256,bytes)"];
      await expect(withData(fx.crewB.address, fx.owner.address, token, "0x1234")).to.emit(fx.tokens, "AccessReturned");
    });

    it("reverts with AccessTokensTransferRefused for a holder's transfer to anyone but the owner", async function () {
      for (const to of [fx.crewB.address, fx.stranger.address, ZERO]) {
        await expect(fx.tokens.connect(fx.crewA).transferFrom(fx.crewA.address, to, token))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensTransferRefused")
          .withArgs(token, fx.crewA.address, to);
      }
      const asA = fx.tokens.connect(fx.crewA);
      await expect(asA["safeTransferFrom(address,address,uint256)"](fx.crewA.address, fx.crewB.address, token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensTransferRefused")
        .withArgs(token, fx.crewA.address, fx.crewB.address);
    });

    it("reverts with AccessTokensTransferRefused for the owner's transfers, to anyone or to itself", async function () {
      for (const to of [fx.crewA.address, fx.stranger.address, fx.owner.address]) {
        await expect(asOwner().transferFrom(fx.owner.address, to, token))
          .to.be.revertedWithCustomError(fx.tokens, "AccessTokensTransferRefused")
          .withArgs(token, fx.owner.address, to);
      }
    });

    it("reverts with AccessTokensTransferRefused for a return sent on someone else's behalf", async function () {
      await expect(fx.tokens.connect(fx.stranger).transferFrom(fx.crewA.address, fx.owner.address, token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensTransferRefused")
        .withArgs(token, fx.crewA.address, fx.owner.address);
    });

    it("reverts with AccessTokensUnauthorizedHolder for a 'return' by someone who holds no current shift", async function () {
      await expect(fx.tokens.connect(fx.crewB).transferFrom(fx.crewB.address, fx.owner.address, token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedHolder")
        .withArgs(token, fx.crewB.address);
    });

    it("reverts with AccessTokensUnknownToken for a transfer of a token that is not live", async function () {
      await expect(fx.tokens.connect(fx.crewA).transferFrom(fx.crewA.address, fx.owner.address, 77n))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnknownToken")
        .withArgs(77n);
    });

    it("reverts with AccessTokensApprovalRefused and AccessTokensOperatorRefused: nobody is ever approved", async function () {
      await expect(asOwner().approve(fx.crewB.address, token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensApprovalRefused")
        .withArgs(token, fx.crewB.address);
      await expect(fx.tokens.connect(fx.crewA).approve(fx.crewB.address, token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensApprovalRefused")
        .withArgs(token, fx.crewB.address);
      await expect(asOwner().setApprovalForAll(fx.crewB.address, true))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensOperatorRefused")
        .withArgs(fx.owner.address, fx.crewB.address);
      expect(await fx.tokens.getApproved(token)).to.equal(ZERO);
      expect(await fx.tokens.isApprovedForAll(fx.owner.address, fx.crewB.address)).to.equal(false);
    });
  });

  describe("revoke", function () {
    it("burns the token: its shifts end, it leaves its resource and reads as revoked", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + 8n * HOUR);
      await expect(asOwner().revoke(token))
        .to.emit(fx.tokens, "Transfer")
        .withArgs(fx.owner.address, ZERO, token)
        .and.to.emit(fx.tokens, "AccessTokenRevoked")
        .withArgs(token, fx.stream, fx.owner.address);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect(await fx.tokens.tokensOf(fx.stream)).to.deep.equal([]);
      expect(await fx.tokens.holderOf(token)).to.equal(ZERO);
      expect(await fx.client.shifts(token)).to.deep.equal([]);
      const state = await fx.client.currentShift(token);
      expect(state).to.deep.include({ resource: fx.stream, owner: ZERO, holder: ZERO, revoked: true });
      await expect(fx.tokens.ownerOf(token))
        .to.be.revertedWithCustomError(fx.tokens, "ERC721NonexistentToken")
        .withArgs(token);
    });

    it("reverts with AccessTokensUnauthorizedOwner and AccessTokensUnknownToken", async function () {
      const token = await mintStream();
      await expect(fx.tokens.connect(fx.stranger).revoke(token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedOwner")
        .withArgs(token, fx.stranger.address);
      await asOwner().revoke(token);
      await expect(asOwner().revoke(token))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnknownToken")
        .withArgs(token);
    });
  });

  describe("reclaim", function () {
    it("gives the resource's new registry owner its tokens, schedules cleared", async function () {
      const first = await mintStream();
      const second = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(first, fx.crewA.address, t, t + 8n * HOUR);
      await asOwner().scheduleShift(second, fx.crewB.address, t + HOUR, t + 8n * HOUR);
      await fx.city.client.connect(fx.owner).transferDevice(fx.stream, fx.stranger.address);

      // Until the new owner reclaims, the previous one still rules its tokens.
      await expect(fx.tokens.connect(fx.stranger).handOver(first, fx.crewC.address, t + HOUR))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedOwner")
        .withArgs(first, fx.stranger.address);
      await expect(asOwner().reclaim(fx.stream))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensNotResourceOwner")
        .withArgs(fx.stream, fx.owner.address);

      await expect(fx.tokens.connect(fx.stranger).reclaim(fx.stream))
        .to.emit(fx.tokens, "AccessTokenReclaimed")
        .withArgs(first, fx.owner.address, fx.stranger.address)
        .and.to.emit(fx.tokens, "AccessTokenReclaimed")
        .withArgs(second, fx.owner.address, fx.stranger.address)
        .and.to.emit(fx.tokens, "Transfer")
        .withArgs(fx.owner.address, fx.stranger.address, first);
      expect(await fx.tokens.ownerOf(first)).to.equal(fx.stranger.address);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect(await fx.client.shifts(second)).to.deep.equal([]);
      await expect(asOwner().scheduleShift(first, fx.crewA.address, t, t + HOUR))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensUnauthorizedOwner")
        .withArgs(first, fx.owner.address);
      await fx.tokens.connect(fx.stranger).handOver(first, fx.crewC.address, t + 9n * HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewC.address)).to.equal(true);
      // Again: nothing left to take over.
      expect(await fx.tokens.connect(fx.stranger).reclaim.staticCall(fx.stream)).to.equal(0n);
    });
  });

  describe("hasAccess, shiftOf, currentShift and holderOf", function () {
    it("grant access over [start, end) only", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      await asOwner().scheduleShift(token, fx.crewA.address, t, t + HOUR);
      await time.increaseTo(t - 1n);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect(await fx.tokens.holderOf(token)).to.equal(fx.owner.address);
      await time.increaseTo(t);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
      const [tokenId, s] = await fx.tokens.shiftOf(fx.stream, fx.crewA.address);
      expect([tokenId, s.holder, s.start, s.end]).to.deep.equal([token, fx.crewA.address, t, t + HOUR]);
      expect(await fx.client.currentShift(token)).to.deep.equal({
        token,
        resource: fx.stream,
        owner: fx.owner.address,
        holder: fx.crewA.address,
        start: t,
        end: t + HOUR,
        revoked: false,
        resourceStatus: Status.Active,
      });
      await time.increaseTo(t + HOUR - 1n);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
      await time.increaseTo(t + HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      expect((await fx.client.currentShift(token)).holder).to.equal(ZERO);
    });

    it("answer per resource, over every live token of it, and never for the owner or the zero address", async function () {
      const first = await mintStream();
      const second = await mintStream();
      const onActuator = (await fx.client.mint(fx.actuator)).tokenId;
      const t = (await now()) + 10n;
      await at(t);
      await asOwner().scheduleShift(first, fx.crewA.address, t, t + HOUR);
      await asOwner().scheduleShift(second, fx.crewB.address, t, t + HOUR);
      await asOwner().scheduleShift(onActuator, fx.crewC.address, t, t + HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewB.address)).to.equal(true);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewC.address)).to.equal(false);
      expect(await fx.tokens.hasAccess(fx.actuator, fx.crewC.address)).to.equal(true);
      expect(await fx.tokens.hasAccess(fx.actuator, fx.crewA.address)).to.equal(false);
      expect(await fx.tokens.hasAccess(fx.stream, fx.owner.address)).to.equal(false);
      expect(await fx.tokens.hasAccess(fx.stream, ZERO)).to.equal(false);
      expect((await fx.tokens.shiftOf(fx.stream, fx.crewB.address))[0]).to.equal(second);
      expect((await fx.tokens.shiftOf(fx.stream, fx.crewC.address))[0]).to.equal(0n);
    });

    it("find the current shift among many that ended without being pruned", async function () {
      const token = await mintStream();
      const t = (await now()) + HOUR;
      const crews = [fx.crewA, fx.crewB, fx.crewC];
      await asOwner().scheduleShifts(
        token,
        Array.from({ length: MAX_SHIFTS }, (_, i) =>
          shift(crews[i % 3]!.address, t + BigInt(i) * HOUR, t + BigInt(i) * HOUR + HOUR - 60n),
        ),
      );
      for (let i = 0; i < MAX_SHIFTS; i++) {
        await time.increaseTo(t + BigInt(i) * HOUR + 30n);
        expect(await fx.tokens.holderOf(token)).to.equal(crews[i % 3]!.address);
        expect(await fx.tokens.hasAccess(fx.stream, crews[i % 3]!.address)).to.equal(true);
        expect(await fx.tokens.hasAccess(fx.stream, crews[(i + 1) % 3]!.address)).to.equal(false);
        await time.increaseTo(t + BigInt(i) * HOUR + HOUR - 30n); // in the gap after it
        expect(await fx.tokens.holderOf(token)).to.equal(fx.owner.address);
        expect(await fx.client.shifts(token)).to.have.length(MAX_SHIFTS - 1 - i);
      }
    });

    it("read an id never minted as all zero and not revoked", async function () {
      expect(await fx.client.currentShift(5n)).to.deep.equal({
        token: 5n,
        resource: ethers.ZeroHash,
        owner: ZERO,
        holder: ZERO,
        start: 0n,
        end: 0n,
        revoked: false,
        resourceStatus: Status.None,
      });
      expect(await fx.tokens.holderOf(5n)).to.equal(ZERO);
      expect(await fx.tokens.resourceOf(5n)).to.equal(ethers.ZeroHash);
    });

    it("work for any registered device, whatever its kind", async function () {
      const meter = (await fullNode(fx.city, fx.coordinators)).id;
      const token = (await fx.client.mint(meter)).tokenId;
      const t = (await now()) + 10n;
      await at(t);
      await fx.client.handOver(token, fx.crewA.address, t + HOUR);
      expect(await fx.client.hasAccess(meter, fx.crewA.address)).to.equal(true);
    });
  });
  describe("the resource's registry status", function () {
    it("reverts mint with AccessTokensResourceNotActive for a resource pending admission or revoked", async function () {
      const pending = (await registerNode(fx.city, Label.Lightweight)).id;
      await expect(asOwner().mint(pending))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensResourceNotActive")
        .withArgs(pending, BigInt(Status.Pending));
      await fx.city.client.connect(fx.owner).revoke(fx.actuator);
      await expect(asOwner().mint(fx.actuator))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensResourceNotActive")
        .withArgs(fx.actuator, BigInt(Status.Revoked));
      // the owner check comes first: a stranger learns nothing more
      await expect(fx.tokens.connect(fx.stranger).mint(fx.actuator))
        .to.be.revertedWithCustomError(fx.tokens, "AccessTokensNotResourceOwner")
        .withArgs(fx.actuator, fx.stranger.address);
    });

    it("grants no access through a resource the registry no longer has Active, inside a current shift", async function () {
      const token = await mintStream();
      const t = (await now()) + 10n;
      await at(t);
      await fx.client.handOver(token, fx.crewA.address, t + HOUR);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(true);
      expect((await fx.client.currentShift(token)).resourceStatus).to.equal(Status.Active);
      await fx.city.client.connect(fx.owner).revoke(fx.stream);
      expect(await fx.tokens.hasAccess(fx.stream, fx.crewA.address)).to.equal(false);
      const [tokenId] = await fx.tokens.shiftOf(fx.stream, fx.crewA.address);
      expect(tokenId).to.equal(0n);
      // the schedule is untouched: the owner of record and the shift are still reported, with the status
      const state = await fx.client.currentShift(token);
      expect([state.holder, state.resourceStatus]).to.deep.equal([fx.crewA.address, Status.Revoked]);
    });
  });
});
