/**
 * The SDK's SummaryLedger client on the in-process network (seed 003 §IV.B):
 * a 4-member layer whose attestations the pure helper makes; opening a block
 * (only by the node the request names responsible), the no-op second open, an
 * ended contract's replay, following records, a replay caught, the ending tag,
 * takeover, cleanup, joining and the invalid tag (by 2 of 3 valid members); the
 * proof query (K from the logs, in order, with times); the self-examination
 * alarm (`superiorLost`, frozen routes until re-attaching); settlement (ETH and
 * ERC-20 escrows per payer released on both confirmations, refunded after the
 * escrow's deadline whatever later extensions); input refused before anything
 * is sent, reverts decoded into `ContractRevertError`.
 */
import type { SolidityParameterType } from "@nomicfoundation/ignition-core";
import { expect } from "chai";
import { getBytes, hexlify, keccak256, toUtf8Bytes } from "ethers";
import { network } from "hardhat";

import SummaryLedgerModule from "../../../ignition/modules/SummaryLedger.ts";
import { type Hex } from "../../../sdk/core/bytes.ts";
import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { minSig } from "../../../sdk/core/crypto/bls.ts";
import { attest, memberKeyMaterial, quorumOf } from "../../../sdk/core/layers/attestation.ts";
import { parseLedgerReceipt, SummaryLedgerClient } from "../../../sdk/contracts/ledger.ts";
import { ContractRevertError, InvalidInputError, TransportError } from "../../../sdk/errors.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;

const backend = await mclBackend();
const bls = minSig(backend);
const id = (s: string): Hex => keccak256(toUtf8Bytes(s)) as Hex;
const SUB = id("edge-0");
const ROUTE = id("route");

const secretOf = (i: number) => bls.keygen(getBytes(keccak256(toUtf8Bytes(`sdk ledger member ${i}`))));

async function deployLedgerClientFixture() {
  const accounts = await ethers.getSigners();
  const secrets = [0, 1, 2, 3, 4].map(secretOf);
  const members = secrets.slice(0, 4).map((sk, i) => {
    const k = memberKeyMaterial(backend, sk);
    return {
      node: accounts[i]!.address,
      publicKey: hexlify(k.publicKey),
      proofOfPossession: hexlify(k.proofOfPossession),
    };
  });
  const beginning = {
    layerId: id("L1"),
    consensus: "PBFT",
    members,
    subordinates: [{ layerId: SUB, ledger: accounts[19]!.address, chainId: 31337n }],
    superior: { layerId: id("L2"), ledger: accounts[18]!.address, chainId: 31337n },
  };
  const { ledger } = await ignition.deploy(SummaryLedgerModule, {
    parameters: { SummaryLedger: { beginning: beginning as unknown as SolidityParameterType } },
  });
  const address = await ledger.getAddress();
  const clients = accounts.slice(0, 5).map((a) => new SummaryLedgerClient(address, a));
  return { clients, accounts, secrets };
}

type Ctx = Awaited<ReturnType<typeof deployLedgerClientFixture>>;

const quorum = (ctx: Ctx, digest: Hex, indices = [0, 1, 2]) =>
  attest(
    backend,
    digest,
    indices.map((index) => ({ index, secretKey: ctx.secrets[index]! })),
  );

/** A request for `summary` naming `responsible` (the node that must submit it). */
async function request(summary: Hex, responsible: string, lifetime = 3600n) {
  const now = BigInt(await time.latest());
  return {
    summary,
    sourceLayer: SUB,
    route: ROUTE,
    responsible,
    expiry: now + lifetime,
    deadline: now + (lifetime < 600n ? lifetime : 600n),
  };
}

async function openBlock(ctx: Ctx, summary: Hex, opener = 0, lifetime = 3600n) {
  const client = ctx.clients[opener]!;
  const r = await request(summary, ctx.accounts[opener]!.address, lifetime);
  return client.open(r, quorum(ctx, await client.openDigest(r)));
}

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );
const expectInvalid = (e: unknown, field: string) =>
  expect(e).to.be.instanceOf(InvalidInputError).with.property("shortMessage").that.contains(field);

describe("SummaryLedgerClient", function () {
  this.timeout(120_000);

  it("reads the beginning block and the membership", async function () {
    const { clients, accounts } = await loadFixture(deployLedgerClientFixture);
    const c = clients[0]!;
    expect((await c.layer()).layerId).to.equal(id("L1"));
    expect(await c.membership()).to.deep.equal({ count: 4, validMask: 0xfn, quorum: quorumOf(4) });
    expect(await c.linksVersion()).to.equal(0n);
    expect(await c.memberOf(accounts[2]!.address)).to.deep.equal({ index: 2, valid: true });
    expect(await c.memberOf(accounts[9]!.address)).to.equal(undefined);
    expect((await c.member(1)).node).to.equal(accounts[1]!.address);
    expect((await c.superior()).layerId).to.equal(id("L2"));
    expect((await c.subordinate(SUB))?.chainId).to.equal(31337n);
    expect(await c.subordinate(id("nope"))).to.equal(undefined);
  });

  it("accepts a quorum's attestation and refuses a non-quorum's", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const c = ctx.clients[0]!;
    const digest = id("any digest");
    expect(await c.isValidAttestation(digest, quorum(ctx, digest))).to.equal(true);
    expect(await c.isValidAttestation(digest, quorum(ctx, id("other")))).to.equal(false);
    const err = await c.isValidAttestation(digest, quorum(ctx, digest, [0, 1])).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerQuorumNotReached");
  });

  it("returns one TxResult per write and parses a receipt got elsewhere with no call", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const opened = await openBlock(ctx, id("tx result"));
    expect(opened.outcome).to.equal("opened");
    expect(opened.hash).to.equal(opened.hash);
    expect(opened.events.map((e) => e.name)).to.include("BlockOpened");
    const receipt = (await ethers.provider.getTransactionReceipt(opened.hash))!;
    expect(receipt.blockNumber).to.equal(opened.blockNumber);
    expect(receipt.gasUsed).to.equal(opened.gasUsed);
    expect(parseLedgerReceipt(receipt, ctx.clients[0]!.address)).to.deep.equal(opened.events);
    const e = parseLedgerReceipt(receipt.logs, ctx.clients[0]!.address).find((x) => x.name === "BlockOpened")!;
    expect(String(e.args.blockId).toLowerCase()).to.equal(opened.blockId);
    expect(parseLedgerReceipt(receipt, ctx.accounts[9]!.address)).to.deep.equal([]);
  });

  it("computes the open digest the ledger computes (EIP-712, no call)", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const c = ctx.clients[0]!;
    for (const [summary, lifetime] of [
      [id("d1"), 3600n],
      [id("d2"), 5n],
    ] as const) {
      const r = await request(summary, ctx.accounts[0]!.address, lifetime);
      const onChain = (await c.contract.openDigest(r)).toLowerCase();
      expect(await c.openDigest(r)).to.equal(onChain);
      expect(await c.openDigest({ ...r, deadline: r.deadline - 1n })).to.not.equal(onChain);
      // the responsible node is attested too
      const other = { ...r, responsible: ctx.accounts[1]!.address };
      expect(await c.openDigest(other)).to.not.equal(onChain);
      expect(await c.openDigest(other)).to.equal((await c.contract.openDigest(other)).toLowerCase());
    }
  });

  it("reads the chain id for a digest again after a failed read (a failure is not kept)", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const real = ctx.clients[0]!;
    // the node fails the first chain-id read (a dropped connection), then answers
    let failures = 1;
    const provider = new Proxy(ethers.provider, {
      get(target, key, receiver) {
        if (key === "getNetwork" && failures > 0) {
          failures--;
          return () => Promise.reject(new Error("connection reset"));
        }
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const c = new SummaryLedgerClient(real.address, { provider });
    const r = await request(id("d3"), ctx.accounts[0]!.address, 60n);
    expect(await c.openDigest(r).catch((e: unknown) => e)).to.be.instanceOf(TransportError);
    expect(await c.openDigest(r)).to.equal((await real.contract.openDigest(r)).toLowerCase());
  });

  it("computes the join and invalidate digests locally, equal to the ledger's, whatever else the layer does", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const c = ctx.clients[0]!;
    const key = new Uint8Array(256).fill(7);
    const node = ctx.accounts[9]!.address;
    const onChain = async () => ({
      join: (await c.contract.joinDigest(node, keccak256(key))).toLowerCase(),
      invalidate: (await c.contract.invalidateDigest(3)).toLowerCase(),
    });
    const before = await onChain();
    expect(await c.joinDigest(node, key)).to.equal(before.join);
    expect(await c.invalidateDigest(3)).to.equal(before.invalidate);
    expect(await c.invalidateDigest(2)).to.not.equal(before.invalidate);
    expect(await c.joinDigest(ctx.accounts[8]!.address, key)).to.not.equal(before.join);
    // another decision of the layer (a block taken over) leaves both unchanged
    const opened = await openBlock(ctx, id("digest M1"));
    const to1 = await c.takeOverDigest(opened.blockId, ctx.accounts[1]!.address);
    await c.takeOver(opened.blockId, ctx.accounts[1]!.address, quorum(ctx, to1));
    expect(await onChain()).to.deep.equal(before);
    expect(await c.takeOverDigest(opened.blockId, ctx.accounts[1]!.address)).to.not.equal(to1);
  });

  it("opens a block once, records following summaries, catches a replay and sets F", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const first = id("M1 t1");
    const opened = await openBlock(ctx, first);
    expect(opened.outcome).to.equal("opened");
    const again = await openBlock(ctx, first, 1);
    expect(again).to.include({ outcome: "already-opened", blockId: opened.blockId });
    const c = ctx.clients[0]!;
    const second = await c.record(opened.blockId, id("M2 t2"));
    expect(second).to.include({ recorded: true, accomplished: false, blockId: opened.blockId });
    const replay = await c.record(opened.blockId, first);
    expect(replay).to.include({ recorded: false, blockId: opened.blockId });
    const ending = await c.record(opened.blockId, id("M3 t3"), true);
    expect(ending.accomplished).to.equal(true);
    expect((await c.getBlock(opened.blockId))?.accomplished).to.equal(true);
    expect(await c.summaryOf(opened.blockId, id("M2 t2"))).to.not.equal(undefined);
    expect(await c.summaryOf(opened.blockId, id("never"))).to.equal(undefined);
    expect((await c.openingOf(first))?.blockId).to.equal(opened.blockId);
    expect(await c.openingOf(id("M2 t2"))).to.equal(undefined);
    const err = await ctx.clients[1]!.record(opened.blockId, id("M4")).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNotResponsible");
  });

  it("only the node the open names submits it; an ended contract's first summary again is a replay", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const [n0, n3] = [ctx.clients[0]!, ctx.clients[3]!];
    const s = id("front-run M1");
    const r = await request(s, ctx.accounts[0]!.address, 100n);
    const a = quorum(ctx, await n0.openDigest(r));
    const stolen = await rejection(n3.open(r, a));
    expect(stolen).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNotOpener");
    expect((stolen as ContractRevertError).args).to.deep.equal([ctx.accounts[3]!.address, ctx.accounts[0]!.address]);
    expect(await n0.openingOf(s)).to.equal(undefined);
    const opened = await n0.open(r, a);
    expect(opened.outcome).to.equal("opened");
    await n0.record(opened.blockId, id("front-run M2"), true);
    const { expiry } = (await n0.getBlock(opened.blockId))!;
    await time.increase(200);
    const again = await request(s, ctx.accounts[3]!.address);
    const replay = await n3.open(again, quorum(ctx, await n3.openDigest(again)));
    expect(replay).to.include({ outcome: "replayed", blockId: opened.blockId });
    expect(await n0.getBlock(opened.blockId)).to.include({ expiry, accomplished: true });
  });

  it("hands a block over under the quorum and cleans it once final (past the extension window)", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const s = id("M1");
    const { blockId } = await openBlock(ctx, s, 0, 100n);
    const c = ctx.clients[2]!;
    const to = ctx.accounts[2]!.address;
    const taken = await c.takeOver(blockId, to, quorum(ctx, await c.takeOverDigest(blockId, to), [1, 2, 3]));
    expect(taken).to.include({ previous: ctx.accounts[0]!.address, responsible: to });
    await time.increase(200);
    const early = await rejection(ctx.clients[4]!.cleanup(blockId, [s]));
    expect(early).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerBlockExtendable");
    await time.increase(await c.extensionWindow());
    const cleaned = await ctx.clients[4]!.cleanup(blockId, [s]);
    expect(cleaned.summaries).to.equal(1);
    expect(await c.getBlock(blockId)).to.equal(undefined);
  });

  it("admits a member, tags members invalid by the others' quorum (down to 2 of 3), links a subordinate", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const c = ctx.clients[0]!;
    const newcomer = { node: ctx.accounts[4]!.address, ...memberKeyMaterial(backend, secretOf(4)) };
    const joinQuorum = quorum(ctx, await c.joinDigest(newcomer.node, newcomer.publicKey));
    const notSelf = await c.join(newcomer, joinQuorum).catch((e: unknown) => e);
    expect(notSelf).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNotCandidate");
    const joined = await c.connect(ctx.accounts[4]!).join(newcomer, joinQuorum);
    expect(joined.index).to.equal(4);
    const inv = await c.invalidate(3, quorum(ctx, await c.invalidateDigest(3), [0, 1, 2, 4]));
    expect(inv.node).to.equal(ctx.accounts[3]!.address);
    expect(await c.memberOf(ctx.accounts[3]!.address)).to.deep.equal({ index: 3, valid: false });
    const link = { layerId: id("edge-1"), ledger: ctx.accounts[17]!.address, chainId: 7n };
    const linked = await c.linkSubordinate(link, quorum(ctx, await c.linkDigest(link), [0, 1, 2]));
    expect(linked).to.include({ layerId: link.layerId, chainId: 7n });
    const superior = { layerId: id("L2b"), ledger: ctx.accounts[16]!.address, chainId: 9n };
    await c.reattach(superior, quorum(ctx, await c.reattachDigest(superior), [0, 1, 4]));
    expect((await c.superior()).layerId).to.equal(superior.layerId);
    // 4 valid (0, 1, 2, 4): 2 of the 3 others are short of their quorum; then 3 valid, 2 others suffice
    const short = await rejection(c.invalidate(4, quorum(ctx, await c.invalidateDigest(4), [0, 1])));
    expect(short).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerQuorumNotReached");
    expect((short as ContractRevertError).args).to.deep.equal([2n, 3n]);
    await c.invalidate(4, quorum(ctx, await c.invalidateDigest(4), [0, 1, 2]));
    expect((await c.invalidate(2, quorum(ctx, await c.invalidateDigest(2), [0, 1]))).node).to.equal(
      ctx.accounts[2]!.address,
    );
    expect(await c.membership()).to.include({ validMask: 0b11n, quorum: 2 });
  });

  it("refuses bad input before sending, naming the field", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const c = ctx.clients[0]!;
    const r = await request(id("M"), ctx.accounts[0]!.address);
    const a = quorum(ctx, id("x"));
    expectInvalid(await rejection(c.open({ ...r, summary: `0x${"00".repeat(32)}` }, a)), "request.summary");
    expectInvalid(await rejection(c.open({ ...r, responsible: "0x1234" }, a)), "request.responsible");
    expectInvalid(await rejection(c.open({ ...r, expiry: 1n << 40n }, a)), "request.expiry");
    expectInvalid(await rejection(c.open(r, { signers: 0n, signature: a.signature })), "attestation.signers");
    expectInvalid(await rejection(c.memberOf("0x1234")), "node");
    expectInvalid(await rejection(c.record("0x12" as Hex, id("s"))), "blockId");
  });

  describe("proof query", function () {
    it("returns the block and K in recording order with times; undefined for no block", async function () {
      const ctx = await loadFixture(deployLedgerClientFixture);
      const c = ctx.clients[0]!;
      const [m1, m2, m3] = [id("P M1"), id("P M2"), id("P M3")];
      const { blockId } = await openBlock(ctx, m1);
      const other = await openBlock(ctx, id("P other block"), 1);
      await time.increase(10);
      await c.record(blockId, m2);
      await ctx.clients[1]!.record(other.blockId, id("P other M2"));
      await c.record(blockId, m1); // a replay: not a second element of K
      await time.increase(10);
      const last = await c.record(blockId, m3, true);
      const proof = await c.proof(blockId);
      expect(proof?.blockId).to.equal(blockId);
      expect(proof?.block).to.deep.equal(await c.getBlock(blockId));
      expect(proof?.block.accomplished).to.equal(true);
      expect(proof?.summaries.map((s) => s.summary)).to.deep.equal([m1, m2, m3]);
      for (const s of proof!.summaries) expect(s.time).to.equal((await c.summaryOf(blockId, s.summary))!.time);
      const times = proof!.summaries.map((s) => s.time);
      expect(times[0]! < times[1]! && times[1]! < times[2]!).to.equal(true);
      // scanned from a later block: only what was recorded since
      const tail = await c.proof(blockId, last.blockNumber);
      expect(tail?.summaries.map((s) => s.summary)).to.deep.equal([m3]);
      // the id in any case
      const upper = `0x${blockId.slice(2).toUpperCase()}` as Hex;
      expect((await c.proof(upper))?.summaries.length).to.equal(3);
      expect(await c.proof(id("no such block"))).to.equal(undefined);
      expectInvalid(await rejection(c.proof("0x12" as Hex)), "blockId");
    });

    it("a cleaned block has no proof", async function () {
      const ctx = await loadFixture(deployLedgerClientFixture);
      const c = ctx.clients[0]!;
      const { blockId } = await openBlock(ctx, id("C M1"), 0, 100n);
      await c.record(blockId, id("C M2"));
      await time.increase(200n + (await c.extensionWindow()));
      await c.cleanup(blockId, [id("C M1")]);
      expect(await c.proof(blockId)).to.equal(undefined);
    });
  });

  describe("self-examination alarm", function () {
    it("declares the superior lost under the quorum; frozen until re-attaching", async function () {
      const ctx = await loadFixture(deployLedgerClientFixture);
      const c = ctx.clients[1]!;
      expect(await c.isSuperiorFrozen()).to.equal(false);
      const digest = await c.superiorLostDigest();
      expect(digest).to.match(/^0x[0-9a-f]{64}$/);
      const short = await rejection(c.superiorLost(quorum(ctx, digest, [0, 1])));
      expect(short).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerQuorumNotReached");
      expect((short as ContractRevertError).args).to.deep.equal([2n, 3n]);
      const wrong = await rejection(c.superiorLost(quorum(ctx, id("not the alarm"))));
      expect(wrong).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerInvalidAttestation");
      expect((wrong as ContractRevertError).args).to.deep.equal([digest]);
      const lost = await c.superiorLost(quorum(ctx, digest));
      expect(lost).to.include({ layerId: id("L2"), ledger: ctx.accounts[18]!.address, chainId: 31337n });
      expect(await c.isSuperiorFrozen()).to.equal(true);
      // spent by the frozen flag it set (below); re-attaching moves the superior's epoch
      expect(await c.linksVersion()).to.equal(1n);
      const again = await rejection(c.superiorLost(quorum(ctx, await c.superiorLostDigest())));
      expect(again).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerSuperiorFrozen");
      expect((again as ContractRevertError).args).to.deep.equal([id("L2")]);
      // no block opens from the frozen superior; the subordinate's do
      const r = { ...(await request(id("from L2"), ctx.accounts[1]!.address)), sourceLayer: id("L2") };
      const refused = await rejection(c.open(r, quorum(ctx, await c.openDigest(r))));
      expect(refused).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerSuperiorFrozen");
      expect((await openBlock(ctx, id("from edge-0"), 1)).outcome).to.equal("opened");
      const link = { layerId: id("L2b"), ledger: ctx.accounts[16]!.address, chainId: 9n };
      await c.reattach(link, quorum(ctx, await c.reattachDigest(link)));
      expect(await c.isSuperiorFrozen()).to.equal(false);
      const fromNew = { ...(await request(id("from L2b"), ctx.accounts[1]!.address)), sourceLayer: link.layerId };
      expect((await c.open(fromNew, quorum(ctx, await c.openDigest(fromNew)))).outcome).to.equal("opened");
      expectInvalid(await rejection(c.superiorLost({ signers: 0n, signature: new Uint8Array(128) })), "signers");
    });

    it("a verdict its judged member signed comes back as LedgerJudgedMemberSigned", async function () {
      const ctx = await loadFixture(deployLedgerClientFixture);
      const c = ctx.clients[0]!;
      const err = await rejection(c.invalidate(3, quorum(ctx, await c.invalidateDigest(3), [0, 1, 3])));
      expect(err).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerJudgedMemberSigned");
      expect((err as ContractRevertError).args).to.deep.equal([3n]);
      expect(await c.memberOf(ctx.accounts[3]!.address)).to.deep.equal({ index: 3, valid: true });
    });
  });

  describe("settlement (machine-to-machine payments)", function () {
    const ETH = ethers.ZeroAddress;
    const amount = 10n ** 17n;

    /** A block opened by member 0 (`responsible`) for 1000 s; the payer is account 10, the provider 11, a stranger 12. */
    async function settlementFixture() {
      const ctx = await deployLedgerClientFixture();
      const { blockId } = await openBlock(ctx, id("green phase request"), 0, 1000n);
      const [payer, provider, stranger] = [ctx.accounts[10]!, ctx.accounts[11]!, ctx.accounts[12]!];
      const base = ctx.clients[0]!;
      return {
        ...ctx,
        ledger: base.address,
        blockId,
        payer,
        provider,
        stranger,
        responsible: base,
        asPayer: base.connect(payer),
        asProvider: base.connect(provider),
        asStranger: base.connect(stranger),
      };
    }

    const balance = (address: string) => ethers.provider.getBalance(address);

    it("escrows ETH; both parties' confirmations release it to the provider", async function () {
      const { ledger, blockId, payer, provider, responsible, asPayer, asProvider } =
        await loadFixture(settlementFixture);
      const p = payer.address;
      expect(await asPayer.escrowOf(blockId, p)).to.equal(undefined);
      const funded = await asPayer.escrow(blockId, provider.address, ETH, amount);
      const terms = {
        payer: p,
        deadline: (await responsible.getBlock(blockId))!.expiry,
        provider: provider.address,
        token: ETH,
        amount,
        payerConfirmed: false,
        providerConfirmed: false,
        settled: false,
      };
      expect(funded).to.include(terms);
      expect(await asPayer.escrowOf(blockId, p)).to.deep.equal(terms);
      expect(await balance(ledger)).to.equal(amount);
      const early = await rejection(asProvider.confirm(blockId, p));
      expect(early).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerBlockNotAccomplished");
      await responsible.record(blockId, id("green phase given"), true);
      expect(await asProvider.confirm(blockId, p)).to.include({ released: false, amount: 0n });
      expect(await asPayer.escrowOf(blockId, p)).to.deep.equal({ ...terms, providerConfirmed: true });
      const before = await balance(provider.address);
      expect(await asPayer.confirm(blockId, p)).to.include({ released: true, amount });
      expect(await balance(provider.address)).to.equal(before + amount);
      expect(await balance(ledger)).to.equal(0n);
      expect(await asPayer.escrowOf(blockId, p)).to.deep.equal({
        ...terms,
        payerConfirmed: true,
        providerConfirmed: true,
        settled: true,
      });
      const twice = await rejection(asPayer.confirm(blockId, p));
      expect(twice).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerEscrowSettled");
      expect((twice as ContractRevertError).args).to.deep.equal([blockId, p]);
    });

    it("escrows an approved ERC-20 and releases it; without approval nothing moves", async function () {
      const { ledger, blockId, payer, provider, responsible, asPayer, asProvider } =
        await loadFixture(settlementFixture);
      const p = payer.address;
      // test/contracts/ledger/LedgerTestToken.sol has no generated binding: its calls, typed
      const contract = await ethers.deployContract("LedgerTestToken");
      const token = await contract.getAddress();
      const balanceOf = (a: string) => contract.getFunction("balanceOf")(a) as Promise<bigint>;
      await contract.getFunction("mint")(p, amount);
      const unapproved = await rejection(asPayer.escrow(blockId, provider.address, token, amount));
      // the token's own error (ERC20InsufficientAllowance) is not one of the ledger's: not decoded
      expect(unapproved).to.be.instanceOf(TransportError);
      expect(await asPayer.escrowOf(blockId, p)).to.equal(undefined);
      expect(await balanceOf(p)).to.equal(amount);
      await contract.connect(payer).getFunction("approve")(ledger, amount);
      const funded = await asPayer.escrow(blockId, provider.address, token, amount);
      expect(funded).to.include({ payer: p, provider: provider.address, token, amount });
      expect(await balanceOf(ledger)).to.equal(amount);
      await responsible.record(blockId, id("ended"), true);
      expect((await asPayer.confirm(blockId, p)).released).to.equal(false);
      expect(await asProvider.confirm(blockId, p)).to.include({ released: true, amount });
      expect(await balanceOf(provider.address)).to.equal(amount);
      expect(await balanceOf(ledger)).to.equal(0n);
      expect(await balanceOf(p)).to.equal(0n);
    });

    it("refunds the payer at the escrow's deadline, not before, to anyone's call, once", async function () {
      const { blockId, payer, provider, asPayer, asStranger } = await loadFixture(settlementFixture);
      const p = payer.address;
      const none = await rejection(asStranger.refund(blockId, p));
      expect(none).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNoEscrow");
      expect((none as ContractRevertError).args).to.deep.equal([blockId, p]);
      await asPayer.escrow(blockId, provider.address, ETH, amount);
      const deadline = (await asPayer.escrowOf(blockId, p))!.deadline;
      expect(deadline).to.equal((await asPayer.getBlock(blockId))!.expiry);
      const early = await rejection(asStranger.refund(blockId, p));
      expect(early).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerEscrowNotExpired");
      expect((early as ContractRevertError).args).to.deep.equal([blockId, p, deadline]);
      await time.increase(2000);
      const before = await balance(p);
      expect(await asStranger.refund(blockId, p)).to.include({ payer: p, amount });
      expect(await balance(p)).to.equal(before + amount);
      expect((await asPayer.escrowOf(blockId, p))?.settled).to.equal(true);
      const twice = await rejection(asStranger.refund(blockId, p));
      expect(twice).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerEscrowSettled");
    });

    it("keeps one escrow per payer: an outsider's 1 wei escrow does not lock the payer out", async function () {
      const { ledger, accounts, blockId, payer, provider, stranger, responsible, asPayer, asProvider, asStranger } =
        await loadFixture(settlementFixture);
      const [p, o] = [payer.address, stranger.address];
      // the outsider escrows first, for an address of its own choosing
      const squatted = await asStranger.escrow(blockId, accounts[13]!.address, ETH, 1n);
      expect(squatted).to.include({ payer: o, amount: 1n });
      const funded = await asPayer.escrow(blockId, provider.address, ETH, amount);
      expect(funded).to.include({ payer: p, provider: provider.address, amount });
      expect((await asPayer.escrowOf(blockId, o))?.amount).to.equal(1n);
      expect(await balance(ledger)).to.equal(amount + 1n);
      await responsible.record(blockId, id("given"), true);
      const notParty = await rejection(asProvider.confirm(blockId, o));
      expect(notParty).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNotParty");
      await asProvider.confirm(blockId, p);
      expect(await asPayer.confirm(blockId, p)).to.include({ released: true, amount });
      expect((await asPayer.escrowOf(blockId, o))?.settled).to.equal(false);
      expect(await balance(ledger)).to.equal(1n);
    });

    it("an extension of the block does not postpone the refund; confirmations end at the deadline", async function () {
      const ctx = await loadFixture(settlementFixture);
      const { blockId, payer, provider, responsible, asPayer, asProvider, asStranger } = ctx;
      const p = payer.address;
      await asPayer.escrow(blockId, provider.address, ETH, amount);
      const deadline = (await asPayer.escrowOf(blockId, p))!.deadline;
      await time.increaseTo(deadline);
      // member 2 receives the contract's first packet again: the expired block is extended
      const extended = await openBlock(ctx, id("green phase request"), 2);
      expect(extended).to.include({ outcome: "extended", blockId });
      expect((await asPayer.getBlock(blockId))!.expiry > deadline).to.equal(true);
      expect((await asPayer.escrowOf(blockId, p))!.deadline).to.equal(deadline);
      await responsible.record(blockId, id("given late"), true);
      const late = await rejection(asProvider.confirm(blockId, p));
      expect(late).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerEscrowExpired");
      expect((late as ContractRevertError).args).to.deep.equal([blockId, p, deadline]);
      expect(await asStranger.refund(blockId, p)).to.include({ payer: p, amount });
    });

    it("escrowOf is undefined without an escrow; the contract's refusals are decoded", async function () {
      const { blockId, payer, provider, responsible, asPayer, asStranger } = await loadFixture(settlementFixture);
      const p = payer.address;
      expect(await asPayer.escrowOf(id("no block"), p)).to.equal(undefined);
      expect(await asPayer.escrowOf(blockId, p)).to.equal(undefined);
      const noEscrow = await rejection(asPayer.confirm(blockId, p));
      expect(noEscrow).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNoEscrow");
      expect((noEscrow as ContractRevertError).args).to.deep.equal([blockId, p]);
      const unknown = await rejection(asPayer.escrow(id("no block"), provider.address, ETH, amount));
      expect(unknown).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerUnknownBlock");
      const zero = await rejection(asPayer.escrow(blockId, ETH, ETH, amount));
      expect(zero).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerInvalidEscrow");
      expect((zero as ContractRevertError).args).to.deep.equal([ETH, amount]);
      const self = await rejection(asPayer.escrow(blockId, p, ETH, amount));
      expect((self as ContractRevertError).args).to.deep.equal([p, amount]);
      await asPayer.escrow(blockId, provider.address, ETH, amount);
      const second = await rejection(asPayer.escrow(blockId, provider.address, ETH, amount));
      expect(second).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerEscrowExists");
      expect((second as ContractRevertError).args).to.deep.equal([blockId, p]);
      await responsible.record(blockId, id("the ending"), true);
      const stranger = await rejection(asStranger.confirm(blockId, p));
      expect(stranger).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNotParty");
    });

    it("refuses a bad amount, address or block id before sending", async function () {
      const { blockId, payer, provider, asPayer } = await loadFixture(settlementFixture);
      const sent = await ethers.provider.getTransactionCount(payer.address);
      const p = provider.address;
      const who = payer.address;
      for (const bad of [0n, -1n, 1n << 256n, 5 as unknown as bigint, "1" as unknown as bigint]) {
        expectInvalid(await rejection(asPayer.escrow(blockId, p, ETH, bad)), "amount");
      }
      expectInvalid(await rejection(asPayer.escrow(blockId, "0x1234", ETH, amount)), "provider");
      expectInvalid(await rejection(asPayer.escrow(blockId, p.slice(2), ETH, amount)), "provider");
      expectInvalid(await rejection(asPayer.escrow(blockId, p, "not an address", amount)), "token");
      expectInvalid(await rejection(asPayer.escrow("0x12" as Hex, p, ETH, amount)), "blockId");
      expectInvalid(await rejection(asPayer.confirm("0xzz" as Hex, who)), "blockId");
      expectInvalid(await rejection(asPayer.confirm(blockId, "0x1234")), "payer");
      expectInvalid(await rejection(asPayer.refund(`0x${"00".repeat(31)}` as Hex, who)), "blockId");
      expectInvalid(await rejection(asPayer.refund(blockId, "nobody")), "payer");
      expectInvalid(await rejection(asPayer.escrowOf("nope" as Hex, who)), "blockId");
      expectInvalid(await rejection(asPayer.escrowOf(blockId, who.slice(2))), "payer");
      expect(await ethers.provider.getTransactionCount(payer.address)).to.equal(sent);
    });
  });
});
