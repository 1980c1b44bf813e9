/**
 * A base station killed (SIGKILL, in a real child process) at chosen points
 * around anchoring — after sending a transaction before its receipt, after the
 * receipt before its store records it, and at seeded random chain calls — then
 * restarted from its store file against the same node (anvil): every batch
 * ends up anchored exactly once (one successful transaction each, none
 * reverted, the chain's sequence what the store says), a transaction pending
 * across the restart is reported pending, and no block or batch is lost.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { expect } from "chai";

import { DataAnchorClient } from "../../sdk/exports/anchoring.ts";
import { SqliteFlowStore } from "../../sdk/store/flow-store.ts";
import { enter, makeWorld, reading, sendAll, type World } from "../helpers/nbiot.ts";
import { startAnvil } from "../../support/node-process.ts";
import type { ChildArgs } from "../../test-processes/station-anchor.ts";
import { type AnchorChain, deployAnchorChain } from "../helpers/station-chain.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = fileURLToPath(new URL("../../test-processes/station-anchor.ts", import.meta.url));

interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly report?: { anchored: number[]; states: Record<string, string> };
  readonly stderr: string;
}

/** A small seeded generator (mulberry32), so a failing random point can be run again. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("a base station killed around anchoring (child process, anvil)", function () {
  this.timeout(300_000);
  let chain: AnchorChain;
  let world: World;
  let station: Awaited<ReturnType<AnchorChain["station"]>>;
  let path: string;
  let node: ReturnType<World["node"]>;
  let now: number;
  let readings = 0;

  before(async function () {
    chain = await deployAnchorChain(await startAnvil());
    world = makeWorld();
    station = await chain.station();
    path = join(world.dir, "station.sqlite");
    node = world.node();
    now = Number((await chain.provider.getBlock("latest"))!.timestamp) * 1000;
  });

  after(async function () {
    await chain?.rpc("evm_setAutomine", [true]);
    await chain?.node.stop();
    world?.cleanup();
  });

  /** Opens the station in this process, takes one reading per batch and seals `count` batches. */
  async function sealBatches(count: number): Promise<number[]> {
    const bs = world.station(station.id, { path });
    now += 1_000;
    await enter(node, bs, now);
    const sealed: number[] = [];
    for (let i = 0; i < count; i++) {
      now += 10;
      sendAll(node, bs, [reading(20 + readings++, now)], now);
      sealed.push((await bs.seal(now))!.number);
    }
    bs.close();
    return sealed;
  }

  function runChild(options: Partial<ChildArgs> = {}): Promise<ChildOutcome> {
    const args: ChildArgs = {
      url: chain.node.url,
      anchorAddress: chain.anchorAddress,
      chainId: chain.chainId.toString(),
      station: station.id,
      privateKey: station.key.privateKey,
      storePath: path,
      receiptTimeoutMs: 2_000,
      maxReplacements: 2,
      ...options,
    };
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(args)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) =>
        resolve({
          code,
          signal,
          stderr,
          ...(code === 0 ? { report: JSON.parse(stdout) as ChildOutcome["report"] } : {}),
        }),
      );
    });
  }

  /** Runs the station to completion and checks every batch is anchored exactly once and nothing was lost. */
  async function restartAndCheck(): Promise<void> {
    const outcome = await runChild();
    expect(outcome.code, outcome.stderr).to.equal(0);
    const store = new SqliteFlowStore(path, station.id);
    try {
      const reader = new DataAnchorClient(chain.anchorAddress, chain.provider, { chainId: chain.chainId });
      const last = store.lastBatchNumber;
      expect(store.counts().blocks).to.equal(readings);
      expect(store.counts().batches).to.equal(last);
      expect(store.unanchored()).to.deep.equal([]);
      expect(await reader.head(station.id)).to.equal(BigInt(last));
      const sequences = new Set<bigint>();
      for (let n = 1; n <= last; n++) {
        const batch = store.batch(n)!;
        expect(store.anchorState(n)).to.equal("final");
        const onChain = await reader.anchorOf(station.id, batch.root);
        expect(onChain?.sequence).to.equal(batch.anchor!.sequence);
        sequences.add(batch.anchor!.sequence);
        const receipts = await Promise.all(
          store.anchorTxs(n).map((tx) => chain.provider.getTransactionReceipt(tx.hash)),
        );
        const mined = receipts.filter((r) => r !== null);
        expect(mined.map((r) => r.status)).to.deep.equal([1]); // one transaction anchored it; none reverted
        expect(batch.anchor!.txHash).to.equal(mined[0]!.hash.toLowerCase());
      }
      expect(sequences.size).to.equal(last);
    } finally {
      store.close();
    }
  }

  it("killed after sending, before the receipt: the restart reports the transaction pending, then records it", async function () {
    const [number] = await sealBatches(1);
    await chain.rpc("evm_setAutomine", [false]);
    const killed = await runChild({ killAt: "after-send" });
    expect(killed.signal).to.equal("SIGKILL");

    const held = await runChild({ receiptTimeoutMs: 300, maxReplacements: 0 });
    expect(held.code, held.stderr).to.equal(0);
    expect(held.report!.anchored).to.deep.equal([]);
    expect(held.report!.states[String(number)]).to.equal("pending");

    await chain.rpc("evm_setAutomine", [true]);
    await chain.rpc("evm_mine");
    await restartAndCheck();
  });

  it("killed after the receipt, before the store records it: the restart records it without sending again", async function () {
    await sealBatches(2);
    const killed = await runChild({ killAt: "after-receipt" });
    expect(killed.signal).to.equal("SIGKILL");
    await restartAndCheck();
  });

  for (const seed of [8, 12, 6, 20]) {
    it(`killed at a seeded random chain call (seed ${seed}): every batch anchored exactly once`, async function () {
      await sealBatches(2);
      const killAt = 1 + Math.floor(seeded(seed)() * 12);
      const killed = await runChild({ killAt });
      expect(killed.signal === "SIGKILL" || killed.code === 0, killed.stderr).to.equal(true);
      await restartAndCheck();
    });
  }
});
