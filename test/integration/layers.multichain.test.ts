/**
 * Seed 003 with each high-level layer on its own chain: the route from a
 * vehicle in district A to a traffic light in district B and back, where
 * every layer checks statement 1 against the previous layer's ledger on that
 * layer's chain. Once with three in-process Hardhat networks (distinct chain
 * ids), once over JSON-RPC endpoints: the city on anvil, district A on
 * `hardhat node` (each its own process) and district B in process.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { utf8ToBytes } from "@noble/hashes/utils.js";

import type { EstablishedLayer } from "../../sdk/layers/establish.ts";
import { type ChainAccounts, CITY, DISTRICT_A, DISTRICT_B, EDGE_A, EDGE_B, testbed } from "../helpers/layers.ts";
import { type NodeProcess, startAnvil, startHardhatNode } from "../../support/node-process.ts";

async function embedded(chainId: bigint): Promise<ChainAccounts> {
  const { ethers } = await network.create({ override: { chainId: Number(chainId) } });
  return ethers.getSigners();
}

async function roundTrip(chains: readonly ChainAccounts[]) {
  const bed = await testbed(chains);
  const [l1a, l2, l1b] = [DISTRICT_A, CITY, DISTRICT_B].map((x) => bed.layers.get(x)!) as [
    EstablishedLayer,
    EstablishedLayer,
    EstablishedLayer,
  ];
  const chainIds = [l1a, l2, l1b].map((l) => l.link.chainId);
  expect(new Set(chainIds).size).to.equal(3);
  const [a, b] = [bed.edges.get(EDGE_A)!, bed.edges.get(EDGE_B)!];
  const open = await a.open(bed.vehicle.localId, bed.light.uuid, utf8ToBytes("green for 20 s"), [
    l1a.layerId,
    l2.layerId,
    l1b.layerId,
  ]);
  const there = await bed.router.route(open);
  expect(there.hops.map((h) => [h.outcome, h.chainId])).to.deep.equal(chainIds.map((c) => ["opened", c]));
  expect(there.delivery!.object.id).to.equal(bed.light.id);
  const reply = await b.follow(there.delivery!.packet, bed.light.localId, utf8ToBytes("granted"), true);
  const back = await bed.router.route(reply);
  expect(back.hops.map((h) => [h.outcome, h.chainId, h.accomplished])).to.deep.equal(
    [...chainIds].reverse().map((c) => ["recorded", c, true]),
  );
  expect(back.delivery!.object.id).to.equal(bed.vehicle.id);
  // Each ledger, on its own chain, answers the proof query for its block.
  for (const [k, layer] of [l1a, l2, l1b].entries()) {
    const proof = await layer.ledger.proof(there.hops[k]!.blockId);
    expect(proof!.summaries.map((s) => s.summary)).to.deep.equal([open.packet.ids[0], reply.packet.ids[0]]);
  }
}

describe("layers on separate chains", function () {
  this.timeout(300_000);

  it("routes a contract across three in-process networks", async () => {
    await roundTrip([await embedded(31_401n), await embedded(31_402n), await embedded(31_403n)]);
  });

  describe("over JSON-RPC endpoints", function () {
    const nodes: NodeProcess[] = [];
    after(async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    });

    it("routes a contract across anvil, hardhat node and an in-process network", async () => {
      nodes.push(await startAnvil(31_411n), await startHardhatNode());
      const [anvil, hardhat] = nodes as [NodeProcess, NodeProcess];
      await roundTrip([
        await anvil.provider.listAccounts(),
        await hardhat.provider.listAccounts(),
        await embedded(31_413n),
      ]);
    });
  });
});
