/**
 * The terminal path to Active, as child processes against anvil: a layer operator, a coordination
 * node appointed by the admin, a gateway it approves, a sensor it approves with the gateway as its
 * serving node; then the sensor's record and provenance timeline. Contract refusals are one line
 * naming the custom error (exit 5).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { deviceId } from "../../sdk/index.ts";
import { type NodeProcess, startAnvil } from "../../support/node-process.ts";
import { ANVIL_KEYS, errorOf, jsonOf, strataIn } from "../helpers/cli.ts";

describe("strata layer and strata device", function () {
  this.timeout(180_000);
  let dir: string;
  let chain: NodeProcess;
  let strata: ReturnType<typeof strataIn>;
  let sensor: string;
  let gateway: string;
  let coordinatorId: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-devices-"));
    chain = await startAnvil();
    strata = strataIn(dir);
    for (const [name, key] of [
      ["admin", ANVIL_KEYS[0]],
      ["gateway", ANVIL_KEYS[1]],
      ["coordinator", ANVIL_KEYS[2]],
    ] as const) {
      expect((await strata(["key", "import", name], { STRATA_PRIVATE_KEY: key })).code).to.equal(0);
    }
    expect((await strata(["key", "new", "sensor"])).code).to.equal(0);
    const deployed = await strata(["--rpc", chain.url, "deploy", "--key", "admin", "--full-node-approvals", "1"]);
    expect(deployed.code, deployed.stderr).to.equal(0);
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
        "strata://test",
        "--local-id",
        String(localId),
        "--kind",
        kind,
        "--label",
        label,
      ])) as { id: string }
    ).id;

  it("takes a gateway and a sensor to Active and shows the sensor's record and timeline", async () => {
    const admin = (jsonOf(await strata(["--json", "key", "export-public", "admin"])) as { address: string }).address;
    await ok(["layer", "set-operator", "strata://test", admin, "--key", "admin"]);
    const coordinator = await register("coordinator", 1, "edge-node", "coordination");
    await ok(["device", "appoint", coordinator, "--key", "admin"]);
    coordinatorId = coordinator;
    gateway = await register("gateway", 2, "base-station", "full");
    await ok(["device", "approve", gateway, "--key", "coordinator", "--coordinator", coordinator]);
    sensor = await register("sensor", 3, "device", "lightweight");
    await ok(["device", "approve", sensor, "--key", "coordinator", "--coordinator", coordinator, "--serving", gateway]);
    const shown = await ok(["device", "show", sensor]);
    expect(shown).to.include({ status: "Active", kind: "Device", label: "Lightweight", servingNode: gateway });
    expect((await ok(["device", "show", gateway])).status).to.equal("Active");
    const history = (await ok(["device", "history", sensor])) as { history: { event: string }[] };
    expect(history.history[0]!.event).to.equal("DeviceRegistered");
    expect(history.history.length).to.be.greaterThanOrEqual(2);
    const status = (await ok(["status"])) as { contracts: { name: string; count: number }[] };
    expect(status.contracts.find((c) => c.name === "DeviceRegistry")!.count).to.equal(3);
    const timeline = await strata(["--rpc", chain.url, "device", "history", sensor]);
    expect(timeline.stdout).to.match(/^\d{4}-\d\d-\d\dT.*block \d+ DeviceRegistered$/m);
  });

  it("mints an access token for the sensor, schedules and hands over shifts, returns and revokes it", async () => {
    const address = async (name: string) =>
      (jsonOf(await strata(["--json", "key", "export-public", name])) as { address: string }).address;
    const [crew1, crew2] = [await address("coordinator"), await address("gateway")];
    const minted = (await ok(["token", "mint", sensor, "--key", "admin"])) as { tokenId: string };
    const id = minted.tokenId;
    await ok(["token", "shift", id, "--holder", crew1, "--from", "now", "--until", "+1h", "--key", "admin"]);
    expect(await ok(["access", "check", sensor, crew1])).to.include({ access: true });
    expect(await ok(["access", "check", sensor, crew2])).to.include({ access: false });
    const handed = (await ok(["token", "hand-over", id, "--to", crew2, "--until", "+2h", "--key", "admin"])) as {
      previousHolder: string;
    };
    expect(handed.previousHolder).to.equal(crew1);
    expect(await ok(["access", "check", sensor, crew2])).to.include({ access: true });
    expect(((await ok(["token", "show", id])) as { holder: string }).holder).to.equal(crew2);
    await ok(["token", "return", id, "--key", "gateway"]);
    expect(await ok(["access", "check", sensor, crew2])).to.include({ access: false });
    await ok(["token", "revoke", id, "--key", "admin"]);
    expect(((await ok(["token", "show", id])) as { revoked: boolean }).revoked).to.equal(true);
    const notOwner = await on(["token", "mint", sensor, "--key", "coordinator"]);
    expect(notOwner.code).to.equal(5);
    const badTime = await on([
      "token",
      "shift",
      id,
      "--holder",
      crew1,
      "--from",
      "soon",
      "--until",
      "+1h",
      "--key",
      "admin",
    ]);
    expect(badTime.code).to.equal(3);
    expect(errorOf(badTime).message).to.match(/--from: expected unix seconds/);
  });

  it("takes times strictly (an ISO date-time needs Z or an offset) and names the option of a refused one", async () => {
    const crew = (jsonOf(await strata(["--json", "key", "export-public", "coordinator"])) as { address: string })
      .address;
    const { tokenId } = (await ok(["token", "mint", sensor, "--key", "admin"])) as { tokenId: string };
    const shift = (from: string, until: string) =>
      ["token", "shift", tokenId, "--holder", crew, `--from=${from}`, `--until=${until}`, "--key", "admin"] as const;
    for (const [from, until, option, value] of [
      ["2030-12-25", "2030-12-26T00:00:00Z", "--from", "2030-12-25"], // a date: in which zone?
      ["2030-12-25T10:00:00", "+1h", "--from", "2030-12-25T10:00:00"], // no zone: the local time of whom?
      ["1.5", "+1h", "--from", "1.5"],
      ["12/25/2030", "+1h", "--from", "12/25/2030"],
      ["now", "-5", "--until", "-5"],
      ["now", "2030-12-25T10:00:00.5Z", "--until", "2030-12-25T10:00:00.5Z"],
      ["now", "2030-02-29T10:00:00Z", "--until", "2030-02-29T10:00:00Z"],
      ["now", "1099511627776", "--until", "1099511627776"], // one past a shift's uint40
    ] as const) {
      const run = await on(shift(from, until));
      expect(run.code, `${from} ${until}: ${run.stdout}`).to.equal(3);
      const error = errorOf(run);
      expect(error.name).to.equal("InvalidInputError");
      expect(error.message).to.match(new RegExp(`^${option}: `));
      expect(error.message).to.include(JSON.stringify(value));
      const plain = await strata(["--rpc", chain.url, ...shift(from, until)]);
      expect(plain.code).to.equal(3);
      expect(plain.stderr.trim().split("\n")).to.have.length(1);
    }
    const accepted = (await ok(shift("2030-12-25T12:00:00+02:00", "2030-12-25T18:00:00Z"))) as {
      shift: { start: string; end: string };
    };
    expect(accepted.shift).to.include({
      start: String(Date.UTC(2030, 11, 25, 10) / 1000),
      end: String(Date.UTC(2030, 11, 25, 18) / 1000),
    });
  });

  it("authenticates a gateway to a peer from its registered key, and refuses another device's key", async () => {
    const challenge = await on(["peer", "challenge", "--prover", gateway, "--verifier", sensor]);
    expect(challenge.code).to.equal(0);
    await writeFile(path.join(dir, "challenge.json"), challenge.stdout);
    for (const [key, verified] of [
      ["gateway", true],
      ["sensor", false],
    ] as const) {
      const answer = await on(["peer", "answer", path.join(dir, "challenge.json"), "--key", key]);
      expect(answer.code, answer.stderr).to.equal(0);
      await writeFile(path.join(dir, `answer-${key}.json`), answer.stdout);
      const run = await on(["peer", "verify", path.join(dir, "challenge.json"), path.join(dir, `answer-${key}.json`)]);
      expect(run.code, key).to.equal(verified ? 0 : 7);
      expect(jsonOf(run)).to.include({ verified });
    }
  });

  it("registers a secure-element (P-256) device, authenticates it to a peer on chain, and re-keys to a P-256 key", async () => {
    const created = jsonOf(await strata(["--json", "key", "new", "meter", "--curve", "p256"])) as {
      address: string;
      curve: string;
      publicKey: { x: string; y: string };
    };
    expect(created.curve).to.equal("p256");
    const listed = jsonOf(await strata(["--json", "key", "list"])) as { keys: { name: string; curve: string }[] };
    expect(listed.keys.find((k) => k.name === "meter")?.curve).to.equal("p256");
    const exported = jsonOf(await strata(["--json", "key", "export-public", "meter"])) as Record<string, unknown>;
    expect(exported).to.deep.include({ curve: "p256", address: created.address, publicKey: created.publicKey });

    const registered = (await ok([
      "device",
      "register",
      "--key",
      "meter",
      "--operator-key",
      "admin",
      "--layer",
      "strata://test",
      "--local-id",
      "40",
    ])) as { id: string; curve: string; key: string };
    expect(registered).to.include({ curve: "p256", key: created.address });
    const meter = registered.id;
    await ok([
      "device",
      "approve",
      meter,
      "--key",
      "coordinator",
      "--coordinator",
      coordinatorId,
      "--serving",
      gateway,
    ]);
    expect(await ok(["device", "show", meter])).to.include({ key: created.address, status: "Active" });
    const events = ((await ok(["device", "history", meter])) as { history: { event: string }[] }).history;
    expect(events.map((e) => e.event)).to.include("P256KeyBound");

    const challenge = await on(["peer", "challenge", "--prover", meter, "--verifier", gateway]);
    await writeFile(path.join(dir, "challenge-meter.json"), challenge.stdout);
    expect((await strata(["key", "new", "meter-2", "--curve", "p256"])).code).to.equal(0);
    for (const [key, verified] of [
      ["meter", true],
      ["meter-2", false],
    ] as const) {
      const answer = await on(["peer", "answer", path.join(dir, "challenge-meter.json"), "--key", key]);
      expect(answer.code, answer.stderr).to.equal(0);
      expect(((jsonOf(answer) as { signature: string }).signature.length - 2) / 2).to.equal(128);
      await writeFile(path.join(dir, `answer-${key}.json`), answer.stdout);
      const run = await on([
        "peer",
        "verify",
        path.join(dir, "challenge-meter.json"),
        path.join(dir, `answer-${key}.json`),
      ]);
      expect(run.code, `${key}: ${run.stdout}${run.stderr}`).to.equal(verified ? 0 : 7);
      expect(jsonOf(run)).to.include({ verified });
    }

    // a P-256 key cannot send transactions: one line, the key's exit code
    const wrong = await on(["device", "heartbeat", meter, "--key", "meter"]);
    expect(wrong.code).to.equal(6);
    expect(errorOf(wrong)).to.include({ name: "KeystoreError" });
    expect(errorOf(wrong).message).to.match(/P-256 device key/);

    // a P-256 key is for a lightweight device: a full node with one could never send a heartbeat
    const fullNode = await on([
      "device",
      "register",
      "--key",
      "meter-2",
      "--operator-key",
      "admin",
      "--layer",
      "strata://test",
      "--local-id",
      "41",
      "--label",
      "full",
    ]);
    expect(fullNode.code).to.equal(5);
    expect(errorOf(fullNode).message).to.match(/RegistryP256NotLightweight/);
    const gatewayToP256 = await on(["device", "rekey", gateway, "--new-key", "meter-2", "--key", "admin"]);
    expect(gatewayToP256.code).to.equal(5);

    // the owner re-keys the meter to another P-256 key; the new key proves it is held
    await ok(["device", "rekey", meter, "--new-key", "meter-2", "--key", "admin"]);
    const rekeyed = ((await ok(["device", "history", meter])) as { history: { event: string }[] }).history;
    expect(rekeyed.filter((e) => e.event === "P256KeyBound")).to.have.length(2);
    expect(rekeyed.map((e) => e.event)).to.include("RekeyRequested");
  });

  it("registers a batch from CSV, reports each row, and resumes after a refused row is fixed", async () => {
    for (const name of ["s1", "s2", "s3"]) expect((await strata(["key", "new", name])).code).to.equal(0);
    const csv = path.join(dir, "fleet.csv");
    const batch = () => on(["device", "register-batch", csv, "--operator-key", "admin", "--layer", "strata://test"]);
    const rowsOf = (run: { stdout: string }) =>
      (jsonOf(run as never) as { rows: { row: number; key: string; status: string }[] }).rows.map((r) => [
        r.key,
        r.status,
      ]);
    // the gateway's key is in use: that row is refused, nothing is sent
    await writeFile(
      csv,
      "key,local_id,kind,label,class\ns1,20,device,lightweight,air/pm25\ngateway,21,device,lightweight,air/pm25\ns2,22,device,lightweight,air/pm25\n",
    );
    const refused = await batch();
    expect(refused.code).to.equal(5);
    expect(rowsOf(refused)).to.deep.equal([
      ["s1", "not-sent"],
      ["gateway", "refused: RegistryKeyInUse"],
      ["s2", "not-sent"],
    ]);
    await writeFile(
      csv,
      "key,local_id,kind,label,class\ns1,20,device,lightweight,air/pm25\ns3,21,device,lightweight,air/pm25\ns2,22,device,lightweight,air/pm25\n",
    );
    const fixed = await batch();
    expect(fixed.code, fixed.stderr).to.equal(0);
    expect(rowsOf(fixed).map((r) => r[1])).to.deep.equal(["registered", "registered", "registered"]);
    const again = await batch();
    expect(rowsOf(again).map((r) => r[1])).to.deep.equal([
      "already-registered",
      "already-registered",
      "already-registered",
    ]);
    await writeFile(csv, "key,local_id\ns1,x\n");
    const bad = await batch();
    expect(bad.code).to.equal(3);
    expect(errorOf(bad).message).to.match(/row 2, local_id/);
  });

  it("reads RFC 4180 quoted fields, and refuses two rows for one local_id or a JSON number that lost precision", async () => {
    for (const name of ["s4", "s5", "s6"]) expect((await strata(["key", "new", name])).code).to.equal(0);
    const admin = (jsonOf(await strata(["--json", "key", "export-public", "admin"])) as { address: string }).address;
    const batch = async (name: string, text: string) => {
      await writeFile(path.join(dir, name), text);
      return on([
        "device",
        "register-batch",
        path.join(dir, name),
        "--operator-key",
        "admin",
        "--layer",
        "strata://test",
      ]);
    };
    // as a spreadsheet writes it: a byte order mark, CRLF, every field quoted
    const quoted = await batch("quoted.csv", '\uFEFF"key","local_id","class"\r\n"s4","30","air/pm25"\r\n');
    expect(quoted.code, quoted.stdout + quoted.stderr).to.equal(0);
    expect((jsonOf(quoted) as { rows: unknown[] }).rows).to.deep.equal([
      { row: 2, key: "s4", id: deviceId({ layer: "strata://test", localId: 30n }).toLowerCase(), status: "registered" },
    ]);
    const nonce = await chain.provider.getTransactionCount(admin);
    for (const [name, text, message] of [
      ["twice.csv", "key,local_id\ns5,31\n\ns6,031\n", /twice\.csv rows 2 and 4: the same local_id 31$/],
      // a quoted field over two lines: the next row is row 4, as an editor shows it
      ["lines.csv", 'key,local_id,class\ns5,32,"air\npm25"\ns6,x,air\n', /lines\.csv row 4, local_id/],
      ["stray.csv", 'key,local_id\ns5,3"3\n', /stray\.csv row 2: a quote inside an unquoted field/],
      ["open.csv", 'key,local_id,class\ns5,33,"air\n', /open\.csv row 2: a quoted field is never closed/],
      ["after.csv", 'key,local_id,class\ns5,33,"air"x\n', /after\.csv row 2: text after a closing quote/],
      [
        "big.json",
        '[{"key":"s5","local_id":33},{"key":"s6","local_id":12345678901234567890}]',
        /big\.json row 2, local_id: .*loses? precision/,
      ],
      [
        "wide.json",
        '[{"key":"s5","local_id":33,"permissions":4294967296}]',
        /wide\.json row 1, permissions: expected an integer from 0 to 4294967295/,
      ],
      ["half.json", '[{"key":"s5","local_id":33,"permissions":1.5}]', /half\.json row 1, permissions/],
      ["class.csv", 'key,local_id,class\ns5,33,air/pm25\ns6,34,"air, outdoor"\n', /class\.csv row 3: .*classPath/],
      ["twice.json", '[{"key":"s5","local_id":"34"},{"key":"s6","local_id":34}]', /rows 1 and 2: the same local_id 34/],
    ] as const) {
      const run = await batch(name, text);
      expect(run.code, `${name}: ${run.stdout}`).to.equal(3);
      expect(errorOf(run)).to.include({ name: "InvalidInputError", exitCode: 3 });
      expect(errorOf(run).message).to.match(message);
      const plain = await strata([
        "--rpc",
        chain.url,
        "device",
        "register-batch",
        path.join(dir, name),
        "--operator-key",
        "admin",
        "--layer",
        "strata://test",
      ]);
      expect(plain.code).to.equal(3);
      expect(plain.stderr.trim().split("\n"), name).to.have.length(1);
    }
    expect(await chain.provider.getTransactionCount(admin), "nothing sent").to.equal(nonce);
    // a local id beyond 2^53 as a JSON string is exact; the widest permissions are taken
    const exact = await batch(
      "exact.json",
      '[{"key":"s5","local_id":"12345678901234567890"},{"key":"s6","local_id":35,"permissions":4294967295}]',
    );
    expect(exact.code, exact.stdout + exact.stderr).to.equal(0);
    const ids = (jsonOf(exact) as { rows: { id: string; status: string }[] }).rows;
    expect(ids.map((r) => r.status)).to.deep.equal(["registered", "registered"]);
    expect(ids[0]!.id).to.equal(deviceId({ layer: "strata://test", localId: 12345678901234567890n }).toLowerCase());
    expect(await ok(["device", "show", ids[1]!.id])).to.include({ permissions: 4294967295 });
  });

  it("sends a heartbeat, a report, a re-key request, a transfer and a revocation", async () => {
    await ok(["device", "heartbeat", gateway, "--key", "gateway"]);
    await ok([
      "device",
      "report",
      sensor,
      "--reporter",
      gateway,
      "--evidence",
      `0x${"ab".repeat(32)}`,
      "--key",
      "gateway",
    ]);
    expect(((await ok(["device", "show", sensor])) as { trust: number }).trust).to.be.lessThan(1000);
    expect((await strata(["key", "new", "sensor-2"])).code).to.equal(0);
    await ok(["device", "rekey", sensor, "--new-key", "sensor-2", "--key", "admin"]);
    const events = ((await ok(["device", "history", sensor])) as { history: { event: string }[] }).history.map(
      (e) => e.event,
    );
    expect(events).to.include.members(["MisbehaviourReported", "RekeyRequested"]);
    const coordinator = (jsonOf(await strata(["--json", "key", "export-public", "coordinator"])) as { address: string })
      .address;
    await ok(["device", "transfer", sensor, coordinator, "--key", "admin"]);
    expect(((await ok(["device", "show", sensor])) as { owner: string }).owner).to.equal(coordinator);
    await ok(["device", "revoke", sensor, "--key", "coordinator"]);
    expect(((await ok(["device", "show", sensor])) as { status: string }).status).to.equal("Revoked");
  });

  it("names a contract's refusal and bad input in one line", async () => {
    const again = await on([
      "device",
      "register",
      "--key",
      "sensor",
      "--operator-key",
      "admin",
      "--layer",
      "strata://test",
      "--local-id",
      "3",
    ]);
    expect(again.code).to.equal(5);
    expect(errorOf(again)).to.include({ name: "ContractRevertError" });
    const plain = await strata([
      "--rpc",
      chain.url,
      "device",
      "appoint",
      `0x${"11".repeat(32)}`,
      "--key",
      "coordinator",
    ]);
    expect(plain.code).to.equal(5);
    expect(plain.stderr.trim().split("\n")).to.have.length(1);
    const badId = await on(["device", "show", "0x1234"]);
    expect(badId.code).to.equal(3);
    expect(errorOf(badId).message).to.match(/id must be 32 bytes/);
    const unknown = await on(["device", "show", `0x${"22".repeat(32)}`]);
    expect(unknown.code).to.equal(3);
    expect(errorOf(unknown).message).to.match(/no device/);
    const badKind = await on([
      "device",
      "register",
      "--key",
      "sensor",
      "--operator-key",
      "admin",
      "--layer",
      "x",
      "--local-id",
      "9",
      "--kind",
      "toaster",
    ]);
    expect(badKind.code).to.equal(2);
  });
});
