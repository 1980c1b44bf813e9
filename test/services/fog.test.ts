/**
 * The fog cluster as services (seed 004, issue 15), in separate processes over real sockets: a
 * hardhat node, five `strata fog run` members (3 of 5; member 1 coordinates and runs the embedded
 * MQTT broker) and `strata sim sensors` publishing a sensor district. The sensitive readings are
 * anchored in `DataAnchor` by a group signature the members' shares made over HTTP; they are served
 * only on an access request holding a real on-chain access token; the open store answers over
 * HTTP; malformed and oversized messages over HTTP and MQTT are refused with typed errors or
 * dropped and counted, and change nothing stored.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";
import { Wallet } from "ethers";
import mqtt from "mqtt";

import { AccessDeniedError, InvalidInputError, PeerAuthenticationError } from "../../sdk/errors.ts";
import { MAX_READING_BYTES } from "../../services/fog/wire.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { startService, type ServiceProcess, STRATA_BIN } from "../../services/runtime/process.ts";
import { freePort, type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import {
  batchesOf,
  dealFiles,
  deployFogChain,
  type FogChain,
  metricOf,
  openOf,
  PASSPHRASE,
  publishedLog,
  registerDealtCluster,
  sensitiveOf,
  serviceEnv,
  simulate,
  switchableProxy,
  until,
  verifyAll,
  writeConfigs,
  writeSensorsFile,
} from "../helpers/fog-services.ts";

describe("fog cluster services (process)", function () {
  this.timeout(180_000);
  let node: NodeProcess;
  let chain: FogChain;
  let dir: string;
  let members: ServiceProcess[] = [];
  let urls: string[] = [];
  let broker: string;
  let proxy: Awaited<ReturnType<typeof switchableProxy>> | undefined;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-fog-services-"));
    node = await startHardhatNode();
    chain = await deployFogChain(node.url, node.provider, 5, 4);
    await dealFiles(dir, 3, 5);
    await registerDealtCluster(chain, dir);
    const ports = [];
    for (let i = 0; i < 5; i++) ports.push(await freePort());
    const mqttPort = await freePort();
    const configs = await writeConfigs(chain, dir, ports, { embedded: { host: "127.0.0.1", port: mqttPort } });
    // the coordinator reads the chain through a proxy a test takes down
    proxy = await switchableProxy(node.url);
    const coordinatorConfig = JSON.parse(readFileSync(configs[0]!, "utf8")) as { chain: { rpc: string } };
    coordinatorConfig.chain.rpc = proxy.url;
    Object.assign(coordinatorConfig.chain, { anchorTimeoutMs: 1000, maxReplacements: 3 });
    writeFileSync(configs[0]!, JSON.stringify(coordinatorConfig));
    // the last sensor publishes only in the chain-down test: the coordinator has never looked it up
    writeSensorsFile(join(dir, "sensors.sealed"), chain.sensors.slice(0, 3));
    writeSensorsFile(join(dir, "late.sealed"), chain.sensors.slice(3));
    members = await Promise.all(configs.map((c) => startService(["fog", "run", "--config", c], { env: serviceEnv() })));
    urls = members.map((m) => m.ready.url as string);
    broker = members[0]!.ready.mqtt as string;
    expect(broker).to.equal(`mqtt://127.0.0.1:${mqttPort}`);
  });

  after(async function () {
    await Promise.all(members.map((m) => m.stop()));
    await proxy?.close();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rejected(p: Promise<unknown>): Promise<Error> {
    try {
      await p;
    } catch (e) {
      return e as Error;
    }
    throw new Error("expected a refusal");
  }

  it("anchors a sensor district's sensitive readings with the cluster's shares, served only with an on-chain token", async function () {
    const sim = await simulate(dir, broker, 6);
    expect(await sim.exited).to.equal(0);
    const log = publishedLog(dir);
    expect(log).to.have.length(18);
    const sensitive = log.filter((r) => r.sensitive);
    expect(sensitive.length).to.be.greaterThan(0);
    const { asks } = await verifyAll(chain, urls[0]!, log);

    // the open store's query API: by device
    const one = chain.sensors[0]!.id.toLowerCase();
    const byDevice = await openOf(urls[0]!, `device=${one}`);
    expect(byDevice.map((r) => r.seq)).to.deep.equal(
      log.filter((r) => !r.sensitive && r.device.toLowerCase() === one).map((r) => r.seq),
    );

    // a read with the holder's request is served once; a replay or a signer without the token are refused
    const body = await asks[0]!();
    expect((await sensitiveOf(urls[0]!, body)).length).to.be.greaterThan(0);
    const replay = await rejected(sensitiveOf(urls[0]!, body));
    expect(replay).to.be.instanceOf(AccessDeniedError);
    expect((replay as AccessDeniedError).reason).to.equal("replay");
    const stranger = await rejected(
      sensitiveOf(urls[0]!, await asks[0]!(new Wallet(Wallet.createRandom().privateKey))),
    );
    expect(stranger).to.be.instanceOf(AccessDeniedError);
    expect((stranger as AccessDeniedError).reason).to.equal("not-holder");

    expect(await metricOf(urls[0]!, "strata_fog_readings_filtered_total", 'class="sensitive"')).to.equal(
      sensitive.length,
    );
    expect(await metricOf(urls[0]!, "strata_fog_readings_filtered_total", 'class="normal"')).to.equal(
      log.length - sensitive.length,
    );
    expect(await metricOf(urls[0]!, "strata_fog_batches_anchored_total")).to.equal((await batchesOf(urls[0]!)).length);
    expect((await requestJson<{ ok: boolean }>(`${urls[0]}/healthz`)).ok).to.equal(true);
  });

  it("refuses malformed, oversized and unauthenticated requests with typed errors, changing nothing", async function () {
    const before = (await openOf(urls[0]!)).length;
    const batchesBefore = (await batchesOf(urls[0]!)).length;
    // not the schema: refused before any cryptography
    const bad = await rejected(requestJson(`${urls[1]}/cluster/endorse`, { method: "POST", body: { hello: 1 } }));
    expect(bad).to.be.instanceOf(InvalidInputError);
    const badQuery = await rejected(requestJson(`${urls[0]}/open?device=0x12`));
    expect(badQuery).to.be.instanceOf(InvalidInputError);
    const badAccess = await rejected(requestJson(`${urls[0]}/sensitive`, { method: "POST", body: { request: {} } }));
    expect(badAccess).to.be.instanceOf(InvalidInputError);
    // over the body limit
    const big = await fetch(`${urls[0]}/sensitive`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(64 * 1024) }),
    });
    expect(big.status).to.equal(413);
    expect(((await big.json()) as { error: { message: string } }).error.message).to.match(/over/);
    // well formed, but not signed by a member's share, or by no member at all
    const proposal = {
      cluster: chain.cluster.id.toLowerCase(),
      sequence: "1",
      root: `0x${"11".repeat(32)}`,
      leafCount: 1,
      readings: ["0x00"],
      ids: [1],
      proposer: 1,
    };
    const forged = {
      auth: { member: 1, to: 2, time: Date.now(), nonce: `0x${"22".repeat(16)}`, signature: `0x${"a0".repeat(48)}` },
      payload: proposal,
    };
    const e1 = await rejected(requestJson(`${urls[1]}/cluster/endorse`, { method: "POST", body: forged }));
    expect(e1).to.be.instanceOf(PeerAuthenticationError);
    expect((e1 as PeerAuthenticationError).reason).to.equal("bad-signature");
    const stranger = { ...forged, auth: { ...forged.auth, member: 9 } };
    const e2 = await rejected(requestJson(`${urls[1]}/cluster/endorse`, { method: "POST", body: stranger }));
    expect(e2).to.be.instanceOf(PeerAuthenticationError);
    expect((e2 as PeerAuthenticationError).reason).to.equal("unknown-device");
    // a request for member 3 sent to member 2 (a replay to another member) is refused before the signature
    const elsewhere = { ...forged, auth: { ...forged.auth, to: 3 } };
    const e3 = await rejected(requestJson(`${urls[1]}/cluster/endorse`, { method: "POST", body: elsewhere }));
    expect(e3).to.be.instanceOf(PeerAuthenticationError);
    expect((e3 as PeerAuthenticationError).reason).to.equal("wrong-verifier");

    // over MQTT: garbage, an oversized message and a reading on another device's topic are dropped and counted
    const rejections = async () =>
      Object.fromEntries(
        await Promise.all(
          ["malformed", "oversized", "wrong-topic", "replay"].map(
            async (reason) =>
              [reason, await metricOf(urls[0]!, "strata_fog_readings_rejected_total", `reason="${reason}"`)] as const,
          ),
        ),
      );
    const rejectedBefore = await rejections();
    const client = await mqtt.connectAsync(broker, { clientId: "strata-test-bad-publisher" });
    const device = chain.sensors[0]!.id.toLowerCase();
    await client.publishAsync(`strata/readings/${device}`, Buffer.from("not a reading"), { qos: 1 });
    await client.publishAsync(`strata/readings/${device}`, Buffer.alloc(MAX_READING_BYTES + 1, 7), { qos: 1 });
    const someReading = Buffer.from((await openOf(urls[0]!, "limit=1"))[0]!.reading.slice(2), "hex");
    const owner = `0x${someReading.subarray(1, 33).toString("hex")}`;
    const other = chain.sensors.find((x) => x.id.toLowerCase() !== owner)!.id.toLowerCase();
    await client.publishAsync(`strata/readings/${other}`, someReading, { qos: 1 });
    // a reading stored before, sent again: a replay
    await client.publishAsync(`strata/readings/${owner}`, someReading, { qos: 1 });
    await client.endAsync();
    await until(async () => (await rejections()).replay! > rejectedBefore.replay!);
    const rejectedAfter = await rejections();
    expect(rejectedAfter).to.deep.equal({
      malformed: rejectedBefore.malformed! + 1,
      oversized: rejectedBefore.oversized! + 1,
      "wrong-topic": rejectedBefore["wrong-topic"]! + 1,
      replay: rejectedBefore.replay! + 1,
    });
    expect(await openOf(urls[0]!)).to.have.length(before);
    expect(await batchesOf(urls[0]!)).to.have.length(batchesBefore);
  });

  it("keeps readings the chain cannot judge while its node is down, and files them once it is back", async function () {
    const url = urls[0]!;
    const openBefore = (await openOf(url)).length;
    const retriedBefore = await metricOf(url, "strata_fog_readings_retried_total");
    proxy!.down = true;
    // a sensor the coordinator never looked up: its readings need the registry
    const sim = await simulate(dir, broker, 4, 20, join(dir, "late.sealed"));
    expect(await sim.exited).to.equal(0); // acknowledged: in the inbox
    await until(async () => (await metricOf(url, "strata_fog_readings_retried_total")) > retriedBefore);
    expect(await metricOf(url, "strata_fog_inbox_depth")).to.be.greaterThan(0);
    expect(await openOf(url)).to.have.length(openBefore);
    proxy!.down = false;
    await until(async () => (await metricOf(url, "strata_fog_inbox_depth")) === 0);
    await verifyAll(chain, url, publishedLog(dir));
  });

  it("replaces an anchoring transaction left unmined with higher fees, and anchors the batch once", async function () {
    const url = urls[0]!;
    await until(async () => (await metricOf(url, "strata_fog_inbox_depth")) === 0);
    const batchesBefore = (await batchesOf(url)).length;
    await node.provider.send("evm_setAutomine", [false]);
    try {
      const sim = await simulate(dir, broker, 2, 20, join(dir, "late.sealed"), 1);
      expect(await sim.exited).to.equal(0);
      await until(async () => (await metricOf(url, "strata_fog_anchor_replacements_total")) >= 1);
    } finally {
      await node.provider.send("evm_setAutomine", [true]);
    }
    await node.provider.send("evm_mine", []);
    await verifyAll(chain, url, publishedLog(dir));
    expect((await batchesOf(url)).length).to.be.greaterThan(batchesBefore);
  });

  it("refuses a bad configuration, a wrong passphrase and a second dealing with one line each, and stops on SIGTERM", async function () {
    const run = async (args: string[], passphrase = PASSPHRASE) => {
      try {
        await promisify(execFile)(process.execPath, [STRATA_BIN, ...args], {
          env: { ...process.env, STRATA_PASSPHRASE: passphrase },
        });
        return { code: 0, stderr: "" };
      } catch (e) {
        return e as { code: number; stderr: string };
      }
    };
    const good = JSON.parse(readFileSync(join(dir, "fog-5.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ ...good, bogus: 1 }));
    const bad = await run(["fog", "run", "--config", join(dir, "bad.json")]);
    expect(bad.code).to.equal(3);
    expect(bad.stderr).to.include("bad.json").and.include("/bogus");
    writeFileSync(join(dir, "typo.json"), JSON.stringify({ ...good, batch: { max: "many" } }));
    const typo = await run(["fog", "run", "--config", join(dir, "typo.json")]);
    expect(typo.code).to.equal(3);
    expect(typo.stderr).to.include("/batch/max");
    const wrong = await run(["fog", "run", "--config", join(dir, "fog-5.json")], "not the passphrase");
    expect(wrong.code).to.equal(3);
    expect(wrong.stderr).to.include("member-5.sealed");
    const before = readFileSync(join(dir, "member-1.sealed"), "utf8");
    const again = await run(["fog", "deal", "--out", dir, "--members", "5", "--threshold", "3"]);
    expect(again.code).to.equal(3);
    expect(readFileSync(join(dir, "member-1.sealed"), "utf8")).to.equal(before);
    // a member stops gracefully: exit 0
    expect(await members[4]!.stop()).to.equal(0);
  });
});
