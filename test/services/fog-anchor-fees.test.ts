/**
 * The fog coordinator's fee cap on anchoring replacements (issue 15, "Chain faults"): on a
 * hardhat node that mines nothing, an anchoring transaction stays pending; its replacement would
 * need more than `maxFeePerGas`, so it is not signed (`FeeCapError`, reported once), and the kept
 * transaction stays pending as it was, unreplaced. Once the node mines, the same call finds the
 * batch anchored by that very transaction: nothing anchored twice.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { type Hex } from "../../sdk/core/bytes.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import { FeeCapError } from "../../sdk/errors.ts";
import { FogAnchorSender } from "../../services/fog/anchor-sender.ts";
import { type NodeProcess, startHardhatNode } from "../../support/node-process.ts";
import { dealtKey, groupSign, registerCluster } from "../helpers/fog-anchor.ts";
import type { Node } from "../helpers/registry.ts";
import { deployFogChain, type FogChain } from "../helpers/fog-services.ts";

describe("fog anchoring: the fee cap on replacements", function () {
  this.timeout(120_000);
  let node: NodeProcess;
  let chain: FogChain;
  let dir: string;
  const key = dealtKey(2, 3);

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "strata-fog-fees-"));
    node = await startHardhatNode();
    chain = await deployFogChain(node.url, node.provider, 3, 0);
    const asNode = (a: FogChain["cluster"]) => a as unknown as Node;
    await registerCluster(chain.anchor, asNode(chain.cluster), chain.members.map(asNode), key);
  });

  after(async function () {
    await node?.provider.send("evm_setAutomine", [true]).catch(() => undefined);
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("leaves a stuck transaction pending rather than replace it above maxFeePerGas, and anchors it once", async function () {
    const wallet = await chain.funded("1");
    const client = new DataAnchorClient(chain.anchor.address, wallet);
    const cluster = chain.cluster.id;
    const root = `0x${"ab".repeat(32)}` as Hex;
    const batch = await client.nextFogBatch(cluster, root, 4);
    const signature = groupSign(key, [1, 3], batch.message);
    // the cap is what a first transaction pays now: any replacement needs a quarter more
    const cap = (await node.provider.getFeeData()).maxFeePerGas!;
    const capped: FeeCapError[] = [];
    let replaced = 0;
    const file = join(dir, "anchor-tx.json");
    const sender = new FogAnchorSender({
      client,
      wallet,
      file,
      minedTimeoutMs: 300,
      maxReplacements: 3,
      maxFeePerGas: cap,
      onReplace: () => replaced++,
      onFeeCap: (e) => capped.push(e),
    });

    await node.provider.send("evm_setAutomine", [false]);
    let error: unknown;
    try {
      await sender.anchorFogBatch(cluster, root, 4, signature);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(FeeCapError);
    expect(capped).to.have.length(1);
    expect(capped[0]!.details.maxFeePerGas).to.equal(cap);
    expect(capped[0]!.details.needed as bigint).to.be.greaterThan(cap);
    expect(replaced).to.equal(0);

    // the first transaction is kept and still pending at the node, not replaced, within the cap
    expect(existsSync(file)).to.equal(true);
    const kept = JSON.parse(readFileSync(file, "utf8")) as { hash: Hex; nonce: number };
    const pending = await node.provider.getTransaction(kept.hash);
    expect(pending).to.not.equal(null);
    expect(pending!.blockNumber).to.equal(null);
    expect(pending!.maxFeePerGas! <= cap).to.equal(true);
    expect(await node.provider.getTransactionCount(wallet.address, "pending")).to.equal(kept.nonce + 1);
    expect((await client.head(cluster)) < batch.sequence).to.equal(true);

    // the node mines again: the same call finds the batch anchored by the kept transaction
    await node.provider.send("evm_setAutomine", [true]);
    await node.provider.send("evm_mine", []);
    const anchored = await sender.anchorFogBatch(cluster, root, 4, signature);
    expect(anchored.sequence).to.equal(batch.sequence);
    expect(anchored.hash).to.equal(kept.hash);
    expect(existsSync(file)).to.equal(false);
    expect(await client.head(cluster)).to.equal(batch.sequence);
    expect(replaced).to.equal(0);
  });
});
