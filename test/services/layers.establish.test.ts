/**
 * `strata layer establish` is all or nothing on disk, and `strata layer run` /
 * `strata edge run` refuse a bad configuration or key file in one line before
 * they start: a bad plan field, a chain that does not answer, a deployer that
 * cannot pay (after the key files were sealed: they are removed), a folder
 * already holding a deployment; a configuration field that is not known, a
 * wrong passphrase. Against a `hardhat node` process.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import { ANVIL_KEYS, jsonOf, strataIn } from "../helpers/cli.ts";

describe("strata layer establish and the services' start checks", function () {
  this.timeout(120_000);

  const dir = mkdtempSync(join(tmpdir(), "strata-establish-"));
  const strata = strataIn(dir);
  let chain: NodeProcess;

  const plan = (rpc: string, extra: Record<string, unknown> = {}) => ({
    layers: [
      { address: "strata://metro", rpc, members: 4 },
      {
        address: "strata://metro/north",
        rpc,
        members: 4,
        superior: "strata://metro",
        edges: [{ address: "strata://metro/north/gate-1", objects: [{ classPath: "Gate" }] }],
      },
    ],
    ...extra,
  });
  const writePlan = (name: string, value: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(value));
    return name;
  };
  const establish = (planFile: string, out: string, key = "deployer") =>
    strata(["layer", "establish", "--plan", planFile, "--out", join(dir, out), "--key", key]);

  before(async () => {
    chain = await startHardhatNode();
    expect((await strata(["key", "import", "deployer"], { STRATA_PRIVATE_KEY: ANVIL_KEYS[0] })).code).to.equal(0);
    expect((await strata(["key", "new", "poor"])).code).to.equal(0);
  });

  after(async () => {
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a bad plan field in one line naming the file and the field", async () => {
    const bad = plan(chain.url);
    const run = await establish(
      writePlan("bad.json", { ...bad, layers: [{ ...bad.layers[0], members: "four" }] }),
      "bad",
    );
    expect(run.code).to.equal(3);
    expect(run.stderr.trim().split("\n")).to.have.length(1);
    expect(run.stderr).to.match(/bad\.json: \/layers\/0\/members must be integer/);
    expect(existsSync(join(dir, "bad"))).to.equal(false);
  });

  it("writes nothing when a chain does not answer", async () => {
    const run = await establish(writePlan("down.json", plan("http://127.0.0.1:1")), "down");
    expect(run.code).to.equal(4);
    expect(run.stderr).to.match(/no JSON-RPC node answers/);
    expect(readdirSync(join(dir, "down"))).to.deep.equal([]);
  });

  it("removes every sealed key file when it fails part way (a deployer that cannot pay)", async () => {
    const run = await establish(writePlan("poor.json", plan(chain.url)), "poor", "poor");
    expect(run.code).to.not.equal(0);
    expect(run.stderr).to.match(/establishing failed: no file kept/);
    expect(readdirSync(join(dir, "poor"))).to.deep.equal([]);
  });

  it("establishes into an empty folder only, and the services refuse bad configurations and passphrases", async () => {
    const done = await strata([
      "--json",
      "layer",
      "establish",
      "--plan",
      writePlan("good.json", plan(chain.url)),
      "--out",
      join(dir, "good"),
      "--key",
      "deployer",
    ]);
    expect(done.code, done.stderr).to.equal(0);
    const doc = jsonOf(done) as { layers: { members: { keyFile: string }[] }[]; edges: { store: string }[] };
    const files = readdirSync(join(dir, "good")).sort();
    const expected = [
      "layers.json",
      ...doc.layers.flatMap((l) => l.members.map((m) => m.keyFile)),
      ...doc.edges.flatMap((e) => [e.store, `${e.store.replace(".objects.sqlite", "")}.edge.key`]),
    ].sort();
    expect(files).to.deep.equal(expected);
    const layersFile = readFileSync(join(dir, "good", "layers.json"), "utf8");

    const again = await establish("good.json", "good");
    expect(again.code).to.equal(3);
    expect(again.stderr).to.match(/already holds .*layers\.json: establish into an empty folder/);
    expect(readFileSync(join(dir, "good", "layers.json"), "utf8")).to.equal(layersFile);

    mkdirSync(join(dir, "configs"));
    const config = (name: string, value: unknown) => {
      const file = join(dir, "configs", name);
      writeFileSync(file, JSON.stringify(value));
      return file;
    };
    const base = { layers: join(dir, "good", "layers.json"), layer: "strata://metro", index: 0, listen: { port: 0 } };
    const unknown = await strata(["layer", "run", "--config", config("unknown.json", { ...base, colour: "red" })]);
    expect(unknown.code).to.equal(3);
    expect(unknown.stderr).to.match(/unknown\.json: \/colour is not a known field/);
    const noMember = await strata(["layer", "run", "--config", config("nine.json", { ...base, index: 9 })]);
    expect(noMember.code).to.equal(3);
    expect(noMember.stderr).to.match(/strata:\/\/metro has no member 9/);
    const wrong = await strata(["layer", "run", "--config", config("ok.json", base)], { STRATA_PASSPHRASE: "wrong" });
    expect(wrong.code).to.equal(3);
    expect(wrong.stderr).to.match(/member-0\.key/);
    const edge = { layers: base.layers, edge: "strata://metro/south", listen: { port: 0 } };
    const noEdge = await strata(["edge", "run", "--config", config("edge.json", edge)]);
    expect(noEdge.code).to.equal(3);
    expect(noEdge.stderr).to.match(/no edge layer strata:\/\/metro\/south/);
  });
});
