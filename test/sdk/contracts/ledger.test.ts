/**
 * The SDK's SummaryLedger client on the in-process network (seed 003 §IV.B):
 * a 4-member layer whose attestations the pure helper makes; opening a block,
 * the no-op second open, following records, a replay caught, the ending tag,
 * takeover, cleanup, joining and the invalid tag; input refused before
 * anything is sent, reverts decoded into `ContractRevertError`.
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
import { SummaryLedgerClient } from "../../../sdk/contracts/ledger.ts";
import { ContractRevertError, InvalidInputError } from "../../../sdk/errors.ts";

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

async function request(summary: Hex, lifetime = 3600n) {
  const now = BigInt(await time.latest());
  return {
    summary,
    sourceLayer: SUB,
    route: ROUTE,
    expiry: now + lifetime,
    deadline: now + (lifetime < 600n ? lifetime : 600n),
  };
}

async function openBlock(ctx: Ctx, summary: Hex, opener = 0, lifetime = 3600n) {
  const client = ctx.clients[opener]!;
  const r = await request(summary, lifetime);
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
    expect(await c.membership()).to.deep.equal({ count: 4, validMask: 0xfn, quorum: quorumOf(4), nonce: 0n });
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
    expect((await c.summaryOf(id("M2 t2")))?.blockId).to.equal(opened.blockId);
    expect(await c.summaryOf(id("never"))).to.equal(undefined);
    const err = await ctx.clients[1]!.record(opened.blockId, id("M4")).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ContractRevertError).with.property("errorName", "LedgerNotResponsible");
  });

  it("hands a block over under the quorum and cleans it after expiry", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const s = id("M1");
    const { blockId } = await openBlock(ctx, s, 0, 100n);
    const c = ctx.clients[2]!;
    const to = ctx.accounts[2]!.address;
    const taken = await c.takeOver(blockId, to, quorum(ctx, await c.takeOverDigest(blockId, to), [1, 2, 3]));
    expect(taken).to.include({ previous: ctx.accounts[0]!.address, responsible: to });
    await time.increase(200);
    const cleaned = await ctx.clients[4]!.cleanup(blockId, [s]);
    expect(cleaned.summaries).to.equal(1);
    expect(await c.getBlock(blockId)).to.equal(undefined);
  });

  it("admits a member, tags one invalid and links a subordinate", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const c = ctx.clients[0]!;
    const newcomer = { node: ctx.accounts[4]!.address, ...memberKeyMaterial(backend, secretOf(4)) };
    const joined = await c.join(newcomer, quorum(ctx, await c.joinDigest(newcomer.node, newcomer.publicKey)));
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
  });

  it("refuses bad input before sending, naming the field", async function () {
    const ctx = await loadFixture(deployLedgerClientFixture);
    const c = ctx.clients[0]!;
    const r = await request(id("M"));
    const a = quorum(ctx, id("x"));
    expectInvalid(await rejection(c.open({ ...r, summary: `0x${"00".repeat(32)}` }, a)), "request.summary");
    expectInvalid(await rejection(c.open({ ...r, expiry: 1n << 40n }, a)), "request.expiry");
    expectInvalid(await rejection(c.open(r, { signers: 0n, signature: a.signature })), "attestation.signers");
    expectInvalid(await rejection(c.memberOf("0x1234")), "node");
    expectInvalid(await rejection(c.record("0x12" as Hex, id("s"))), "blockId");
  });
});
