/**
 * Findings of a second review of the layers (each fixed, kept as regression
 * tests): the SDK's invalid verdict counted without the judged member, the
 * ending summary named by the ledger's own event, a join submitted only by the
 * joining account, long examination intervals. Same testbed as the
 * contract-communication-rules and forged-packets tests: a vehicle in district A's edge layer, a
 * traffic light in district B's, with district A, the city and district B
 * between, all on one embedded chain.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { SummaryLedgerClient } from "../../../sdk/contracts/ledger.ts";
import { type Hex } from "../../../sdk/core/bytes.ts";
import type { Attestation } from "../../../sdk/core/layers/attestation.ts";
import { minSig } from "../../../sdk/core/crypto/bls.ts";
import { forward, type Packet } from "../../../sdk/core/layers/packet.ts";
import { LayerNode } from "../../../sdk/layers/layer-node.ts";
import { backend, body, memberKey, scene } from "../../helpers/layers.ts";

const { ethers, networkHelpers } = await network.create();

type Four = [LayerNode, LayerNode, LayerNode, LayerNode];

const setup = async () => scene(await ethers.getSigners());

/**
 * Runtime code for an account that, called with `record(...) ‖ record(...)`
 * (two 100-byte calls), makes both calls to `target` in one transaction, as
 * itself: a smart-account or EIP-7702-delegated responsible node batching.
 */
function batcher(target: string): Hex {
  const addr = target.toLowerCase().replace(/^0x/, "");
  const copy = (offset: string) => `6064${offset}600037`; // calldatacopy(0, offset, 100)
  const call = `60006000606460006000` + `73${addr}5af150`; // call(gas, target, 0, 0, 100, 0, 0); pop
  return `0x${copy("6000")}${call}${copy("6064")}${call}00` as Hex;
}

describe("layers: member decisions at the edges of the rules", function () {
  this.timeout(120_000);

  it("examinePeers tags the third member invalid when 2 of 3 valid members find it failed (SDK quorum counted without the judged member)", async () => {
    const s = await setup();
    const [n0, , n2, n3] = s.l1a.nodes as Four;
    n3.stop();
    expect((await n0.examinePeers()).invalidated.map((i) => i.index)).to.deep.equal([3]);
    expect((await s.l1a.ledger.membership()).validMask).to.equal(0b0111n);
    // Three valid members; member 2 stops. The ledger takes the two others' verdict (08e189a),
    // but the SDK counts the quorum of 3 (including the judged member) and reports it disputed.
    n2.stop();
    const x = await n0.examinePeers();
    expect(x.examined.map((e) => [e.index, e.passed])).to.deep.equal([
      [1, true],
      [2, false],
    ]);
    expect(x.disputed).to.deep.equal([]);
    expect(x.invalidated.map((i) => i.index)).to.deep.equal([2]);
    expect((await s.l1a.ledger.membership()).validMask).to.equal(0b0011n);
  });

  it("the next layer attributes the ending tag to the summary that set F when the responsible node recorded two summaries in one transaction", async () => {
    const s = await setup();
    const { blocks, delivered } = await s.contract();
    const b1 = blocks[0]!;
    const responsible = (await s.l1a.ledger.getBlock(b1))!.responsible;
    // Two following communications of the vehicle: X (not ending), then Y (ending).
    const tx = (await s.a.follow(delivered, s.bed.vehicle.localId, body("still coming"))).packet;
    const ty = (await s.a.follow(delivered, s.bed.vehicle.localId, body("passed, thanks"), true)).packet;
    const [x, y] = [tx.ids[0]!, ty.ids[0]!];
    // N_r (a batching account) records X then Y (ending) in district A's block in one transaction.
    await networkHelpers.setCode(responsible, batcher(s.l1a.ledger.address));
    const iface = s.l1a.ledger.contract.interface;
    const data = ethers.concat([
      iface.encodeFunctionData("record", [b1, x, false]),
      iface.encodeFunctionData("record", [b1, y, true]),
    ]);
    await (await s.signers[19]!.sendTransaction({ to: responsible, data, gasLimit: 1_000_000n })).wait();
    expect(await s.l1a.ledger.summaryOf(b1, x)).to.not.equal(undefined);
    expect(await s.l1a.ledger.summaryOf(b1, y)).to.not.equal(undefined);
    expect((await s.l1a.ledger.getBlock(b1))!.accomplished).to.equal(true);
    // Y set F: that is the ending summary (BlockAccomplished names it), not the first record of the transaction (X).
    expect(await s.l1a.ledger.endingSummary(b1)).to.equal(y);
    // The ending P (Y) as district A passes it on is accepted by the city.
    const forwarded: Packet = forward(ty, s.l1a.layerId, b1);
    const hop = await s.l2.nodes[0]!.receive({ packet: forwarded });
    expect([hop.outcome, hop.accomplished]).to.deep.equal(["recorded", true]);
  });

  it("admit refuses a candidate that names an account it does not control (the challenge binds the key, not the node)", async () => {
    const s = await setup();
    const bls = minSig(backend);
    // The attacker holds a BLS key and names the account of someone who never asked to join.
    const victim = s.signers[19]!;
    const secretKey = memberKey("an attacker", 4);
    const attacker = new LayerNode(victim.address, {
      layerId: s.l1a.layerId,
      index: 4,
      secretKey,
      ledger: new SummaryLedgerClient(s.l1a.link.ledger, s.signers[18]!),
      chainId: s.l1a.link.chainId,
      directory: s.bed.directory,
      backend,
    });
    const candidate = {
      node: victim.address,
      publicKey: attacker.publicKey,
      proofOfPossession: bls.popProve(secretKey),
      answer: (c: { nonce: Uint8Array }) => attacker.answer(c),
      // The attacker can only submit from an account of its own.
      submitJoin: (a: Attestation) => attacker.candidate().submitJoin(a),
    };
    const outcome = await s.l1a.nodes[0]!.admit(candidate).then(
      (index) => ({ admitted: index }),
      (e: unknown) => ({ refused: e instanceof Error ? e.name : String(e) }),
    );
    // Only the account itself submits its join: the victim is not enrolled under the attacker's key.
    expect(outcome).to.have.property("refused");
    expect(await s.l1a.ledger.memberOf(victim.address)).to.equal(undefined);
  });

  it("examineEvery does not run a round at once when the random wait exceeds setTimeout's 2^31 - 1 ms", async () => {
    const s = await setup();
    const reports: unknown[] = [];
    const random = Math.random;
    // A mean of 30 days and a draw of 0.99: a wait of -ln(0.01) * 30 days, about 138 days, past 2^31 - 1 ms (24.8 days).
    Math.random = () => 0.99;
    let stop: () => void;
    try {
      stop = s.l2.nodes[0]!.examineEvery(30 * 24 * 3600 * 1000, (r) => reports.push(r));
    } finally {
      Math.random = random;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop();
    expect(reports).to.deep.equal([]);
  });
});
