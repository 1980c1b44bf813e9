/**
 * Hardhat 3 configuration for Strata.
 *
 * solc comes from the `solc` npm package (no compiler download): the compiler
 * `path` points at its `soljson.js` and the version is read from the same
 * package, so the two can never disagree.
 */
import { createRequire } from "node:module";

import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatEthersChaiMatchers from "@nomicfoundation/hardhat-ethers-chai-matchers";
import hardhatIgnitionEthers from "@nomicfoundation/hardhat-ignition-ethers";
import hardhatKeystore from "@nomicfoundation/hardhat-keystore";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import type {} from "@nomicfoundation/hardhat-typechain";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

// The typed bindings in types/ are committed (lint and the SDK need no build); only
// `npm run artifacts` loads TypeChain and regenerates them, so a build never rewrites them.
const typechain =
  process.env.STRATA_TYPECHAIN === "1" ? [(await import("@nomicfoundation/hardhat-typechain")).default] : [];
const solcVersion: string = (require("solc/package.json") as { version: string }).version;
const solcPath = require.resolve("solc/soljson.js");

const compiler = {
  version: solcVersion,
  path: solcPath,
  // `optimizer` first: Hardhat puts its own `optimizer` default first in the production profile's
  // settings, and hashes the settings in key order, so any other order gives the two profiles
  // different cache keys for the same input.
  settings: {
    optimizer: { enabled: true, runs: 10_000 },
    evmVersion: "osaka",
    viaIR: true,
  },
};

// One compile serves every command. Hardhat keys its compile cache on the compiler input, the
// `isolated` flag and (when `toolVersionsInBuildInfo` is on) Hardhat's version; `production`
// turns both on by default, so `ignition deploy` (production) and `build`/`test`/`run`
// (default) recompiled everything each time they alternated. Both profiles are therefore the
// same, non-isolated: one solc job for all sources, as `default` always compiled, so the
// deployed bytecode (and its gas) stays the one the tests and benchmarks measure. An isolated
// build (one solc job per file) gave the four deployables the same bytecode, byte for byte,
// but recompiles each of them for every test that deploys it: three times the compile time.
const profile = { ...compiler, isolated: false, toolVersionsInBuildInfo: false };

export default defineConfig({
  plugins: [
    hardhatEthers,
    hardhatEthersChaiMatchers,
    hardhatIgnitionEthers,
    hardhatKeystore,
    hardhatMocha,
    hardhatNetworkHelpers,
    ...typechain,
  ],
  solidity: {
    profiles: {
      default: profile,
      production: profile,
    },
  },
  // Generated bindings are checked by the compiler that made them, not by ours.
  typechain: { tsNocheck: true },
  paths: {
    tests: { mocha: "test", solidity: "test/contracts" },
  },
  test: {
    // Test files run in parallel, two at a time: most of the suite waits on child processes,
    // sockets and chain nodes rather than on a core, so two files share the machine's cores well
    // (`STRATA_TEST_JOBS=1` runs them one after another).
    mocha: {
      timeout: 120_000,
      parallel: process.env.STRATA_TEST_JOBS !== "1",
      jobs: Number(process.env.STRATA_TEST_JOBS ?? 2),
    },
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 64, failOnRevert: false },
    },
  },
  networks: {
    default: {
      type: "edr-simulated",
      chainType: "l1",
      hardfork: "osaka",
    },
    // `hardhat node` of a local deployment (`npm start`, services/local): blocks as fast as the
    // services send transactions, several in one second, so the chain's clock keeps to the
    // machine's instead of running a second ahead per block (devices date their readings by
    // the machine's clock, stations by the chain's).
    localNode: {
      type: "edr-simulated",
      chainType: "l1",
      hardfork: "osaka",
      allowBlocksWithSameTimestamp: true,
    },
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
    // Any JSON-RPC network: the URL and the deployer's key come from the
    // keystore (`npx hardhat keystore set STRATA_RPC_URL`) or the environment,
    // never from a file in the repository.
    remote: {
      type: "http",
      chainType: "l1",
      url: configVariable("STRATA_RPC_URL"),
      accounts: [configVariable("STRATA_DEPLOYER_KEY")],
    },
  },
});
