/**
 * `strata deploy` as child processes against anvil, where deploys meet: two at once on one chain
 * (one deploys, the other waits for the lock and finds it done), two at once on two chains writing
 * one file (both recorded), a lock held by a live process (waited for, then refused) or a dead one
 * (taken over), a deployment that stops part way (recorded, then resumed), and recorded addresses
 * whose code is not Strata's contract or is linked to another registry (refused until --force).
 */
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { hostname, tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { Contract, Wallet } from "ethers";

import { isRuntimeOf } from "../../cli/bytecode.ts";
import { isStale, STALE_AFTER_MS } from "../../cli/lock.ts";
import { DataAnchor } from "../../sdk/exports/artifacts.ts";
import { type NodeProcess, startAnvil } from "../../support/node-process.ts";
import { ANVIL_KEYS, type CliRun, errorOf, jsonOf, strataIn } from "../helpers/cli.ts";

const DEPLOYER = new Wallet(ANVIL_KEYS[0]).address;

interface Deployed {
  deployed: boolean;
  resumed: boolean;
  contracts: Record<string, { address: string }>;
}

interface Recorded {
  chains: Record<string, { deployer: string; contracts: Record<string, { address: string }> }>;
}

/** A JSON-RPC proxy to `target` that forwards the first `sends` transactions and refuses the rest. */
async function refusingProxy(target: string, sends: number): Promise<{ url: string; server: Server }> {
  let left = sends;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (b: Buffer) => (body += b.toString()));
    req.on("end", () => {
      void (async () => {
        const parsed = JSON.parse(body) as { id: unknown; method: string } | { id: unknown; method: string }[];
        const answers = [];
        for (const r of Array.isArray(parsed) ? parsed : [parsed]) {
          if (r.method === "eth_sendRawTransaction" && left-- <= 0) {
            answers.push({ jsonrpc: "2.0", id: r.id, error: { code: -32003, message: "refused by the test's proxy" } });
            continue;
          }
          const answer = await fetch(target, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(r),
          });
          answers.push((await answer.json()) as unknown);
        }
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(Array.isArray(parsed) ? answers : answers[0]));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** The pid of a process that has exited. */
const deadPid = () =>
  new Promise<number>((resolve) => {
    const child = execFile(process.execPath, ["-e", ""], () => resolve(child.pid!));
  });

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe("strata deploy, where deploys meet", function () {
  this.timeout(180_000);
  let dir: string;
  let chain: NodeProcess;
  let other: NodeProcess;
  let strata: ReturnType<typeof strataIn>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-deploy-"));
    [chain, other] = await Promise.all([startAnvil(), startAnvil(31338n)]);
    strata = strataIn(dir);
    const imported = await strata(["key", "import", "deployer"], { STRATA_PRIVATE_KEY: ANVIL_KEYS[0] });
    expect(imported.code, imported.stderr).to.equal(0);
  });

  after(async () => {
    await Promise.all([chain?.stop(), other?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const fileOf = (name: string) => path.join(dir, name);
  const deploy = (file: string, url: string, ...extra: string[]): Promise<CliRun> =>
    strata(["--json", "--deployments", file, "--rpc", url, "deploy", "--key", "deployer", ...extra]);
  const recorded = async (file: string) => JSON.parse(await readFile(file, "utf8")) as Recorded;
  const nonce = () => chain.provider.getTransactionCount(DEPLOYER);
  const deployedOf = (run: CliRun) => jsonOf(run) as unknown as Deployed;

  it("deploys once when two deploys start at once on one chain: the second waits for the lock", async () => {
    const file = fileOf("same.json");
    const before = await nonce();
    const [a, b] = await Promise.all([deploy(file, chain.url), deploy(file, chain.url)]);
    expect([a.code, b.code], a.stdout + b.stdout).to.deep.equal([0, 0]);
    expect([deployedOf(a).deployed, deployedOf(b).deployed].sort()).to.deep.equal([false, true]);
    expect(deployedOf(a).contracts).to.deep.equal(deployedOf(b).contracts);
    expect(await nonce(), "three contracts deployed, once").to.equal(before + 3);
    expect(await exists(`${file}.lock`), "the lock is removed").to.equal(false);
  });

  it("keeps both chains when two deploys on two chains write one file at once", async () => {
    const file = fileOf("two.json");
    const [a, b] = await Promise.all([deploy(file, chain.url), deploy(file, other.url)]);
    expect([a.code, b.code], a.stdout + b.stdout).to.deep.equal([0, 0]);
    const chains = (await recorded(file)).chains;
    expect(Object.keys(chains).sort()).to.deep.equal(["31337", "31338"]);
    expect(chains["31337"]!.contracts).to.deep.include(deployedOf(a).contracts);
    expect(chains["31338"]!.contracts).to.deep.include(deployedOf(b).contracts);
  });

  it("waits for a live process's lock, refuses after --lock-wait naming it, and takes over a dead or old one", async () => {
    const file = fileOf("locked.json");
    const lock = `${file}.lock`;
    const held = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), token: "x" });
    await writeFile(lock, held);
    const before = await nonce();
    const refused = await deploy(file, chain.url, "--lock-wait", "1");
    expect(refused.code, refused.stdout).to.equal(3);
    expect(errorOf(refused)).to.include({ name: "InvalidInputError" });
    expect(errorOf(refused).message).to.include(lock).and.include(`pid ${process.pid}`);
    const plain = await strata([
      "--deployments",
      file,
      "--rpc",
      chain.url,
      "deploy",
      "--key",
      "deployer",
      "--lock-wait",
      "0",
    ]);
    expect(plain.code).to.equal(3);
    expect(plain.stderr.trim().split("\n")).to.have.length(1);
    expect(await readFile(lock, "utf8"), "another's lock is left alone").to.equal(held);
    expect(await exists(file)).to.equal(false);
    expect(await nonce(), "nothing sent").to.equal(before);
    // the holder finishes while the deploy waits: it goes on
    const waiting = deploy(file, chain.url).then((run) => ({ run, at: Date.now() }));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await rm(lock);
    const released = Date.now();
    const { run, at } = await waiting;
    expect(run.code, run.stdout).to.equal(0);
    expect(deployedOf(run).deployed).to.equal(true);
    expect(at).to.be.greaterThanOrEqual(released);
    // a lock whose process is dead, or one older than the stale age from another host, is taken over
    for (const [name, holder, age] of [
      ["dead.json", { pid: await deadPid(), host: hostname(), since: new Date().toISOString(), token: "d" }, 0],
      ["old.json", { pid: process.pid, host: "elsewhere", since: "2026-01-01T00:00:00Z", token: "o" }, 3600],
    ] as const) {
      await writeFile(`${fileOf(name)}.lock`, JSON.stringify(holder));
      const then = new Date(Date.now() - age * 1000);
      await utimes(`${fileOf(name)}.lock`, then, then);
      const taken = await deploy(fileOf(name), chain.url, "--lock-wait", "0");
      expect(taken.code, `${name}: ${taken.stdout}`).to.equal(0);
      expect(await exists(`${fileOf(name)}.lock`), name).to.equal(false);
    }
  });

  it("records a deployment that stopped part way, exits with its error, and resumes it on the next run", async () => {
    const file = fileOf("partial.json");
    const proxy = await refusingProxy(chain.url, 1);
    let stopped: CliRun;
    try {
      stopped = await deploy(file, proxy.url);
    } finally {
      proxy.server.close();
    }
    expect(stopped.code, stopped.stdout).to.equal(4); // its cause: the node refused the transaction
    const error = errorOf(stopped) as ReturnType<typeof errorOf> & {
      details: { failed: string; deployed: Record<string, { address: string }> };
    };
    expect(error.name).to.equal("DeploymentIncompleteError");
    expect(error.details.failed).to.equal("DataAnchor");
    const registry = error.details.deployed.DeviceRegistry!.address;
    expect((await recorded(file)).chains["31337"]!.contracts).to.deep.equal({
      DeviceRegistry: error.details.deployed.DeviceRegistry,
    });
    const before = await nonce();
    const resumed = await deploy(file, chain.url);
    expect(resumed.code, resumed.stdout + resumed.stderr).to.equal(0);
    expect(deployedOf(resumed)).to.include({ deployed: true, resumed: true });
    expect(await nonce(), "only the missing two").to.equal(before + 2);
    const contracts = (await recorded(file)).chains["31337"]!.contracts;
    expect(Object.keys(contracts).sort()).to.deep.equal(["AccessTokens", "DataAnchor", "DeviceRegistry"]);
    expect(contracts.DeviceRegistry!.address).to.equal(registry);
    const anchor = new Contract(contracts.DataAnchor!.address, DataAnchor.abi, chain.provider);
    expect(await anchor.getFunction("registry").staticCall()).to.equal(registry);
    expect(deployedOf(await deploy(file, chain.url))).to.include({ deployed: false });
  });

  it("refuses recorded addresses whose code is not the contract, or that use another registry, until --force", async () => {
    const same = (await recorded(fileOf("same.json"))).chains["31337"]!;
    const elsewhere = await deploy(fileOf("another.json"), chain.url);
    expect(elsewhere.code, elsewhere.stdout).to.equal(0);
    const another = (await recorded(fileOf("another.json"))).chains["31337"]!;
    const before = await nonce();
    // the real deployment (its immutables filled in) is recognised as Strata's
    expect(deployedOf(await deploy(fileOf("same.json"), chain.url))).to.include({ deployed: false });
    for (const [name, contracts, problem] of [
      [
        "swapped.json",
        { ...same.contracts, DataAnchor: same.contracts.AccessTokens },
        /DataAnchor at 0x[0-9a-fA-F]{40} holds other code than DataAnchor's/,
      ],
      [
        "mixed.json",
        { ...same.contracts, DataAnchor: another.contracts.DataAnchor },
        /DataAnchor at 0x[0-9a-fA-F]{40} uses DeviceRegistry 0x[0-9a-fA-F]{40}, not the recorded/,
      ],
    ] as const) {
      const file = fileOf(name);
      await writeFile(file, JSON.stringify({ version: 1, chains: { "31337": { ...same, contracts } } }));
      const run = await deploy(file, chain.url);
      expect(run.code, `${name}: ${run.stdout}`).to.equal(4);
      expect(errorOf(run)).to.include({ name: "ConfigError", exitCode: 4 });
      expect(errorOf(run).message)
        .to.match(problem)
        .and.match(/use --force$/);
    }
    expect(await nonce(), "nothing sent").to.equal(before);
    await copyFile(fileOf("swapped.json"), fileOf("forced.json"));
    const forced = await deploy(fileOf("forced.json"), chain.url, "--force");
    expect(forced.code, forced.stdout).to.equal(0);
    expect(deployedOf(forced).deployed).to.equal(true);
  });
});

describe("strata deploy's checks (pure)", () => {
  /** solc's metadata: a CBOR map (ipfs hash, solc version) and its length. */
  const metadata = (hash: string) => `a264697066735822${hash.repeat(34)}64736f6c6343080c1e0033`;
  // a runtime with one immutable (PUSH32 0 in the artifact), after a constructor, in creation code
  const template = `6080604052600436107f${"00".repeat(32)}5060016002`;
  const creation = `0x608060405234801561001057600080fd5b50610100806100206000396000f3fe${template}${metadata("11")}`;
  const filled = (word: string) => `0x6080604052600436107f${word}5060016002${metadata("22")}`;

  it("recognises a contract's runtime in its creation code, immutables filled and metadata aside", () => {
    expect(isRuntimeOf(filled("ab".repeat(32)), creation)).to.equal(true);
    expect(isRuntimeOf(filled("00".repeat(32)), creation)).to.equal(true);
    // compiled without metadata: the runtime ends the creation code
    const bare = `0x6080604052600436107f${"ab".repeat(32)}5060016002`;
    expect(isRuntimeOf(bare, creation.slice(0, -metadata("11").length)), "no metadata").to.equal(true);
    expect(isRuntimeOf(bare, creation), "metadata expected").to.equal(false);
  });

  it("refuses any other code", () => {
    expect(isRuntimeOf(filled("ab".repeat(32)).replace("5060016002", "5060016003"), creation)).to.equal(false);
    expect(isRuntimeOf(filled("ab".repeat(32)).replace("600436", "600536"), creation)).to.equal(false);
    expect(isRuntimeOf(`${filled("ab".repeat(32)).slice(0, -4)}`, creation)).to.equal(false);
    expect(isRuntimeOf("0x", creation)).to.equal(false);
    expect(isRuntimeOf("0x6080604052", creation)).to.equal(false);
  });

  it("takes a lock over when its process is dead on this host, or when it is older than the stale age", () => {
    const alive = (pid: number) => pid === 1;
    expect(isStale({ pid: 1, host: "here", ageMs: 0 }, "here", alive)).to.equal(false);
    expect(isStale({ pid: 2, host: "here", ageMs: 0 }, "here", alive)).to.equal(true);
    expect(isStale({ pid: 2, host: "there", ageMs: 0 }, "here", alive), "another host's pid").to.equal(false);
    expect(isStale({ ageMs: 1000 }, "here", alive), "being written").to.equal(false);
    expect(isStale({ pid: 1, host: "here", ageMs: STALE_AFTER_MS + 1 }, "here", alive)).to.equal(true);
  });
});
