/**
 * Base stations and NB-IoT devices as separate processes over real sockets: a `hardhat node`,
 * three key servers (`strata keyserver run`, 2 of 3), two stations (`strata station run`) and
 * simulated devices (`strata sim nbiot`) that move from one station to the other. Every reading
 * a device holds confirmed is acquired from the stations over HTTP and verified against the
 * chain, none twice; malformed input changes nothing; a bad configuration is one line.
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";

import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { nbiotParams } from "../../sdk/core/nbiot/params.ts";
import { ProtocolError } from "../../sdk/errors.ts";
import { loadKeyServerPublic } from "../../services/keyserver/client.ts";
import type { ServiceProcess } from "../../services/runtime/process.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { HttpStationLink } from "../../services/station/link.ts";
import { coapPost, coapTarget } from "../../services/sim/nbiot-coap.ts";
import {
  type KeyServers,
  killSims,
  SERVICE_ENV,
  simStationArgs,
  startKeyServers,
  startSim,
  startStationProcess,
  type StationPorts,
  stationPorts,
  type StationWorld,
  stationWorld,
  verifyAllConfirmed,
  writeStationConfig,
} from "../helpers/station-services.ts";

const backend = await mclBackend();
const CLI = join(import.meta.dirname, "../../cli/strata.ts");

describe("station service (processes)", function () {
  this.timeout(240_000);
  let world: StationWorld;
  let keyServers: KeyServers;
  let ports: StationPorts[];
  const stations: ServiceProcess[] = [];
  let params: ReturnType<typeof nbiotParams>;

  before(async function () {
    world = await stationWorld(2, 4);
    keyServers = await startKeyServers(world);
    params = nbiotParams(backend, loadKeyServerPublic(backend, keyServers.publicFile).masterPublic);
    ports = await stationPorts(2);
    for (let i = 0; i < 2; i++)
      stations.push(await startStationProcess(writeStationConfig(world, keyServers, ports, i)));
  });

  after(async function () {
    await killSims();
    await Promise.all([...stations, ...(keyServers?.processes ?? [])].map((p) => p.kill()));
    await world?.node.stop();
    if (world) rmSync(world.dir, { recursive: true, force: true });
  });

  const links = () => stations.map((s) => new HttpStationLink(String(s.ready.http)));

  it("prints its ready line with its CoAP and HTTP URLs", function () {
    expect(stations[0]!.ready).to.include({ ready: true, service: "station", id: world.stations[0]!.id });
    expect(String(stations[0]!.ready.coap)).to.equal(`coap://127.0.0.1:${ports[0]!.coap}`);
  });

  it("carries devices across a handover; every confirmed reading is acquired over HTTP and verified on chain, none twice", async function () {
    const statePath = join(world.dir, "sim.sqlite");
    const sim = await startSim(world, keyServers, [
      ...simStationArgs(world, ports),
      "--state",
      statePath,
      "--rate",
      "10",
      "--count",
      "6",
      "--handover-every",
      "3",
    ]);
    const summary = await sim.summary;
    expect(await sim.process.exited).to.equal(0);
    expect(summary).to.include({ devices: 4, sent: 24, receipted: 24, confirmed: 24, unconfirmed: 0 });
    const acquired = await verifyAllConfirmed(params, world, statePath, links());
    expect(acquired.size).to.equal(4);
    for (const readings of acquired.values()) {
      expect(readings.map((r) => r.seq)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      // every device made blocks at both stations: its flow was handed over
      expect(new Set(readings.map((r) => r.station)).size).to.equal(2);
      expect(readings.map((r) => (JSON.parse(r.plaintext) as { n: number }).n)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    }
    const metrics = await (await fetch(`${String(stations[0]!.ready.http)}/metrics`)).text();
    expect(metrics).to.match(/strata_station_readings_in_total\{service="station"\} [1-9]/);
    expect(metrics).to.match(/strata_station_batch_size_count\{service="station"\} [1-9]/);
    const health = await requestJson<{ ok: boolean }>(`${String(stations[0]!.ready.http)}/healthz`);
    expect(health.ok).to.equal(true);
  });

  it("answers malformed and oversized CoAP and HTTP messages with typed errors, and changes nothing", async function () {
    const url = String(stations[1]!.ready.http);
    const before = await requestJson<{ lastBatch: number; unanchoredBatches: number }>(`${url}/nbiot/status`);
    const target = coapTarget(String(stations[1]!.ready.coap));
    for (const [path, payload] of [
      ["/auth", new Uint8Array([1, 0, 0])],
      ["/frames", new Uint8Array(64).fill(3)],
      ["/renew", new Uint8Array(2)],
    ] as const) {
      try {
        await coapPost(target, path, payload);
        expect.fail(`${path} accepted a malformed payload`);
      } catch (e) {
        expect(e, path).to.be.instanceOf(ProtocolError);
      }
    }
    try {
      await requestJson(`${url}/nbiot/handover`, { body: { request: "0xzz" } });
      expect.fail("a malformed handover body was accepted");
    } catch (e) {
      expect((e as Error).name).to.equal("InvalidInputError");
    }
    try {
      await requestJson(`${url}/nbiot/handover`, { body: { request: `0x${"00".repeat(40_000)}` } });
      expect.fail("an oversized handover body was accepted");
    } catch (e) {
      expect((e as Error).name).to.equal("PayloadTooLargeError");
    }
    const after = await requestJson<{ lastBatch: number; unanchoredBatches: number }>(`${url}/nbiot/status`);
    expect(after.lastBatch).to.equal(before.lastBatch);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).to.match(/strata_station_refusals_total\{reason="malformed",service="station"\} [1-9]/);
  });

  it("refuses a bad configuration with one line naming the file and the field", async function () {
    const good = JSON.parse(readFileSync(join(world.dir, "station1.json"), "utf8")) as Record<string, unknown>;
    const bad = join(world.dir, "bad-station.json");
    writeFileSync(bad, JSON.stringify({ ...good, batch: { intervalMs: "soon" } }));
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, "station", "run", "--config", bad],
        { env: SERVICE_ENV },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(run.code).to.equal(3);
    expect(run.stdout).to.equal("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include(bad).and.include("/batch/intervalMs");
  });
});
