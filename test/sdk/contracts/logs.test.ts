/**
 * The chunked log reader behind a provider that caps `eth_getLogs` at 10,000
 * blocks (a proxy answering -32005, like Infura) in front of a real `hardhat node`
 * process, on a chain of more than 200,000 blocks.
 */
import { generateKeyPairSync } from "node:crypto";

import { expect } from "chai";
import { type JsonRpcSigner, Wallet } from "ethers";

import { type Hex, TimeoutError, TransportError } from "../../../sdk/index.ts";
import { buildRegistration, DeviceRegistryClient, Kind, Label, minimalProfile } from "../../../sdk/exports/registry.ts";
import { toHex } from "../../../sdk/core/bytes.ts";
import { isRangeLimitError } from "../../../sdk/core/logs.ts";
import { BaselineTimestamp__factory, DeviceRegistry__factory } from "../../../types/ethers-contracts/index.ts";
import { LogReader } from "../../../sdk/contracts/logs.ts";
import { registryFogDirectory } from "../../../sdk/fog/fog-node.ts";
import { type CappedRpc, startCappedRpc } from "../../../support/capped-rpc.ts";
import { type NodeProcess, startHardhatNode } from "../../../support/node-process.ts";

const CONFIG = {
  fullNodeApprovals: 2,
  reportPenalty: 250,
  suspendBelow: 600,
  blockBelow: 300,
  epochLength: 3600,
  heartbeatTimeout: 600,
};
const LAYER = "strata://logs/edge-1";
const EVENTS = 60;

describe("Log reads behind a 10,000-block cap (hardhat node)", function () {
  this.timeout(300_000);
  let node: NodeProcess;
  let capped: CappedRpc;
  let admin: JsonRpcSigner;
  let address: string;
  let device: Hex;
  let deployedAt: number;

  before(async function () {
    node = await startHardhatNode();
    await node.provider.send("hardhat_mine", ["0x" + (120_000).toString(16)]);
    admin = await node.provider.getSigner(0);
    const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress(), CONFIG);
    deployedAt = (await registry.deploymentTransaction()!.wait())!.blockNumber;
    address = await registry.getAddress();
    const client = new DeviceRegistryClient(address, admin);
    await client.setLayerOperator(LAYER, await admin.getAddress());
    const key = Wallet.createRandom();
    const req = buildRegistration({
      uuid: { layer: LAYER, localId: 1n },
      key: key.address,
      kind: Kind.Device,
      label: Label.Lightweight,
      permissions: 1,
      profile: minimalProfile("Device/Sensor"),
      deadline: 2n ** 40n,
    });
    device = (await client.register(req, await client.signRegistration(key, req, await admin.getAddress()))).id;
    for (let i = 0; i < EVENTS; i++) await client.setPermissions(device, i + 2);
    await node.provider.send("hardhat_mine", ["0x" + (120_000).toString(16)]);
    capped = await startCappedRpc(node.url, 10_000);
  });

  after(async function () {
    await capped?.close();
    await node?.stop();
  });

  it("the cap refuses a read from block 0 in one request", async function () {
    const filter = { address, fromBlock: 0, toBlock: "latest" };
    const error = await capped.provider.getLogs(filter).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRangeLimitError(error)).to.equal(true);
  });

  it("reads a device's history from the deployment block in few requests, block times in batches", async function () {
    const direct = await new DeviceRegistryClient(address, node.provider, { deploymentBlock: 0, maxSpan: 1e9 }).history(
      device,
    );
    expect(direct.length).to.equal(EVENTS + 1);
    capped.reset();
    const client = new DeviceRegistryClient(address, capped.provider);
    const history = await client.history(device);
    expect(history).to.deep.equal(direct);
    expect(await client.logs.deploymentBlock()).to.equal(deployedAt);
    const head = await node.provider.getBlockNumber();
    // from the deployment block: ~12 windows of 10,000, a few refused probes; from 0 by hand it is 25
    const windows = Math.ceil((head - deployedAt + 1) / 10_000);
    expect(capped.count("eth_getLogs")).to.be.at.most(windows + 3);
    expect(capped.count("eth_getLogs")).to.be.below(Math.ceil((head + 1) / 10_000));
    // one header per event block, but sent in a handful of HTTP requests, not one per block
    expect(capped.count("eth_getBlockByNumber")).to.equal(EVENTS + 1);
    expect(capped.posts.get("eth_getBlockByNumber") ?? 0).to.be.at.most(Math.ceil((EVENTS + 1) / 50));
    // the span the reader learned is kept: a second read is refused at most once
    capped.reset();
    expect(await client.history(device)).to.deep.equal(direct);
    expect(capped.refused).to.be.at.most(1);
    expect(capped.count("eth_getBlockByNumber")).to.equal(0); // block times are cached
  });

  it("re-reads a profile only from the blocks after the last read", async function () {
    const client = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt });
    expect(await client.profileOf(device)).to.equal(undefined);
    capped.reset();
    expect(await client.profileOf(device)).to.equal(undefined);
    // nothing mined since: only the unconfirmed tail (12 blocks) is read again (a reorg may change it)
    expect(capped.count("eth_getLogs")).to.equal(1);
    expect(capped.logRanges[0]!.toBlock - capped.logRanges[0]!.fromBlock + 1).to.equal(client.logs.confirmations);
    const profile = { ...minimalProfile("Device/Sensor"), metadataURI: "ipfs://bafy-logs" };
    await new DeviceRegistryClient(address, admin).updateProfile(device, profile);
    capped.reset();
    expect(await client.profileOf(device)).to.deep.equal(profile);
    // the one block newly confirmed and the tail, not 120,000 blocks
    expect(capped.count("eth_getLogs")).to.equal(2);
    capped.reset();
    expect(await client.profileHashOf(device)).to.match(/^0x[0-9a-f]{64}$/);
    expect(capped.count("eth_getLogs")).to.equal(1);
  });

  it("keeps a bounded number of devices' profile reads: 1,000 devices through a bound of 100, a recent one still cached", async function () {
    const head = await node.provider.getBlockNumber();
    const client = new DeviceRegistryClient(address, capped.provider, {
      deploymentBlock: head,
      confirmations: 0,
      maxProfiles: 100,
    });
    const ids = Array.from({ length: 1_000 }, () => toHex(crypto.getRandomValues(new Uint8Array(32))));
    for (const id of ids) expect(await client.profileHashOf(id)).to.equal(undefined);
    expect(client.cachedProfiles).to.equal(100);
    capped.reset();
    await client.profileHashOf(ids.at(-1)!);
    expect(capped.count("eth_getLogs")).to.equal(0); // a recent device: its read is kept
    await client.profileHashOf(ids[0]!);
    expect(capped.count("eth_getLogs")).to.equal(1); // the first: forgotten, read again
    expect(client.cachedProfiles).to.equal(100);
  });

  it("keeps a profile read's progress per finished query: a read cut short resumes where it stopped", async function () {
    const client = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt });
    capped.reset();
    capped.failLogsAfter = 4;
    const error = await client.profileHashOf(device).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TransportError);
    const reached = Math.max(...capped.logRanges.map((r) => r.toBlock));
    expect(reached).to.be.above(deployedAt);
    capped.failLogsAfter = undefined;
    capped.reset();
    expect(await client.profileHashOf(device)).to.match(/^0x[0-9a-f]{64}$/);
    expect(capped.logRanges[0]!.fromBlock).to.equal(reached + 1);
  });

  it("runs one profile read per device at a time: a second caller reads only the blocks after it", async function () {
    const client = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt });
    capped.reset();
    const [a, b] = await Promise.all([client.profileHashOf(device), client.profileHashOf(device)]);
    expect(a).to.equal(b);
    expect(capped.logRanges.filter((r) => r.fromBlock === deployedAt).length).to.equal(1);
  });

  it("puts the deadline on each log request: a silent node fails the read with TimeoutError", async function () {
    this.timeout(20_000); // the client's deadline is 300 ms a request; the old read waited 30 s as a whole
    const client = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt, timeoutMs: 300 });
    capped.hang.add("eth_getLogs");
    try {
      const error = await client.history(device).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TimeoutError);
    } finally {
      capped.hang.clear();
      capped.releaseHung();
    }
  });

  it("waits out a rate limit without shrinking the span, and gives up with TransportError", async function () {
    const direct = await new DeviceRegistryClient(address, node.provider, { deploymentBlock: 0, maxSpan: 1e9 }).history(
      device,
    );
    const client = new DeviceRegistryClient(address, capped.provider, {
      deploymentBlock: deployedAt,
      rateLimitBackoffMs: 1,
    });
    capped.reset();
    capped.rateLimited = 2;
    expect(await client.history(device)).to.deep.equal(direct);
    expect(client.logs.span).to.equal(10_000); // only the cap shrank it, not the rate limit
    capped.rateLimited = 100;
    const error = await new DeviceRegistryClient(address, capped.provider, {
      deploymentBlock: deployedAt,
      rateLimitBackoffMs: 1,
    })
      .history(device)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    capped.rateLimited = 0;
    expect(error).to.be.instanceOf(TransportError);
    expect((error as TransportError).message).to.match(/rate-limiting/);
  });

  it("on a node that prunes old state, reads the deployment block from the contract; a contract without it starts at block 0 once", async function () {
    // a contract that does not keep its deployment block, deployed before the node prunes
    const plain = await (await new BaselineTimestamp__factory(admin).deploy()).getAddress();
    const head = await node.provider.getBlockNumber();
    capped.prunedBelow = head - 128;
    try {
      const client = new DeviceRegistryClient(address, capped.provider);
      capped.reset();
      const first = await client.history(device);
      expect(first.length).to.be.above(EVENTS);
      expect(await client.logs.deploymentBlock()).to.equal(deployedAt);
      expect(client.logs.deploymentBlockSource).to.equal("contract");
      expect(capped.count("eth_getCode")).to.equal(0);
      // without `deployedAt()` the search meets pruned state: block 0, said so, not searched again
      const reader = new LogReader(plain, () => capped.provider);
      expect(await reader.deploymentBlock()).to.equal(0);
      expect(reader.deploymentBlockSource).to.equal("unknown");
      capped.reset();
      expect(await reader.deploymentBlock()).to.equal(0);
      expect(await client.history(device)).to.deep.equal(first);
      expect(capped.count("eth_getCode")).to.equal(0);
      // a given deployment block is used as is
      const given = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt });
      expect(await given.logs.deploymentBlock()).to.equal(deployedAt);
      expect(given.logs.deploymentBlockSource).to.equal("given");
    } finally {
      capped.prunedBelow = undefined;
    }
  });

  it("follows a reorg that replaces a profile update: the cache ends on the canonical profile", async function () {
    const client = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt });
    const owner = new DeviceRegistryClient(address, admin);
    const snapshot = (await node.provider.send("evm_snapshot", [])) as string;
    const rolledBack = { ...minimalProfile("Device/Sensor"), metadataURI: "ipfs://bafy-rolled-back" };
    await owner.updateProfile(device, rolledBack);
    expect(await client.profileOf(device)).to.deep.equal(rolledBack);
    expect(await node.provider.send("evm_revert", [snapshot])).to.equal(true);
    const canonical = { ...minimalProfile("Device/Sensor"), metadataURI: "ipfs://bafy-canonical" };
    await owner.updateProfile(device, canonical); // at the same height as the rolled-back update
    expect(await client.profileOf(device)).to.deep.equal(canonical);
    await node.provider.send("hardhat_mine", ["0x20"]); // past the confirmations: kept for good
    expect(await client.profileOf(device)).to.deep.equal(canonical);
  });

  it("keeps a bounded number of block times, and none of blocks a reorg may still change", async function () {
    const client = new DeviceRegistryClient(address, capped.provider, {
      deploymentBlock: deployedAt,
      timeCacheSize: 5,
    });
    const history = await client.history(device);
    expect(history.length).to.be.above(5);
    expect(client.logs.cachedTimes).to.equal(5);
    const fresh = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt });
    const head = await node.provider.getBlockNumber();
    const times = await fresh.logs.blockTimes([head, head - 1, head - fresh.logs.confirmations]);
    expect(times.size).to.equal(3);
    expect(fresh.logs.cachedTimes).to.equal(1); // only the block `confirmations` below the head
  });

  it("registryFogDirectory re-reads a key after its TTL only when the committed profile hash changed", async function () {
    const client = new DeviceRegistryClient(address, capped.provider, { deploymentBlock: deployedAt });
    const owner = new DeviceRegistryClient(address, admin);
    const raw = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "der", type: "spki" });
    const key = new Uint8Array(raw.subarray(raw.length - 64)); // x ‖ y, after the 0x04 of the SPKI point
    await owner.updateProfile(device, { ...minimalProfile("Device/Sensor"), p256PublicKey: key });
    const calls = { profileHashOf: 0, profileOf: 0 };
    let now = 0;
    const directory = registryFogDirectory(
      {
        getDevice: (id) => client.getDevice(id),
        profileOf: (id) => (calls.profileOf++, client.profileOf(id)),
        profileHashOf: (id) => (calls.profileHashOf++, client.profileHashOf(id)),
      },
      1_000,
      () => now,
    );
    expect(await directory.p256Key(device)).to.deep.equal(key);
    expect(calls).to.deep.equal({ profileHashOf: 1, profileOf: 1 });
    expect(await directory.p256Key(device)).to.deep.equal(key); // within the TTL: nothing read
    expect(calls).to.deep.equal({ profileHashOf: 1, profileOf: 1 });
    now += 1_000; // past the TTL, the hash unchanged: the hash is read, the profile is not
    capped.reset();
    expect(await directory.p256Key(device)).to.deep.equal(key);
    expect(calls).to.deep.equal({ profileHashOf: 2, profileOf: 1 });
    expect(capped.count("eth_getLogs")).to.be.at.most(2); // the confirmed blocks since the last read, and the tail
    const raw2 = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "der", type: "spki" });
    const next = new Uint8Array(raw2.subarray(raw2.length - 64));
    await owner.updateProfile(device, { ...minimalProfile("Device/Sensor"), p256PublicKey: next });
    expect(await directory.p256Key(device)).to.deep.equal(key); // within the TTL still
    now += 1_000; // past the TTL, a new hash: the profile is read again
    expect(await directory.p256Key(device)).to.deep.equal(next);
    expect(calls).to.deep.equal({ profileHashOf: 3, profileOf: 2 });
  });

  it("throws TransportError naming the block when even one block is refused", async function () {
    const tiny = await startCappedRpc(node.url, 0);
    try {
      const client = new DeviceRegistryClient(address, tiny.provider, { deploymentBlock: deployedAt });
      const error = await client.history(device).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TransportError);
      expect((error as TransportError).message).to.match(/one-block log query/);
    } finally {
      await tiny.close();
    }
  });
});

describe("Log reads on a chain with mined gaps (hardhat node)", function () {
  this.timeout(300_000);

  it("finds events from before a hardhat_mine'd range: the contract tells its deployment block", async function () {
    // The node answers "0x" for code at blocks inside a hardhat_mine'd range, so a binary search
    // on code lands after the gap and would skip every event before it.
    const node = await startHardhatNode();
    try {
      const admin = await node.provider.getSigner(0);
      const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress(), CONFIG);
      const deployedAt = (await registry.deploymentTransaction()!.wait())!.blockNumber;
      const address = await registry.getAddress();
      const client = new DeviceRegistryClient(address, admin);
      await client.setLayerOperator(LAYER, await admin.getAddress());
      await node.provider.send("hardhat_mine", ["0x" + (100_000).toString(16)]);
      await client.setLayerOperator(`${LAYER}/2`, await admin.getAddress());
      const reader = new DeviceRegistryClient(address, node.provider).logs;
      expect(await reader.deploymentBlock()).to.equal(deployedAt);
      expect(reader.deploymentBlockSource).to.equal("contract");
      const key = (l: { blockNumber: number; index: number }) => `${l.blockNumber}:${l.index}`;
      const all = await node.provider.getLogs({ address, fromBlock: 0, toBlock: "latest" });
      expect(all.filter((l) => l.blockNumber < deployedAt + 5)).to.not.be.empty; // events before the gap
      expect((await reader.logs([])).map(key)).to.deep.equal(all.map(key));
    } finally {
      await node.stop();
    }
  });
});
