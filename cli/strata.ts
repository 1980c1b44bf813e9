#!/usr/bin/env node
/**
 * The `strata` command's entry point (`npx strata …`, `bin` of the package). See docs/cli.md.
 */
import { createProgram } from "./program.ts";
import { processIo } from "./output.ts";

const { run } = createProgram(processIo);
process.exitCode = await run(process.argv.slice(2));
