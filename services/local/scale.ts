/**
 * The size of a local deployment, from the environment (`STRATA_DEVICES=200 npm start`): each
 * knob an integer within its range, checked before anything starts; a bad one is an
 * `InvalidInputError` naming the variable, what it takes and what it got.
 */
import { InvalidInputError } from "../../sdk/errors.ts";

export interface Scale {
  /** NB-IoT devices (`strata sim nbiot`), spread over the three base stations. */
  readonly devices: number;
  /** MQTT air sensors (`strata sim sensors`) publishing to the fog cluster. */
  readonly sensors: number;
  /** Milliseconds between two readings of one device or sensor. */
  readonly readingEveryMs: number;
  /** Milliseconds between two contracts an edge node sends through the layers. */
  readonly contractEveryMs: number;
  /** Milliseconds between two batches of a station or of the fog cluster. */
  readonly batchEveryMs: number;
  /** Members of each high-level layer (four or more tolerate one fault). */
  readonly layerMembers: number;
}

export const DEFAULT_SCALE: Scale = {
  devices: 6,
  sensors: 6,
  readingEveryMs: 5_000,
  contractEveryMs: 10_000,
  batchEveryMs: 5_000,
  layerMembers: 4,
};

/** Each knob: its variable, its field, and its range. */
export const KNOBS: readonly { env: string; field: keyof Scale; min: number; max: number; help: string }[] = [
  { env: "STRATA_DEVICES", field: "devices", min: 1, max: 1000, help: "NB-IoT devices" },
  { env: "STRATA_SENSORS", field: "sensors", min: 1, max: 1000, help: "MQTT air sensors" },
  { env: "STRATA_READING_MS", field: "readingEveryMs", min: 100, max: 3_600_000, help: "ms between readings" },
  { env: "STRATA_CONTRACT_MS", field: "contractEveryMs", min: 500, max: 3_600_000, help: "ms between contracts" },
  { env: "STRATA_BATCH_MS", field: "batchEveryMs", min: 100, max: 3_600_000, help: "ms between batches" },
  { env: "STRATA_LAYER_MEMBERS", field: "layerMembers", min: 1, max: 16, help: "members per layer" },
];

/** The scale the environment asks for (unset knobs: `base`). */
export function scaleFromEnv(env: NodeJS.ProcessEnv, base: Scale = DEFAULT_SCALE): Scale {
  const scale: Record<keyof Scale, number> = { ...base };
  for (const k of KNOBS) {
    const raw = env[k.env];
    if (raw === undefined || raw === "") continue;
    const value = /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!Number.isSafeInteger(value) || value < k.min || value > k.max) {
      throw new InvalidInputError(`${k.env}: expected an integer from ${k.min} to ${k.max} (${k.help}), got "${raw}"`, {
        variable: k.env,
        value: raw,
      });
    }
    scale[k.field] = value;
  }
  return scale;
}
