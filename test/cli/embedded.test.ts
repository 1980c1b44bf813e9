/**
 * Every `strata` subcommand once more, as child processes, against the embedded network
 * (`hardhat node`, what `npm run node` starts) rather than anvil: keys of both curves, deploy and
 * status, the way to Active, a secure-element device, access tokens, peer authentication,
 * anchoring and verifying, and the bad inputs an operator meets first (a wrong network, a wrong
 * passphrase, a revert, a tampered bundle).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import { ANVIL_KEYS, errorOf, jsonOf, strataIn } from "../helpers/cli.ts";

describe("strata against the embedded network (hardhat node)", function () {
  this.timeout(300_000);
  let dir: string;
  let chain: NodeProcess;
  let strata: ReturnType<typeof strataIn>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-embedded-"));
    chain = await startHardhatNode();
    strata = strataIn(dir);
  });

  after(async () => {
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const on = (args: readonly string[]) => strata(["--json", "--rpc", chain.url, ...args]);
  const ok = async (args: readonly string[]) => {
    const run = await on(args);
    expect(run.code, `${args.join(" ")}: ${run.stdout}${run.stderr}`).to.equal(0);
    return jsonOf(run);
  };
  const register = async (key: string, localId: number, kind: string, label: string) =>
    (
      (await ok([
        "device",
        "register",
        "--key",
        key,
        "--operator-key",
        "admin",
        "--layer",
        "strata://embedded",
        "--local-id",
        String(localId),
        "--kind",
        kind,
        "--label",
        label,
      ])) as { id: string }
    ).id;

  it("runs every subcommand on the embedded network", async () => {
    // hardhat node's development accounts are anvil's: the same mnemonic
    for (const [name, key] of [
      ["admin", ANVIL_KEYS[0]],
      ["gateway", ANVIL_KEYS[1]],
      ["coordinator", ANVIL_KEYS[2]],
    ] as const) {
      expect((await strata(["--json", "key", "import", name], { STRATA_PRIVATE_KEY: key })).code).to.equal(0);
    }
    await ok(["key", "new", "sensor"]);
    await ok(["key", "new", "meter", "--curve", "p256"]);
    expect(((await ok(["key", "list"])) as { keys: unknown[] }).keys).to.have.length(5);
    const admin = ((await ok(["key", "export-public", "admin"])) as { address: string }).address;

    const deployed = (await ok(["deploy", "--key", "admin", "--full-node-approvals", "1"])) as { deployed: boolean };
    expect(deployed.deployed).to.equal(true);
    expect(((await ok(["deploy", "--key", "admin"])) as { deployed: boolean }).deployed).to.equal(false);

    await ok(["layer", "set-operator", "strata://embedded", admin, "--key", "admin"]);
    const coordinator = await register("coordinator", 1, "edge-node", "coordination");
    await ok(["device", "appoint", coordinator, "--key", "admin"]);
    const gateway = await register("gateway", 2, "base-station", "full");
    await ok(["device", "approve", gateway, "--key", "coordinator", "--coordinator", coordinator]);
    const sensor = await register("sensor", 3, "device", "lightweight");
    await ok(["device", "approve", sensor, "--key", "coordinator", "--coordinator", coordinator, "--serving", gateway]);
    const meter = await register("meter", 4, "device", "lightweight");
    await ok(["device", "approve", meter, "--key", "coordinator", "--coordinator", coordinator, "--serving", gateway]);
    expect(await ok(["device", "show", sensor])).to.include({ status: "Active" });
    expect(
      ((await ok(["device", "history", meter])) as { history: { event: string }[] }).history.map((e) => e.event),
    ).to.include("P256KeyBound");
    const status = (await ok(["status"])) as { contracts: { name: string; code: boolean; count?: number }[] };
    expect(status.contracts.find((c) => c.name === "DeviceRegistry")).to.include({ code: true, count: 4 });

    // peer authentication: the secure-element device answers, the registry checks on chain
    const challenge = await on(["peer", "challenge", "--prover", meter, "--verifier", gateway]);
    await writeFile(path.join(dir, "challenge.json"), challenge.stdout);
    const answer = await on(["peer", "answer", path.join(dir, "challenge.json"), "--key", "meter"]);
    await writeFile(path.join(dir, "answer.json"), answer.stdout);
    expect(await ok(["peer", "verify", path.join(dir, "challenge.json"), path.join(dir, "answer.json")])).to.include({
      verified: true,
    });

    // access tokens
    const crew = ((await ok(["key", "export-public", "coordinator"])) as { address: string }).address;
    const token = ((await ok(["token", "mint", sensor, "--key", "admin"])) as { tokenId: string }).tokenId;
    // from the chain's own time: a start in the past begins at the block that schedules the shift
    // (the embedded network's clock runs ahead of the wall clock, one second per block)
    await ok(["token", "shift", token, "--holder", crew, "--from", "0", "--until", "+1h", "--key", "admin"]);
    expect(await ok(["access", "check", sensor, crew])).to.include({ access: true });
    const relief = ((await ok(["key", "export-public", "gateway"])) as { address: string }).address;
    await ok(["token", "hand-over", token, "--to", relief, "--until", "+2h", "--key", "admin"]);
    expect(((await ok(["token", "show", token])) as { holder: string }).holder).to.equal(relief);
    await ok(["token", "return", token, "--key", "gateway"]);
    await ok(["token", "revoke", token, "--key", "admin"]);

    // anchoring a file and verifying its proof
    const record = path.join(dir, "export.csv");
    await writeFile(record, "time,meter,kWh\n2026-12-07T10:00:00Z,m-1,12.5\n");
    await ok(["anchor", "--key", "gateway", "--gateway", gateway, "--out", path.join(dir, "proofs"), record]);
    const bundle = path.join(dir, "proofs", "export.csv.proof.json");
    const verified = (await ok(["verify", bundle, "--record", record, "--confirmations", "1"])) as { state: string };
    expect(verified.state).to.equal("final");

    // the rest of a device's life
    await ok(["device", "heartbeat", gateway, "--key", "gateway"]);
    await ok([
      "device",
      "report",
      sensor,
      "--reporter",
      gateway,
      "--evidence",
      `0x${"cd".repeat(32)}`,
      "--key",
      "gateway",
    ]);
    await ok(["key", "new", "sensor-2"]);
    await ok(["device", "rekey", sensor, "--new-key", "sensor-2", "--key", "admin"]);
    await ok(["device", "transfer", sensor, crew, "--key", "admin"]);
    await ok(["device", "revoke", sensor, "--key", "coordinator"]);
    expect(await ok(["device", "show", sensor])).to.include({ status: "Revoked" });

    // batch registration
    await ok(["key", "new", "b1"]);
    await writeFile(path.join(dir, "fleet.csv"), "key,local_id\nb1,50\n");
    const batch = (await ok([
      "device",
      "register-batch",
      path.join(dir, "fleet.csv"),
      "--operator-key",
      "admin",
      "--layer",
      "strata://embedded",
    ])) as { rows: { status: string }[] };
    expect(batch.rows.map((r) => r.status)).to.deep.equal(["registered"]);
  });

  it("gives one typed line for a revert, a wrong passphrase, a wrong network and a tampered bundle", async () => {
    const revert = await on(["device", "appoint", `0x${"11".repeat(32)}`, "--key", "gateway"]);
    expect(revert.code).to.equal(5);
    expect(errorOf(revert).name).to.equal("ContractRevertError");

    const wrongPass = await strata(
      ["--json", "--rpc", chain.url, "device", "heartbeat", `0x${"11".repeat(32)}`, "--key", "gateway"],
      {
        STRATA_PASSPHRASE: "not the passphrase",
      },
    );
    expect(wrongPass.code).to.equal(6);
    expect(errorOf(wrongPass).name).to.equal("KeystoreError");

    const nowhere = await strata(["--json", "--rpc", "http://127.0.0.1:9", "status"]);
    expect(nowhere.code).to.equal(4);

    const bundle = path.join(dir, "proofs", "export.csv.proof.json");
    const tampered = JSON.parse(await readFile(bundle, "utf8")) as { record: { hash: string } };
    tampered.record.hash = `0x${"00".repeat(32)}`;
    await writeFile(path.join(dir, "tampered.json"), JSON.stringify(tampered));
    const refused = await on(["verify", path.join(dir, "tampered.json")]);
    expect(refused.code).to.equal(7);
    expect((jsonOf(refused) as { state: string }).state).to.equal("invalid");
  });
});
