/**
 * A chain and registered parties for the base-station service tests: a `hardhat node` process
 * with the registry and `DataAnchor`, two base stations admitted on chain (their accounts sealed
 * in secret files), lightweight devices approved under them, and the application's check of
 * everything the stations serve: every block verified (`verifyAcquisition`), every root anchored
 * by its own station, every proof accepted by `DataAnchor.verifyReading`, every reading
 * decrypted with the device's primary key, no sequence number twice.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import type { Wallet } from "ethers";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { AeadKey } from "../../sdk/core/crypto/aead.ts";
import { bytes32ValuesHash, keccakReady } from "../../sdk/core/merkle.ts";
import type { AcquisitionResponse } from "../../sdk/core/nbiot/acquisition.ts";
import { pageEnd, verifyAcquisition } from "../../sdk/core/nbiot/acquisition.ts";
import type { NbiotParams } from "../../sdk/core/nbiot/params.ts";
import { openPrimary } from "../../sdk/core/nbiot/session.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { Label } from "../../sdk/core/labels.ts";
import { Kind } from "../../sdk/core/registry.ts";
import type { StationLink } from "../../sdk/nbiot/ports.ts";
import { ProtocolError } from "../../sdk/errors.ts";
import { sealSecret } from "../../services/runtime/secret-file.ts";
import { freePort, type NodeProcess, startAnvil, startHardhatNode } from "../../support/node-process.ts";
import { type ServiceProcess, startService } from "../../services/runtime/process.ts";
import { PASSPHRASE as CLI_PASSPHRASE, strataIn } from "./cli.ts";
import { deployRpcChain, type RpcChain } from "./rpc-chain.ts";

export const PASSPHRASE = CLI_PASSPHRASE;
const LAYER = "strata://city/port/nbiot";

export interface StationWorld {
  readonly node: NodeProcess;
  readonly chain: RpcChain;
  readonly dir: string;
  readonly stations: { id: Hex; key: Wallet; accountFile: string }[];
  readonly devices: { id: Hex; privateKey: Hex }[];
  /** The devices file the simulator reads. */
  readonly devicesFile: string;
}

/**
 * A chain node with Strata deployed, `stations` stations admitted and `devices` devices approved:
 * `hardhat node`, or anvil keeping its chain in a state file (so it can be stopped and started
 * again on the same chain).
 */
export async function stationWorld(
  stations: number,
  devices: number,
  options: { readonly anvil?: boolean } = {},
): Promise<StationWorld> {
  const dir = mkdtempSync(join(tmpdir(), "strata-station-svc-"));
  const node =
    options.anvil === true
      ? await startAnvil(31337n, { stateFile: join(dir, "anvil-state.json") })
      : await startHardhatNode();
  const chain = await deployRpcChain(node.provider, LAYER);
  const admitted = [];
  for (let i = 0; i < stations; i++) {
    const s = await chain.admit(Kind.BaseStation, "Gateway/BaseStation/NB-IoT");
    const accountFile = join(dir, `station${i + 1}-account.secret`);
    sealSecret(accountFile, { privateKey: s.key.privateKey }, PASSPHRASE);
    admitted.push({ ...s, accountFile });
  }
  const registered = [];
  for (let i = 0; i < devices; i++) {
    const d = await chain.register(Label.Lightweight, Kind.Device, "Device/Sensor/Temperature");
    await chain.approveDevice(d.id, admitted[0]!.id);
    registered.push({ id: d.id, privateKey: d.key.privateKey as Hex });
  }
  const devicesFile = join(dir, "devices.sealed");
  sealSecret(devicesFile, registered, PASSPHRASE);
  return { node, chain, dir, stations: admitted, devices: registered, devicesFile };
}

/** Every page a station serves for `node`. */
async function pages(link: StationLink, node: Hex): Promise<AcquisitionResponse[]> {
  const out: AcquisitionResponse[] = [];
  let after = 0;
  for (;;) {
    const page = await link.acquire(node, 0, Number.MAX_SAFE_INTEGER, after);
    out.push(page);
    const seq = pageEnd(page);
    if (!page.more || seq === undefined) return out;
    after = seq;
  }
}

export interface AcquiredReading {
  readonly seq: number;
  readonly station: Hex;
  readonly plaintext: string;
}

/**
 * `node`'s readings from `links`, verified as an application does and against `DataAnchor`
 * (each root anchored by its station, each proof accepted by `verifyReading`), then decrypted.
 */
export async function acquireVerified(
  params: NbiotParams,
  node: Hex,
  links: readonly StationLink[],
  anchors: DataAnchorClient,
  primaryKey: Uint8Array,
): Promise<AcquiredReading[]> {
  const responses = (await Promise.all(links.map((l) => pages(l, node)))).flat();
  await keccakReady();
  const verified = verifyAcquisition(params, node, responses);
  for (const [root, station] of verified.roots) {
    if ((await anchors.anchorOf(station, root)) === undefined) {
      throw new ProtocolError("not-anchored", `root ${root} is not anchored by ${station}`);
    }
  }
  const key = new AeadKey(primaryKey);
  const out: AcquiredReading[] = [];
  const seen = new Set<number>();
  for (const b of verified.blocks) {
    const ok = await anchors.verifyReading(b.block.bs, b.root, toHex(bytes32ValuesHash(b.hash)), [...b.proof]);
    if (!ok) throw new ProtocolError("bad-proof", `DataAnchor refused the proof of block ${b.block.seq}`);
    if (seen.has(b.block.seq)) throw new ProtocolError("fork", `block ${b.block.seq} twice`);
    seen.add(b.block.seq);
    out.push({
      seq: b.block.seq,
      station: b.block.bs,
      plaintext: new TextDecoder().decode(openPrimary(key, node, b.block.seq, b.primary)),
    });
  }
  return out;
}

/**
 * `acquireVerified` until at least `confirmed` readings are served: a station serves sealed blocks
 * only and the application accepts anchored roots only, so a block not yet sealed (a gap:
 * `missing-block`) or a root not yet anchored (`not-anchored`) is asked again, at most `tries`
 * times; the last refusal is thrown when they run out. Any other refusal is thrown at once.
 */
export async function acquireWhenAnchored(
  params: NbiotParams,
  node: Hex,
  links: readonly StationLink[],
  anchors: DataAnchorClient,
  primaryKey: Uint8Array,
  confirmed: number,
  // 90 s and more: a station whose rounds failed on a loaded machine (a chain call past its
  // deadline) waits out its back-off, which doubles from the batch interval, before it seals again.
  tries = 450,
): Promise<AcquiredReading[]> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const readings = await acquireVerified(params, node, links, anchors, primaryKey);
      if (readings.length >= confirmed) return readings;
      last = new ProtocolError("missing-block", `${readings.length} of ${confirmed} readings served so far`);
    } catch (e) {
      if (!(e instanceof ProtocolError) || (e.reason !== "not-anchored" && e.reason !== "missing-block")) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw last;
}

/** A reader of `DataAnchor` on the world's chain. */
export function anchorReader(world: StationWorld): DataAnchorClient {
  return new DataAnchorClient(world.chain.anchorAddress, world.node.provider);
}

// ------------------------------------------------------------------ processes

/** The environment of a service process: the passphrase of its sealed files. */
export const SERVICE_ENV: NodeJS.ProcessEnv = (() => {
  const env: NodeJS.ProcessEnv = { ...process.env, STRATA_PASSPHRASE: PASSPHRASE, STRATA_LOG_LEVEL: "warn" };
  delete env.NODE_OPTIONS;
  return env;
})();

/** A free UDP port on the loopback interface (a station's CoAP port kept across its restarts). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export interface KeyServers {
  readonly processes: ServiceProcess[];
  readonly urls: string[];
  readonly publicFile: string;
  /** The simulator's `--keys-from` file. */
  readonly keysFromFile: string;
}

/** A 2-of-3 dealing by `strata keyserver deal` and its three `strata keyserver run` processes. */
export async function startKeyServers(world: StationWorld): Promise<KeyServers> {
  const out = join(world.dir, "ks");
  const dealt = await strataIn(world.dir)([
    "--json",
    "--rpc",
    world.node.url,
    "keyserver",
    "deal",
    "--servers",
    "3",
    "--threshold",
    "2",
    "--out",
    out,
    "--registry",
    world.chain.registry.address,
    "--chain-id",
    String(world.chain.chainId),
  ]);
  if (dealt.code !== 0) throw new Error(`keyserver deal failed: ${dealt.stderr}`);
  const processes = await Promise.all(
    [1, 2, 3].map((i) =>
      startService(["keyserver", "run", "--config", join(out, `server-${i}.json`)], { env: SERVICE_ENV }),
    ),
  );
  const urls = processes.map((p) => String(p.ready.url));
  const publicFile = join(out, "public.json");
  const keysFromFile = join(world.dir, "keyservers.json");
  writeFileSync(keysFromFile, JSON.stringify({ urls, publicFile }));
  return { processes, urls, publicFile, keysFromFile };
}

export interface StationPorts {
  readonly http: number;
  readonly coap: number;
}

/** Free HTTP and CoAP ports for `n` stations (kept across restarts). */
export async function stationPorts(n: number): Promise<StationPorts[]> {
  const out: StationPorts[] = [];
  for (let i = 0; i < n; i++) out.push({ http: await freePort(), coap: await freeUdpPort() });
  return out;
}

/** Writes station `i`'s configuration (peers: every other station) and returns its path. */
export function writeStationConfig(
  world: StationWorld,
  keyServers: KeyServers,
  ports: readonly StationPorts[],
  i: number,
  extra: Record<string, unknown> = {},
): string {
  const s = world.stations[i]!;
  const peers: Record<string, string> = {};
  world.stations.forEach((o, j) => {
    if (j !== i) peers[o.id] = `http://127.0.0.1:${ports[j]!.http}`;
  });
  const file = join(world.dir, `station${i + 1}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        id: s.id,
        store: `station${i + 1}.sqlite`,
        rpcUrl: world.node.url,
        chainId: Number(world.chain.chainId),
        dataAnchor: world.chain.anchorAddress,
        deviceRegistry: world.chain.registry.address,
        account: s.accountFile,
        keyServers: { urls: keyServers.urls, publicFile: keyServers.publicFile },
        peers,
        coap: { host: "127.0.0.1", port: ports[i]!.coap },
        http: { host: "127.0.0.1", port: ports[i]!.http },
        batch: { intervalMs: 300, maxSize: 100 },
        anchoring: { finalityDepth: 1, receiptTimeoutMs: 2000, graceMs: 5000 },
        workers: 1,
        ...extra,
      },
      null,
      2,
    ),
  );
  return file;
}

/** `strata station run --config FILE` as a child process. */
export function startStationProcess(configFile: string): Promise<ServiceProcess> {
  return startService(["station", "run", "--config", configFile], { env: SERVICE_ENV });
}

/** The `--station` arguments of the simulator for the running stations. */
export function simStationArgs(world: StationWorld, ports: readonly StationPorts[]): string[] {
  return world.stations.flatMap((s, i) => ["--station", `${s.id}=coap://127.0.0.1:${ports[i]!.coap}`]);
}

export interface SimRun {
  readonly process: ServiceProcess;
  /** Resolves with the summary line when the simulator ends. */
  readonly summary: Promise<Record<string, unknown>>;
}

/** Simulator processes started (killed by `killSims`, in a test file's `after`). */
const sims: ServiceProcess[] = [];

/** Kills every simulator process still running. */
export async function killSims(): Promise<void> {
  await Promise.all(sims.splice(0).map((p) => p.kill()));
}

/** `strata sim nbiot …` as a child process. */
export async function startSim(world: StationWorld, keyServers: KeyServers, args: readonly string[]): Promise<SimRun> {
  let resolveSummary!: (s: Record<string, unknown>) => void;
  const summary = new Promise<Record<string, unknown>>((r) => (resolveSummary = r));
  const process = await startService(
    ["sim", "nbiot", "--devices-file", world.devicesFile, "--keys-from", keyServers.keysFromFile, ...args],
    {
      env: SERVICE_ENV,
      onLine: (line) => {
        try {
          const parsed = JSON.parse(line) as { summary?: Record<string, unknown> };
          if (parsed.summary !== undefined) resolveSummary(parsed.summary);
        } catch {
          // not a JSON line
        }
      },
    },
  );
  sims.push(process);
  return { process, summary };
}

/**
 * Waits until every device's confirmed readings (the simulator's state) are acquired from the
 * stations over HTTP and verified on chain, and returns them per device; throws on anything
 * that fails verification (only `not-anchored` is waited out, at most `tries` times).
 */
export async function verifyAllConfirmed(
  params: NbiotParams,
  world: StationWorld,
  statePath: string,
  links: readonly StationLink[],
  tries = 450,
): Promise<Map<Hex, AcquiredReading[]>> {
  const { SimState } = await import("../../services/sim/nbiot.ts");
  const state = new SimState(statePath);
  const devices = state.all();
  state.close();
  const anchors = anchorReader(world);
  const out = new Map<Hex, AcquiredReading[]>();
  for (const d of devices) {
    const readings = await acquireWhenAnchored(params, d.id, links, anchors, d.primaryKey, d.tipSeq, tries);
    const seqs = readings.map((r) => r.seq);
    const want = Array.from({ length: d.tipSeq }, (_, k) => k + 1);
    if (JSON.stringify(seqs.slice(0, d.tipSeq)) !== JSON.stringify(want)) {
      throw new ProtocolError(
        "missing-block",
        `device ${d.id}: acquired ${seqs.join(",")}, confirmed up to ${d.tipSeq}`,
      );
    }
    out.set(d.id, readings);
  }
  return out;
}
