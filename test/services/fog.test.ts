/**
 * The fog cluster as services (seed 004, issue 15), in separate processes over real sockets: a
 * hardhat node, five `strata fog run` members (3 of 5; member 1 coordinates and runs the embedded
 * MQTT broker) and `strata sim sensors` publishing a sensor district. The sensitive readings are
 * anchored in `DataAnchor` by a group signature the members' shares made over HTTP; they are served
 * only on an access request holding a real on-chain access token; the open store answers over
 * HTTP; malformed and oversized messages over HTTP and MQTT are refused with typed errors or
 * dropped and counted, and change nothing stored.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { Wallet } from "ethers";
import mqtt from "mqtt";

import { accessScope, newAccessRequest } from "../../sdk/core/access.ts";
import type { Hex } from "../../sdk/core/bytes.ts";
import { batchTree } from "../../sdk/core/fog/reading-bytes.ts";
import { AccessTokensClient } from "../../sdk/contracts/access.ts";
import { AccessDeniedError, InvalidInputError, PeerAuthenticationError } from "../../sdk/errors.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { startService, type ServiceProcess } from "../../services/runtime/process.ts";
import { freePort, type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import {
  dealFiles,
  deployFogChain,
  type FogChain,
  PASSPHRASE,
  registerDealtCluster,
  writeConfigs,
  writeSensorsFile,
} from "../helpers/fog-services.ts";

const SCOPE = accessScope("read:sensitive@fog-cluster");
const env = { ...process.env, STRATA_PASSPHRASE: PASSPHRASE };

interface Served {
  readonly id: number;
  readonly device: Hex;
  readonly seq: number;
  readonly reading: Hex;
}

/** Waits until `check` holds, polling (no deadline of its own: the test's timeout is the bound). */
async function until(check: () => Promise<boolean>, everyMs = 200): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, everyMs));
}

/** A metric's value from a Prometheus text (0 when absent). */
function metric(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

describe("fog cluster services (process)", function () {
  this.timeout(180_000);
  let node: NodeProcess;
  let chain: FogChain;
  let dir: string;
  let members: ServiceProcess[] = [];
  let urls: string[] = [];
  let broker: string;
  let log: { device: Hex; seq: number; sensitive: boolean }[] = [];

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-fog-services-"));
    node = await startHardhatNode();
    chain = await deployFogChain(node.url, node.provider, 5, 3);
    await dealFiles(dir, 3, 5);
    await registerDealtCluster(chain, dir);
    const ports = [];
    for (let i = 0; i < 5; i++) ports.push(await freePort());
    const mqttPort = await freePort();
    const configs = await writeConfigs(chain, dir, ports, { embedded: { host: "127.0.0.1", port: mqttPort } });
    writeSensorsFile(join(dir, "sensors.sealed"), chain.sensors);
    members = await Promise.all(configs.map((c) => startService(["fog", "run", "--config", c], { env })));
    urls = members.map((m) => m.ready.url as string);
    broker = members[0]!.ready.mqtt as string;
    expect(broker).to.equal(`mqtt://127.0.0.1:${mqttPort}`);
  });

  after(async function () {
    await Promise.all(members.map((m) => m.stop()));
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the sensor simulator to its end: `count` readings per sensor. */
  async function simulate(count: number): Promise<void> {
    const sim = await startService(
      [
        "sim",
        "sensors",
        "--broker",
        broker,
        "--devices",
        join(dir, "sensors.sealed"),
        "--cluster",
        join(dir, "cluster.json"),
        "--owner",
        join(dir, "owner.sealed"),
        "--state",
        join(dir, "sim-state.json"),
        "--rate",
        "20",
        "--count",
        String(count),
        "--sensitive",
        "0.5",
        "--log",
        join(dir, "sim.jsonl"),
      ],
      { env },
    );
    expect(await sim.exited).to.equal(0);
    log = readFileSync(join(dir, "sim.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { device: Hex; seq: number; sensitive: boolean });
  }

  /** A holder's signed access request for `device`'s sensitive readings, with a token minted and a shift scheduled on chain. */
  async function accessFor(device: number, holder: Wallet) {
    const owner = chain.sensors[device]!;
    const tokens = new AccessTokensClient(chain.accessTokens, chain.admin); // the layer's operator owns its devices
    const { tokenId } = await tokens.mint(owner.id);
    const chainNow = BigInt((await chain.provider.getBlock("latest"))!.timestamp);
    await tokens.scheduleShift(tokenId, holder.address, chainNow, chainNow + 3600n);
    return async (signer: Wallet = holder) => {
      // requests are dated on the chain's clock, as the fog node judges them (hardhat's runs ahead)
      const pending = (await chain.provider.send("eth_getBlockByNumber", ["pending", false])) as { timestamp: string };
      const t = BigInt(pending.timestamp);
      const request = newAccessRequest({
        token: tokenId,
        resource: owner.id,
        requester: signer.address,
        issuedAt: t,
        expiresAt: t + 120n,
        scope: SCOPE,
      });
      const signature = await tokens.signAccessRequest(signer, request);
      return {
        request: {
          token: String(request.token),
          resource: request.resource,
          requester: request.requester,
          nonce: request.nonce,
          issuedAt: String(request.issuedAt),
          expiresAt: String(request.expiresAt),
          scope: request.scope,
        },
        signature,
        from: 0,
        to: Number.MAX_SAFE_INTEGER,
      };
    };
  }

  async function sensitiveOf(url: string, body: unknown): Promise<Served[]> {
    return (await requestJson<{ readings: Served[] }>(`${url}/sensitive`, { method: "POST", body })).readings;
  }

  async function rejected(p: Promise<unknown>): Promise<Error> {
    try {
      await p;
    } catch (e) {
      return e as Error;
    }
    throw new Error("expected a refusal");
  }

  it("anchors a sensor district's sensitive readings with the cluster's shares, served only with an on-chain token", async function () {
    await simulate(6);
    const sensitive = log.filter((r) => r.sensitive);
    const normal = log.filter((r) => !r.sensitive);
    expect(log).to.have.length(18);
    expect(sensitive.length).to.be.greaterThan(0);

    // the open store over HTTP holds every normal reading, once
    await until(async () => {
      const open = await requestJson<{ readings: Served[] }>(`${urls[0]}/open?limit=1000`);
      return open.readings.length >= normal.length;
    });
    const open = (await requestJson<{ readings: Served[] }>(`${urls[0]}/open?limit=1000`)).readings;
    expect(open.map((r) => `${r.device}:${r.seq}`).sort()).to.deep.equal(
      normal.map((r) => `${r.device.toLowerCase()}:${r.seq}`).sort(),
    );
    const one = chain.sensors[0]!.id.toLowerCase();
    const byDevice = await requestJson<{ readings: Served[] }>(`${urls[0]}/open?device=${one}`);
    expect(byDevice.readings.every((r) => r.device === one)).to.equal(true);

    // every sensitive reading ends in an anchored batch
    const readers = chain.sensors.map(() => new Wallet(Wallet.createRandom().privateKey));
    const asks = [];
    for (const [i, reader] of readers.entries()) asks.push(await accessFor(i, reader));
    const served: Served[] = [];
    await until(async () => {
      const batches = (await requestJson<{ batches: { leafCount: number }[] }>(`${urls[0]}/batches`)).batches;
      return batches.reduce((n, b) => n + b.leafCount, 0) >= sensitive.length;
    });
    for (const ask of asks) served.push(...(await sensitiveOf(urls[0]!, await ask())));
    expect(served.map((r) => `${r.device}:${r.seq}`).sort()).to.deep.equal(
      sensitive.map((r) => `${r.device.toLowerCase()}:${r.seq}`).sort(),
    );
    const batches = (
      await requestJson<{
        batches: { sequence: number; root: Hex; leafCount: number; firstId: number; lastId: number }[];
      }>(`${urls[0]}/batches`)
    ).batches;
    for (const b of batches) {
      const leaves = served
        .filter((r) => r.id >= b.firstId && r.id <= b.lastId)
        .sort((x, y) => x.id - y.id)
        .map((r) => Buffer.from(r.reading.slice(2), "hex"));
      expect(leaves).to.have.length(b.leafCount);
      expect((await batchTree(leaves)).root).to.equal(b.root);
      const record = await chain.anchor.anchorOf(chain.cluster.id, b.root);
      expect(record?.sequence).to.equal(BigInt(b.sequence));
    }
    expect(await chain.anchor.head(chain.cluster.id)).to.equal(BigInt(batches.length));

    // a read with the token's holder's request is served once; a replay, another signer or no token are refused
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

    const text = await (await fetch(`${urls[0]}/metrics`)).text();
    expect(metric(text, "strata_fog_readings_filtered_total", 'class="sensitive"')).to.equal(sensitive.length);
    expect(metric(text, "strata_fog_readings_filtered_total", 'class="normal"')).to.equal(normal.length);
    expect(metric(text, "strata_fog_batches_anchored_total")).to.equal(batches.length);
    const health = await requestJson<{ ok: boolean }>(`${urls[0]}/healthz`);
    expect(health.ok).to.equal(true);
  });

  it("refuses malformed, oversized and unauthenticated requests with typed errors, changing nothing", async function () {
    const before = (await requestJson<{ readings: Served[] }>(`${urls[0]}/open?limit=1000`)).readings.length;
    const batchesBefore = (await requestJson<{ batches: unknown[] }>(`${urls[1]}/batches`)).batches.length;
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
      auth: { member: 1, time: Date.now(), nonce: `0x${"22".repeat(16)}`, signature: `0x${"a0".repeat(48)}` },
      payload: proposal,
    };
    const e1 = await rejected(requestJson(`${urls[1]}/cluster/endorse`, { method: "POST", body: forged }));
    expect(e1).to.be.instanceOf(PeerAuthenticationError);
    expect((e1 as PeerAuthenticationError).reason).to.equal("bad-signature");
    const stranger = { ...forged, auth: { ...forged.auth, member: 9 } };
    const e2 = await rejected(requestJson(`${urls[1]}/cluster/endorse`, { method: "POST", body: stranger }));
    expect(e2).to.be.instanceOf(PeerAuthenticationError);
    expect((e2 as PeerAuthenticationError).reason).to.equal("unknown-device");

    // over MQTT: garbage, an oversized message and a reading on another device's topic are dropped and counted
    const metricsBefore = await (await fetch(`${urls[0]}/metrics`)).text();
    const client = await mqtt.connectAsync(broker, { clientId: "strata-test-bad-publisher" });
    const device = chain.sensors[0]!.id.toLowerCase();
    await client.publishAsync(`strata/readings/${device}`, Buffer.from("not a reading"), { qos: 1 });
    await client.publishAsync(`strata/readings/${device}`, Buffer.alloc(64 * 1024, 7), { qos: 1 });
    const someReading = Buffer.from(
      (await requestJson<{ readings: Served[] }>(`${urls[0]}/open?limit=1`)).readings[0]!.reading.slice(2),
      "hex",
    );
    const owner = `0x${someReading.subarray(1, 33).toString("hex")}`;
    const other = chain.sensors.find((x) => x.id.toLowerCase() !== owner)!.id.toLowerCase();
    await client.publishAsync(`strata/readings/${other}`, someReading, { qos: 1 });
    // a reading stored before, sent again: a replay
    await client.publishAsync(`strata/readings/${owner}`, someReading, { qos: 1 });
    await client.endAsync();
    await until(async () => {
      const t = await (await fetch(`${urls[0]}/metrics`)).text();
      return (
        metric(t, "strata_fog_readings_rejected_total", 'reason="replay"') >
        metric(metricsBefore, "strata_fog_readings_rejected_total", 'reason="replay"')
      );
    });
    const after = await (await fetch(`${urls[0]}/metrics`)).text();
    for (const reason of ["malformed", "oversized", "wrong-topic"]) {
      expect(metric(after, "strata_fog_readings_rejected_total", `reason="${reason}"`)).to.equal(
        metric(metricsBefore, "strata_fog_readings_rejected_total", `reason="${reason}"`) + 1,
        reason,
      );
    }
    expect((await requestJson<{ readings: Served[] }>(`${urls[0]}/open?limit=1000`)).readings).to.have.length(before);
    expect((await requestJson<{ batches: unknown[] }>(`${urls[1]}/batches`)).batches).to.have.length(batchesBefore);
  });
});
