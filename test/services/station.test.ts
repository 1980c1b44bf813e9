/**
 * The base-station service in process (`startStation`) over real sockets: two stations on a
 * `hardhat node` chain, their identity keys from a PKG in the test, simulated NB-IoT devices over
 * CoAP that move from one station to the other (a handover over HTTP), and every receipted
 * reading acquired over HTTP and verified against `DataAnchor`. Then what a station refuses:
 * malformed and oversized CoAP payloads, unknown resources, malformed and oversized HTTP bodies —
 * each a typed error that changes nothing.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSocket } from "node:dgram";

import { expect } from "chai";
import { Agent } from "coap";

import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { Pkg } from "../../sdk/core/crypto/identity.ts";
import { NbiotNode } from "../../sdk/core/nbiot/device.ts";
import { extractNodeKeys, nbiotParams, pkgStationKeys } from "../../sdk/core/nbiot/params.ts";
import { InvalidInputError, ProtocolError } from "../../sdk/errors.ts";
import { silentLogger } from "../../services/runtime/log.ts";
import { PayloadTooLargeError } from "../../services/runtime/errors.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { loadStationConfig, type StationConfig } from "../../services/station/config.ts";
import { HttpStationLink } from "../../services/station/link.ts";
import { type RunningStation, startStation } from "../../services/station/service.ts";
import { NbiotSimulator, SimState } from "../../services/sim/nbiot.ts";
import { coapPost, coapTarget } from "../../services/sim/nbiot-coap.ts";
import { freePort } from "../../support/node-process.ts";
import {
  acquireWhenAnchored,
  anchorReader,
  PASSPHRASE,
  type StationWorld,
  stationWorld,
} from "../helpers/station-services.ts";

const backend = await mclBackend();

const URI_PATH = 11;
const BLOCK1 = 27;

/** A confirmable CoAP POST (RFC 7252 §3) with `options` (number, value), written byte by byte. */
function datagram(messageId: number, options: [number, Buffer][], payload: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x44, 0x02, messageId >> 8, messageId & 0xff]), Buffer.from([1, 2, 3, 4])];
  const nibble = (x: number): [number, number[]] => (x < 13 ? [x, []] : [13, [x - 13]]);
  let last = 0;
  for (const [number, value] of options) {
    const [delta, deltaExt] = nibble(number - last);
    const [length, lengthExt] = nibble(value.length);
    parts.push(Buffer.from([(delta << 4) | length, ...deltaExt, ...lengthExt]), value);
    last = number;
  }
  parts.push(Buffer.from([0xff]), payload);
  return Buffer.concat(parts);
}

/** Sends one datagram and returns the answer's CoAP code ("4.13"). */
function exchange(target: { hostname: string; port: number }, message: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("message", (msg) => {
      socket.close();
      resolve(`${msg[1]! >> 5}.${String(msg[1]! & 0x1f).padStart(2, "0")}`);
    });
    socket.once("error", reject);
    socket.send(message, target.port, target.hostname);
  });
}

describe("station service (in process)", function () {
  this.timeout(180_000);
  let world: StationWorld;
  const pkg = new Pkg(backend);
  const params = nbiotParams(backend, pkg.masterPublic);
  const running: RunningStation[] = [];
  let configs: StationConfig[];

  before(async function () {
    world = await stationWorld(2, 4);
    const ports = [await freePort(), await freePort()];
    configs = world.stations.map((s, i) => {
      const other = world.stations[1 - i]!;
      const file = join(world.dir, `station${i + 1}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          id: s.id,
          store: `station${i + 1}.sqlite`,
          rpcUrl: world.node.url,
          chainId: Number(world.chain.chainId),
          dataAnchor: world.chain.anchorAddress,
          deviceRegistry: world.chain.registry.address,
          account: s.accountFile,
          keyServers: { urls: ["http://127.0.0.1:1"], publicFile: "unused.json" },
          peers: { [other.id]: `http://127.0.0.1:${ports[1 - i]}` },
          coap: { host: "127.0.0.1", port: 0 },
          http: { host: "127.0.0.1", port: ports[i] },
          batch: { intervalMs: 300, maxSize: 50 },
          workers: 1,
        }),
      );
      return loadStationConfig(file);
    });
    for (const config of configs) {
      running.push(
        await startStation(config, {
          passphrase: PASSPHRASE,
          masterPublic: pkg.masterPublic,
          logger: silentLogger(),
          keyProvider: () => ({
            keys: pkgStationKeys(pkg, config.id),
            start: () => Promise.resolve(),
            stop: () => undefined,
          }),
        }),
      );
    }
  });

  after(async function () {
    for (const r of running) await r.close().catch(() => undefined);
    await world?.node.stop();
    if (world) rmSync(world.dir, { recursive: true, force: true });
  });

  it("takes devices' readings over CoAP across a handover; every receipted reading is acquired over HTTP and verified on chain", async function () {
    const statePath = join(world.dir, "sim.sqlite");
    const sim = new NbiotSimulator({
      params,
      stations: running.map((r) => ({ id: r.id, url: r.coap.url })),
      devices: world.devices.slice(0, 3),
      statePath,
      nodeKeys: (d) => Promise.resolve(extractNodeKeys(pkg, d.id)),
      rate: 20,
      count: 6,
      handoverEvery: 3,
    });
    const summary = await sim.run();
    expect(summary.refused).to.deep.equal({});
    expect(summary.sent).to.equal(18);
    expect(summary.receipted).to.equal(18);

    const links = running.map((r) => new HttpStationLink(r.http.url));
    const anchors = anchorReader(world);
    const state = new SimState(statePath);
    const devices = state.all();
    state.close();
    for (const d of devices) {
      expect(d.tipSeq).to.equal(6);
      // the loop seals and anchors within a few intervals: asked until every confirmed reading is served
      const readings = await acquireWhenAnchored(params, d.id, links, anchors, d.primaryKey, d.tipSeq);
      expect(readings.map((r) => r.seq)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(new Set(readings.map((r) => r.station)).size).to.equal(2);
    }
  });

  it("authenticates (the signature checked on a worker thread), takes frames and renews a session over CoAP", async function () {
    const device = world.devices[3]!; // not one the simulator ran: a new flow
    const node = new NbiotNode(params, extractNodeKeys(pkg, device.id), crypto.getRandomValues(new Uint8Array(32)));
    const target = coapTarget(running[1]!.coap.url);
    const now = () => Date.now();
    node.accept(await coapPost(target, "/auth", node.enter(running[1]!.id, now())), now());
    const seq = node.onReceipt(await coapPost(target, "/frames", node.send(new Uint8Array([1]), now()))).seq;
    node.onRenewal(await coapPost(target, "/renew", node.renew(now())), now());
    expect(node.onReceipt(await coapPost(target, "/frames", node.send(new Uint8Array([2]), now()))).seq).to.equal(
      seq + 1,
    );
    // a request signed with a key the PKG did not issue for this id: refused by the worker's pairing check
    const impostor = new NbiotNode(
      params,
      extractNodeKeys(new Pkg(backend), device.id),
      crypto.getRandomValues(new Uint8Array(32)),
    );
    try {
      await coapPost(target, "/auth", impostor.enter(running[1]!.id, now()));
      expect.fail("a request under another PKG's key was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(ProtocolError);
      expect((e as ProtocolError).reason).to.equal("bad-signature");
    }
    try {
      await coapPost(target, "/renew", new Uint8Array(80));
      expect.fail("a forged renewal was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(ProtocolError);
    }
    // a receipt makes the device forget the reading: the store fsyncs each commit before it goes
    expect(running[1]!.station.store.synchronous).to.equal("FULL");
  });

  it("answers a malformed CoAP payload with 4.00 naming the typed error, an oversized one with 4.13, an unknown resource with 4.04", async function () {
    const target = coapTarget(running[0]!.coap.url);
    try {
      await coapPost(target, "/auth", new Uint8Array([1, 2, 3]));
      expect.fail("a malformed request was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(ProtocolError);
      expect((e as ProtocolError).reason).to.equal("malformed");
    }
    try {
      await coapPost(target, "/frames", new Uint8Array(40).fill(9));
      expect.fail("a malformed frame was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(ProtocolError);
    }
    try {
      await coapPost(target, "/nothing", new Uint8Array(1));
      expect.fail("an unknown resource answered");
    } catch (e) {
      expect((e as Error).name).to.equal("NotFoundError");
    }
    // an oversized payload in one datagram: 4.13
    expect(await exchange(target, datagram(4242, [[URI_PATH, Buffer.from("frames")]], Buffer.alloc(1100, 7)))).to.equal(
      "4.13",
    );
  });

  it("refuses block-wise transfers with 4.13 before the CoAP library reassembles anything", async function () {
    const target = coapTarget(running[0]!.coap.url);
    const before = process.memoryUsage().arrayBuffers;
    // the last block (M = 0) of 1 KiB blocks at number 2^20 - 1: a library reassembling it allocates a GiB
    const lastBlock = Buffer.from([0xff, 0xff, 0xf6]);
    for (let id = 5000; id < 5010; id++) {
      expect(
        await exchange(
          target,
          datagram(
            id,
            [
              [URI_PATH, Buffer.from("frames")],
              [BLOCK1, lastBlock],
            ],
            Buffer.alloc(16),
          ),
        ),
      ).to.equal("4.13");
    }
    // a first block (M = 1) of a body to come: refused too, nothing kept
    expect(
      await exchange(
        target,
        datagram(
          5010,
          [
            [URI_PATH, Buffer.from("auth")],
            [BLOCK1, Buffer.from([0x0e])],
          ],
          Buffer.alloc(1024),
        ),
      ),
    ).to.equal("4.13");
    expect(process.memoryUsage().arrayBuffers - before).to.be.lessThan(64 * 1024 * 1024);
    // the station still answers
    const status = await requestJson<{ station: string }>(`${running[0]!.http.url}/nbiot/status`);
    expect(status.station).to.equal(running[0]!.id);
  });

  it("answers malformed and oversized HTTP bodies with typed errors before any cryptography", async function () {
    const url = running[0]!.http.url;
    const status = await requestJson<{ lastBatch: number }>(`${url}/nbiot/status`);
    try {
      await requestJson(`${url}/nbiot/handover`, { body: { request: "0x1234", extra: 1 } });
      expect.fail("an extra field was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(InvalidInputError);
    }
    try {
      await requestJson(`${url}/nbiot/handover`, { body: { request: "0x12" } });
      expect.fail("a malformed handover request was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(ProtocolError);
      expect((e as ProtocolError).reason).to.equal("malformed");
    }
    try {
      await requestJson(`${url}/nbiot/handover`, { body: { request: `0x${"ab".repeat(70_000)}` } });
      expect.fail("an oversized body was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(PayloadTooLargeError);
      expect((e as Error).name).to.equal("PayloadTooLargeError");
    }
    try {
      await requestJson(`${url}/nbiot/nodes/0x12/blocks?from=0&to=1`);
      expect.fail("a malformed node id was accepted");
    } catch (e) {
      expect(e).to.be.instanceOf(InvalidInputError);
    }
    try {
      await new HttpStationLink(url).proof(world.devices[0]!.id, 999);
      expect.fail("a missing block was served");
    } catch (e) {
      expect(e).to.be.instanceOf(ProtocolError);
      expect((e as ProtocolError).reason).to.equal("missing-block");
    }
    const after = await requestJson<{ lastBatch: number }>(`${url}/nbiot/status`);
    expect(after.lastBatch).to.equal(status.lastBatch);
  });

  // last: it stops station 1
  it("stops gracefully: authentications in flight are answered, a request after the stop began gets 5.03 (retryable)", async function () {
    const station = running[0]!;
    const target = coapTarget(station.coap.url);
    const now = () => Date.now();
    // requests that reached the handler: being handled, or answered
    const reached = async () => {
      const text = await station.metrics.registry.metrics();
      const inFlight = Number(/^strata_station_coap_in_flight(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? 0);
      const answered = [
        ...text.matchAll(/^strata_station_coap_requests_total\{[^}]*resource="\/auth"[^}]*\} (\d+)$/gm),
      ];
      return inFlight + answered.reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await reached();
    const agents: Agent[] = [];
    const auths = Array.from({ length: world.devices.length }, (_, i) => {
      const device = world.devices[i % world.devices.length]!;
      const node = new NbiotNode(params, extractNodeKeys(pkg, device.id), crypto.getRandomValues(new Uint8Array(32)));
      const agent = new Agent({ type: "udp4" });
      agents.push(agent);
      return coapPost(target, "/auth", node.enter(station.id, now()), { agent }).then(
        () => "answered",
        (e: unknown) => e,
      );
    });
    // every request is at the station (most still on the worker pool) when the stop begins
    while ((await reached()) - before < auths.length) await new Promise((r) => setTimeout(r, 1));
    const closing = station.close();
    const late = new NbiotNode(params, extractNodeKeys(pkg, world.devices[0]!.id), new Uint8Array(32).fill(7));
    const refused = await coapPost(target, "/auth", late.enter(station.id, now())).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ProtocolError);
    expect((refused as ProtocolError).reason).to.equal("busy");
    expect(await Promise.all(auths)).to.deep.equal(Array(world.devices.length).fill("answered"));
    await closing;
    for (const agent of agents) agent.close();
  });
});
