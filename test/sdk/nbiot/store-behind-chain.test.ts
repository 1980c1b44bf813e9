/**
 * A station refuses to start on a store older than the chain's record of it
 * (docs/stores.md): its file restored without its `-wal` opens (nothing in
 * the file is wrong) at an older state, which the DataAnchor head of the
 * station shows. Real SQLite files and the real contract on the in-process
 * network.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { type Hex } from "../../../sdk/core/bytes.ts";
import { type Block, blockHash, ciphertextDigest, ZERO_HASH } from "../../../sdk/core/nbiot/block.ts";
import { Kind } from "../../../sdk/core/registry.ts";
import { DataAnchorClient } from "../../../sdk/contracts/anchor.ts";
import { StoreError } from "../../../sdk/errors.ts";
import { BaseStation } from "../../../sdk/nbiot/base-station.ts";
import { type NewBlock, SqliteFlowStore } from "../../../sdk/store/flow-store.ts";
import type { DataAnchor } from "../../../types/ethers-contracts/index.ts";
import { makeWorld, randomId, testClock, type World } from "../../helpers/nbiot.ts";
import { coordinator, fullNode, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const deployRegistryFixture = registryFixture(ethers, ignition);

async function deployStationAnchorFixture() {
  const city = await deployRegistryFixture();
  const coordinators = [await coordinator(city), await coordinator(city)];
  const station = await fullNode(city, coordinators, Kind.BaseStation);
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  return { station, anchors: new DataAnchorClient(await anchor.getAddress(), station.key) };
}

function blocks(station: Hex, from: number, count: number): NewBlock[] {
  const node = randomId();
  return Array.from({ length: count }, (_, i) => {
    const primary = crypto.getRandomValues(new Uint8Array(40));
    const block: Block = {
      node,
      bs: station,
      seq: from + i,
      time: 1_800_000_000_000 + i,
      digest: ciphertextDigest(primary),
      prev: ZERO_HASH,
    };
    return { block, hash: blockHash(block), primary };
  });
}

/** Stores `count` blocks and seals them into the store's next batch (a root of its own, for the chain). */
function batch(store: SqliteFlowStore, count: number): void {
  const ids = store.append(blocks(store.station, store.counts().blocks + 1, count));
  store.saveBatch({
    number: store.lastBatchNumber + 1,
    root: ethers.id(`batch ${store.path} ${ids[0]}`) as Hex,
    leafCount: ids.length,
    firstId: ids[0]!,
    lastId: ids.at(-1)!,
    signature: new Uint8Array(8),
    createdAt: 0,
  });
}

const hash = (path: string): string =>
  existsSync(path) ? createHash("sha256").update(readFileSync(path)).digest("hex") : "absent";

describe("BaseStation.start against the chain", function () {
  let w: World;
  beforeEach(function () {
    w = makeWorld();
  });
  afterEach(function () {
    w.cleanup();
  });

  it("refuses a store file restored without its -wal, behind the station's anchors, and leaves it as it was", async function () {
    const { station, anchors } = await networkHelpers.loadFixture(deployStationAnchorFixture);
    const path = join(w.dir, "station.sqlite");
    const restored = join(w.dir, "restored.sqlite");
    const first = SqliteFlowStore.create(path, station.id);
    batch(first, 3);
    first.close(); // checkpointed: the main file holds batch 1

    const bs = w.station(station.id, { path });
    batch(bs.store, 2); // batch 2 is in the -wal only
    copyFileSync(path, restored); // the main file, without its -wal
    expect((await bs.anchorPending(anchors)).map((b) => b.number)).to.deep.equal([1, 2]);
    expect(await anchors.head(station.id)).to.equal(2n);
    await bs.checkAgainstChain(anchors); // the live store holds every anchored batch

    const options = {
      params: w.params,
      keys: w.stationKeys(station.id),
      directory: w.directory,
      stations: () => undefined,
      clock: () => testClock.now,
      anchors,
    };
    const before = [hash(restored), hash(`${restored}-wal`), hash(`${restored}-shm`)];
    let caught: unknown;
    try {
      (await BaseStation.start({ ...options, storePath: restored })).close();
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(StoreError);
    expect(caught).to.include({ reason: "behind-chain", path: restored });
    expect((caught as StoreError).details).to.include({ stored: 1n, chainHead: 2n });
    expect([hash(restored), hash(`${restored}-wal`), hash(`${restored}-shm`)]).to.deep.equal(before);

    // a lost file: refused as missing unless a new store is asked for, and then refused as behind the
    // chain before it is made (start used to make a new file and leave it behind its refusal)
    const lostPath = join(w.dir, "lost.sqlite");
    let lost: unknown;
    await BaseStation.start({ ...options, storePath: lostPath }).catch((e: unknown) => (lost = e));
    expect(lost).to.be.instanceOf(StoreError);
    expect(lost).to.include({ reason: "missing", path: lostPath });
    await BaseStation.start({ ...options, storePath: lostPath, create: true }).catch((e: unknown) => (lost = e));
    expect((lost as StoreError).details).to.include({ reason: "behind-chain", stored: 0n, chainHead: 2n });
    expect(existsSync(lostPath)).to.equal(false);

    bs.close();
    const started = await BaseStation.start({ ...options, storePath: path });
    expect(started.store.lastBatchNumber).to.equal(2);
    started.close();
  });
  it("refuses a restored file whose -wal is behind the chain without writing to it (main, -wal and -shm unchanged)", async function () {
    const { station, anchors } = await networkHelpers.loadFixture(deployStationAnchorFixture);
    const path = join(w.dir, "station.sqlite");
    const restored = join(w.dir, "restored.sqlite");
    SqliteFlowStore.create(path, station.id).close();
    const bs = w.station(station.id, { path });
    batch(bs.store, 3); // batch 1, in the -wal only
    copyFileSync(path, restored); // a copy taken with its -wal: batch 1 only
    copyFileSync(`${path}-wal`, `${restored}-wal`);
    batch(bs.store, 2);
    expect((await bs.anchorPending(anchors)).map((b) => b.number)).to.deep.equal([1, 2]);
    const options = {
      params: w.params,
      keys: w.stationKeys(station.id),
      directory: w.directory,
      stations: () => undefined,
      clock: () => testClock.now,
      anchors,
    };
    const files = () => [hash(restored), hash(`${restored}-wal`), hash(`${restored}-shm`)];
    const before = files();
    expect(before[1]).to.not.equal("absent");
    let caught: unknown;
    await BaseStation.start({ ...options, storePath: restored }).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(StoreError);
    expect(caught).to.include({ reason: "behind-chain", path: restored });
    expect(files()).to.deep.equal(before);
    bs.close();
  });

  it("refuses a store whose batch at the chain's head is another root (a fork of the store)", async function () {
    const { station, anchors } = await networkHelpers.loadFixture(deployStationAnchorFixture);
    const path = join(w.dir, "station.sqlite");
    const forked = join(w.dir, "forked.sqlite");
    const bs = w.station(station.id, { path });
    batch(bs.store, 3);
    batch(bs.store, 2);
    expect((await bs.anchorPending(anchors)).map((b) => b.number)).to.deep.equal([1, 2]);
    // another file of the same station, as many batches, other roots
    const other = SqliteFlowStore.create(forked, station.id);
    batch(other, 3);
    batch(other, 2);
    other.close();
    const options = {
      params: w.params,
      keys: w.stationKeys(station.id),
      directory: w.directory,
      stations: () => undefined,
      clock: () => testClock.now,
      anchors,
    };
    const before = [hash(forked), hash(`${forked}-wal`), hash(`${forked}-shm`)];
    let caught: unknown;
    await BaseStation.start({ ...options, storePath: forked }).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(StoreError);
    expect(caught).to.include({ reason: "forked", path: forked });
    expect([hash(forked), hash(`${forked}-wal`), hash(`${forked}-shm`)]).to.deep.equal(before);
    await bs.checkAgainstChain(anchors);
    bs.close();
    (await BaseStation.start({ ...options, storePath: path })).close();
  });
});
