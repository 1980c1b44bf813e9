/**
 * A base station's anchoring against a real node in its own process (anvil)
 * whose chain the tests roll back, hold back, drop transactions from, or swap
 * for another chain: a rolled-back anchor is noticed and its batch anchored
 * again in order, anchors are final only after `finalityDepth` confirmations,
 * a dropped transaction is replaced, a restart with a transaction still pending
 * reports it pending and sends no second one, a silent node fails calls with a
 * `TimeoutError`, and a wrong chain or an address with no code is refused
 * before anything is sent. Every clock the station and the application compare
 * is pinned to the chain's.
 */
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

import { expect } from "chai";
import { JsonRpcProvider, Transaction, Wallet } from "ethers";

import { guarded } from "../../sdk/contracts/revert.ts";
import { openPrimaryKey } from "../../sdk/core/nbiot/provisioning.ts";
import { pkgStationKeys } from "../../sdk/core/nbiot/params.ts";
import { type AnchoringOptions, BaseStation } from "../../sdk/nbiot/base-station.ts";
import { Application } from "../../sdk/nbiot/application.ts";
import { type AnchorWriter, providerChainClock, registryDirectory } from "../../sdk/nbiot/ports.ts";
import {
  ConfigError,
  FeeCapError,
  type Hex,
  NoCodeError,
  ProtocolError,
  TimeoutError,
  TransportError,
  TxRejectedError,
  WrongChainError,
} from "../../sdk/index.ts";
import { DataAnchorClient, type SignedTx } from "../../sdk/exports/anchoring.ts";
import { DeviceRegistryClient, Kind } from "../../sdk/exports/registry.ts";
import { DataAnchor__factory } from "../../types/ethers-contracts/index.ts";
import { makeWorld, randomId, reading, sendAll, testClock, type World } from "../helpers/nbiot.ts";
import { startAnvil } from "../../support/node-process.ts";
import { rpcProxy } from "../helpers/rpc-proxy.ts";
import { type AnchorChain, deployAnchorChain } from "../helpers/station-chain.ts";

/** `client` as a station's port, with some of its reads replaced (a lagging or pruning node). */
function port(client: DataAnchorClient, over: Partial<AnchorWriter> = {}): AnchorWriter {
  return {
    signAnchor: (g, r, n, replacing, fees) => client.signAnchor(g, r, n, replacing, fees),
    broadcast: (tx) => client.broadcast(tx),
    mined: (hash, ms) => client.mined(hash, ms),
    minedNonce: () => client.minedNonce(),
    blockNumber: () => client.blockNumber(),
    head: (g, tag) => client.head(g, tag),
    anchorOf: (g, r, tag) => client.anchorOf(g, r, tag),
    ...over,
  };
}

describe("base station anchoring under chain faults (anvil)", function () {
  this.timeout(180_000);
  let chain: AnchorChain;
  let world: World;
  let now: number;

  before(async function () {
    chain = await deployAnchorChain(await startAnvil());
  });

  after(async function () {
    await chain?.node.stop();
  });

  beforeEach(async function () {
    world = makeWorld();
    now = Number((await chain.provider.getBlock("latest"))!.timestamp) * 1000;
  });

  afterEach(async function () {
    await chain.rpc("evm_setAutomine", [true]);
    world.cleanup();
  });

  function openStation(id: Hex, anchoring: AnchoringOptions, path = join(world.dir, `${id}.sqlite`)): BaseStation {
    world.directory.set(id, Kind.BaseStation);
    return BaseStation.open({
      params: world.params,
      keys: pkgStationKeys(world.pkg, id),
      storePath: path,
      directory: world.directory,
      stations: () => undefined,
      clock: () => testClock.now,
      anchoring,
    });
  }

  /** A node entered at `bs`, with the application that provisioned it. */
  async function nodeAt(bs: BaseStation, reader: DataAnchorClient) {
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
    return { node, app };
  }

  /** One reading through `bs`, sealed into the next batch. */
  async function batch(bs: BaseStation, node: ReturnType<World["node"]>, celsius: number) {
    now += 10;
    sendAll(node, bs, [reading(celsius, now)], now);
    now += 10;
    return (await bs.seal(now))!;
  }

  it("notices a rollback past its anchor, anchors the batch again before later ones, and counts depth for finality", async function () {
    const { id, key } = await chain.station();
    const bs = openStation(id, { finalityDepth: 3, receiptTimeoutMs: 5_000 });
    const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });
    const reader = new DataAnchorClient(chain.anchorAddress, chain.provider, { chainId: chain.chainId });
    const { node, app } = await nodeAt(bs, reader);

    const b1 = await batch(bs, node, 20.5);
    expect((await bs.anchorPending(client)).map((b) => b.anchor!.sequence)).to.deep.equal([1n]);
    expect(bs.anchorState(b1.number)).to.equal("anchored"); // one confirmation of three
    await chain.rpc("evm_mine");
    await bs.anchorPending(client);
    expect(bs.anchorState(b1.number)).to.equal("anchored"); // two
    await chain.rpc("evm_mine");
    await bs.anchorPending(client);
    expect(bs.anchorState(b1.number)).to.equal("final"); // three

    const snapshot = await chain.rpc("evm_snapshot");
    const b2 = await batch(bs, node, 21.5);
    expect((await bs.anchorPending(client)).map((b) => b.anchor!.sequence)).to.deep.equal([2n]);
    expect(bs.anchorState(b2.number)).to.equal("anchored");

    // the chain rolls back past batch 2's anchor
    expect(await chain.rpc("evm_revert", [snapshot])).to.equal(true);
    expect(await reader.head(id)).to.equal(1n);
    const b3 = await batch(bs, node, 22.5);
    // below the block where the anchor was seen, a rolled-back chain looks like a node that lags:
    // nothing is proven removed, and batch 3 waits rather than take batch 2's sequence
    expect(await bs.anchorPending(client)).to.deep.equal([]);
    expect(await reader.head(id)).to.equal(1n);
    expect(bs.anchorState(b2.number)).to.equal("anchored");
    // the chain grows past that block without the anchor: removed, anchored again before batch 3
    await chain.rpc("evm_mine");
    await chain.rpc("evm_mine");
    const again = await bs.anchorPending(client);
    expect(again.map((b) => [b.number, b.anchor!.sequence])).to.deep.equal([
      [b2.number, 2n],
      [b3.number, 3n],
    ]);
    expect(await reader.head(id)).to.equal(3n);
    expect((await reader.anchorOf(id, b2.root))!.sequence).to.equal(2n);
    expect((await reader.anchorOf(id, b3.root))!.sequence).to.equal(3n);
    expect(bs.store.batch(b2.number)!.anchor!.sequence).to.equal(2n);
    expect(bs.store.batch(b3.number)!.anchor!.sequence).to.equal(3n);
    const { readings } = await app.acquire(node.id, 0, now + 1, [bs]);
    expect(readings).to.have.length(3);
  });

  it("replaces a transaction the node dropped from its mempool, at the same nonce, and completes", async function () {
    const { id, key } = await chain.station();
    const bs = openStation(id, { finalityDepth: 1, receiptTimeoutMs: 500 });
    const reader = new DataAnchorClient(chain.anchorAddress, chain.provider);
    const { node } = await nodeAt(bs, reader);
    const b1 = await batch(bs, node, 19);

    class DroppingClient extends DataAnchorClient {
      dropped: SignedTx | undefined;
      override async broadcast(tx: SignedTx): Promise<void> {
        await super.broadcast(tx);
        if (this.dropped === undefined) {
          this.dropped = tx;
          expect(await chain.rpc("anvil_dropTransaction", [tx.hash])).to.equal(tx.hash);
          await chain.rpc("evm_setAutomine", [true]);
        }
      }
    }
    await chain.rpc("evm_setAutomine", [false]);
    const client = new DroppingClient(chain.anchorAddress, key);
    const done = await bs.anchorPending(client);
    expect(done.map((b) => b.anchor!.sequence)).to.deep.equal([1n]);
    const kept = bs.store.anchorTxs(b1.number);
    expect(kept).to.have.length(2);
    expect(kept[0]!.hash).to.equal(client.dropped!.hash);
    expect(kept[1]!.nonce).to.equal(kept[0]!.nonce);
    expect(done[0]!.anchor!.txHash).to.equal(kept[1]!.hash);
    expect(await chain.provider.getTransactionReceipt(kept[0]!.hash)).to.equal(null);
    expect(bs.anchorState(b1.number)).to.equal("final");
  });

  it("after a restart with its transaction still pending, reports it pending and sends no second one", async function () {
    const { id, key } = await chain.station();
    const options = { finalityDepth: 1, receiptTimeoutMs: 300, maxReplacements: 0 };
    const path = join(world.dir, "restart.sqlite");
    const bs = openStation(id, options, path);
    const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });
    const { node } = await nodeAt(bs, new DataAnchorClient(chain.anchorAddress, chain.provider));
    const b1 = await batch(bs, node, 18);

    await chain.rpc("evm_setAutomine", [false]);
    expect(await bs.anchorPending(client)).to.deep.equal([]);
    expect(bs.anchorState(b1.number)).to.equal("pending");
    const [kept] = bs.store.anchorTxs(b1.number);
    bs.close();

    const reopened = openStation(id, options, path);
    expect(reopened.anchorState(b1.number)).to.equal("pending");
    expect(await reopened.anchorPending(client)).to.deep.equal([]); // no DataAnchorRootExists, no new nonce
    expect(reopened.store.anchorTxs(b1.number)).to.deep.equal([kept]);

    await chain.rpc("evm_mine");
    const done = await reopened.anchorPending(client);
    expect(done.map((b) => [b.number, b.anchor!.sequence, b.anchor!.txHash])).to.deep.equal([
      [b1.number, 1n, kept!.hash],
    ]);
    expect(reopened.anchorState(b1.number)).to.equal("final");
    expect(await client.head(id)).to.equal(1n);
    reopened.close();
  });

  it("replaces a transaction stuck in the mempool though the node estimates at its pending block, and anchors once", async function () {
    const { id, key } = await chain.station();
    const bs = openStation(id, { finalityDepth: 1, receiptTimeoutMs: 200, maxReplacements: 1 });
    const reader = new DataAnchorClient(chain.anchorAddress, chain.provider);
    const { node } = await nodeAt(bs, reader);
    const b1 = await batch(bs, node, 17);
    const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });

    await chain.rpc("evm_setAutomine", [false]); // the first transaction stays in the mempool
    expect(await bs.anchorPending(client)).to.deep.equal([]);
    const kept = bs.store.anchorTxs(b1.number);
    expect(kept).to.have.length(2);
    const [first, second] = kept.map((k) => Transaction.from(k.raw));
    expect(second!.nonce).to.equal(first!.nonce);
    expect(second!.gasLimit).to.equal(first!.gasLimit);
    expect(second!.maxFeePerGas! >= (first!.maxFeePerGas! * 5n) / 4n).to.equal(true);

    await chain.rpc("evm_mine");
    const done = await bs.anchorPending(client);
    expect(done.map((b) => b.anchor!.txHash)).to.deep.equal([kept[1]!.hash]);
    expect(await reader.head(id)).to.equal(1n);
    expect(await chain.provider.getTransactionReceipt(kept[0]!.hash)).to.equal(null);
  });

  it("never replaces above maxFeePerGas: the transaction stays pending and the batch says why", async function () {
    const { id, key } = await chain.station();
    const cap = (await chain.provider.getFeeData()).maxFeePerGas!;
    const bs = openStation(id, { finalityDepth: 1, receiptTimeoutMs: 200, maxReplacements: 2, maxFeePerGas: cap });
    const { node } = await nodeAt(bs, new DataAnchorClient(chain.anchorAddress, chain.provider));
    const b1 = await batch(bs, node, 16);
    const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });

    await chain.rpc("evm_setAutomine", [false]);
    expect(await bs.anchorPending(client)).to.deep.equal([]);
    const kept = bs.store.anchorTxs(b1.number);
    expect(kept).to.have.length(1);
    expect(Transaction.from(kept[0]!.raw).maxFeePerGas! <= cap).to.equal(true);
    expect(bs.anchorState(b1.number)).to.equal("pending");
    expect(bs.anchorFault(b1.number)).to.be.instanceOf(FeeCapError);

    await chain.rpc("evm_mine");
    const done = await bs.anchorPending(client);
    expect(done.map((b) => b.anchor!.txHash)).to.deep.equal([kept[0]!.hash]);
    expect(bs.anchorFault(b1.number)).to.equal(undefined);
  });

  it("fails with a TxRejectedError, not pending, when the node refuses its transaction (a key with no ETH)", async function () {
    const { id, key } = await chain.station();
    // the station's key gives all it has away: nothing is left for gas
    const gasPrice = (await chain.provider.getFeeData()).gasPrice! * 2n;
    const balance = await chain.provider.getBalance(key.address);
    const admin = await chain.admin.getAddress();
    await (
      await key.sendTransaction({
        to: admin,
        value: balance - 21_000n * gasPrice,
        gasPrice,
        gasLimit: 21_000n,
        type: 0,
      })
    ).wait();
    expect(await chain.provider.getBalance(key.address)).to.equal(0n);

    const bs = openStation(id, { finalityDepth: 1, receiptTimeoutMs: 200 });
    const { node } = await nodeAt(bs, new DataAnchorClient(chain.anchorAddress, chain.provider));
    const b1 = await batch(bs, node, 15);
    const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });
    const error = await bs.anchorPending(client).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TxRejectedError);
    expect((error as TxRejectedError).message).to.match(/insufficient funds/i);
    expect(bs.anchorFault(b1.number)).to.equal(error);
  });

  it("refuses, naming finalityDepth, a node without the finalized tag when asked to wait for it", async function () {
    const { id, key } = await chain.station();
    const proxy = await rpcProxy(chain.node.url, { refuseFinalized: true });
    const provider = new JsonRpcProvider(proxy.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const bs = openStation(id, { finalityDepth: "finalized", receiptTimeoutMs: 2_000 });
      const { node } = await nodeAt(bs, new DataAnchorClient(chain.anchorAddress, chain.provider));
      await batch(bs, node, 14);
      const client = new DataAnchorClient(chain.anchorAddress, key.connect(provider), { chainId: chain.chainId });
      for (let call = 0; call < 2; call++) {
        const error = await bs.anchorPending(client).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).message).to.match(/finalityDepth/);
      }
      expect(await client.head(id)).to.equal(1n); // the batch went through before the check refused the node
    } finally {
      provider.destroy();
      proxy.server.close();
    }
  });

  it("anchors new batches when a check of an older anchor fails (a node without the state of the final block)", async function () {
    const { id, key } = await chain.station();
    const bs = openStation(id, { finalityDepth: 4, receiptTimeoutMs: 2_000 });
    const { node } = await nodeAt(bs, new DataAnchorClient(chain.anchorAddress, chain.provider));
    const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });
    const b1 = await batch(bs, node, 13);
    expect((await bs.anchorPending(client)).map((b) => b.number)).to.deep.equal([b1.number]);
    for (let i = 0; i < 3; i++) await chain.rpc("evm_mine");

    // the node keeps the state of its latest two blocks only
    const pruned = async (tag: number | "latest" | "finalized" | undefined): Promise<void> => {
      if (typeof tag === "number" && tag < (await client.blockNumber()) - 1) {
        throw new TransportError("missing trie node (state is not available)");
      }
    };
    const pruning = port(client, {
      head: async (g, tag) => (await pruned(tag), client.head(g, tag)),
      anchorOf: async (g, r, tag) => (await pruned(tag), client.anchorOf(g, r, tag)),
    });
    const b2 = await batch(bs, node, 12);
    expect((await bs.anchorPending(pruning)).map((b) => b.number)).to.deep.equal([b2.number]);
    expect(bs.anchorFault(b1.number)).to.be.instanceOf(TransportError);
    expect(bs.anchorState(b1.number)).to.equal("anchored"); // unchanged: the check proved nothing
    // through a node that has the state, the old anchor is found final
    await bs.anchorPending(client);
    expect(bs.anchorState(b1.number)).to.equal("final");
  });

  it("keeps an anchor that a lagging node does not show yet, and sends nothing for it", async function () {
    const { id, key } = await chain.station();
    const bs = openStation(id, { finalityDepth: 3, receiptTimeoutMs: 2_000 });
    const { node } = await nodeAt(bs, new DataAnchorClient(chain.anchorAddress, chain.provider));
    const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });
    const b1 = await batch(bs, node, 11);
    expect((await bs.anchorPending(client)).map((b) => b.number)).to.deep.equal([b1.number]);
    const minedAt = await client.blockNumber();

    // a load-balanced RPC answers from a node one block behind: the anchor's block is not there yet
    const lagged = async (tag?: number | "latest" | "finalized") =>
      tag === undefined || tag === "latest" ? (await client.blockNumber()) - 1 : tag;
    const lagging = port(client, {
      blockNumber: async () => (await client.blockNumber()) - 1,
      head: async (g, tag) => client.head(g, await lagged(tag)),
      anchorOf: async (g, r, tag) => client.anchorOf(g, r, await lagged(tag)),
    });
    expect(await lagging.anchorOf(id, b1.root)).to.equal(undefined);
    expect(await bs.anchorPending(lagging)).to.deep.equal([]);
    expect(bs.anchorState(b1.number)).to.equal("anchored");
    expect(bs.store.batch(b1.number)!.anchor!.sequence).to.equal(1n);
    expect(bs.store.anchorTxs(b1.number)).to.have.length(1);
    expect(await client.blockNumber()).to.equal(minedAt); // nothing sent
  });

  it("stops waiting for a receipt at its deadline: no listener is left polling the node", async function () {
    const { id, key } = await chain.station();
    const provider = new JsonRpcProvider(chain.node.url, undefined, { staticNetwork: true });
    try {
      const client = new DataAnchorClient(chain.anchorAddress, key.connect(provider), {
        chainId: chain.chainId,
        receiptTimeoutMs: 300,
      });
      await chain.rpc("evm_setAutomine", [false]);
      const error = await client.anchor(id, `0x${"7c".repeat(32)}`, 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TimeoutError);
      expect(await provider.listenerCount()).to.equal(0);
    } finally {
      provider.destroy();
    }
  });

  describe("the chain's clock", function () {
    it("seals on a chain that makes blocks only for transactions, idle for longer than the skew", async function () {
      const skew = world.params.timing.clockSkewMs;
      const latest = (await chain.provider.getBlock("latest"))!.timestamp * 1000;
      // chain time moves on with no block made; the station's clock moves with it
      await chain.rpc("evm_increaseTime", [Math.ceil((2 * skew) / 1000)]);
      const stationNow = latest + 2 * skew;
      const id = randomId();
      world.directory.set(id, Kind.BaseStation);
      const bs = BaseStation.open({
        params: world.params,
        keys: pkgStationKeys(world.pkg, id),
        storePath: join(world.dir, "idle.sqlite"),
        directory: world.directory,
        stations: () => undefined,
        clock: () => testClock.now,
        chain: providerChainClock(chain.provider),
      });
      try {
        const node = world.node();
        testClock.now = stationNow;
        node.accept(await bs.authenticate(node.enter(bs.id, stationNow), stationNow), stationNow);
        sendAll(node, bs, [reading(10, stationNow)], stationNow);
        expect((await chain.provider.getBlock("latest"))!.timestamp * 1000).to.equal(latest); // still idle
        const sealed = await bs.seal(stationNow);
        expect(sealed?.leafCount).to.equal(1);
      } finally {
        bs.close();
      }
    });

    it("fails a seal with a TimeoutError when the node never answers", async function () {
      const sockets = new Set<Socket>();
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const silent = new JsonRpcProvider(`http://127.0.0.1:${(server.address() as { port: number }).port}`, undefined, {
        staticNetwork: true,
      });
      const id = randomId();
      world.directory.set(id, Kind.BaseStation);
      const bs = BaseStation.open({
        params: world.params,
        keys: pkgStationKeys(world.pkg, id),
        storePath: join(world.dir, "silent-clock.sqlite"),
        directory: world.directory,
        stations: () => undefined,
        clock: () => testClock.now,
        chain: providerChainClock(silent, { timeoutMs: 300 }),
      });
      try {
        const node = world.node();
        testClock.now = now;
        node.accept(await bs.authenticate(node.enter(bs.id, now), now), now);
        sendAll(node, bs, [reading(9, now)], now);
        const error = await bs.seal(now).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(TimeoutError);
        expect(bs.store.counts().batches).to.equal(0);
      } finally {
        bs.close();
        silent.destroy();
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  describe("a node that accepts connections and never answers", function () {
    let server: Server;
    const sockets = new Set<Socket>();
    let url: string;

    before(async function () {
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async function () {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("fails a client's call with a TimeoutError within its deadline", async function () {
      const silent = new JsonRpcProvider(url, undefined, { staticNetwork: true });
      try {
        const client = new DataAnchorClient(chain.anchorAddress, silent, { timeoutMs: 300 });
        const error = await client.head(randomId()).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(TimeoutError);
        expect((error as TimeoutError).retryable).to.equal(true);
      } finally {
        silent.destroy();
      }
    });

    it("fails a call through the guard every client shares with a TimeoutError within its deadline", async function () {
      const silent = new JsonRpcProvider(url, undefined, { staticNetwork: true });
      try {
        const iface = DataAnchor__factory.createInterface();
        const error = await guarded("DeviceRegistry", iface, () => silent.getBlockNumber(), 300).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(TimeoutError);
      } finally {
        silent.destroy();
      }
    });

    it("fails a station's authenticate with a TimeoutError when its registry lookup gets no answer", async function () {
      const silent = new JsonRpcProvider(url, undefined, { staticNetwork: true });
      try {
        const registry = new DeviceRegistryClient(chain.registry.address, silent);
        const bs = BaseStation.open({
          params: world.params,
          keys: pkgStationKeys(world.pkg, randomId()),
          storePath: join(world.dir, "silent.sqlite"),
          directory: registryDirectory(registry, { ttlMs: 0, clock: () => now, timeoutMs: 300 }),
          stations: () => undefined,
          clock: () => testClock.now,
        });
        const node = world.node();
        testClock.now = now;
        const request = node.enter(bs.id, now);
        const error = await bs.authenticate(request, now).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(TimeoutError);
        // the request is used: the error says to retry with a new one, and the same bytes are a replay
        expect((error as TimeoutError).message).to.match(/retry with a new request/);
        const again = await bs.authenticate(request, now).then(
          () => undefined,
          (e: unknown) => e,
        );
        bs.close();
        expect(again).to.be.instanceOf(ProtocolError);
        expect((again as ProtocolError).reason).to.equal("replay");
      } finally {
        silent.destroy();
      }
    });
  });

  it("refuses a wrong chain and an address with no code before sending anything", async function () {
    const { id, key } = await chain.station();
    const root = `0x${"5a".repeat(32)}` as Hex;
    const nonce = await key.getNonce("latest");
    const pinnedElsewhere = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId + 1n });
    const wrong = await pinnedElsewhere.anchor(id, root, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(wrong).to.be.instanceOf(WrongChainError);
    expect(await pinnedElsewhere.signAnchor(id, root, 1).catch((e: unknown) => e)).to.be.instanceOf(WrongChainError);

    const nowhere = new DataAnchorClient(Wallet.createRandom().address, key, { chainId: chain.chainId });
    expect(await nowhere.anchor(id, root, 1).catch((e: unknown) => e)).to.be.instanceOf(NoCodeError);
    expect(await nowhere.head(id).catch((e: unknown) => e)).to.be.instanceOf(NoCodeError);
    expect(await key.getNonce("pending")).to.equal(nonce);
  });

  it("refuses a registry transaction on a wrong chain or to an address with no code before sending it", async function () {
    const admin = await chain.admin.getAddress();
    const nonce = await chain.provider.getTransactionCount(admin, "pending");
    const elsewhere = new DeviceRegistryClient(chain.registry.address, chain.admin, { chainId: chain.chainId + 1n });
    expect(await elsewhere.setLayerOperator("strata://x/y/z", admin).catch((e: unknown) => e)).to.be.instanceOf(
      WrongChainError,
    );
    const nowhere = new DeviceRegistryClient(Wallet.createRandom().address, chain.admin, { chainId: chain.chainId });
    expect(await nowhere.setLayerOperator("strata://x/y/z", admin).catch((e: unknown) => e)).to.be.instanceOf(
      NoCodeError,
    );
    expect(await chain.provider.getTransactionCount(admin, "pending")).to.equal(nonce);
  });

  it("refuses the same deployer's addresses on another chain when the chain id is pinned", async function () {
    const other = await startAnvil(31338n);
    try {
      const copy = await deployAnchorChain(other);
      expect(copy.anchorAddress).to.equal(chain.anchorAddress); // same deployer, same nonces
      const { id, key } = await copy.station();
      const client = new DataAnchorClient(chain.anchorAddress, key, { chainId: chain.chainId });
      const nonce = await key.getNonce("latest");
      expect(await client.anchor(id, `0x${"6b".repeat(32)}`, 1).catch((e: unknown) => e)).to.be.instanceOf(
        WrongChainError,
      );
      expect(await key.getNonce("pending")).to.equal(nonce);
    } finally {
      await other.stop();
    }
  });
});
