/**
 * A station's clock and its state: it never seals blocks dated beyond the
 * tolerated skew of the chain's clock (read from a real chain), never hands on
 * a tip dated in the taking station's future, keeps its replay state across a
 * restart (so it needs no start-time cut-off), and keeps sessions, flows and
 * registry answers bounded, refusing an entry storm as `busy`. Every clock here
 * is pinned: the chain's is read from its latest block, the stations' is the
 * test clock.
 */
import { expect } from "chai";
import { network } from "hardhat";

import { decodeAuthRequest } from "../../../sdk/core/nbiot/handshake.ts";
import { checkHandoverRecord, makeHandoverRecord, makeHandoverRequest } from "../../../sdk/core/nbiot/handover.ts";
import { Kind, Status } from "../../../sdk/core/registry.ts";
import { InvalidInputError, ProtocolError } from "../../../sdk/errors.ts";
import { cachedDirectory } from "../../../sdk/nbiot/ports.ts";
import { enter, makeWorld, randomId, reading, sendAll, testClock, type World } from "../../helpers/nbiot.ts";

const { ethers, networkHelpers } = await network.create();

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof ProtocolError ? e.reason : `raw ${(e as Error).name}: ${(e as Error).message}`;
  }
  return "accepted";
}

/** The chain's clock as a station reads it (the latest block's timestamp, ms). */
const chain = {
  async latestBlockTime(): Promise<number> {
    return (await ethers.provider.getBlock("latest"))!.timestamp * 1000;
  },
};

describe("NB-IoT station clock and state", function () {
  let w: World;
  const t0 = 1_800_000_000_000;
  beforeEach(function () {
    w = makeWorld();
  });
  afterEach(function () {
    w.cleanup();
  });

  describe("clock skew", function () {
    it("refuses to seal blocks dated beyond the skew of the chain's clock, and seals them once the chain catches up", async function () {
      const skew = w.params.timing.clockSkewMs;
      const chainNow = await chain.latestBlockTime();
      const ahead = chainNow + skew + 60_000; // the station's clock runs ahead of the chain
      const node = w.node();
      const bs = w.station(undefined, { chain });
      await enter(node, bs, ahead);
      sendAll(node, bs, [reading(1), reading(2)], ahead);
      expect(await reason(bs.seal(ahead))).to.equal("clock-skew");
      expect(bs.store.counts().batches).to.equal(0);
      // the station's clock is set right, but its blocks still carry the future date
      expect(await reason(bs.seal(chainNow))).to.equal("clock-skew");
      expect(bs.store.pending(10)).to.have.length(2); // nothing lost
      await networkHelpers.time.increaseTo(Math.ceil((ahead - skew) / 1000));
      const sealed = await bs.seal(await chain.latestBlockTime());
      expect(sealed?.leafCount).to.equal(2);
    });

    it("a station does not hand over a tip dated beyond the skew of the taking station's clock", async function () {
      const skew = w.params.timing.clockSkewMs;
      const node = w.node();
      const [bs1, bs2] = [w.station(), w.station()];
      await enter(node, bs1, t0);
      sendAll(node, bs1, [reading(1)], t0 + skew + 30_000); // BS1's clock jumped ahead while it made block 1
      testClock.now = t0 + 10;
      expect(await reason(bs2.authenticate(node.enter(bs2.id, t0 + 10), t0 + 10))).to.equal("clock-skew");
      expect(bs1.flow(node.id)?.handedOverTo).to.equal(undefined); // the flow is not stranded
      expect(bs2.flow(node.id)).to.equal(undefined);
      // once the tip is within the skew of BS2's clock, the node enters and BS2's blocks follow it
      await enter(node, bs2, t0 + 30_000);
      expect(sendAll(node, bs2, [reading(2)], t0 + 30_001)).to.deep.equal([2]);
      expect(bs2.store.block(node.id, 2)!.block.time).to.equal(t0 + skew + 30_000);
    });

    it("a taking station refuses a record whose tip is dated beyond the skew of its clock", function () {
      const skew = w.params.timing.clockSkewMs;
      const node = w.node();
      const [bs1, bs2] = [w.stationKeys(), w.stationKeys()];
      w.directory.set(bs1.id, Kind.BaseStation);
      w.directory.set(bs2.id, Kind.BaseStation);
      const request = makeHandoverRequest(w.params, bs2, bs1.id, decodeAuthRequest(node.enter(bs2.id, t0)), t0);
      // a giving station that dates the tip in the taker's future (its check skipped by lying about the request's time)
      const tip = { seq: 1, hash: new Uint8Array(32).fill(1), time: t0 + skew + 1 };
      const record = makeHandoverRecord(w.params, bs1, { ...request, time: t0 + 2 * skew }, tip, undefined, t0);
      expect(() => checkHandoverRecord(w.params, request, record.bytes, t0)).to.throw(ProtocolError, /tip/);
      const ok = makeHandoverRecord(w.params, bs1, request, { ...tip, time: t0 + skew }, undefined, t0);
      expect(checkHandoverRecord(w.params, request, ok.bytes, t0).tipTime).to.equal(t0 + skew);
    });

    it("a restarted station refuses a replayed request but accepts a node whose clock is 15 s behind", async function () {
      const id = randomId();
      const path = `${w.dir}/restart.sqlite`;
      let bs = w.station(id, { path });
      const seen = w.node();
      testClock.now = t0;
      const captured = seen.enter(bs.id, t0);
      seen.accept(await bs.authenticate(captured, t0), t0);
      bs.close();
      testClock.now = t0 + 1_000;
      bs = w.station(id, { path }); // restarted from its store file
      expect(await reason(bs.authenticate(captured, t0 + 1_000))).to.equal("replay");
      const behind = w.node(); // its clock is 15 s behind the station's
      behind.accept(await bs.authenticate(behind.enter(bs.id, t0 - 14_000), t0 + 1_000), t0 - 14_000);
      expect(sendAll(behind, bs, [reading(1)], t0 + 1_001)).to.deep.equal([1]);
    });
  });

  describe("bounded state", function () {
    it("forgets sessions once they expire: one-time visitors leave one session behind", async function () {
      const bs = w.station();
      for (let i = 0; i < 20; i++) await enter(w.node(), bs, t0 + i);
      expect(bs.sessionCount).to.equal(20);
      const later = t0 + w.params.timing.sessionLifetimeMs + 60_000;
      const last = w.node();
      await enter(last, bs, later);
      expect(bs.sessionCount).to.equal(1);
      expect(sendAll(last, bs, [reading(1)], later + 1)).to.deep.equal([1]);
    });

    it("keeps at most maxSessions live sessions, dropping the oldest", async function () {
      const bs = w.station(undefined, { limits: { maxSessions: 5 } });
      const nodes = Array.from({ length: 8 }, () => w.node());
      for (const [i, node] of nodes.entries()) await enter(node, bs, t0 + i);
      expect(bs.sessionCount).to.equal(5);
      const [first] = bs.ingest([nodes[0]!.send(reading(1), t0 + 10)], t0 + 10);
      expect(first!.ok ? "ok" : first!.error.reason).to.equal("unknown-session");
      expect(sendAll(nodes[7]!, bs, [reading(1)], t0 + 10)).to.deep.equal([1]);
    });

    it("keeps at most maxFlows flows in memory and reads the others from its store", async function () {
      const path = `${w.dir}/flows.sqlite`;
      const id = randomId();
      let bs = w.station(id, { path, limits: { maxFlows: 2 } });
      const nodes = Array.from({ length: 4 }, () => w.node());
      for (const [i, node] of nodes.entries()) {
        await enter(node, bs, t0 + i);
        sendAll(node, bs, [reading(i)], t0 + i);
      }
      expect(bs.cachedFlowCount).to.equal(2);
      expect(sendAll(nodes[0]!, bs, [reading(9)], t0 + 10)).to.deep.equal([2]); // its flow came from the store
      expect(bs.flow(nodes[1]!.id)?.tip.seq).to.equal(1);
      bs.close();
      bs = w.station(id, { path, limits: { maxFlows: 2 } });
      expect(bs.cachedFlowCount).to.equal(0); // a restart loads no flow until it is needed
      expect(bs.flow(nodes[0]!.id)?.tip.seq).to.equal(2);
    });

    it("refuses a bound that is not a positive integer, naming it", function () {
      for (const limits of [{ maxSessions: 0 }, { maxFlows: 1.5 }, { maxConcurrentEntries: -1 }]) {
        expect(() => w.station(undefined, { limits }))
          .to.throw(InvalidInputError)
          .with.property("message")
          .that.includes(Object.keys(limits)[0]!);
      }
    });

    it("a registry cache keeps at most maxEntries answers", async function () {
      let reads = 0;
      const dir = cachedDirectory(
        () => {
          reads++;
          return Promise.resolve({ kind: Kind.Device, status: Status.Active });
        },
        { ttlMs: 10_000, clock: () => t0, maxEntries: 100 },
      );
      const ids = Array.from({ length: 1_000 }, randomId);
      for (const id of ids) await dir.lookup(id);
      expect((dir as unknown as { size: number }).size).to.equal(100);
      await dir.lookup(ids.at(-1)!);
      expect(reads).to.equal(1_000); // the most recent answers are still served from memory
      await dir.lookup(ids[0]!);
      expect(reads).to.equal(1_001);
    });

    it("refuses an entry storm beyond maxConcurrentEntries at once as busy, and serves the retries", async function () {
      const bs = w.station(undefined, { limits: { maxConcurrentEntries: 4 } });
      const nodes = Array.from({ length: 10 }, () => w.node());
      // registry lookups take a round trip, so the entries overlap
      const lookup = w.directory.lookup.bind(w.directory);
      w.directory.lookup = (id) => new Promise((r) => setTimeout(() => r(lookup(id)), 5));
      testClock.now = t0;
      const outcomes = await Promise.all(
        nodes.map(async (node) => {
          try {
            node.accept(await bs.authenticate(node.enter(bs.id, t0), t0), t0);
            return "ok";
          } catch (e) {
            expect(e).to.be.instanceOf(ProtocolError);
            if ((e as ProtocolError).reason === "busy") expect((e as ProtocolError).details.retryable).to.equal(true);
            return (e as ProtocolError).reason;
          }
        }),
      );
      expect(outcomes.filter((o) => o === "ok")).to.have.length(4);
      expect(outcomes.filter((o) => o === "busy")).to.have.length(6);
      for (const [i, node] of nodes.entries()) {
        if (outcomes[i] === "busy") await enter(node, bs, t0 + 1);
      }
      expect(bs.sessionCount).to.equal(10);
    });
  });
});
