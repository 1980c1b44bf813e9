/**
 * The fog store's kept rounds and provisional batches (real SQLite files): a round survives
 * reopening, a batch a reorganisation removed goes back to the queue as the live round with
 * nothing lost, and a store made before batches had a finality flag opens with its batches kept
 * and re-checked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { type Hex } from "../../../sdk/core/bytes.ts";
import { InvalidInputError } from "../../../sdk/errors.ts";
import { FogStore, type NewReading } from "../../../sdk/store/fog-store.ts";

const NODE = `0x${"11".repeat(32)}` as Hex;
const CLUSTER = `0x${"22".repeat(32)}` as Hex;
const DEVICE = `0x${"33".repeat(32)}` as Hex;
const root = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const reading = (seq: number): { cls: "sensitive"; reading: NewReading } => ({
  cls: "sensitive",
  reading: { device: DEVICE, seq, time: seq, received: seq, tags: [], reading: new Uint8Array([seq]) },
});

describe("FogStore rounds and provisional batches", function () {
  let dir: string;
  let path: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "strata-fog-store-"));
    path = join(dir, "fog.sqlite");
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a round across reopening; recording its batch ends it and earlier ones, not later ones; its other roots end once it is final", function () {
    let store = new FogStore(path, NODE);
    const ids = store.append([reading(1), reading(2), reading(3)]);
    store.saveRound(CLUSTER, { sequence: 1n, root: root(1), ids: ids.slice(0, 2) });
    store.saveRound(CLUSTER, { sequence: 1n, root: root(2), ids: ids.slice(0, 1) }); // shrunk
    store.saveRound(CLUSTER, { sequence: 2n, root: root(3), ids: ids.slice(2) });
    store.close();
    store = new FogStore(path, NODE);
    expect(store.rounds(CLUSTER).map((r) => [r.sequence, r.root, r.ids])).to.deep.equal([
      [1n, root(1), ids.slice(0, 2)],
      [1n, root(2), ids.slice(0, 1)],
      [2n, root(3), ids.slice(2)],
    ]);
    const batch = {
      sequence: 1,
      root: root(1),
      leafCount: 2,
      firstId: ids[0]!,
      lastId: ids[1]!,
      signature: undefined,
      txHash: undefined,
    };
    store.saveBatch(batch, ids.slice(0, 2), CLUSTER);
    // the other root at sequence 1 stays while the batch is provisional: a reorganisation may bring it back
    expect(store.rounds(CLUSTER).map((r) => r.root)).to.deep.equal([root(2), root(3)]);
    expect(store.unbatched(10).map((r) => r.id)).to.deep.equal([ids[2]]);
    store.forgetRounds(CLUSTER, 2n);
    expect(store.rounds(CLUSTER).map((r) => r.root)).to.deep.equal([root(2), root(3)]);
    store.finalizeBatch(1, CLUSTER);
    expect(store.rounds(CLUSTER).map((r) => r.root)).to.deep.equal([root(3)]);
    store.close();
  });

  it("puts a batch a reorganisation removed back as the live round, its readings queued again, nothing lost", function () {
    const store = new FogStore(path, NODE);
    const ids = store.append([reading(1), reading(2), reading(3)]);
    store.saveBatch(
      {
        sequence: 1,
        root: root(7),
        leafCount: 2,
        firstId: ids[0]!,
        lastId: ids[1]!,
        signature: new Uint8Array([9]),
        txHash: "0xab",
      },
      ids.slice(0, 2),
      CLUSTER,
    );
    expect(store.provisionalBatches().map((b) => b.sequence)).to.deep.equal([1]);
    store.revertBatch(CLUSTER, 1);
    expect(store.batches()).to.deep.equal([]);
    expect(store.rounds(CLUSTER).map((r) => [r.sequence, r.root, r.ids])).to.deep.equal([
      [1n, root(7), ids.slice(0, 2)],
    ]);
    expect(store.unbatched(10).map((r) => r.id)).to.deep.equal(ids);
    expect(store.counts().sensitive).to.equal(3);
    // recorded again and made final: no longer provisional
    store.saveBatch(
      {
        sequence: 1,
        root: root(7),
        leafCount: 2,
        firstId: ids[0]!,
        lastId: ids[1]!,
        signature: undefined,
        txHash: undefined,
      },
      ids.slice(0, 2),
      CLUSTER,
    );
    store.finalizeBatch(1);
    expect([store.provisionalBatches(), store.rounds(CLUSTER)]).to.deep.equal([[], []]);
    expect(() => store.saveRound(CLUSTER, { sequence: 2n, root: "0x12" as Hex, ids: [ids[2]!] })).to.throw(
      InvalidInputError,
    );
    store.close();
  });

  it("opens a store made before batches had a finality flag, keeps its batches and takes them as final", function () {
    const old = new DatabaseSync(path);
    old.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    old.prepare("INSERT INTO meta (key, value) VALUES ('schema', '1'), ('node', ?)").run(NODE);
    old.exec(`CREATE TABLE fog_batches (
      sequence INTEGER PRIMARY KEY, root BLOB NOT NULL UNIQUE, leaf_count INTEGER NOT NULL,
      first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, signature BLOB, tx TEXT)`);
    old
      .prepare("INSERT INTO fog_batches VALUES (1, ?, 2, 1, 2, NULL, '0xab')")
      .run(Buffer.from(root(5).slice(2), "hex"));
    old.close();
    const store = new FogStore(path, NODE);
    expect(store.batches().map((b) => [b.sequence, b.root, b.txHash])).to.deep.equal([[1, root(5), "0xab"]]);
    // they name no cluster, and the code that recorded them took them as anchored for good: re-checking
    // each would cost one chain read per batch ever recorded
    expect(store.provisionalBatches()).to.deep.equal([]);
    store.close();
  });

  it("opens a store whose batches have a finality flag but no cluster: they are taken as final, new ones are the cluster's", function () {
    const old = new DatabaseSync(path);
    old.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    old.prepare("INSERT INTO meta (key, value) VALUES ('schema', '1'), ('node', ?)").run(NODE);
    old.exec(`CREATE TABLE fog_batches (
      sequence INTEGER PRIMARY KEY, root BLOB NOT NULL UNIQUE, leaf_count INTEGER NOT NULL,
      first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, signature BLOB, tx TEXT, final INTEGER NOT NULL DEFAULT 0)`);
    old
      .prepare("INSERT INTO fog_batches VALUES (1, ?, 2, 1, 2, NULL, '0xab', 0)")
      .run(Buffer.from(root(5).slice(2), "hex"));
    old.close();
    const store = new FogStore(path, NODE);
    expect(store.provisionalBatches()).to.deep.equal([]);
    const ids = store.append([reading(1)]);
    const batch = { sequence: 2, root: root(6), leafCount: 1, firstId: ids[0]!, lastId: ids[0]! };
    store.saveBatch({ ...batch, signature: undefined, txHash: undefined, block: 7 }, ids, CLUSTER);
    expect(store.provisionalBatches(CLUSTER).map((b) => [b.sequence, b.block])).to.deep.equal([[2, 7]]);
    // another cluster's batches are not this cluster's to re-check, nor to revert
    const OTHER = `0x${"44".repeat(32)}` as Hex;
    expect(store.provisionalBatches(OTHER)).to.deep.equal([]);
    store.revertBatch(OTHER, 2);
    expect(store.batches().map((b) => b.sequence)).to.deep.equal([1, 2]);
    store.close();
  });
});
