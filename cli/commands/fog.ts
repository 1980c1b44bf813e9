/**
 * `strata fog deal` and `strata fog run`: a Secuchain fog cluster (seed 004) as services. `deal`
 * makes the cluster's threshold key and the data owner's filter keys, sealed one file per member
 * (services/fog/keys.ts); `run` starts one member (services/fog/service.ts) until SIGINT/SIGTERM.
 */
import type { Command } from "commander";

import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { loadFogConfig } from "../../services/fog/config.ts";
import { dealCluster } from "../../services/fog/keys.ts";
import { startFogService } from "../../services/fog/service.ts";
import { announceReady, runUntilSignal } from "../../services/runtime/lifecycle.ts";
import { createLogger } from "../../services/runtime/log.ts";
import { takePassphrase } from "../../services/runtime/secret-file.ts";
import type { Context } from "../program.ts";

const integer = (what: string) => (v: string) => {
  if (!/^[0-9]{1,3}$/.test(v)) throw new InvalidInputError(`${what} must be a whole number`, { value: v });
  return Number(v);
};

export function fogCommands(program: Command, ctx: Context): void {
  const fog = program.command("fog").description("a fog cluster (seed 004): key dealing and member services");

  fog
    .command("deal")
    .description("deal a cluster's threshold key and filter keys: one sealed file per member, the public file last")
    .requiredOption("--out <dir>", "the folder the files are written to")
    .requiredOption("--members <n>", "the number of members", integer("--members"))
    .requiredOption("--threshold <t>", "the shares a batch needs", integer("--threshold"))
    .addHelpText(
      "after",
      "\nExample:\n  $ STRATA_PASSPHRASE=… strata fog deal --out cluster/ --members 5 --threshold 3",
    )
    .action(async (o: { out: string; members: number; threshold: number }) => {
      const passphrase = takePassphrase();
      const dealt = dealCluster(await mclBackend(), o.out, o.threshold, o.members, passphrase);
      ctx.done({
        json: { files: dealt.files, public: dealt.public },
        lines: [`dealt a ${o.threshold}-of-${o.members} cluster:`, ...dealt.files.map((f) => `  ${f}`)],
      });
    });

  fog
    .command("run")
    .description("run a fog cluster member: MQTT intake, PEKS filter, open store and sign-share rounds over HTTP")
    .requiredOption("--config <file>", "the member's configuration (JSON)")
    .addHelpText("after", "\nExample:\n  $ STRATA_PASSPHRASE=… strata fog run --config fog-1.json")
    .action(async (o: { config: string }) => {
      const config = loadFogConfig(o.config);
      const passphrase = takePassphrase();
      const logger = createLogger(`fog-${config.index}`);
      const service = await startFogService(config, passphrase, logger);
      announceReady({ service: "fog", index: config.index, url: service.url, mqtt: service.mqtt ?? null });
      await runUntilSignal(`fog member ${config.index}`, logger, () => service.close());
    });
}
