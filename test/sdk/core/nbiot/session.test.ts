/**
 * Seed 000 "Transmission": double encryption (primary key node <-> application,
 * session key node <-> station), rising frame counters, receipts, session
 * expiry and symmetric renewal. The station's code path never holds a primary
 * key or a plaintext.
 */
import { readFileSync } from "node:fs";

import { expect } from "chai";
import fc from "fast-check";

import { AeadKey } from "../../../../sdk/core/crypto/aead.ts";
import { NbiotNode } from "../../../../sdk/core/nbiot/device.ts";
import { openPrimaryKey, sealPrimaryKey } from "../../../../sdk/core/nbiot/provisioning.ts";
import { HEADER_BYTES, openPrimary, readHeader, sealPrimary } from "../../../../sdk/core/nbiot/session.ts";
import { ProtocolError } from "../../../../sdk/errors.ts";
import type { IngestResult } from "../../../../sdk/nbiot/base-station.ts";
import { enter, makeWorld, randomId, type World } from "../../../helpers/nbiot.ts";

const flip = (b: Uint8Array, i: number): Uint8Array => {
  const o = Uint8Array.from(b);
  o[i]! ^= 1;
  return o;
};

async function areason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ProtocolError);
    return (e as ProtocolError).reason;
  }
  return "none";
}

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(ProtocolError);
    return (e as ProtocolError).reason;
  }
  return "none";
}

/** Whether `needle` occurs anywhere in `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).includes(Buffer.from(needle));
}

/** Every byte array reachable from `root` (objects, arrays, maps, sets, class fields via own keys). */
function reachableBytes(root: unknown, seen = new Set<unknown>(), out: Uint8Array[] = []): Uint8Array[] {
  if (root === null || typeof root !== "object" || seen.has(root)) return out;
  seen.add(root);
  if (root instanceof Uint8Array) {
    out.push(root);
    return out;
  }
  const children: unknown[] =
    root instanceof Map ? [...root.keys(), ...root.values()] : root instanceof Set ? [...root] : Object.values(root);
  for (const c of children) reachableBytes(c, seen, out);
  return out;
}

describe("nbiot session and double encryption", function () {
  let w: World;
  const now = 1_800_000_000_000;
  beforeEach(function () {
    w = makeWorld({ sessionLifetimeMs: 60_000, maxSessionAgeMs: 180_000 });
  });
  afterEach(function () {
    w.cleanup();
  });

  describe("primary layer", function () {
    it("round-trips a reading bound to its node and sequence number", function () {
      const key = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
      const node = randomId();
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 1, max: 2 ** 40 }), (m, seq) => {
          expect(openPrimary(key, node, seq, sealPrimary(key, node, seq, m))).to.deep.equal(m);
        }),
        { numRuns: 50 },
      );
      const ct = sealPrimary(key, node, 7, new Uint8Array([1, 2, 3]));
      expect(reason(() => openPrimary(key, node, 8, ct))).to.equal("tampered");
      expect(reason(() => openPrimary(key, randomId(), 7, ct))).to.equal("tampered");
      const other = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
      expect(reason(() => openPrimary(other, node, 7, ct))).to.equal("tampered");
    });

    it("provisions the primary key sealed to the node's identity and to the application", function () {
      const keys = w.keys();
      const app = randomId();
      const { key, sealed } = sealPrimaryKey(w.params, w.applicationKeys(app), keys.id, now);
      const ops = { asymmetricOps: 0 };
      expect(openPrimaryKey(w.params, keys, app, sealed, ops)).to.deep.equal(key);
      expect(ops.asymmetricOps).to.equal(2); // once, at set-up
      expect(reason(() => openPrimaryKey(w.params, keys, randomId(), sealed))).to.equal("wrong-peer");
      expect(reason(() => openPrimaryKey(w.params, w.keys(), app, sealed))).to.equal("wrong-peer");
      expect(reason(() => openPrimaryKey(w.params, keys, app, flip(sealed, 140)))).to.equal("bad-signature");
      expect(reason(() => openPrimaryKey(w.params, keys, app, sealed.subarray(0, 100)))).to.equal("malformed");
      // anyone can seal a key to the node's identity, but only the application can sign it
      const forged = sealPrimaryKey(w.params, w.applicationKeys(randomId()), keys.id, now).sealed;
      forged.set(sealed.subarray(0, 32), 0);
      expect(reason(() => openPrimaryKey(w.params, keys, app, forged))).to.equal("bad-signature");
    });
  });

  describe("frames", function () {
    it("carry the primary ciphertext under the session key; the station sees only ciphertext", async function () {
      const primaryKey = crypto.getRandomValues(new Uint8Array(32));
      const node = w.node(undefined, primaryKey);
      const bs = w.station();
      await enter(node, bs, now);
      const marker = crypto.getRandomValues(new Uint8Array(24)); // a plaintext no station may ever hold
      const frames = Array.from({ length: 20 }, (_, i) => node.send(Uint8Array.of(i, ...marker), now + i));
      for (const f of frames) expect(contains(f, marker)).to.equal(false);
      const results = bs.ingest(frames, now + 30);
      for (const r of results) {
        if (!r.ok) throw r.error;
        node.onReceipt(r.receipt);
      }
      await bs.seal(now + 40);
      const held = [
        ...reachableBytes(bs),
        ...reachableBytes(bs.store),
        ...reachableBytes(await bs.acquire(node.id, 0, now + 100)),
      ];
      expect(held.length).to.be.greaterThan(20);
      for (const bytes of held) {
        expect(contains(bytes, marker)).to.equal(false);
        expect(contains(bytes, primaryKey)).to.equal(false);
      }
      const file = readFileSync(bs.store.path);
      const wal = readFileSync(`${bs.store.path}-wal`);
      for (const disk of [file, wal]) {
        expect(contains(disk, marker)).to.equal(false);
        expect(contains(disk, primaryKey)).to.equal(false);
      }
      // and the primary ciphertext the station stored does open with the primary key
      const stored = bs.store.block(node.id, 3)!;
      expect(openPrimary(new AeadKey(primaryKey), node.id, 3, stored.primary)).to.deep.equal(
        Uint8Array.of(2, ...marker),
      );
    });

    it("refuses a replayed, reordered, tampered, truncated or unknown-session frame", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      const a = node.send(Uint8Array.of(1), now);
      const b = node.send(Uint8Array.of(2), now);
      const [ra] = bs.ingest([a], now);
      expect(ra!.ok).to.equal(true);
      const replay = bs.ingest([a], now + 1)[0]!;
      expect(replay.ok === false && replay.error.reason).to.equal("replay");
      const tampered = bs.ingest([flip(b, b.length - 3)], now + 1)[0]!;
      expect(tampered.ok === false && tampered.error.reason).to.equal("tampered");
      const truncated = bs.ingest([b.subarray(0, HEADER_BYTES - 1)], now + 1)[0]!;
      expect(truncated.ok === false && truncated.error.reason).to.equal("malformed");
      const unknown = bs.ingest([flip(b, 3)], now + 1)[0]!;
      expect(unknown.ok === false && unknown.error.reason).to.equal("unknown-session");
      const good = bs.ingest([b], now + 1)[0]!;
      expect(good.ok).to.equal(true);
      const c = node.send(Uint8Array.of(3), now);
      const d = node.send(Uint8Array.of(4), now);
      const [rd, rc] = bs.ingest([d, c], now + 2) as [IngestResult, IngestResult];
      expect(rd.ok === false && rd.error.reason).to.equal("out-of-order"); // d arrived first: its reading skips c's
      expect(rc.ok === false && rc.error.reason).to.equal("replay"); // c's counter is below d's
      const resent = bs.ingest(node.resend(now + 3), now + 3);
      expect(resent.map((x) => x.ok)).to.deep.equal([true, true, true, true]);
      expect(bs.store.counts().blocks).to.equal(4);
    });

    it("refuses a reading whose sequence number skips ahead", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      const first = node.send(Uint8Array.of(1), now);
      const second = node.send(Uint8Array.of(2), now);
      const r = bs.ingest([second], now)[0]!;
      expect(r.ok === false && r.error.reason).to.equal("out-of-order");
      const late = bs.ingest([first], now)[0]!; // its counter is below the refused frame's
      expect(late.ok === false && late.error.reason).to.equal("replay");
      expect(bs.store.counts().blocks).to.equal(0);
      const resent = bs.ingest(node.resend(now + 1), now + 1);
      for (const x of resent) {
        if (!x.ok) throw x.error;
        node.onReceipt(x.receipt);
      }
      expect(bs.store.counts().blocks).to.equal(2);
      expect(node.tip?.seq).to.equal(2);
    });

    it("returns the same receipt for a re-sent reading and stores it once", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      const frame = node.send(Uint8Array.of(42), now);
      const r1 = bs.ingest([frame], now)[0]!;
      if (!r1.ok) throw r1.error;
      // the receipt was lost: the node re-sends the same primary ciphertext with a new counter
      const [again] = node.resend(now + 1);
      const r2 = bs.ingest([again!], now + 1)[0]!;
      if (!r2.ok) throw r2.error;
      expect(r2.duplicate).to.equal(true);
      const receipt = node.onReceipt(r2.receipt);
      expect(receipt.seq).to.equal(1);
      expect(node.unconfirmed).to.deep.equal([]);
      expect(bs.store.counts().blocks).to.equal(1);
      expect(readHeader(r1.receipt, "receipt").counter).to.equal(1);
    });
  });

  describe("receipts", function () {
    it("authenticate the block to the node: a tampered, truncated or foreign receipt is refused", async function () {
      const node = w.node();
      const other = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      await enter(other, bs, now);
      const mine = bs.ingest([node.send(Uint8Array.of(1), now)], now)[0]!;
      const theirs = bs.ingest([other.send(Uint8Array.of(2), now)], now)[0]!;
      if (!mine.ok || !theirs.ok) throw new Error("ingest failed");
      for (const i of [30, 60, mine.receipt.length - 1]) {
        expect(reason(() => node.onReceipt(flip(mine.receipt, i)))).to.equal("tampered");
      }
      expect(reason(() => node.onReceipt(mine.receipt.subarray(0, 60)))).to.equal("malformed");
      expect(reason(() => node.onReceipt(theirs.receipt))).to.equal("wrong-peer");
      expect(node.onReceipt(mine.receipt).seq).to.equal(1);
      expect(node.unconfirmed).to.deep.equal([]);
    });
  });

  describe("session lifetime", function () {
    it("expires: the station refuses a stale session's frames and the node refuses to use it", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      const late = now + 60_000;
      const frame = node.send(Uint8Array.of(1), late - 1);
      const r = bs.ingest([frame], late)[0]!;
      expect(r.ok === false && r.error.reason).to.equal("stale-session");
      expect(reason(() => node.send(Uint8Array.of(2), late))).to.equal("stale-session");
    });

    it("renews symmetrically before expiry, keeps the chain going, and retires the old key", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      const oldFrame = node.send(Uint8Array.of(1), now);
      expect(node.shouldRenew(now)).to.equal(false);
      expect(node.shouldRenew(now + 55_000)).to.equal(true);
      node.onRenewal(await bs.renew(node.renew(now + 55_000), now + 55_000), now + 55_000);
      expect(node.sessionExpiresAt).to.equal(now + 115_000);
      const stale = bs.ingest([oldFrame], now + 55_001)[0]!;
      expect(stale.ok === false && stale.error.reason).to.equal("unknown-session");
      const res = bs.ingest(node.resend(now + 100_000), now + 100_000)[0]!;
      if (!res.ok) throw res.error;
      expect(node.onReceipt(res.receipt).seq).to.equal(1);
      expect(node.ops.asymmetricOps).to.equal(3);
    });

    it("refuses a renewal once the line of renewals is older than maxSessionAgeMs", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      let t = now;
      for (let i = 0; i < 2; i++) {
        t += 55_000;
        node.onRenewal(await bs.renew(node.renew(t), t), t);
      }
      t += 55_000;
      expect(await areason(bs.renew(node.renew(t), t))).to.equal("none");
      const node2 = w.node();
      await enter(node2, bs, now);
      let u = now;
      for (let i = 0; i < 3; i++) {
        u += 59_000;
        node2.onRenewal(await bs.renew(node2.renew(u), u), u);
      }
      expect(node2.sessionExpiresAt).to.equal(now + 180_000);
      u = now + 179_000;
      expect(await areason(bs.renew(node2.renew(u), u))).to.equal("none");
      u = now + 180_000;
      expect(reason(() => node2.renew(u))).to.equal("stale-session");
    });

    it("refuses a replayed renew request and a renew response for another request", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      const req = node.renew(now + 1);
      const res = await bs.renew(req, now + 1);
      expect(await areason(bs.renew(req, now + 2))).to.equal("unknown-session");
      node.renew(now + 2); // a newer request: the old answer no longer fits
      expect(reason(() => node.onRenewal(res, now + 2))).to.equal("replay");
    });
  });

  describe("nodes without a session", function () {
    it("cannot send or take receipts", function () {
      const node = new NbiotNode(w.params, w.keys(), new Uint8Array(32));
      expect(reason(() => node.send(Uint8Array.of(1), now))).to.equal("unknown-session");
      expect(reason(() => node.accept(new Uint8Array(10), now))).to.equal("replay");
    });
  });
});
