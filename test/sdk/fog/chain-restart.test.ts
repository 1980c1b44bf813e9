/**
 * A fog cluster's anchoring while its chain node (anvil, in its own process) is stopped and started
 * again on its saved state (`--state`) at the same URL: with the node down, `anchorNext` fails with
 * a typed transport error and the proposer's store keeps every reading, unbatched, with no batch or
 * round recorded; with the node back, anchoring resumes and every sensitive reading is anchored
 * exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { TransportError } from "../../../sdk/errors.ts";
import { FogStore } from "../../../sdk/store/fog-store.ts";
import { type Device, type District, makeDistrict } from "../../helpers/fog.ts";
import { type Chain, deployChain, deploySite, openSite, type SiteConfig, storePath } from "../../helpers/fog-site.ts";
import { type NodeProcess, startAnvil } from "../../../support/node-process.ts";

describe("FogCluster across a chain node stopped and restarted (a real anvil node with its state file)", function () {
  this.timeout(120_000);
  let node: NodeProcess;
  let chain: Chain;
  let d: District;
  let dir: string;
  let devices: Device[];
  let config: SiteConfig;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-fog-restart-"));
    node = await startAnvil(31337n, { stateFile: join(dir, "anvil-state.json") });
    chain = await deployChain(node.url, node.provider);
    d = makeDistrict(3, 5);
    devices = [d.device({ register: false }), d.device({ register: false })];
    config = await deploySite(chain, d, dir, devices);
  });
  afterEach(async function () {
    await node?.stop();
    d.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The proposer's store and the chain agree: every reading in exactly one batch the chain holds where the store says. */
  const checkAnchoredOnce = async (): Promise<number> => {
    const store = new FogStore(storePath(config, 1), config.members[0]!.id);
    try {
      const batches = store.batches();
      const head = await chain.anchor.head(config.cluster);
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

  it("fails anchorNext with a TransportError while the node is down, loses and records nothing, and anchors every reading once after", async function () {
    const site = openSite(config, node.provider);
    try {
      for (let i = 0; i < 3; i++) await site.proposer.ingest([devices[i % 2]!.read(i, { sensitive: true })]);
      const first = (await site.cluster.anchorNext(site.proposer))!;
      expect([first.sequence, first.leafCount]).to.deep.equal([1n, 3]);
      for (let i = 3; i < 5; i++) await site.proposer.ingest([devices[i % 2]!.read(i, { sensitive: true })]);
      const blocks = await node.provider.getBlockNumber();

      await node.halt();
      const error = await site.cluster.anchorNext(site.proposer).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TransportError);
      // nothing recorded, nothing lost: one batch, two readings still waiting, no round open
      expect(site.proposer.store.batches().map((b) => b.sequence)).to.deep.equal([1]);
      expect(site.proposer.store.unbatched(10_000)).to.have.length(2);
      expect(site.proposer.store.rounds(config.cluster)).to.deep.equal([]);

      // the node is back at the same URL with its chain; the site keeps its provider
      await node.restart();
      expect(await node.provider.getBlockNumber()).to.equal(blocks);
      expect(await chain.anchor.head(config.cluster)).to.equal(1n);
      const second = (await site.cluster.anchorNext(site.proposer))!;
      expect([second.sequence, second.leafCount]).to.deep.equal([2n, 2]);
      expect(await site.cluster.anchorNext(site.proposer)).to.equal(undefined);
    } finally {
      site.close();
    }
    expect(await checkAnchoredOnce()).to.equal(5);
  });
});
