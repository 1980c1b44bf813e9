/**
 * A base station service's end-to-end figures (issue 15, "Tests and figures"; seed 000's
 * transport layer over CoAP): the station runs as its own process (bench/services-child.ts,
 * `station`: `startStation`, what `strata station run` calls) on a `hardhat node` process with
 * the registry and `DataAnchor`; 1,000 NB-IoT devices, registered and approved on that chain,
 * each with identity keys from the PKG, enter it over CoAP on UDP and then each send readings
 * one after the other (a closed loop: the next reading once the last one's receipt is back), so
 * 1,000 frames are in flight at once.
 *
 * - `services.station.coap.readingsPerSec`: readings receipted per second over the whole load.
 *   Baseline, same run: the same station's `BaseStation.ingest` in process (the same number of
 *   frames from 1,000 authenticated nodes, calls of 256, SQLite store, no network).
 * - `services.station.coap.receiptP50.ms` / `.receiptP99.ms`: from a frame handed to the CoAP
 *   client to its receipt back. Baseline, same run: the same load against a bare CoAP server
 *   answering every POST at once (`echo`), the transport's floor.
 * - `services.station.anchoredRootP50.s` / `.anchoredRootP99.s`: from a reading sent to its
 *   batch's root found anchored on chain — the proof fetched from the station over HTTP, then
 *   `DataAnchor.anchorOf` (polled every 100 ms) — for a reading every 300 ms of the load (at most
 *   4 polling at once, so the polls stay a small load of their own). The
 *   station seals every second or 10,000 readings, finality depth 1. Baseline, same run: one
 *   `DataAnchor.anchor` transaction through the SDK on the same node (median of 3).
 *
 * Keys: the station's and the devices' identity keys come from one in-process PKG (its master
 * secret handed to the station process), not from key servers: 1,000 threshold key requests,
 * each with registry reads, would make most of the set-up and nothing of what is measured.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Wallet } from "ethers";

import { type Hex, toHex } from "../sdk/core/bytes.ts";
import { mclBackend } from "../sdk/core/crypto/backend.ts";
import { Pkg } from "../sdk/core/crypto/identity.ts";
import { randomScalar } from "../sdk/core/crypto/scalar.ts";
import { Label } from "../sdk/core/labels.ts";
import { NbiotNode } from "../sdk/core/nbiot/device.ts";
import { extractNodeKeys, type NbiotParams, nbiotParams, pkgStationKeys } from "../sdk/core/nbiot/params.ts";
import { minimalProfile } from "../sdk/core/profile.ts";
import { buildRegistration } from "../sdk/core/registration.ts";
import { Kind, Status } from "../sdk/core/registry.ts";
import { DataAnchorClient } from "../sdk/contracts/anchor.ts";
import { BaseStation } from "../sdk/nbiot/base-station.ts";
import type { Directory } from "../sdk/nbiot/ports.ts";
import { deployOnChain, type StrataChain } from "../services/local/chain-setup.ts";
import { requestJson } from "../services/runtime/http-client.ts";
import { type ServiceProcess, startProcess } from "../services/runtime/process.ts";
import { sealSecret } from "../services/runtime/secret-file.ts";
import { coapPost, type CoapTarget, coapTarget } from "../services/sim/nbiot-coap.ts";
import type { WireProof } from "../services/station/wire.ts";
import { startHardhatNode } from "../support/node-process.ts";
import { median, type Metrics } from "./metrics.ts";

/** Devices in the load. */
export const DEVICES = 1_000;
/** Readings each device sends in the load. */
const READINGS = 15;
/** Authentications in flight at once while the devices enter (the station takes 256 at a time). */
const ENTERING = 16;
const INGEST_CALL = 256;
const PROBE_EVERY_MS = 300;
/** Probes polling at once at most: their polls must not be a load of their own. */
const PROBES_IN_FLIGHT = 4;
const POLL_MS = 100;
const LAYER = "strata://bench/nbiot";
const PASSPHRASE = "bench passphrase";
const CHILD = join(import.meta.dirname, "services-child.ts");

const randomId = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));
const reading = (d: number, n: number, at: number) =>
  new TextEncoder().encode(JSON.stringify({ d, n, celsius: 20 + ((d + n) % 15), at }));

/** The value at fraction `q` of the sorted samples (nearest rank). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error("percentile of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Runs `work` over `items`, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

/** Registers `count` lightweight devices (one `registerBatch` per ~280) and has a coordinator approve each under `serving`. */
async function registerDevices(chain: StrataChain, serving: Hex, count: number): Promise<Hex[]> {
  const owner = await chain.admin.getAddress();
  const keys = Array.from({ length: count }, () => new Wallet(toHex(crypto.getRandomValues(new Uint8Array(32)))));
  const reqs = keys.map((key, i) =>
    buildRegistration({
      uuid: { layer: chain.layer, localId: 100_000n + BigInt(i) },
      key: key.address,
      kind: Kind.Device,
      label: Label.Lightweight,
      permissions: 1,
      profile: minimalProfile("Device/Sensor/Temperature"),
      deadline: 2n ** 40n,
    }),
  );
  const sigs = await Promise.all(reqs.map((req, i) => chain.registry.signRegistration(keys[i]!, req, owner)));
  const { ids } = await chain.registry.registerAll(reqs, sigs);
  // approvals sent back to back with explicit nonces, then the last one waited for
  const c = chain.coordinators[0]!;
  const contract = chain.registry.connect(c.key).contract;
  let nonce = await chain.provider.getTransactionCount(c.key.address, "pending");
  const sent = [];
  for (let i = 0; i < ids.length; i += 50) {
    sent.push(
      ...(await Promise.all(
        ids.slice(i, i + 50).map((id) => contract.approve(c.id, id, serving, { nonce: nonce++, gasLimit: 300_000n })),
      )),
    );
  }
  await sent[sent.length - 1]!.wait();
  for (const id of [ids[0]!, ids[ids.length - 1]!]) {
    if ((await chain.registry.getDevice(id)).status !== Status.Active)
      throw new Error(`bench: device ${id} not active`);
  }
  return ids;
}

interface Load {
  readonly readingsPerSec: number;
  readonly latenciesMs: number[];
  readonly retries: number;
}

/**
 * The closed loop: each device sends `READINGS` frames one after the other (`frame(d, n)` makes
 * one), each retried with the same bytes on an error; `onReceipt` gets each answer.
 */
async function closedLoop(
  target: CoapTarget,
  frame: (d: number, n: number) => Uint8Array,
  onReceipt: (d: number, receipt: Uint8Array, sentAt: number) => void,
): Promise<Load> {
  const latenciesMs: number[] = [];
  let retries = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: DEVICES }, async (_, d) => {
      for (let n = 0; n < READINGS; n++) {
        const bytes = frame(d, n);
        const sentAt = performance.now();
        for (let attempt = 0; ; attempt++) {
          try {
            const receipt = await coapPost(target, "/frames", bytes, { timeoutMs: 60_000 });
            latenciesMs.push(performance.now() - sentAt);
            onReceipt(d, receipt, sentAt);
            break;
          } catch (e) {
            if (attempt >= 3) throw e;
            retries++;
          }
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { readingsPerSec: (DEVICES * READINGS) / seconds, latenciesMs, retries };
}

/** The in-process baseline: the same station's `ingest` of DEVICES × READINGS frames in calls of 256. */
async function inProcessIngest(params: NbiotParams, pkg: Pkg, bsId: Hex, dir: string): Promise<number> {
  const registry = new Map<string, { kind: Kind; status: Status }>([
    [bsId, { kind: Kind.BaseStation, status: Status.Active }],
  ]);
  const directory: Directory = { lookup: (id) => Promise.resolve(registry.get(id.toLowerCase())) };
  const bs = BaseStation.open({
    params,
    keys: pkgStationKeys(pkg, bsId),
    storePath: join(dir, "in-process.sqlite"),
    directory,
    stations: () => undefined,
  });
  try {
    const now = Date.now();
    const nodes: NbiotNode[] = [];
    for (let d = 0; d < DEVICES; d++) {
      const id = randomId();
      registry.set(id, { kind: Kind.Device, status: Status.Active });
      const node = new NbiotNode(params, extractNodeKeys(pkg, id), crypto.getRandomValues(new Uint8Array(32)));
      node.accept(await bs.authenticate(node.enter(bsId, now), now), now);
      nodes.push(node);
    }
    const frames: Uint8Array[] = [];
    for (let n = 0; n < READINGS; n++) nodes.forEach((node, d) => frames.push(node.send(reading(d, n, now), now)));
    const started = performance.now();
    for (let i = 0; i < frames.length; i += INGEST_CALL) {
      for (const r of bs.ingest(frames.slice(i, i + INGEST_CALL), now)) if (!r.ok) throw r.error;
    }
    return frames.length / ((performance.now() - started) / 1000);
  } finally {
    bs.close();
  }
}

export async function stationMetrics(): Promise<Metrics> {
  const backend = await mclBackend();
  const secret = randomScalar();
  const pkg = new Pkg(backend, secret);
  const params = nbiotParams(backend, pkg.masterPublic);
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-services-"));
  const node = await startHardhatNode();
  const children: ServiceProcess[] = [];
  try {
    const chain = await deployOnChain(node.provider, { layer: LAYER, contracts: ["DeviceRegistry", "DataAnchor"] });
    const station = await chain.admit(Kind.BaseStation, "Gateway/BaseStation/NB-IoT");
    const other = await chain.admit(Kind.BaseStation, "Gateway/BaseStation/NB-IoT");
    let t = performance.now();
    const ids = await registerDevices(chain, station.id, DEVICES);
    console.log(
      `bench: services: ${DEVICES} devices registered and approved in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // ------------------------------------------------------------ the station process
    const accountFile = join(dir, "station-account.secret");
    sealSecret(accountFile, { privateKey: station.key.privateKey }, PASSPHRASE);
    const configFile = join(dir, "station.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        id: station.id,
        store: join(dir, "station.sqlite"),
        rpcUrl: node.url,
        chainId: Number(chain.chainId),
        dataAnchor: chain.anchorAddress,
        deviceRegistry: chain.registry.address,
        account: accountFile,
        keyServers: { urls: [], publicFile: "" },
        coap: { host: "127.0.0.1", port: 0 },
        http: { host: "127.0.0.1", port: 0 },
        batch: { intervalMs: 1_000, maxSize: 10_000 },
        anchoring: { finalityDepth: 1, graceMs: 10_000 },
        // the set-up's 2,000 transactions, one block each, put the node's clock minutes ahead
        // (each block at least a second after the last): the station and devices keep the machine's
        clock: { followChain: false },
        logLevel: "warn",
      }),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STRATA_BENCH_MASTER: `0x${secret.toString(16)}`,
      STRATA_PASSPHRASE: PASSPHRASE,
    };
    delete env.NODE_OPTIONS;
    const stationProcess = await startProcess(process.execPath, [CHILD, "station", configFile], {
      env,
      name: "bench station",
    });
    children.push(stationProcess);
    const target = coapTarget(String(stationProcess.ready.coap));
    const http = String(stationProcess.ready.url);

    // ------------------------------------------------------------ the devices enter
    t = performance.now();
    const nodes = ids.map(
      (id) => new NbiotNode(params, extractNodeKeys(pkg, id), crypto.getRandomValues(new Uint8Array(32))),
    );
    await eachLimited(nodes, ENTERING, async (n) => {
      const response = await coapPost(target, "/auth", n.enter(station.id, Date.now()), { timeoutMs: 60_000 });
      n.accept(response, Date.now());
    });
    console.log(
      `bench: services: ${DEVICES} devices entered over CoAP in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // ------------------------------------------------------------ the load, with anchoring probes
    const anchors = new DataAnchorClient(chain.anchorAddress, node.provider);
    const probeWaits: Promise<number>[] = [];
    let probeWanted = false;
    let probing = 0;
    const probeTimer = setInterval(() => (probeWanted = true), PROBE_EVERY_MS);
    const anchoredAfter = async (device: Hex, seq: number, sentAt: number): Promise<number> => {
      let last: unknown;
      for (const deadline = performance.now() + 600_000; performance.now() < deadline;) {
        try {
          const proof = await requestJson<WireProof>(`${http}/nbiot/nodes/${device}/proofs/${seq}`);
          if ((await anchors.anchorOf(station.id, proof.batch.root)) !== undefined) {
            return (performance.now() - sentAt) / 1000;
          }
          last = `root ${proof.batch.root} not anchored`;
        } catch (e) {
          last = e; // not sealed yet
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      throw new Error(`bench: reading ${seq} of ${device} not anchored: ${String(last)}\n${stationProcess.logs()}`);
    };
    const load = await closedLoop(
      target,
      (d, n) => nodes[d]!.send(reading(d, n, Date.now()), Date.now()),
      (d, receipt, sentAt) => {
        const r = nodes[d]!.onReceipt(receipt);
        if (probeWanted && probing < PROBES_IN_FLIGHT) {
          probeWanted = false;
          probing++;
          probeWaits.push(anchoredAfter(ids[d]!, r.seq, sentAt).finally(() => probing--));
        }
      },
    );
    clearInterval(probeTimer);
    console.log(
      `bench: services: ${DEVICES * READINGS} readings over CoAP at ${Math.round(load.readingsPerSec)}/s, ` +
        `${load.retries} retries, ${probeWaits.length} anchoring probes, p50 receipt ${Math.round(percentile(load.latenciesMs, 0.5))} ms`,
    );
    const anchored = await Promise.all(probeWaits);
    await stationProcess.stop();

    // ------------------------------------------------------------ baselines
    const echoProcess = await startProcess(process.execPath, [CHILD, "echo"], { env, name: "bench echo" });
    children.push(echoProcess);
    const frameBytes = nodes[0]!.send(reading(0, READINGS, Date.now()), Date.now());
    const echo = await closedLoop(
      coapTarget(String(echoProcess.ready.url)),
      () => frameBytes,
      () => undefined,
    );
    await echoProcess.stop();
    const ingestRate = await inProcessIngest(params, pkg, station.id, dir);
    const otherAnchors = new DataAnchorClient(chain.anchorAddress, other.key);
    const anchorTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await otherAnchors.anchor(other.id, randomId(), 10_000);
      anchorTimes.push((performance.now() - started) / 1000);
    }

    const ms = (v: number) => Math.round(v * 10) / 10;
    const s = (v: number) => Math.round(v * 1000) / 1000;
    return {
      "services.station.coap.readingsPerSec": {
        value: Math.round(load.readingsPerSec),
        unit: "ops/s",
        baseline: { name: "the same station's ingest in process", value: Math.round(ingestRate) },
        target: { op: ">=", value: DEVICES },
      },
      "services.station.coap.receiptP50.ms": {
        value: ms(percentile(load.latenciesMs, 0.5)),
        unit: "ms",
        baseline: { name: "p50 of a bare CoAP echo server", value: ms(percentile(echo.latenciesMs, 0.5)) },
      },
      "services.station.coap.receiptP99.ms": {
        value: ms(percentile(load.latenciesMs, 0.99)),
        unit: "ms",
        baseline: { name: "p99 of a bare CoAP echo server", value: ms(percentile(echo.latenciesMs, 0.99)) },
      },
      "services.station.anchoredRootP50.s": {
        value: s(percentile(anchored, 0.5)),
        unit: "s",
        baseline: { name: "one DataAnchor.anchor through the SDK", value: s(median(anchorTimes)) },
      },
      "services.station.anchoredRootP99.s": {
        value: s(percentile(anchored, 0.99)),
        unit: "s",
        baseline: { name: "one DataAnchor.anchor through the SDK", value: s(median(anchorTimes)) },
      },
    };
  } finally {
    await Promise.allSettled(children.map((c) => c.kill()));
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
