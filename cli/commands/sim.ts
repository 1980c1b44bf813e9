/**
 * `strata sim …`: simulated devices for the demo, tests and load. `sim nbiot` runs NB-IoT nodes
 * over CoAP (services/sim/nbiot.ts); each kind of device is one subcommand added here.
 */
import { readFileSync } from "node:fs";

import { type Command, Option } from "commander";
import { Wallet } from "ethers";

import type { Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { nbiotParams } from "../../sdk/core/nbiot/params.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { checkAgainstSchema } from "../../services/runtime/config.ts";
import { announceReady } from "../../services/runtime/lifecycle.ts";
import { openSecret, takePassphrase } from "../../services/runtime/secret-file.ts";
import { createLogger } from "../../services/runtime/log.ts";
import { deviceFromJson, NbiotSimulator, type SimStation } from "../../services/sim/nbiot.ts";
import { type KeyServersConfig, keyServerNodeKeys, keyServersMasterPublic } from "../../services/station/keyservers.ts";
import { resolvePath } from "../../services/runtime/config.ts";
import type { Context } from "../program.ts";

const keysFromSchema = {
  type: "object",
  additionalProperties: false,
  required: ["urls", "publicFile"],
  properties: {
    urls: { type: "array", minItems: 1, items: { type: "string", pattern: "^https?://[^\\s]+$" } },
    publicFile: { type: "string", minLength: 1 },
    chainId: { type: "integer", minimum: 1 },
    registry: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
  },
} as const;

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InvalidInputError(`${file}: the ${what} cannot be read as JSON (${(e as Error).message})`, { file });
  }
}

/** `ID=coap://host:port` */
function parseStation(value: string, previous: SimStation[] = []): SimStation[] {
  const m = /^(0x[0-9a-fA-F]{64})=(coap:\/\/.+)$/.exec(value);
  if (m === null) throw new InvalidInputError(`--station takes ID=coap://host:port, not ${value}`, { value });
  return [...previous, { id: m[1]!.toLowerCase() as Hex, url: m[2]! }];
}

function positive(name: string, integer: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
      throw new InvalidInputError(`--${name} must be a positive ${integer ? "integer" : "number"}, not ${value}`);
    }
    return n;
  };
}

interface NbiotOptions {
  station: SimStation[];
  devicesFile: string;
  devices?: number;
  rate: number;
  count?: number;
  handoverEvery?: number;
  state: string;
  keysFrom: string;
}

export function simCommands(program: Command, _ctx: Context): void {
  const sim = program.command("sim").description("simulated devices (demo, tests, load)");
  sim
    .command("nbiot")
    .description(
      "NB-IoT nodes over CoAP: keys from the key servers, readings at a rate, state kept so a restart resumes; prints a ready line, then a summary line",
    )
    .addOption(
      new Option("--station <id=url>", "a station's id and CoAP URL (repeat: devices start spread, move in turn)")
        .argParser(parseStation)
        .makeOptionMandatory(),
    )
    .requiredOption(
      "--devices-file <file>",
      "sealed file (STRATA_PASSPHRASE) of the registered devices: [{ id, privateKey }]",
    )
    .option("--devices <n>", "how many of the file's devices run (default: all)", positive("devices", true))
    .option("--rate <r>", "readings per second per device", positive("rate", false), 1)
    .option("--count <n>", "readings per device, then stop once all are confirmed", positive("count", true))
    .option(
      "--handover-every <n>",
      "readings at one station before moving to the next",
      positive("handover-every", true),
    )
    .requiredOption("--state <file>", "the devices' state (SQLite; created if missing)")
    .requiredOption("--keys-from <file>", "the key servers: JSON { urls, publicFile, chainId?, registry? }")
    .addHelpText(
      "after",
      "\nExample:\n  $ strata sim nbiot --station 0xab…=coap://127.0.0.1:5683 --devices-file devices.json --rate 2 --count 10 \\\n      --state sim.sqlite --keys-from keyservers.json",
    )
    .action(async (o: NbiotOptions) => {
      const logger = createLogger("sim-nbiot");
      // The devices' private keys prove control to the key servers: sealed, never plain text.
      const raw = openSecret(o.devicesFile, takePassphrase());
      if (!Array.isArray(raw)) throw new InvalidInputError(`${o.devicesFile}: a list of devices is expected`);
      const all = raw.map((d, i) => deviceFromJson(d, `${o.devicesFile}: /${i}`));
      if (o.devices !== undefined && o.devices > all.length) {
        throw new InvalidInputError(`${o.devicesFile} lists ${all.length} devices, fewer than --devices ${o.devices}`);
      }
      const devices = all.slice(0, o.devices ?? all.length);
      const keysFrom = checkAgainstSchema<KeyServersConfig & { chainId?: number; registry?: string }>(
        readJson(o.keysFrom, "key servers file"),
        keysFromSchema,
        o.keysFrom,
      );
      const servers = { urls: keysFrom.urls, publicFile: resolvePath(o.keysFrom, keysFrom.publicFile) };
      const masterPublic = await keyServersMasterPublic(servers);
      const nodeKeys = keyServerNodeKeys(servers, {
        ...(keysFrom.chainId === undefined ? {} : { chainId: BigInt(keysFrom.chainId) }),
        ...(keysFrom.registry === undefined ? {} : { registry: keysFrom.registry }),
      });
      const simulator = new NbiotSimulator({
        params: nbiotParams(await mclBackend(), masterPublic),
        stations: o.station,
        devices,
        statePath: o.state,
        nodeKeys: (d) => nodeKeys({ id: d.id, signer: new Wallet(d.privateKey) }),
        rate: o.rate,
        ...(o.count === undefined ? {} : { count: o.count }),
        ...(o.handoverEvery === undefined ? {} : { handoverEvery: o.handoverEvery }),
        onRefusal: (device, e) => logger.debug({ device, err: e.name, message: e.shortMessage }, "refused"),
      });
      const stop = () => simulator.stop();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      announceReady({ service: "sim-nbiot", devices: devices.length, stations: o.station.length });
      const summary = await simulator.run();
      process.stdout.write(`${JSON.stringify({ summary })}\n`);
      logger.info(summary, "simulated devices stopped");
      logger.flush();
    });
}
