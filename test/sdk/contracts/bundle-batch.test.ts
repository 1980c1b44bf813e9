/**
 * Proof bundles of a reading in a fog cluster's sensitive batch (seed 004), from the real
 * Secuchain flow on the in-process network: five fog nodes holding a DKG key (3 of 5) register
 * their cluster in `DataAnchor`, filter a device's readings without decrypting them, endorse the
 * batch with sign shares, and the cluster anchors it with the group signature. One bundle per
 * reading, checked offline and on chain (anchored, then final), and every part tampered with
 * fails its check.
 */
import { expect } from "chai";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import {
  type BatchBundle,
  batchBundles,
  type BundleVerdict,
  DataAnchorClient,
  parseBundle,
  serializeBundle,
  verifyBundle,
} from "../../../sdk/exports/anchoring.ts";
import { type Hex, toHex } from "../../../sdk/index.ts";
import { batchTree, decodeReading, FogCluster, fogBatchMessage, type FogNode } from "../../../sdk/exports/fog.ts";
import { Kind } from "../../../sdk/exports/registry.ts";
import { DataAnchor__factory } from "../../../types/ethers-contracts/index.ts";
import { type District, makeDistrict } from "../../helpers/fog.ts";
import { dealtKey, groupSign } from "../../helpers/fog-anchor.ts";
import { type City, coordinator, fullNode, type Node, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const deployRegistryFixture = registryFixture(ethers, ignition);

const flip = (h: string): string => `${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}`;
const failing = (v: BundleVerdict): string[] => v.checks.filter((c) => !c.ok).map((c) => c.check);

describe("proof bundles of a fog cluster's sensitive batch", function () {
  this.timeout(180_000);
  let d: District;
  let city: City;
  let clusterNode: Node;
  let anchorAddress: string;
  let nodes: FogNode[];
  let bundles: BatchBundle[];

  before(async function () {
    city = await deployRegistryFixture();
    const coordinators = [await coordinator(city), await coordinator(city)];
    const members: Node[] = [];
    for (let i = 0; i < 5; i++) members.push(await fullNode(city, coordinators, Kind.FogNode));
    clusterNode = await fullNode(city, coordinators, Kind.FogNode);
    const { anchor } = (await ignition.deploy(DataAnchorModule, {
      parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
    })) as unknown as { anchor: { getAddress(): Promise<string> } };
    anchorAddress = await anchor.getAddress();
    const client = new DataAnchorClient(anchorAddress, city.admin);
    const chainId = (await ethers.provider.getNetwork()).chainId;

    d = makeDistrict(3, 5);
    nodes = members.map((m, i) => d.fogNode(i + 1, { id: m.id, anchors: client }));
    const cluster = new FogCluster({
      id: clusterNode.id,
      deployment: { chainId, anchor: anchorAddress },
      commitments: d.cluster.commitments,
      scheme: d.scheme,
      members: nodes,
      anchor: client,
      directory: d.directory,
    });
    await cluster.register({ client, clusterKey: clusterNode.key, memberKeys: members.map((m) => m.key) });

    const device = d.device();
    const results = await nodes[0]!.ingest([
      device.read(12),
      device.read(87, { sensitive: true, alarm: true }),
      device.read(91, { sensitive: true }),
      device.read(93, { sensitive: true }),
    ]);
    expect(results.map((r) => r.ok && r.cls)).to.deep.equal(["normal", "sensitive", "sensitive", "sensitive"]);
    const anchored = (await cluster.anchorNext(nodes[0]!))!;
    expect(anchored.leafCount).to.equal(3);
    bundles = await new DataAnchorClient(anchorAddress, ethers.provider).batchBundles(clusterNode.id, anchored);
  });

  after(function () {
    d?.cleanup();
  });

  const verify = (b: BatchBundle, confirmations = 3) =>
    verifyBundle(b, { provider: ethers.provider, trusted: { DataAnchor: anchorAddress }, confirmations });

  it("makes one bundle per reading: the reading, its path, the group signature with the group key, the anchor", function () {
    expect(bundles).to.have.length(3);
    expect(bundles.map((b) => decodeReading(Buffer.from(b.reading.bytes.slice(2), "hex")).seq)).to.deep.equal([
      2, 3, 4,
    ]);
    for (const b of bundles) {
      expect(b.anchor.gateway).to.equal(clusterNode.id.toLowerCase());
      expect(b.anchor.sequence).to.equal(1n);
      expect(b.cluster.groupKey).to.have.length(2 + 512);
      expect(parseBundle(serializeBundle(b))).to.deep.equal(b);
    }
  });

  it("verifies offline, then on chain: anchored, then final once enough blocks hold it", async function () {
    const offline = await verifyBundle(bundles[1]!);
    expect(offline.state).to.equal("offline");
    expect(offline.checks.map((c) => [c.check, c.ok])).to.deep.equal([
      ["reading", true],
      ["leaf", true],
      ["merkle", true],
      ["group signature", true],
    ]);
    for (const b of bundles) {
      const onChain = await verify(b);
      expect(failing(onChain)).to.deep.equal([]);
      expect(onChain.checks.map((c) => c.check)).to.include.members([
        "transaction",
        "anchor",
        "on-chain proof",
        "cluster key",
      ]);
      expect(onChain.state).to.equal("anchored");
    }
    await networkHelpers.mine(3);
    expect((await verify(bundles[0]!)).state).to.equal("final");
  });

  it("is pending while its own anchorFogBatch waits to be mined, and no other transaction passes for it", async function () {
    const device = d.device();
    const readings = [device.read(70, { sensitive: true }), device.read(71, { sensitive: true })];
    const tree = await batchTree(readings);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const message = fogBatchMessage({
      chainId,
      anchor: anchorAddress,
      cluster: clusterNode.id,
      sequence: 2n,
      root: tree.root,
      leafCount: 2,
    });
    const key = { ...d.cluster, t: 3, n: 5, groupKey: new Uint8Array() };
    const signature = groupSign(key, [2, 4, 5], message);
    const contract = DataAnchor__factory.connect(anchorAddress, city.stranger);
    const head = await ethers.provider.getBlockNumber();
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      const sent = await contract.anchorFogBatch(clusterNode.id, tree.root, 2, signature);
      const transfer = await city.admin.sendTransaction({ to: city.stranger.address, value: 1n });
      const evidence = { sequence: 2n, root: tree.root, leafCount: 2, signature, readings, txHash: sent.hash };
      const [pending] = await batchBundles(
        evidence,
        { id: clusterNode.id, groupKey: bundles[0]!.cluster.groupKey, chainId, contract: anchorAddress },
        head + 1,
      );
      expect((await verify(pending!)).state).to.equal("pending");
      const other = await verify({ ...pending!, anchor: { ...pending!.anchor, transaction: transfer.hash as Hex } });
      expect(other.state).to.equal("invalid");
      expect(failing(other)).to.deep.equal(["transaction"]);
      await networkHelpers.mine(1);
      expect((await verify(pending!)).state).to.equal("anchored");
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
  });

  it("names the check each tampered part fails", async function () {
    const json = JSON.parse(serializeBundle(bundles[1]!)) as {
      reading: { bytes: string };
      merkle: { proof: string[] };
      cluster: { groupKey: string; signature: string };
      anchor: { chainId: string; contract: string; transaction: string; block: number; sequence: string };
    };
    type Json = typeof json;
    for (const [part, edit, check] of [
      ["the reading (what was proved)", (b: Json) => (b.reading.bytes = flip(b.reading.bytes)), "reading"],
      ["a path element", (b: Json) => (b.merkle.proof[0] = flip(b.merkle.proof[0]!)), "merkle"],
      ["the group signature", (b: Json) => (b.cluster.signature = flip(b.cluster.signature)), "group signature"],
      ["the sequence the cluster signed", (b: Json) => (b.anchor.sequence = "2"), "group signature"],
      ["the chain id", (b: Json) => (b.anchor.chainId = "1"), "chain"],
      ["the contract", (b: Json) => (b.anchor.contract = `0x${"12".repeat(20)}`), "contract"],
      ["the transaction", (b: Json) => (b.anchor.transaction = flip(b.anchor.transaction)), "transaction"],
      ["the block number", (b: Json) => (b.anchor.block += 1), "transaction"],
    ] as const) {
      const copy = structuredClone(json);
      edit(copy);
      const verdict = await verify(parseBundle(copy) as BatchBundle);
      expect(verdict.state, part).to.equal("invalid");
      expect(failing(verdict), part).to.include(check);
    }
    // a key of the forger's own signs the batch: offline it holds, on chain it is not the cluster's
    const forger = dealtKey(3, 5);
    const b = bundles[1]!;
    const message = fogBatchMessage({
      chainId: b.anchor.chainId,
      anchor: b.anchor.contract,
      cluster: b.anchor.gateway,
      sequence: b.anchor.sequence,
      root: b.merkle.root,
      leafCount: b.merkle.leafCount,
    });
    const forged = parseBundle({
      ...json,
      cluster: { groupKey: toHex(forger.groupKey), signature: toHex(groupSign(forger, [1, 2, 3], message)) },
    }) as BatchBundle;
    const verdict = await verify(forged);
    expect(verdict.state).to.equal("invalid");
    expect(failing(verdict)).to.deep.equal(["cluster key"]);
  });
});
