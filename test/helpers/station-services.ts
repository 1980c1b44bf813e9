/**
 * A chain and registered parties for the base-station service tests: a `hardhat node` process
 * with the registry and `DataAnchor`, two base stations admitted on chain (their accounts sealed
 * in secret files), lightweight devices approved under them, and the application's check of
 * everything the stations serve: every block verified (`verifyAcquisition`), every root anchored
 * by its own station, every proof accepted by `DataAnchor.verifyReading`, every reading
 * decrypted with the device's primary key, no sequence number twice.
 */
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
import { type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import { deployRpcChain, type RpcChain } from "./rpc-chain.ts";

export const PASSPHRASE = "station test passphrase";
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

/** A hardhat node with Strata deployed, `stations` stations admitted and `devices` devices approved. */
export async function stationWorld(stations: number, devices: number): Promise<StationWorld> {
  const node = await startHardhatNode();
  const chain = await deployRpcChain(node.provider, LAYER);
  const dir = mkdtempSync(join(tmpdir(), "strata-station-svc-"));
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
  const devicesFile = join(dir, "devices.json");
  writeFileSync(devicesFile, JSON.stringify(registered, null, 2));
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

/** A reader of `DataAnchor` on the world's chain. */
export function anchorReader(world: StationWorld): DataAnchorClient {
  return new DataAnchorClient(world.chain.anchorAddress, world.node.provider);
}
