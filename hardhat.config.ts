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
  settings: {
    evmVersion: "osaka",
    optimizer: { enabled: true, runs: 10_000 },
    viaIR: true,
  },
};

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
      default: compiler,
      production: compiler,
    },
  },
  // Generated bindings are checked by the compiler that made them, not by ours.
  typechain: { tsNocheck: true },
  paths: {
    tests: { mocha: "test", solidity: "test/contracts" },
  },
  test: {
    mocha: { timeout: 120_000 },
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
