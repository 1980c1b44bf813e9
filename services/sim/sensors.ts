/**
 * Simulated Secuchain sensors (seed 004's device layer) for the demo, tests and load: each
 * sensor is an MQTT publisher that seals its payload for the data owner (AES-256-GCM), encrypts
 * its class keyword (and an alarm keyword) under the owner's PEKS key, signs the reading with its
 * P-256 key (`makeReading`) and publishes it at QoS 1 on `strata/readings/<device id>`. Sequence
 * numbers are reserved in a state file ahead of use (written atomically before any reading of
 * the block is sent), so a restarted simulator never reuses one: the fog node would refuse it
 * as a replay.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";

import mqtt, { type MqttClient } from "mqtt";

import { fromHex, type Hex, toHex } from "../../sdk/core/bytes.ts";
import { AeadKey } from "../../sdk/core/crypto/aead.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { Peks } from "../../sdk/core/crypto/peks.ts";
import { SENSITIVE } from "../../sdk/core/fog/filter.ts";
import { type DeviceKey, deviceKey, makeReading, sealPayload } from "../../sdk/core/fog/reading.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { openSecret, writeFileAtomic } from "../runtime/secret-file.ts";
import { openOwner, readPublic } from "../fog/keys.ts";
import { READING_TOPIC_PREFIX } from "../fog/mqtt.ts";

/** Sequence numbers reserved per write of the state file. */
const RESERVE = 64;

/** A sealed file of sensors: `{ sensors: [{ id, privateKey }] }` (P-256, hex). */
export interface SensorsSecret {
  readonly sensors: readonly { readonly id: Hex; readonly privateKey: Hex }[];
}

export interface SensorSimOptions {
  readonly broker: string;
  /** The sealed sensors file, the cluster's public file and the data owner's sealed file. */
  readonly sensorsFile: string;
  readonly publicFile: string;
  readonly ownerFile: string;
  readonly passphrase: string;
  /** How many of the file's sensors publish (default all). */
  readonly sensors?: number;
  /** Readings per second per sensor. */
  readonly rate: number;
  /** Readings per sensor, then stop (default: until stopped). */
  readonly count?: number;
  /** The share of readings marked sensitive, 0..1. */
  readonly sensitive: number;
  /** The sequence state file (created when absent). */
  readonly stateFile: string;
  /** A JSON-lines file each acknowledged reading is appended to (`{device, seq, sensitive}`). */
  readonly logFile?: string;
}

export interface SensorSim {
  /** Readings the broker acknowledged. */
  readonly published: () => number;
  /** Resolves when every sensor sent its `count` readings (never without `count`). */
  readonly finished: Promise<void>;
  stop(): Promise<void>;
}

interface Sensor {
  readonly id: Hex;
  readonly key: DeviceKey;
  readonly client: MqttClient;
  seq: number;
  reserved: number;
  sent: number;
}

function readState(file: string): Record<string, number> {
  if (!existsSync(file)) return {};
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
    if (typeof state !== "object" || state === null) throw new Error("not an object");
    return state;
  } catch (cause) {
    throw new InvalidInputError(`${file}: not a sensor state file`, { file }, { cause });
  }
}

/** Starts the sensors; each connects to `broker` and publishes at `rate`. */
export async function startSensors(o: SensorSimOptions): Promise<SensorSim> {
  if (!(o.rate > 0 && o.rate <= 1000))
    throw new InvalidInputError("--rate is from above 0 to 1000 per second", { rate: o.rate });
  if (!(o.sensitive >= 0 && o.sensitive <= 1))
    throw new InvalidInputError("--sensitive is from 0 to 1", { sensitive: o.sensitive });
  const backend = await mclBackend();
  const peks = new Peks(backend);
  const pub = readPublic(o.publicFile);
  const peksKey = backend.g1.fromBytes(fromHex(pub.peksPublicKey, "peksPublicKey", 48));
  const owner = new AeadKey(fromHex(openOwner(o.ownerFile, o.passphrase).payloadKey, "payloadKey", 32));
  const secret = openSecret<SensorsSecret>(o.sensorsFile, o.passphrase);
  const chosen = secret.sensors.slice(0, o.sensors ?? secret.sensors.length);
  if (chosen.length === 0) throw new InvalidInputError(`${o.sensorsFile}: no sensors`, { file: o.sensorsFile });
  const state = readState(o.stateFile);
  const save = () => {
    const next: Record<string, number> = { ...state };
    for (const s of sensors) next[s.id] = s.reserved;
    Object.assign(state, next);
    writeFileAtomic(o.stateFile, `${JSON.stringify(next)}\n`, 0o600);
  };
  const sensors: Sensor[] = [];
  for (const s of chosen) {
    const id = toHex(fromHex(s.id, "sensor id", 32));
    const client = mqtt.connect(o.broker, {
      clientId: `strata-sensor-${id.slice(2, 26)}`,
      clean: true,
      reconnectPeriod: 500,
      protocolVersion: 4,
    });
    const last = state[id] ?? 0;
    sensors.push({
      id,
      key: deviceKey(fromHex(s.privateKey, "privateKey", 32)),
      client,
      seq: last,
      reserved: last,
      sent: 0,
    });
  }
  await Promise.all(
    sensors.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          s.client.once("connect", () => resolve());
          s.client.once("error", reject);
        }),
    ),
  );
  let published = 0;
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let done = 0;

  const readingOf = (s: Sensor, sensitive: boolean): Uint8Array => {
    if (s.seq >= s.reserved) {
      s.reserved = s.seq + RESERVE;
      save(); // before any reading of the block leaves
    }
    const seq = ++s.seq;
    const time = Date.now();
    const value = { t: 15 + Math.random() * 10, sensitive };
    const payload = sealPayload(owner, s.id, seq, time, new TextEncoder().encode(JSON.stringify(value)));
    const keywords = [
      peks.encrypt(peksKey, sensitive ? SENSITIVE : "normal"),
      peks.encrypt(peksKey, sensitive && Math.random() < 0.5 ? "alarm" : "none"),
    ];
    return makeReading(s.key, s.id, seq, time, payload, keywords).bytes;
  };

  const tick = async (s: Sensor): Promise<void> => {
    if (stopped) return;
    if (o.count !== undefined && s.sent >= o.count) return;
    s.sent++;
    const sensitive = Math.random() < o.sensitive;
    const bytes = readingOf(s, sensitive);
    const seq = s.seq;
    await s.client.publishAsync(`${READING_TOPIC_PREFIX}${s.id}`, Buffer.from(bytes), { qos: 1 });
    published++;
    if (o.logFile !== undefined) appendFileSync(o.logFile, `${JSON.stringify({ device: s.id, seq, sensitive })}\n`);
    if (o.count !== undefined && s.sent >= o.count && ++done === sensors.length) finish();
  };

  const interval = 1000 / o.rate;
  for (const s of sensors) {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      tick(s).then(
        () => (busy = false),
        () => (busy = false),
      );
    }, interval);
    timers.push(timer);
  }
  return {
    published: () => published,
    finished,
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.all(sensors.map((s) => s.client.endAsync()));
    },
  };
}
