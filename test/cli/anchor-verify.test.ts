/**
 * `strata anchor` and `strata verify` as child processes against anvil: files and JSON lines
 * anchored from an Active gateway, one bundle per record, each verified offline and on chain
 * (anchored, then final), and a tampered bundle, a wrong record, a bundle from another chain and a
 * rolled-back anchor each refused with the failing check named.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { type Signer, Wallet } from "ethers";

import type { Hex } from "../../sdk/index.ts";

import { buildRegistration, DeviceRegistryClient, Kind, Label, minimalProfile } from "../../sdk/exports/registry.ts";
import { type NodeProcess, startAnvil } from "../../support/node-process.ts";
import { ANVIL_KEYS, errorOf, jsonOf, strataIn } from "../helpers/cli.ts";

/** The fields of a bundle the tests tamper with. */
interface Bundle {
  record: { hash: string };
  merkle: { proof: string[] };
  anchor: { chainId: string; contract: string; transaction: string; block: number };
}

describe("strata anchor and strata verify", function () {
  this.timeout(180_000);
  let dir: string;
  let chain: NodeProcess;
  let strata: ReturnType<typeof strataIn>;
  let gatewayId: Hex;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-anchor-"));
    chain = await startAnvil();
    strata = strataIn(dir);
    for (const [name, key] of [
      ["admin", ANVIL_KEYS[0]],
      ["gateway", ANVIL_KEYS[1]],
    ] as const) {
      const run = await strata(["key", "import", name], { STRATA_PRIVATE_KEY: key });
      expect(run.code, run.stderr).to.equal(0);
    }
    const deployed = await strata([
      "--json",
      "--rpc",
      chain.url,
      "deploy",
      "--key",
      "admin",
      "--full-node-approvals",
      "1",
    ]);
    expect(deployed.code, deployed.stderr).to.equal(0);
    const registryAt = (jsonOf(deployed) as { contracts: { DeviceRegistry: { address: string } } }).contracts
      .DeviceRegistry.address;
    // an Active gateway, the shortest way: a coordination node appointed by the admin approves it
    const admin = new Wallet(ANVIL_KEYS[0], chain.provider);
    const registry = new DeviceRegistryClient(registryAt, admin);
    await registry.setLayerOperator("strata://test", admin.address);
    const register = async (key: Signer & { address: string }, kind: Kind, label: Label, localId: bigint) => {
      const req = buildRegistration({
        uuid: { layer: "strata://test", localId },
        key: key.address,
        kind,
        label,
        permissions: 1,
        profile: minimalProfile("test/entity"),
        deadline: 2n ** 40n,
      });
      return (await registry.register(req, await registry.signRegistration(key, req, admin.address))).id;
    };
    const coordinatorKey = Wallet.createRandom().connect(chain.provider);
    await (await admin.sendTransaction({ to: coordinatorKey.address, value: 10n ** 18n })).wait();
    const coordinator = await register(coordinatorKey, Kind.EdgeNode, Label.Coordination, 1n);
    await registry.appointCoordinator(coordinator);
    gatewayId = await register(new Wallet(ANVIL_KEYS[1], chain.provider), Kind.BaseStation, Label.Full, 2n);
    await registry.connect(coordinatorKey).approve(coordinator, gatewayId);
    await writeFile(path.join(dir, "a.csv"), "time,pm25\n1,12\n2,13\n");
    await writeFile(path.join(dir, "b.csv"), "time,pm25\n3,11\n");
  });

  after(async () => {
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const verify = (bundle: string, ...extra: string[]) =>
    strata(["--json", "--rpc", chain.url, "verify", path.join(dir, bundle), ...extra]);
  const stateOf = (run: Awaited<ReturnType<typeof verify>>) =>
    jsonOf(run) as { state: string; checks: { check: string; ok: boolean; detail: string }[] };

  it("anchors files, writes one bundle each, and each verifies offline and on chain", async () => {
    const run = await strata([
      "--json",
      "--rpc",
      chain.url,
      "anchor",
      "--key",
      "gateway",
      "--gateway",
      gatewayId,
      "--out",
      path.join(dir, "proofs"),
      path.join(dir, "a.csv"),
      path.join(dir, "b.csv"),
    ]);
    expect(run.code, run.stderr).to.equal(0);
    const anchored = jsonOf(run) as { leafCount: number; sequence: string; bundles: string[] };
    expect(anchored.leafCount).to.equal(2);
    expect(anchored.sequence).to.equal("1");
    expect(anchored.bundles.map((b) => path.basename(b))).to.deep.equal(["a.csv.proof.json", "b.csv.proof.json"]);
    const offline = stateOf(await verify("proofs/a.csv.proof.json", "--offline", "--record", path.join(dir, "a.csv")));
    expect(offline.state).to.equal("offline");
    expect(offline.checks.map((c) => [c.check, c.ok])).to.deep.equal([
      ["record", true],
      ["leaf", true],
      ["merkle", true],
    ]);
    const onChain = stateOf(await verify("proofs/b.csv.proof.json", "--record", path.join(dir, "b.csv")));
    expect(onChain.state).to.equal("anchored");
    expect(onChain.checks.every((c) => c.ok)).to.equal(true);
    expect(onChain.checks.map((c) => c.check)).to.include.members([
      "chain",
      "contract",
      "transaction",
      "anchor",
      "on-chain proof",
      "finality",
    ]);
    expect(stateOf(await verify("proofs/b.csv.proof.json", "--confirmations", "1")).state).to.equal("final");
    const human = await strata(["--rpc", chain.url, "verify", path.join(dir, "proofs/a.csv.proof.json")]);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.match(/^ok {3}on-chain proof/m);
    expect(human.stdout).to.match(/^state: anchored$/m);
  });

  it("anchors JSON lines from stdin, one bundle per line", async () => {
    const lines = '{"device":"a","pm25":12}\n{"device":"b","pm25":14}\n\n{"device":"c","pm25":9}\n';
    const run = await strata(
      [
        "--json",
        "--rpc",
        chain.url,
        "anchor",
        "--stdin",
        "--key",
        "gateway",
        "--gateway",
        gatewayId,
        "--out",
        path.join(dir, "lines"),
      ],
      {},
      lines,
    );
    expect(run.code, run.stderr).to.equal(0);
    expect((jsonOf(run) as { bundles: string[] }).bundles.map((b) => path.basename(b))).to.deep.equal([
      "line-1.proof.json",
      "line-2.proof.json",
      "line-4.proof.json",
    ]);
    expect(stateOf(await verify("lines/line-4.proof.json")).state).to.equal("anchored");
  });

  it("writes every bundle to one JSON-lines file with --jsonl, each line a bundle that verifies", async () => {
    const lines = '{"device":"a","pm25":21}\n{"device":"b","pm25":22}\n{"device":"c","pm25":23}\n';
    const anchor = (out: string) =>
      strata(
        ["--json", "--rpc", chain.url, "anchor", "--stdin", "--key", "gateway", "--gateway", gatewayId, "--jsonl", out],
        {},
        lines,
      );
    const before = await strata(["--json", "--rpc", chain.url, "status"]);
    const countOf = (run: Awaited<ReturnType<typeof strata>>) =>
      (jsonOf(run) as { contracts: { name: string; count?: number }[] }).contracts.find((c) => c.name === "DataAnchor")
        ?.count;
    // a file that cannot be written fails before anything is sent
    const nowhere = await anchor(path.join(dir, "no-such-folder", "bundles.jsonl"));
    expect(nowhere.code).to.equal(3);
    expect(errorOf(nowhere).message).to.match(/--jsonl .*no-such-folder.*cannot be written/);
    expect(countOf(await strata(["--json", "--rpc", chain.url, "status"]))).to.equal(countOf(before));

    // a file or folder already there is never written over, and nothing is sent
    await writeFile(path.join(dir, "earlier.jsonl"), "an earlier batch's bundles\n");
    for (const target of ["earlier.jsonl", "lines"]) {
      const refused = await anchor(path.join(dir, target));
      expect(refused.code, target).to.equal(3);
      expect(errorOf(refused).message).to.match(/already exists/);
    }
    expect(await readFile(path.join(dir, "earlier.jsonl"), "utf8")).to.equal("an earlier batch's bundles\n");
    // a refused key leaves no temporary file behind
    const wrongKey = await strata(
      [
        "--json",
        "--rpc",
        chain.url,
        "anchor",
        "--stdin",
        "--key",
        "gateway",
        "--gateway",
        gatewayId,
        "--jsonl",
        path.join(dir, "w.jsonl"),
      ],
      { STRATA_PASSPHRASE: "not the passphrase" },
      lines,
    );
    expect(wrongKey.code).to.equal(6);
    const both = await strata(
      ["--json", "anchor", "--stdin", "--key", "gateway", "--gateway", gatewayId, "--jsonl", "y.jsonl", "--out", "z"],
      {},
      lines,
    );
    expect(both.code).to.equal(3);
    expect(errorOf(both).message).to.match(/--out or --jsonl/);
    expect(countOf(await strata(["--json", "--rpc", chain.url, "status"]))).to.equal(countOf(before));

    const out = path.join(dir, "bundles.jsonl");
    const run = await anchor(out);
    expect(run.code, run.stderr).to.equal(0);
    expect((jsonOf(run) as { bundles: string[] }).bundles).to.deep.equal([out]);
    const written = (await readFile(out, "utf8")).trimEnd().split("\n");
    expect(written).to.have.length(3);
    const names = written.map((l) => (JSON.parse(l) as { record: { name: string } }).record.name);
    expect(names).to.deep.equal(["line-1", "line-2", "line-3"]);
    await writeFile(path.join(dir, "line-2.json"), written[1]!);
    expect(stateOf(await verify("line-2.json")).state).to.equal("anchored");
    // the file is never left half-written: no temporary file stays beside it
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
  });

  it("names the failing check of a tampered bundle, a wrong record and a bundle from another chain (exit 7)", async () => {
    const original = JSON.parse(await readFile(path.join(dir, "proofs/a.csv.proof.json"), "utf8")) as Bundle;
    const variant = async (name: string, edit: (b: Bundle) => void) => {
      const copy = structuredClone(original);
      edit(copy);
      await writeFile(path.join(dir, name), JSON.stringify(copy));
      return verify(name);
    };
    const flip = (h: string) => `${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}`;
    for (const [name, edit, failing] of [
      ["t-record.json", (b: Bundle) => (b.record.hash = flip(b.record.hash)), "leaf"],
      ["t-proof.json", (b: Bundle) => (b.merkle.proof[0] = flip(b.merkle.proof[0]!)), "merkle"],
      ["t-chain.json", (b: Bundle) => (b.anchor.chainId = "1"), "chain"],
      // another contract that would answer whatever a forger wants: only the deployment's DataAnchor is trusted
      ["t-contract.json", (b: Bundle) => (b.anchor.contract = `0x${"12".repeat(20)}`), "contract"],
      ["t-tx.json", (b: Bundle) => (b.anchor.transaction = flip(b.anchor.transaction)), "transaction"],
      ["t-block.json", (b: Bundle) => (b.anchor.block += 1), "transaction"],
    ] as const) {
      const run = await variant(name, edit);
      expect(run.code, name).to.equal(7);
      const verdict = stateOf(run);
      expect(verdict.state, name).to.equal("invalid");
      expect(verdict.checks.find((c) => !c.ok)?.check, name).to.equal(failing);
    }
    const wrongRecord = await verify("proofs/a.csv.proof.json", "--record", path.join(dir, "b.csv"));
    expect(wrongRecord.code).to.equal(7);
    expect(stateOf(wrongRecord).checks[0]).to.include({ check: "record", ok: false });
    await writeFile(path.join(dir, "bad.json"), "{");
    const malformed = await verify("bad.json");
    expect(malformed.code).to.equal(3);
    expect(errorOf(malformed).message).to.match(/not JSON/);
  });

  it("refuses to anchor from a key that is not the gateway's, naming the contract's error (exit 5)", async () => {
    const run = await strata([
      "--json",
      "--rpc",
      chain.url,
      "anchor",
      "--key",
      "admin",
      "--gateway",
      gatewayId,
      "--out",
      path.join(dir, "nope"),
      path.join(dir, "a.csv"),
    ]);
    expect(run.code).to.equal(5);
    expect(errorOf(run).message).to.match(/DataAnchorUnauthorizedKey/);
    const missing = await strata([
      "--rpc",
      chain.url,
      "anchor",
      "--key",
      "gateway",
      "--gateway",
      gatewayId,
      path.join(dir, "none.csv"),
    ]);
    expect(missing.code).to.equal(3);
    expect(missing.stderr).to.match(/none\.csv: cannot be read/);
  });

  const gatewayNonce = () => chain.provider.getTransactionCount(new Wallet(ANVIL_KEYS[1]).address);
  const anchorTo = (out: string, ...records: string[]) => [
    "--rpc",
    chain.url,
    "anchor",
    "--key",
    "gateway",
    "--gateway",
    gatewayId,
    "--out",
    out,
    ...records,
  ];

  it("proves --out writable before sending anything, and names it when it is not (exit 3)", async () => {
    const nonce = await gatewayNonce();
    const record = path.join(dir, "a.csv");
    for (const out of [record, path.join(record, "proofs")]) {
      const run = await strata(["--json", ...anchorTo(out, record)]);
      expect(run.code, run.stdout).to.equal(3);
      expect(errorOf(run)).to.include({ name: "InvalidInputError", exitCode: 3 });
      expect(errorOf(run).message).to.match(/^--out .*: not a writable folder \((EEXIST|ENOTDIR)\)$/);
      const plain = await strata(anchorTo(out, record));
      expect(plain.code).to.equal(3);
      expect(plain.stderr.trim().split("\n")).to.have.length(1);
    }
    expect(await gatewayNonce(), "nothing sent").to.equal(nonce);
  });

  it("refuses a stdin line that is not JSON, naming the line, before sending anything (exit 3)", async () => {
    const nonce = await gatewayNonce();
    const lines = '{"device":"a","pm25":12}\n\n{"device":"b",pm25:14}\n{"device":"c","pm25":9}\n';
    const run = await strata(["--json", ...anchorTo(path.join(dir, "not-json"), "--stdin")], {}, lines);
    expect(run.code, run.stdout).to.equal(3);
    expect(errorOf(run)).to.include({ name: "InvalidInputError" });
    expect(errorOf(run).message).to.match(/^stdin line 3: not JSON/);
    const plain = await strata(anchorTo(path.join(dir, "not-json"), "--stdin"), {}, lines);
    expect(plain.code).to.equal(3);
    expect(plain.stderr.trim().split("\n")).to.have.length(1);
    expect(await gatewayNonce(), "nothing sent").to.equal(nonce);
  });

  it("writes each bundle whole, and when one cannot be written after the anchor, names the transaction, root and sequence", async () => {
    const out = path.join(dir, "blocked");
    const [c, d] = [path.join(dir, "c.csv"), path.join(dir, "d.csv")];
    await writeFile(c, "time,pm25\n4,10\n");
    await writeFile(d, "time,pm25\n5,10\n");
    // a folder where d.csv's bundle should go: only that write fails, after the root is on chain
    await mkdir(path.join(out, "d.csv.proof.json"), { recursive: true });
    const nonce = await gatewayNonce();
    const run = await strata(["--json", ...anchorTo(out, c, d)]);
    expect(run.code, run.stdout).to.equal(3);
    expect(await gatewayNonce(), "the anchor was sent").to.equal(nonce + 1);
    const error = errorOf(run) as ReturnType<typeof errorOf> & {
      details: { transaction: string; root: string; sequence: string; written: string[] };
    };
    expect(error.name).to.equal("InvalidInputError");
    expect(error.details.transaction).to.match(/^0x[0-9a-f]{64}$/);
    expect(error.details.root).to.match(/^0x[0-9a-f]{64}$/);
    expect(error.details.sequence).to.match(/^[0-9]+$/);
    expect(error.message).to.include(error.details.transaction).and.include(error.details.root);
    expect(error.message).to.include(`sequence ${error.details.sequence}`);
    expect(error.message).to.match(/1 of 2 proof bundles could not be written: .*d\.csv\.proof\.json \(EISDIR\)/);
    expect(error.details.written.map((f) => path.basename(f))).to.deep.equal(["c.csv.proof.json"]);
    // the bundle that was written is whole and verifies; no temporary file is left behind
    expect((await readdir(out)).sort()).to.deep.equal(["c.csv.proof.json", "d.csv.proof.json"]);
    const written = JSON.parse(await readFile(path.join(out, "c.csv.proof.json"), "utf8")) as Bundle;
    expect(written.anchor.transaction).to.equal(error.details.transaction);
    expect(stateOf(await verify("blocked/c.csv.proof.json", "--record", c)).state).to.equal("anchored");
    await writeFile(d, "time,pm25\n5,11\n"); // another root: the contract takes a root once
    const plain = await strata(anchorTo(out, c, d));
    expect(plain.code).to.equal(3);
    expect(plain.stderr.trim().split("\n")).to.have.length(1);
    expect(plain.stderr).to.match(/^error: anchored \(transaction 0x[0-9a-f]{64}, root 0x[0-9a-f]{64}, sequence \d+/);
  });
});
