/** `strata station run --config FILE`: a base station (seed 000) as a service (services/station/). */
import type { Command } from "commander";

import { announceReady, runUntilSignal } from "../../services/runtime/lifecycle.ts";
import { createLogger } from "../../services/runtime/log.ts";
import { takePassphrase } from "../../services/runtime/secret-file.ts";
import { loadStationConfig } from "../../services/station/config.ts";
import { startStationWithKeyServers } from "../../services/station/keyservers.ts";
import type { Context } from "../program.ts";

export function stationCommands(program: Command, _ctx: Context): void {
  const station = program
    .command("station")
    .description("a base station: NB-IoT devices over CoAP, stations and applications over HTTP (seed 000)");
  station
    .command("run")
    .description("run a base station until SIGINT/SIGTERM (one JSON ready line on stdout, logs on stderr)")
    .requiredOption("--config <file>", "the station's configuration (docs/services.md, Base station)")
    .addHelpText("after", "\nExample:\n  $ STRATA_PASSPHRASE=… strata station run --config station1.json")
    .action(async (options: { config: string }) => {
      const config = loadStationConfig(options.config);
      const passphrase = takePassphrase();
      const logger = createLogger("station", config.logLevel);
      const running = await startStationWithKeyServers(config, { passphrase, logger });
      announceReady({
        service: "station",
        url: running.http.url,
        http: running.http.url,
        coap: running.coap.url,
        id: running.id,
      });
      await runUntilSignal("station", logger, () => running.close());
    });
}
