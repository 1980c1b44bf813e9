/**
 * The station's SQLite store on its own: a rolled-back write leaves no trace
 * (node refs included), blocks are unique per (node, seq), batches are saved in
 * order, and flows come back after a reopen.
 */
import { expect } from "chai";
import { DatabaseSync } from "node:sqlite";

import { type Hex } from "../../../sdk/core/bytes.ts";
import { type Block, blockHash, ciphertextDigest, ZERO_HASH } from "../../../sdk/core/nbiot/block.ts";
import { InvalidInputError, ProtocolError } from "../../../sdk/errors.ts";
import { type NewBlock, SqliteFlowStore } from "../../../sdk/store/flow-store.ts";
import { makeWorld, randomId, type World } from "../../helpers/nbiot.ts";

function newBlock(node: Hex, bs: Hex, seq: number, prev: Uint8Array): NewBlock {
  const primary = crypto.getRandomValues(new Uint8Array(40));
  const block: Block = { node, bs, seq, time: 1_800_000_000_000 + seq, digest: ciphertextDigest(primary), prev };
  return { block, hash: blockHash(block), primary };
}

describe("SqliteFlowStore", function () {
  let w: World;
  beforeEach(function () {
    w = makeWorld();
  });
  afterEach(function () {
    w.cleanup();
  });

  it("runs at synchronous NORMAL by default and FULL (every commit fsynced) when asked, over a reopen too", function () {
    const path = `${w.dir}/sync.sqlite`;
    const station = randomId();
    const normal = new SqliteFlowStore(path, station);
    expect(normal.synchronous).to.equal("NORMAL");
    normal.close();
    const full = new SqliteFlowStore(path, station, { synchronous: "FULL" });
    expect(full.synchronous).to.equal("FULL");
    full.close();
    expect(() => new SqliteFlowStore(`${w.dir}/x.sqlite`, station, { synchronous: "OFF" as "FULL" })).to.throw(
      InvalidInputError,
    );
  });

  it("leaves no trace of a rolled-back append, node refs included", function () {
    const station = randomId();
    const path = `${w.dir}/refs.sqlite`;
    let store = new SqliteFlowStore(path, station);
    const [old, a, b] = [randomId(), randomId(), randomId()];
    store.append([newBlock(old, station, 1, ZERO_HASH)]);
    // node A's first block and a duplicate of old's block 1 in one chunk: the whole chunk rolls back
    expect(() => store.append([newBlock(a, station, 1, ZERO_HASH), newBlock(old, station, 1, ZERO_HASH)]))
      .to.throw(ProtocolError)
      .with.property("reason", "conflict");
    expect(store.counts().blocks).to.equal(1);
    store.append([newBlock(a, station, 1, ZERO_HASH)]);
    store.append([newBlock(b, station, 1, ZERO_HASH)]);
    store.close();
    store = new SqliteFlowStore(path, station);
    expect(store.block(a, 1)).to.not.equal(undefined);
    expect(store.block(b, 1)).to.not.equal(undefined);
    expect(
      store
        .flows()
        .map((f) => f.node)
        .sort(),
    ).to.deep.equal([old, a, b].sort());
    store.close();
  });

  it("stores only its own station's blocks and saves batches in order", function () {
    const station = randomId();
    const store = new SqliteFlowStore(":memory:", station);
    expect(() => store.append([newBlock(randomId(), randomId(), 1, ZERO_HASH)])).to.throw(InvalidInputError);
    const ids = store.append([
      newBlock(randomId(), station, 1, ZERO_HASH),
      newBlock(randomId(), station, 1, ZERO_HASH),
    ]);
    const batch = {
      number: 2,
      root: `0x${"11".repeat(32)}` as Hex,
      leafCount: 2,
      firstId: ids[0]!,
      lastId: ids[1]!,
      signature: new Uint8Array(96),
      createdAt: 1,
    };
    expect(() => store.saveBatch(batch)).to.throw(InvalidInputError);
    store.saveBatch({ ...batch, number: 1 });
    expect(store.pending(10)).to.deep.equal([]);
    expect(store.batchOf(ids[1]!)?.number).to.equal(1);
    expect(() => store.saveBatch({ ...batch, number: 2 })).to.throw(InvalidInputError); // same blocks again
    store.close();
  });

  it("keeps anchor transactions, rollbacks and finality across a reopen", function () {
    const station = randomId();
    const path = `${w.dir}/anchors.sqlite`;
    let store = new SqliteFlowStore(path, station);
    const node = randomId();
    const [id] = store.append([newBlock(node, station, 1, ZERO_HASH)]);
    const root = randomId();
    store.saveBatch({
      number: 1,
      root,
      leafCount: 1,
      firstId: id!,
      lastId: id!,
      signature: new Uint8Array(8),
      createdAt: 1,
    });
    expect(store.anchorState(1)).to.equal("unsent");
    expect(store.anchorState(2)).to.equal(undefined);
    const first = { nonce: 4, hash: randomId(), raw: "0x02f8" as Hex };
    const second = { nonce: 4, hash: randomId(), raw: "0x02f9" as Hex };
    store.trackAnchorTx(1, first);
    store.trackAnchorTx(1, first); // kept once
    store.trackAnchorTx(1, second);
    store.close();

    store = new SqliteFlowStore(path, station);
    expect(store.anchorState(1)).to.equal("pending");
    expect(store.anchorTxs(1)).to.deep.equal([first, second]);
    store.markAnchored(1, { sequence: 7n, txHash: second.hash, time: 99n });
    expect(store.anchorState(1)).to.equal("anchored");
    expect(store.unsettled().map((b) => b.number)).to.deep.equal([1]);
    store.unmarkAnchored(1); // a rollback removed it
    expect(store.anchorState(1)).to.equal("pending");
    expect(store.unanchored().map((b) => b.number)).to.deep.equal([1]);
    store.markAnchored(1, { sequence: 7n, txHash: second.hash, time: 100n });
    store.markFinal(1, 12);
    store.close();

    store = new SqliteFlowStore(path, station);
    expect(store.anchorState(1)).to.equal("final");
    expect(store.unsettled()).to.deep.equal([]);
    expect(store.batch(1)!.anchor).to.deep.equal({ sequence: 7n, txHash: second.hash, time: 100n });
    store.close();
  });
});

describe("SqliteFlowStore reopen (tips rows)", function () {
  let w: World;
  beforeEach(function () {
    w = makeWorld();
  });
  afterEach(function () {
    w.cleanup();
  });

  /** 30 nodes, 40 blocks each in chunks that mix nodes, half of them sealed into batches. */
  function fill(store: SqliteFlowStore, station: Hex): Map<Hex, { seq: number; hash: Uint8Array; time: number }> {
    const nodes = Array.from({ length: 30 }, () => randomId());
    const last = new Map<Hex, { seq: number; hash: Uint8Array; time: number }>();
    for (let seq = 1; seq <= 40; seq += 4) {
      const chunk: NewBlock[] = [];
      for (const node of nodes) {
        for (let s = seq; s < seq + 4; s++) {
          const b = newBlock(node, station, s, last.get(node)?.hash ?? ZERO_HASH);
          chunk.push(b);
          last.set(node, { seq: s, hash: b.hash, time: b.block.time });
        }
      }
      const ids = store.append(chunk);
      if (seq <= 20) {
        store.saveBatch({
          number: store.lastBatchNumber + 1,
          root: `0x${(seq + 1).toString(16).padStart(64, "0")}` as Hex,
          leafCount: ids.length,
          firstId: ids[0]!,
          lastId: ids.at(-1)!,
          signature: new Uint8Array(96),
          createdAt: seq,
        });
      }
    }
    return last;
  }

  function tipsOf(store: SqliteFlowStore): Map<Hex, { seq: number; hash: Uint8Array; time: number }> {
    return new Map(store.flows().map((f) => [f.node, { seq: f.tip.seq, hash: f.tip.hash, time: f.tip.time }]));
  }

  it("keeps a tips row per node, and a reopen after many blocks gives every flow's last block", function () {
    const station = randomId();
    const path = `${w.dir}/tips.sqlite`;
    let store = new SqliteFlowStore(path, station);
    const last = fill(store, station);
    store.close();
    store = new SqliteFlowStore(path, station);
    expect(tipsOf(store)).to.deep.equal(last);
    store.close();
    const db = new DatabaseSync(path);
    expect(Number((db.prepare("SELECT COUNT(*) AS n FROM tips").get() as { n: number }).n)).to.equal(30);
    db.close();
  });

  it("fills the tips table once from the blocks of a file made before it existed", function () {
    const station = randomId();
    const path = `${w.dir}/old.sqlite`;
    let store = new SqliteFlowStore(path, station);
    const last = fill(store, station);
    store.close();
    // a file written before tips were kept: no tips table
    const db = new DatabaseSync(path);
    db.exec("DROP TABLE IF EXISTS tips");
    db.close();
    store = new SqliteFlowStore(path, station);
    expect(tipsOf(store)).to.deep.equal(last);
    store.close(); // the store holds its file exclusively: read its rows once it is closed
    const filled = new DatabaseSync(path, { readOnly: true });
    expect(Number((filled.prepare("SELECT COUNT(*) AS n FROM tips").get() as { n: number }).n)).to.equal(30);
    filled.close();
    store = new SqliteFlowStore(path, station);
    // and it is kept from then on: one more block moves its node's tip
    const [node, tip] = [...last][0]!;
    const next = newBlock(node, station, tip.seq + 1, tip.hash);
    store.append([next]);
    store.close();
    store = new SqliteFlowStore(path, station);
    expect(tipsOf(store).get(node)).to.deep.equal({ seq: tip.seq + 1, hash: next.hash, time: next.block.time });
    store.close();
  });
});
