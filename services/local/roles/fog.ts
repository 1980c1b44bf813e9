/**
 * The fog cluster of a local deployment (seed 004) and its simulated air sensors: five fog nodes
 * and the cluster admitted on the first chain, the cluster's 3-of-5 key and filter keys dealt
 * (`dealCluster`, what `strata fog deal` does) and the cluster registered in `DataAnchor`
 * (`registerDealt`, what `strata fog register` does) with
 * every member's approval and a proof of possession from t shares; one `strata fog run` process
 * per member (member 1 coordinates: the embedded MQTT broker, the batches and their anchors), and
 * one `strata sim sensors` process publishing the sensors' signed, PEKS-tagged readings.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { p256 } from "@noble/curves/nist.js";
import type { Wallet } from "ethers";

import { type Hex, toHex } from "../../../sdk/core/bytes.ts";
import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { Label } from "../../../sdk/core/labels.ts";
import { minimalProfile } from "../../../sdk/core/profile.ts";
import { Kind } from "../../../sdk/core/registry.ts";
import { DataAnchorClient } from "../../../sdk/contracts/anchor.ts";
import { dealCluster, memberFile, OWNER_FILE, PUBLIC_FILE } from "../../fog/keys.ts";
import { registerDealt } from "../../fog/register.ts";
import { sealSecret } from "../../runtime/secret-file.ts";
import type { LocalChain } from "../chain-setup.ts";
import type { Scale } from "../scale.ts";
import type { Ports } from "../ports.ts";
import type { Supervisor } from "../supervisor.ts";

export interface Fog {
  /** The cluster's registry id (its batches' gateway in `DataAnchor`). */
  readonly cluster: Hex;
  /** Each member's name and HTTP URL (member 1: the coordinator, open store, batches). */
  readonly members: readonly { readonly name: string; readonly id: Hex; readonly url: string }[];
  readonly broker: string;
}

const MEMBERS = 5;
const THRESHOLD = 3;

export async function startFog(o: {
  readonly dir: string;
  readonly chain: LocalChain;
  readonly supervisor: Supervisor;
  readonly passphrase: string;
  readonly scale: Scale;
  readonly ports: Ports;
}): Promise<Fog> {
  const { chain, scale, passphrase } = o;
  const dir = join(o.dir, "fog");
  const members: { id: Hex; key: Wallet }[] = [];
  for (let i = 0; i < MEMBERS; i++) members.push(await chain.admit(Kind.FogNode, "Gateway/Fog"));
  const cluster = await chain.admit(Kind.FogNode, "Gateway/Fog/Cluster");
  const sensors: { id: Hex; privateKey: Hex }[] = [];
  for (let i = 0; i < scale.sensors; i++) {
    const s = await chain.register(Label.Lightweight, Kind.Device, "Device/Sensor/Air");
    await chain.approveDevice(s.id, members[0]!.id);
    const secret = p256.utils.randomSecretKey();
    const publicKey = p256.getPublicKey(secret, false).subarray(1);
    await chain.registry.updateProfile(s.id, { ...minimalProfile("Device/Sensor/Air"), p256PublicKey: publicKey });
    sensors.push({ id: s.id, privateKey: toHex(secret) });
  }

  const backend = await mclBackend();
  dealCluster(backend, dir, THRESHOLD, MEMBERS, passphrase);
  // The cluster's registration in DataAnchor: every member approves the key, t shares prove it.
  await registerDealt({
    publicFile: join(dir, PUBLIC_FILE),
    passphrase,
    cluster: cluster.id,
    members: members.map((m) => m.id),
    client: new DataAnchorClient(chain.anchorAddress, chain.admin),
    clusterKey: cluster.key,
    memberKeys: members.map((m) => m.key),
  });

  const sender = await chain.funded("100");
  sealSecret(join(dir, "sender.sealed"), { privateKey: sender.privateKey }, passphrase);
  sealSecret(join(dir, "sensors.sealed"), { sensors }, passphrase);
  const ports: number[] = [];
  for (let i = 0; i < MEMBERS; i++) ports.push(await o.ports.tcp());
  const mqttPort = await o.ports.tcp();
  const env = { STRATA_PASSPHRASE: passphrase };
  const running = await o.supervisor.startAll(
    members.map((m, i) => {
      const index = i + 1;
      const config = join(dir, `fog-${index}.json`);
      writeFileSync(
        config,
        JSON.stringify(
          {
            index,
            id: m.id,
            cluster: cluster.id,
            public: PUBLIC_FILE,
            share: memberFile(index),
            store: `fog-${index}.sqlite`,
            http: { host: "127.0.0.1", port: ports[i]! },
            peers: members
              .map((p, j) => ({ index: j + 1, id: p.id, url: `http://127.0.0.1:${ports[j]!}` }))
              .filter((p) => p.index !== index),
            coordinator: index === 1,
            ...(index === 1
              ? { senderKey: "sender.sealed", mqtt: { embedded: { host: "127.0.0.1", port: mqttPort } } }
              : {}),
            chain: {
              rpc: chain.url,
              registry: chain.deployment.registry,
              anchor: chain.anchorAddress,
              accessTokens: chain.accessTokensAddress,
              finalityDepth: 1,
            },
            batch: { intervalMs: scale.batchEveryMs, max: 128 },
            workers: 1,
          },
          null,
          2,
        ),
      );
      return { name: `fog-${index}`, args: ["fog", "run", "--config", config], stage: "gateway" as const, env };
    }),
  );
  const broker = `mqtt://127.0.0.1:${mqttPort}`;
  await o.supervisor.start({
    name: "sim-sensors",
    stage: "simulator",
    env,
    args: [
      "sim",
      "sensors",
      "--broker",
      broker,
      "--devices",
      join(dir, "sensors.sealed"),
      "--cluster",
      join(dir, PUBLIC_FILE),
      "--owner",
      join(dir, OWNER_FILE),
      "--state",
      join(dir, "sim-state.json"),
      "--rate",
      String(1000 / scale.readingEveryMs),
      "--sensitive",
      "0.5",
    ],
  });
  return {
    cluster: cluster.id,
    members: members.map((m, i) => ({ name: `fog-${i + 1}`, id: m.id, url: running[i]!.url! })),
    broker,
  };
}
