/**
 * `npm start` as a person runs it: `node scripts/start.ts` in a child process at a small scale,
 * its live view read as JSON lines (STRATA_VIEW=json) until every kind of role has shown its work
 * on chain, then stopped with SIGINT: the stages stop in order (simulators first, chains last),
 * the run exits 0, and no process it started is left. A process that ends on its own is reported
 * by the supervisor and the others are stopped in order (the run then exits 1). Bad scale knobs
 * are refused before anything starts.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { startLocalChains } from "../../services/local/chain-setup.ts";
import { startKeyServers } from "../../services/local/roles/keyservers.ts";
import { STAGES, Supervisor, type SupervisorEvent } from "../../services/local/supervisor.ts";
import type { Snapshot } from "../../services/local/live-view.ts";

const ROOT = join(import.meta.dirname, "..", "..");

/** A run of `scripts/start.ts`: its JSON lines as they come, and how it ended. */
interface StartRun {
  readonly child: ChildProcess;
  readonly snapshots: Snapshot[];
  readonly events: string[];
  readonly exited: Promise<number | string>;
  stderr(): string;
}

function startRun(dir: string, env: NodeJS.ProcessEnv = {}): StartRun {
  const child = spawn(process.execPath, [join(ROOT, "scripts", "start.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      STRATA_VIEW: "json",
      STRATA_LOCAL_DIR: dir,
      STRATA_DEVICES: "2",
      STRATA_SENSORS: "2",
      STRATA_READING_MS: "1000",
      STRATA_BATCH_MS: "1000",
      STRATA_CONTRACT_MS: "2000",
      STRATA_LAYER_MEMBERS: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const snapshots: Snapshot[] = [];
  const events: string[] = [];
  let err = "";
  let buffer = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk;
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      const line = JSON.parse(buffer.slice(0, at)) as Snapshot | { event: string };
      buffer = buffer.slice(at + 1);
      if ("event" in line) events.push(line.event);
      else snapshots.push(line);
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, snapshots, events, exited, stderr: () => err };
}

/**
 * A process as the test knows it: its pid and its start time (field 22 of /proc/PID/stat), so a pid
 * the kernel hands to another process later (pids wrap at 32,768 here, and other test files run
 * beside this one) is not taken for it.
 */
interface Proc {
  readonly pid: number;
  readonly start: string | undefined;
}

/** The start time of `pid` (`undefined`: no such process). */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

const proc = (pid: number): Proc => ({ pid, start: startTime(pid) });

/** Every process descending from `pid` (the services and chains run in their own groups, still its children). */
function descendants(pid: number): Proc[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [p, pp] of rows) {
      if (pp === parent) {
        found.push(p);
        queue.push(p);
      }
    }
  }
  return found.map(proc);
}

/** Whether the very process `p` still runs (not another one given its pid since). */
const alive = (p: Proc): boolean => p.start !== undefined && startTime(p.pid) === p.start;

/** Waits until `test` holds for the run's latest snapshot (or the run ends: a failure). */
async function until(
  run: StartRun,
  what: string,
  test: (s: Snapshot) => boolean,
  timeoutMs = 90_000,
): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let ended: number | string | undefined;
  void run.exited.then((how) => (ended = how));
  for (;;) {
    const last = run.snapshots.at(-1);
    if (last && test(last)) return last;
    if (ended !== undefined)
      throw new Error(`npm start ended (${ended}) before ${what}:\n${run.events.join("\n")}\n${run.stderr()}`);
    if (Date.now() > deadline)
      throw new Error(`no ${what} within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${run.events.join("\n")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("npm start: a local deployment in processes", function () {
  this.timeout(180_000);
  let dir: string;
  let run: StartRun;
  let pids: Proc[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "strata-local-test-"));
    run = startRun(dir);
  });

  after(() => {
    run?.child.kill("SIGKILL");
    for (const p of pids) if (alive(p)) process.kill(p.pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs both chains with Strata deployed", async () => {
    const s = await until(run, "both chains", (x) => x.chains.length === 2);
    expect(s.chains.map((c) => c.chainId)).to.deep.equal(["31337", "31338"]);
    expect(s.chains.every((c) => c.block > 0)).to.equal(true);
  });

  it("serves identity keys from every key server", async () => {
    const s = await until(run, "the key servers' metrics", (x) =>
      ["keyserver-1", "keyserver-2", "keyserver-3"].every((k) => typeof x.services[k] === "object"),
    );
    for (const k of ["keyserver-1", "keyserver-2", "keyserver-3"]) {
      expect(s.services[k]).to.have.property("strata_keyserver_audit_entries");
    }
  });

  it("anchors every base station's batches of its simulated NB-IoT devices' readings", async () => {
    const s = await until(run, "an anchored batch from every station", (x) =>
      ["station-1", "station-2", "station-3"].every((n) => (x.anchors[n]?.batches ?? 0) >= 1),
    );
    for (const n of ["station-1", "station-2", "station-3"]) expect(s.anchors[n]!.leaves).to.be.at.least(1);
    const readings = ["station-1", "station-2", "station-3"].map(
      (n) => (s.services[n] as Record<string, number>).strata_station_readings_in_total ?? 0,
    );
    expect(readings.every((r) => r >= 1)).to.equal(true);
  });

  it("anchors the fog cluster's sensitive batches of its simulated air sensors, endorsed by its members", async () => {
    const s = await until(run, "an anchored sensitive batch", (x) => (x.anchors["fog cluster"]?.batches ?? 0) >= 1);
    expect(s.anchors["fog cluster"]!.leaves).to.be.at.least(1);
    const fog1 = s.services["fog-1"] as Record<string, number>;
    expect(fog1.strata_fog_readings_in_total).to.be.at.least(1);
    expect(fog1.strata_fog_batches_anchored_total).to.be.at.least(1);
  });

  it("routes contracts from edge to edge through the districts (first chain) and the city (second chain)", async () => {
    const s = await until(run, "an accomplished contract in every layer", (x) =>
      ["city", "district-a", "district-b"].every((l) => (x.ledgers[l]?.accomplished ?? 0) >= 1),
    );
    expect(s.ledgers.city!.chain).to.equal("anvil");
    expect([s.ledgers["district-a"]!.chain, s.ledgers["district-b"]!.chain]).to.deep.equal(["hardhat", "hardhat"]);
    expect(s.ledgers.city!.replayed).to.equal(0);
    expect(run.events.some((e) => /^contract 1: 9 summaries recorded/.test(e))).to.equal(true);
    expect(s.services["edge-crossing-9"]).to.have.property("strata_layer_deliveries_total").that.is.at.least(1);
  });

  it("stops every process in order on SIGINT, exits 0 and leaves no process behind", async () => {
    pids = descendants(run.child.pid!);
    expect(pids.length).to.be.greaterThan(1);
    run.child.kill("SIGINT");
    expect(await run.exited, run.stderr()).to.equal(0);
    const order = run.events
      .map((e) => /^stopping the (\w+) stage/.exec(e)?.[1])
      .filter((x): x is string => x !== undefined);
    expect(order).to.deep.equal(STAGES.filter((s) => order.includes(s)));
    expect(order.at(-1)).to.equal("chain");
    expect(run.events.at(-1)).to.equal("stopped; every process ended cleanly");
    // A process killed in a system call (an fsync on the loaded disk of a full test run) ends a
    // moment after its SIGKILL: it has at most 10 s.
    for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).to.deep.equal([]);
  });
});

describe("the supervisor: a process ending on its own", function () {
  this.timeout(120_000);
  let dir: string;
  let supervisor: Supervisor;
  const events: SupervisorEvent[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "strata-local-test-"));
    supervisor = new Supervisor({ logDir: join(dir, "logs"), onEvent: (e) => events.push(e) });
    const { hardhat, anvil } = await startLocalChains({ detached: true });
    for (const c of [hardhat, anvil]) supervisor.adopt(`chain ${c.name}`, "chain", () => c.stop(), c.node.exited());
    await startKeyServers({ dir, chain: hardhat, supervisor, passphrase: "local test", servers: 3, threshold: 2 });
  });

  after(async () => {
    await supervisor?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is reported with its logs, and the others stop in order, not cleanly", async () => {
    const pids = supervisor.running.map((r) => proc(r.process.child.pid!));
    const victim = supervisor.get("keyserver-2");
    process.kill(victim.process.child.pid!, "SIGKILL");
    expect(await supervisor.whenFailed()).to.deep.equal({ name: "keyserver-2", how: "SIGKILL" });
    expect(events.find((e) => e.kind === "died")).to.include({ name: "keyserver-2", how: "SIGKILL" });
    expect(await supervisor.stop()).to.equal(false);
    const stopping = events.filter((e) => e.kind === "stopping").map((e) => [e.stage, [...e.names].sort()]);
    expect(stopping).to.deep.equal([
      ["keyserver", ["keyserver-1", "keyserver-2", "keyserver-3"]],
      ["chain", ["chain anvil", "chain hardhat"]],
    ]);
    const stopped = events.filter((e) => e.kind === "stopped").map((e) => [e.name, e.how]);
    expect(stopped).to.deep.include.members([
      ["keyserver-1", 0],
      ["keyserver-3", 0],
      ["keyserver-2", "SIGKILL"],
    ]);
    expect(pids.filter(alive)).to.deep.equal([]);
  });
});

describe("npm start: scale knobs", () => {
  it("refuses a knob out of range before starting anything, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "strata-local-test-"));
    try {
      const out = spawnSync(process.execPath, [join(ROOT, "scripts", "start.ts")], {
        env: { ...process.env, STRATA_DEVICES: "0", STRATA_LOCAL_DIR: dir },
        encoding: "utf8",
      });
      expect(out.status).to.equal(2);
      expect(out.stderr).to.equal(
        'npm start: STRATA_DEVICES: expected an integer from 1 to 1000 (NB-IoT devices), got "0"\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
