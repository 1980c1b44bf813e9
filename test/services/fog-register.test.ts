/**
 * `strata fog register` (issue 15) as an operator runs it, a child process against a hardhat
 * node: the cluster dealt by `strata fog deal` is registered in `DataAnchor` from its public file,
 * the members' keystore keys approving and the cluster's key sending; a second run is refused with
 * the typed conflict error and changes nothing; a bad public file is one line naming it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { recordDeployment } from "../../cli/deployments.ts";
import type { Hex } from "../../sdk/core/bytes.ts";
import { PUBLIC_FILE } from "../../services/fog/keys.ts";
import { type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import { errorOf, jsonOf, strataIn } from "../helpers/cli.ts";
import { deployFogChain, type FogChain } from "../helpers/fog-services.ts";

describe("strata fog register (process)", function () {
  this.timeout(180_000);
  let node: NodeProcess;
  let chain: FogChain;
  let dir: string;
  let strata: ReturnType<typeof strataIn>;
  let args: string[];

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-fog-register-"));
    node = await startHardhatNode();
    chain = await deployFogChain(node.url, node.provider, 3, 0);
    await recordDeployment(join(dir, "deployments.json"), {
      chainId: (await node.provider.getNetwork()).chainId,
      deployer: await chain.admin.getAddress(),
      contracts: { DataAnchor: { address: chain.anchor.address, txHash: `0x${"00".repeat(32)}`, block: 0 } },
    });
    strata = strataIn(dir);
    const keys: [string, string][] = [
      ["fog-cluster", chain.cluster.key.privateKey],
      ...chain.members.map((m, i): [string, string] => [`fog-${i + 1}`, m.key.privateKey]),
    ];
    for (const [name, key] of keys) {
      const imported = await strata(["key", "import", name], { STRATA_PRIVATE_KEY: key });
      expect(imported.code, imported.stderr).to.equal(0);
    }
    for (const out of ["cluster", "redealt"]) {
      const dealt = await strata(["fog", "deal", "--out", join(dir, out), "--members", "3", "--threshold", "2"]);
      expect(dealt.code, dealt.stderr).to.equal(0);
    }
    args = [
      "--cluster",
      chain.cluster.id,
      "--members",
      chain.members.map((m) => m.id).join(","),
      "--key",
      "fog-cluster",
      "--member-keys",
      "fog-1,fog-2,fog-3",
    ];
  });

  after(async function () {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const register = (publicFile: string, json = true, extra: string[] = []) =>
    strata([
      ...(json ? ["--json"] : []),
      "--rpc",
      node.url,
      "fog",
      "register",
      "--public",
      publicFile,
      ...args,
      ...extra,
    ]);

  it("registers the dealt cluster with its members' approvals and the dealt shares' proof", async function () {
    const publicFile = join(dir, "cluster", PUBLIC_FILE);
    const run = await register(publicFile);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const out = jsonOf(run) as { cluster: Hex; epoch: number; groupKey: Hex; threshold: number; members: Hex[] };
    const dealt = JSON.parse(readFileSync(publicFile, "utf8")) as { groupKey: Hex };
    expect(out).to.include({ cluster: chain.cluster.id.toLowerCase(), epoch: 1, threshold: 2 });
    expect(out.groupKey.toLowerCase()).to.equal(dealt.groupKey.toLowerCase());
    const held = await chain.anchor.fogCluster(chain.cluster.id);
    expect(held?.epoch).to.equal(1);
    expect(held?.groupKey.toLowerCase()).to.equal(dealt.groupKey.toLowerCase());
    expect(held?.members).to.deep.equal(chain.members.map((m) => m.id.toLowerCase()));
  });

  it("refuses a second run, and another dealing without --rekey, with the typed conflict error", async function () {
    const again = await register(join(dir, "cluster", PUBLIC_FILE));
    expect(again.code).to.not.equal(0);
    const error = errorOf(again) as { name: string; details?: { differs?: string[] } };
    expect(error.name).to.equal("ClusterRegistrationConflictError");
    expect(error.details?.differs).to.deep.equal([]);

    const other = await register(join(dir, "redealt", PUBLIC_FILE), false);
    expect(other.code).to.not.equal(0);
    expect(other.stderr.trim().split("\n")).to.have.length(1);
    expect(other.stderr).to.match(/ClusterRegistrationConflictError|registered with another key/);
    expect((await chain.anchor.fogCluster(chain.cluster.id))?.epoch).to.equal(1);
  });

  it("refuses a bad public file with one line naming it, sending nothing", async function () {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, '{"version": 1, "threshold": "two"}\n');
    const run = await register(bad, false);
    expect(run.code).to.equal(3);
    const lines = run.stderr.trim().split("\n");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include(bad);
    const missing = await register(join(dir, "nowhere.json"));
    expect(errorOf(missing).message).to.include(join(dir, "nowhere.json"));
    expect((await chain.anchor.fogCluster(chain.cluster.id))?.epoch).to.equal(1);
  });
});
