/**
 * Seed 004's hidden data filtering at one fog node: bogus input dropped with a
 * counted reason, readings sorted by PEKS trapdoors without decryption, normal
 * readings in the open store (queryable by anyone), sensitive ones kept for
 * batches, and replays refused across a restart; an access request to the
 * sensitive readings served once, with a bounded number of nonces kept.
 */
import { expect } from "chai";

import { openPayload, decodeReading } from "../../../sdk/core/fog/reading.ts";
import { Kind, Status } from "../../../sdk/core/registry.ts";
import { decodeProfile } from "../../../sdk/core/profile.ts";
import { AccessDeniedError, InvalidInputError, ProtocolError, StoreError } from "../../../sdk/errors.ts";
import { DeviceRegistryClient } from "../../../sdk/contracts/registry.ts";
import { type AccessVerifier, registryFogDirectory } from "../../../sdk/fog/fog-node.ts";
import { DeviceRegistry__factory } from "../../../types/ethers-contracts/index.ts";
import { startCappedRpc } from "../../../support/capped-rpc.ts";
import { startHardhatNode } from "../../../support/node-process.ts";
import { FogStore } from "../../../sdk/store/fog-store.ts";
import { type District, makeDistrict, randomId } from "../../helpers/fog.ts";
import type { Hex } from "../../../sdk/core/bytes.ts";

const randomIdFrom = (i: number): Hex => `0x${i.toString(16).padStart(64, "0")}`;

const outcome = (r: { ok: boolean; cls?: string; error?: { reason: string } }): string =>
  r.ok ? r.cls! : r.error!.reason;

describe("FogNode", function () {
  let d: District;
  beforeEach(function () {
    d = makeDistrict();
  });
  afterEach(function () {
    d.cleanup();
  });

  describe("ingest", function () {
    it("sorts readings into normal and sensitive without decrypting, and tags alarms", async function () {
      const node = d.fogNode(1);
      const dev = d.device();
      const results = await node.ingest([
        dev.read(20),
        dev.read(21, { sensitive: true }),
        dev.read(99, { alarm: true }),
        dev.read(98, { sensitive: true, alarm: true }),
      ]);
      expect(results.map(outcome)).to.deep.equal(["normal", "sensitive", "normal", "sensitive"]);
      expect(results.map((r) => (r.ok ? r.tags : []))).to.deep.equal([[], [], ["alarm"], ["alarm"]]);
      expect(node.counters).to.include({ normal: 2, sensitive: 2 });
      expect(node.store.counts()).to.include({ open: 2, sensitive: 2 });
      // the owner, and only the owner, opens the payload
      const stored = node.queryOpen({ device: dev.id })[0]!;
      expect(JSON.parse(new TextDecoder().decode(openPayload(d.owner, decodeReading(stored.reading))))).to.deep.equal({
        value: 20,
      });
    });

    it("holds a chunk the chain cannot check and processes it, in order, once the chain answers", async function () {
      const node = d.fogNode(1, { maxHeld: 3 });
      const a = d.device();
      const b = d.device();
      d.directory.down = true;
      const chunk = [a.read(1), a.read(2, { sensitive: true }), b.read(3), b.read(4)];
      const held = await node.ingest(chunk);
      expect(held.map(outcome)).to.deep.equal(["held", "held", "held", "retry"]);
      expect(node.heldCount).to.equal(3);
      expect(node.store.counts()).to.include({ open: 0, sensitive: 0 });
      expect(node.counters).to.include({ malformed: 0, normal: 0 });
      // still down: held readings stay held, nothing is lost
      expect((await node.ingest([])).length).to.equal(0);
      expect(node.heldCount).to.equal(3);
      d.directory.down = false;
      // the held readings are checked first; the one refused for room is sent again with a new one
      const after = await node.ingest([chunk[3]!, a.read(5)]);
      expect(after.map(outcome)).to.deep.equal(["normal", "normal"]);
      expect(node.heldCount).to.equal(0);
      expect(node.store.counts()).to.include({ open: 4, sensitive: 1 });
      expect(node.counters).to.include({ normal: 4, sensitive: 1, replay: 0 });
    });

    it("keeps held readings when an ingest throws, and stores each of them once the chain answers", async function () {
      const node = d.fogNode(1);
      const a = d.device();
      d.directory.down = true;
      const first = [a.read(1), a.read(2)];
      expect((await node.ingest(first)).map(outcome)).to.deep.equal(["held", "held"]);
      d.directory.down = false;
      d.directory.raw = new Error("SQLITE_BUSY: database is locked");
      let thrown: unknown;
      try {
        await node.ingest([]);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.equal(d.directory.raw);
      // the readings held before the failed call are still held
      expect(node.heldCount).to.equal(2);
      d.directory.raw = undefined;
      expect((await node.ingest([])).length).to.equal(0);
      expect(node.heldCount).to.equal(0);
      expect(node.store.counts()).to.include({ open: 2 });
      expect(node.counters).to.include({ normal: 2, replay: 0 });
    });

    it("asks a silent registry node at most once per ingest, however many devices are held", async function () {
      this.timeout(120_000);
      const chain = await startHardhatNode();
      const capped = await startCappedRpc(chain.url);
      try {
        const admin = await chain.provider.getSigner(0);
        const registry = await new DeviceRegistry__factory(admin).deploy(await admin.getAddress(), {
          fullNodeApprovals: 2,
          reportPenalty: 250,
          suspendBelow: 600,
          blockBelow: 300,
          epochLength: 3600,
          heartbeatTimeout: 600,
        });
        const client = new DeviceRegistryClient(await registry.getAddress(), capped.provider, { timeoutMs: 200 });
        const node = d.fogNode(1, { directory: registryFogDirectory(client) });
        const devices = Array.from({ length: 6 }, () => d.device());
        for (const method of ["eth_call", "eth_blockNumber", "eth_getLogs", "eth_getCode", "eth_chainId"]) {
          capped.hang.add(method);
        }
        const first = await node.ingest(devices.map((dev) => dev.read(1)));
        expect(first.map(outcome)).to.deep.equal(devices.map(() => "held"));
        capped.reset();
        expect(await node.ingest([])).to.deep.equal([]);
        expect(node.heldCount).to.equal(devices.length);
        // one request timed out; the other devices were held without asking
        expect(capped.requests).to.be.at.most(1);
      } finally {
        await capped.close();
        await chain.stop();
      }
    });

    it("drops bogus input with a counted reason, and keeps the good readings of the same chunk", async function () {
      const node = d.fogNode(1);
      const good = d.device();
      const stranger = d.device({ register: false });
      const blocked = d.device();
      d.directory.set(blocked.id, Kind.Device, Status.Blocked, blocked.key.publicKey);
      const keyless = d.device();
      d.directory.set(keyless.id, Kind.Device, Status.Active);
      const forger = d.device();
      const forged = forger.read(1);
      forged[forged.length - 5]! ^= 1;
      const first = good.read(1);
      const results = await node.ingest([
        first,
        stranger.read(1),
        blocked.read(1),
        keyless.read(1),
        forged,
        first, // replay
        new Uint8Array([0x40, 1, 2, 3]),
        good.read(2, { sensitive: true }),
      ]);
      expect(results.map(outcome)).to.deep.equal([
        "normal",
        "not-registered",
        "blocked",
        "not-registered",
        "bad-signature",
        "replay",
        "malformed",
        "sensitive",
      ]);
      expect(node.counters).to.deep.equal({
        normal: 1,
        sensitive: 1,
        malformed: 1,
        "not-registered": 2,
        blocked: 1,
        "bad-signature": 1,
        replay: 1,
        "bad-profile": 0,
      });
    });

    it("gives each reading of a device whose profile does not decode a bad-profile result, and the rest of the chunk theirs", async function () {
      const node = d.fogNode(1);
      const [good, bad] = [d.device(), d.device()];
      d.directory.badProfiles.add(bad.id.toLowerCase());
      const results = await node.ingest([
        good.read(1),
        bad.read(1, { sensitive: true }),
        good.read(2, { sensitive: true }),
        bad.read(2),
      ]);
      expect(results.map(outcome)).to.deep.equal(["normal", "bad-profile", "sensitive", "bad-profile"]);
      expect(node.counters).to.include({ normal: 1, sensitive: 1, "bad-profile": 2 });
      expect(node.store.counts()).to.include({ open: 1, sensitive: 1 });
    });

    it("reads the profile key through registryFogDirectory as bad-profile when the registry's profile does not decode", async function () {
      let calls = 0;
      const directory = registryFogDirectory({
        getDevice: () => Promise.resolve({ kind: Kind.Device, status: Status.Active }),
        profileOf: () => {
          calls++;
          return Promise.resolve().then(() => decodeProfile("0x1234"));
        },
      });
      const id = randomId();
      for (let i = 0; i < 2; i++) {
        try {
          await directory.p256Key(id);
          expect.fail("a profile that does not decode gave a key");
        } catch (e) {
          expect(e).to.be.instanceOf(InvalidInputError);
        }
      }
      expect(calls).to.equal(1); // the failure is cached for the TTL, as a key would be
    });

    it("keeps registryFogDirectory's caches bounded: 1,000 devices through a bound of 100, a recent one still cached", async function () {
      const reads = { getDevice: 0, profileOf: 0 };
      const key = new Uint8Array(65).fill(4);
      const directory = registryFogDirectory(
        {
          getDevice: () => (reads.getDevice++, Promise.resolve({ kind: Kind.Device, status: Status.Active })),
          profileOf: () => (reads.profileOf++, Promise.resolve({ p256PublicKey: key })),
        },
        60_000,
        () => 0,
        100,
      );
      const ids = Array.from({ length: 1_000 }, () => randomId());
      for (const id of ids) {
        await directory.lookup(id);
        await directory.p256Key(id);
      }
      expect(directory.cached).to.deep.equal({ entries: 100, keys: 100 });
      expect(reads).to.deep.equal({ getDevice: 1_000, profileOf: 1_000 });
      await directory.lookup(ids.at(-1)!);
      await directory.p256Key(ids.at(-1)!);
      expect(reads).to.deep.equal({ getDevice: 1_000, profileOf: 1_000 }); // a recent device: from the cache
      await directory.lookup(ids[0]!);
      await directory.p256Key(ids[0]!);
      expect(reads).to.deep.equal({ getDevice: 1_001, profileOf: 1_001 }); // the first: forgotten, read again
      expect(directory.cached).to.deep.equal({ entries: 100, keys: 100 });
    });

    it("refuses a replay after a restart and a reading older than the device's last", async function () {
      const id = randomId();
      const path = `${d.dir}/restart.sqlite`;
      let node = d.fogNode(1, { id, path });
      const dev = d.device();
      const [a, b] = [dev.read(1), dev.read(2, { sensitive: true })];
      await node.ingest([b]);
      node.store.close();
      node = d.fogNode(1, { id, path });
      expect((await node.ingest([b])).map(outcome)).to.deep.equal(["replay"]);
      expect((await node.ingest([a])).map(outcome)).to.deep.equal(["replay"]);
      expect((await node.ingest([dev.read(3)])).map(outcome)).to.deep.equal(["normal"]);
    });

    it("refuses a device registered as another kind, and a store of another node", async function () {
      const node = d.fogNode(1);
      const dev = d.device();
      d.directory.set(dev.id, Kind.FogNode, Status.Active, dev.key.publicKey);
      expect((await node.ingest([dev.read(1)])).map(outcome)).to.deep.equal(["not-registered"]);
      node.store.close(); // one writer per file: a second opener is refused "unavailable" while it is open
      expect(() => d.fogNode(2, { id: randomId(), path: node.store.path }))
        .to.throw(StoreError)
        .with.property("reason", "wrong-owner");
    });
  });

  describe("open store", function () {
    it("answers queries by device, time range and tag, in pages", async function () {
      const node = d.fogNode(1);
      const [x, y] = [d.device(), d.device()];
      for (let i = 0; i < 5; i++) await node.ingest([x.read(i, { alarm: i === 3 }), y.read(i)]);
      expect(node.queryOpen().length).to.equal(10);
      expect(node.queryOpen({ device: x.id }).map((r) => r.seq)).to.deep.equal([1, 2, 3, 4, 5]);
      const t = 1_800_000_000_000;
      expect(node.queryOpen({ device: y.id, from: t + 2000, to: t + 4000 }).map((r) => r.seq)).to.deep.equal([2, 3, 4]);
      expect(node.queryOpen({ tag: "alarm" }).map((r) => [r.device, r.seq])).to.deep.equal([[x.id, 4]]);
      const page1 = node.queryOpen({ limit: 4 });
      const page2 = node.queryOpen({ limit: 4, afterId: page1.at(-1)!.id });
      expect(page1.length + page2.length).to.equal(8);
      expect(new Set([...page1, ...page2].map((r) => r.id)).size).to.equal(8);
      expect(() => node.queryOpen({ limit: 0 })).to.throw(InvalidInputError);
      expect(() => node.queryOpen({ device: "0x12" })).to.throw(InvalidInputError);
    });

    it("keeps sensitive readings out of the open store", async function () {
      const node = d.fogNode(1);
      const x = d.device();
      await node.ingest([x.read(1, { sensitive: true }), x.read(2, { sensitive: true })]);
      expect(node.queryOpen()).to.deep.equal([]);
      expect(node.store.sensitiveOf(x.id, 0, Number.MAX_SAFE_INTEGER).map((r) => r.seq)).to.deep.equal([1, 2]);
      const store = new FogStore(":memory:", randomId());
      expect(store.unbatched(10)).to.deep.equal([]);
      store.close();
    });
  });
  describe("sensitive data", function () {
    /** A verifier that accepts every request and checks its nonce against `seen`, as `checkAccessRequest` does. */
    const verifier: AccessVerifier<{ readonly resource: Hex; readonly nonce: Hex }> = {
      verifyAccessRequest(request, _signature, _now, options) {
        if (options?.seen?.has(request.nonce) === true) {
          return Promise.reject(new AccessDeniedError("replay", "the request was already served"));
        }
        options?.seen?.add(request.nonce);
        return Promise.resolve({ resource: request.resource });
      },
    };
    const all = { from: 0, to: Number.MAX_SAFE_INTEGER };

    it("serves a request once while it can be fresh, and holds a bounded number of nonces", async function () {
      let now = 1_800_000_000_000;
      const node = d.fogNode(1, { clock: () => now, maxAccessNonces: 2 });
      const dev = d.device();
      await node.ingest([dev.read(1, { sensitive: true })]);
      const request = (nonce: number) => ({ resource: dev.id, nonce: randomIdFrom(nonce) });
      const serve = (nonce: number) => node.serveSensitive(verifier, request(nonce), "0x", all);
      const reason = (p: Promise<unknown>) =>
        p.then(
          () => "served",
          (e: unknown) => {
            if (e instanceof AccessDeniedError || e instanceof ProtocolError) return e.reason;
            throw e;
          },
        );
      expect((await serve(1)).map((r) => r.seq)).to.deep.equal([1]);
      expect(await reason(serve(1))).to.equal("replay");
      expect(await reason(serve(2))).to.equal("served");
      // two requests can still be fresh: a third waits, and nothing seen is forgotten for it
      expect(await reason(serve(3))).to.equal("busy");
      expect(await reason(serve(1))).to.equal("replay");
      // a request is accepted for at most its lifetime (an hour) and the clock skew (30 s) from first use
      now += (3_600 + 30) * 1000;
      expect(await reason(serve(1))).to.equal("replay");
      now += 1;
      expect(await reason(serve(3))).to.equal("served");
      expect(await reason(serve(3))).to.equal("replay");
    });

    it("refuses a bound of no nonces", function () {
      expect(() => d.fogNode(1, { maxAccessNonces: 0 })).to.throw(InvalidInputError);
    });
  });
});
