/**
 * The `strata` command run as a child process (plain `node`, the sources' type stripping) against
 * anvil: keys in the encrypted keystore, an idempotent deployment recorded per chain, status, and
 * every bad input as one line and its exit code, or a JSON error object with `--json`.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import type { Command } from "commander";

import { type NodeProcess, startAnvil } from "../../support/node-process.ts";
import { ANVIL_KEYS, type CliRun, errorOf as errorOfRun, jsonOf, strataIn } from "../helpers/cli.ts";
import { createProgram } from "../../cli/program.ts";
import { OUTPUT_SCHEMAS } from "../../cli/schemas.ts";

const ANVIL_KEY = ANVIL_KEYS[0];

describe("the strata command", function () {
  this.timeout(120_000);
  let dir: string;
  let chain: NodeProcess;

  const strata = (args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliRun> =>
    strataIn(dir)(args, env);
  const json = jsonOf;
  const errorOf = errorOfRun;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-cli-"));
    chain = await startAnvil();
  });

  after(async () => {
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe("key", () => {
    it("imports a key from the environment, lists it without decrypting, and exports its public key", async () => {
      const imported = await strata(["--json", "key", "import", "deployer"], { STRATA_PRIVATE_KEY: ANVIL_KEY });
      expect(imported.code, imported.stderr).to.equal(0);
      expect(json(imported)).to.include({ name: "deployer", address: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" });
      const file = await readFile(path.join(dir, "keys", "deployer.json"), "utf8");
      expect(file).to.not.include(ANVIL_KEY.slice(2));
      expect(Object.keys(JSON.parse(file) as object).map((k) => k.toLowerCase())).to.include("crypto");
      const created = await strata(["--json", "key", "new", "gateway"]);
      expect(created.code).to.equal(0);
      const list = json(await strata(["--json", "key", "list"])) as { keys: { name: string; address: string }[] };
      expect(list.keys.map((k) => k.name)).to.deep.equal(["deployer", "gateway"]);
      const exported = json(await strata(["--json", "key", "export-public", "gateway"]));
      expect(exported.address).to.equal((json(created) as { address: string }).address);
      expect(exported.publicKey).to.match(/^0x04[0-9a-f]{128}$/);
    });

    it("opens only the key a file lists: a P-256 file with another public key or address is refused (exit 6)", async () => {
      expect((await strata(["key", "new", "se-1", "--curve", "p256"])).code).to.equal(0);
      const file = path.join(dir, "keys", "se-1.json");
      const original = JSON.parse(await readFile(file, "utf8")) as { address: string; publicKey: { x: string } };
      expect(json(await strata(["--json", "key", "export-public", "se-1"]))).to.include({ curve: "p256" });
      for (const edit of [
        (k: typeof original) => ({ ...k, publicKey: { ...k.publicKey, x: `0x${"11".repeat(32)}` } }),
        (k: typeof original) => ({ ...k, address: "1111111111111111111111111111111111111111" }),
        (k: typeof original) => ({ ...k, curve: undefined }),
      ]) {
        await writeFile(path.join(dir, "keys", "se-2.json"), JSON.stringify(edit(original)));
        const opened = await strata(["--json", "key", "export-public", "se-2"]);
        expect(opened.code, opened.stdout).to.equal(6);
        expect(errorOf(opened).name).to.equal("KeystoreError");
      }
      // a P-256 key is refused for a transaction before any passphrase is asked
      const noPass = await strata(["--json", "--rpc", chain.url, "deploy", "--key", "se-1"], {
        STRATA_PASSPHRASE: undefined,
      });
      expect(noPass.code).to.equal(6);
      expect(errorOf(noPass).message).to.match(/P-256 device key/);
      await rm(path.join(dir, "keys", "se-1.json"));
      await rm(path.join(dir, "keys", "se-2.json"));
    });

    it("refuses an existing name, a wrong or missing passphrase, a bad name and a bad private key (exit 6)", async () => {
      for (const [args, env, message] of [
        [["key", "new", "deployer"], {}, /already exists/],
        [["key", "export-public", "deployer"], { STRATA_PASSPHRASE: "not the passphrase" }, /wrong passphrase/],
        [["key", "export-public", "deployer"], { STRATA_PASSPHRASE: undefined }, /no passphrase/],
        [["key", "export-public", "nobody"], {}, /no key nobody/],
        [["key", "new", "../escape"], {}, /key name/],
        [["key", "import", "bad"], { STRATA_PRIVATE_KEY: "0x1234" }, /not a 32-byte/],
      ] as const) {
        const run = await strata(["--json", ...args], env);
        expect(run.code, String(message)).to.equal(6);
        expect(errorOf(run)).to.include({ name: "KeystoreError", exitCode: 6 });
        expect(errorOf(run).message).to.match(message);
        const plain = await strata(args, env);
        expect(plain.code).to.equal(6);
        expect(plain.stderr.trim().split("\n")).to.have.length(1);
        expect(plain.stderr).to.match(message);
      }
    });

    it("creates a key once when two runs race for the same name, and names an unreadable path", async () => {
      const [a, b] = await Promise.all([
        strata(["--json", "key", "new", "raced"]),
        strata(["--json", "key", "new", "raced"]),
      ]);
      expect([a.code, b.code].sort()).to.deep.equal([0, 6]);
      const winner = json(a.code === 0 ? a : b) as { address: string };
      const listed = json(await strata(["--json", "key", "list"])) as { keys: { name: string; address: string }[] };
      expect(listed.keys.find((k) => k.name === "raced")!.address).to.equal(winner.address);
      const folder = await mkdtemp(path.join(tmpdir(), "strata-not-a-file-"));
      const run = await strataIn(dir)(["--json", "--rpc", chain.url, "--deployments", folder, "status"]);
      expect(run.code).to.equal(3);
      expect(errorOf(run).message).to.match(/cannot be read \(EISDIR\)/);
      await rm(folder, { recursive: true, force: true });
    });
  });

  describe("deploy and status", () => {
    it("deploys once per chain, records it, and leaves a recorded deployment as it is", async () => {
      const first = await strata([
        "--json",
        "--rpc",
        chain.url,
        "deploy",
        "--key",
        "deployer",
        "--full-node-approvals",
        "3",
      ]);
      expect(first.code, first.stderr).to.equal(0);
      const deployed = json(first) as {
        deployed: boolean;
        chainId: string;
        contracts: Record<string, { address: string }>;
      };
      expect(deployed.deployed).to.equal(true);
      expect(Object.keys(deployed.contracts).sort()).to.deep.equal(["AccessTokens", "DataAnchor", "DeviceRegistry"]);
      const recorded = JSON.parse(await readFile(path.join(dir, "deployments.json"), "utf8")) as {
        chains: Record<string, { contracts: Record<string, { address: string }> }>;
      };
      expect(recorded.chains["31337"]!.contracts.DeviceRegistry!.address).to.equal(
        deployed.contracts.DeviceRegistry!.address,
      );
      const nonce = await chain.provider.getTransactionCount("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
      const again = await strata(["--json", "--rpc", chain.url, "deploy", "--key", "deployer"]);
      expect(json(again)).to.include({ deployed: false });
      expect(await chain.provider.getTransactionCount("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")).to.equal(nonce);
      const status = json(await strata(["--json", "--rpc", chain.url, "status"])) as {
        chainId: string;
        contracts: { name: string; code: boolean; count: number }[];
      };
      expect(status.chainId).to.equal("31337");
      expect(status.contracts.map((c) => [c.name, c.code, c.count])).to.deep.equal([
        ["DeviceRegistry", true, 0],
        ["DataAnchor", true, 0],
        ["AccessTokens", true, 0],
      ]);
      const human = await strata(["--rpc", chain.url, "status"]);
      expect(human.stdout).to.match(/^chain 31337 at /);
    });

    it("names a wrong network, a chain without the deployment, a reset chain and bad options", async () => {
      const down = await strata(["--json", "--rpc", "http://127.0.0.1:1", "status"]);
      expect(down.code).to.equal(4);
      expect(errorOf(down)).to.include({ name: "TransportError" });
      // a node that takes the connection and never answers: a deadline, not a hang
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      try {
        const port = (silent.address() as AddressInfo).port;
        const hung = await strata(["--json", "--rpc", `http://127.0.0.1:${port}`, "status"]);
        expect(hung.code).to.equal(4);
        expect(errorOf(hung).message).to.match(/no JSON-RPC node answers/);
      } finally {
        silent.close();
      }
      const notUrl = await strata(["--rpc", "ftp://x", "status"]);
      expect(notUrl.code).to.equal(4);
      const other = await startAnvil(31338n);
      try {
        const missing = await strata(["--json", "--rpc", other.url, "status"]);
        expect(missing.code).to.equal(4);
        expect(errorOf(missing).message).to.match(/no Strata deployment for chain 31338/);
      } finally {
        await other.stop();
      }
      // the recorded chain is reset: the file's addresses hold no code any more
      const file = path.join(dir, "deployments.json");
      const saved = await readFile(file, "utf8");
      await chain.restart({ fresh: true });
      try {
        const reset = await strata(["--json", "--rpc", chain.url, "deploy", "--key", "deployer"]);
        expect(reset.code).to.equal(4);
        expect(errorOf(reset)).to.include({ name: "NoCodeError" });
        const redeployed = await strata(["--json", "--rpc", chain.url, "deploy", "--key", "deployer", "--force"]);
        expect(redeployed.code, redeployed.stderr).to.equal(0);
      } finally {
        await writeFile(file, saved);
      }
      const badRule = await strata([
        "--rpc",
        chain.url,
        "deploy",
        "--key",
        "deployer",
        "--force",
        "--epoch-length",
        "x",
      ]);
      expect(badRule.code).to.equal(3);
      expect(badRule.stderr).to.match(/--epoch-length: expected a non-negative integer/);
      const refused = await strata([
        "--json",
        "--rpc",
        chain.url,
        "deploy",
        "--key",
        "deployer",
        "--force",
        "--full-node-approvals",
        "0",
      ]);
      expect(refused.code).to.equal(5);
      expect(errorOf(refused).message).to.match(/RegistryInvalidConfig/);
      await writeFile(file, "{ not json");
      const damaged = await strata(["--json", "--rpc", chain.url, "status"]);
      expect(damaged.code).to.equal(3);
      expect(errorOf(damaged).message).to.match(/not JSON/);
      await writeFile(file, saved);
    });

    it("answers an unknown command or option with exit 2 and help on stderr", async () => {
      const unknown = await strata(["bogus"]);
      expect(unknown.code).to.equal(2);
      expect(unknown.stderr).to.match(/unknown command 'bogus'/);
      const missing = await strata(["--json", "deploy"]);
      expect(missing.code).to.equal(2);
      expect(errorOf(missing)).to.include({ name: "UsageError", exitCode: 2 });
      const help = await strata(["deploy", "--help"]);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.match(/Example:\n {2}\$ strata deploy/);
    });

    it("shows an example in the help of every command, and every command has a --json schema", async () => {
      const { program } = createProgram({ stdout: () => {}, stderr: () => {}, isTty: false });
      const leaves: string[] = [];
      const walk = (command: Command, path: readonly string[]) => {
        if (command.commands.length === 0) leaves.push(path.join(" "));
        for (const sub of command.commands) walk(sub, [...path, sub.name()]);
      };
      walk(program, []);
      expect(leaves.length).to.be.greaterThan(25);
      const missing: string[] = [];
      for (const leaf of leaves) {
        const help = await strata([...leaf.split(" "), "--help"]);
        if (help.code !== 0 || !/Examples?:\n {2}\$ .*strata /.test(help.stdout)) missing.push(leaf);
      }
      expect(missing, "commands without an example").to.deep.equal([]);
      expect(leaves.filter((leaf) => !(leaf in OUTPUT_SCHEMAS))).to.deep.equal([]);
    });
  });
});
