/**
 * Seed 000 "Foundation block generation", "Blockchain generation" and the
 * BS1 -> BS2 handover, on the SQLite store: block fields and links, signed
 * batches with OpenZeppelin-compatible proofs, restarts with nothing lost or
 * duplicated, and every refusal of the handover (unregistered station, forged
 * tip, replayed request or record).
 */
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";

import { toHex } from "../../../sdk/core/bytes.ts";
import { ChaCheonIbs } from "../../../sdk/core/crypto/ibs.ts";
import { verifyProof } from "../../../sdk/core/merkle.ts";
import { verifyAcquisition } from "../../../sdk/core/nbiot/acquisition.ts";
import {
  batchMessage,
  blockHash,
  blockLeaf,
  ciphertextDigest,
  decodeBlock,
  encodeBlock,
  ZERO_HASH,
} from "../../../sdk/core/nbiot/block.ts";
import {
  checkHandoverRecord,
  checkHandoverRequest,
  makeHandoverRecord,
  makeHandoverRequest,
  verifyHandoverRecord,
} from "../../../sdk/core/nbiot/handover.ts";
import { NbiotNode } from "../../../sdk/core/nbiot/device.ts";
import { decodeAuthRequest, makeAuthRequest } from "../../../sdk/core/nbiot/handshake.ts";
import { keyEpoch, signingIdentity } from "../../../sdk/core/nbiot/params.ts";
import { Kind, Status } from "../../../sdk/core/registry.ts";
import { InvalidInputError, ProtocolError, StoreError, TimeoutError, TransportError } from "../../../sdk/errors.ts";
import { BaseStation } from "../../../sdk/nbiot/base-station.ts";
import type { StationLink } from "../../../sdk/nbiot/ports.ts";
import { SqliteFlowStore } from "../../../sdk/store/flow-store.ts";
import { backend, enter, makeWorld, randomId, reading, sendAll, testClock, type World } from "../../helpers/nbiot.ts";

async function rejects(p: Promise<unknown>, reason: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ProtocolError);
    expect((e as ProtocolError).reason).to.equal(reason);
    return;
  }
  expect.fail(`expected ProtocolError(${reason})`);
}

describe("BaseStation", function () {
  let w: World;
  const t0 = 1_800_000_000_000;
  beforeEach(function () {
    w = makeWorld();
  });
  afterEach(function () {
    w.cleanup();
  });

  describe("flow chain", function () {
    it("makes the foundation block on the first confirmed reading and chains the next ones", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, t0);
      expect(sendAll(node, bs, [reading(20), reading(21), reading(22)], t0 + 5)).to.deep.equal([1, 2, 3]);
      const b1 = bs.store.block(node.id, 1)!;
      expect(b1.block.seq).to.equal(1);
      expect(b1.block.prev).to.deep.equal(ZERO_HASH);
      expect(b1.block.node).to.equal(node.id);
      expect(b1.block.bs).to.equal(bs.id);
      expect(b1.block.time).to.equal(t0 + 5);
      expect(b1.block.digest).to.deep.equal(ciphertextDigest(b1.primary));
      expect(b1.hash).to.deep.equal(blockHash(b1.block));
      const b2 = bs.store.block(node.id, 2)!;
      expect(b2.block.prev).to.deep.equal(b1.hash);
      expect(decodeBlock(encodeBlock(b2.block))).to.deep.equal(b2.block);
      expect(node.tip).to.deep.include({ bs: bs.id, seq: 3 });
      expect(node.receipts.map((r) => r.seq)).to.deep.equal([1, 2, 3]);
    });

    it("seals signed batches whose proofs verify with OpenZeppelin's tree", async function () {
      const node = w.node();
      const bs = w.station(undefined, { maxBatch: 4 });
      await enter(node, bs, t0);
      sendAll(
        node,
        bs,
        Array.from({ length: 6 }, (_, i) => reading(i)),
        t0 + 1,
      );
      const first = (await bs.seal(t0 + 2))!;
      const second = (await bs.seal(t0 + 3))!;
      expect(await bs.seal(t0 + 4)).to.equal(undefined);
      expect([first.leafCount, second.leafCount]).to.deep.equal([4, 2]);
      expect([first.number, second.number]).to.deep.equal([1, 2]);
      const ibs = new ChaCheonIbs(backend);
      expect(
        ibs.verify(
          w.params.masterPublic,
          signingIdentity("station", bs.id, keyEpoch(w.params, t0 + 2)),
          batchMessage({ bs: bs.id, number: 1, root: first.root, leafCount: 4, time: t0 + 2 }),
          ibs.decode(first.signature),
        ),
      ).to.equal(true);
      const leaves = [1, 2, 3, 4].map((seq) => toHex(blockLeaf(bs.store.block(node.id, seq)!.hash)));
      expect(SimpleMerkleTree.of(leaves, { sortLeaves: false }).root).to.equal(first.root);
      const proof = await bs.proof(node.id, 3);
      expect(proof.batch.number).to.equal(1);
      expect(verifyProof(first.root, leaves[2]!, proof.proof)).to.equal(true);
      expect(SimpleMerkleTree.verify(first.root, leaves[2]!, [...proof.proof])).to.equal(true);
    });

    it("serves a node's sealed blocks in a time range with everything the application verifies", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, t0);
      sendAll(node, bs, [reading(1)], t0 + 10);
      sendAll(node, bs, [reading(2)], t0 + 20);
      sendAll(node, bs, [reading(3)], t0 + 30);
      await bs.seal(t0 + 31);
      sendAll(node, bs, [reading(4)], t0 + 40); // not sealed yet: not served
      const res = await bs.acquire(node.id, t0 + 15, t0 + 100);
      expect(res.blocks.map((b) => decodeBlock(b.block).seq)).to.deep.equal([2, 3]);
      const v = verifyAcquisition(w.params, node.id, [res]);
      expect(v.blocks.map((b) => b.block.seq)).to.deep.equal([2, 3]);
      expect([...v.roots.values()]).to.deep.equal([bs.id]);
      expect((await bs.acquire(randomId(), 0, t0 + 100)).blocks).to.deep.equal([]);
      await rejects(bs.proof(node.id, 4), "bad-proof");
      await rejects(bs.proof(node.id, 9), "missing-block");
      try {
        await bs.acquire(node.id, 10, 5);
        expect.fail("expected InvalidInputError");
      } catch (e) {
        expect(e).to.be.instanceOf(InvalidInputError);
      }
    });
  });

  describe("restart", function () {
    it("loses and duplicates nothing when a station restarts mid-flow", async function () {
      const node = w.node();
      const path = `${w.dir}/restart.sqlite`;
      const id = randomId();
      let bs = w.station(id, { path, maxBatch: 5 });
      await enter(node, bs, t0);
      sendAll(
        node,
        bs,
        Array.from({ length: 7 }, (_, i) => reading(i)),
        t0 + 1,
      );
      await bs.seal(t0 + 2); // blocks 1-5 sealed, 6-7 pending
      const inFlight = node.send(reading(99), t0 + 3); // sent, never ingested: the station goes down
      void inFlight;
      bs.close();

      bs = w.station(id, { path, maxBatch: 5 });
      expect(bs.flow(node.id)?.tip.seq).to.equal(7);
      expect(bs.store.counts()).to.deep.include({ blocks: 7, batches: 1 });
      const stale = bs.ingest([node.send(reading(100), t0 + 4)], t0 + 4)[0]!;
      expect(stale.ok === false && stale.error.reason).to.equal("unknown-session");
      await enter(node, bs, t0 + 5);
      expect(node.unconfirmed).to.deep.equal([8, 9]);
      const receipts = bs.ingest(node.resend(t0 + 6), t0 + 6).map((r) => {
        if (!r.ok) throw r.error;
        return node.onReceipt(r.receipt).seq;
      });
      expect(receipts).to.deep.equal([8, 9]);
      const again = bs.ingest(node.resend(t0 + 7), t0 + 7);
      expect(again).to.deep.equal([]);
      const second = (await bs.seal(t0 + 8))!;
      expect([second.number, second.leafCount, second.firstId]).to.deep.equal([2, 4, 6]);
      const res = await bs.acquire(node.id, 0, t0 + 100);
      const v = verifyAcquisition(w.params, node.id, [res]);
      expect(v.blocks.map((b) => b.block.seq)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(bs.store.counts().blocks).to.equal(9);
    });

    it("refuses to open another station's store file", function () {
      const path = `${w.dir}/owned.sqlite`;
      new SqliteFlowStore(path, randomId()).close();
      expect(() => new SqliteFlowStore(path, randomId()))
        .to.throw(StoreError)
        .with.property("reason", "wrong-owner");
      expect(() => new SqliteFlowStore("", randomId())).to.throw(InvalidInputError);
      const store = new SqliteFlowStore(":memory:", randomId());
      expect(
        () =>
          new BaseStation({
            params: w.params,
            keys: w.stationKeys(),
            store,
            directory: w.directory,
            stations: () => undefined,
          }),
      ).to.throw(InvalidInputError);
      store.close();
    });
  });

  describe("handover", function () {
    it("moves a flow from BS1 to BS2: BS2 continues the same chain and BS1 stops extending it", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1), reading(2)], t0 + 1);
      const tip = bs1.store.block(node.id, 2)!;
      const stale = node.send(reading(3), t0 + 2); // a frame for BS1, delivered after the move
      await enter(node, bs2, t0 + 10);
      expect(bs1.flow(node.id)?.handedOverTo).to.equal(bs2.id);
      expect(bs2.flow(node.id)?.tip).to.deep.include({ bs: bs1.id, seq: 2 });
      // the reading BS1 never got goes to BS2 first, then the new one
      const resent = bs2.ingest(node.resend(t0 + 11), t0 + 11).map((r) => (r.ok ? node.onReceipt(r.receipt).seq : r));
      expect(resent).to.deep.equal([3]);
      expect(sendAll(node, bs2, [reading(4)], t0 + 11)).to.deep.equal([4]);
      const b3 = bs2.store.block(node.id, 3)!;
      expect(b3.block.prev).to.deep.equal(tip.hash);
      const late = bs1.ingest([stale], t0 + 12)[0]!;
      expect(late.ok === false && late.error.reason).to.equal("unknown-session");
      expect(bs2.store.counts().handovers).to.equal(1);

      await bs1.seal(t0 + 20);
      await bs2.seal(t0 + 20);
      const v = verifyAcquisition(w.params, node.id, [
        await bs1.acquire(node.id, 0, t0 + 100),
        await bs2.acquire(node.id, 0, t0 + 100),
      ]);
      expect(v.blocks.map((b) => [b.block.seq, b.block.bs])).to.deep.equal([
        [1, bs1.id],
        [2, bs1.id],
        [3, bs2.id],
        [4, bs2.id],
      ]);
      expect(v.handovers).to.have.length(1);
    });

    it("follows the node back and forth (BS1 -> BS2 -> BS1 -> BS2)", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      let t = t0;
      for (const bs of [bs1, bs2, bs1, bs2]) {
        await enter(node, bs, (t += 10));
        sendAll(node, bs, [reading(t)], (t += 1));
      }
      for (const bs of [bs1, bs2]) await bs.seal(t + 1);
      const v = verifyAcquisition(w.params, node.id, [
        await bs1.acquire(node.id, 0, t + 10),
        await bs2.acquire(node.id, 0, t + 10),
      ]);
      expect(v.blocks.map((b) => b.block.bs)).to.deep.equal([bs1.id, bs2.id, bs1.id, bs2.id]);
      expect(v.handovers).to.have.length(3);
    });

    it("hands over the station's tip even when the node lost its last receipt", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      const lost = bs1.ingest([node.send(reading(2), t0 + 2)], t0 + 2)[0]!; // stored, receipt lost
      expect(lost.ok).to.equal(true);
      expect(node.unconfirmed).to.deep.equal([2]);
      await enter(node, bs2, t0 + 10);
      expect(node.unconfirmed).to.deep.equal([]);
      expect(node.tip?.seq).to.equal(2);
      expect(sendAll(node, bs2, [reading(3)], t0 + 11)).to.deep.equal([3]);
    });

    it("answers the station it handed a flow to again, on the node's next request, when the first answer was lost", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1), reading(2)], t0 + 1);
      // BS1 hands the flow over, but its answer never reaches BS2
      const lossy = (lose: boolean): StationLink => ({
        handover: async (request) => {
          const answer = await bs1.handover(request);
          if (lose) throw new TransportError("the answer was lost");
          return answer;
        },
        acquire: (n, from, to, after) => bs1.acquire(n, from, to, after),
        proof: (n, seq) => bs1.proof(n, seq),
      });
      const lost = async (p: Promise<unknown>): Promise<void> => {
        const e = await p.then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(e).to.be.instanceOf(TransportError);
      };
      w.stations.set(bs1.id, lossy(true));
      testClock.now = t0 + 10;
      const first = node.enter(bs2.id, t0 + 10);
      await lost(bs2.authenticate(first, t0 + 10));
      expect(bs1.flow(node.id)?.handedOverTo).to.equal(bs2.id);
      // the node's same request, wrapped anew, stays refused: it was used
      const again = makeHandoverRequest(w.params, w.stationKeys(bs2.id), bs1.id, decodeAuthRequest(first), t0 + 10);
      await rejects(bs1.handover(again.bytes, t0 + 10), "replay");
      // and the node, entering again with a new request, is taken over and served
      w.stations.set(bs1.id, lossy(false));
      testClock.now = t0 + 11;
      node.accept(await bs2.authenticate(node.enter(bs2.id, t0 + 11), t0 + 11), t0 + 11);
      expect(bs2.flow(node.id)?.tip).to.deep.include({ bs: bs1.id, seq: 2 });
      expect(sendAll(node, bs2, [reading(3)], t0 + 12)).to.deep.equal([3]);
    });

    it("fails a takeover whose peer never answers with a TimeoutError, and frees the entry slot", async function () {
      const node = w.node();
      const other = w.node();
      const bs1 = w.station();
      const bs2 = w.station(undefined, { limits: { maxConcurrentEntries: 1 }, peerTimeoutMs: 50 });
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      // BS1 is registered but its link never answers
      w.stations.set(bs1.id, {
        handover: () => new Promise<Uint8Array>(() => undefined),
        acquire: (n, from, to, after) => bs1.acquire(n, from, to, after),
        proof: (n, seq) => bs1.proof(n, seq),
      });
      testClock.now = t0 + 10;
      const error = await bs2.authenticate(node.enter(bs2.id, t0 + 10), t0 + 10).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(TimeoutError);
      expect((error as TimeoutError).message).to.match(/retry with a new request/);
      // the one entry slot is free again: another node enters at once
      await enter(other, bs2, t0 + 11);
      expect(bs2.sessionCount).to.equal(1);
    });

    it("refuses to hand over to, or take over from, a station that is not registered and active", async function () {
      const node = w.node();
      const bs1 = w.station();
      // a station that got this epoch's key while registered, then was revoked
      const rogueKeys = w.stationKeys();
      w.directory.set(rogueKeys.id, Kind.BaseStation);
      rogueKeys.keyFor(keyEpoch(w.params, t0 + 10));
      w.directory.set(rogueKeys.id, Kind.BaseStation, Status.Revoked);
      const rogue = w.station(rogueKeys.id, { register: false, keys: rogueKeys });
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      testClock.now = t0 + 10;
      await rejects(rogue.authenticate(node.enter(rogue.id, t0 + 10), t0 + 10), "not-registered");
      expect(bs1.flow(node.id)?.handedOverTo).to.equal(undefined);

      const bs2 = w.station();
      w.directory.set(bs1.id, Kind.BaseStation, Status.Blocked);
      testClock.now = t0 + 20;
      await rejects(bs2.authenticate(node.enter(bs2.id, t0 + 20), t0 + 20), "not-registered");
      w.directory.set(bs1.id, Kind.BaseStation, Status.Active);
      w.stations.delete(bs1.id);
      await rejects(bs2.authenticate(node.enter(bs2.id, t0 + 21), t0 + 21), "not-registered");
    });

    it("refuses a forged tip: ahead of the chain, or a different block at the tip", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1), reading(2)], t0 + 1);
      // a node claiming a longer chain than BS1 holds
      const liar = new NbiotNode(w.params, node.keys, new Uint8Array(32), {
        tip: { bs: bs1.id, seq: 5, hash: new Uint8Array(32).fill(1) },
      });
      testClock.now = t0 + 10;
      await rejects(bs2.authenticate(liar.enter(bs2.id, t0 + 10), t0 + 10), "forged-tip");
      // a node claiming a different block 2
      const liar2 = new NbiotNode(w.params, node.keys, new Uint8Array(32), {
        tip: { bs: bs1.id, seq: 2, hash: new Uint8Array(32).fill(2) },
      });
      await rejects(bs2.authenticate(liar2.enter(bs2.id, t0 + 11), t0 + 11), "forged-tip");
      // a tip at a station that never made it
      await rejects(bs1.authenticate(liar.enter(bs1.id, t0 + 12), t0 + 12), "forged-tip");
      expect(bs1.flow(node.id)?.handedOverTo).to.equal(undefined);
    });

    it("refuses a replayed handover request and a replayed or misdirected record", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      const bs3 = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      const tip = bs1.flow(node.id)!.tip;
      const asks = (station: BaseStation, t: number) =>
        makeAuthRequest(w.params, node.keys, station.id, t, tip, { asymmetricOps: 0 });
      const keys2 = w.stationKeys(bs2.id);
      const request = makeHandoverRequest(w.params, keys2, bs1.id, asks(bs2, t0 + 5), t0 + 5);
      const record = await bs1.handover(request.bytes, t0 + 5);
      await rejects(bs1.handover(request.bytes, t0 + 6), "replay");
      expect(() => checkHandoverRecord(w.params, request, record, t0 + 6)).to.not.throw();
      // the same record offered for another request (a new nonce)
      const request2 = makeHandoverRequest(w.params, keys2, bs1.id, asks(bs2, t0 + 7), t0 + 7);
      expect(() => checkHandoverRecord(w.params, request2, record, t0 + 7))
        .to.throw(ProtocolError)
        .with.property("reason", "replay");
      // a record for BS2 offered to BS3
      const request3 = makeHandoverRequest(w.params, w.stationKeys(bs3.id), bs1.id, asks(bs3, t0 + 7), t0 + 7);
      expect(() => checkHandoverRecord(w.params, request3, record, t0 + 7))
        .to.throw(ProtocolError)
        .with.property("reason", "wrong-peer");
      // a record signed by someone else than BS1
      const forged = makeHandoverRecord(w.params, w.stationKeys(bs3.id), request, { ...tip }, undefined, t0 + 8);
      expect(() => checkHandoverRecord(w.params, request, forged.bytes, t0 + 8))
        .to.throw(ProtocolError)
        .with.property("reason", "wrong-peer");
      const tampered = Uint8Array.from(record);
      tampered[110]! ^= 1;
      expect(() => verifyHandoverRecord(w.params, tampered))
        .to.throw(ProtocolError)
        .with.property("reason", "bad-signature");
      // BS1 already handed the flow over: a second station cannot take it from BS1
      const late = makeHandoverRequest(w.params, w.stationKeys(bs3.id), bs1.id, asks(bs3, t0 + 9), t0 + 9);
      await rejects(bs1.handover(late.bytes, t0 + 9), "handed-over");
      // a request signed by a key that is not the requesting station's
      const stranger = w.stationKeys();
      w.directory.set(stranger.id, Kind.BaseStation);
      const spoof = makeHandoverRequest(w.params, stranger, bs1.id, { ...asks(bs3, t0 + 9), bs: stranger.id }, t0 + 9);
      const spoofed = Uint8Array.from(spoof.bytes);
      spoofed.set(Buffer.from(bs3.id.slice(2), "hex"), 33);
      await rejects(bs1.handover(spoofed, t0 + 9), "bad-signature");
    });

    it("hands a flow only to a station the node has entered (the node's own request is the proof)", async function () {
      const node = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      const thief = w.station();
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      const toBs2 = makeAuthRequest(w.params, node.keys, bs2.id, t0 + 2, node.tip, { asymmetricOps: 0 });
      // the thief cannot build a request around a node request addressed to another station
      expect(() => makeHandoverRequest(w.params, w.stationKeys(thief.id), bs1.id, toBs2, t0 + 2))
        .to.throw(ProtocolError)
        .with.property("reason", "wrong-peer");
      // nor pass one off: BS1 checks the node's request is addressed to the requester
      const own = makeHandoverRequest(w.params, w.stationKeys(thief.id), bs1.id, { ...toBs2, bs: thief.id }, t0 + 2);
      await rejects(bs1.handover(own.bytes, t0 + 2), "wrong-peer");
      // a node request the node never signed
      const fake = makeAuthRequest(
        w.params,
        w.keys(node.id === bs1.id ? randomId() : randomId()),
        thief.id,
        t0 + 2,
        node.tip,
        {
          asymmetricOps: 0,
        },
      );
      const forgedNode = makeHandoverRequest(
        w.params,
        w.stationKeys(thief.id),
        bs1.id,
        { ...fake, node: node.id },
        t0 + 2,
      );
      await rejects(bs1.handover(forgedNode.bytes, t0 + 2), "missing-block");
      // the node is still served by BS1
      expect(bs1.flow(node.id)?.handedOverTo).to.equal(undefined);
      expect(sendAll(node, bs1, [reading(2)], t0 + 3)).to.deep.equal([2]);
    });

    it("never adopts a handed-back tip behind the blocks it holds, and keeps serving other nodes", async function () {
      const node = w.node();
      const other = w.node();
      const bs1 = w.station();
      const bs2 = w.station();
      await enter(node, bs1, t0);
      await enter(other, bs1, t0);
      sendAll(node, bs1, [reading(1), reading(2)], t0 + 1);
      await enter(node, bs2, t0 + 10); // BS1 hands over at block 2
      // BS2 turns malicious: when BS1 asks for the flow back, it answers with block 1 as the tip
      const bs2Keys = w.stationKeys(bs2.id);
      w.stations.set(bs2.id, {
        handover: (bytes) => {
          const r = checkHandoverRequest(w.params, bs2.id, bytes, testClock.now);
          const b1 = bs1.store.block(node.id, 1)!;
          return Promise.resolve(
            makeHandoverRecord(
              w.params,
              bs2Keys,
              r,
              { seq: 1, hash: b1.hash, time: b1.block.time },
              undefined,
              testClock.now,
            ).bytes,
          );
        },
        acquire: (n, f, t) => bs2.acquire(n, f, t),
        proof: (n, q) => bs2.proof(n, q),
      });
      const stale = new NbiotNode(w.params, node.keys, new Uint8Array(32), { tip: node.tip });
      testClock.now = t0 + 20;
      await rejects(bs1.authenticate(stale.enter(bs1.id, t0 + 20), t0 + 20), "forged-tip");
      expect(bs1.flow(node.id)?.handedOverTo).to.equal(bs2.id);
      expect(sendAll(other, bs1, [reading(7)], t0 + 21)).to.deep.equal([1]);
    });

    it("follows a node that crossed a station without sending (BS1 -> BS2 silent -> BS3)", async function () {
      const node = w.node();
      const [bs1, bs2, bs3] = [w.station(), w.station(), w.station()];
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1), reading(2)], t0 + 1);
      await enter(node, bs2, t0 + 10); // takes the flow over, sends nothing
      await enter(node, bs3, t0 + 20);
      expect(sendAll(node, bs3, [reading(3)], t0 + 21)).to.deep.equal([3]);
      for (const bs of [bs1, bs2, bs3]) await bs.seal(t0 + 30);
      const v = verifyAcquisition(
        w.params,
        node.id,
        await Promise.all([bs1, bs2, bs3].map((bs) => bs.acquire(node.id, 0, t0 + 100))),
      );
      expect(v.blocks.map((b) => [b.block.seq, b.block.bs])).to.deep.equal([
        [1, bs1.id],
        [2, bs1.id],
        [3, bs3.id],
      ]);
      expect(v.handovers[0]?.origin).to.equal(bs1.id);
      expect(v.handovers[0]?.prior?.to).to.equal(bs2.id);
    });
  });
});
