/**
 * The multi-layer part of the demo (seed 003): a city layer (Layer 2) over two
 * district layers (Layer 1), each district over a crossing's edge layer
 * (Layer 0) with its object database; each high-level layer keeps its own
 * ledger, the districts' on the first chain of the local deployment and the
 * city's on the second. A delivery van in district A asks a
 * traffic light in district B for a green phase: the contract travels up
 * through district A, the city and district B and back, each layer recording
 * its block and checking where P came from; the van pays for the phase from
 * an escrow released when both sides confirm the accomplished contract. A
 * replayed packet raises the alarm, at the layer that recorded it or, for a
 * re-sent last hop, at the receiving central node; a city node that lost contact is found by
 * self-examination and tagged invalid, and its block is taken over.
 */
import { randomBytes } from "node:crypto";

import { utf8ToBytes } from "@noble/hashes/utils.js";
import { formatEther, parseEther, type Signer } from "ethers";

import { type Hex } from "../../sdk/index.ts";
import { mclBackend, minSig } from "../../sdk/exports/crypto.ts";
import {
  decodeContractMessage,
  establishHierarchy,
  type EstablishedLayer,
  type Hop,
  type LayerAlarm,
  LayerError,
  LedgerDirectory,
  ObjectStore,
  type RouteResult,
} from "../../sdk/exports/layers.ts";

export interface LayersDemoContext {
  /**
   * Twelve funded accounts of their own on the chain of `layer`: the city's (the second chain,
   * anvil) or a district's (the first, `hardhat node`).
   */
  accounts(layer: "city" | "district-a" | "district-b"): Promise<readonly Signer[]>;
  step(text: string): void;
  info(text: string): void;
}

const CITY = "strata://metro/city";
const DISTRICT_A = "strata://metro/city/district-a";
const DISTRICT_B = "strata://metro/city/district-b";
const EDGE_A = "strata://metro/city/district-a/crossing-1";
const EDGE_B = "strata://metro/city/district-b/crossing-9";
const MEMBERS = 4;

export async function runLayersDemo(ctx: LayersDemoContext): Promise<void> {
  const { step, info } = ctx;
  const short = (id: string): string => `${id.slice(0, 10)}…`;
  /** A block id: the opening node's address and its local sequence. */
  const blockName = (id: string): string => `${id.slice(0, 8)}…#${BigInt(`0x${id.slice(42)}`)}`;
  const backend = await mclBackend();
  const bls = minSig(backend);

  step("Layers: a city over two districts, each district over a crossing's edge layer");
  const [cityChain, chainA, chainB] = [
    await ctx.accounts("city"),
    await ctx.accounts("district-a"),
    await ctx.accounts("district-b"),
  ];
  const members = (accounts: readonly Signer[]) =>
    accounts.slice(1, 1 + MEMBERS).map((signer) => ({ signer, secretKey: bls.keygen(randomBytes(32)) }));
  const storeA = new ObjectStore(":memory:", EDGE_A);
  const storeB = new ObjectStore(":memory:", EDGE_B);
  const van = storeA.create({
    classPath: "Vehicle/Van",
    permissions: 0b11,
    description: "delivery van 17",
    state: { speedKmh: 28, heading: "north" },
    functions: [{ name: "pay", inputs: ["uint256"], outputs: [] }],
    formats: { telemetry: { speedKmh: "number", heading: "string" } },
  });
  storeA.create({ classPath: "Sensor/Loop", description: "induction loop, lane 2", state: { occupied: false } });
  const light = storeB.create({
    classPath: "Infrastructure/TrafficLight",
    permissions: 0b01,
    description: "crossing 9, northbound",
    state: { phase: "red" },
    functions: [{ name: "requestGreen", inputs: ["uint32"], outputs: ["bool"] }],
  });
  info(
    `edge layer ${EDGE_A}: ${storeA.count()} objects; van 17 is ${short(van.id)} (UUID ${van.uuid.layer}#${van.uuid.localId})`,
  );
  info(
    `edge layer ${EDGE_B}: ${storeB.query({ classPath: "Infrastructure" }).length} traffic light, ${short(light.id)}`,
  );

  const alarms: LayerAlarm[] = [];
  const directory = new LedgerDirectory();
  const hierarchy = await establishHierarchy({
    directory,
    backend,
    node: { onAlarm: (a) => alarms.push(a), answerTimeoutMs: 2_000 },
    layers: [
      { address: CITY, members: members(cityChain), deployer: cityChain[0]! },
      {
        address: DISTRICT_A,
        members: members(chainA),
        deployer: chainA[0]!,
        superior: CITY,
        edges: [{ store: storeA, account: chainA[1 + MEMBERS]! }],
      },
      {
        address: DISTRICT_B,
        members: members(chainB),
        deployer: chainB[0]!,
        superior: CITY,
        edges: [{ store: storeB, account: chainB[1 + MEMBERS]! }],
      },
    ],
  });
  const layer = (address: string): EstablishedLayer => hierarchy.layers.get(address)!;
  const names = new Map<string, string>([
    [layer(DISTRICT_A).layerId, "district A"],
    [layer(CITY).layerId, "city"],
    [layer(DISTRICT_B).layerId, "district B"],
  ]);
  for (const address of [CITY, DISTRICT_A, DISTRICT_B]) {
    const l = layer(address);
    const { count, quorum } = await l.ledger.membership();
    const { consensus } = await l.ledger.layer();
    info(
      `${names.get(l.layerId)!.padEnd(10)} ledger ${short(l.link.ledger)} on chain ${l.link.chainId}: ` +
        `${count} members, quorum ${quorum} (${consensus}), superior ${(await l.ledger.superior()).chainId ? `on chain ${(await l.ledger.superior()).chainId}` : "none"}`,
    );
  }
  const { router } = hierarchy;
  const [edgeA, edgeB] = [hierarchy.edges.get(EDGE_A)!, hierarchy.edges.get(EDGE_B)!];
  const route = [layer(DISTRICT_A).layerId, layer(CITY).layerId, layer(DISTRICT_B).layerId];
  const show = (r: RouteResult) => {
    for (const h of r.hops) {
      const gas = h.gasUsed === undefined ? "" : `, ${h.gasUsed} gas`;
      const took = h.tookOverFrom ? `, taken over from ${short(h.tookOverFrom)}` : "";
      info(
        `  ${names.get(h.layerId)!.padEnd(10)} chain ${h.chainId}: ${h.outcome.padEnd(8)} block ${blockName(h.blockId)} ` +
          `by ${short(h.node)}${gas}${took}${h.accomplished ? ", contract ended" : ""}`,
      );
    }
    if (r.delivery) {
      const m = decodeContractMessage(r.delivery.packet.message);
      info(`  delivered to ${r.delivery.object.description}: "${new TextDecoder().decode(m.body)}"`);
    }
  };

  step("First communication: van 17 asks the crossing-9 light for a green phase (statements 1-3 in each layer)");
  const ask = await edgeA.open(van.localId, light.uuid, utf8ToBytes("green for 20 s on arrival, pay 0.001 ETH"), route);
  const there = await router.route(ask);
  show(there);
  const blocks = there.hops.map((h: Hop) => h.blockId);
  const [sum, ...ids] = there.delivery!.packet.ids;
  info(
    `the packet carries the summary ${short(sum!)} and the blocks ${ids.map(blockName).join(", ")}: one block per layer, reused by what follows`,
  );

  step(
    "Settlement (machine-to-machine payment): the van escrows the fee in district A's block for the light's operator",
  );
  const payer = chainA[10]!;
  const operator = chainA[11]!;
  const ledgerA = layer(DISTRICT_A).ledger;
  const escrow = await ledgerA
    .connect(payer)
    .escrow(blocks[0]!, await operator.getAddress(), `0x${"00".repeat(20)}`, parseEther("0.001"));
  info(`escrowed ${formatEther(escrow.amount)} ETH (${escrow.gasUsed} gas)`);

  step("Following communication: the light grants the phase (statements 4-5, the responsible nodes record)");
  const grant = await edgeB.follow(
    there.delivery!.packet,
    light.localId,
    utf8ToBytes("granted: green at 12:00:05 for 20 s"),
  );
  const back = await router.route(grant);
  show(back);

  step("A replayed packet: the grant sent again is refused with the ledger's alarm (statement 5)");
  const replay = await router.route(grant);
  info(
    `stopped at ${names.get(replay.stoppedAt!.layerId)}: ${replay.stoppedAt!.outcome} ` +
      `(SummaryReplayed in tx ${short(replay.stoppedAt!.txHash!)}); alarms raised: ${alarms.map((a) => a.kind).join(", ")}`,
  );

  step("A replayed last hop: district B's transmission sent to crossing 9 again is refused by its central node");
  const resent = await edgeB.deliver(there.hops[2]!.next!).then(
    () => "delivered again",
    (e: unknown) => (e instanceof LayerError ? e.reason : String(e)),
  );
  info(
    `crossing 9 remembers what it delivered (in its SQLite store): ${resent}; alarms raised: ${alarms.map((a) => a.kind).join(", ")}`,
  );

  step("Self-examination: a city node loses contact; its peers challenge it and tag it invalid unanimously");
  const city = layer(CITY);
  const responsible = (await city.ledger.getBlock(blocks[1]!))!.responsible;
  const lost = city.nodes.find((n) => n.node.toLowerCase() === responsible.toLowerCase())!;
  lost.stop();
  const examiner = city.nodes.find((n) => n !== lost)!;
  const exam = await examiner.examinePeers();
  for (const e of exam.examined)
    info(`  member ${e.index} ${short(e.node)}: ${e.passed ? "answers with its key" : "no answer"}`);
  for (const x of exam.invalidated) info(`  member ${x.index} tagged invalid (tx ${short(x.txHash)})`);
  const after = await city.ledger.membership();
  info(`city quorum is now ${after.quorum} of ${after.count - exam.invalidated.length} valid members`);
  const examSuperior = await layer(DISTRICT_A).nodes[0]!.examineSuperior();
  info(
    `district A examines its superior: ${examSuperior.status} (${examSuperior.examined.filter((n) => n.passed).length} city nodes answer)`,
  );

  step(
    "The contract ends: van 17 confirms the passage with the ending tag (statement 6); the lost node's block is taken over",
  );
  const done = await edgeA.follow(
    back.delivery!.packet,
    van.localId,
    utf8ToBytes("passed at 12:00:09, thank you"),
    true,
  );
  show(await router.route(done));
  const held = async () => chainA[0]!.provider!.getBalance(ledgerA.address);
  const heldBefore = await held();
  const payerAddress = await payer.getAddress();
  await ledgerA.connect(payer).confirm(blocks[0]!, payerAddress);
  const released = await ledgerA.connect(operator).confirm(blocks[0]!, payerAddress);
  const settled = (await ledgerA.escrowOf(blocks[0]!, payerAddress))!;
  info(
    `payer and provider confirmed: ${released.released ? "released" : "held"} ${formatEther(released.amount)} ETH to the ` +
      `operator (the ledger holds ${formatEther(heldBefore - (await held()))} ETH less; settled ${settled.settled})`,
  );

  step("Proof query by block id (the summaries are public, the contract text is not)");
  for (const [k, id] of blocks.entries()) {
    const l = [layer(DISTRICT_A), city, layer(DISTRICT_B)][k]!;
    const proof = (await l.ledger.proof(id as Hex))!;
    info(
      `  ${names.get(l.layerId)!.padEnd(10)} ${blockName(id)}: summaries [${proof.summaries.map((s) => short(s.summary)).join(", ")}], ` +
        `ended ${proof.block.accomplished}, responsible ${short(proof.block.responsible)}, expires ${new Date(Number(proof.block.expiry) * 1000).toISOString()}`,
    );
  }
  storeA.close();
  storeB.close();
}
