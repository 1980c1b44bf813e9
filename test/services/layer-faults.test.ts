/**
 * Chain faults of the layer and edge node services (issue 15), with real
 * processes: the city on one anvil, districts A and B on another anvil that
 * keeps its state in a file, so it can be stopped and started again on the
 * same chain. While the districts' chain is stopped, a packet entering district
 * B waits, retried with back-off, and the contract completes once when it is
 * back; a ledger write not mined in time (mining switched off) is replaced with
 * higher fees and mined once. Every summary is recorded once in every ledger.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { SummaryLedgerClient } from "../../sdk/contracts/ledger.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { type ServiceProcess, startService } from "../../services/runtime/process.ts";
import type { LayersFile } from "../../services/layers/layout.ts";
import type { DeliveryJson, HopJson, TransmissionJson } from "../../services/layers/wire.ts";
import { freePort, type NodeProcess, startAnvil } from "../../support/node-process.ts";
import { ANVIL_KEYS, jsonOf, PASSPHRASE, strataIn } from "../helpers/cli.ts";

const CITY = "strata://city";
const DISTRICT_A = "strata://city/district-a";
const DISTRICT_B = "strata://city/district-b";
const EDGE_A = "strata://city/district-a/crossing-1";
const EDGE_B = "strata://city/district-b/crossing-9";
const ROUTE = [DISTRICT_A, CITY, DISTRICT_B];
const SIZE = 4;

interface RouteAnswer {
  readonly summary: Hex;
  readonly transmission: TransmissionJson;
  readonly hops: readonly HopJson[];
  readonly delivery?: DeliveryJson;
}

const utf8 = (text: string): Hex => toHex(new TextEncoder().encode(text));

describe("layer and edge node services under chain faults (processes, two anvils)", function () {
  this.timeout(180_000);

  const dir = mkdtempSync(join(tmpdir(), "strata-layer-faults-"));
  const out = join(dir, "layers");
  const env = { ...process.env, STRATA_PASSPHRASE: PASSPHRASE, STRATA_LOG_LEVEL: "error" };
  const processes: ServiceProcess[] = [];
  let file: LayersFile;
  let urls: { layers: Record<string, string[]>; edges: Record<string, string> };
  let city: NodeProcess;
  let districts: NodeProcess;

  const ledgerOf = (address: string): SummaryLedgerClient => {
    const l = file.layers.find((x) => x.address === address)!;
    return new SummaryLedgerClient(l.ledger, address === CITY ? city.provider : districts.provider);
  };
  /** The sum of metric `name` over every member of `address`. */
  const metric = async (address: string, name: string) => {
    let sum = 0;
    for (const url of urls.layers[address]!) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const line of text.split("\n")) if (line.startsWith(name)) sum += Number(line.split(" ").pop());
    }
    return sum;
  };
  const until = async (what: () => Promise<boolean>) => {
    while (!(await what())) await new Promise((r) => setTimeout(r, 100));
  };
  /** Each ledger of the route holds exactly `summaries`, once each, in the contract's block. */
  const recordedOnce = async (opened: RouteAnswer, summaries: Hex[]) => {
    for (const [k, address] of ROUTE.entries()) {
      const proof = await ledgerOf(address).proof(opened.hops[k]!.blockId);
      expect(
        proof!.summaries.map((s) => s.summary),
        address,
      ).to.deep.equal(summaries);
    }
  };
  const open = (text: string) =>
    requestJson<RouteAnswer>(`${urls.edges[EDGE_A]}/contracts/open`, {
      body: { from: "1", to: `${EDGE_B}#1`, body: utf8(text), route: ROUTE },
      timeoutMs: 120_000,
    });
  const follow = (edge: string, last: RouteAnswer, text: string, ending = false) =>
    requestJson<RouteAnswer>(`${urls.edges[edge]}/contracts/follow`, {
      body: { last: last.delivery!.packet, from: "1", body: utf8(text), ...(ending ? { ending } : {}) },
      timeoutMs: 120_000,
    });

  before(async function () {
    this.timeout(300_000);
    [city, districts] = await Promise.all([
      startAnvil(31338n),
      startAnvil(31337n, { stateFile: join(dir, "districts.json") }),
    ]);
    const strata = strataIn(dir);
    const imported = await strata(["key", "import", "deployer"], { STRATA_PRIVATE_KEY: ANVIL_KEYS[0] });
    expect(imported.code, imported.stderr).to.equal(0);
    const edge = (address: string, classPath: string) => ({
      address,
      objects: [{ classPath, permissions: 1, description: address }],
    });
    const plan = {
      fundEth: "10",
      layers: [
        { address: CITY, rpc: city.url, members: SIZE },
        {
          address: DISTRICT_A,
          rpc: districts.url,
          members: SIZE,
          superior: CITY,
          edges: [edge(EDGE_A, "Vehicle/Car")],
        },
        {
          address: DISTRICT_B,
          rpc: districts.url,
          members: SIZE,
          superior: CITY,
          edges: [edge(EDGE_B, "Infrastructure/TrafficLight")],
        },
      ],
    };
    writeFileSync(join(dir, "plan.json"), JSON.stringify(plan));
    const established = await strata([
      "--json",
      "layer",
      "establish",
      "--plan",
      "plan.json",
      "--out",
      out,
      "--key",
      "deployer",
    ]);
    expect(established.code, established.stderr).to.equal(0);
    file = jsonOf(established) as unknown as LayersFile;

    urls = { layers: {}, edges: {} };
    for (const l of file.layers) {
      urls.layers[l.address] = [];
      for (let i = 0; i < SIZE; i++) urls.layers[l.address]!.push(`http://127.0.0.1:${await freePort()}`);
    }
    for (const e of file.edges) urls.edges[e.address] = `http://127.0.0.1:${await freePort()}`;
    const configs: string[][] = [];
    for (const l of file.layers) {
      for (let i = 0; i < SIZE; i++) {
        const config = join(dir, `member-${l.address.split("/").pop()}-${i}.json`);
        writeFileSync(
          config,
          JSON.stringify({
            layers: join(out, "layers.json"),
            layer: l.address,
            index: i,
            listen: { port: Number(new URL(urls.layers[l.address]![i]!).port) },
            network: { layers: urls.layers },
            sender: { bumpAfterMs: 1_000, waitMs: 90_000, backoffCapMs: 1_000 },
          }),
        );
        configs.push(["layer", "run", "--config", config]);
      }
    }
    for (const e of file.edges) {
      const config = join(dir, `edge-${e.address.split("/").pop()}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          layers: join(out, "layers.json"),
          edge: e.address,
          listen: { port: Number(new URL(urls.edges[e.address]!).port) },
          network: urls,
        }),
      );
      configs.push(["edge", "run", "--config", config]);
    }
    processes.push(...(await Promise.all(configs.map((args) => startService(args, { env })))));
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop(5_000)));
    await Promise.all([city, districts].filter((c) => c !== undefined).map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("completes a contract once when the districts' chain is stopped mid-contract and started again", async () => {
    const opened = await open("green for 20 s");
    expect(opened.hops.map((h) => h.outcome)).to.deep.equal(["opened", "opened", "opened"]);

    // The districts' chain stops; the light's reply enters district B, which cannot read or write its ledger.
    await districts.halt();
    const retriesBefore = await metric(DISTRICT_B, "strata_layer_packet_retries_total");
    const replying = follow(EDGE_B, opened, "granted");
    replying.catch(() => undefined); // awaited below
    await until(async () => (await metric(DISTRICT_B, "strata_layer_packet_retries_total")) > retriesBefore + 2);
    const health = await Promise.all(urls.layers[DISTRICT_B]!.map((u) => fetch(`${u}/healthz`).then((r) => r.status)));
    expect(health).to.include(503);
    expect(await metric(DISTRICT_B, "strata_layer_rpc_errors_total")).to.be.above(0);

    // Back with the same state: the waiting packet goes on, once.
    await districts.restart();
    const reply = await replying;
    expect(reply.hops.map((h) => h.outcome)).to.deep.equal(["recorded", "recorded", "recorded"]);
    expect(reply.delivery!.object.uuid).to.equal(`${EDGE_A}#1`);

    const last = await follow(EDGE_A, reply, "paid", true);
    expect(last.hops.map((h) => [h.outcome, h.accomplished])).to.deep.equal([
      ["recorded", true],
      ["recorded", true],
      ["recorded", true],
    ]);
    await recordedOnce({ ...opened, hops: [opened.hops[0]!, opened.hops[1]!, opened.hops[2]!] }, [
      opened.summary,
      reply.summary,
      last.summary,
    ]);
    const healthy = await Promise.all(
      urls.layers[DISTRICT_B]!.map((u) => requestJson<{ ok: boolean; queue: number }>(`${u}/healthz`)),
    );
    expect(healthy.map((h) => [h.ok, h.queue])).to.deep.equal(Array.from({ length: SIZE }, () => [true, 0]));
  });

  it("replaces a ledger write not mined in time with higher fees, and it is mined once", async () => {
    const bumpsBefore = await metric(DISTRICT_A, "strata_layer_sender_fee_bumps_total");
    const offered = await districts.provider.getFeeData();
    await districts.provider.send("evm_setAutomine", [false]);
    try {
      const opening = open("green for 5 s");
      await until(async () => (await metric(DISTRICT_A, "strata_layer_sender_fee_bumps_total")) > bumpsBefore);
      await districts.provider.send("evm_setAutomine", [true]);
      await districts.provider.send("evm_mine", []);
      const opened = await opening;
      expect(opened.hops.map((h) => h.outcome)).to.deep.equal(["opened", "opened", "opened"]);
      await recordedOnce(opened, [opened.summary]);
      // The write that opened district A's block is a replacement: it pays more than the fees first offered.
      const mined = await districts.provider.getTransaction(opened.hops[0]!.txHash!);
      expect(mined!.maxFeePerGas! > offered.maxFeePerGas!, "a replacement's fees").to.equal(true);
      const queues = await metric(DISTRICT_A, "strata_layer_sender_queue_depth");
      expect(queues).to.equal(0);
    } finally {
      await districts.provider.send("evm_setAutomine", [true]);
    }
  });
});
