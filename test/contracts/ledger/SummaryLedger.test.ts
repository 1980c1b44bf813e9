/**
 * SummaryLedger (seed 003 §IV.B): a high-level layer's members and quorum
 * attestations made by the SDK (7 and 31 members; exactly 2f+1 and more
 * signers, a non-quorum, a wrong message, a non-member), joining, the invalid
 * tag (by the quorum of the others, never by a verdict the judged member
 * signed; down to 2 of 3), re-attaching, the self-examination alarm
 * (`superiorLost`: routes from the lost superior frozen until re-attaching), and
 * the contract blocks with statements 1-6 (each true and false branch; the open
 * submitted only by the node it names responsible; an ended contract not
 * extended), takeover, proof queries and cleanup; the gas against targets;
 * settlement (seed 002, M2X): ETH and ERC-20 escrows per payer released to the
 * provider once F is set and both parties confirmed before the escrow's
 * deadline (the block's expiry when funded), refunded after it (whatever later
 * extensions) or after cleanup.
 */
import type { SolidityParameterType } from "@nomicfoundation/ignition-core";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { network } from "hardhat";

import SummaryLedgerModule from "../../../ignition/modules/SummaryLedger.ts";
import type { SummaryLedger } from "../../../types/ethers-contracts/index.ts";
import { attest, beginning, first, layerId, layerMember, layerMembers, quorumOf } from "./layer.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;

const SUB = layerId("edge-0");
const SUPERIOR = layerId("L2");
const sum = (s: string): string => keccak256(toUtf8Bytes(s));
const route = sum("C: [L1,L2] <- [L0]");

async function deployLayer(n: number) {
  const accounts = await ethers.getSigners();
  const members = layerMembers(
    n,
    accounts.slice(0, 8).map((a) => a.address),
    `L1-${n}`,
  );
  const args = beginning("L1", members, [{ layerId: SUB, ledger: accounts[19]!.address, chainId: 31337n }], {
    layerId: SUPERIOR,
    ledger: accounts[18]!.address,
    chainId: 31337n,
  });
  // an Ignition parameter is JSON-like; the helper's typed beginning block has that shape
  const beginningBlock = args as unknown as SolidityParameterType;
  const { ledger } = await ignition.deploy(SummaryLedgerModule, {
    parameters: { SummaryLedger: { beginning: beginningBlock } },
  });
  return { ledger: ledger as unknown as SummaryLedger, members, accounts, n };
}

const layer7Fixture = () => deployLayer(7);
const layer31Fixture = () => deployLayer(31);

/**
 * A first communication's request for `summary`, naming `responsible` (the node that must submit
 * it; by default account 0, the ledger's default runner).
 */
async function openRequest(
  ledger: SummaryLedger,
  summary: string,
  lifetime = 3600,
  sourceLayer = SUB,
  responsible?: string,
) {
  const now = BigInt(await time.latest());
  const request = {
    summary,
    sourceLayer,
    route,
    responsible: responsible ?? (await ethers.getSigners())[0]!.address,
    expiry: now + BigInt(lifetime),
    deadline: now + BigInt(Math.min(lifetime, 600)),
  };
  return { request, digest: await ledger.openDigest(request) };
}

async function openBlock(
  ctx: Awaited<ReturnType<typeof deployLayer>>,
  summary: string,
  opener = 0,
  lifetime = 3600,
  sourceLayer = SUB,
) {
  const { ledger, members, accounts, n } = ctx;
  const { request, digest } = await openRequest(ledger, summary, lifetime, sourceLayer, accounts[opener]!.address);
  const a = attest(members, digest, first(quorumOf(n)));
  const tx = await ledger.connect(accounts[opener]!).open(request, a.signers, a.signature);
  const receipt = (await tx.wait())!;
  const event = receipt.logs.map((l) => ledger.interface.parseLog(l)).find((e) => e?.name === "BlockOpened");
  return event!.args[0] as string;
}

describe("SummaryLedger", function () {
  this.timeout(300_000);

  describe("beginning block", function () {
    it("records the layer, its members, quorum, subordinate and superior", async function () {
      const { ledger, members } = await loadFixture(layer7Fixture);
      const [id, consensus, establishedAt] = await ledger.layer();
      expect(id).to.equal(layerId("L1"));
      expect(consensus).to.equal("PBFT");
      expect(establishedAt).to.be.greaterThan(0n);
      expect(await ledger.membership()).to.deep.equal([7n, 0x7fn, 5n]);
      const [node, key, valid] = await ledger.member(3);
      expect([node, key, valid]).to.deep.equal([members[3]!.node, members[3]!.publicKey, true]);
      expect((await ledger.superior()).layerId).to.equal(SUPERIOR);
      expect((await ledger.subordinate(SUB)).layerId).to.equal(SUB);
    });

    it("refuses a member whose proof of possession does not verify", async function () {
      const [a, b] = await ethers.getSigners();
      const m0 = layerMember(a!.address, "x", 0);
      const m1 = { ...layerMember(b!.address, "x", 1), proofOfPossession: m0.proofOfPossession };
      const factory = await ethers.getContractFactory("SummaryLedger");
      await expect(factory.deploy(beginning("L", [m0, m1])))
        .to.be.revertedWithCustomError(factory, "LedgerInvalidPossession")
        .withArgs(1);
      await expect(factory.deploy(beginning("L", []))).to.be.revertedWithCustomError(factory, "LedgerNoMembers");
    });
  });

  for (const n of [7, 31]) {
    describe(`attestations of a ${n}-member layer`, function () {
      const fixture = n === 7 ? layer7Fixture : layer31Fixture;
      const q = quorumOf(n);
      const digest = sum(`decision of ${n}`);

      it(`accepts exactly 2f+1 = ${q} signers, and all ${n}`, async function () {
        const { ledger, members } = await loadFixture(fixture);
        const a = attest(members, digest, first(q));
        expect(await ledger.isValidAttestation(digest, a.signers, a.signature)).to.equal(true);
        const b = attest(members, digest, first(n));
        expect(await ledger.isValidAttestation(digest, b.signers, b.signature)).to.equal(true);
        // another quorum: the last q members
        const c = attest(
          members,
          digest,
          first(q).map((i) => n - 1 - i),
        );
        expect(await ledger.isValidAttestation(digest, c.signers, c.signature)).to.equal(true);
        const gas = await ledger.isValidAttestation.estimateGas(digest, a.signers, a.signature);
        console.log(`      verify gas (${n} members, ${q} signers, tx): ${gas}`);
      });

      it("refuses fewer than a quorum", async function () {
        const { ledger, members } = await loadFixture(fixture);
        const a = attest(members, digest, first(q - 1));
        await expect(ledger.isValidAttestation(digest, a.signers, a.signature))
          .to.be.revertedWithCustomError(ledger, "LedgerQuorumNotReached")
          .withArgs(q - 1, q);
      });

      it("returns false for a wrong message or a bitmap that does not match the signers", async function () {
        const { ledger, members } = await loadFixture(fixture);
        const a = attest(members, digest, first(q));
        expect(await ledger.isValidAttestation(sum("other"), a.signers, a.signature)).to.equal(false);
        const shifted = attest(
          members,
          digest,
          first(q).map((i) => i + 1),
        );
        expect(await ledger.isValidAttestation(digest, a.signers, shifted.signature)).to.equal(false);
      });

      it("refuses a non-member key: a bit outside the members, or an outsider's signature", async function () {
        const { ledger, members } = await loadFixture(fixture);
        const a = attest(members, digest, first(q));
        await expect(ledger.isValidAttestation(digest, a.signers | (1n << BigInt(n)), a.signature))
          .to.be.revertedWithCustomError(ledger, "LedgerSignersNotMembers")
          .withArgs(1n << BigInt(n));
        const outsider = layerMember(members[0]!.node, "outsider", 0);
        const forged = attest([outsider, ...members.slice(1)], digest, first(q));
        expect(await ledger.isValidAttestation(digest, forged.signers, forged.signature)).to.equal(false);
      });
    });
  }

  describe("membership", function () {
    it("admits a node by quorum attestation, which then counts in the quorum", async function () {
      const { ledger, members, accounts } = await loadFixture(layer7Fixture);
      const joiner = layerMember(accounts[9]!.address, "joiner", 0);
      const digest = await ledger.joinDigest(joiner.node, keccak256(joiner.publicKey));
      const a = attest(members, digest, first(5));
      const m = { node: joiner.node, publicKey: joiner.publicKey, proofOfPossession: joiner.proofOfPossession };
      // Only the node itself submits its join.
      await expect(ledger.join(m, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerNotCandidate")
        .withArgs(accounts[0]!.address, joiner.node);
      await expect(ledger.connect(accounts[9]!).join(m, a.signers, a.signature))
        .to.emit(ledger, "MemberJoined")
        .withArgs(7, joiner.node, joiner.publicKey);
      expect(await ledger.membership()).to.deep.equal([8n, 0xffn, 6n]);
      const all = [...members, joiner];
      const d = sum("after join");
      const b = attest(all, d, [2, 3, 4, 5, 6, 7]);
      expect(await ledger.isValidAttestation(d, b.signers, b.signature)).to.equal(true);
      // the attestation is spent (a node joins once) and the node is a member now
      await expect(ledger.connect(accounts[9]!).join(m, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerAlreadyMember")
        .withArgs(joiner.node);
    });

    it("refuses a join without a quorum or with a bad proof of possession", async function () {
      const { ledger, members, accounts } = await loadFixture(layer7Fixture);
      const joiner = layerMember(accounts[9]!.address, "joiner", 0);
      const digest = await ledger.joinDigest(joiner.node, keccak256(joiner.publicKey));
      const m = { node: joiner.node, publicKey: joiner.publicKey, proofOfPossession: members[0]!.proofOfPossession };
      const few = attest(members, digest, first(4));
      const asJoiner = ledger.connect(accounts[9]!);
      await expect(asJoiner.join(m, few.signers, few.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerQuorumNotReached",
      );
      const a = attest(members, digest, first(5));
      await expect(asJoiner.join(m, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidPossession")
        .withArgs(7);
      const wrong = attest(members, sum("not the join"), first(5));
      await expect(asJoiner.join(m, wrong.signers, wrong.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidAttestation")
        .withArgs(digest);
    });

    it("tags a lost node invalid: it no longer signs nor counts, and the quorum shrinks", async function () {
      const { ledger, members, accounts } = await loadFixture(layer7Fixture);
      const digest = await ledger.invalidateDigest(6);
      const a = attest(members, digest, first(5));
      await expect(ledger.invalidate(6, a.signers, a.signature))
        .to.emit(ledger, "MemberInvalidated")
        .withArgs(6, members[6]!.node);
      // six valid members: f = 1, quorum 6 - 1 = 5
      expect(await ledger.membership()).to.deep.equal([7n, 0x3fn, 5n]);
      const d = sum("six members");
      const b = attest(members, d, [0, 1, 2, 3, 4]);
      expect(await ledger.isValidAttestation(d, b.signers, b.signature)).to.equal(true);
      const c = attest(members, d, [0, 1, 2, 3, 6]);
      await expect(ledger.isValidAttestation(d, c.signers, c.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerSignersNotMembers")
        .withArgs(1n << 6n);
      await expect(ledger.invalidate(6, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidMemberIndex")
        .withArgs(6);
      expect((await ledger.memberOf(members[6]!.node))[0]).to.equal(false);
      // an invalid node opens no block
      const { request } = await openRequest(ledger, sum("M"));
      await expect(ledger.connect(accounts[6]!).open(request, b.signers, b.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerNotMember")
        .withArgs(accounts[6]!.address);
    });

    it("the invalid tag needs the quorum of the others: 5 of 6 at 7 valid, 3 of 3 at 4, 2 of 2 at 3", async function () {
      const { ledger, members } = await loadFixture(layer7Fixture);
      const verdict = async (index: number, signers: number[]) =>
        attest(members, await ledger.invalidateDigest(index), signers);
      // 7 valid: the 6 others' quorum is 5
      let v = await verdict(6, first(4));
      await expect(ledger.invalidate(6, v.signers, v.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerQuorumNotReached")
        .withArgs(4, 5);
      v = await verdict(6, [1, 2, 3, 4, 5]);
      await ledger.invalidate(6, v.signers, v.signature);
      // 6 valid: the 5 others' quorum is 4; 5 valid: the 4 others' quorum is 3
      v = await verdict(5, [0, 1, 2, 3]);
      await ledger.invalidate(5, v.signers, v.signature);
      v = await verdict(4, [0, 1, 3]);
      await ledger.invalidate(4, v.signers, v.signature);
      expect(await ledger.membership()).to.deep.equal([7n, 0xfn, 3n]);
      // 4 valid: 2 of the 3 others are not enough
      v = await verdict(3, [0, 1]);
      await expect(ledger.invalidate(3, v.signers, v.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerQuorumNotReached")
        .withArgs(2, 3);
      v = await verdict(3, [0, 1, 2]);
      await expect(ledger.invalidate(3, v.signers, v.signature))
        .to.emit(ledger, "MemberInvalidated")
        .withArgs(3, members[3]!.node);
      // 3 valid (quorum 3 for anything else): the 2 others, unanimous, tag the third
      expect(await ledger.membership()).to.deep.equal([7n, 0x7n, 3n]);
      const d = sum("three members");
      const two = attest(members, d, [0, 1]);
      await expect(ledger.isValidAttestation(d, two.signers, two.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerQuorumNotReached")
        .withArgs(2, 3);
      v = await verdict(2, [0]);
      await expect(ledger.invalidate(2, v.signers, v.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerQuorumNotReached")
        .withArgs(1, 2);
      v = await verdict(2, [0, 1]);
      await expect(ledger.invalidate(2, v.signers, v.signature))
        .to.emit(ledger, "MemberInvalidated")
        .withArgs(2, members[2]!.node);
      expect(await ledger.membership()).to.deep.equal([7n, 0x3n, 2n]);
      // the two left decide together
      const pair = attest(members, d, [0, 1]);
      expect(await ledger.isValidAttestation(d, pair.signers, pair.signature)).to.equal(true);
    });

    it("refuses an invalid verdict the judged member signed, whatever the others' quorum", async function () {
      const { ledger, members } = await loadFixture(layer7Fixture);
      const digest = await ledger.invalidateDigest(6);
      // a quorum of the others plus the judged member
      const withJudged = attest(members, digest, [0, 1, 2, 3, 4, 6]);
      await expect(ledger.invalidate(6, withJudged.signers, withJudged.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerJudgedMemberSigned")
        .withArgs(6);
      const all = attest(members, digest, first(7));
      await expect(ledger.invalidate(6, all.signers, all.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerJudgedMemberSigned")
        .withArgs(6);
      // member 0 among the five signers of its own verdict
      const self = attest(members, await ledger.invalidateDigest(0), first(5));
      await expect(ledger.invalidate(0, self.signers, self.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerJudgedMemberSigned")
        .withArgs(0);
      // nothing changed; the others' verdict alone passes
      expect(await ledger.membership()).to.deep.equal([7n, 0x7fn, 5n]);
      const others = attest(members, digest, first(5));
      await expect(ledger.invalidate(6, others.signers, others.signature))
        .to.emit(ledger, "MemberInvalidated")
        .withArgs(6, members[6]!.node);
    });

    it("re-attaches to a new superior layer by attestation, once", async function () {
      const { ledger, members, accounts } = await loadFixture(layer7Fixture);
      const link = { layerId: layerId("L2-bis"), ledger: accounts[17]!.address, chainId: 7n };
      const a = attest(members, await ledger.reattachDigest(link), first(5));
      await expect(ledger.reattach(link, a.signers, a.signature))
        .to.emit(ledger, "SuperiorChanged")
        .withArgs(link.layerId, link.ledger, 7n);
      expect((await ledger.superior()).chainId).to.equal(7n);
      await expect(ledger.reattach(link, a.signers, a.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidAttestation",
      );
    });
  });

  describe("self-examination: the superior layer lost", function () {
    const L2B = layerId("L2-bis");

    /** The quorum's attestation over the current `superiorLostDigest()`. */
    async function lostAttestation(ctx: Awaited<ReturnType<typeof deployLayer>>, indices = first(5)) {
      const digest = await ctx.ledger.superiorLostDigest();
      return { digest, ...attest(ctx.members, digest, indices) };
    }

    it("raises the alarm by quorum attestation: SuperiorLost, frozen, the nonce bumped", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, accounts } = ctx;
      expect(await ledger.isSuperiorFrozen()).to.equal(false);
      const a = await lostAttestation(ctx);
      await expect(ledger.connect(accounts[12]!).superiorLost(a.signers, a.signature))
        .to.emit(ledger, "SuperiorLost")
        .withArgs(SUPERIOR, accounts[18]!.address, 31337n);
      expect(await ledger.isSuperiorFrozen()).to.equal(true);
      expect(await ledger.linksVersion()).to.equal(1n);
      // spent by the state it set: a frozen superior is not lost again (below), and re-attaching moves the epoch
      // the superior link itself is kept (the alarm names it)
      expect((await ledger.superior()).layerId).to.equal(SUPERIOR);
      await expect(ledger.superiorLost(a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerSuperiorFrozen")
        .withArgs(SUPERIOR);
      // re-attached to the same layer (unfrozen), the spent attestation no longer verifies
      const link = { layerId: SUPERIOR, ledger: accounts[18]!.address, chainId: 31337n };
      const r = attest(ctx.members, await ledger.reattachDigest(link), first(5));
      await ledger.reattach(link, r.signers, r.signature);
      expect(await ledger.isSuperiorFrozen()).to.equal(false);
      await expect(ledger.superiorLost(a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidAttestation")
        .withArgs(await ledger.superiorLostDigest());
    });

    it("refuses a second alarm while frozen, even with a fresh attestation", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger } = ctx;
      const a = await lostAttestation(ctx);
      await ledger.superiorLost(a.signers, a.signature);
      const b = await lostAttestation(ctx, first(7));
      await expect(ledger.superiorLost(b.signers, b.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerSuperiorFrozen")
        .withArgs(SUPERIOR);
      expect(await ledger.linksVersion()).to.equal(1n);
    });

    it("refuses the alarm of a layer without a superior: from the beginning, or re-attached to none", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const factory = await ethers.getContractFactory("SummaryLedger");
      const top = await factory.deploy(beginning("top", members));
      const topDigest = await top.superiorLostDigest();
      const t = attest(members, topDigest, first(5));
      await expect(top.superiorLost(t.signers, t.signature)).to.be.revertedWithCustomError(top, "LedgerNoSuperior");
      expect(await top.isSuperiorFrozen()).to.equal(false);
      // re-attached to no layer: no superior either
      const none = { layerId: `0x${"00".repeat(32)}`, ledger: ethers.ZeroAddress, chainId: 0n };
      const r = attest(members, await ledger.reattachDigest(none), first(5));
      await ledger.reattach(none, r.signers, r.signature);
      const a = await lostAttestation(ctx);
      await expect(ledger.connect(accounts[1]!).superiorLost(a.signers, a.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerNoSuperior",
      );
      expect(await ledger.isSuperiorFrozen()).to.equal(false);
    });

    it("refuses a non-quorum, a wrong digest or a non-member bit; nothing changes", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const few = await lostAttestation(ctx, first(4));
      await expect(ledger.superiorLost(few.signers, few.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerQuorumNotReached")
        .withArgs(4, 5);
      const digest = await ledger.superiorLostDigest();
      const wrong = attest(members, sum("not the alarm"), first(5));
      await expect(ledger.superiorLost(wrong.signers, wrong.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidAttestation")
        .withArgs(digest);
      // a quorum's attestation over another decision on the same link (re-attaching to it)
      const link = { layerId: SUPERIOR, ledger: accounts[18]!.address, chainId: 31337n };
      const other = attest(members, await ledger.reattachDigest(link), first(5));
      await expect(ledger.superiorLost(other.signers, other.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidAttestation")
        .withArgs(digest);
      const a = await lostAttestation(ctx);
      await expect(ledger.superiorLost(a.signers | (1n << 7n), a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerSignersNotMembers")
        .withArgs(1n << 7n);
      await expect(ledger.superiorLost(a.signers, wrong.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidAttestation")
        .withArgs(digest);
      expect(await ledger.isSuperiorFrozen()).to.equal(false);
      expect(await ledger.linksVersion()).to.equal(0n);
    });

    it("while frozen no block opens from the superior; the subordinate's still do", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      // not frozen: the superior is a source like a subordinate
      const before = await openBlock(ctx, sum("from L2 before"), 0, 3600, SUPERIOR);
      const a = await lostAttestation(ctx);
      await ledger.superiorLost(a.signers, a.signature);
      const { request, digest } = await openRequest(ledger, sum("from L2 after"), 3600, SUPERIOR, accounts[1]!.address);
      const q = attest(members, digest, first(7));
      await expect(ledger.connect(accounts[1]!).open(request, q.signers, q.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerSuperiorFrozen")
        .withArgs(SUPERIOR);
      expect(await ledger.openingOf(request.summary)).to.deep.equal([`0x${"00".repeat(32)}`, 0n]);
      // the frozen check comes with the source: an unknown layer is still unknown
      const { request: unknown, digest: d2 } = await openRequest(ledger, sum("from nowhere"), 3600, layerId("x"));
      const u = attest(members, d2, first(5));
      await expect(ledger.open(unknown, u.signers, u.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownLayer")
        .withArgs(layerId("x"));
      // a subordinate's first communication opens as before
      const { request: fromSub, digest: d3 } = await openRequest(
        ledger,
        sum("from edge-0"),
        3600,
        SUB,
        accounts[1]!.address,
      );
      const s = attest(members, d3, first(5));
      await expect(ledger.connect(accounts[1]!).open(fromSub, s.signers, s.signature))
        .to.emit(ledger, "BlockOpened")
        .withArgs(anyValue, fromSub.summary, accounts[1]!.address, SUB, route, fromSub.expiry);
      // a live block opened from the superior before the alarm: a second open stays a no-op
      await expect(ledger.connect(accounts[2]!).open({ ...request, summary: sum("from L2 before") }, 0, "0x"))
        .to.emit(ledger, "BlockAlreadyOpened")
        .withArgs(before, sum("from L2 before"), accounts[2]!.address);
    });

    it("while frozen an expired block is not extended from the superior (from a subordinate it is)", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const s = sum("from L2, short-lived");
      const id = await openBlock(ctx, s, 0, 100, SUPERIOR);
      const expiry = (await ledger.getBlock(id)).expiry;
      await time.increase(200);
      const a = await lostAttestation(ctx);
      await ledger.superiorLost(a.signers, a.signature);
      const { request, digest } = await openRequest(ledger, s, 3600, SUPERIOR, accounts[3]!.address);
      const q = attest(members, digest, first(5));
      await expect(ledger.connect(accounts[3]!).open(request, q.signers, q.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerSuperiorFrozen")
        .withArgs(SUPERIOR);
      expect((await ledger.getBlock(id)).expiry).to.equal(expiry);
      const { request: viaSub, digest: d2 } = await openRequest(ledger, s, 3600, SUB, accounts[3]!.address);
      const b = attest(members, d2, first(5));
      await expect(ledger.connect(accounts[3]!).open(viaSub, b.signers, b.signature))
        .to.emit(ledger, "BlockExtended")
        .withArgs(id, viaSub.expiry);
      expect((await ledger.getBlock(id)).responsible).to.equal(accounts[0]!.address);
    });

    it("re-attaching unfreezes: the new superior opens blocks, the lost one is unknown", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const a = await lostAttestation(ctx);
      await ledger.superiorLost(a.signers, a.signature);
      const link = { layerId: L2B, ledger: accounts[17]!.address, chainId: 7n };
      const r = attest(members, await ledger.reattachDigest(link), first(5));
      await expect(ledger.reattach(link, r.signers, r.signature))
        .to.emit(ledger, "SuperiorChanged")
        .withArgs(L2B, accounts[17]!.address, 7n);
      expect(await ledger.isSuperiorFrozen()).to.equal(false);
      const { request, digest } = await openRequest(ledger, sum("from L2-bis"), 3600, L2B);
      const q = attest(members, digest, first(5));
      await expect(ledger.open(request, q.signers, q.signature))
        .to.emit(ledger, "BlockOpened")
        .withArgs(anyValue, request.summary, accounts[0]!.address, L2B, route, request.expiry);
      const { request: old, digest: d2 } = await openRequest(ledger, sum("from the lost L2"), 3600, SUPERIOR);
      const o = attest(members, d2, first(5));
      await expect(ledger.open(old, o.signers, o.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownLayer")
        .withArgs(SUPERIOR);
      // the new superior can be found lost in turn
      const b = await lostAttestation(ctx);
      await expect(ledger.superiorLost(b.signers, b.signature))
        .to.emit(ledger, "SuperiorLost")
        .withArgs(L2B, accounts[17]!.address, 7n);
      expect(await ledger.isSuperiorFrozen()).to.equal(true);
    });
  });

  describe("contract blocks", function () {
    it("statements 1-3 true: opens a block with the first summary, the opener responsible", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, accounts } = ctx;
      const s = sum("M1 @ t1");
      const id = await openBlock(ctx, s, 1);
      expect(BigInt(id) >> 96n).to.equal(BigInt(accounts[1]!.address));
      expect(BigInt(id) & ((1n << 96n) - 1n)).to.equal(1n);
      const b = await ledger.getBlock(id);
      expect(b.responsible).to.equal(accounts[1]!.address);
      expect(b.accomplished).to.equal(false);
      const [blockId, t] = await ledger.openingOf(s);
      expect(blockId).to.equal(id);
      expect(await ledger.summaryOf(id, s)).to.equal(t);
      expect(t).to.equal(BigInt(await time.latest()));
    });

    it("statement 1 false: an unknown source layer, a non-quorum or a wrong attestation is refused", async function () {
      const { ledger, members } = await loadFixture(layer7Fixture);
      const { request, digest } = await openRequest(ledger, sum("M"));
      const a = attest(members, digest, first(5));
      const stranger = { ...request, sourceLayer: layerId("nowhere") };
      await expect(ledger.open(stranger, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownLayer")
        .withArgs(layerId("nowhere"));
      const few = attest(members, digest, first(4));
      await expect(ledger.open(request, few.signers, few.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerQuorumNotReached",
      );
      const other = { ...request, route: sum("another route") };
      await expect(ledger.open(other, a.signers, a.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidAttestation",
      );
      const [, , , , , , , , , outsider] = await ethers.getSigners();
      await expect(ledger.connect(outsider!).open(request, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerNotMember")
        .withArgs(outsider!.address);
    });

    it("refuses an expiry in the past, a deadline after the expiry, a passed deadline", async function () {
      const { ledger, members, accounts } = await loadFixture(layer7Fixture);
      const now = BigInt(await time.latest());
      const sign = async (r: {
        summary: string;
        sourceLayer: string;
        route: string;
        responsible: string;
        expiry: bigint;
        deadline: bigint;
      }) => attest(members, await ledger.openDigest(r), first(5));
      const responsible = accounts[0]!.address;
      const past = { summary: sum("p"), sourceLayer: SUB, route, responsible, expiry: now, deadline: now };
      let a = await sign(past);
      await expect(ledger.open(past, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidExpiry")
        .withArgs(now);
      const late = { ...past, expiry: now + 100n, deadline: now + 200n };
      a = await sign(late);
      await expect(ledger.open(late, a.signers, a.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidExpiry",
      );
      const stale = { ...past, expiry: now + 100n, deadline: now - 1n };
      a = await sign(stale);
      await expect(ledger.open(stale, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerAttestationExpired")
        .withArgs(now - 1n);
    });

    it("statement 3 false: a second node's open is a no-op; an expired block is extended", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const s = sum("M1");
      const id = await openBlock(ctx, s, 0, 100);
      const { request, digest } = await openRequest(ledger, s, 5000);
      await expect(ledger.connect(accounts[2]!).open(request, 0, "0x"))
        .to.emit(ledger, "BlockAlreadyOpened")
        .withArgs(id, s, accounts[2]!.address);
      expect((await ledger.getBlock(id)).responsible).to.equal(accounts[0]!.address);
      await time.increase(200);
      const { request: again, digest: d2 } = await openRequest(ledger, s, 5000, SUB, accounts[2]!.address);
      void digest;
      const a = attest(members, d2, first(5));
      await expect(ledger.connect(accounts[2]!).open(again, a.signers, a.signature))
        .to.emit(ledger, "BlockExtended")
        .withArgs(id, again.expiry);
      expect((await ledger.getBlock(id)).expiry).to.equal(again.expiry);
    });

    it("the open names N_r: another member submitting the quorum's attestation is refused (create and extend)", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const [n0, n3] = [accounts[0]!, accounts[3]!];
      const s = sum("M1 front-run");
      // members 0-4 attest the open member 0 proposed; member 3 (a signer too) submits it first
      const { request, digest } = await openRequest(ledger, s, 100, SUB, n0.address);
      const a = attest(members, digest, first(5));
      await expect(ledger.connect(n3).open(request, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerNotOpener")
        .withArgs(n3.address, n0.address);
      // a member outside the signers (6) neither
      await expect(ledger.connect(accounts[6]!).open(request, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerNotOpener")
        .withArgs(accounts[6]!.address, n0.address);
      expect(await ledger.openingOf(s)).to.deep.equal([`0x${"00".repeat(32)}`, 0n]);
      // rewriting the request's responsible node breaks the attestation
      await expect(
        ledger.connect(n3).open({ ...request, responsible: n3.address }, a.signers, a.signature),
      ).to.be.revertedWithCustomError(ledger, "LedgerInvalidAttestation");
      await expect(ledger.connect(n0).open(request, a.signers, a.signature))
        .to.emit(ledger, "BlockOpened")
        .withArgs(anyValue, s, n0.address, SUB, route, request.expiry);
      const id = (await ledger.openingOf(s))[0];
      // expired: the extension is bound to its named node as well
      await time.increase(200);
      const { request: again, digest: d2 } = await openRequest(ledger, s, 3600, SUB, accounts[2]!.address);
      const b = attest(members, d2, first(5));
      await expect(ledger.connect(n3).open(again, b.signers, b.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerNotOpener")
        .withArgs(n3.address, accounts[2]!.address);
      await expect(ledger.connect(accounts[2]!).open(again, b.signers, b.signature))
        .to.emit(ledger, "BlockExtended")
        .withArgs(id, again.expiry);
      expect((await ledger.getBlock(id)).responsible).to.equal(n0.address);
      // a live block's no-op checks nothing: any member may ask
      await expect(ledger.connect(n3).open(request, 0, "0x"))
        .to.emit(ledger, "BlockAlreadyOpened")
        .withArgs(id, s, n3.address);
    });

    it("an expired accomplished block is not extended: its first summary again is a replay", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const s = sum("M1 of an ended contract");
      const id = await openBlock(ctx, s, 0, 100);
      await ledger.record(id, sum("M2 end"), true);
      const { expiry } = await ledger.getBlock(id);
      await time.increase(200);
      const { request, digest } = await openRequest(ledger, s, 3600, SUB, accounts[2]!.address);
      const a = attest(members, digest, first(5));
      await expect(ledger.connect(accounts[2]!).open(request, a.signers, a.signature))
        .to.emit(ledger, "SummaryReplayed")
        .withArgs(id, s, accounts[2]!.address)
        .and.not.to.emit(ledger, "BlockExtended");
      expect(await ledger.connect(accounts[2]!).open.staticCall(request, a.signers, a.signature)).to.equal(id);
      const b = await ledger.getBlock(id);
      expect([b.expiry, b.accomplished, b.responsible]).to.deep.equal([expiry, true, accounts[0]!.address]);
      // no attestation is checked on that path (as for a live block's no-op)
      await expect(ledger.connect(accounts[4]!).open(request, 0, "0x"))
        .to.emit(ledger, "SummaryReplayed")
        .withArgs(id, s, accounts[4]!.address);
      expect((await ledger.getBlock(id)).expiry).to.equal(expiry);
      // still expired: it takes no summary and can be cleaned
      await expect(ledger.record(id, sum("M3"), false))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockExpired")
        .withArgs(id, expiry);
      await expect(ledger.cleanup(id, [s]))
        .to.emit(ledger, "BlockCleaned")
        .withArgs(id, 1);
    });

    it("statements 4-5 true: the responsible node records a following summary", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger } = ctx;
      const id = await openBlock(ctx, sum("M1"));
      const s2 = sum("M2 @ t2");
      await expect(ledger.record(id, s2, false))
        .to.emit(ledger, "SummaryRecorded")
        .withArgs(id, s2);
      expect(await ledger.summaryOf(id, s2)).to.not.equal(0n);
      const receipt = (await (await ledger.record(id, sum("M3 @ t3"), false)).wait())!;
      console.log(`      record gas (following summary, tx): ${receipt.gasUsed}`);
    });

    it("statement 4 false: another node is refused; an unknown block too", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, accounts } = ctx;
      const id = await openBlock(ctx, sum("M1"));
      await expect(ledger.connect(accounts[1]!).record(id, sum("M2"), false))
        .to.be.revertedWithCustomError(ledger, "LedgerNotResponsible")
        .withArgs(id, accounts[1]!.address, accounts[0]!.address);
      await expect(ledger.record(sum("nothing"), sum("M2"), false))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownBlock")
        .withArgs(sum("nothing"));
    });

    it("statement 4, takeover: the quorum hands the block to another member, who then records", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const id = await openBlock(ctx, sum("M1"));
      const a = attest(members, await ledger.takeOverDigest(id, accounts[3]!.address), first(5));
      await expect(ledger.takeOver(id, accounts[3]!.address, a.signers, a.signature))
        .to.emit(ledger, "ResponsibilityTaken")
        .withArgs(id, accounts[0]!.address, accounts[3]!.address);
      await expect(ledger.record(id, sum("M2"), false)).to.be.revertedWithCustomError(ledger, "LedgerNotResponsible");
      await expect(ledger.connect(accounts[3]!).record(id, sum("M2"), false)).to.emit(ledger, "SummaryRecorded");
      const few = attest(members, await ledger.takeOverDigest(id, accounts[4]!.address), first(4));
      await expect(ledger.takeOver(id, accounts[4]!.address, few.signers, few.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerQuorumNotReached",
      );
      await expect(ledger.takeOver(id, accounts[12]!.address, a.signers, a.signature))
        .to.be.revertedWithCustomError(ledger, "LedgerNotMember")
        .withArgs(accounts[12]!.address);
    });

    it("statement 4, invalid node: a valid member takes its block without an attestation", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const id = await openBlock(ctx, sum("M1"), 6);
      await expect(ledger.connect(accounts[2]!).takeOver(id, accounts[2]!.address, 0, "0x"))
        .to.be.revertedWithCustomError(ledger, "LedgerQuorumNotReached")
        .withArgs(0, 5);
      const a = attest(members, await ledger.invalidateDigest(6), first(5));
      await ledger.invalidate(6, a.signers, a.signature);
      await expect(ledger.connect(accounts[2]!).takeOver(id, accounts[2]!.address, 0, "0x"))
        .to.emit(ledger, "ResponsibilityTaken")
        .withArgs(id, accounts[6]!.address, accounts[2]!.address);
      await expect(ledger.connect(accounts[6]!).record(id, sum("M2"), false)).to.be.revertedWithCustomError(
        ledger,
        "LedgerNotResponsible",
      );
    });

    it("statement 5 false: a duplicate summary is refused with the replay alarm", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, accounts } = ctx;
      const s1 = sum("M1");
      const id = await openBlock(ctx, s1);
      const s2 = sum("M2");
      await ledger.record(id, s2, false);
      await expect(ledger.record(id, s2, false))
        .to.emit(ledger, "SummaryReplayed")
        .withArgs(id, s2, accounts[0]!.address)
        .and.not.to.emit(ledger, "SummaryRecorded");
      expect(await ledger.record.staticCall(id, s1, false)).to.equal(false);
      await expect(ledger.record(id, `0x${"00".repeat(32)}`, false)).to.be.revertedWithCustomError(
        ledger,
        "LedgerZeroSummary",
      );
    });

    it("statement 6: the ending tag sets F for good; the block takes no further summary", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger } = ctx;
      const id = await openBlock(ctx, sum("M1"));
      await ledger.record(id, sum("M2"), false);
      expect((await ledger.getBlock(id)).accomplished).to.equal(false);
      await expect(ledger.record(id, sum("M3 end"), true))
        .to.emit(ledger, "BlockAccomplished")
        .withArgs(id, sum("M3 end"));
      expect((await ledger.getBlock(id)).accomplished).to.equal(true);
      await expect(ledger.record(id, sum("M4"), true))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockAccomplished")
        .withArgs(id);
    });

    it("an expired block takes no summary, and anyone may clean it up once final (not before)", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, accounts } = ctx;
      const s1 = sum("M1");
      const id = await openBlock(ctx, s1, 0, 100);
      const s2 = sum("M2");
      await ledger.record(id, s2, false);
      const expiry = (await ledger.getBlock(id)).expiry;
      await expect(ledger.connect(accounts[15]!).cleanup(id, [s1, s2]))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockNotExpired")
        .withArgs(id, expiry);
      await time.increase(200);
      await expect(ledger.record(id, sum("M3"), false))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockExpired")
        .withArgs(id, expiry);
      // still extendable by its first communication: not final yet
      const window = await ledger.EXTENSION_WINDOW();
      await expect(ledger.connect(accounts[15]!).cleanup(id, [s1, s2]))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockExtendable")
        .withArgs(id, expiry + window);
      await time.increaseTo(expiry + window);
      await expect(ledger.connect(accounts[15]!).cleanup(id, [s1, sum("foreign")]))
        .to.be.revertedWithCustomError(ledger, "LedgerSummaryNotInBlock")
        .withArgs(id, sum("foreign"));
      await expect(ledger.connect(accounts[15]!).cleanup(id, [s1, s2]))
        .to.emit(ledger, "BlockCleaned")
        .withArgs(id, 2);
      expect((await ledger.getBlock(id)).responsible).to.equal(ethers.ZeroAddress);
      expect(await ledger.summaryOf(id, s1)).to.equal(0n);
      await expect(ledger.cleanup(id, [])).to.be.revertedWithCustomError(ledger, "LedgerUnknownBlock");
    });

    it("a summary kept after its block was cleaned is refused as a replay", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members } = ctx;
      const s1 = sum("M1");
      const id = await openBlock(ctx, s1, 0, 100);
      await time.increase(200n + (await ledger.EXTENSION_WINDOW()));
      await ledger.cleanup(id, []);
      const { request, digest } = await openRequest(ledger, s1);
      const a = attest(members, digest, first(5));
      await expect(ledger.open(request, a.signers, a.signature)).to.emit(ledger, "SummaryReplayed");
    });
  });

  describe("a summary is bound to its block (one member cannot deny or hijack a contract)", function () {
    it("an opening summary a member records into its own block does not divert the attested open", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      // Member 1 is responsible for a live block of its own; it sees another contract's first
      // summary on the previous layer's ledger and records it first into that block.
      const own = await openBlock(ctx, sum("member 1's contract"), 1);
      const s = sum("M1 of another contract");
      await ledger.connect(accounts[1]!).record(own, s, false);
      const { request, digest } = await openRequest(ledger, s, 3600, SUB, accounts[0]!.address);
      const a = attest(members, digest, first(5));
      const receipt = (await (await ledger.open(request, a.signers, a.signature)).wait())!;
      const names = receipt.logs.map((l) => ledger.interface.parseLog(l)?.name);
      expect(names).to.deep.equal(["BlockOpened", "SummaryRecorded"]);
      const opened = ledger.interface.parseLog(receipt.logs[0]!)!.args[0] as string;
      expect(opened).to.not.equal(own);
      expect((await ledger.getBlock(opened)).responsible).to.equal(accounts[0]!.address);
      // member 1's own block is untouched by the honest open
      expect((await ledger.getBlock(own)).responsible).to.equal(accounts[1]!.address);
    });

    it("a following summary a member copies into its own block does not refuse the real record", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, accounts } = ctx;
      const honest = await openBlock(ctx, sum("M1 honest"), 0);
      const own = await openBlock(ctx, sum("M1 member 1's"), 1);
      const s2 = sum("M2, public on the previous layer's ledger");
      // copied (with the ending tag even) into the member's own block before N_r records it
      await ledger.connect(accounts[1]!).record(own, s2, true);
      await expect(ledger.record(honest, s2, false))
        .to.emit(ledger, "SummaryRecorded")
        .withArgs(honest, s2)
        .and.not.to.emit(ledger, "SummaryReplayed");
      // and a replay into the honest block is still refused
      await expect(ledger.record(honest, s2, false))
        .to.emit(ledger, "SummaryReplayed")
        .withArgs(honest, s2, accounts[0]!.address);
    });
  });

  describe("cleanup changes no one's next move", function () {
    const WINDOW = 7 * 24 * 3600;

    it("an expired block that may still be extended cannot be cleaned; the re-open extends it", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const s = sum("M1 of a dormant contract");
      const id = await openBlock(ctx, s, 0, 100);
      const { expiry } = await ledger.getBlock(id);
      await time.increaseTo(expiry);
      // the instant it expires, a stranger tries to clean it
      await expect(ledger.connect(accounts[15]!).cleanup(id, []))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockExtendable")
        .withArgs(id, expiry + BigInt(WINDOW));
      const { request, digest } = await openRequest(ledger, s, 3600, SUB, accounts[2]!.address);
      const a = attest(members, digest, first(5));
      await expect(ledger.connect(accounts[2]!).open(request, a.signers, a.signature))
        .to.emit(ledger, "BlockExtended")
        .withArgs(id, request.expiry)
        .and.not.to.emit(ledger, "SummaryReplayed");
    });

    it("past the extension window (or once accomplished) a block is final: open's outcome is the same before and after cleanup", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const s = sum("M1 of an abandoned contract");
      const id = await openBlock(ctx, s, 0, 100);
      const { expiry } = await ledger.getBlock(id);
      await time.increaseTo(expiry + BigInt(WINDOW));
      const { request, digest } = await openRequest(ledger, s, 3600, SUB, accounts[2]!.address);
      const a = attest(members, digest, first(5));
      const asN2 = ledger.connect(accounts[2]!);
      await expect(asN2.open(request, a.signers, a.signature))
        .to.emit(ledger, "SummaryReplayed")
        .withArgs(id, s, accounts[2]!.address)
        .and.not.to.emit(ledger, "BlockExtended");
      await expect(ledger.connect(accounts[15]!).cleanup(id, [s]))
        .to.emit(ledger, "BlockCleaned")
        .withArgs(id, 1);
      await expect(asN2.open(request, a.signers, a.signature))
        .to.emit(ledger, "SummaryReplayed")
        .withArgs(id, s, accounts[2]!.address)
        .and.not.to.emit(ledger, "BlockOpened");
      // an accomplished block is final at its expiry: cleaning it at once changes nothing either
      const ended = sum("M1 of an ended contract");
      const e = await openBlock(ctx, ended, 0, 100);
      await ledger.record(e, sum("M2 end"), true);
      await time.increaseTo((await ledger.getBlock(e)).expiry);
      const r = await openRequest(ledger, ended, 3600, SUB, accounts[2]!.address);
      const b = attest(members, r.digest, first(5));
      await expect(asN2.open(r.request, b.signers, b.signature)).to.emit(ledger, "SummaryReplayed");
      await expect(ledger.connect(accounts[15]!).cleanup(e, [])).to.emit(ledger, "BlockCleaned");
      await expect(asN2.open(r.request, b.signers, b.signature))
        .to.emit(ledger, "SummaryReplayed")
        .withArgs(e, ended, accounts[2]!.address);
    });
  });

  describe("attestations bound to what they authorise", function () {
    it("unrelated quorum actions collected at once do not cancel each other; none replays", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const id = await openBlock(ctx, sum("M1 takeover"), 0);
      const joiner = layerMember(accounts[9]!.address, "joiner", 0);
      const m = { node: joiner.node, publicKey: joiner.publicKey, proofOfPossession: joiner.proofOfPossession };
      const sub = { layerId: layerId("edge-new"), ledger: accounts[16]!.address, chainId: 0n };
      const bis = { layerId: layerId("L2-bis"), ledger: accounts[17]!.address, chainId: 7n };
      // every attestation collected before any is submitted, by members 0-5 (a quorum at 7 and 8
      // valid members, and without member 6, whose invalid verdict is among them)
      const q = first(6);
      const join = attest(members, await ledger.joinDigest(joiner.node, keccak256(joiner.publicKey)), q);
      const link = attest(members, await ledger.linkDigest(sub), q);
      const take = attest(members, await ledger.takeOverDigest(id, accounts[3]!.address), q);
      const inval = attest(members, await ledger.invalidateDigest(6), q);
      const lost = attest(members, await ledger.superiorLostDigest(), q);
      const reat = attest(members, await ledger.reattachDigest(bis), q);
      await expect(ledger.connect(accounts[9]!).join(m, join.signers, join.signature)).to.emit(ledger, "MemberJoined");
      await expect(ledger.linkSubordinate(sub, link.signers, link.signature)).to.emit(ledger, "SubordinateLinked");
      await expect(ledger.takeOver(id, accounts[3]!.address, take.signers, take.signature)).to.emit(
        ledger,
        "ResponsibilityTaken",
      );
      await expect(ledger.invalidate(6, inval.signers, inval.signature)).to.emit(ledger, "MemberInvalidated");
      await expect(ledger.superiorLost(lost.signers, lost.signature)).to.emit(ledger, "SuperiorLost");
      await expect(ledger.reattach(bis, reat.signers, reat.signature)).to.emit(ledger, "SuperiorChanged");
      // each is spent: replaying it is refused
      await expect(ledger.connect(accounts[9]!).join(m, join.signers, join.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerAlreadyMember",
      );
      await expect(ledger.linkSubordinate(sub, link.signers, link.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidAttestation",
      );
      await expect(
        ledger.takeOver(id, accounts[3]!.address, take.signers, take.signature),
      ).to.be.revertedWithCustomError(ledger, "LedgerInvalidAttestation");
      await expect(ledger.invalidate(6, inval.signers, inval.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidMemberIndex",
      );
      await expect(ledger.reattach(bis, reat.signers, reat.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidAttestation",
      );
    });

    it("an old attestation cannot undo a later decision on the same subject (link, takeover)", async function () {
      const ctx = await loadFixture(layer7Fixture);
      const { ledger, members, accounts } = ctx;
      const q = first(5);
      const v1 = { layerId: layerId("edge-moving"), ledger: accounts[16]!.address, chainId: 0n };
      const v2 = { ...v1, ledger: accounts[17]!.address };
      const a1 = attest(members, await ledger.linkDigest(v1), q);
      await ledger.linkSubordinate(v1, a1.signers, a1.signature);
      const a2 = attest(members, await ledger.linkDigest(v2), q);
      await ledger.linkSubordinate(v2, a2.signers, a2.signature);
      await expect(ledger.linkSubordinate(v1, a1.signers, a1.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidAttestation",
      );
      expect((await ledger.subordinate(v1.layerId)).ledger).to.equal(v2.ledger);
      // a block handed 0 -> 3, then 3 -> 0: the first handover does not replay
      const id = await openBlock(ctx, sum("M1 ping-pong"), 0);
      const to3 = attest(members, await ledger.takeOverDigest(id, accounts[3]!.address), q);
      await ledger.takeOver(id, accounts[3]!.address, to3.signers, to3.signature);
      const to0 = attest(members, await ledger.takeOverDigest(id, accounts[0]!.address), q);
      await ledger.takeOver(id, accounts[0]!.address, to0.signers, to0.signature);
      await expect(ledger.takeOver(id, accounts[3]!.address, to3.signers, to3.signature)).to.be.revertedWithCustomError(
        ledger,
        "LedgerInvalidAttestation",
      );
      expect((await ledger.getBlock(id)).responsible).to.equal(accounts[0]!.address);
    });
  });

  describe("settlement (machine-to-machine payments)", function () {
    const ETH = ethers.ZeroAddress;
    const amount = 10n ** 17n;

    /** A block opened by member 0 (its responsible node), the payer 10, the provider 11, a stranger 12. */
    async function settlementFixture() {
      const ctx = await layer7Fixture();
      const id = await openBlock(ctx, sum("green phase request"), 0, 1000);
      const [payer, provider, stranger] = [ctx.accounts[10]!, ctx.accounts[11]!, ctx.accounts[12]!];
      // test/contracts/ledger/LedgerTestToken.sol has no generated binding: its calls, typed
      const contract = await ethers.deployContract("LedgerTestToken");
      const token = {
        getAddress: (): Promise<string> => contract.getAddress(),
        mint: (to: string, value: bigint): Promise<unknown> => contract.getFunction("mint")(to, value),
        setFee: (bps: number): Promise<unknown> => contract.getFunction("setFee")(bps),
        balanceOf: (account: string): Promise<bigint> => contract.getFunction("balanceOf")(account) as Promise<bigint>,
      };
      await token.mint(payer.address, 10n ** 21n);
      await contract.connect(payer).getFunction("approve")(await ctx.ledger.getAddress(), 10n ** 21n);
      return { ...ctx, id, payer, provider, stranger, token };
    }

    it("escrows ETH; releases it to the provider once F is set and both parties confirmed", async function () {
      const { ledger, id, payer, provider, stranger } = await loadFixture(settlementFixture);
      const p = payer.address;
      await expect(ledger.connect(payer).escrow(id, provider.address, ETH, amount, { value: amount }))
        .to.emit(ledger, "EscrowFunded")
        .withArgs(id, p, provider.address, ETH, amount);
      expect(await ethers.provider.getBalance(await ledger.getAddress())).to.equal(amount);
      const { expiry } = await ledger.getBlock(id);
      expect((await ledger.escrowOf(id, p)).deadline).to.equal(expiry);
      await expect(ledger.connect(payer).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockNotAccomplished")
        .withArgs(id);
      await ledger.record(id, sum("green phase given"), true); // the responsible node's ending tag: F
      await expect(ledger.connect(stranger).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerNotParty")
        .withArgs(id, stranger.address);
      await expect(ledger.connect(provider).confirm(id, p))
        .to.emit(ledger, "EscrowConfirmed")
        .withArgs(id, p, provider.address)
        .and.not.to.emit(ledger, "EscrowReleased");
      await expect(ledger.connect(provider).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerAlreadyConfirmed")
        .withArgs(id, provider.address);
      const before = await ethers.provider.getBalance(provider.address);
      await expect(ledger.connect(payer).confirm(id, p))
        .to.emit(ledger, "EscrowReleased")
        .withArgs(id, p, provider.address, ETH, amount);
      expect(await ethers.provider.getBalance(provider.address)).to.equal(before + amount);
      expect(await ethers.provider.getBalance(await ledger.getAddress())).to.equal(0n);
      const e = await ledger.escrowOf(id, p);
      expect([e.payerConfirmed, e.providerConfirmed, e.settled]).to.deep.equal([true, true, true]);
      // paid out once: no second release, no refund
      await expect(ledger.connect(payer).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowSettled")
        .withArgs(id, p);
      await time.increase(2000);
      await expect(ledger.refund(id, p)).to.be.revertedWithCustomError(ledger, "LedgerEscrowSettled").withArgs(id, p);
    });

    it("refuses an escrow on an unknown, expired or accomplished block, a second one, bad terms or value", async function () {
      const ctx = await loadFixture(settlementFixture);
      const { ledger, id, payer, provider, token } = ctx;
      const p = provider.address;
      const unknown = sum("no block");
      await expect(ledger.connect(payer).escrow(unknown, p, ETH, amount, { value: amount }))
        .to.be.revertedWithCustomError(ledger, "LedgerUnknownBlock")
        .withArgs(unknown);
      await expect(ledger.connect(payer).escrow(id, p, ETH, 0n))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidEscrow")
        .withArgs(p, 0n);
      await expect(ledger.connect(payer).escrow(id, ETH, ETH, amount, { value: amount }))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidEscrow")
        .withArgs(ETH, amount);
      await expect(ledger.connect(payer).escrow(id, payer.address, ETH, amount, { value: amount }))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidEscrow")
        .withArgs(payer.address, amount);
      await expect(ledger.connect(payer).escrow(id, p, ETH, amount, { value: amount - 1n }))
        .to.be.revertedWithCustomError(ledger, "LedgerWrongValue")
        .withArgs(amount, amount - 1n);
      await expect(ledger.connect(payer).escrow(id, p, await token.getAddress(), amount, { value: 1n }))
        .to.be.revertedWithCustomError(ledger, "LedgerWrongValue")
        .withArgs(0n, 1n);
      await ledger.connect(payer).escrow(id, p, ETH, amount, { value: amount });
      await expect(ledger.connect(payer).escrow(id, p, ETH, amount, { value: amount }))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowExists")
        .withArgs(id, payer.address);
      // accomplished, then expired
      const other = await openBlock(ctx, sum("another contract"), 1, 1000);
      await ledger.connect(ctx.accounts[1]!).record(other, sum("another end"), true);
      await expect(ledger.connect(payer).escrow(other, p, ETH, amount, { value: amount }))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockAccomplished")
        .withArgs(other);
      await time.increase(2000);
      const third = await openBlock(ctx, sum("a third contract"), 2, 1000);
      await time.increase(2000);
      await expect(ledger.connect(payer).escrow(third, p, ETH, amount, { value: amount }))
        .to.be.revertedWithCustomError(ledger, "LedgerBlockExpired")
        .withArgs(third, (await ledger.getBlock(third)).expiry);
    });

    it("refunds the payer at the escrow's deadline (not before), to anyone's call, once; no confirmation then", async function () {
      const { ledger, id, payer, provider, stranger } = await loadFixture(settlementFixture);
      const p = payer.address;
      await expect(ledger.refund(id, p)).to.be.revertedWithCustomError(ledger, "LedgerNoEscrow").withArgs(id, p);
      await ledger.connect(payer).escrow(id, provider.address, ETH, amount, { value: amount });
      await ledger.record(id, sum("ended"), true);
      await ledger.connect(provider).confirm(id, p);
      const deadline = (await ledger.escrowOf(id, p)).deadline;
      await expect(ledger.connect(stranger).refund(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowNotExpired")
        .withArgs(id, p, deadline);
      await time.increase(2000);
      await expect(ledger.connect(payer).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowExpired")
        .withArgs(id, p, deadline);
      const before = await ethers.provider.getBalance(p);
      await expect(ledger.connect(stranger).refund(id, p))
        .to.emit(ledger, "EscrowRefunded")
        .withArgs(id, p, ETH, amount);
      expect(await ethers.provider.getBalance(p)).to.equal(before + amount);
      await expect(ledger.connect(stranger).refund(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowSettled")
        .withArgs(id, p);
    });

    it("escrows per payer: an outsider's 1 wei escrow does not lock the real payer out; each settles alone", async function () {
      const { ledger, id, payer, provider, stranger, accounts } = await loadFixture(settlementFixture);
      const [p, o] = [payer.address, stranger.address];
      const squatter = accounts[13]!.address;
      // the outsider comes first, for a provider of its own choosing
      await expect(ledger.connect(stranger).escrow(id, squatter, ETH, 1n, { value: 1n }))
        .to.emit(ledger, "EscrowFunded")
        .withArgs(id, o, squatter, ETH, 1n);
      await expect(ledger.connect(payer).escrow(id, provider.address, ETH, amount, { value: amount }))
        .to.emit(ledger, "EscrowFunded")
        .withArgs(id, p, provider.address, ETH, amount);
      const [mine, theirs] = [await ledger.escrowOf(id, p), await ledger.escrowOf(id, o)];
      expect([mine.payer, mine.provider, mine.amount]).to.deep.equal([p, provider.address, amount]);
      expect([theirs.payer, theirs.provider, theirs.amount]).to.deep.equal([o, squatter, 1n]);
      expect((await ledger.escrowOf(id, accounts[14]!.address)).payer).to.equal(ethers.ZeroAddress);
      expect(await ethers.provider.getBalance(await ledger.getAddress())).to.equal(amount + 1n);
      await ledger.record(id, sum("given"), true);
      // the provider of one escrow is no party to the other
      await expect(ledger.connect(provider).confirm(id, o))
        .to.be.revertedWithCustomError(ledger, "LedgerNotParty")
        .withArgs(id, provider.address);
      await expect(ledger.connect(stranger).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerNotParty")
        .withArgs(id, o);
      await expect(ledger.connect(provider).confirm(id, p))
        .to.emit(ledger, "EscrowConfirmed")
        .withArgs(id, p, provider.address);
      await expect(ledger.connect(payer).confirm(id, p))
        .to.emit(ledger, "EscrowReleased")
        .withArgs(id, p, provider.address, ETH, amount);
      // the outsider's escrow is untouched and goes back to it after its deadline
      expect((await ledger.escrowOf(id, o)).settled).to.equal(false);
      expect(await ethers.provider.getBalance(await ledger.getAddress())).to.equal(1n);
      await time.increase(2000);
      await expect(ledger.refund(id, o)).to.emit(ledger, "EscrowRefunded").withArgs(id, o, ETH, 1n);
      await expect(ledger.refund(id, p)).to.be.revertedWithCustomError(ledger, "LedgerEscrowSettled").withArgs(id, p);
      expect(await ethers.provider.getBalance(await ledger.getAddress())).to.equal(0n);
    });

    it("the refund comes at the escrow's deadline though the block was extended after it; no confirmation past it", async function () {
      const ctx = await loadFixture(settlementFixture);
      const { ledger, members, accounts, id, payer, provider, stranger } = ctx;
      const p = payer.address;
      await ledger.connect(payer).escrow(id, provider.address, ETH, amount, { value: amount });
      const deadline = (await ledger.getBlock(id)).expiry;
      expect((await ledger.escrowOf(id, p)).deadline).to.equal(deadline);
      // the light never delivers; the block expires unaccomplished, and at its expiry a new first
      // communication (member 3 receives the first packet again) extends it
      await time.increaseTo(deadline - 1n);
      const { request, digest } = await openRequest(
        ledger,
        sum("green phase request"),
        3600,
        SUB,
        accounts[3]!.address,
      );
      const a = attest(members, digest, first(5));
      await time.setNextBlockTimestamp(deadline);
      await expect(ledger.connect(accounts[3]!).open(request, a.signers, a.signature))
        .to.emit(ledger, "BlockExtended")
        .withArgs(id, request.expiry);
      expect((await ledger.getBlock(id)).expiry).to.equal(request.expiry);
      // the escrow keeps its deadline; the block is accomplished in its new life
      expect((await ledger.escrowOf(id, p)).deadline).to.equal(deadline);
      await ledger.record(id, sum("given late"), true);
      await expect(ledger.connect(provider).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowExpired")
        .withArgs(id, p, deadline);
      await expect(ledger.connect(payer).confirm(id, p))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowExpired")
        .withArgs(id, p, deadline);
      const before = await ethers.provider.getBalance(p);
      await expect(ledger.connect(stranger).refund(id, p))
        .to.emit(ledger, "EscrowRefunded")
        .withArgs(id, p, ETH, amount);
      expect(await ethers.provider.getBalance(p)).to.equal(before + amount);
      expect((await ledger.getBlock(id)).expiry).to.equal(request.expiry); // the block lives on
    });

    it("an escrow funded after an extension takes the new expiry as its deadline", async function () {
      const ctx = await loadFixture(settlementFixture);
      const { ledger, members, accounts, id, payer, provider, stranger } = ctx;
      await ledger.connect(payer).escrow(id, provider.address, ETH, amount, { value: amount });
      const expired = (await ledger.getBlock(id)).expiry;
      await time.increaseTo(expired + 10n);
      const { request, digest } = await openRequest(ledger, sum("green phase request"), 3600);
      const a = attest(members, digest, first(5));
      await ledger.open(request, a.signers, a.signature);
      await ledger.connect(stranger).escrow(id, accounts[13]!.address, ETH, amount, { value: amount });
      const late = stranger.address;
      expect((await ledger.escrowOf(id, late)).deadline).to.equal(request.expiry);
      // the first payer's refund is due, the late payer's is not
      await ledger.refund(id, payer.address);
      await expect(ledger.refund(id, late))
        .to.be.revertedWithCustomError(ledger, "LedgerEscrowNotExpired")
        .withArgs(id, late, request.expiry);
      await ledger.record(id, sum("given"), true);
      await ledger.connect(stranger).confirm(id, late);
      await expect(ledger.connect(accounts[13]!).confirm(id, late))
        .to.emit(ledger, "EscrowReleased")
        .withArgs(id, late, accounts[13]!.address, ETH, amount);
    });

    it("an ERC-20 escrow is refunded after cleanup; a fee-on-transfer token escrows what arrived", async function () {
      const { ledger, id, payer, provider, token } = await loadFixture(settlementFixture);
      const t = await token.getAddress();
      const p = payer.address;
      await token.setFee(10_000); // nothing arrives
      await expect(ledger.connect(payer).escrow(id, provider.address, t, amount))
        .to.be.revertedWithCustomError(ledger, "LedgerInvalidEscrow")
        .withArgs(provider.address, 0n);
      await token.setFee(100); // 1 %
      const received = amount - amount / 100n;
      await expect(ledger.connect(payer).escrow(id, provider.address, t, amount))
        .to.emit(ledger, "EscrowFunded")
        .withArgs(id, p, provider.address, t, received);
      expect((await ledger.escrowOf(id, p)).amount).to.equal(received);
      await token.setFee(0);
      await time.increase(2000n + (await ledger.EXTENSION_WINDOW())); // final: it can be cleaned
      await ledger.cleanup(id, []);
      const before = await token.balanceOf(p);
      await expect(ledger.refund(id, p)).to.emit(ledger, "EscrowRefunded").withArgs(id, p, t, received);
      expect(await token.balanceOf(p)).to.equal(before + received);
      expect(await token.balanceOf(await ledger.getAddress())).to.equal(0n);
    });

    it("releases an ERC-20 escrow to the provider", async function () {
      const { ledger, id, payer, provider, token } = await loadFixture(settlementFixture);
      const t = await token.getAddress();
      const p = payer.address;
      await ledger.connect(payer).escrow(id, provider.address, t, amount);
      await ledger.record(id, sum("ended"), true);
      await ledger.connect(payer).confirm(id, p);
      await expect(ledger.connect(provider).confirm(id, p))
        .to.emit(ledger, "EscrowReleased")
        .withArgs(id, p, provider.address, t, amount);
      expect(await token.balanceOf(provider.address)).to.equal(amount);
    });
  });
});
