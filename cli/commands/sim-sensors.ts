/**
 * `strata sim sensors`: simulated Secuchain sensors publishing over MQTT (services/sim/sensors.ts).
 * Registered under `strata sim` next to the other simulators.
 */
import type { Command } from "commander";

import { InvalidInputError } from "../../sdk/errors.ts";
import { startSensors } from "../../services/sim/sensors.ts";
import { announceReady, runUntilSignal } from "../../services/runtime/lifecycle.ts";
import { createLogger } from "../../services/runtime/log.ts";
import { takePassphrase } from "../../services/runtime/secret-file.ts";
import type { Context } from "../program.ts";

const number = (what: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidInputError(`${what} must be a number`, { value: v });
  return n;
};

/** Adds `sensors` to the `sim` command (created when absent). */
export function simSensorsCommand(program: Command, _ctx: Context): void {
  const sim =
    program.commands.find((c) => c.name() === "sim") ?? program.command("sim").description("device simulators");
  sim
    .command("sensors")
    .description("simulated sensors publishing signed, PEKS-tagged readings over MQTT (seed 004)")
    .requiredOption("--broker <url>", "the MQTT broker (mqtt://host:port)")
    .requiredOption("--devices <file>", "the sealed sensors file: { sensors: [{ id, privateKey }] }")
    .requiredOption("--cluster <file>", "the fog cluster's public file (cluster.json)")
    .requiredOption("--owner <file>", "the data owner's sealed file (owner.sealed)")
    .requiredOption("--state <file>", "the sequence state file (kept across restarts)")
    .option("--sensors <n>", "how many of the sensors publish", number("--sensors"))
    .option("--rate <r>", "readings per second per sensor", number("--rate"), 1)
    .option("--count <n>", "readings per sensor, then exit", number("--count"))
    .option("--sensitive <p>", "the share of sensitive readings (0..1)", number("--sensitive"), 0.3)
    .option("--log <file>", "append each acknowledged reading as a JSON line")
    .addHelpText(
      "after",
      "\nExample:\n  $ strata sim sensors --broker mqtt://127.0.0.1:1883 --devices sensors.sealed --cluster cluster.json --owner owner.sealed --state sim.json --sensors 10 --rate 2",
    )
    .action(
      async (o: {
        broker: string;
        devices: string;
        cluster: string;
        owner: string;
        state: string;
        sensors?: number;
        rate: number;
        count?: number;
        sensitive: number;
        log?: string;
      }) => {
        const logger = createLogger("sim-sensors");
        const sim = await startSensors({
          broker: o.broker,
          sensorsFile: o.devices,
          publicFile: o.cluster,
          ownerFile: o.owner,
          passphrase: takePassphrase(),
          rate: o.rate,
          sensitive: o.sensitive,
          stateFile: o.state,
          ...(o.sensors === undefined ? {} : { sensors: o.sensors }),
          ...(o.count === undefined ? {} : { count: o.count }),
          ...(o.log === undefined ? {} : { logFile: o.log }),
        });
        announceReady({ service: "sim-sensors", broker: o.broker });
        if (o.count !== undefined) {
          await sim.finished;
          await sim.stop();
          process.stdout.write(`${JSON.stringify({ done: true, published: sim.published() })}\n`);
          process.exit(0);
        }
        await runUntilSignal("sensor simulator", logger, () => sim.stop());
      },
    );
}
