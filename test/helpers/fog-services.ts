/**
 * Set-up for the fog cluster's process tests (test/services/fog*.test.ts): a JSON-RPC node in its
 * own process with the registry, `DataAnchor` and `AccessTokens` deployed, five fog members and the
 * cluster admitted, sensors registered with P-256 keys in their profiles; the cluster's keys dealt
 * by `strata fog deal` (a child process) and registered on chain; one configuration file per
 * member. Plain ethers and SDK code.
 */
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { type JsonRpcProvider, parseEther, type Signer, Wallet } from "ethers";

import { expect } from "chai";

import { accessScope, newAccessRequest } from "../../sdk/core/access.ts";
import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { batchTree } from "../../sdk/core/fog/reading-bytes.ts";
import { AccessTokensClient } from "../../sdk/contracts/access.ts";
import { Label } from "../../sdk/core/labels.ts";
import { minimalProfile } from "../../sdk/core/profile.ts";
import { Kind } from "../../sdk/core/registry.ts";
import { buildRegistration } from "../../sdk/core/registration.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { DeviceRegistryClient } from "../../sdk/contracts/registry.ts";
import { p256 } from "@noble/curves/nist.js";
import {
  AccessTokens__factory,
  DataAnchor__factory,
  DeviceRegistry__factory,
} from "../../types/ethers-contracts/index.ts";
import { memberFile, PUBLIC_FILE } from "../../services/fog/keys.ts";
import { sealSecret } from "../../services/runtime/secret-file.ts";
import { requestJson } from "../../services/runtime/http-client.ts";
import { type ServiceProcess, startService, STRATA_BIN } from "../../services/runtime/process.ts";
import type { FogConfig } from "../../services/fog/config.ts";
import { registerDealt } from "../../services/fog/register.ts";
import { RPC_REGISTRY_CONFIG } from "./rpc-chain.ts";

const LAYER = "strata://city/fog/services";
export const PASSPHRASE = "fog services test passphrase";

export interface Account {
  readonly id: Hex;
  readonly key: Wallet;
}

export interface Sensor extends Account {
  /** The P-256 private key the sensor signs its readings with. */
  readonly p256: Hex;
}

export interface FogChain {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  readonly admin: Signer;
  readonly registry: DeviceRegistryClient;
  readonly anchor: DataAnchorClient;
  readonly accessTokens: string;
  readonly members: readonly Account[];
  readonly cluster: Account;
  readonly sensors: readonly Sensor[];
  funded(eth?: string): Promise<Wallet>;
}

/** Deploys the contracts on the node at `url` and registers the cluster's members and `sensors` sensors. */
export async function deployFogChain(
  url: string,
  provider: JsonRpcProvider,
  members: number,
  sensors: number,
): Promise<FogChain> {
  const admin = await provider.getSigner(0);
  const adminAddress = await admin.getAddress();
  const reg = await new DeviceRegistry__factory(admin).deploy(adminAddress, RPC_REGISTRY_CONFIG);
  await reg.waitForDeployment();
  const anchorContract = await new DataAnchor__factory(admin).deploy(await reg.getAddress());
  await anchorContract.waitForDeployment();
  const tokens = await new AccessTokens__factory(admin).deploy(await reg.getAddress());
  await tokens.waitForDeployment();
  const registry = new DeviceRegistryClient(await reg.getAddress(), admin);
  await registry.setLayerOperator(LAYER, adminAddress);
  let localId = 0n;
  const funded = async (eth = "10"): Promise<Wallet> => {
    const key = new Wallet(Wallet.createRandom().privateKey, provider);
    await (await admin.sendTransaction({ to: key.address, value: parseEther(eth) })).wait();
    return key;
  };
  const register = async (label: Label, kind: Kind, profile: string): Promise<Account> => {
    const key = await funded();
    const req = buildRegistration({
      uuid: { layer: LAYER, localId: ++localId },
      key: key.address,
      kind,
      label,
      permissions: 1,
      profile: minimalProfile(profile),
      deadline: 2n ** 40n,
    });
    const { id } = await registry.register(req, await registry.signRegistration(key, req, adminAddress));
    return { id, key };
  };
  const coordinators = [
    await register(Label.Coordination, Kind.Device, "Device/Sensor/Temperature"),
    await register(Label.Coordination, Kind.Device, "Device/Sensor/Temperature"),
  ];
  for (const c of coordinators) await registry.appointCoordinator(c.id);
  const admit = async (): Promise<Account> => {
    const node = await register(Label.Full, Kind.FogNode, "Gateway/Fog");
    for (const c of coordinators) await registry.connect(c.key).approve(c.id, node.id);
    return node;
  };
  const fog: Account[] = [];
  for (let i = 0; i < members; i++) fog.push(await admit());
  const cluster = await admit();
  const out: Sensor[] = [];
  for (let i = 0; i < sensors; i++) {
    const s = await register(Label.Lightweight, Kind.Device, "Device/Sensor/Air");
    await registry.connect(coordinators[0]!.key).approve(coordinators[0]!.id, s.id, fog[0]!.id);
    const secret = p256.utils.randomSecretKey();
    const publicKey = p256.getPublicKey(secret, false).subarray(1);
    await registry.updateProfile(s.id, { ...minimalProfile("Device/Sensor/Air"), p256PublicKey: publicKey });
    out.push({ ...s, p256: toHex(secret) });
  }
  return {
    url,
    provider,
    admin,
    registry,
    anchor: new DataAnchorClient(await anchorContract.getAddress(), admin),
    accessTokens: await tokens.getAddress(),
    members: fog,
    cluster,
    sensors: out,
    funded,
  };
}

/** Runs `strata fog deal` into `dir` (a child process, as an operator would). */
export async function dealFiles(dir: string, threshold: number, members: number): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [STRATA_BIN, "fog", "deal", "--out", dir, "--members", String(members), "--threshold", String(threshold)],
    { env: { ...process.env, STRATA_PASSPHRASE: PASSPHRASE } },
  );
}

/** Registers the dealt cluster in `DataAnchor` (`registerDealt`, what `strata fog register` does). */
export async function registerDealtCluster(chain: FogChain, dir: string): Promise<void> {
  await registerDealt({
    publicFile: join(dir, PUBLIC_FILE),
    passphrase: PASSPHRASE,
    cluster: chain.cluster.id,
    members: chain.members.map((m) => m.id),
    client: chain.anchor,
    clusterKey: chain.cluster.key,
    memberKeys: chain.members.map((m) => m.key),
  });
}

/** Writes the sealed sensors file the simulator reads. */
export function writeSensorsFile(file: string, sensors: readonly Sensor[]): void {
  sealSecret(file, { sensors: sensors.map((s) => ({ id: s.id, privateKey: s.p256 })) }, PASSPHRASE);
}

/**
 * Writes one configuration per member into `dir` (`fog-<i>.json`): member 1 coordinates and runs
 * the MQTT intake (`mqtt`), the others endorse; `ports[i]` is member i + 1's HTTP port.
 */
export async function writeConfigs(
  chain: FogChain,
  dir: string,
  ports: readonly number[],
  mqtt: FogConfig["mqtt"],
  overrides: Partial<FogConfig> = {},
): Promise<string[]> {
  const sender = await chain.funded("100");
  sealSecret(join(dir, "sender.sealed"), { privateKey: sender.privateKey }, PASSPHRASE);
  return chain.members.map((m, i) => {
    const index = i + 1;
    const config = {
      index,
      id: m.id,
      cluster: chain.cluster.id,
      public: PUBLIC_FILE,
      share: memberFile(index),
      store: `member-${index}.sqlite`,
      http: { host: "127.0.0.1", port: ports[i]! },
      peers: chain.members
        .map((p, j) => ({ index: j + 1, id: p.id, url: `http://127.0.0.1:${ports[j]!}` }))
        .filter((p) => p.index !== index),
      coordinator: index === 1,
      ...(index === 1 ? { senderKey: "sender.sealed", ...(mqtt === undefined ? {} : { mqtt }) } : {}),
      chain: {
        rpc: chain.url,
        registry: chain.registry.address,
        anchor: chain.anchor.address,
        accessTokens: chain.accessTokens,
        finalityDepth: 1,
      },
      batch: { intervalMs: 300, max: 32 },
      workers: 1,
      accessPurpose: "read:sensitive@fog-cluster",
      ...overrides,
    };
    const file = join(dir, `fog-${index}.json`);
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
    return file;
  });
}

/** A reading as the fog services answer it over HTTP. */
export interface Served {
  readonly id: number;
  readonly device: Hex;
  readonly seq: number;
  readonly reading: Hex;
}

/** A line of the simulator's log: a reading the broker acknowledged. */
export interface Published {
  readonly device: Hex;
  readonly seq: number;
  readonly sensitive: boolean;
}

const SCOPE = accessScope("read:sensitive@fog-cluster");
export const serviceEnv = (): NodeJS.ProcessEnv => ({ ...process.env, STRATA_PASSPHRASE: PASSPHRASE });

/** Waits until `check` holds, polling (the test's timeout bounds it). */
export async function until(check: () => Promise<boolean>, everyMs = 200): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, everyMs));
}

/** A metric's value from a service's `/metrics` (0 when absent). */
export async function metricOf(url: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

/**
 * Starts `strata sim sensors` against `broker`; `count` readings per sensor of `sensorsFile`
 * (default `<dir>/sensors.sealed`), logged to `<dir>/sim.jsonl`.
 */
export function simulate(
  dir: string,
  broker: string,
  count: number,
  rate = 20,
  sensorsFile = join(dir, "sensors.sealed"),
  sensitive = 0.5,
): Promise<ServiceProcess> {
  return startService(
    [
      "sim",
      "sensors",
      "--broker",
      broker,
      "--devices",
      sensorsFile,
      "--cluster",
      join(dir, PUBLIC_FILE),
      "--owner",
      join(dir, "owner.sealed"),
      "--state",
      join(dir, "sim-state.json"),
      "--rate",
      String(rate),
      "--count",
      String(count),
      "--sensitive",
      String(sensitive),
      "--log",
      join(dir, "sim.jsonl"),
    ],
    { env: serviceEnv() },
  );
}

/** The simulator's log. */
export function publishedLog(dir: string): Published[] {
  return readFileSync(join(dir, "sim.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Published);
}

export type AccessBody = Awaited<ReturnType<Awaited<ReturnType<typeof accessFor>>>>;

/**
 * Mints an access token for sensor `device` (the layer's operator owns it) and gives `holder` a
 * shift from now; returns a maker of signed access requests (by `holder`, or another signer).
 */
export async function accessFor(chain: FogChain, device: number, holder: Wallet) {
  const owner = chain.sensors[device]!;
  const tokens = new AccessTokensClient(chain.accessTokens, chain.admin);
  const { tokenId } = await tokens.mint(owner.id);
  const chainNow = BigInt((await chain.provider.getBlock("latest"))!.timestamp);
  await tokens.scheduleShift(tokenId, holder.address, chainNow, chainNow + 3600n);
  return async (signer: Wallet = holder) => {
    // dated on the chain's clock, as the fog node judges requests (hardhat's runs ahead of the wall clock)
    const pending = (await chain.provider.send("eth_getBlockByNumber", ["pending", false])) as { timestamp: string };
    const t = BigInt(pending.timestamp);
    const request = newAccessRequest({
      token: tokenId,
      resource: owner.id,
      requester: signer.address,
      issuedAt: t,
      expiresAt: t + 120n,
      scope: SCOPE,
    });
    const signature = await tokens.signAccessRequest(signer, request);
    return {
      request: {
        token: String(request.token),
        resource: request.resource,
        requester: request.requester,
        nonce: request.nonce,
        issuedAt: String(request.issuedAt),
        expiresAt: String(request.expiresAt),
        scope: request.scope,
      },
      signature,
      from: 0,
      to: Number.MAX_SAFE_INTEGER,
    };
  };
}

export async function sensitiveOf(url: string, body: unknown): Promise<Served[]> {
  return (await requestJson<{ readings: Served[] }>(`${url}/sensitive`, { method: "POST", body })).readings;
}

export async function openOf(url: string, query = "limit=10000"): Promise<Served[]> {
  return (await requestJson<{ readings: Served[] }>(`${url}/open?${query}`)).readings;
}

interface BatchRow {
  readonly sequence: number;
  readonly root: Hex;
  readonly leafCount: number;
  readonly firstId: number;
  readonly lastId: number;
}

export async function batchesOf(url: string): Promise<BatchRow[]> {
  return (await requestJson<{ batches: BatchRow[] }>(`${url}/batches`)).batches;
}

const key = (r: { device: string; seq: number }) => `${r.device.toLowerCase()}:${r.seq}`;

/**
 * Every reading the simulator logged is found once: the normal ones in the coordinator's open
 * store, the sensitive ones served with an access token (one per sensor, `readers`) and each in
 * exactly one batch whose root is anchored on chain at its sequence; the cluster's head counts
 * those batches. Waits until the batches hold every sensitive reading. Returns the sensitive
 * readings served and the request makers.
 */
export async function verifyAll(
  chain: FogChain,
  url: string,
  log: readonly Published[],
): Promise<{ served: Served[]; asks: ((signer?: Wallet) => Promise<AccessBody>)[] }> {
  const sensitive = log.filter((r) => r.sensitive);
  const normal = log.filter((r) => !r.sensitive);
  await until(async () => (await openOf(url)).length >= normal.length);
  await until(async () => (await batchesOf(url)).reduce((n, b) => n + b.leafCount, 0) >= sensitive.length);
  const open = await openOf(url);
  expect(open.map(key).sort()).to.deep.equal(normal.map(key).sort());
  const asks = [];
  for (const [i] of chain.sensors.entries()) {
    asks.push(await accessFor(chain, i, new Wallet(Wallet.createRandom().privateKey)));
  }
  const served: Served[] = [];
  for (const ask of asks) served.push(...(await sensitiveOf(url, await ask())));
  expect(served.map(key).sort()).to.deep.equal(sensitive.map(key).sort());
  const batches = await batchesOf(url);
  let leaves = 0;
  for (const b of batches) {
    const members = served
      .filter((r) => r.id >= b.firstId && r.id <= b.lastId)
      .sort((x, y) => x.id - y.id)
      .map((r) => Buffer.from(r.reading.slice(2), "hex"));
    expect(members).to.have.length(b.leafCount);
    expect((await batchTree(members)).root).to.equal(b.root);
    expect((await chain.anchor.anchorOf(chain.cluster.id, b.root))?.sequence).to.equal(BigInt(b.sequence));
    leaves += b.leafCount;
  }
  expect(leaves).to.equal(sensitive.length);
  expect(await chain.anchor.head(chain.cluster.id)).to.equal(BigInt(batches.length));
  return { served, asks };
}

/**
 * A JSON-RPC proxy to the node at `target` that can be taken down: while `down`, every connection
 * is closed unanswered (a node that is unreachable), then it forwards again.
 */
export async function switchableProxy(target: string): Promise<{ url: string; down: boolean; close(): Promise<void> }> {
  const state = { down: false };
  const body = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const server = createServer((req, res) => {
    if (state.down) {
      req.socket.destroy();
      return;
    }
    void body(req)
      .then(async (bytes) => {
        const answer = await fetch(target, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: new Uint8Array(bytes),
        });
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(Buffer.from(await answer.arrayBuffer()));
      })
      .catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
