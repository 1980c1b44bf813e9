/**
 * The fog cluster on an external MQTT broker (mosquitto, the path to many machines): a 2-of-3
 * cluster whose coordinator subscribes to mosquitto on a persistent session instead of running
 * its embedded broker. The coordinator is killed with SIGKILL mid-stream; mosquitto keeps what it
 * did not acknowledge and delivers it after the restart: every acknowledged reading is found
 * once, the sensitive ones anchored. Then mosquitto itself is stopped and started again (empty:
 * no persistence): the coordinator's `/healthz` answers 503 meanwhile, and it reconnects and
 * subscribes again by itself, readings flowing again. Without the mosquitto binary the test fails
 * (`.ci/run` installs it) unless `STRATA_SKIP_MOSQUITTO=1` asks for a skip.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
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

function mosquittoBinary(): string | undefined {
  for (const candidate of ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto"]) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync("sh", ["-c", "command -v mosquitto"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const accepting = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

describe("fog cluster services on an external mosquitto broker (process)", function () {
  this.timeout(180_000);
  const binary = mosquittoBinary();
  let node: NodeProcess | undefined;
  let chain: FogChain;
  let dir: string;
  let mosquitto: ChildProcess | undefined;
  let brokerUrl: string;
  let startMosquitto: () => Promise<void>;
  let configs: string[] = [];
  const members: ServiceProcess[] = [];

  before(async function () {
    if (binary === undefined) {
      // a missing broker is a failure, not a green skip: `.ci/run` installs it
      if (process.env.STRATA_SKIP_MOSQUITTO === "1") {
        console.warn("    mosquitto is not installed and STRATA_SKIP_MOSQUITTO=1: the external-broker test is skipped");
        this.skip();
      }
      throw new Error(
        "mosquitto is not installed (apt-get install -y mosquitto); set STRATA_SKIP_MOSQUITTO=1 to skip the external-broker test",
      );
    }
    dir = mkdtempSync(join(tmpdir(), "strata-fog-mosquitto-"));
    const port = await freePort();
    writeFileSync(
      join(dir, "mosquitto.conf"),
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n`,
    );
    startMosquitto = async () => {
      mosquitto = spawn(binary, ["-c", join(dir, "mosquitto.conf")], { stdio: "ignore" });
      await until(() => accepting(port), 50);
    };
    await startMosquitto();
    brokerUrl = `mqtt://127.0.0.1:${port}`;
    node = await startHardhatNode();
    chain = await deployFogChain(node.url, node.provider, 3, 2);
    await dealFiles(dir, 2, 3);
    await registerDealtCluster(chain, dir);
    const ports = [await freePort(), await freePort(), await freePort()];
    configs = await writeConfigs(chain, dir, ports, { url: brokerUrl }, { batch: { intervalMs: 200, max: 8 } });
    writeSensorsFile(join(dir, "sensors.sealed"), chain.sensors);
    members.push(
      ...(await Promise.all(configs.map((c) => startService(["fog", "run", "--config", c], { env: serviceEnv() })))),
    );
  });

  after(async function () {
    await Promise.all(members.map((m) => m.stop()));
    mosquitto?.kill("SIGKILL");
    await node?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("takes readings from mosquitto, loses none across a coordinator's kill -9, anchors the sensitive ones", async function () {
    const coordinator = members[0]!.ready.url as string;
    expect(members[0]!.ready.mqtt).to.equal(brokerUrl);
    const sim = await simulate(dir, brokerUrl, 30, 10);
    await until(async () => (await metricOf(coordinator, "strata_fog_readings_in_total")) >= 20);
    await members[0]!.kill();
    // readings published meanwhile wait in mosquitto, for the coordinator's persistent session
    await new Promise((r) => setTimeout(r, 1000));
    members[0] = await startService(["fog", "run", "--config", configs[0]!], { env: serviceEnv() });
    expect(await sim.exited).to.equal(0);
    const log = publishedLog(dir);
    expect(log).to.have.length(60);
    await verifyAll(chain, coordinator, log);
  });

  it("reconnects after the broker restarts: /healthz is 503 meanwhile, then readings flow again", async function () {
    const coordinator = members[0]!.ready.url as string;
    const health = async () => (await fetch(`${coordinator}/healthz`)).status;
    expect(await health()).to.equal(200);
    const stopped = new Promise((r) => mosquitto!.once("exit", r));
    mosquitto!.kill("SIGTERM");
    await stopped;
    await until(async () => (await health()) === 503);
    // hold the broker down until a reconnect was refused (one socket error used to end the client)
    const errors = await metricOf(coordinator, "strata_fog_mqtt_errors_total");
    await until(async () => (await metricOf(coordinator, "strata_fog_mqtt_errors_total")) >= errors + 2);
    // the broker comes back empty (no persistence): the member must subscribe again by itself
    await startMosquitto();
    await until(async () => (await health()) === 200);
    const sim = await simulate(dir, brokerUrl, 5, 10);
    expect(await sim.exited).to.equal(0);
    const log = publishedLog(dir);
    expect(log).to.have.length(70);
    await verifyAll(chain, coordinator, log);
  });
});
