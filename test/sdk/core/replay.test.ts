/**
 * The replay window (`ReplayGuard`) a base station's requests and a fog node's access requests
 * are checked against: a message is accepted once while it can be fresh (within the tolerated
 * skew of the receiver's clock, sdk/core/clock.ts), and the memory it takes stays bounded.
 */
import { expect } from "chai";

import { checkFresh } from "../../../sdk/core/clock.ts";
import { ReplayGuard } from "../../../sdk/core/replay.ts";
import { InvalidInputError, ProtocolError } from "../../../sdk/errors.ts";
import { randomId } from "../../helpers/nbiot.ts";

function refused(f: () => unknown, reason: string): ProtocolError {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(ProtocolError);
    expect((e as ProtocolError).reason).to.equal(reason);
    return e as ProtocolError;
  }
  expect.fail(`expected ProtocolError(${reason})`);
}

const nonce = (i: number) => new Uint8Array(16).fill(i);

describe("ReplayGuard", function () {
  it("accepts a message the first time and refuses it while it can be fresh", function () {
    const guard = new ReplayGuard(1000);
    const id = randomId();
    expect(guard.check(id, nonce(7), 0)).to.equal(2000);
    const e = refused(() => guard.check(id, nonce(7), 10), "replay");
    expect(e.details).to.deep.include({ from: id });
    // the same nonce from another sender is another message
    guard.check(randomId(), nonce(7), 10);
    guard.check(id, nonce(7), 5000);
    expect(guard.size).to.equal(1);
  });

  it("still refuses a replay at the last moment the message is fresh (|now - time| = skew), not after", function () {
    const skew = 1000;
    const guard = new ReplayGuard(skew);
    const id = randomId();
    const time = 10_000; // the message's own timestamp
    checkFresh(time, time - skew, skew, "request"); // first seen as early as it is fresh
    expect(guard.check(id, nonce(9), time - skew)).to.equal(time + skew);
    checkFresh(time, time + skew, skew, "request"); // still fresh at the other end of the window
    refused(() => guard.check(id, nonce(9), time + skew), "replay");
    expect(guard.has(ReplayGuard.key(id, nonce(9)), time + skew)).to.equal(true);
    // one millisecond later the message is stale: it is forgotten (and refused by `checkFresh` anyway)
    refused(() => checkFresh(time, time + skew + 1, skew, "request"), "clock-skew");
    expect(guard.has(ReplayGuard.key(id, nonce(9)), time + skew + 1)).to.equal(false);
    expect(guard.size).to.equal(0);
  });

  it("goes on pruning after the clock steps back", function () {
    const guard = new ReplayGuard(1000);
    const id = randomId();
    for (let i = 0; i < 10; i++) guard.check(id, nonce(i), 100_000);
    for (let i = 10; i < 20; i++) guard.check(id, nonce(i), 0); // the clock stepped back 100 s
    expect(guard.size).to.equal(10); // nothing seen at 100 s can be fresh under this clock
    guard.check(id, nonce(20), 2_001); // and what was seen at 0 is forgotten once its window passed
    expect(guard.size).to.equal(1);
    refused(() => guard.check(id, nonce(20), 2_002), "replay");
  });

  it("with keepAfterStepBack, keeps across any step back what it saw (freshness judged on another clock)", function () {
    const guard = new ReplayGuard(1000, { keepAfterStepBack: true });
    const id = randomId();
    guard.check(id, nonce(1), 100_000);
    guard.check(id, nonce(2), 0); // the clock stepped back 100 s
    refused(() => guard.check(id, nonce(1), 1), "replay");
    expect(guard.size).to.equal(2);
    guard.check(id, nonce(3), 102_001); // forgotten once their windows passed on this clock
    expect(guard.size).to.equal(1);
  });

  it("bounds each group's keys (maxPerGroup) without refusing the other groups", function () {
    const guard = new ReplayGuard(1000, { maxPerGroup: 2 });
    guard.checkKey("a1", 0, {}, "alice");
    guard.checkKey("a2", 0, {}, "alice");
    refused(() => guard.checkKey("a3", 0, {}, "alice"), "busy");
    guard.checkKey("b1", 0, {}, "bob");
    guard.checkKey("a3", 2_001, {}, "alice"); // alice's first keys have expired
    expect(guard.size).to.equal(1);
    expect(() => new ReplayGuard(1000, { maxPerGroup: 0 })).to.throw(InvalidInputError);
  });

  it("keeps what it saw across a small step back of the clock", function () {
    const guard = new ReplayGuard(1000);
    const id = randomId();
    guard.check(id, nonce(1), 5_000);
    // 1.5 s back: the message could be fresh again under this clock, so it is still refused
    refused(() => guard.check(id, nonce(1), 3_500), "replay");
  });

  it("checks caller-made keys (`checkKey`, `has`) in the same window", function () {
    const guard = new ReplayGuard(500);
    expect(guard.has("0xabc", 0)).to.equal(false);
    expect(guard.checkKey("0xabc", 0)).to.equal(1000);
    expect(guard.has("0xabc", 1000)).to.equal(true);
    const e = refused(() => guard.checkKey("0xabc", 999, { nonce: "0xabc" }), "replay");
    expect(e.details).to.deep.include({ nonce: "0xabc" });
    expect(guard.has("0xabc", 1001)).to.equal(false);
    guard.checkKey("0xabc", 1001);
  });

  it("restores what an earlier run kept, and refuses it until its time", function () {
    const guard = new ReplayGuard(1000);
    const id = randomId();
    guard.restore(ReplayGuard.key(id, nonce(3)), 2_000);
    refused(() => guard.check(id, nonce(3), 1_999), "replay");
    guard.check(id, nonce(3), 2_001);
  });

  describe("bounded memory", function () {
    it("holds no more than maxEntries fresh keys: a new one is refused as busy, never an old one forgotten", function () {
      const guard = new ReplayGuard(1000, { maxEntries: 3 });
      const id = randomId();
      for (let i = 0; i < 3; i++) guard.check(id, nonce(i), 100 * i);
      const e = refused(() => guard.check(id, nonce(3), 300), "busy");
      expect(e.details).to.deep.include({ maxEntries: 3 });
      expect(guard.size).to.equal(3);
      // the oldest is still refused: being full forgot nothing
      refused(() => guard.check(id, nonce(0), 300), "replay");
      // once the oldest's window passed (seen at 0, kept until 2000 inclusive) there is room again
      refused(() => guard.check(id, nonce(3), 2_000), "busy");
      guard.check(id, nonce(3), 2_001);
      expect(guard.size).to.equal(3);
    });

    it("stays at the number of keys one window holds under a steady stream, without a bound", function () {
      const guard = new ReplayGuard(1000);
      const id = randomId();
      let most = 0;
      // one message every 10 ms for 20 s: at most the 2 s the window keeps (201 keys) are held
      for (let i = 0; i < 2_000; i++) {
        guard.check(id, new Uint8Array(new Uint32Array([i]).buffer), i * 10);
        most = Math.max(most, guard.size);
      }
      expect(most).to.equal(201);
    });

    it("refuses a bad window or bound", function () {
      for (const w of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => new ReplayGuard(w)).to.throw(InvalidInputError);
      }
      for (const maxEntries of [0, 1.5, -3]) {
        expect(() => new ReplayGuard(1000, { maxEntries })).to.throw(InvalidInputError);
      }
    });
  });
});
