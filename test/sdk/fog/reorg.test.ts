/**
 * A fog cluster on a real anvil node whose chain rolls back (`evm_revert`), lags, or refuses the
 * `finalized` block tag: a rollback of several batches never strands the cluster, a reorganisation
 * that brings back another root of ours at a sequence is recorded, a node that lags behind proves
 * no removal, and a node without `finalized` is told apart from a network failure. Lag and the
 * missing tag come from real ports on the same chain: a client pinned to an older block, and a
 * JSON-RPC proxy on 127.0.0.1 that forwards to anvil and refuses the tag.
 */
import { createServer as createTcpServer } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { JsonRpcProvider } from "ethers";

import { type Hex } from "../../../sdk/core/bytes.ts";
import { Kind, Status } from "../../../sdk/core/registry.ts";
import type { DataAnchorClient } from "../../../sdk/contracts/anchor.ts";
import type { FogAnchorPort } from "../../../sdk/fog/cluster.ts";
import { FogCluster } from "../../../sdk/fog/cluster.ts";
import { ConfigError, TransportError } from "../../../sdk/errors.ts";
import { type Device, type District, makeDistrict } from "../../helpers/fog.ts";
import { type Chain, deployChain, deploySite, openSite, type Site, type SiteConfig } from "../../helpers/fog-site.ts";
import { type NodeProcess, startAnvil } from "../../../support/node-process.ts";
import { rpcProxy } from "../../helpers/rpc-proxy.ts";

/**
 * A port on the same real chain that lags `behind` blocks: its latest block, and every read at
 * "latest", are that many blocks old (a load-balanced RPC answering from a node not caught up).
 */
function laggingPort(client: DataAnchorClient, provider: JsonRpcProvider, behind: number): FogAnchorPort {
  const lagged = async () => Math.max(0, (await provider.getBlockNumber()) - behind);
  const tag = async (t?: number | "latest" | "finalized") => (t === undefined || t === "latest" ? await lagged() : t);
  return {
    blockNumber: lagged,
    head: async (c, t) => client.head(c, await tag(t)),
    anchorOf: async (c, r, t) => client.anchorOf(c, r, await tag(t)),
    anchorFogBatch: (c, r, n, s) => client.anchorFogBatch(c, r, n, s),
  };
}

describe("FogCluster on a chain that rolls back, lags or has no finalized block (a real anvil node)", function () {
  this.timeout(300_000);
  let node: NodeProcess;
  let chain: Chain;
  let d: District;
  let dir: string;
  let devices: Device[];
  let config: SiteConfig;

  before(async function () {
    node = await startAnvil();
    chain = await deployChain(node.url, node.provider);
  });
  after(async function () {
    await node?.stop();
  });
  beforeEach(async function () {
    d = makeDistrict(3, 5);
    dir = mkdtempSync(join(tmpdir(), "strata-fog-reorg-"));
    devices = [d.device({ register: false }), d.device({ register: false })];
    config = await deploySite(chain, d, dir, devices);
  });
  afterEach(function () {
    d.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const blockNumber = async () => Number(await chain.provider.send("eth_blockNumber", []));
  /** Mines until the chain's latest block is at least `block`. */
  const mineTo = async (block: number) => {
    while ((await blockNumber()) < block) await chain.provider.send("evm_mine", []);
  };

  /** Every sensitive reading of the proposer in exactly one batch the chain holds where the store says. */
  const checkAnchoredOnce = async (site: Site): Promise<number> => {
    const store = site.proposer.store;
    const batches = store.batches();
    const head = await chain.anchor.head(config.cluster);
    expect(batches.map((b) => b.sequence)).to.deep.equal(Array.from({ length: Number(head) }, (_, i) => i + 1));
    for (const b of batches) {
      expect((await chain.anchor.anchorOf(config.cluster, b.root))?.sequence, `batch ${b.sequence}`).to.equal(
        BigInt(b.sequence),
      );
    }
    expect([store.unbatched(10_000), store.dropped()]).to.deep.equal([[], new Map()]);
    return batches.reduce((n, b) => n + b.leafCount, 0);
  };

  it("a rollback of three batches with another member's root at the first never strands the cluster", async function () {
    // deep enough that the three batches are still provisional when the chain rolls back
    const site = openSite(config, chain.provider, { finalityDepth: 10 });
    try {
      await site.proposer.ingest([1, 2, 3].map((i) => devices[0]!.read(i, { sensitive: true })));
      const from = await blockNumber();
      const snapshot = (await chain.provider.send("evm_snapshot", [])) as string;
      for (let i = 0; i < 3; i++) await site.cluster.anchorNext(site.proposer, 1);
      expect(await chain.anchor.head(config.cluster)).to.equal(3n);
      expect(await chain.provider.send("evm_revert", [snapshot])).to.equal(true);
      // on the new branch another member's batch takes sequence 1; the branch grows past the old one
      const other = site.members[1]!;
      await other.ingest([devices[1]!.read(1, { sensitive: true })]);
      expect((await site.cluster.anchorNext(other))!.sequence).to.equal(1n);
      await mineTo(from + 3);
      const anchored: bigint[] = [];
      for (;;) {
        const b = await site.cluster.anchorNext(site.proposer);
        if (b === undefined) break;
        anchored.push(b.sequence);
      }
      expect(anchored).to.deep.equal([2n, 3n, 4n]);
      // the proposer's three readings, each anchored once; the other member's batch is not in its store
      const store = site.proposer.store;
      expect(store.batches().map((b) => b.sequence)).to.deep.equal([2, 3, 4]);
      expect(store.batches().reduce((n, b) => n + b.leafCount, 0)).to.equal(3);
      for (const b of store.batches()) {
        expect((await chain.anchor.anchorOf(config.cluster, b.root))?.sequence).to.equal(BigInt(b.sequence));
      }
      expect([store.unbatched(10), store.dropped()]).to.deep.equal([[], new Map()]);
      await mineTo((await blockNumber()) + 10);
      expect(await site.cluster.reconcile(site.proposer)).to.deep.equal({ final: [2n, 3n, 4n], removed: [] });
      expect(store.rounds(config.cluster)).to.deep.equal([]);
    } finally {
      site.close();
    }
  });

  it("a lone proposer whose first removed batch cannot be re-proposed keeps the second's readings for their sequence", async function () {
    const site = openSite(config, chain.provider, { finalityDepth: 10 });
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true }), devices[1]!.read(1, { sensitive: true })]);
      const snapshot = (await chain.provider.send("evm_snapshot", [])) as string;
      await site.cluster.anchorNext(site.proposer, 1);
      const second = (await site.cluster.anchorNext(site.proposer, 1))!;
      const tip = await blockNumber();
      expect(await chain.provider.send("evm_revert", [snapshot])).to.equal(true);
      await mineTo(tip);
      // the first batch's only reading no longer passes (its device blocked); a new reading arrives
      site.directory.set(devices[0]!.id, Kind.Device, Status.Blocked, devices[0]!.key.publicKey);
      await site.proposer.ingest([devices[1]!.read(2, { sensitive: true })]);
      const first = (await site.cluster.anchorNext(site.proposer))!;
      expect([first.sequence, first.leafCount, first.reports]).to.deep.equal([1n, 1, []]);
      const again = (await site.cluster.anchorNext(site.proposer))!;
      expect([again.sequence, again.root, again.reports]).to.deep.equal([2n, second.root, []]);
      expect(await site.cluster.anchorNext(site.proposer)).to.equal(undefined);
      const store = site.proposer.store;
      expect([store.unbatched(10), store.dropped()]).to.deep.equal([[], new Map([["blocked", 1]])]);
    } finally {
      site.close();
    }
  });

  it("records our other root at a sequence when a reorganisation brings it back in place of the recorded one", async function () {
    let lost: { root: Hex; leafCount: number | bigint; signature: Uint8Array } | undefined;
    const site = openSite(config, chain.provider, {
      port: (port) => ({
        head: (c, t) => port.head(c, t),
        anchorOf: (c, r, t) => port.anchorOf(c, r, t),
        blockNumber: () => port.blockNumber!(),
        anchorFogBatch(c, r, n, s) {
          if (lost === undefined) {
            // the round's transaction is held back, its answer lost: it is sent later, on another branch
            lost = { root: r, leafCount: n, signature: s };
            return Promise.reject(new TransportError("the answer was lost"));
          }
          return port.anchorFogBatch(c, r, n, s);
        },
      }),
    });
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true }), devices[1]!.read(1, { sensitive: true })]);
      let error: unknown;
      await site.cluster.anchorNext(site.proposer).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TransportError);
      // a device is blocked meanwhile: the round shrinks to the other reading, anchored at 1
      site.directory.set(devices[1]!.id, Kind.Device, Status.Blocked, devices[1]!.key.publicKey);
      const snapshot = (await chain.provider.send("evm_snapshot", [])) as string;
      const shrunk = (await site.cluster.anchorNext(site.proposer))!;
      expect([shrunk.sequence, shrunk.leafCount]).to.deep.equal([1n, 1]);
      // a reorganisation: the branch without it mines the held-back transaction of the first root
      expect(await chain.provider.send("evm_revert", [snapshot])).to.equal(true);
      const x = await site.anchor.anchorFogBatch(config.cluster, lost!.root, lost!.leafCount, lost!.signature);
      expect(x.sequence).to.equal(1n);
      expect(await site.cluster.anchorNext(site.proposer)).to.equal(undefined);
      const store = site.proposer.store;
      expect(store.batches().map((b) => [b.sequence, b.root, b.leafCount])).to.deep.equal([[1, lost!.root, 2]]);
      // both readings are in the chain's batch: none is dropped, none waits
      expect([store.unbatched(10), store.dropped()]).to.deep.equal([[], new Map()]);
      await mineTo((await blockNumber()) + 2);
      expect(await site.cluster.reconcile(site.proposer)).to.deep.equal({ final: [1n], removed: [] });
      expect(store.rounds(config.cluster)).to.deep.equal([]);
      expect(await checkAnchoredOnce(site)).to.equal(2);
    } finally {
      site.close();
    }
  });

  it("takes nothing as removed through a node that lags behind the block the batch was anchored at", async function () {
    const site = openSite(config, chain.provider);
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true })]);
      const batch = (await site.cluster.anchorNext(site.proposer))!;
      // the same proposer, its cluster reading the same chain through a port 3 blocks behind
      const lagging = new FogCluster({
        id: config.cluster,
        deployment: { chainId: chain.chainId, anchor: config.anchor },
        commitments: d.cluster.commitments,
        scheme: d.scheme,
        members: site.members,
        anchor: laggingPort(site.anchor, chain.provider, 3),
        finalityDepth: 2,
        blocks: chain.provider,
      });
      expect(await lagging.reconcile(site.proposer)).to.deep.equal({ final: [], removed: [] });
      expect(site.proposer.store.batches().map((b) => b.root)).to.deep.equal([batch.root]);
      // once the lagging node is past the batch's block (and deep enough), it is final
      await mineTo((await blockNumber()) + 4);
      expect(await lagging.reconcile(site.proposer)).to.deep.equal({ final: [1n], removed: [] });
    } finally {
      site.close();
    }
  });

  it("without finalityDepth, reads the node's finalized block: provisional until the node finalizes it", async function () {
    const site = openSite(config, chain.provider, { finalityDepth: null });
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true })]);
      await site.cluster.anchorNext(site.proposer);
      expect(await site.cluster.reconcile(site.proposer)).to.deep.equal({ final: [], removed: [] });
      await site.proposer.ingest([devices[0]!.read(2, { sensitive: true })]);
      expect((await site.cluster.anchorNext(site.proposer))!.sequence).to.equal(2n);
      // anvil finalizes a block once 64 more are mined on it
      await chain.provider.send("anvil_mine", ["0x80"]);
      expect(await site.cluster.reconcile(site.proposer)).to.deep.equal({ final: [1n, 2n], removed: [] });
    } finally {
      site.close();
    }
  });

  it("fails at once, naming finalityDepth, through a node that refuses the finalized tag", async function () {
    const proxy = await rpcProxy(node.url, { refuseFinalized: true });
    const provider = new JsonRpcProvider(proxy.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const site = openSite(config, provider, { finalityDepth: null });
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true }), devices[0]!.read(2, { sensitive: true })]);
      expect((await site.cluster.anchorNext(site.proposer, 1))!.sequence).to.equal(1n);
      for (let i = 0; i < 2; i++) {
        let error: unknown;
        await site.cluster.anchorNext(site.proposer, 1).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).message).to.match(/finalityDepth/);
      }
      // with finalityDepth the same node anchors on (its stores reopened: one writer per file)
      site.close();
      const counted = openSite(config, provider);
      try {
        expect((await counted.cluster.anchorNext(counted.proposer, 1))!.sequence).to.equal(2n);
      } finally {
        counted.close();
      }
    } finally {
      site.close();
      provider.destroy();
      proxy.server.close();
    }
  });

  it("records a round whose transaction reached the node though the connection dropped before the answer", async function () {
    const proxy = await rpcProxy(node.url, { dropAfterSend: true });
    const provider = new JsonRpcProvider(proxy.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const site = openSite(config, provider);
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true }), devices[1]!.read(1, { sensitive: true })]);
      let error: unknown;
      await site.cluster.anchorNext(site.proposer).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TransportError);
      const [round] = site.proposer.store.rounds(config.cluster);
      // the transaction went through: the chain holds the round's root at its sequence
      expect((await chain.anchor.anchorOf(config.cluster, round!.root))?.sequence).to.equal(1n);
      await site.proposer.ingest([devices[0]!.read(2, { sensitive: true })]);
      const next = (await site.cluster.anchorNext(site.proposer))!;
      expect([next.sequence, next.leafCount]).to.deep.equal([2n, 1]);
      expect(site.proposer.store.batches().map((b) => [b.sequence, b.root])).to.deep.equal([
        [1, round!.root],
        [2, next.root],
      ]);
      expect(await site.cluster.anchorNext(site.proposer)).to.equal(undefined);
      expect(await checkAnchoredOnce(site)).to.equal(3);
    } finally {
      site.close();
      provider.destroy();
      proxy.server.close();
    }
  });

  it("a block number that cannot be read is a TransportError", async function () {
    const dropper = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropper.listen(0, "127.0.0.1", resolve));
    const dead = new JsonRpcProvider(`http://127.0.0.1:${(dropper.address() as { port: number }).port}`, undefined, {
      staticNetwork: true,
    });
    const site = openSite(config, chain.provider);
    try {
      await site.proposer.ingest([devices[0]!.read(1, { sensitive: true })]);
      await site.cluster.anchorNext(site.proposer);
      const cluster = new FogCluster({
        id: config.cluster,
        deployment: { chainId: chain.chainId, anchor: config.anchor },
        commitments: d.cluster.commitments,
        scheme: d.scheme,
        members: site.members,
        anchor: {
          head: (c, t) => site.anchor.head(c, t),
          anchorOf: (c, r, t) => site.anchor.anchorOf(c, r, t),
          anchorFogBatch: (c, r, n, s) => site.anchor.anchorFogBatch(c, r, n, s),
        },
        finalityDepth: 2,
        blocks: dead,
      });
      let error: unknown;
      await cluster.reconcile(site.proposer).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(TransportError);
    } finally {
      site.close();
      dead.destroy();
      dropper.close();
    }
  });
});
