/**
 * The `strata` command: subcommands per capability on commander, the same global options for
 * all (`--json`, `--rpc`, `--deployments`, `--keystore`), `--help` with an example for each.
 * Each command returns a `Result`; printing, errors and exit codes are in one place (output.ts).
 */
import { Command, CommanderError, Option } from "commander";

import { type Io, print, report, type Result } from "./output.ts";
import { keyCommands } from "./commands/key.ts";
import { deployCommand } from "./commands/deploy.ts";
import { statusCommand } from "./commands/status.ts";
import { anchorCommand } from "./commands/anchor.ts";
import { verifyCommand } from "./commands/verify.ts";
import { deviceCommands } from "./commands/device.ts";
import { tokenCommands } from "./commands/token.ts";
import { peerCommands } from "./commands/peer.ts";
import { edgeCommands, layerCommands } from "./commands/layer.ts";
import { keyServerCommands } from "./commands/keyserver.ts";
import { stationCommands } from "./commands/station.ts";
import { simCommands } from "./commands/sim.ts";
import { fogCommands } from "./commands/fog.ts";
import { simSensorsCommand } from "./commands/sim-sensors.ts";

export interface GlobalOptions {
  readonly json?: boolean;
  readonly rpc?: string;
  readonly deployments?: string;
  readonly keystore?: string;
}

/** What a command's action gets: the global options and a way to hand back its result. */
export interface Context {
  readonly io: Io;
  readonly globals: () => GlobalOptions;
  /** Whether a passphrase may be prompted for (a terminal, and not `--json`). */
  readonly interactive: () => boolean;
  readonly done: (result: Result, exitCode?: number) => void;
}

export function createProgram(io: Io): { program: Command; run: (argv: readonly string[]) => Promise<number> } {
  const program = new Command("strata");
  let outcome: Result | undefined;
  let outcomeCode = 0;
  const ctx: Context = {
    io,
    globals: () => program.opts<GlobalOptions>(),
    interactive: () => io.isTty && program.opts<GlobalOptions>().json !== true,
    done: (result, exitCode = 0) => {
      outcome = result;
      outcomeCode = exitCode;
    },
  };
  program
    .description("Strata: device identity, anchoring and access on Ethereum, from the terminal.")
    .version("0.1.0")
    .addOption(new Option("--json", "print one JSON document on stdout (errors too); logs go to stderr"))
    .addOption(new Option("--rpc <url>", "the chain's JSON-RPC URL").env("STRATA_RPC_URL"))
    .addOption(new Option("--deployments <file>", "the deployment file").env("STRATA_DEPLOYMENTS"))
    .addOption(new Option("--keystore <dir>", "the folder of encrypted keys").env("STRATA_KEYSTORE"))
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
    })
    .addHelpText(
      "after",
      "\nExamples:\n  $ strata key new operator\n  $ strata deploy --key operator --rpc http://127.0.0.1:8545\n  $ strata status --json\n\nExit codes: 0 ok, 1 failure, 2 usage, 3 bad input, 4 chain, 5 contract revert, 6 key, 7 proof invalid.",
    );
  keyCommands(program, ctx);
  deployCommand(program, ctx);
  statusCommand(program, ctx);
  deviceCommands(program, ctx);
  tokenCommands(program, ctx);
  peerCommands(program, ctx);
  anchorCommand(program, ctx);
  verifyCommand(program, ctx);
  layerCommands(program, ctx);
  edgeCommands(program, ctx);
  keyServerCommands(program, ctx);
  stationCommands(program, ctx);
  simCommands(program, ctx);
  fogCommands(program, ctx);
  simSensorsCommand(program, ctx);

  const run = async (argv: readonly string[]): Promise<number> => {
    outcome = undefined;
    outcomeCode = 0;
    try {
      await program.parseAsync([...argv], { from: "user" });
    } catch (error) {
      if (error instanceof CommanderError) {
        if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
        if (error.code === "commander.help") return 0;
        if (program.opts<GlobalOptions>().json === true) {
          io.stdout(
            `${JSON.stringify({ error: { name: "UsageError", message: error.message.replace(/^error: /, ""), exitCode: 2 } }, null, 2)}\n`,
          );
        }
        return 2;
      }
      return report(io, program.opts<GlobalOptions>().json === true, error);
    }
    if (outcome !== undefined) print(io, program.opts<GlobalOptions>().json === true, outcome);
    return outcomeCode;
  };
  return { program, run };
}
