/**
 * Faults of a base station as a process (issue 15, "Faults"), on anvil keeping its chain in a
 * state file, with three key servers, two stations and simulated devices that keep their state
 * in one file across every phase: a station killed with SIGKILL mid-stream and started again on
 * the same files; the JSON-RPC node stopped while the stations anchor, then started again; a
 * station whose machine clock is an hour ahead of the chain, then an hour behind. After each,
 * every reading a device holds confirmed is acquired over HTTP and verified on chain, none twice.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";

import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { nbiotParams } from "../../sdk/core/nbiot/params.ts";
import { loadKeyServerPublic } from "../../services/keyserver/client.ts";
import type { ServiceProcess } from "../../services/runtime/process.ts";
import { HttpStationLink } from "../../services/station/link.ts";
import {
  type KeyServers,
  killSims,
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("station service faults (processes)", function () {
  this.timeout(300_000);
  let world: StationWorld;
  let keyServers: KeyServers;
  let ports: StationPorts[];
  const stations: ServiceProcess[] = [];
  const configs: string[] = [];
  let params: ReturnType<typeof nbiotParams>;
  let statePath: string;
  /** Readings per device so far (the simulator's --count is cumulative over its state). */
  let count = 0;

  before(async function () {
    world = await stationWorld(2, 3, { anvil: true });
    keyServers = await startKeyServers(world);
    params = nbiotParams(backend, loadKeyServerPublic(backend, keyServers.publicFile).masterPublic);
    ports = await stationPorts(2);
    for (let i = 0; i < 2; i++) {
      configs.push(writeStationConfig(world, keyServers, ports, i));
      stations.push(await startStationProcess(configs[i]!));
    }
    statePath = join(world.dir, "sim.sqlite");
  });

  after(async function () {
    await killSims();
    await Promise.all([...stations, ...(keyServers?.processes ?? [])].map((p) => p.kill()));
    await world?.node.stop();
    if (world) rmSync(world.dir, { recursive: true, force: true });
  });

  const links = () => stations.map((s) => new HttpStationLink(String(s.ready.http)));
  const metric = async (i: number, name: string): Promise<number> => {
    const text = await (await fetch(`${String(stations[i]!.ready.http)}/metrics`)).text();
    const m = new RegExp(`^strata_station_${name}\\{[^}]*\\} ([0-9.e+]+)$`, "m").exec(text);
    return m === null ? 0 : Number(m[1]);
  };
  const health = async (i: number): Promise<number> =>
    (await fetch(`${String(stations[i]!.ready.http)}/healthz`)).status;

  /** Runs the simulator for `more` readings per device (moving every 2), calling `during` once it sends. */
  async function phase(more: number, during: () => Promise<void> = () => Promise.resolve()) {
    count += more;
    const sim = await startSim(world, keyServers, [
      ...simStationArgs(world, ports),
      "--state",
      statePath,
      "--rate",
      "4",
      "--count",
      String(count),
      "--handover-every",
      "2",
    ]);
    await during();
    const summary = await sim.summary;
    expect(await sim.process.exited).to.equal(0);
    expect(summary.unconfirmed).to.equal(0);
    expect(summary.confirmed).to.equal(count * world.devices.length);
    const acquired = await verifyAllConfirmed(params, world, statePath, links());
    for (const readings of acquired.values()) {
      expect(readings.map((r) => r.seq)).to.deep.equal(Array.from({ length: count }, (_, k) => k + 1));
    }
    return summary;
  }

  it("a station killed with SIGKILL mid-stream and started again on its files loses and duplicates nothing", async function () {
    await phase(8, async () => {
      const before = await metric(0, "readings_in_total");
      for (let i = 0; i < 200 && (await metric(0, "readings_in_total")) < before + 3; i++) await sleep(50);
      await stations[0]!.kill();
      await sleep(500);
      stations[0] = await startStationProcess(configs[0]!);
    });
  });

  it("the JSON-RPC node stopped while stations anchor: /healthz says so, and once it is back everything is anchored", async function () {
    await phase(6, async () => {
      const before = await metric(1, "readings_in_total");
      for (let i = 0; i < 200 && (await metric(1, "readings_in_total")) < before + 3; i++) await sleep(50);
      await world.node.halt();
      let status = 200;
      for (let i = 0; i < 200 && status === 200; i++) {
        status = await health(1);
        if (status === 200) await sleep(100);
      }
      expect(status).to.equal(503);
      expect(await metric(1, "anchor_rounds_failed_total")).to.be.greaterThan(0);
      await world.node.restart();
    });
    let status = 503;
    for (let i = 0; i < 300 && status !== 200; i++) {
      status = await health(1);
      if (status !== 200) await sleep(100);
    }
    expect(status).to.equal(200);
  });

  for (const [name, offsetMs] of [
    ["an hour ahead of", 3_600_000],
    ["an hour behind", -3_600_000],
  ] as const) {
    it(`a station whose machine clock is ${name} the chain follows the chain's clock; nothing is lost`, async function () {
      // a graceful stop: the queued frames finished, a last seal and anchor, the store closed, exit 0
      expect(await stations[0]!.stop()).to.equal(0);
      const config = JSON.parse(readFileSync(configs[0]!, "utf8")) as Record<string, unknown>;
      writeFileSync(configs[0]!, JSON.stringify({ ...config, clock: { offsetMs } }));
      stations[0] = await startStationProcess(configs[0]!);
      const status = (await (await fetch(`${String(stations[0].ready.http)}/nbiot/status`)).json()) as {
        clockCorrectionMs: number;
      };
      // the correction undoes the offset, within the chain clock's resolution and the start's delay
      expect(Math.abs(status.clockCorrectionMs + offsetMs)).to.be.lessThan(60_000);
      await phase(4);
    });
  }
});
