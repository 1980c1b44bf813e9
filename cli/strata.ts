#!/usr/bin/env node
/**
 * The `strata` command's entry point (`npx strata …`, `bin` of the package). See docs/cli.md.
 * It exits as soon as the command is done: a request a silent node never answered must not keep
 * the process alive after its deadline was reported.
 */
import { createProgram } from "./program.ts";
import { processIo } from "./output.ts";

const { run } = createProgram(processIo);
process.exit(await run(process.argv.slice(2)));
