/**
 * What an attacker on the NB-IoT path tries, and why it fails: a device or a
 * revoked station posing as a base station, a station confirming a reading it
 * did not chain, forged responses draining the node's battery, a replay after
 * a station restart, a blocked node renewing, a chunk that cannot be stored,
 * and malformed data served to an application.
 */
import { expect } from "chai";

import { type Block, blockHash, ciphertextDigest, ZERO_HASH } from "../../../sdk/core/nbiot/block.ts";
import { type AcquisitionResponse, verifyAcquisition } from "../../../sdk/core/nbiot/acquisition.ts";
import { checkAuthRequest, decodeAuthRequest, makeAuthResponse } from "../../../sdk/core/nbiot/handshake.ts";
import { makeHandoverRequest } from "../../../sdk/core/nbiot/handover.ts";
import { keyEpoch, type StationKeys } from "../../../sdk/core/nbiot/params.ts";
import { openFrame, readHeader, sealReceipt, Session } from "../../../sdk/core/nbiot/session.ts";
import { Kind, Status } from "../../../sdk/core/registry.ts";
import { InvalidInputError, ProtocolError } from "../../../sdk/errors.ts";
import { Application } from "../../../sdk/nbiot/application.ts";
import type { StationLink } from "../../../sdk/nbiot/ports.ts";
import { enter, makeWorld, randomId, reading, sendAll, testClock, type World } from "../../helpers/nbiot.ts";

const t0 = 1_800_000_000_000;

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof ProtocolError ? e.reason : `raw ${(e as Error).name}`;
  }
  return "accepted";
}

async function areason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof ProtocolError ? e.reason : `raw ${(e as Error).name}`;
  }
  return "accepted";
}

describe("NB-IoT under attack", function () {
  let w: World;
  beforeEach(function () {
    w = makeWorld({ keyEpochMs: 60_000 });
  });
  afterEach(function () {
    w.cleanup();
  });

  describe("fake base stations", function () {
    it("a node refuses a device posing as a station: node keys cannot sign as a station", function () {
      const victim = w.node();
      const impostor = w.keys(); // a registered device's valid keys
      const asStation: StationKeys = { role: "station", id: impostor.id, keyFor: () => impostor.signKey };
      const request = decodeAuthRequest(victim.enter(impostor.id, t0));
      const { response } = makeAuthResponse(w.params, asStation, request, t0, undefined);
      expect(reason(() => victim.accept(response.bytes, t0))).to.equal("bad-signature");
    });

    it("the PKG gives no key to a station that is not a registered, active base station", function () {
      const unregistered = w.stationKeys();
      expect(() => unregistered.keyFor(keyEpoch(w.params, t0))).to.throw(InvalidInputError);
      const device = w.node();
      expect(() => w.stationKeys(device.id).keyFor(keyEpoch(w.params, t0))).to.throw(InvalidInputError);
    });

    it("a revoked station signs nothing a node accepts once its key epoch is over", async function () {
      const node = w.node();
      const keys = w.stationKeys();
      w.directory.set(keys.id, Kind.BaseStation);
      const epoch = keyEpoch(w.params, t0);
      const lastKey = keys.keyFor(epoch); // issued while it was active
      w.directory.set(keys.id, Kind.BaseStation, Status.Revoked);
      const later = (epoch + 1) * w.params.timing.keyEpochMs + 1;
      // it cannot get the next epoch's key...
      expect(() => keys.keyFor(epoch + 1)).to.throw(InvalidInputError);
      // ...and the old one does not verify for a response dated in the next epoch
      const stale: StationKeys = { role: "station", id: keys.id, keyFor: () => lastKey };
      const request = decodeAuthRequest(node.enter(keys.id, later));
      const { response } = makeAuthResponse(w.params, stale, request, later, undefined);
      expect(reason(() => node.accept(response.bytes, later))).to.equal("bad-signature");
    });
  });

  describe("the node's own checks", function () {
    it("refuses a receipt whose block does not hold the ciphertext it sent, and keeps the reading", function () {
      const node = w.node();
      const keys = w.stationKeys();
      w.directory.set(keys.id, Kind.BaseStation);
      const req = checkAuthRequest(w.params, keys.id, node.enter(keys.id, t0), t0);
      const { response, secret } = makeAuthResponse(w.params, keys, req, t0, undefined);
      node.accept(response.bytes, t0);
      const session = new Session(secret);
      const frame = node.send(reading(-40), t0 + 1);
      const f = openFrame(session, frame, readHeader(frame, "frame").counter);
      const other = crypto.getRandomValues(new Uint8Array(f.primary.length));
      const block: Block = {
        node: node.id,
        bs: keys.id,
        seq: 1,
        time: t0 + 1,
        digest: ciphertextDigest(other),
        prev: ZERO_HASH,
      };
      const receipt = sealReceipt(session, { counter: 1, seq: 1, time: t0 + 1, bs: keys.id, hash: blockHash(block) });
      expect(reason(() => node.onReceipt(receipt))).to.equal("tampered");
      expect(node.unconfirmed).to.deep.equal([1]);
      expect(node.receipts).to.deep.equal([]);
    });

    it("spends at most 3 asymmetric operations per entry attempt, however many forged responses arrive", async function () {
      const node = w.node();
      const bs = w.station();
      const impostor = w.stationKeys();
      w.directory.set(impostor.id, Kind.BaseStation);
      testClock.now = t0;
      for (let i = 0; i < 5; i++) {
        const request = decodeAuthRequest(node.enter(bs.id, t0 + i));
        const forged = makeAuthResponse(w.params, { ...impostor, id: bs.id }, request, t0 + i, undefined).response
          .bytes;
        expect(reason(() => node.accept(forged, t0 + i))).to.equal("bad-signature");
        expect(reason(() => node.accept(forged, t0 + i))).to.equal("replay"); // no second attempt
      }
      expect(node.ops.asymmetricOps).to.equal(10); // sign + one verification per attempt
      const before = node.ops.asymmetricOps;
      await enter(node, bs, t0 + 10);
      expect(node.ops.asymmetricOps - before).to.equal(3);
    });
  });

  describe("stations", function () {
    it("a restarted station refuses an authentication request it may have answered before", async function () {
      const node = w.node();
      const id = randomId();
      const path = `${w.dir}/bs1.sqlite`;
      let bs1 = w.station(id, { path });
      const bs2 = w.station();
      testClock.now = t0;
      const captured = node.enter(bs1.id, t0); // on the air
      node.accept(await bs1.authenticate(captured, t0), t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      bs1.close();
      testClock.now = t0 + 2;
      bs1 = w.station(id, { path }); // restarted: its replay guard is empty
      await enter(node, bs2, t0 + 5);
      testClock.now = t0 + 10;
      expect(await areason(bs1.authenticate(captured, t0 + 10))).to.equal("replay");
      expect(bs2.ingest([node.send(reading(2), t0 + 11)], t0 + 11)[0]!.ok).to.equal(true);
    });

    it("a station cannot pull a flow back with the node's old request (handover replay)", async function () {
      const node = w.node();
      const [bs1, bs2, bs3] = [w.station(), w.station(), w.station()];
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      testClock.now = t0 + 10;
      const kept = decodeAuthRequest(node.enter(bs2.id, t0 + 10)); // BS2 keeps the node's request
      node.accept(await bs2.authenticate(kept.bytes, t0 + 10), t0 + 10);
      sendAll(node, bs2, [reading(2)], t0 + 11);
      await enter(node, bs3, t0 + 20); // the node moves on within the freshness window
      // BS2 wraps the old request in a fresh, correctly signed handover request to BS3
      const pull = makeHandoverRequest(w.params, w.stationKeys(bs2.id), bs3.id, kept, t0 + 25);
      expect(await areason(bs3.handover(pull.bytes, t0 + 25))).to.equal("replay");
      expect(bs3.flow(node.id)?.handedOverTo).to.equal(undefined);
      // and the node is still served where it is
      expect(sendAll(node, bs3, [reading(3)], t0 + 26)).to.deep.equal([3]);
    });

    it("a station cannot pull a flow back by racing the node's old request against its new entry", async function () {
      for (const [k, order] of ["pull while the node's entry awaits", "entry while the pull awaits"].entries()) {
        const b = t0 + k * 100_000;
        testClock.now = b;
        const node = w.node();
        const [bs1, bs2, bs3] = [w.station(), w.station(), w.station()];
        await enter(node, bs1, b);
        sendAll(node, bs1, [reading(1)], b + 1);
        testClock.now = b + 10;
        const kept = decodeAuthRequest(node.enter(bs2.id, b + 10));
        node.accept(await bs2.authenticate(kept.bytes, b + 10), b + 10);
        sendAll(node, bs2, [reading(2)], b + 11);
        // BS3's registry lookups take a round trip, so requests interleave at their awaits
        const lookup = w.directory.lookup.bind(w.directory);
        w.directory.lookup = (id) => new Promise((r) => setTimeout(() => r(lookup(id)), 5));
        const honest = w.stations.get(bs2.id)!;
        const pull = () =>
          bs3.handover(makeHandoverRequest(w.params, w.stationKeys(bs2.id), bs3.id, kept, b + 20).bytes, b + 20);
        let pulled: Promise<string> | undefined; // the outcome, read as soon as it settles
        if (order === "pull while the node's entry awaits") {
          // BS2, asked by BS3 for the flow, first fires the kept request at BS3, then answers
          w.stations.set(bs2.id, {
            ...honest,
            handover: (bytes) => {
              pulled = areason(pull());
              return honest.handover(bytes);
            },
          });
        } else {
          pulled = areason(pull()); // the old request arrives first and awaits its lookup...
        }
        testClock.now = b + 20;
        node.accept(await bs3.authenticate(node.enter(bs3.id, b + 20), b + 20), b + 20); // ...the node enters
        expect(await pulled, order).to.equal("replay");
        expect(bs3.flow(node.id)?.handedOverTo, order).to.equal(undefined);
        expect(sendAll(node, bs3, [reading(3)], b + 21), order).to.deep.equal([3]);
        w.directory.lookup = lookup;
        w.stations.set(bs2.id, honest);
      }
    });

    it("refuses a node request it has seen used, and one dated before the node's latest entry", async function () {
      const node = w.node();
      const [bs1, bs2] = [w.station(), w.station()];
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + 1);
      testClock.now = t0 + 10;
      const toBs2 = decodeAuthRequest(node.enter(bs2.id, t0 + 10));
      node.accept(await bs2.authenticate(toBs2.bytes, t0 + 10), t0 + 10); // BS1 handed the flow over on it
      // the same node request, wrapped anew by BS2, is refused by BS1: it was used
      const again = makeHandoverRequest(w.params, w.stationKeys(bs2.id), bs1.id, toBs2, t0 + 12);
      expect(await areason(bs1.handover(again.bytes, t0 + 12))).to.equal("replay");
      // a request the node made to BS1 but that never arrived, delivered after the node entered BS1 again
      testClock.now = t0 + 20;
      const delayed = node.enter(bs1.id, t0 + 20);
      await enter(node, bs1, t0 + 21);
      expect(await areason(bs1.authenticate(delayed, t0 + 22))).to.equal("replay");
      expect(sendAll(node, bs1, [reading(2)], t0 + 23)).to.deep.equal([2]);
    });

    it("refuses to renew the session of a node the registry has blocked", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, t0);
      w.directory.set(node.id, Kind.Device, Status.Blocked);
      expect(await areason(bs.renew(node.renew(t0 + 1000), t0 + 1000))).to.equal("not-registered");
      const after = bs.ingest([node.send(reading(1), t0 + 1001)], t0 + 1001)[0]!;
      expect(after.ok === false && after.error.reason).to.equal("unknown-session");
    });

    it("answers every frame of a chunk it cannot store whole: the faulty frame fails, the others pass", async function () {
      const [a, b] = [w.node(), w.node()];
      const bs = w.station();
      await enter(a, bs, t0);
      await enter(b, bs, t0);
      // block 1 of node A is already in the store (a corrupted restart, an operator's insert)
      const primary = crypto.getRandomValues(new Uint8Array(40));
      const squatter: Block = {
        node: a.id,
        bs: bs.id,
        seq: 1,
        time: t0,
        digest: ciphertextDigest(primary),
        prev: ZERO_HASH,
      };
      bs.store.append([{ block: squatter, hash: blockHash(squatter), primary }]);
      const results = bs.ingest([a.send(reading(1), t0 + 1), b.send(reading(2), t0 + 1)], t0 + 1);
      expect(results.map((r) => (r.ok ? "ok" : r.error.reason))).to.deep.equal(["conflict", "ok"]);
      expect(b.onReceipt((results[1] as { receipt: Uint8Array }).receipt).seq).to.equal(1);
      expect(bs.flow(b.id)?.tip.seq).to.equal(1);
    });

    it("never dates a block before the one it extends, even when its clock runs back", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, t0);
      sendAll(node, bs, [reading(1)], t0 + 10_000);
      sendAll(node, bs, [reading(2)], t0 + 5_000);
      expect(bs.store.block(node.id, 2)!.block.time).to.equal(t0 + 10_000);
    });

    it("serves a long flow in pages and says when there is more", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, t0);
      sendAll(
        node,
        bs,
        Array.from({ length: 5 }, (_, i) => reading(i)),
        t0 + 1,
      );
      await bs.seal(t0 + 2);
      const first = await bs.acquire(node.id, 0, t0 + 10, 0, 2);
      const second = await bs.acquire(node.id, 0, t0 + 10, 2, 2);
      const last = await bs.acquire(node.id, 0, t0 + 10, 4, 2);
      expect([first.more, second.more, last.more]).to.deep.equal([true, true, false]);
      const v = verifyAcquisition(w.params, node.id, [first, second, last]);
      expect(v.blocks.map((b) => b.block.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    });
  });

  describe("applications", function () {
    it("refuse malformed served data with a ProtocolError, never a raw error", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, t0);
      sendAll(node, bs, [reading(1), reading(2)], t0 + 1);
      await bs.seal(t0 + 2);
      const res = await bs.acquire(node.id, 0, t0 + 100);
      const b0 = res.blocks[0]!;
      const cases: AcquisitionResponse[] = [
        { ...res, blocks: [{ ...b0, primary: [...b0.primary] as unknown as Uint8Array }] },
        { ...res, blocks: [{ ...b0, proof: ["0xzz"] }] },
        { ...res, batches: res.batches.map((b) => ({ ...b, root: "0x12" as const })) },
        {
          ...res,
          blocks: res.blocks.map((b) => ({ ...b, batch: 1.5 })),
          batches: res.batches.map((b) => ({ ...b, number: 1.5 })),
        },
      ];
      for (const c of cases)
        expect(reason(() => verifyAcquisition(w.params, node.id, [c]))).to.not.match(/^raw |accepted/);
    });

    it("an application refuses a served page with a short or non-byte block as malformed, never a raw error", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, t0);
      sendAll(node, bs, [reading(1), reading(2)], t0 + 1);
      await bs.seal(t0 + 2);
      const page = await bs.acquire(node.id, 0, t0 + 100);
      const b0 = page.blocks[0]!;
      const app = new Application({
        params: w.params,
        keys: w.applicationKeys(),
        anchors: { anchorOf: () => Promise.resolve(undefined), verifyReading: () => Promise.resolve(false) },
        directory: w.directory,
      });
      app.provision(node.id, t0);
      const served: AcquisitionResponse[] = [
        { ...page, more: true, blocks: [{ ...b0, block: b0.block.subarray(0, 40) }] },
        { ...page, more: true, blocks: [{ ...b0, block: [...b0.block] as unknown as Uint8Array }] },
        { ...page, more: true, blocks: [null as unknown as (typeof page.blocks)[0]] },
        { ...page, more: true, blocks: "blocks" as unknown as typeof page.blocks },
      ];
      for (const res of served) {
        const station: StationLink = {
          handover: (bytes) => bs.handover(bytes),
          proof: (id, seq) => bs.proof(id, seq),
          acquire: () => Promise.resolve(res),
        };
        expect(await areason(app.acquire(node.id, 0, t0 + 100, [station]))).to.equal("malformed");
      }
    });
  });
});
