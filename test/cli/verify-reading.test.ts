/**
 * `strata verify` as a child process on a base station's reading bundle, against anvil: Strata
 * deployed with `strata deploy`, a base station registered and admitted, the NB-IoT data path run
 * in the test (a node's readings confirmed, sealed, signed and anchored from the station's key),
 * and the reading's bundle written for the command. It prints each check and the state (anchored,
 * final with `--confirmations 1`), compares the PKG key given with `--pkg-key`, names the check a
 * tampered bundle fails (exit 7), and refuses an option that is not for the bundle's kind (exit 3).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { type Signer, Wallet } from "ethers";

import { type Hex, toHex } from "../../sdk/index.ts";
import { DataAnchorClient, type ReadingBundle, serializeBundle } from "../../sdk/exports/anchoring.ts";
import { buildRegistration, DeviceRegistryClient, Kind, Label, minimalProfile } from "../../sdk/exports/registry.ts";
import { type NodeProcess, startAnvil } from "../../support/node-process.ts";
import { ANVIL_KEYS, errorOf, jsonOf, strataIn } from "../helpers/cli.ts";
import { enter, makeWorld, randomId, reading, sendAll, type World } from "../helpers/nbiot.ts";

interface Verdict {
  kind: string;
  state: string;
  checks: { check: string; ok: boolean; detail: string }[];
}

describe("strata verify on a station's reading bundle", function () {
  this.timeout(180_000);
  let dir: string;
  let chain: NodeProcess;
  let strata: ReturnType<typeof strataIn>;
  let w: World;
  let bundle: ReadingBundle;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-verify-reading-"));
    chain = await startAnvil();
    strata = strataIn(dir);
    const imported = await strata(["key", "import", "admin"], { STRATA_PRIVATE_KEY: ANVIL_KEYS[0] });
    expect(imported.code, imported.stderr).to.equal(0);
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
    const { contracts } = jsonOf(deployed) as { contracts: Record<string, { address: string }> };

    // a base station, Active: a coordination node appointed by the admin approves it
    const admin = new Wallet(ANVIL_KEYS[0], chain.provider);
    const registry = new DeviceRegistryClient(contracts.DeviceRegistry!.address, admin);
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
    const stationKey = new Wallet(ANVIL_KEYS[1], chain.provider);
    const stationId = await register(stationKey, Kind.BaseStation, Label.Full, 2n);
    await registry.connect(coordinatorKey).approve(coordinator, stationId);

    // the data path: a node's readings through the station, sealed, signed and anchored
    w = makeWorld();
    const now = Number((await chain.provider.getBlock("latest"))!.timestamp) * 1000;
    const node = w.node(randomId());
    const bs = w.station(stationId);
    await enter(node, bs, now);
    const seqs = sendAll(node, bs, [reading(19.5), reading(20.25), reading(41)], now);
    await bs.seal(now);
    await bs.anchorPending(new DataAnchorClient(contracts.DataAnchor!.address, stationKey));
    const reader = new DataAnchorClient(contracts.DataAnchor!.address, chain.provider);
    bundle = await reader.readingBundle(w.params, await bs.proof(node.id, seqs[2]!));
    await writeFile(path.join(dir, "reading.proof.json"), serializeBundle(bundle));
  });

  after(async () => {
    w?.cleanup();
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const verify = (file: string, ...extra: string[]) =>
    strata(["--json", "--rpc", chain.url, "verify", path.join(dir, file), ...extra]);

  it("prints each check and the state: anchored, then final with --confirmations 1", async () => {
    const run = await verify("reading.proof.json");
    expect(run.code, run.stderr).to.equal(0);
    const verdict = jsonOf(run) as unknown as Verdict;
    expect(verdict.kind).to.equal("reading");
    expect(verdict.state).to.equal("anchored");
    expect(verdict.checks.map((c) => [c.check, c.ok])).to.deep.equal([
      ["reading", true],
      ["leaf", true],
      ["merkle", true],
      ["station signature", true],
      ["chain", true],
      ["contract", true],
      ["code", true],
      ["transaction", true],
      ["anchor", true],
      ["on-chain proof", true],
      ["station", true],
      ["finality", true],
    ]);
    expect((jsonOf(await verify("reading.proof.json", "--confirmations", "1")) as unknown as Verdict).state).to.equal(
      "final",
    );
    const human = await strata(["--rpc", chain.url, "verify", path.join(dir, "reading.proof.json")]);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.match(/^reading bundle /m);
    expect(human.stdout).to.match(/^ok {3}station signature/m);
    expect(human.stdout).to.match(/^state: anchored$/m);
  });

  it("compares the PKG key given with --pkg-key, offline too", async () => {
    const pkg = toHex(w.params.backend.g2.toBytes(w.params.masterPublic));
    const trusted = jsonOf(await verify("reading.proof.json", "--offline", "--pkg-key", pkg)) as unknown as Verdict;
    expect(trusted.state).to.equal("offline");
    expect(trusted.checks.at(-1)).to.include({ check: "pkg", ok: true });
    const other = makeWorld();
    try {
      const stranger = toHex(other.params.backend.g2.toBytes(other.params.masterPublic));
      const run = await verify("reading.proof.json", "--pkg-key", stranger);
      expect(run.code).to.equal(7);
      const verdict = jsonOf(run) as unknown as Verdict;
      expect(verdict.checks.filter((c) => !c.ok).map((c) => c.check)).to.deep.equal(["pkg"]);
    } finally {
      other.cleanup();
    }
  });

  it("names the failing check of a tampered bundle (exit 7) and refuses options of other kinds (exit 3)", async () => {
    const flip = (h: string) => `${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}`;
    const tampered = JSON.parse(serializeBundle(bundle)) as { station: { signature: Hex } };
    tampered.station.signature = flip(tampered.station.signature) as Hex;
    await writeFile(path.join(dir, "tampered.json"), JSON.stringify(tampered));
    const run = await verify("tampered.json");
    expect(run.code).to.equal(7);
    const verdict = jsonOf(run) as unknown as Verdict;
    expect(verdict.state).to.equal("invalid");
    expect(verdict.checks.filter((c) => !c.ok).map((c) => c.check)).to.deep.equal(["station signature"]);
    const ledger = await verify("reading.proof.json", "--ledger", `0x${"12".repeat(20)}`);
    expect(ledger.code).to.equal(3);
    expect(errorOf(ledger).message).to.match(/--ledger applies to a summary bundle/);
  });
});
