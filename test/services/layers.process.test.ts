/**
 * Seed 003's layers as separate processes over real HTTP and two real chains:
 * district A and district B on `hardhat node`, the city on anvil (chain
 * 31338), four members per layer (`strata layer run`), and the two edge
 * layers' central nodes (`strata edge run`), all established by `strata layer
 * establish`. A contract from a van in district A to a traffic light in
 * district B is opened, answered and ended through the three layers; the
 * responsible member of district A's block is killed (SIGKILL) mid-contract,
 * its peers take the block over, it restarts on the same files, and the
 * contract completes once. Malformed and oversized packets get typed error
 * answers and change nothing.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type JsonRpcProvider } from "ethers";

import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { minSig } from "../../sdk/core/crypto/bls.ts";
import { challengeDigest } from "../../sdk/core/layers/contract.ts";
import { SummaryLedgerClient } from "../../sdk/contracts/ledger.ts";
import { verifyBundle } from "../../sdk/contracts/bundle.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { type ServiceProcess, startService } from "../../services/runtime/process.ts";
import type { LayersFile } from "../../services/layers/layout.ts";
import type { DeliveryJson, HopJson, PacketJson, TransmissionJson } from "../../services/layers/wire.ts";
import { freePort, type NodeProcess, startAnvil, startHardhatNode } from "../../support/node-process.ts";
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
  readonly stoppedAt?: HopJson;
}

const utf8 = (text: string): Hex => toHex(new TextEncoder().encode(text));

/** The typed error answer a call gets (fails the test when it succeeds). */
async function refusal(work: Promise<unknown>): Promise<{ name: string; reason?: string }> {
  const outcome = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (outcome === undefined) throw new Error("expected a refusal, got success");
  const e = outcome as { name: string; reason?: string };
  return { name: e.name, ...(e.reason === undefined ? {} : { reason: e.reason }) };
}

describe("layer and edge node services (processes, hardhat node + anvil)", function () {
  this.timeout(240_000);

  const dir = mkdtempSync(join(tmpdir(), "strata-layers-"));
  const out = join(dir, "layers");
  const env = { ...process.env, STRATA_PASSPHRASE: PASSPHRASE, STRATA_LOG_LEVEL: "warn" };
  const chains: NodeProcess[] = [];
  /** Member processes by layer address and index; edge processes by address. */
  const members = new Map<string, (ServiceProcess | undefined)[]>();
  const edges = new Map<string, ServiceProcess>();
  const configs = new Map<string, string>();
  let file: LayersFile;
  let urls: { layers: Record<string, string[]>; edges: Record<string, string> };
  let hardhat: NodeProcess;
  let anvil: NodeProcess;

  const layerOf = (address: string) => file.layers.find((l) => l.address === address)!;
  const ledgerOf = (address: string): SummaryLedgerClient => {
    const l = layerOf(address);
    const provider: JsonRpcProvider = l.chainId === "31338" ? anvil.provider : hardhat.provider;
    return new SummaryLedgerClient(l.ledger, provider);
  };
  const heights = async () => [await hardhat.provider.getBlockNumber(), await anvil.provider.getBlockNumber()];
  const startMember = async (address: string, index: number) =>
    startService(["layer", "run", "--config", configs.get(`${address}#${index}`)!], { env });

  before(async function () {
    this.timeout(300_000);
    [hardhat, anvil] = await Promise.all([startHardhatNode(), startAnvil(31338n)]);
    chains.push(hardhat, anvil);
    const strata = strataIn(dir);
    const imported = await strata(["key", "import", "deployer"], { STRATA_PRIVATE_KEY: ANVIL_KEYS[0] });
    expect(imported.code, imported.stderr).to.equal(0);
    const plan = {
      fundEth: "10",
      layers: [
        { address: CITY, rpc: anvil.url, members: SIZE },
        {
          address: DISTRICT_A,
          rpc: hardhat.url,
          members: SIZE,
          superior: CITY,
          edges: [
            {
              address: EDGE_A,
              objects: [{ classPath: "Vehicle/Car", permissions: 1, description: "delivery van 17" }],
            },
          ],
        },
        {
          address: DISTRICT_B,
          rpc: hardhat.url,
          members: SIZE,
          superior: CITY,
          edges: [
            {
              address: EDGE_B,
              objects: [{ classPath: "Infrastructure/TrafficLight", permissions: 1, description: "crossing 9" }],
            },
          ],
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

    // Fixed ports, so a member restarts where its peers reach it.
    urls = { layers: {}, edges: {} };
    for (const l of file.layers) {
      urls.layers[l.address] = [];
      for (let i = 0; i < SIZE; i++) urls.layers[l.address]!.push(`http://127.0.0.1:${await freePort()}`);
    }
    for (const e of file.edges) urls.edges[e.address] = `http://127.0.0.1:${await freePort()}`;
    for (const l of file.layers) {
      for (let i = 0; i < SIZE; i++) {
        const config = join(dir, `member-${l.address.split("/").pop()}-${i}.json`);
        const port = Number(new URL(urls.layers[l.address]![i]!).port);
        writeFileSync(
          config,
          JSON.stringify({
            layers: join(out, "layers.json"),
            layer: l.address,
            index: i,
            listen: { port },
            network: { layers: urls.layers },
            // One member of district B examines its peers and the city at random intervals.
            ...(l.address === DISTRICT_B && i === 0 ? { examineEveryMs: 1_000 } : {}),
          }),
        );
        configs.set(`${l.address}#${i}`, config);
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
      configs.set(e.address, config);
    }
    const started = await Promise.all([
      ...file.layers.flatMap((l) => Array.from({ length: SIZE }, (_, i) => startMember(l.address, i))),
      ...file.edges.map((e) => startService(["edge", "run", "--config", configs.get(e.address)!], { env })),
    ]);
    for (const l of file.layers) members.set(l.address, started.splice(0, SIZE));
    for (const e of file.edges) edges.set(e.address, started.shift()!);
  });

  after(async () => {
    const all = [...[...members.values()].flat(), ...edges.values()].filter((p) => p !== undefined);
    await Promise.all(all.map((p) => p.stop(5_000)));
    await Promise.all(chains.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const edgeUrl = (address: string) => urls.edges[address]!;
  const memberUrl = (address: string, index: number) => urls.layers[address]![index]!;

  it("establishes the layers: one sealed key file per member, each layer's ledger on its own chain", () => {
    expect(file.layers.map((l) => [l.address, l.chainId])).to.deep.equal([
      [CITY, "31338"],
      [DISTRICT_A, "31337"],
      [DISTRICT_B, "31337"],
    ]);
    const keyFiles = file.layers.flatMap((l) => l.members.map((m) => m.keyFile));
    expect(new Set(keyFiles).size).to.equal(3 * SIZE);
    const sealed = JSON.parse(readFileSync(join(out, keyFiles[0]!), "utf8")) as Record<string, unknown>;
    expect(sealed).to.have.keys(["version", "kdf", "cipher", "ciphertext"]);
    for (const m of members.values()) for (const p of m) expect(p!.ready).to.include({ service: "layer" });
  });

  let opened: RouteAnswer;

  it("routes a contract's first message through district A, the city and district B on two chains", async () => {
    opened = await requestJson<RouteAnswer>(`${edgeUrl(EDGE_A)}/contracts/open`, {
      body: { from: "1", to: `${EDGE_B}#1`, body: utf8("green for 20 s"), route: ROUTE },
      timeoutMs: 120_000,
    });
    expect(opened.hops.map((h) => [h.outcome, h.chainId])).to.deep.equal([
      ["opened", "31337"],
      ["opened", "31338"],
      ["opened", "31337"],
    ]);
    expect(opened.delivery!.object.uuid).to.equal(`${EDGE_B}#1`);
    expect(opened.delivery!.renewal).to.equal(false);
    for (const [k, address] of ROUTE.entries()) {
      const proof = await ledgerOf(address).proof(opened.hops[k]!.blockId);
      expect(proof!.summaries.map((s) => s.summary)).to.deep.equal([opened.summary]);
    }
  });

  it("routes five contracts at once, each opened once in every layer (one sender per member account)", async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        requestJson<RouteAnswer>(`${edgeUrl(EDGE_A)}/contracts/open`, {
          body: { from: "1", to: `${EDGE_B}#1`, body: utf8(`green for ${k + 1} s`), route: ROUTE },
          timeoutMs: 120_000,
        }),
      ),
    );
    // Five routes over four members: one member of each layer handles two packets at the same time.
    for (const a of answers) {
      expect(a.hops.map((h) => h.outcome)).to.deep.equal(["opened", "opened", "opened"]);
      expect(a.delivery!.object.uuid).to.equal(`${EDGE_B}#1`);
    }
    expect(new Set(answers.map((a) => a.hops[0]!.node)).size).to.equal(SIZE);
    for (const [k, address] of ROUTE.entries()) {
      const blocks = new Set(answers.map((a) => a.hops[k]!.blockId));
      expect(blocks.size).to.equal(5);
      for (const a of answers) {
        const proof = await ledgerOf(address).proof(a.hops[k]!.blockId);
        expect(proof!.summaries.map((x) => x.summary)).to.deep.equal([a.summary]);
      }
    }
  });

  it("answers malformed, oversized and forged packets with typed errors, and nothing changes", async () => {
    const before = await heights();
    const member = memberUrl(DISTRICT_A, 2);
    const good = opened.transmission;
    const bad = { transmission: { packet: { ...good.packet, time: "soon" } } };
    expect(await refusal(requestJson(`${member}/packets`, { body: bad }))).to.include({ name: "InvalidInputError" });
    const extra = { transmission: { ...good, extra: 1 } };
    expect(await refusal(requestJson(`${member}/packets`, { body: extra }))).to.include({ name: "InvalidInputError" });
    const huge = { transmission: { packet: { ...good.packet, message: `0x${"ab".repeat(300_000)}` } } };
    expect(await refusal(requestJson(`${member}/packets`, { body: huge }))).to.include({
      name: "PayloadTooLargeError",
    });
    // The van's packet with another message under the same signature: refused by statement 1.
    const forged = { ...good, packet: { ...good.packet, message: utf8("green for 600 s"), time: good.packet.time } };
    const summaryForged = await refusal(requestJson(`${member}/packets`, { body: { transmission: forged } }));
    expect(summaryForged.name).to.be.oneOf(["PacketError", "LayerError"]);
    const resigned = { ...good, edgeSignature: `0x${"11".repeat(64)}1b` };
    expect(await refusal(requestJson(`${member}/packets`, { body: { transmission: resigned } }))).to.include({
      name: "LayerError",
      reason: "bad-source",
    });
    // The delivered packet sent to the receiving edge again: the replay alarm, not a second delivery.
    const delivered: TransmissionJson = { packet: opened.delivery!.packet };
    expect(await refusal(requestJson(`${edgeUrl(EDGE_B)}/packets`, { body: { transmission: delivered } }))).to.include({
      name: "LayerError",
      reason: "replayed",
    });
    expect(await refusal(requestJson(`${edgeUrl(EDGE_A)}/contracts/open`, { body: { from: "1" } }))).to.include({
      name: "InvalidInputError",
    });
    expect(await heights()).to.deep.equal(before);
    const metrics = await (await fetch(`${member}/metrics`)).text();
    expect(metrics).to.match(/strata_layer_rejections_total\{reason="bad-source",service="layer"\} [1-9]/);
  });

  it("completes the contract once when district A's responsible node is killed mid-contract and restarts", async () => {
    const blockA = opened.hops[0]!.blockId;
    const responsible = opened.hops[0]!.node.toLowerCase();
    const index = layerOf(DISTRICT_A).members.findIndex((m) => m.node.toLowerCase() === responsible);
    expect(index).to.be.at.least(0);
    await members.get(DISTRICT_A)![index]!.kill();
    members.get(DISTRICT_A)![index] = undefined;

    // The light answers: the reply crosses district B, the city and district A, where another member takes the block over.
    const reply = await requestJson<RouteAnswer>(`${edgeUrl(EDGE_B)}/contracts/follow`, {
      body: { last: opened.delivery!.packet, from: "1", body: utf8("granted") },
      timeoutMs: 120_000,
    });
    expect(reply.hops.map((h) => [h.outcome, h.chainId])).to.deep.equal([
      ["recorded", "31337"],
      ["recorded", "31338"],
      ["recorded", "31337"],
    ]);
    expect(reply.hops[2]!.tookOverFrom?.toLowerCase()).to.equal(responsible);
    expect(reply.hops[2]!.node.toLowerCase()).to.not.equal(responsible);
    expect((await ledgerOf(DISTRICT_A).getBlock(blockA))!.responsible.toLowerCase()).to.equal(
      reply.hops[2]!.node.toLowerCase(),
    );
    expect(reply.delivery!.object.uuid).to.equal(`${EDGE_A}#1`);

    // Restarted on the same files and port: it takes P again and hands it to the new responsible node.
    members.get(DISTRICT_A)![index] = await startMember(DISTRICT_A, index);
    const health = await requestJson<{ ok: boolean }>(`${memberUrl(DISTRICT_A, index)}/healthz`);
    expect(health.ok).to.equal(true);

    // The van pays and ends the contract.
    const last = await requestJson<RouteAnswer>(`${edgeUrl(EDGE_A)}/contracts/follow`, {
      body: { last: reply.delivery!.packet, from: "1", body: utf8("paid"), ending: true },
      timeoutMs: 120_000,
    });
    expect(last.hops.map((h) => [h.outcome, h.accomplished])).to.deep.equal([
      ["recorded", true],
      ["recorded", true],
      ["recorded", true],
    ]);
    expect(last.delivery!.object.uuid).to.equal(`${EDGE_B}#1`);

    // Each ledger holds the contract's three summaries once, in one block, accomplished.
    const summaries = [opened.summary, reply.summary, last.summary];
    for (const [k, address] of ROUTE.entries()) {
      const proof = await ledgerOf(address).proof(opened.hops[k]!.blockId);
      expect(proof!.summaries.map((s) => s.summary)).to.deep.equal(summaries);
      expect(proof!.block.accomplished).to.equal(true);
    }
    // The ending message is verifiable from its proof bundle against district B's ledger on its chain.
    const ledgerB = ledgerOf(DISTRICT_B);
    const packet: PacketJson = last.transmission.packet;
    const bundle = await ledgerB.proofBundle(opened.hops[2]!.blockId, last.summary, {
      message: new Uint8Array(Buffer.from(packet.message.slice(2), "hex")),
      time: BigInt(packet.time),
    });
    const verdict = await verifyBundle(bundle, {
      provider: hardhat.provider,
      trusted: { SummaryLedger: ledgerB.address },
      confirmations: 1,
    });
    expect(verdict.state, JSON.stringify(verdict.checks)).to.equal("final");

    // Each edge delivered each message once: edge B the six first messages and the last, edge A the reply.
    const deliveries = async (address: string) =>
      /strata_layer_deliveries_total\{service="edge"\} (\d+)/.exec(
        await (await fetch(`${edgeUrl(address)}/metrics`)).text(),
      )?.[1];
    expect([await deliveries(EDGE_A), await deliveries(EDGE_B)]).to.deep.equal(["1", "7"]);

    // The contract is closed: the last packet sent again is refused everywhere, nothing written.
    const before = await heights();
    const again = await refusal(
      requestJson(`${edgeUrl(EDGE_B)}/packets`, { body: { transmission: { packet: last.delivery!.packet } } }),
    );
    expect(again.name).to.equal("LayerError");
    const reenter = await refusal(
      requestJson(`${memberUrl(DISTRICT_A, index)}/packets`, { body: { transmission: last.transmission } }),
    );
    expect(reenter).to.include({ name: "LayerError", reason: "closed" });
    expect(await heights()).to.deep.equal(before);
  });

  it("answers a self-examination challenge over HTTP with the key its ledger registered", async () => {
    const city = layerOf(CITY);
    const member = city.members[1]!;
    const nonce = randomBytes(32);
    const { signature } = await requestJson<{ signature: Hex }>(`${memberUrl(CITY, 1)}/peer/answer`, {
      body: { nonce: toHex(nonce) },
    });
    const digest = challengeDigest(city.layerId, city.ledger, 31338n, 1, nonce);
    const bls = minSig(await mclBackend());
    expect(bls.verify(fromHex(member.publicKey, "key"), digest, fromHex(signature, "signature"))).to.equal(true);
    const registered = await ledgerOf(CITY).member(1);
    expect(registered.node.toLowerCase()).to.equal(member.node.toLowerCase());
    const short = await refusal(
      requestJson(`${memberUrl(CITY, 1)}/peer/answer`, { body: { nonce: toHex(nonce.subarray(1)) } }),
    );
    expect(short).to.include({ name: "InvalidInputError" });
  });

  it("stops on SIGTERM with exit 0 (a graceful shutdown)", async () => {
    const city = members.get(CITY)!;
    expect(await city[3]!.stop()).to.equal(0);
    city[3] = undefined;
  });

  it("examines the city over HTTP, and raises the superior-lost alarm once none of its members answers", async () => {
    const examiner = `${memberUrl(DISTRICT_B, 0)}/metrics`;
    const counter = async (labels: string) => {
      const text = await (await fetch(examiner)).text();
      const line = text.split("\n").find((l) => l.startsWith(`strata_layer_${labels}`));
      return Number(line?.split(" ").pop() ?? 0);
    };
    const until = async (check: () => Promise<boolean>) => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 200));
    };
    // Rounds find the city answering (three of its four members run).
    await until(async () => (await counter('examinations_total{target="superior",status="reachable"')) >= 1);
    expect(await ledgerOf(DISTRICT_B).isSuperiorFrozen()).to.equal(false);
    const city = members.get(CITY)!;
    await Promise.all(city.filter((p) => p !== undefined).map((p) => p.stop()));
    city.fill(undefined);
    // The examiner finds no city member answering; its peers examine the city themselves and sign the alarm.
    await until(async () => (await counter('alarms_total{kind="superior-lost"')) >= 1);
    expect(await ledgerOf(DISTRICT_B).isSuperiorFrozen()).to.equal(true);
  });

  it("refuses to start when its chain is down: one typed line, a non-zero exit", async () => {
    const config = join(dir, "down.json");
    const layers = join(out, "layers.json");
    const changed = JSON.parse(readFileSync(layers, "utf8")) as LayersFile;
    const broken = {
      ...changed,
      layers: changed.layers.map((l) => (l.address === CITY ? { ...l, rpc: `http://127.0.0.1:${1}` } : l)),
    };
    writeFileSync(join(out, "layers-down.json"), JSON.stringify(broken));
    writeFileSync(
      config,
      JSON.stringify({ layers: join(out, "layers-down.json"), layer: CITY, index: 0, listen: { port: 0 } }),
    );
    const run = await strataIn(dir)(["layer", "run", "--config", config]);
    expect(run.code).to.equal(4);
    expect(run.stderr.trim().split("\n")).to.have.length(1);
    expect(run.stderr).to.match(
      /^error: the chain at http:\/\/127\.0\.0\.1:1 does not answer: no JSON-RPC node answers.*\(TransportError\)$/m,
    );
  });
});
