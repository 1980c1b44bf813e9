/**
 * Crash faults of the fog cluster's services (issue 15, "Faults"): while a sensor district
 * publishes, a member is killed with SIGKILL and later the coordinator (with its embedded
 * broker); each is started again on the same files and ports. Every reading the broker
 * acknowledged is then found once: normal ones in the open store, sensitive ones served with an
 * access token and each in exactly one batch anchored on chain; nothing is anchored twice.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { startService, type ServiceProcess } from "../../services/runtime/process.ts";
import { freePort, type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import {
  dealFiles,
  deployFogChain,
  type FogChain,
  metricOf,
  publishedLog,
  registerDealtCluster,
  serviceEnv,
  simulate,
  until,
  verifyAll,
  writeConfigs,
  writeSensorsFile,
} from "../helpers/fog-services.ts";

describe("fog cluster services: kill -9 of a member and of the coordinator (process)", function () {
  this.timeout(240_000);
  let node: NodeProcess;
  let chain: FogChain;
  let dir: string;
  let configs: string[] = [];
  const members: (ServiceProcess | undefined)[] = [];

  const start = async (i: number): Promise<ServiceProcess> => {
    members[i] = await startService(["fog", "run", "--config", configs[i]!], { env: serviceEnv() });
    return members[i];
  };

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-fog-faults-"));
    node = await startHardhatNode();
    chain = await deployFogChain(node.url, node.provider, 5, 3);
    await dealFiles(dir, 3, 5);
    await registerDealtCluster(chain, dir);
    const ports = [];
    for (let i = 0; i < 5; i++) ports.push(await freePort());
    const mqttPort = await freePort();
    configs = await writeConfigs(
      chain,
      dir,
      ports,
      { embedded: { host: "127.0.0.1", port: mqttPort } },
      {
        batch: { intervalMs: 200, max: 8 },
      },
    );
    writeSensorsFile(join(dir, "sensors.sealed"), chain.sensors);
    await Promise.all(configs.map((_, i) => start(i)));
  });

  after(async function () {
    await Promise.all(members.flatMap((m) => (m === undefined ? [] : [m.stop()])));
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds every acknowledged reading once after a member and the coordinator die mid-stream", async function () {
    const coordinator = members[0]!.ready.url as string;
    const broker = members[0]!.ready.mqtt as string;
    const sim = await simulate(dir, broker, 40, 10);
    const taken = () => metricOf(coordinator, "strata_fog_readings_in_total");

    // a member dies mid-stream: t of the other four still endorse
    await until(async () => (await taken()) >= 20);
    await members[2]!.kill();
    await until(async () => (await metricOf(coordinator, "strata_fog_batches_anchored_total")) >= 1);
    // the coordinator dies mid-stream, its broker with it: sensors reconnect and send again
    await until(async () => (await taken()) >= 50);
    await members[0]!.kill();
    const restarted = await start(0);
    expect(restarted.ready.url).to.equal(coordinator);
    await start(2);

    expect(await sim.exited).to.equal(0);
    const log = publishedLog(dir);
    expect(log).to.have.length(120);
    const { served } = await verifyAll(chain, coordinator, log);
    expect(new Set(served.map((r) => `${r.device}:${r.seq}`)).size).to.equal(served.length);
  });
});
