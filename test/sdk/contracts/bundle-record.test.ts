/**
 * `verifyBundle` on record bundles, on the in-process network: two review findings of the
 * transaction check. (a) An anchor transaction that is not mined yet makes the bundle `pending`
 * only when it is the anchor the bundle names: sent to the trusted `DataAnchor` with calldata
 * `anchor(gateway, root, leafCount)` of the bundle; any other known transaction is refused. (b)
 * One transaction may anchor the same root for several gateways (here two fog clusters' batches
 * sent through one forwarding contract): the bundle's `Anchored` entry is the one of its gateway.
 */
import { expect } from "chai";
import { type HDNodeWallet, Wallet } from "ethers";
import { network } from "hardhat";
import solc from "solc";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { buildTree, fromHex, type Hex } from "../../../sdk/index.ts";
import {
  DataAnchorClient,
  type RecordBundle,
  recordLeaf,
  verifyBundle,
  type BundleVerdict,
} from "../../../sdk/exports/anchoring.ts";
import { fogBatchMessage } from "../../../sdk/exports/fog.ts";
import { Kind } from "../../../sdk/exports/registry.ts";
import { DataAnchor__factory } from "../../../types/ethers-contracts/index.ts";
import { dealtKey, groupSign, registerCluster } from "../../helpers/fog-anchor.ts";
import { type City, coordinator, fullNode, type Node, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const deployRegistryFixture = registryFixture(ethers, ignition);

/** A contract that makes two calls in one transaction (compiled here: no contract of the package does that). */
const FORWARDER = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
contract Forwarder {
    function both(address target, bytes calldata first, bytes calldata second) external {
        (bool a, ) = target.call(first);
        (bool b, ) = target.call(second);
        require(a && b, "a call failed");
    }
}`;

function compiled(source: string, name: string): { abi: unknown[]; bytecode: string } {
  const input = {
    language: "Solidity",
    sources: { "Forwarder.sol": { content: source } },
    settings: { outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const c = output.contracts["Forwarder.sol"]![name]!;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

const hashOf = (label: string): Hex => ethers.id(`record ${label}`) as Hex;
const failing = (v: BundleVerdict): string[] => v.checks.filter((c) => !c.ok).map((c) => c.check);

describe("verifyBundle: record bundles and their anchor transaction", function () {
  this.timeout(120_000);
  let city: City;
  let anchorAddress: string;
  let chainId: bigint;
  let coordinators: Node[];
  let gateway: Node;

  before(async function () {
    city = await deployRegistryFixture();
    coordinators = [await coordinator(city), await coordinator(city)];
    gateway = await fullNode(city, coordinators, Kind.BaseStation);
    const { anchor } = (await ignition.deploy(DataAnchorModule, {
      parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
    })) as unknown as { anchor: { getAddress(): Promise<string> } };
    anchorAddress = await anchor.getAddress();
    chainId = (await ethers.provider.getNetwork()).chainId;
  });

  afterEach(async function () {
    await ethers.provider.send("evm_setAutomine", [true]);
  });

  /** A tree of records and the bundle of record `i` once its root is anchored at (sequence, transaction, block). */
  async function records(labels: readonly string[]) {
    const hashes = labels.map(hashOf);
    const tree = await buildTree(hashes.map((h) => fromHex(recordLeaf(h), "leaf")));
    const bundle = (
      i: number,
      at: { gateway: Hex; sequence: bigint; transaction: string; block: number },
    ): RecordBundle => ({
      format: "strata-proof",
      version: 1,
      kind: "record",
      record: { hash: hashes[i]! },
      leaf: recordLeaf(hashes[i]!),
      merkle: { root: tree.root, leafCount: tree.leafCount, proof: tree.proof(i) },
      anchor: {
        chainId,
        contract: anchorAddress,
        gateway: at.gateway,
        sequence: at.sequence,
        transaction: at.transaction.toLowerCase() as Hex,
        block: at.block,
      },
    });
    return { tree, bundle };
  }

  const verify = (bundle: RecordBundle, confirmations = 1) =>
    verifyBundle(bundle, { provider: ethers.provider, anchorContract: anchorAddress, confirmations });

  it("is pending only while its own anchor transaction waits; any other pending transaction is refused", async function () {
    const { tree, bundle } = await records(["a", "b", "c"]);
    const contract = DataAnchor__factory.connect(anchorAddress, gateway.key);
    const head = await ethers.provider.getBlockNumber();
    await ethers.provider.send("evm_setAutomine", [false]);
    const own = await contract.anchor(gateway.id, tree.root, tree.leafCount);
    const expected = { gateway: gateway.id, sequence: 1n, block: head + 1 };
    expect((await verify(bundle(0, { ...expected, transaction: own.hash }))).state).to.equal("pending");

    // a transfer, and an anchor of another root by the same gateway: known, not mined, not this anchor
    const transfer = await city.admin.sendTransaction({ to: Wallet.createRandom().address, value: 1n });
    const other = await records(["x", "y"]);
    const otherAnchor = await contract.anchor(gateway.id, other.tree.root, other.tree.leafCount);
    for (const tx of [transfer, otherAnchor]) {
      const verdict = await verify(bundle(0, { ...expected, transaction: tx.hash }));
      expect(verdict.state, tx.hash).to.equal("invalid");
      expect(failing(verdict), tx.hash).to.deep.equal(["transaction"]);
    }

    await networkHelpers.mine(1);
    await ethers.provider.send("evm_setAutomine", [true]);
    const receipt = (await own.wait())!;
    const mined = bundle(2, { ...expected, transaction: own.hash, block: receipt.blockNumber });
    expect((await verify(mined, 10)).state).to.equal("anchored");
  });

  it("is not pending for a forger's anchor the contract would refuse, though it names the bundle's call", async function () {
    const { tree, bundle } = await records(["forged-1", "forged-2"]);
    const asStranger = DataAnchor__factory.connect(anchorAddress, city.stranger);
    const head = await ethers.provider.getBlockNumber();
    await ethers.provider.send("evm_setAutomine", [false]);
    // the real gateway's id and the forger's root, from a key that is not the gateway's: a manual
    // gas limit gets it into the pool, where it waits like an honest anchor
    const forged = await asStranger.anchor(gateway.id, tree.root, tree.leafCount, { gasLimit: 500_000 });
    const verdict = await verify(
      bundle(0, { gateway: gateway.id, sequence: 1n, block: head + 1, transaction: forged.hash }),
    );
    expect(verdict.state).to.equal("invalid");
    expect(failing(verdict)).to.deep.equal(["transaction"]);
    expect(verdict.checks.find((c) => c.check === "transaction")!.detail).to.match(/would refuse it/);
    await networkHelpers.mine(1);
  });

  it("finds its gateway's Anchored entry in a transaction that anchors the same root for several", async function () {
    const client = new DataAnchorClient(anchorAddress, city.stranger);
    const clusters: { cluster: Node; key: ReturnType<typeof dealtKey> }[] = [];
    for (let i = 0; i < 2; i++) {
      const cluster = await fullNode(city, coordinators, Kind.FogNode);
      const member = await fullNode(city, coordinators, Kind.FogNode);
      const key = dealtKey(1, 1);
      await registerCluster(client, cluster, [member], key);
      clusters.push({ cluster, key });
    }
    const { tree, bundle } = await records(["p", "q", "r", "s"]);
    const iface = DataAnchor__factory.createInterface();
    const calls = clusters.map(({ cluster, key }) => {
      const message = fogBatchMessage({
        chainId,
        anchor: anchorAddress,
        cluster: cluster.id,
        sequence: 1n,
        root: tree.root,
        leafCount: tree.leafCount,
      });
      return iface.encodeFunctionData("anchorFogBatch", [
        cluster.id,
        tree.root,
        tree.leafCount,
        groupSign(key, [1], message),
      ]);
    });
    const { abi, bytecode } = compiled(FORWARDER, "Forwarder");
    const forwarder = await new ethers.ContractFactory(
      abi as never,
      bytecode,
      city.admin as unknown as HDNodeWallet,
    ).deploy();
    const sent = await (
      forwarder as unknown as {
        both(
          target: string,
          first: string,
          second: string,
        ): Promise<{ wait(): Promise<{ hash: string; blockNumber: number }> }>;
      }
    ).both(anchorAddress, calls[0]!, calls[1]!);
    const receipt = await sent.wait();
    // the second cluster's entry comes after the first's in the receipt: the root alone finds the wrong one
    const second = clusters[1]!.cluster.id;
    const verdict = await verify(
      bundle(3, { gateway: second, sequence: 1n, transaction: receipt.hash, block: receipt.blockNumber }),
    );
    expect(failing(verdict)).to.deep.equal([]);
    expect(verdict.state).to.equal("final");
  });
});
