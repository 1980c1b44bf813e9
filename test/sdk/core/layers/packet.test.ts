/**
 * P = {I, C, M} (seed 003 §IV.B), pure: Sum(M) binds M and its time, forward
 * shifts a layer from A_d to A_s and collects its block id, encode/decode round
 * trips, and every refusal carries its reason.
 */
import { expect } from "chai";
import { keccak256, solidityPacked } from "ethers";

import { type Hex, toHex } from "../../../../sdk/core/bytes.ts";
import {
  checkSummary,
  decodePacket,
  encodePacket,
  followUp,
  forward,
  isFirstCommunication,
  newPacket,
  nextBlockId,
  PacketError,
  routeHash,
  sourceLayer,
  summaryOf,
} from "../../../../sdk/core/layers/packet.ts";

const w = (n: number): Hex => toHex(new Uint8Array(32).fill(n));
const [L0, L1, L2, L3] = [w(0x10), w(0x11), w(0x12), w(0x13)];
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const MESSAGE = utf8("turn green at 12:00");

const reason = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(PacketError);
    return (e as PacketError).reason;
  }
  throw new Error("no error");
};

describe("layers/packet", function () {
  it("a message's summary is keccak256(message ‖ uint64 time), the same as Solidity's abi.encodePacked", function () {
    expect(summaryOf(MESSAGE, 1_700_000_000n)).to.equal(
      keccak256(solidityPacked(["bytes", "uint64"], [MESSAGE, 1_700_000_000n])),
    );
    expect(summaryOf(MESSAGE, 1n)).to.not.equal(summaryOf(MESSAGE, 2n));
  });

  it("forwards up the route, moving each layer from A_d to A_s and collecting block ids", function () {
    let p = newPacket(MESSAGE, 5n, L0, [L1, L2, L3]);
    expect(p.ids).to.deep.equal([summaryOf(MESSAGE, 5n)]);
    p = forward(p, L1, w(0xb1));
    p = forward(p, L2, w(0xb2));
    expect(p.destination).to.deep.equal([L3]);
    expect(p.source).to.deep.equal([L0, L1, L2]);
    expect(p.ids).to.deep.equal([summaryOf(MESSAGE, 5n), w(0xb1), w(0xb2)]);
    expect(sourceLayer(p)).to.equal(L2);
    checkSummary(p);
    expect(isFirstCommunication(p)).to.equal(true);
    // L3 is the receiving edge layer: it delivers, nothing is left to forward to.
    expect(reason(() => forward(p, L3, w(0xb3)))).to.equal("no-destination");
    expect(reason(() => forward(newPacket(MESSAGE, 5n, L0, [L1, L2]), L1))).to.equal("block-id");
  });

  it("a reply travels the reversed route, each layer taking I(1) and rotating it to the end", function () {
    const E = w(0xee);
    let p = newPacket(MESSAGE, 5n, L0, [L1, L2, L3, E]);
    for (const [layer, block] of [
      [L1, 0xb1],
      [L2, 0xb2],
      [L3, 0xb3],
    ] as const)
      p = forward(p, layer, w(block));
    expect(p.destination).to.deep.equal([E]);
    const M2 = utf8("reply");
    let r = followUp(p, E, M2, 9n);
    expect(r.destination).to.deep.equal([L3, L2, L1, L0]);
    expect(r.source).to.deep.equal([E]);
    expect(r.ids).to.deep.equal([summaryOf(M2, 9n), w(0xb3), w(0xb2), w(0xb1)]);
    expect(isFirstCommunication(r)).to.equal(false);
    expect(nextBlockId(r)).to.equal(w(0xb3));
    expect(reason(() => forward(r, L3, w(0xb2)))).to.equal("block-id");
    r = forward(r, L3, w(0xb3));
    expect(r.ids).to.deep.equal([summaryOf(M2, 9n), w(0xb2), w(0xb1), w(0xb3)]);
    expect(nextBlockId(r)).to.equal(w(0xb2));
    r = forward(forward(r, L2), L1);
    expect(r.destination).to.deep.equal([L0]);
    expect(r.ids).to.deep.equal([summaryOf(M2, 9n), w(0xb3), w(0xb2), w(0xb1)]);
    // The vehicle answers the reply: the original route again, ids in route order; the sender may also continue.
    const again = followUp(r, L0, MESSAGE, 10n, true);
    expect(again.destination).to.deep.equal([L1, L2, L3, E]);
    expect(again.ids.slice(1)).to.deep.equal([w(0xb1), w(0xb2), w(0xb3)]);
    expect(again.ending).to.equal(true);
    expect(followUp(p, L0, MESSAGE, 11n).ids.slice(1)).to.deep.equal([w(0xb1), w(0xb2), w(0xb3)]);
    expect(reason(() => followUp(p, L2, MESSAGE, 11n))).to.equal("not-party");
    expect(reason(() => followUp(newPacket(MESSAGE, 5n, L0, [E]), L0, MESSAGE, 1n))).to.equal("block-id");
    expect(reason(() => followUp(newPacket(MESSAGE, 5n, L0, [L1, E]), L0, MESSAGE, 1n))).to.equal("not-arrived");
  });

  it("refuses a layer that is not next, and a packet whose first id is not its message's summary", function () {
    const p = newPacket(MESSAGE, 5n, L0, [L1, L2]);
    expect(reason(() => forward(p, L2))).to.equal("not-next-layer");
    expect(reason(() => checkSummary({ ...p, time: 6n }))).to.equal("wrong-summary");
    expect(reason(() => forward(p, "0x12" as Hex))).to.equal("malformed");
  });

  it("round-trips encode/decode, and the route hash covers C and I", function () {
    const p = forward(newPacket(MESSAGE, 7n, L0, [L1, L2, L3], true), L1, w(0xb1));
    const q = decodePacket(encodePacket(p));
    expect(q).to.deep.equal(p);
    expect(q.ending).to.equal(true);
    expect(routeHash(q)).to.equal(routeHash(p));
    expect(routeHash(forward(p, L2, w(0xb2)))).to.not.equal(routeHash(p));
    const empty = newPacket(new Uint8Array(), 0n, L0, []);
    expect(decodePacket(encodePacket(empty))).to.deep.equal(empty);
  });

  it("refuses truncated, trailing and unknown-version bytes", function () {
    const bytes = encodePacket(newPacket(MESSAGE, 7n, L0, [L1]));
    expect(reason(() => decodePacket(bytes.subarray(0, bytes.length - 1)))).to.equal("malformed");
    expect(reason(() => decodePacket(Uint8Array.of(...bytes, 0)))).to.equal("malformed");
    expect(reason(() => decodePacket(Uint8Array.of(2, ...bytes.subarray(1))))).to.equal("malformed");
    expect(reason(() => newPacket(MESSAGE, -1n, L0, [L1]))).to.equal("malformed");
  });
});
