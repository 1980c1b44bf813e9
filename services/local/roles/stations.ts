/**
 * The base stations of a local deployment (seed 000) and their simulated NB-IoT devices: three
 * stations admitted on the first chain (each account sealed in a file of its own), each a
 * `strata station run` process (CoAP for devices, HTTP for handover and acquisition, its epoch
 * keys from the key servers) whose peers are the other two; the devices registered and approved
 * under the first station, run by one `strata sim nbiot` process that moves them from station
 * to station (handover), their keys from the key servers.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import type { Hex } from "../../../sdk/core/bytes.ts";
import { Label } from "../../../sdk/core/labels.ts";
import { Kind } from "../../../sdk/core/registry.ts";
import { sealSecret } from "../../runtime/secret-file.ts";
import type { LocalChain } from "../chain-setup.ts";
import type { Scale } from "../scale.ts";
import type { Ports } from "../ports.ts";
import type { Supervisor } from "../supervisor.ts";
import type { KeyServers } from "./keyservers.ts";

export interface Stations {
  /** Each station's name, registry id and HTTP URL (acquisition, handover). */
  readonly stations: readonly {
    readonly name: string;
    readonly id: Hex;
    readonly http: string;
    readonly coap: string;
  }[];
  /** The devices the simulator runs ([{ id, privateKey }]). */
  readonly devicesFile: string;
  /** The simulator's state (each device's keys, confirmed readings). */
  readonly simState: string;
}

export async function startStations(o: {
  readonly dir: string;
  readonly chain: LocalChain;
  readonly supervisor: Supervisor;
  readonly passphrase: string;
  readonly keyServers: KeyServers;
  readonly scale: Scale;
  readonly count: number;
  readonly ports: Ports;
}): Promise<Stations> {
  const { dir, chain, scale } = o;
  const admitted: { name: string; id: Hex; accountFile: string; http: number; coap: number }[] = [];
  for (let i = 1; i <= o.count; i++) {
    const s = await chain.admit(Kind.BaseStation, "Gateway/BaseStation/NB-IoT");
    const accountFile = join(dir, `station-${i}.account`);
    sealSecret(accountFile, { privateKey: s.key.privateKey }, o.passphrase);
    admitted.push({
      name: `station-${i}`,
      id: s.id,
      accountFile,
      http: await o.ports.tcp(),
      coap: await o.ports.udp(),
    });
  }
  const devices: { id: Hex; privateKey: string }[] = [];
  for (let i = 0; i < scale.devices; i++) {
    const d = await chain.register(Label.Lightweight, Kind.Device, "Device/Sensor/Temperature");
    await chain.approveDevice(d.id, admitted[0]!.id);
    devices.push({ id: d.id, privateKey: d.key.privateKey });
  }
  const devicesFile = join(dir, "nbiot-devices.sealed");
  sealSecret(devicesFile, devices, o.passphrase);
  const keysFrom = join(dir, "keyservers.json");
  writeFileSync(keysFrom, JSON.stringify({ urls: o.keyServers.urls, publicFile: o.keyServers.publicFile }));

  const env = { STRATA_PASSPHRASE: o.passphrase };
  await o.supervisor.startAll(
    admitted.map((s) => {
      const peers = Object.fromEntries(
        admitted.filter((p) => p !== s).map((p) => [p.id, `http://127.0.0.1:${p.http}`]),
      );
      const config = join(dir, `${s.name}.json`);
      writeFileSync(
        config,
        JSON.stringify(
          {
            id: s.id,
            store: `${s.name}.sqlite`,
            rpcUrl: chain.url,
            chainId: Number(chain.chainId),
            dataAnchor: chain.anchorAddress,
            deviceRegistry: chain.deployment.registry,
            account: s.accountFile,
            keyServers: { urls: o.keyServers.urls, publicFile: o.keyServers.publicFile },
            peers,
            coap: { host: "127.0.0.1", port: s.coap },
            http: { host: "127.0.0.1", port: s.http },
            batch: { intervalMs: scale.batchEveryMs, maxSize: 1000 },
            anchoring: { finalityDepth: 1 },
            workers: 1,
          },
          null,
          2,
        ),
      );
      return { name: s.name, args: ["station", "run", "--config", config], stage: "gateway" as const, env };
    }),
  );
  const simState = join(dir, "nbiot-sim.sqlite");
  await o.supervisor.start({
    name: "sim-nbiot",
    stage: "simulator",
    env,
    args: [
      "sim",
      "nbiot",
      ...admitted.flatMap((s) => ["--station", `${s.id}=coap://127.0.0.1:${s.coap}`]),
      "--devices-file",
      devicesFile,
      "--keys-from",
      keysFrom,
      "--state",
      simState,
      "--rate",
      String(1000 / scale.readingEveryMs),
      "--handover-every",
      "5",
    ],
  });
  return {
    stations: admitted.map((s) => ({
      name: s.name,
      id: s.id,
      http: `http://127.0.0.1:${s.http}`,
      coap: `coap://127.0.0.1:${s.coap}`,
    })),
    devicesFile,
    simState,
  };
}
