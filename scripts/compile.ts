/**
 * The compile step before `npm run demo` and `npm test` (their `predemo` and `pretest`):
 * says that the contracts are being compiled, then compiles them with Hardhat's own output.
 * `hardhat run` compiles quietly, and Hardhat's spinner shows only on a terminal, so without
 * this a first run that writes to a log prints nothing for minutes. When nothing changed it
 * prints nothing, and the command that follows finds everything compiled.
 *
 *   hardhat run --no-compile scripts/compile.ts
 */
import hre from "hardhat";

const buildProfile = hre.globalOptions.buildProfile ?? "default";
const roots = await hre.solidity.getRootFilePaths();
const jobs = await hre.solidity.getCompilationJobs(roots, { buildProfile, quiet: true });

// A failure to plan the build (e.g. no compiler for a pragma) is reported by the build itself.
const stale = "compilationJobsPerFile" in jobs ? jobs.compilationJobsPerFile.size : roots.length;
if (stale > 0) {
  const first = "cacheHits" in jobs && jobs.cacheHits.size === 0;
  console.log(
    first
      ? `Compiling Strata's contracts (${stale} Solidity files; a full compile, as on a first run, takes a few minutes)…`
      : `Compiling ${stale} changed Solidity ${stale === 1 ? "file" : "files"}…`,
  );
  await hre.tasks.getTask("build").run({ noTests: hre.config.solidity.splitTestsCompilation });
}
