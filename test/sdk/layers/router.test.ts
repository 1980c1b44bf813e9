/**
 * Seed 003's contract communication end to end on one embedded chain: a
 * vehicle in district A's edge layer and a traffic light in district B's,
 * three high-level layers between them (district A, city, district B).
 */
import { expect } from "chai";
import { network } from "hardhat";

import { utf8ToBytes } from "@noble/hashes/utils.js";

import { decodeContractMessage } from "../../../sdk/core/layers/contract.ts";
import type { EstablishedLayer as Layer } from "../../../sdk/layers/establish.ts";
import { CITY, DISTRICT_A, DISTRICT_B, EDGE_A, EDGE_B, refusal, testbed } from "../../helpers/layers.ts";

const { ethers } = await network.create();

describe("layers: routing a contract through three layers", function () {
  this.timeout(120_000);

  it("opens a block per layer, delivers, replies, and records following communications", async () => {
    const bed = await testbed([await ethers.getSigners()]);
    const [a, b] = [bed.edges.get(EDGE_A)!, bed.edges.get(EDGE_B)!];
    const [l1a, l2, l1b] = [DISTRICT_A, CITY, DISTRICT_B].map((x) => bed.layers.get(x)!) as [Layer, Layer, Layer];
    const route = [l1a.layerId, l2.layerId, l1b.layerId];
    const first = await a.open(bed.vehicle.localId, bed.light.uuid, utf8ToBytes("green for 20 s, 0.001 ETH"), route);
    const r1 = await bed.router.route(first);
    expect(r1.hops.map((h) => h.outcome)).to.deep.equal(["opened", "opened", "opened"]);
    expect(r1.delivery!.object.id).to.equal(bed.light.id);
    expect(decodeContractMessage(r1.delivery!.packet.message).from).to.equal(bed.vehicle.id);
    expect(r1.delivery!.packet.ids.slice(1)).to.deep.equal(r1.hops.map((h) => h.blockId));

    const reply = await b.follow(r1.delivery!.packet, bed.light.localId, utf8ToBytes("ok: green at 12:00:05"));
    const r2 = await bed.router.route(reply);
    expect(r2.hops.map((h) => h.outcome)).to.deep.equal(["recorded", "recorded", "recorded"]);
    expect(r2.hops.map((h) => h.layerId)).to.deep.equal([...route].reverse());
    expect(r2.delivery!.object.id).to.equal(bed.vehicle.id);

    // Statement 5: the same packet again is refused at the first layer with the alarm.
    const again = await bed.router.route(reply);
    expect(again.stoppedAt!.outcome).to.equal("replayed");
    expect(again.hops).to.have.length(1);

    const end = await a.follow(r2.delivery!.packet, bed.vehicle.localId, utf8ToBytes("paid, done"), true);
    const r3 = await bed.router.route(end);
    expect(r3.hops.every((h) => h.accomplished)).to.equal(true);
    for (const [k, layer] of [l1a, l2, l1b].entries()) {
      const proof = await layer.ledger.proof(r1.hops[k]!.blockId);
      expect(proof!.summaries.map((s) => s.summary)).to.deep.equal([
        first.packet.ids[0],
        reply.packet.ids[0],
        end.packet.ids[0],
      ]);
      expect(proof!.block.accomplished).to.equal(true);
    }

    // Statement 6 closed the blocks: nothing more is recorded in them.
    const late = await b.follow(r3.delivery!.packet, bed.light.localId, utf8ToBytes("one more"));
    expect((await refusal(bed.router.route(late))).reason).to.equal("closed");
  });
});
