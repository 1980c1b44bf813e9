/**
 * Seed 000 "Authentication": node <-> base station mutual authentication with
 * identity-based signatures, nonces and timestamps, and the IBE session key —
 * three asymmetric operations on the node per entry, none afterwards.
 */
import { expect } from "chai";

import { Pkg } from "../../../../sdk/core/crypto/identity.ts";
import { NbiotNode } from "../../../../sdk/core/nbiot/device.ts";
import {
  checkAuthRequest,
  checkLaterEntry,
  decodeAuthRequest,
  makeAuthRequest,
  makeAuthResponse,
} from "../../../../sdk/core/nbiot/handshake.ts";
import { checkNodeKeys, extractNodeKeys, nbiotParams, pkgStationKeys } from "../../../../sdk/core/nbiot/params.ts";
import { Kind, Status } from "../../../../sdk/core/registry.ts";
import { InvalidInputError, ProtocolError } from "../../../../sdk/errors.ts";
import { backend, enter, makeWorld, randomId, reading, type World } from "../../../helpers/nbiot.ts";

async function rejects(p: Promise<unknown> | (() => unknown), reason: string): Promise<ProtocolError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).to.be.instanceOf(ProtocolError);
    expect((e as ProtocolError).reason).to.equal(reason);
    return e as ProtocolError;
  }
  expect.fail(`expected ProtocolError(${reason})`);
}

const flip = (b: Uint8Array, i: number): Uint8Array => {
  const o = Uint8Array.from(b);
  o[i]! ^= 1;
  return o;
};

describe("nbiot handshake", function () {
  let w: World;
  const now = 1_800_000_000_000;
  beforeEach(function () {
    w = makeWorld();
  });
  afterEach(function () {
    w.cleanup();
  });

  describe("identity keys", function () {
    it("gives each id one signing and one decryption key, checked against the PKG", function () {
      const keys = w.keys();
      expect(() => checkNodeKeys(backend, w.params.masterPublic, keys)).to.not.throw();
      expect(w.pkg.backend.g1.eq(keys.signKey, keys.decryptKey)).to.equal(false);
      const other = extractNodeKeys(new Pkg(backend), keys.id);
      expect(() => checkNodeKeys(backend, w.params.masterPublic, other)).to.throw(InvalidInputError);
    });

    it("refuses bad timing rules", function () {
      expect(() => nbiotParams(backend, w.params.masterPublic, { clockSkewMs: 0 })).to.throw(InvalidInputError);
      expect(() => nbiotParams(backend, w.params.masterPublic, { sessionLifetimeMs: 10, maxSessionAgeMs: 5 })).to.throw(
        InvalidInputError,
      );
    });
  });

  describe("entering a station", function () {
    it("authenticates both ends with exactly 3 asymmetric operations on the node, and none per reading or renewal", async function () {
      const node = w.node();
      const bs = w.station();
      await enter(node, bs, now);
      expect(node.ops.asymmetricOps).to.equal(3);
      expect(node.station).to.equal(bs.id);
      for (let i = 0; i < 50; i++) {
        const res = bs.ingest([node.send(reading(20 + i), now + i)], now + i)[0]!;
        if (!res.ok) throw res.error;
        node.onReceipt(res.receipt);
      }
      node.onRenewal(await bs.renew(node.renew(now + 100), now + 100), now + 100);
      const res = bs.ingest([node.send(reading(1), now + 101)], now + 101)[0]!;
      expect(res.ok).to.equal(true);
      expect(node.ops.asymmetricOps).to.equal(3);
      await enter(node, w.station(), now + 200);
      expect(node.ops.asymmetricOps).to.equal(6);
    });

    it("refuses a fake node whose key is not from the PKG", async function () {
      const bs = w.station();
      const id = randomId();
      w.directory.set(id, Kind.Device);
      const fake = new NbiotNode(w.params, extractNodeKeys(new Pkg(backend), id), new Uint8Array(32));
      await rejects(bs.authenticate(fake.enter(bs.id, now), now), "bad-signature");
      expect(bs.sessionCount).to.equal(0);
    });

    it("lets a node refuse a fake station whose key is not from the PKG", function () {
      const node = w.node();
      const id = randomId();
      const request = node.enter(id, now);
      const { response } = makeAuthResponse(
        w.params,
        pkgStationKeys(new Pkg(backend), id),
        decodeAuthRequest(request),
        now,
        undefined,
      );
      expect(() => node.accept(response.bytes, now))
        .to.throw(ProtocolError)
        .with.property("reason", "bad-signature");
      expect(node.station).to.equal(undefined);
    });

    it("refuses a node that is not registered, or not active", async function () {
      const bs = w.station();
      const node = new NbiotNode(w.params, w.keys(), new Uint8Array(32));
      await rejects(bs.authenticate(node.enter(bs.id, now), now), "not-registered");
      w.directory.set(node.id, Kind.Device, Status.Blocked);
      await rejects(bs.authenticate(node.enter(bs.id, now + 1), now + 1), "not-registered");
      w.directory.set(node.id, Kind.BaseStation, Status.Active);
      await rejects(bs.authenticate(node.enter(bs.id, now + 2), now + 2), "not-registered");
    });

    it("refuses a request for another station, a stale or future one, and a replayed one", async function () {
      const node = w.node();
      const bs = w.station();
      const other = w.station();
      await rejects(bs.authenticate(node.enter(other.id, now), now), "wrong-peer");
      const skew = w.params.timing.clockSkewMs;
      await rejects(bs.authenticate(node.enter(bs.id, now - skew - 1), now), "clock-skew");
      await rejects(bs.authenticate(node.enter(bs.id, now + skew + 1), now), "clock-skew");
      const request = node.enter(bs.id, now);
      await bs.authenticate(request, now);
      await rejects(bs.authenticate(request, now + 5), "replay");
    });

    it("refuses a tampered request or response, and takes one verification attempt per entry", async function () {
      const node = w.node();
      const bs = w.station();
      const request = node.enter(bs.id, now);
      await rejects(bs.authenticate(flip(request, 80), now), "bad-signature");
      await rejects(bs.authenticate(request.subarray(0, 100), now), "malformed");
      const response = await bs.authenticate(request, now);
      await rejects(() => node.accept(response.subarray(0, 50), now), "malformed"); // no asymmetric op spent
      await rejects(() => node.accept(flip(response, 200), now), "bad-signature");
      // the failed verification used up the request: forged responses cannot make the node spend more
      await rejects(() => node.accept(response, now), "replay");
      expect(node.ops.asymmetricOps).to.equal(2);
      await enter(node, w.station(), now + 1);
      expect(node.ops.asymmetricOps).to.equal(5);
    });

    it("refuses a response to another request, a stale response, and a second use of one", async function () {
      const node = w.node();
      const bs = w.station();
      const first = await bs.authenticate(node.enter(bs.id, now), now);
      node.enter(bs.id, now + 1); // a newer request supersedes the first
      await rejects(() => node.accept(first, now + 1), "replay");
      const second = await bs.authenticate(node.enter(bs.id, now + 2), now + 2);
      await rejects(() => node.accept(second, now + 2 + w.params.timing.clockSkewMs + 1), "clock-skew");
      const third = await bs.authenticate(node.enter(bs.id, now + 3), now + 3);
      node.accept(third, now + 3);
      await rejects(() => node.accept(third, now + 3), "replay");
    });

    it("checks requests with the pure core too (wrong station, signature, freshness)", function () {
      const keys = w.keys();
      const bsId = randomId();
      const ops = { asymmetricOps: 0 };
      const req = makeAuthRequest(w.params, keys, bsId, now, undefined, ops);
      expect(ops.asymmetricOps).to.equal(1);
      expect(checkAuthRequest(w.params, bsId, req.bytes, now).node).to.equal(keys.id);
      expect(() => checkAuthRequest(w.params, randomId(), req.bytes, now)).to.throw(ProtocolError);
    });
  });

  describe("checkLaterEntry", function () {
    it("refuses a request dated at or before the node's latest known entry", async function () {
      const node = randomId();
      expect(() => checkLaterEntry({ node, time: 5 }, undefined)).to.not.throw();
      expect(() => checkLaterEntry({ node, time: 6 }, 5)).to.not.throw();
      await rejects(() => checkLaterEntry({ node, time: 5 }, 5), "replay");
      await rejects(() => checkLaterEntry({ node, time: 4 }, 5), "replay");
    });
  });
});
