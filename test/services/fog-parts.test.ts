/**
 * The fog service's parts on their own (issue 15): member requests bound to the receiving member,
 * the inbox's durability setting, and the embedded MQTT broker's refusals (oversized packets cut
 * before they are buffered, foreign topics and retained messages refused and counted) over a real
 * TCP socket.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import mqtt from "mqtt";

import { PeerAuthenticationError } from "../../sdk/errors.ts";
import { mclBackend, ThresholdScheme } from "../../sdk/exports/crypto.ts";
import { Inbox } from "../../services/fog/inbox.ts";
import { MemberRequestVerifier, signMemberRequest } from "../../services/fog/member-auth.ts";
import {
  type BrokerRefusal,
  embeddedBroker,
  packetSizeGuard,
  READING_TOPIC_PREFIX,
  type ReadingSource,
} from "../../services/fog/mqtt.ts";

const CLUSTER = `0x${"ab".repeat(32)}` as const;

describe("fog service parts", function () {
  this.timeout(60_000);

  describe("member requests", function () {
    it("are bound to the receiving member: a request to member 2 is refused by member 3, even fresh", async function () {
      const scheme = new ThresholdScheme(await mclBackend());
      const { shares, commitments } = scheme.deal(2, 3);
      const to2 = new MemberRequestVerifier(scheme, commitments, CLUSTER, 2, [1, 2, 3]);
      const to3 = new MemberRequestVerifier(scheme, commitments, CLUSTER, 3, [1, 2, 3]);
      const request = signMemberRequest(scheme, shares[0]!, CLUSTER, 2, "/cluster/endorse", { x: 1 });
      let refused: unknown;
      try {
        to3.verify("/cluster/endorse", request);
      } catch (e) {
        refused = e;
      }
      expect(refused).to.be.instanceOf(PeerAuthenticationError);
      expect((refused as PeerAuthenticationError).reason).to.equal("wrong-verifier");
      // the receiver index is signed: rewriting it breaks the signature
      const rewritten = { ...request, auth: { ...request.auth, to: 3 } };
      expect(() => to3.verify("/cluster/endorse", rewritten)).to.throw(PeerAuthenticationError, /not signed/);
      // the route is signed too
      expect(() => to2.verify("/cluster/possession", request)).to.throw(PeerAuthenticationError, /not signed/);
      expect(to2.verify("/cluster/endorse", request)).to.equal(1);
      expect(() => to2.verify("/cluster/endorse", request)).to.throw(PeerAuthenticationError, /replay/);
    });
  });

  describe("inbox", function () {
    it("syncs every commit to disk (synchronous = FULL): an acknowledged reading survives a power loss", function () {
      const dir = mkdtempSync(join(tmpdir(), "strata-fog-inbox-"));
      try {
        const inbox = new Inbox(join(dir, "inbox.sqlite"));
        expect(inbox.synchronous).to.equal("full");
        inbox.add(Uint8Array.of(1, 2, 3));
        expect(inbox.take(10).map((e) => [...e.bytes])).to.deep.equal([[1, 2, 3]]);
        inbox.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("embedded MQTT broker", function () {
    const MAX = 1024;
    const taken: string[] = [];
    const refused: BrokerRefusal[] = [];
    let source: ReadingSource;
    let port: number;

    before(async function () {
      source = await embeddedBroker("127.0.0.1", 0, (topic) => void taken.push(topic), {
        maxPacketBytes: MAX,
        refused: (reason) => void refused.push(reason),
      });
      port = Number(new URL(source.url).port);
    });
    after(async function () {
      await source?.close();
    });

    /** Publishes once on a fresh connection; resolves when the publish was acknowledged or the broker cut the client. */
    async function publishOnce(topic: string, payload: Buffer, retain = false): Promise<"acknowledged" | "cut"> {
      const client = await mqtt.connectAsync(source.url, { reconnectPeriod: 0, clientId: `t-${Math.random()}` });
      try {
        return await new Promise((resolve) => {
          client.once("close", () => resolve("cut"));
          client.publish(topic, payload, { qos: 1, retain }, (e) => {
            if (e === undefined || e === null) resolve("acknowledged");
          });
        });
      } finally {
        client.end(true);
      }
    }

    it("reads fixed headers across chunks and stops at the first oversized one", function () {
      const fits = packetSizeGuard(MAX);
      // a 3-byte PUBLISH, then a 1000-byte one whose length is split across chunks
      expect(fits(Uint8Array.of(0x30, 3, 1, 2))).to.equal(true);
      expect(fits(Uint8Array.of(3, 0x32, 0xe8))).to.equal(true);
      expect(fits(Uint8Array.of(0x07, ...new Uint8Array(1000)))).to.equal(true);
      expect(fits(Uint8Array.of(0xc0, 0))).to.equal(true); // PINGREQ
      // 200 MiB announced
      expect(fits(Uint8Array.of(0x30, 0x80, 0x80, 0x80))).to.equal(true); // not known yet
      expect(fits(Uint8Array.of(0x64))).to.equal(false);
      // a length of five bytes is malformed
      expect(packetSizeGuard(2 ** 30)(Uint8Array.of(0x30, 0x80, 0x80, 0x80, 0x80, 0x01))).to.equal(false);
    });

    it("takes a reading topic's publish and acknowledges it", async function () {
      expect(await publishOnce(`${READING_TOPIC_PREFIX}0xab`, Buffer.from("r"))).to.equal("acknowledged");
      expect(taken).to.include(`${READING_TOPIC_PREFIX}0xab`);
    });

    it("cuts a client whose packet announces more than the limit, before reading its body", async function () {
      const before = refused.length;
      const socket = connect(port, "127.0.0.1");
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.on("error", () => {});
      // a PUBLISH announcing 200 MiB (Remaining Length 0x80 0x80 0x80 0x64), only its first bytes sent
      socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64, 0, 1, 0x61]));
      await closed;
      expect(refused.slice(before)).to.deep.equal(["oversized-packet"]);
      // a packet just over the limit through a real client
      expect(await publishOnce(`${READING_TOPIC_PREFIX}0xab`, Buffer.alloc(MAX + 1))).to.equal("cut");
      expect(refused.slice(before)).to.deep.equal(["oversized-packet", "oversized-packet"]);
    });

    it("refuses publishes to other topics and retained messages, counted, nothing taken", async function () {
      const before = refused.length;
      const takenBefore = taken.length;
      expect(await publishOnce("junk/1", Buffer.from("x"))).to.equal("cut");
      expect(await publishOnce(`${READING_TOPIC_PREFIX}0xab`, Buffer.from("x"), true)).to.equal("cut");
      expect(refused.slice(before)).to.deep.equal(["foreign-topic", "retained"]);
      expect(taken).to.have.length(takenBefore);
    });
  });
});
