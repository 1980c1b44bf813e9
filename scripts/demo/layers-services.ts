/**
 * The multi-layer part of the demo (seed 003), on the running layer and edge services of the local
 * deployment: a city layer on the second chain (anvil) over district A and district B on the first
 * (`hardhat node`), each district over a crossing's edge layer — a delivery van at crossing 1, a
 * traffic light at crossing 9. The van asks the light for a green phase through edge A's central
 * node: the contract crosses district A, the city and district B, each layer's members recording
 * their block on their own chain, and is delivered by edge B; the van escrows the fee in district
 * A's block, the light grants the phase, a replayed packet raises the alarm at the layer and at
 * the receiving central node, the van ends the contract, both sides confirm and the escrow is
 * released; the blocks are queried for their proof. Last, a lost node is found: the city's member
 * processes are stopped, and district B's first member, examining its superior at random intervals
 * over HTTP, finds no city member answering; its peers examine the city themselves, sign the
 * superior-lost alarm, and district B's ledger freezes its superior.
 */
import { formatEther, parseEther, type Signer, ZeroAddress } from "ethers";

import { fromHex, toHex, type Hex } from "../../sdk/core/bytes.ts";
import { decodeContractMessage } from "../../sdk/exports/layers.ts";
import { SummaryLedgerClient } from "../../sdk/contracts/ledger.ts";
import type { LocalDeployment } from "../../services/local/deployment.ts";
import { EDGE_B, ROUTE } from "../../services/local/roles/layers.ts";
import type { DeliveryJson, HopJson, TransmissionJson } from "../../services/layers/wire.ts";
import { requestJson } from "../../services/runtime/http-client.ts";

export interface LayersDemoContext {
  readonly deployment: LocalDeployment;
  step(text: string): void;
  info(text: string): void;
}

interface RouteAnswer {
  readonly summary: Hex;
  readonly transmission: TransmissionJson;
  readonly hops: readonly HopJson[];
  readonly delivery?: DeliveryJson;
  readonly stoppedAt?: HopJson;
}

const utf8 = (text: string): Hex => toHex(new TextEncoder().encode(text));
const short = (id: string): string => `${id.slice(0, 10)}…`;
/** A block id: the opening node's address and its local sequence. */
const blockName = (id: string): string => `${id.slice(0, 8)}…#${BigInt(`0x${id.slice(42)}`)}`;

export async function runLayersDemo(ctx: LayersDemoContext): Promise<void> {
  const { deployment: d, step, info } = ctx;
  const { a, b } = d.layers.edges;
  const names = ["district A", "city", "district B"];
  const send = (url: string, body: object) => requestJson<RouteAnswer>(url, { body, timeoutMs: 120_000 });
  const show = (r: RouteAnswer, order: readonly string[]) => {
    r.hops.forEach((h, k) => {
      const gas = h.gasUsed === undefined ? "" : `, ${h.gasUsed} gas`;
      info(
        `  ${order[k]!.padEnd(10)} chain ${h.chainId}: ${h.outcome.padEnd(8)} block ${blockName(h.blockId)} by ${short(h.node)}${gas}${h.accomplished ? ", contract ended" : ""}`,
      );
    });
    if (r.delivery)
      info(`  delivered to ${r.delivery.object.classPath} ${r.delivery.object.uuid}: "${decode(r.transmission)}"`);
  };
  const decode = (t: TransmissionJson): string =>
    new TextDecoder().decode(decodeContractMessage(fromHex(t.packet.message, "message")).body);

  step("Layers, as services: district A and B (hardhat node) and the city (anvil), four members each, two edge nodes");
  for (const [name, l] of d.layers.ledgers)
    info(`${name.padEnd(10)} SummaryLedger ${short(l.address)} on chain ${l.chain.chainId}`);

  step("First communication: van 17 asks the crossing-9 light for a green phase, through edge A's central node");
  const opened = await send(`${a}/contracts/open`, {
    from: "1",
    to: `${EDGE_B}#1`,
    body: utf8("green for 20 s on arrival, pay 0.001 ETH"),
    route: [...ROUTE],
  });
  show(opened, names);
  const blocks = opened.hops.map((h) => h.blockId);

  step("Settlement: the van's owner escrows the fee in district A's block for the light's operator");
  const districtA = d.layers.ledgers.get("district-a")!;
  const [payer, operator] = [await districtA.chain.funded("1"), await districtA.chain.funded("1")];
  const ledgerA = new SummaryLedgerClient(districtA.address, payer as Signer);
  const escrow = await ledgerA.escrow(blocks[0]!, operator.address, ZeroAddress, parseEther("0.001"));
  info(`escrowed ${formatEther(escrow.amount)} ETH (${escrow.gasUsed} gas)`);

  step("Following communication: the light grants the phase, through edge B's central node");
  const granted = await send(`${b}/contracts/follow`, {
    last: opened.delivery!.packet,
    from: "1",
    body: utf8("granted: green at 12:00:05 for 20 s"),
  });
  show(granted, [...names].reverse());

  step("A replayed packet: the grant sent to a district B member again is refused with the ledger's alarm");
  const member = d.supervisor.get("district-b-1").url!;
  const replay = await requestJson<{ hop: HopJson }>(`${member}/packets`, {
    body: { transmission: granted.transmission },
  }).then(
    ({ hop: h }) => `${h.outcome}${h.txHash ? ` (SummaryReplayed in tx ${short(h.txHash)})` : ""}`,
    (e: unknown) => `${(e as Error).name} (${(e as { reason?: string }).reason ?? "no reason"})`,
  );
  info(`district B's member: ${replay}`);
  const again = await requestJson(`${a}/packets`, {
    body: { transmission: { packet: granted.delivery!.packet } },
  }).then(
    () => "delivered again",
    (e: unknown) => `${(e as Error).name} (${(e as { reason?: string }).reason ?? "no reason"})`,
  );
  info(`edge A's central node, handed the delivered packet again: ${again}`);

  step("The contract ends: the van confirms the passage with the ending tag; both sides release the escrow");
  const ended = await send(`${a}/contracts/follow`, {
    last: granted.delivery!.packet,
    from: "1",
    body: utf8("passed at 12:00:09, thank you"),
    ending: true,
  });
  show(ended, names);
  await ledgerA.confirm(blocks[0]!, payer.address);
  const released = await ledgerA.connect(operator).confirm(blocks[0]!, payer.address);
  info(
    `payer and provider confirmed: ${released.released ? "released" : "held"} ${formatEther(released.amount)} ETH to the operator`,
  );

  step("Proof query by block id (the summaries are public, the contract text is not)");
  for (const [k, name] of ["district-a", "city", "district-b"].entries()) {
    const l = d.layers.ledgers.get(name)!;
    const proof = (await new SummaryLedgerClient(l.address, l.chain.provider).proof(blocks[k]!))!;
    info(
      `  ${names[k]!.padEnd(10)} ${blockName(blocks[k]!)}: summaries [${proof.summaries.map((s) => short(s.summary)).join(", ")}], ended ${proof.block.accomplished}, responsible ${short(proof.block.responsible)}`,
    );
  }
}

/** The `strata_layer_*` counter with `labels` on the service at `url`'s `/metrics` (0 when absent). */
async function counter(url: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`strata_layer_${labels}`));
  return Number(line?.split(" ").pop() ?? 0);
}

/** Polls `check` every 250 ms until it holds; an error after `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not seen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A lost node is found (seed 003, self-examination): the city's members are stopped; district B's
 * examining member finds its superior unreachable over HTTP and, with its peers, raises the alarm.
 */
export async function runLostSuperiorDemo(ctx: LayersDemoContext): Promise<void> {
  const { deployment: d, step, info } = ctx;
  const examiner = d.supervisor.get("district-b-1").url!;
  const districtB = d.layers.ledgers.get("district-b")!;
  const ledgerB = new SummaryLedgerClient(districtB.address, districtB.chain.provider);

  step("A lost node is found: district B's member examines its superior, the city, over HTTP at random intervals");
  await until(
    "a superior examination",
    60_000,
    async () => (await counter(examiner, 'examinations_total{target="superior"')) >= 1,
  );
  const reachable = await counter(examiner, 'examinations_total{target="superior",status="reachable"');
  info(
    `district B's member 1: ${reachable} examinations found the city answering; superior frozen on district B's ledger: ${await ledgerB.isSuperiorFrozen()}`,
  );

  const city = d.supervisor.running.filter((r) => /^city-\d+$/.test(r.spec.name)).map((r) => r.spec.name);
  const ends = await Promise.all(city.map((name) => d.supervisor.stopService(name)));
  info(
    `the city's ${city.length} member processes stopped (${city.map((n, k) => `${n}: exit ${ends[k]}`).join(", ")})`,
  );

  await until(
    "the superior-lost alarm",
    120_000,
    async () => (await counter(examiner, 'alarms_total{kind="superior-lost"')) >= 1,
  );
  const lost = await counter(examiner, 'examinations_total{target="superior",status="lost"');
  info(
    `district B's member 1: the city is lost (${lost} examination${lost === 1 ? "" : "s"}); its peers examined the city themselves and signed the superior-lost alarm`,
  );
  await until("the frozen superior", 60_000, () => ledgerB.isSuperiorFrozen());
  info(
    `district B's ledger ${short(districtB.address)} on chain ${districtB.chain.chainId}: superior frozen ${await ledgerB.isSuperiorFrozen()}`,
  );
}
