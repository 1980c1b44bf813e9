/**
 * The package as an app gets it: `npm pack` builds it (JavaScript and `.d.ts` at pack time), an
 * empty app folder installs the tarball with only `ethers` beside it, and plain `node` — no
 * Hardhat, no TypeScript loader — runs docs/quickstart.md's snippets against anvil: deploy,
 * register, anchor, verify, history. Also: the tarball leaves tests, bench and scripts out, ships
 * the Solidity sources, and the entry points that need no SQLite do not load it.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";

import { type NodeProcess, startAnvil } from "../../support/node-process.ts";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");

/** The environment of a plain `node`: no loader or option inherited from the test runner. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  delete env.TS_NODE_PROJECT;
  return env;
}

/** The `js` code blocks of a Markdown document, in order. */
export function jsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe("the package, installed in an app", function () {
  this.timeout(600_000);
  let work: string;
  let app: string;
  let files: string[];
  let chain: NodeProcess;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "strata-pack-"));
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], {
      cwd: root,
      env: plainEnv(),
      maxBuffer: 64 << 20,
    });
    const packed = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string; files: { path: string }[] }[];
    files = packed[0]!.files.map((f) => f.path);
    app = path.join(work, "app");
    await run("mkdir", ["-p", app]);
    await writeFile(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    // the app's own ethers, as the quickstart installs it: the SDK takes it as a peer dependency
    const manifest = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const ethers = manifest.devDependencies.ethers!;
    await run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        path.join(work, packed[0]!.filename),
        `ethers@${ethers}`,
      ],
      { cwd: app, env: plainEnv(), maxBuffer: 64 << 20 },
    );
    chain = await startAnvil();
  });

  after(async () => {
    await chain?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("ships built JavaScript, types and the Solidity sources, and leaves tests, bench and scripts out", () => {
    expect(files).to.include("dist/sdk/index.js");
    expect(files).to.include("dist/sdk/index.d.ts");
    expect(files).to.include("dist/sdk/exports/registry.d.ts");
    expect(files).to.include("contracts/interfaces/IDeviceRegistry.sol");
    expect(files).to.include("contracts/registry/DeviceRegistry.sol");
    const leaked = files.filter((f) => /^(test|test-processes|bench|scripts|ignition|sdk|contracts\/mocks)\//.test(f));
    expect(leaked).to.deep.equal([]);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).to.deep.equal([]);
  });

  it("runs the quickstart with plain node: deploy, register, anchor, verify, history", async () => {
    const code = jsBlocks(await readFile(path.join(root, "docs/quickstart.md"), "utf8")).join("\n");
    await writeFile(path.join(app, "quickstart.js"), code);
    const { stdout } = await run(process.execPath, ["quickstart.js"], {
      cwd: app,
      env: plainEnv({ RPC_URL: chain.url }),
      timeout: 120_000,
    });
    expect(stdout).to.match(/^deployed 0x[0-9a-fA-F]{40} 0x[0-9a-fA-F]{40}$/m);
    expect(stdout).to.match(/^gateway Active$/m);
    expect(stdout).to.match(/^sensor Active$/m);
    expect(stdout).to.match(/^anchored root 0x[0-9a-f]{64} in block \d+$/m);
    expect(stdout).to.match(/^reading 3 verified: true \| altered reading verified: false$/m);
    const history = stdout.split("\n").filter((l) => l.startsWith("history "));
    expect(history.length).to.be.greaterThanOrEqual(2);
    expect(history[0]).to.match(/^history \d+ DeviceRegistered$/);
  });

  it("runs the quickstart's terminal path with the installed strata command: deploy, register, anchor, verify", async () => {
    const markdown = await readFile(path.join(root, "docs/quickstart.md"), "utf8");
    const terminal = markdown.slice(markdown.indexOf("## The same from a terminal"));
    const script = /^```sh\n([\s\S]*?)^```$/m.exec(terminal)?.[1];
    expect(script, "the terminal path's sh block").to.be.a("string");
    // in the app, where the package is installed: `npx strata` is its command
    await writeFile(path.join(app, "export.csv"), "time,meter,kWh\n2026-12-07T10:00:00Z,m-1,12.5\n");
    await writeFile(path.join(app, "terminal.sh"), `set -euo pipefail\n${script!}`);
    const { stdout } = await run("bash", ["terminal.sh"], {
      cwd: app,
      env: plainEnv({ STRATA_RPC_URL: chain.url, STRATA_KEYSTORE: path.join(work, "keys"), npm_config_yes: "false" }),
      timeout: 240_000,
      maxBuffer: 16 << 20,
    });
    expect(stdout).to.match(/anchored 1 records: root 0x[0-9a-f]{64}/);
    expect(stdout).to.match(/^state: (anchored|final)$/m);
  });

  it("loads SQLite only from the entry points whose roles keep a store", async () => {
    const entries = [
      "",
      "/registry",
      "/anchoring",
      "/access",
      "/crypto",
      "/artifacts",
      "/deploy",
      "/nbiot",
      "/fog",
      "/layers",
      "/stores",
    ];
    const loaded: Record<string, boolean> = {};
    for (const entry of entries) {
      const { stdout } = await run(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `await import("@strata-iot/sdk${entry}"); console.log(process.moduleLoadList.some((m) => /sqlite/i.test(m)));`,
        ],
        { cwd: app, env: plainEnv() },
      );
      loaded[entry || "."] = stdout.trim() === "true";
    }
    expect(loaded).to.deep.equal({
      ".": false,
      "/registry": false,
      "/anchoring": false,
      "/access": false,
      "/crypto": false,
      "/artifacts": false,
      "/deploy": false,
      "/nbiot": true,
      "/fog": true,
      "/layers": true,
      "/stores": true,
    });
  });

  it("shares the app's ethers (a peer dependency): one copy in the app", async () => {
    const { stdout } = await run("npm", ["ls", "ethers", "--all", "--parseable"], { cwd: app, env: plainEnv() });
    const copies = stdout.split("\n").filter((l) => /node_modules\/ethers$/.test(l.trim()));
    expect(copies).to.have.length(1);
  });

  it("installs the strata command (npx strata)", async () => {
    const { stdout } = await run("npx", ["--no-install", "strata", "--version"], { cwd: app, env: plainEnv() });
    expect(stdout.trim()).to.equal("0.1.0");
  });

  it("gives apps the ABI and bytecode of every deployable contract", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { artifacts } = await import("@strata-iot/sdk/artifacts");
         console.log(JSON.stringify(Object.fromEntries(Object.entries(artifacts).map(([n, a]) => [n, [a.abi.length > 0, /^0x[0-9a-f]{100,}$/.test(a.bytecode)]]))));`,
      ],
      { cwd: app, env: plainEnv() },
    );
    expect(JSON.parse(stdout)).to.deep.equal({
      DeviceRegistry: [true, true],
      DataAnchor: [true, true],
      AccessTokens: [true, true],
      SummaryLedger: [true, true],
    });
  });
});
