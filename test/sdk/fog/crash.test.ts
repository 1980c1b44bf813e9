/**
 * A fog cluster's round survives its proposer's crash and the chain's faults. The site (proposer,
 * members, their SQLite files) runs in a child process (`test-processes/fog-site.ts`) against a real anvil
 * node; the test kills it with SIGKILL at named points and at seeded random ones, restarts it from
 * its store files, and checks that every sensitive reading is anchored exactly once, that the
 * store knows every batch the chain holds for the cluster, and that anchoring goes on. A chain
 * rolled back (`evm_revert`) under an anchored batch is noticed and the batch anchored again.
 */
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";

import { toHex } from "../../../sdk/core/bytes.ts";
import { FogStore } from "../../../sdk/store/fog-store.ts";
import { type Device, type District, makeDistrict } from "../../helpers/fog.ts";
import { type Chain, deployChain, deploySite, openSite, type SiteConfig, storePath } from "../../helpers/fog-site.ts";
import { type NodeProcess, startAnvil } from "../../../support/node-process.ts";

const CHILD = fileURLToPath(new URL("../../../test-processes/fog-site.ts", import.meta.url));

interface Event {
  readonly event: string;
  readonly sequence?: string;
  readonly root?: string;
  readonly leafCount?: number;
  readonly where?: string;
  readonly name?: string;
  readonly message?: string;
}

describe("FogCluster under crashes and chain faults (a real anvil node, the site in a child process)", function () {
  this.timeout(180_000);
  let node: NodeProcess;
  let chain: Chain;
  let d: District;
  let dir: string;
  let devices: Device[];
  let config: SiteConfig;
  let readingsFile: string;

  before(async function () {
    node = await startAnvil();
    chain = await deployChain(node.url, node.provider);
  });
  after(async function () {
    await node?.stop();
  });
  beforeEach(async function () {
    d = makeDistrict(3, 5);
    dir = mkdtempSync(join(tmpdir(), "strata-fog-crash-"));
    devices = [d.device({ register: false }), d.device({ register: false })];
    config = await deploySite(chain, d, dir, devices);
    writeFileSync(join(dir, "site.json"), JSON.stringify(config));
    readingsFile = join(dir, "readings.txt");
    writeFileSync(readingsFile, "");
  });
  afterEach(function () {
    d.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `count` new sensitive readings, spread over the devices, added to the list the child ingests. */
  const arrive = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const bytes = devices[i % devices.length]!.read(i, { sensitive: true });
      appendFileSync(readingsFile, `${toHex(bytes).slice(2)}\n`);
    }
  };

  /** Runs the site once; `env`: its crash hooks. Resolves with its exit and the events it printed. */
  const run = (
    env: Record<string, string> = {},
  ): Promise<{ code: number | null; signal: string | null; events: Event[] }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, join(dir, "site.json"), readingsFile], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (b: Buffer) => (out += b.toString()));
      child.stderr.on("data", (b: Buffer) => (err += b.toString()));
      child.once("error", reject);
      child.once("exit", (code, signal) => {
        const events = out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Event);
        if (code !== 0 && signal !== "SIGKILL" && !events.some((e) => e.event === "error")) {
          reject(new Error(`the site exited with ${code}:\n${err}`));
        } else resolve({ code, signal, events });
      });
    });

  /** Mines on the current branch until its latest block is `tip` (a rolled-back chain grows again). */
  const regrow = async (tip: number): Promise<void> => {
    while ((await chain.provider.getBlockNumber()) < tip) await chain.provider.send("evm_mine", []);
  };

  /** The proposer's store and the chain agree: every reading in exactly one batch the chain holds where the store says. */
  const checkAnchoredOnce = async (): Promise<number> => {
    const store = new FogStore(storePath(config, 1), config.members[0]!.id);
    try {
      const batches = store.batches();
      const head = await chain.anchor.head(config.cluster);
      // nothing anchored on chain that the store does not know, and nothing the store knows that the chain lost
      expect(batches.map((b) => b.sequence)).to.deep.equal(Array.from({ length: Number(head) }, (_, i) => i + 1));
      let onChain = 0n;
      for (const b of batches) {
        const record = await chain.anchor.anchorOf(config.cluster, b.root);
        expect(record?.sequence, `batch ${b.sequence}`).to.equal(BigInt(b.sequence));
        onChain += record!.leafCount;
      }
      const { sensitive } = store.counts();
      expect(store.unbatched(10_000)).to.deep.equal([]);
      expect(store.dropped()).to.deep.equal(new Map());
      expect(batches.reduce((n, b) => n + b.leafCount, 0)).to.equal(sensitive);
      expect(onChain).to.equal(BigInt(sensitive));
      expect(store.rounds(config.cluster)).to.deep.equal([]);
      return sensitive;
    } finally {
      store.close();
    }
  };

  it("re-signs the same round after a crash once 3 of 5 members endorsed it, and anchors every reading once", async function () {
    arrive(4);
    const crashed = await run({ STRATA_CRASH_AT: "after-endorse:3" });
    expect(crashed.signal).to.equal("SIGKILL");
    const proposed = crashed.events.find((e) => e.event === "proposed")!;
    expect(await chain.anchor.head(config.cluster)).to.equal(0n);
    arrive(3); // readings arrive while the site is down
    const again = await run();
    expect(again.code).to.equal(0);
    // the round the members signed before the crash is the one anchored at its sequence
    const first = again.events.find((e) => e.event === "anchored")!;
    expect([first.sequence, first.root]).to.deep.equal([proposed.sequence, proposed.root]);
    expect(await checkAnchoredOnce()).to.equal(7);
  });

  it("records a batch whose transaction was mined just before the crash, and anchors nothing twice", async function () {
    arrive(4);
    const crashed = await run({ STRATA_CRASH_AT: "after-mined" });
    expect(crashed.signal).to.equal("SIGKILL");
    expect(await chain.anchor.head(config.cluster)).to.equal(1n);
    arrive(2);
    const again = await run();
    expect(again.code).to.equal(0);
    expect(again.events.filter((e) => e.event === "anchored").map((e) => e.sequence)).to.deep.equal(["2"]);
    expect(await checkAnchoredOnce()).to.equal(6);
  });

  it("survives a connection dropped before the transaction is sent at anchorFogBatch: the restarted site anchors the same round", async function () {
    arrive(3);
    const refused = await run({ STRATA_REFUSE_AT: "anchor:1" });
    expect(refused.code).to.equal(3);
    expect(refused.events.at(-1)).to.deep.include({ event: "error", name: "TransportError" });
    const proposed = refused.events.find((e) => e.event === "proposed")!;
    arrive(2);
    const again = await run();
    expect(again.code).to.equal(0);
    const first = again.events.find((e) => e.event === "anchored")!;
    expect([first.sequence, first.root]).to.deep.equal([proposed.sequence, proposed.root]);
    expect(await checkAnchoredOnce()).to.equal(5);
  });

  it("anchors every reading exactly once through a seeded run of random kills and restarts", async function () {
    // eight child processes, each starting tsx: generous for a slow, loaded machine (no assertion is timed)
    this.timeout(600_000);
    const killed: string[] = [];
    // seeds whose draws reach every kind of point: after-mined, after-record, before-anchor,
    // after-propose, after the first share, after-mined again
    for (const seed of [1, 4, 6, 7, 12, 5]) {
      arrive(5);
      const r = await run({ STRATA_CRASH_AT: `random:${seed}` });
      if (r.signal === "SIGKILL") killed.push(r.events.find((e) => e.event === "killed")!.where!);
      else expect(r.code, JSON.stringify(r.events.at(-1))).to.equal(0);
    }
    // the seeds reach both kinds of point the issue names, and others
    expect(killed, "where the runs were killed").to.include.members(["after-mined", "after-endorse", "after-record"]);
    const last = await run();
    expect(last.code).to.equal(0);
    expect(await checkAnchoredOnce()).to.equal(30);
    // and anchoring goes on
    const head = await chain.anchor.head(config.cluster);
    arrive(1);
    const next = await run();
    expect(next.events.filter((e) => e.event === "anchored").map((e) => e.sequence)).to.deep.equal([String(head + 1n)]);
    expect(await checkAnchoredOnce()).to.equal(31);
  });

  it("notices a chain rolled back under an anchored batch and anchors it again; deep batches become final", async function () {
    const site = openSite(config, chain.provider);
    try {
      for (let i = 0; i < 3; i++) await site.proposer.ingest([devices[0]!.read(i, { sensitive: true })]);
      const snapshot = (await chain.provider.send("evm_snapshot", [])) as string;
      const batch = (await site.cluster.anchorNext(site.proposer))!;
      const tip = await chain.provider.getBlockNumber();
      expect(batch.sequence).to.equal(1n);
      expect(site.proposer.store.batches().map((b) => b.root)).to.deep.equal([batch.root]);
      // the chain rolls back past the batch; a new reading arrives
      expect(await chain.provider.send("evm_revert", [snapshot])).to.equal(true);
      await regrow(tip); // the new branch grows past the block the batch was mined in
      expect(await chain.anchor.anchorOf(config.cluster, batch.root)).to.equal(undefined);
      await site.proposer.ingest([devices[1]!.read(1, { sensitive: true })]);
      const again = (await site.cluster.anchorNext(site.proposer))!;
      // the removed batch is anchored again, at its sequence, with its root; the new reading follows
      expect([again.sequence, again.root, again.leafCount]).to.deep.equal([1n, batch.root, 3]);
      const next = (await site.cluster.anchorNext(site.proposer))!;
      expect([next.sequence, next.leafCount]).to.deep.equal([2n, 1]);
      // both provisional until finalityDepth (2) blocks confirm them, then final and no longer re-checked
      expect(site.proposer.provisionalBatches().map((b) => b.sequence)).to.deep.equal([1n, 2n]);
      await chain.provider.send("evm_mine", []);
      expect(await site.cluster.reconcile(site.proposer)).to.deep.equal({ final: [1n, 2n], removed: [] });
      expect(site.proposer.provisionalBatches()).to.deep.equal([]);
      expect(await site.cluster.anchorNext(site.proposer)).to.equal(undefined);
    } finally {
      site.close();
    }
    expect(await checkAnchoredOnce()).to.equal(4);
  });

  it("re-anchors two batches a rollback removed, in order, each with its root", async function () {
    const site = openSite(config, chain.provider);
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true }), devices[1]!.read(1, { sensitive: true })]);
      const snapshot = (await chain.provider.send("evm_snapshot", [])) as string;
      const first = (await site.cluster.anchorNext(site.proposer, 1))!;
      const second = (await site.cluster.anchorNext(site.proposer, 1))!;
      expect([first.sequence, second.sequence]).to.deep.equal([1n, 2n]);
      const tip = await chain.provider.getBlockNumber();
      expect(await chain.provider.send("evm_revert", [snapshot])).to.equal(true);
      await regrow(tip);
      expect(await site.cluster.reconcile(site.proposer)).to.deep.equal({ final: [], removed: [1n, 2n] });
      expect(site.proposer.store.batches()).to.deep.equal([]);
      const again = [(await site.cluster.anchorNext(site.proposer))!, (await site.cluster.anchorNext(site.proposer))!];
      expect(again.map((b) => [b.sequence, b.root])).to.deep.equal([
        [1n, first.root],
        [2n, second.root],
      ]);
      expect(await site.cluster.anchorNext(site.proposer)).to.equal(undefined);
    } finally {
      site.close();
    }
    expect(await checkAnchoredOnce()).to.equal(2);
  });

  it("anchors the readings of batches a rollback removed at the next sequence when another root took theirs", async function () {
    const site = openSite(config, chain.provider);
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true }), devices[0]!.read(2, { sensitive: true })]);
      const snapshot = (await chain.provider.send("evm_snapshot", [])) as string;
      await site.cluster.anchorNext(site.proposer, 1);
      const second = (await site.cluster.anchorNext(site.proposer, 1))!;
      const tip = await chain.provider.getBlockNumber();
      expect(await chain.provider.send("evm_revert", [snapshot])).to.equal(true);
      await regrow(tip);
      // on the new branch another member's batch takes sequence 1 first
      const other = site.members[1]!;
      await other.ingest([devices[1]!.read(1, { sensitive: true })]);
      expect((await site.cluster.anchorNext(other))!.sequence).to.equal(1n);
      // the batch kept for sequence 2 is anchored there again, with its root; the first one's reading follows
      const moved = (await site.cluster.anchorNext(site.proposer))!;
      expect([moved.sequence, moved.root, moved.leafCount, moved.reports]).to.deep.equal([2n, second.root, 1, []]);
      const next = (await site.cluster.anchorNext(site.proposer))!;
      expect([next.sequence, next.leafCount, next.reports]).to.deep.equal([3n, 1, []]);
      expect(await site.cluster.anchorNext(site.proposer)).to.equal(undefined);
      const store = site.proposer.store;
      expect(store.batches().map((b) => [b.sequence, b.root])).to.deep.equal([
        [2, moved.root],
        [3, next.root],
      ]);
      expect([store.unbatched(10), store.rounds(config.cluster), store.dropped()]).to.deep.equal([[], [], new Map()]);
    } finally {
      site.close();
    }
  });
});
