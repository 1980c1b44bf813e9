/**
 * Proof bundles of a layer's summary (seed 003), from the real contract communication on the
 * in-process network: a vehicle's first packet crosses district A, the city and district B, each
 * layer's quorum attests the opening of its block, and the light's reply is recorded as a
 * following summary. The ledger client makes the bundle of each (M and its time disclosed),
 * checked offline and on chain (anchored, then final), and every part tampered with fails its
 * check.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { utf8ToBytes } from "@noble/hashes/utils.js";

import { type Hex } from "../../../sdk/index.ts";
import {
  type BundleVerdict,
  parseBundle,
  serializeBundle,
  type SummaryBundle,
  summaryBundle,
  verifyBundle,
} from "../../../sdk/exports/anchoring.ts";
import { type EstablishedLayer, summaryOf } from "../../../sdk/exports/layers.ts";
import { SummaryLedger__factory } from "../../../types/ethers-contracts/index.ts";
import { CITY, DISTRICT_A, DISTRICT_B, EDGE_A, EDGE_B, testbed } from "../../helpers/layers.ts";

const { ethers, networkHelpers } = await network.create();

const flip = (h: string): string => `${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}`;
const failing = (v: BundleVerdict): string[] => v.checks.filter((c) => !c.ok).map((c) => c.check);

describe("proof bundles of a layer's summary", function () {
  this.timeout(180_000);
  let city: EstablishedLayer;
  let first: SummaryBundle;
  let following: SummaryBundle;
  /** A key of another layer's member. */
  let foreignKey: string;

  before(async function () {
    const bed = await testbed([await ethers.getSigners()]);
    const [a, b] = [bed.edges.get(EDGE_A)!, bed.edges.get(EDGE_B)!];
    const [l1a, l2, l1b] = [DISTRICT_A, CITY, DISTRICT_B].map((x) => bed.layers.get(x)!) as [
      EstablishedLayer,
      EstablishedLayer,
      EstablishedLayer,
    ];
    city = l2;
    foreignKey = (await l1a.ledger.member(0)).publicKey;
    const opened = await a.open(bed.vehicle.localId, bed.light.uuid, utf8ToBytes("green for 20 s"), [
      l1a.layerId,
      l2.layerId,
      l1b.layerId,
    ]);
    const r1 = await bed.router.route(opened);
    expect(r1.hops.map((h) => h.outcome)).to.deep.equal(["opened", "opened", "opened"]);
    const reply = await b.follow(r1.delivery!.packet, bed.light.localId, utf8ToBytes("ok: green at 12:00:05"));
    const r2 = await bed.router.route(reply);
    expect(r2.hops.map((h) => h.outcome)).to.deep.equal(["recorded", "recorded", "recorded"]);
    // the city's block, its first summary (recorded by the attested open) and the reply's (a following one)
    const blockId = r1.hops[1]!.blockId;
    const { message, time } = opened.packet;
    first = await city.ledger.proofBundle(blockId, opened.packet.ids[0]!, { message, time });
    following = await city.ledger.proofBundle(blockId, reply.packet.ids[0]!, {
      message: reply.packet.message,
      time: reply.packet.time,
    });
    expect(first.anchor.transaction).to.equal(r1.hops[1]!.txHash);
    expect(following.anchor.transaction).to.equal(r2.hops[1]!.txHash);
  });

  const verify = (b: SummaryBundle, confirmations = 50) =>
    verifyBundle(b, { provider: ethers.provider, trusted: { SummaryLedger: city.ledger.address }, confirmations });

  it("carries the summary with M and its time, the block, the attested opening with the signers' keys, and the transaction", function () {
    expect(first.layer.id).to.equal(city.layerId);
    expect(first.opening.transaction).to.equal(first.anchor.transaction);
    expect(following.opening).to.deep.equal(first.opening);
    expect(following.anchor.transaction).to.not.equal(first.anchor.transaction);
    expect(first.opening.keys.length).to.be.at.least(3); // 2f + 1 of 4
    for (const b of [first, following]) expect(parseBundle(serializeBundle(b))).to.deep.equal(b);
  });

  it("verifies offline, then on chain: anchored, then final once enough blocks hold it", async function () {
    for (const b of [first, following]) {
      const offline = await verifyBundle(b);
      expect(offline.state).to.equal("offline");
      expect(offline.checks.map((c) => [c.check, c.ok])).to.deep.equal([
        ["summary", true],
        ["block id", true],
        ["opening", true],
        ["attestation", true],
      ]);
      const onChain = await verify(b);
      expect(failing(onChain)).to.deep.equal([]);
      expect(onChain.checks.map((c) => c.check)).to.include.members([
        "chain",
        "contract",
        "code",
        "transaction",
        "opening transaction",
        "layer",
        "recorded",
        "signers",
        "on-chain attestation",
        "finality",
      ]);
      expect(onChain.state).to.equal("anchored");
    }
    await networkHelpers.mine(50);
    expect((await verify(following)).state).to.equal("final");
    expect((await verify(first)).state).to.equal("final");
  });

  it("is pending while its own record waits to be mined, and no other transaction passes for it", async function () {
    const blockId = following.layer.blockId;
    const responsible = (await city.ledger.getBlock(blockId))!.responsible;
    const signer = (await ethers.getSigners()).find((x) => x.address === responsible)!;
    const ledger = SummaryLedger__factory.connect(city.ledger.address, signer);
    const message = utf8ToBytes("a third message");
    const time = 1_900_000_000_000n;
    const summary = summaryOf(message, time);
    const head = await ethers.provider.getBlockNumber();
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      const sent = await ledger.record(blockId, summary, false);
      const transfer = await signer.sendTransaction({ to: signer.address, value: 1n });
      const pending = summaryBundle({
        chainId: following.anchor.chainId,
        ledger: city.ledger.address,
        layerId: city.layerId,
        blockId,
        summary,
        message,
        time,
        opening: following.opening,
        transaction: sent.hash,
        block: head + 1,
      });
      expect((await verify(pending)).state).to.equal("pending");
      const other = await verify({ ...pending, anchor: { ...pending.anchor, transaction: transfer.hash as Hex } });
      expect(other.state).to.equal("invalid");
      expect(failing(other)).to.deep.equal(["transaction"]);
      await networkHelpers.mine(1);
      expect((await verify(pending)).state).to.equal("anchored");
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
  });

  it("names the check each tampered part fails", async function () {
    for (const [name, bundle] of [
      ["first", first],
      ["following", following],
    ] as const) {
      const json = JSON.parse(serializeBundle(bundle)) as {
        summary: { message: string };
        opening: {
          request: { route: string };
          attestation: { signature: string };
          keys: { publicKey: string }[];
        };
        anchor: { chainId: string; contract: string; transaction: string; block: number };
      };
      type Json = typeof json;
      for (const [part, edit, check] of [
        ["the message (what was proved)", (b: Json) => (b.summary.message = flip(b.summary.message)), "summary"],
        ["the attested route", (b: Json) => (b.opening.request.route = flip(b.opening.request.route)), "attestation"],
        [
          "the attestation's signature",
          (b: Json) => (b.opening.attestation.signature = flip(b.opening.attestation.signature)),
          "attestation",
        ],
        ["the chain id", (b: Json) => (b.anchor.chainId = "1"), "chain"],
        ["the contract", (b: Json) => (b.anchor.contract = `0x${"12".repeat(20)}`), "contract"],
        ["the transaction", (b: Json) => (b.anchor.transaction = flip(b.anchor.transaction)), "transaction"],
        ["the block number", (b: Json) => (b.anchor.block += 1), "transaction"],
      ] as const) {
        const copy = structuredClone(json);
        edit(copy);
        const verdict = await verify(parseBundle(copy) as SummaryBundle);
        expect(verdict.state, `${name}: ${part}`).to.equal("invalid");
        expect(failing(verdict), `${name}: ${part}`).to.include(check);
      }
      // two signers' keys swapped: the aggregate is the same, the ledger names the keys
      const swapped = structuredClone(json);
      const [k0, k1] = [swapped.opening.keys[0]!.publicKey, swapped.opening.keys[1]!.publicKey];
      swapped.opening.keys[0]!.publicKey = k1;
      swapped.opening.keys[1]!.publicKey = k0;
      expect(failing(await verify(parseBundle(swapped) as SummaryBundle)), `${name}: swapped keys`).to.deep.equal([
        "signers",
      ]);
      // a signer's key replaced by another layer's member's: the signature fails too
      const foreign = structuredClone(json);
      foreign.opening.keys[0]!.publicKey = foreignKey;
      expect(failing(await verify(parseBundle(foreign) as SummaryBundle)), `${name}: foreign key`).to.deep.equal([
        "attestation",
        "signers",
      ]);
    }
  });
});
