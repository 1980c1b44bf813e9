/**
 * A base station's anchoring while its chain node (anvil, in its own process)
 * is stopped and started again at the same URL: with the node down,
 * `anchorPending` fails with a typed, retryable error and the store keeps every
 * batch as it was; with the node back on its saved state (anvil's `--state`),
 * every batch is anchored exactly once, in order. A node restarted without its
 * state (its data lost: a fresh chain with the same chain id) has no code at
 * the contract's address, and the station says so (`NoCodeError`) rather than
 * treat its anchors as removed or report success.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { openPrimaryKey } from "../../sdk/core/nbiot/provisioning.ts";
import { pkgStationKeys } from "../../sdk/core/nbiot/params.ts";
import { type AnchoringOptions, BaseStation } from "../../sdk/nbiot/base-station.ts";
import { Application } from "../../sdk/nbiot/application.ts";
import { type Hex, NoCodeError, StrataError, TransportError } from "../../sdk/index.ts";
import { DataAnchorClient } from "../../sdk/exports/anchoring.ts";
import { Kind } from "../../sdk/exports/registry.ts";
import { makeWorld, randomId, reading, sendAll, testClock, type World } from "../helpers/nbiot.ts";
import { startAnvil } from "../../support/node-process.ts";
import { type AnchorChain, deployAnchorChain } from "../helpers/station-chain.ts";

describe("base station anchoring across a chain node stopped and restarted (anvil)", function () {
  this.timeout(120_000);
  let chain: AnchorChain;
  let world: World;
  let stateDir: string;
  let now: number;

  beforeEach(async function () {
    stateDir = mkdtempSync(join(tmpdir(), "strata-anvil-state-"));
    chain = await deployAnchorChain(await startAnvil(31337n, { stateFile: join(stateDir, "state.json") }));
    world = makeWorld();
    now = Number((await chain.provider.getBlock("latest"))!.timestamp) * 1000;
  });

  afterEach(async function () {
    await chain?.node.stop();
    world.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  });

  function openStation(id: Hex, anchoring: AnchoringOptions): BaseStation {
    world.directory.set(id, Kind.BaseStation);
    return BaseStation.open({
      params: world.params,
      keys: pkgStationKeys(world.pkg, id),
      storePath: join(world.dir, `${id}.sqlite`),
      directory: world.directory,
      stations: () => undefined,
      clock: () => testClock.now,
      anchoring,
    });
  }

  /** A station with a node entered at it, the application that provisioned the node, and clients. */
  async function setup() {
    const { id, key } = await chain.station();
    const bs = openStation(id, { receiptTimeoutMs: 5_000 });
    // small deadlines: a call to a stopped node fails fast
    const client = new DataAnchorClient(chain.anchorAddress, key, {
      chainId: chain.chainId,
      timeoutMs: 1_000,
      receiptTimeoutMs: 5_000,
    });
    const reader = new DataAnchorClient(chain.anchorAddress, chain.provider, { chainId: chain.chainId });
    const nodeId = randomId();
    const app = new Application({
      params: world.params,
      keys: world.applicationKeys(),
      anchors: reader,
      directory: world.directory,
    });
    const primary = openPrimaryKey(world.params, world.keys(nodeId), app.id, app.provision(nodeId, now));
    const node = world.node(nodeId, primary);
    testClock.now = now;
    node.accept(await bs.authenticate(node.enter(bs.id, now), now), now);
    return { id, key, bs, client, reader, node, app };
  }

  /** One reading through `bs`, sealed into the next batch. */
  async function batch(bs: BaseStation, node: ReturnType<World["node"]>, celsius: number) {
    now += 10;
    sendAll(node, bs, [reading(celsius, now)], now);
    now += 10;
    return (await bs.seal(now))!;
  }

  it("fails fast with a retryable error while the node is down, then anchors every batch once on its saved chain", async function () {
    const { id, key, bs, client, reader, node, app } = await setup();
    const b1 = await batch(bs, node, 20.5);
    expect((await bs.anchorPending(client)).map((b) => b.anchor!.sequence)).to.deep.equal([1n]);
    const b2 = await batch(bs, node, 21.5);
    const b3 = await batch(bs, node, 22.5);
    const nonce = await key.getNonce("latest");
    const blocks = await chain.provider.getBlockNumber();
    const block1 = (await chain.provider.getBlock(1))!.hash;

    await chain.node.halt();
    const error = await bs.anchorPending(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TransportError); // a TimeoutError is one too
    expect(bs.anchorFault(b2.number)).to.be.instanceOf(TransportError);
    // the store is unchanged: nothing marked anchored, nothing pending, nothing forgotten
    expect(bs.anchorState(b1.number)).to.equal("anchored");
    expect(bs.anchorState(b2.number)).to.equal("unsent");
    expect(bs.anchorState(b3.number)).to.equal("unsent");
    expect(bs.store.batch(b1.number)!.anchor!.sequence).to.equal(1n);

    // back at the same URL with its saved chain: clients holding the provider work again
    await chain.node.restart();
    expect((await chain.provider.getNetwork()).chainId).to.equal(chain.chainId);
    expect(await chain.provider.getBlockNumber()).to.equal(blocks);
    expect((await chain.provider.getBlock(1))!.hash).to.equal(block1);
    expect(await key.getNonce("latest")).to.equal(nonce); // nothing was sent while the node was down
    expect(await reader.head(id)).to.equal(1n);

    const anchored = await bs.anchorPending(client);
    expect(anchored.map((b) => [b.number, b.anchor!.sequence])).to.deep.equal([
      [b2.number, 2n],
      [b3.number, 3n],
    ]);
    expect(await key.getNonce("latest")).to.equal(nonce + 2); // one transaction per batch
    expect(await reader.head(id)).to.equal(3n);
    for (const [b, sequence] of [
      [b1, 1n],
      [b2, 2n],
      [b3, 3n],
    ] as const) {
      expect((await reader.anchorOf(id, b.root))!.sequence).to.equal(sequence);
      expect(bs.store.batch(b.number)!.anchor!.sequence).to.equal(sequence);
      expect(bs.anchorState(b.number)).to.be.oneOf(["anchored", "final"]);
    }
    // nothing left to send
    expect(await bs.anchorPending(client)).to.deep.equal([]);
    expect(await reader.head(id)).to.equal(3n);
    const { readings } = await app.acquire(node.id, 0, now + 1, [bs]);
    expect(readings).to.have.length(3);
  });

  it("refuses with a NoCodeError a node restarted without its state, and keeps its anchors as they were", async function () {
    const { key, bs, client, node } = await setup();
    const b1 = await batch(bs, node, 20.5);
    expect((await bs.anchorPending(client)).map((b) => b.anchor!.sequence)).to.deep.equal([1n]);
    const b2 = await batch(bs, node, 21.5);

    // the operator lost the node's data: a new chain, same URL, same chain id, no contracts
    await chain.node.restart({ fresh: true });
    expect((await chain.provider.getNetwork()).chainId).to.equal(chain.chainId);
    expect(await chain.provider.getCode(chain.anchorAddress)).to.equal("0x");

    // a client that has not checked the deployment yet (the station restarted too) refuses it
    const restarted = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId, timeoutMs: 1_000 });
    const error = await bs.anchorPending(restarted).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NoCodeError);
    // not treated as removed, nor as anchored, and nothing sent
    expect(bs.anchorState(b1.number)).to.equal("anchored");
    expect(bs.store.batch(b1.number)!.anchor!.sequence).to.equal(1n);
    expect(bs.anchorState(b2.number)).to.equal("unsent");
    expect(await key.getNonce("pending")).to.equal(0);

    // a client that checked the deployment before the loss fails too, with a typed error, never a success:
    // the recheck reads an empty result where the contract was (a TransportError), so batch 1 stays as it was
    const stale = await bs.anchorPending(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(stale).to.be.instanceOf(StrataError);
    expect(bs.anchorFault(b1.number)).to.be.instanceOf(TransportError);
    expect(bs.anchorState(b1.number)).to.equal("anchored");
    expect(bs.anchorState(b2.number)).to.not.be.oneOf(["anchored", "final"]);
  });
});
