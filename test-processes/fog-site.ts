/**
 * (Processes the tests start live in `test-processes/`, outside `test/`: the test runner loads
 * every file under `test/` as a test file.)
 *
 * A fog site in its own process, for crash tests (`test/sdk/fog/crash.test.ts`): opens the site's
 * fog nodes from their store files (`test/helpers/fog-site.ts`, config path in argv[2]), ingests the readings
 * listed in argv[3] (hex, one a line; those stored before are refused as replays), then runs
 * `anchorNext` until nothing is left, printing one JSON line per event, and exits 0. A round that
 * throws ends the process with code 3, as an unhandled error ends a service.
 *
 * The crash points are test hooks around the SDK, never in it (`STRATA_CRASH_AT`):
 * - `after-endorse:K`: SIGKILL once K members returned their share;
 * - `after-mined`: SIGKILL once the anchoring transaction is mined, before the batch is recorded;
 * - `random:SEED`: one point drawn from a generator seeded with SEED, among: after a proposal,
 *   after the k-th share returned (k = 1..5), before the anchoring transaction, after it was
 *   mined, after the batch was recorded; SIGKILL at the first time the run reaches it.
 * `STRATA_REFUSE_AT=anchor:1` sends the first anchoring transaction to a port whose server drops
 * the connection before reading it (a real transport failure before the transaction is sent).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

import { JsonRpcProvider, Wallet } from "ethers";

import { DataAnchorClient } from "../sdk/contracts/anchor.ts";
import type { Hex } from "../sdk/core/bytes.ts";
import type { FogAnchorPort, FogMember } from "../sdk/fog/cluster.ts";
import { openSite, type SiteConfig } from "../test/helpers/fog-site.ts";

const config = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as SiteConfig;
const readings = readFileSync(process.argv[3]!, "utf8")
  .split("\n")
  .filter((l) => l.length > 0)
  .map((l) => Uint8Array.from(Buffer.from(l, "hex")));
const crashAt = process.env.STRATA_CRASH_AT ?? "";
const refuseAt = process.env.STRATA_REFUSE_AT ?? "";

const say = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))}\n`);
};
const die = (where: string): never => {
  say({ event: "killed", where });
  process.kill(process.pid, "SIGKILL");
  throw new Error("unreachable");
};

/** mulberry32: a small seeded generator, so a random kill run is the same each time. */
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
const [mode, arg1] = crashAt.split(":");
const POINTS = ["after-propose", "after-endorse", "before-anchor", "after-mined", "after-record"];
const randomPoint = mode === "random" ? seeded(Number(arg1)) : undefined;
const drawn = randomPoint === undefined ? undefined : POINTS[Math.floor(randomPoint() * POINTS.length)];
const drawnShare = randomPoint === undefined ? 0 : 1 + Math.floor(randomPoint() * 5);
const maybeDie = (where: string): void => {
  if (where === drawn && (where !== "after-endorse" || endorsed === drawnShare)) die(where);
};

const provider = new JsonRpcProvider(config.url, undefined, {
  staticNetwork: true,
  cacheTimeout: -1,
  pollingInterval: 50,
});
let endorsed = 0;
let refusals = refuseAt === "anchor:1" ? 1 : 0;
// a port held by this process for its whole life, by a server that drops every connection before
// reading a byte: the request (the anchoring transaction) never reaches a node, every time
const dropper = createServer((socket) => socket.destroy());
await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
dropper.unref();
const refusedUrl = `http://127.0.0.1:${(dropper.address() as { port: number }).port}`;

const site = openSite(config, provider, {
  member: (node): FogMember => ({
    index: node.index,
    id: node.id,
    readChainThrough: (view) => node.readChainThrough(view),
    async endorse(proposal, deployment) {
      const e = await node.endorse(proposal, deployment);
      if (e.ok) {
        endorsed++;
        if (mode === "after-endorse" && endorsed === Number(arg1)) die(`after-endorse:${endorsed}`);
        maybeDie("after-endorse");
      }
      return e;
    },
  }),
  port: (port): FogAnchorPort => ({
    head: (c, tag) => port.head(c, tag),
    anchorOf: (c, r, tag) => port.anchorOf(c, r, tag),
    ...(port.blockNumber === undefined ? {} : { blockNumber: () => port.blockNumber!() }),
    async anchorFogBatch(c, r, n, s) {
      maybeDie("before-anchor");
      let via = port;
      if (refusals > 0) {
        refusals--;
        const dead = new JsonRpcProvider(refusedUrl, undefined, { staticNetwork: true });
        via = new DataAnchorClient(config.anchor, new Wallet(config.sender, dead));
      }
      const anchored = await via.anchorFogBatch(c, r, n, s);
      say({ event: "mined", sequence: anchored.sequence, root: r });
      if (mode === "after-mined") die("after-mined");
      maybeDie("after-mined");
      return anchored;
    },
  }),
});

const proposer = site.proposer;
const wrapped = {
  propose: async (c: Parameters<typeof proposer.propose>[0], s: bigint, max?: number) => {
    const p = await proposer.propose(c, s, max);
    if (p !== undefined) say({ event: "proposed", sequence: p.sequence, root: p.root, leafCount: p.leafCount });
    if (p !== undefined) maybeDie("after-propose");
    return p;
  },
  recordBatch: (...a: Parameters<typeof proposer.recordBatch>) => {
    proposer.recordBatch(...a);
    maybeDie("after-record");
  },
  pendingBatch: (c: Parameters<typeof proposer.pendingBatch>[0]) => proposer.pendingBatch(c),
  pendingRounds: (c: Parameters<typeof proposer.pendingRounds>[0]) => proposer.pendingRounds(c),
  dropAnchored: (...a: Parameters<typeof proposer.dropAnchored>) => proposer.dropAnchored(...a),
  provisionalBatches: (c: Hex) => proposer.provisionalBatches(c),
  finalizeBatch: (s: bigint, c?: Hex) => proposer.finalizeBatch(s, c),
  revertBatch: (c: Parameters<typeof proposer.revertBatch>[0], s: bigint) => proposer.revertBatch(c, s),
};

try {
  await proposer.ingest(readings);
  for (;;) {
    const batch = await site.cluster.anchorNext(wrapped, 8);
    if (batch === undefined) break;
    say({ event: "anchored", sequence: batch.sequence, root: batch.root, leafCount: batch.leafCount });
  }
  say({ event: "done" });
  site.close();
  provider.destroy();
  process.exit(0);
} catch (e) {
  say({ event: "error", name: (e as Error).name, message: (e as Error).message });
  site.close();
  provider.destroy();
  process.exit(3);
}
