/**
 * DataAnchor: gateways anchor Merkle roots write-once, chained per gateway with
 * no gap or fork, authenticated live by the registry on every anchor; readings
 * verify against anchored roots with OpenZeppelin-compatible proofs; the gas of
 * an anchor against the floor its storage and registry call impose.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import type { BytesLike } from "ethers";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { type Hex } from "../../../sdk/index.ts";
import { Kind, Label, Status } from "../../../sdk/exports/registry.ts";
import type { DataAnchor } from "../../../types/ethers-contracts/index.ts";
import {
  type City,
  coordinator,
  fullNode,
  fundedKey,
  type Node,
  registerNode,
  registryFixture,
} from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, time } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

interface Anchoring {
  readonly city: City;
  readonly anchor: DataAnchor;
  readonly baseStation: Node;
  readonly fogNode: Node;
  readonly coordinators: readonly Node[];
}

async function deployAnchorFixture(): Promise<Anchoring> {
  const city = await deployRegistryFixture();
  const coordinators = [await coordinator(city), await coordinator(city)];
  const baseStation = await fullNode(city, coordinators, Kind.BaseStation);
  const fogNode = await fullNode(city, coordinators, Kind.FogNode);
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  return { city, anchor, baseStation, fogNode, coordinators };
}

const root = (label: string): Hex => ethers.id(`root: ${label}`) as Hex;
const EVIDENCE = ethers.id("evidence: forged block hashes");

/** A root from `label` with no zero byte, so that anchors' calldata costs the same whatever the root. */
function denseRoot(label: string): Hex {
  for (let n = 0; ; n++) {
    const r = root(`${label}/${n}`);
    if (!ethers.getBytes(r).includes(0)) return r;
  }
}

/** Sorted-pair keccak256, as OpenZeppelin's `MerkleProof` (commutative). */
function hashPair(a: BytesLike, b: BytesLike): string {
  const [x, y] = BigInt(ethers.hexlify(a)) < BigInt(ethers.hexlify(b)) ? [a, b] : [b, a];
  return ethers.keccak256(ethers.concat([x, y]));
}

/** Intrinsic calldata gas (EIP-2028): 4 per zero byte, 16 per other byte. */
function calldataGas(data: string): bigint {
  let gas = 0n;
  for (const byte of ethers.getBytes(data)) gas += byte === 0 ? 4n : 16n;
  return gas;
}

/** EIP-7623 floor of a transaction's gas (osaka): 21000 + 10 per token, a token per zero byte, 4 per other. */
function calldataFloor(data: string): bigint {
  let tokens = 0n;
  for (const byte of ethers.getBytes(data)) tokens += byte === 0 ? 1n : 4n;
  return 21_000n + 10n * tokens;
}

describe("DataAnchor", function () {
  let ctx: Anchoring;
  beforeEach(async function () {
    ctx = await loadFixture(deployAnchorFixture);
  });

  it("keeps the registry it was deployed with", async function () {
    expect(await ctx.anchor.registry()).to.equal(await ctx.city.registry.getAddress());
  });

  describe("anchor", function () {
    it("anchors a root from the gateway's key and records it", async function () {
      const { anchor, baseStation, fogNode } = ctx;
      const r = root("bs-1");
      const tx = anchor.connect(baseStation.key).anchor(baseStation.id, r, 128n);
      await expect(tx).to.emit(anchor, "Anchored").withArgs(baseStation.id, 1n, r, 128n);
      const receipt = await (await tx).wait();
      const block = await ethers.provider.getBlock(receipt!.blockNumber);
      const rec = await anchor.anchorOf(baseStation.id, r);
      expect(rec.gateway).to.equal(baseStation.id);
      expect(rec.sequence).to.equal(1n);
      expect(rec.time).to.equal(BigInt(block!.timestamp));
      expect(rec.leafCount).to.equal(128n);
      expect(await anchor.isAnchored(baseStation.id, r)).to.equal(true);
      expect(await anchor.isAnchored(fogNode.id, r)).to.equal(false);
      expect(await anchor.head(baseStation.id)).to.equal(1n);
    });

    it("returns the sequence it assigned", async function () {
      const { anchor, baseStation } = ctx;
      expect(await anchor.connect(baseStation.key).anchor.staticCall(baseStation.id, root("s"), 1n)).to.equal(1n);
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("s"), 1n);
      expect(await anchor.connect(baseStation.key).anchor.staticCall(baseStation.id, root("t"), 1n)).to.equal(2n);
    });

    it("stores any leaf count up to 2^64 - 1", async function () {
      const { anchor, baseStation } = ctx;
      const max = 2n ** 64n - 1n;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("max"), max);
      expect((await anchor.anchorOf(baseStation.id, root("max"))).leafCount).to.equal(max);
    });

    it("accepts fog nodes and edge nodes as gateways", async function () {
      const { anchor, fogNode, city, coordinators } = ctx;
      await expect(anchor.connect(fogNode.key).anchor(fogNode.id, root("fog"), 1n)).to.emit(anchor, "Anchored");
      const edge = await fullNode(city, coordinators, Kind.EdgeNode);
      await expect(anchor.connect(edge.key).anchor(edge.id, root("edge"), 1n)).to.emit(anchor, "Anchored");
    });

    it("refuses a caller that is not the gateway's device key", async function () {
      const { anchor, baseStation, fogNode, city } = ctx;
      await expect(anchor.connect(city.stranger).anchor(baseStation.id, root("x"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
        .withArgs(baseStation.id, city.stranger.address);
      // Another gateway's key cannot anchor in its name either.
      await expect(anchor.connect(fogNode.key).anchor(baseStation.id, root("x"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
        .withArgs(baseStation.id, fogNode.key.address);
      // Nor the gateway's owner.
      await expect(anchor.connect(city.operator).anchor(baseStation.id, root("x"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
        .withArgs(baseStation.id, city.operator.address);
    });

    it("refuses an unknown gateway", async function () {
      const { anchor, city } = ctx;
      const unknown = ethers.id("no such gateway");
      await expect(anchor.connect(city.stranger).anchor(unknown, root("x"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
        .withArgs(unknown, city.stranger.address);
    });

    it("refuses a gateway that is not active (pending, then revoked)", async function () {
      const { anchor, city, baseStation } = ctx;
      const pending = await registerNode(city, Label.Full, Kind.BaseStation);
      await expect(anchor.connect(pending.key).anchor(pending.id, root("p"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(pending.id, Status.Pending);

      await anchor.connect(baseStation.key).anchor(baseStation.id, root("before"), 1n);
      await city.registry.connect(city.operator).revoke(baseStation.id);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("after"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(baseStation.id, Status.Revoked);
    });

    it("stops a gateway in the transaction after the registry suspends or blocks it", async function () {
      const { anchor, city, baseStation, fogNode, coordinators } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("a1"), 1n);
      const reporters = [...coordinators, fogNode];
      for (const r of reporters) await city.registry.connect(r.key).report(r.id, baseStation.id, EVIDENCE);
      expect(await city.registry.statusOf(baseStation.id)).to.equal(Status.Suspended);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("a2"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(baseStation.id, Status.Suspended);

      // blocking takes two more independent reporters (each node counts once per trust case)
      for (const r of [await coordinator(city), await coordinator(city)])
        await city.registry.connect(r.key).report(r.id, baseStation.id, EVIDENCE);
      expect(await city.registry.statusOf(baseStation.id)).to.equal(Status.Blocked);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("a2"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(baseStation.id, Status.Blocked);
      expect(await anchor.head(baseStation.id)).to.equal(1n);
    });

    it("follows a re-key: the new key anchors, the old one no longer does", async function () {
      const { anchor, city, baseStation, coordinators } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("k1"), 1n);
      const newKey = await fundedKey(ethers, city.admin);
      const deadline = BigInt(await time.latest()) + 3600n;
      const sig = await city.client.signRekey(newKey, baseStation.id, deadline);
      await city.client.connect(city.operator).requestRekey(baseStation.id, newKey.address, deadline, sig);
      for (const c of coordinators) await city.client.connect(c.key).approve(c.id, baseStation.id);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("k2"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
        .withArgs(baseStation.id, baseStation.key.address);
      await expect(anchor.connect(newKey).anchor(baseStation.id, root("k2"), 1n))
        .to.emit(anchor, "Anchored")
        .withArgs(baseStation.id, 2n, root("k2"), 1n);
    });

    it("refuses an active node of kind Device", async function () {
      const { anchor, coordinators } = ctx;
      const device = coordinators[0]!; // an active coordination node, kind Device
      expect(await ctx.city.registry.statusOf(device.id)).to.equal(Status.Active);
      await expect(anchor.connect(device.key).anchor(device.id, root("d"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorNotGateway")
        .withArgs(device.id, Kind.Device);
    });

    it("refuses the zero root", async function () {
      const { anchor, baseStation } = ctx;
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, ethers.ZeroHash, 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorZeroRoot")
        .withArgs(baseStation.id);
    });

    it("refuses a zero leaf count", async function () {
      const { anchor, baseStation } = ctx;
      const r = root("empty");
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, r, 0n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorZeroLeafCount")
        .withArgs(r);
    });

    it("anchors a root once per gateway", async function () {
      const { anchor, baseStation } = ctx;
      const r = root("once");
      await anchor.connect(baseStation.key).anchor(baseStation.id, r, 4n);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, r, 9n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorRootExists")
        .withArgs(baseStation.id, r);
      expect((await anchor.anchorOf(baseStation.id, r)).leafCount).to.equal(4n);
      expect(await anchor.head(baseStation.id)).to.equal(1n);
    });

    it("does not let a root another gateway anchored first block a gateway", async function () {
      // Gateway A (here the fog node) sees B's root, in the mempool or while relaying, and anchors it first.
      const { anchor, baseStation, fogNode } = ctx;
      const r = root("front-run");
      await anchor.connect(fogNode.key).anchor(fogNode.id, r, 9n);
      expect(await anchor.isAnchored(baseStation.id, r)).to.equal(false);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, r, 4n))
        .to.emit(anchor, "Anchored")
        .withArgs(baseStation.id, 1n, r, 4n);
      const mine = await anchor.anchorOf(baseStation.id, r);
      expect([mine.gateway, mine.sequence, mine.leafCount]).to.deep.equal([baseStation.id, 1n, 4n]);
      const theirs = await anchor.anchorOf(fogNode.id, r);
      expect([theirs.gateway, theirs.sequence, theirs.leafCount]).to.deep.equal([fogNode.id, 1n, 9n]);
      expect(await anchor.head(baseStation.id)).to.equal(1n);
      expect(await anchor.head(fogNode.id)).to.equal(1n);
    });
  });

  describe("chaining", function () {
    it("numbers each gateway's anchors 1, 2, 3", async function () {
      const { anchor, baseStation } = ctx;
      const roots = [root("c1"), root("c2"), root("c3")];
      for (const [i, r] of roots.entries()) {
        await expect(anchor.connect(baseStation.key).anchor(baseStation.id, r, BigInt(i + 1)))
          .to.emit(anchor, "Anchored")
          .withArgs(baseStation.id, BigInt(i + 1), r, BigInt(i + 1));
        expect(await anchor.head(baseStation.id)).to.equal(BigInt(i + 1));
        expect((await anchor.anchorOf(baseStation.id, r)).sequence).to.equal(BigInt(i + 1));
      }
    });

    it("keeps independent chains per gateway", async function () {
      const { anchor, baseStation, fogNode } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("b1"), 1n);
      await expect(anchor.connect(fogNode.key).anchor(fogNode.id, root("f1"), 1n))
        .to.emit(anchor, "Anchored")
        .withArgs(fogNode.id, 1n, root("f1"), 1n);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("b2"), 1n))
        .to.emit(anchor, "Anchored")
        .withArgs(baseStation.id, 2n, root("b2"), 1n);
      await expect(anchor.connect(fogNode.key).anchor(fogNode.id, root("f2"), 1n))
        .to.emit(anchor, "Anchored")
        .withArgs(fogNode.id, 2n, root("f2"), 1n);
      expect(await anchor.head(baseStation.id)).to.equal(2n);
      expect(await anchor.head(fogNode.id)).to.equal(2n);
      expect((await anchor.anchorOf(fogNode.id, root("f2"))).gateway).to.equal(fogNode.id);
      expect((await anchor.anchorOf(baseStation.id, root("b2"))).gateway).to.equal(baseStation.id);
      expect((await anchor.anchorOf(baseStation.id, root("b1"))).gateway).to.equal(baseStation.id);
      expect((await anchor.anchorOf(fogNode.id, root("b1"))).sequence).to.equal(0n);
    });

    it("leaves no gap when refused anchors come in between", async function () {
      const { anchor, baseStation, city } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("g1"), 1n);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("g1"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorRootExists")
        .withArgs(baseStation.id, root("g1"));
      await expect(anchor.connect(city.stranger).anchor(baseStation.id, root("g2"), 1n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
        .withArgs(baseStation.id, city.stranger.address);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("g2"), 0n))
        .to.be.revertedWithCustomError(anchor, "DataAnchorZeroLeafCount")
        .withArgs(root("g2"));
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("g2"), 1n))
        .to.emit(anchor, "Anchored")
        .withArgs(baseStation.id, 2n, root("g2"), 1n);
    });

    it("resumes the chain where it stopped when a suspended gateway is reinstated", async function () {
      const { anchor, city, baseStation, fogNode, coordinators } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("r1"), 1n);
      for (const r of [...coordinators, fogNode]) {
        await city.registry.connect(r.key).report(r.id, baseStation.id, EVIDENCE);
      }
      for (const c of coordinators) await city.client.connect(c.key).approve(c.id, baseStation.id);
      expect(await city.registry.statusOf(baseStation.id)).to.equal(Status.Active);
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("r2"), 1n))
        .to.emit(anchor, "Anchored")
        .withArgs(baseStation.id, 2n, root("r2"), 1n);
    });

    it("records each anchor's own time", async function () {
      const { anchor, baseStation } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("t1"), 1n);
      await time.increase(3600);
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("t2"), 1n);
      const [a, b] = [
        await anchor.anchorOf(baseStation.id, root("t1")),
        await anchor.anchorOf(baseStation.id, root("t2")),
      ];
      expect(b.time - a.time >= 3600n).to.equal(true);
    });

    it("returns an all-zero record for a root never anchored", async function () {
      const rec = await ctx.anchor.anchorOf(ctx.baseStation.id, root("never"));
      expect([rec.gateway, rec.sequence, rec.time, rec.leafCount]).to.deep.equal([ethers.ZeroHash, 0n, 0n, 0n]);
      expect(await ctx.anchor.isAnchored(ctx.baseStation.id, root("never"))).to.equal(false);
    });
  });

  describe("verifyReading", function () {
    // StandardMerkleTree leaves: keccak256(keccak256(abi.encode(blockHash, index))). The contract
    // takes the once-hashed leaf, keccak256(abi.encode(values)), and hashes it the last time itself.
    const values: [string, bigint][] = Array.from({ length: 7 }, (_, i) => [ethers.id(`block ${i}`), BigInt(i)]);
    const tree = StandardMerkleTree.of(values, ["bytes32", "uint256"]);
    const once = (v: readonly unknown[]): string =>
      ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], v));
    /** The tree's nodes in OpenZeppelin's array form (node i has children 2i + 1 and 2i + 2). */
    const nodes = (t: StandardMerkleTree<[string, bigint]>): string[] => t.dump().tree;

    it("proves every leaf of an anchored tree", async function () {
      const { anchor, baseStation } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, tree.root, BigInt(values.length));
      for (const [i, v] of tree.entries()) {
        const leaf = ethers.keccak256(once(v));
        expect(leaf).to.equal(tree.leafHash(v));
        expect(await anchor.verifyReading(baseStation.id, tree.root, once(v), tree.getProof(i))).to.equal(true);
      }
    });

    it("rejects a tampered leaf or proof", async function () {
      const { anchor, baseStation } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, tree.root, BigInt(values.length));
      const leaf = once(values[3]!);
      const proof = tree.getProof(3);
      const tampered = once([ethers.id("forged block"), 3n]);
      expect(await anchor.verifyReading(baseStation.id, tree.root, tampered, proof)).to.equal(false);
      // The double-hashed leaf is the tree's node, not a reading: the contract hashes it once more.
      expect(await anchor.verifyReading(baseStation.id, tree.root, tree.leafHash(values[3]!), proof)).to.equal(false);
      const badProof = [...proof];
      badProof[0] = ethers.id("wrong sibling");
      expect(await anchor.verifyReading(baseStation.id, tree.root, leaf, badProof)).to.equal(false);
      expect(await anchor.verifyReading(baseStation.id, tree.root, leaf, proof.slice(1))).to.equal(false);
      expect(await anchor.verifyReading(baseStation.id, tree.root, leaf, tree.getProof(4))).to.equal(false);
    });

    it("rejects an inner node of an anchored tree as a reading, with its shorter proof", async function () {
      const { anchor, baseStation } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, tree.root, BigInt(values.length));
      const t = nodes(tree);
      // node 1 is an inner node (children 3 and 4) whose sibling is node 2: [node 2] takes it to the root
      expect(hashPair(t[1]!, t[2]!)).to.equal(tree.root);
      expect(await anchor.verifyReading(baseStation.id, tree.root, t[1]!, [t[2]!])).to.equal(false);
      expect(await anchor.verifyReading(baseStation.id, tree.root, t[2]!, [t[1]!])).to.equal(false);
      // node 4's children are leaves: one level up from them, with node 3 as its sibling's proof
      expect(await anchor.verifyReading(baseStation.id, tree.root, t[4]!, [t[3]!, t[2]!])).to.equal(false);
    });

    it("rejects the root itself with an empty proof", async function () {
      const { anchor, baseStation } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, tree.root, BigInt(values.length));
      expect(await anchor.verifyReading(baseStation.id, tree.root, tree.root, [])).to.equal(false);
      // a one-leaf tree's root is its leaf: its reading verifies with the empty proof
      const single = StandardMerkleTree.of([values[0]!], ["bytes32", "uint256"]);
      await anchor.connect(baseStation.key).anchor(baseStation.id, single.root, 1n);
      expect(await anchor.verifyReading(baseStation.id, single.root, once(values[0]!), [])).to.equal(true);
      expect(await anchor.verifyReading(baseStation.id, single.root, single.root, [])).to.equal(false);
    });

    it("rejects a proof longer than the anchored leaf count allows", async function () {
      const { anchor, baseStation, fogNode } = ctx;
      // 16 leaves: every proof has 4 siblings; anchored as 16 they verify, anchored as 8 (3 levels) they do not
      const many: [string, bigint][] = Array.from({ length: 16 }, (_, i) => [ethers.id(`deep ${i}`), BigInt(i)]);
      const deep = StandardMerkleTree.of(many, ["bytes32", "uint256"]);
      await anchor.connect(fogNode.key).anchor(fogNode.id, deep.root, 16n);
      await anchor.connect(baseStation.key).anchor(baseStation.id, deep.root, 8n);
      for (const [i, v] of deep.entries()) {
        expect(deep.getProof(i)).to.have.length(4);
        expect(await anchor.verifyReading(fogNode.id, deep.root, once(v), deep.getProof(i))).to.equal(true);
        expect(await anchor.verifyReading(baseStation.id, deep.root, once(v), deep.getProof(i))).to.equal(false);
      }
      // 7 leaves: proofs of 2 or 3 siblings (ceil(log2 7) = 3), never more
      const lengths = [...tree.entries()].map(([i]) => tree.getProof(i).length);
      expect(Math.max(...lengths)).to.equal(3);
    });

    it("rejects a valid proof against a root that is not anchored", async function () {
      const { anchor, baseStation } = ctx;
      const leaf = once(values[0]!);
      expect(await anchor.verifyReading(baseStation.id, tree.root, leaf, tree.getProof(0))).to.equal(false);
      // A one-leaf tree's root is its leaf: still not anchored.
      expect(await anchor.verifyReading(baseStation.id, ethers.keccak256(leaf), leaf, [])).to.equal(false);
    });

    it("rejects a valid proof against a root another gateway anchored", async function () {
      const { anchor, baseStation, fogNode } = ctx;
      await anchor.connect(fogNode.key).anchor(fogNode.id, tree.root, BigInt(values.length));
      const leaf = once(values[0]!);
      expect(await anchor.verifyReading(fogNode.id, tree.root, leaf, tree.getProof(0))).to.equal(true);
      expect(await anchor.verifyReading(baseStation.id, tree.root, leaf, tree.getProof(0))).to.equal(false);
    });
  });

  describe("gas", function () {
    it("costs exactly the same to anchor 1 or 2^20 leaves", async function () {
      const { anchor, baseStation } = ctx;
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("g-start"), 1n);
      const gas: bigint[] = [];
      for (const leaves of [1n, 1n << 20n]) {
        const receipt = await (
          await anchor.connect(baseStation.key).anchor(baseStation.id, denseRoot(`g-${leaves}`), leaves)
        ).wait();
        gas.push(receipt!.gasUsed);
      }
      console.log(`        anchor, 1 leaf: ${gas[0]} gas; 2^20 leaves: ${gas[1]} gas`);
      expect(gas[0]).to.equal(gas[1]);
    });

    it("stays within 3,900 gas of the floor its storage and registry call impose", async function () {
      const { anchor, baseStation, fogNode } = ctx;
      const first = await (await anchor.connect(fogNode.key).anchor(fogNode.id, root("f0"), 1n)).wait();
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("g-start"), 1n);
      const tx = await anchor.connect(baseStation.key).anchor(baseStation.id, denseRoot("g-next"), 1n);
      const gasUsed = (await tx.wait())!.gasUsed;
      // 21,000 base + calldata + the root's fresh slot (cold read 2,100 + 20,000) + the gateway's
      // chain slot (cold read 2,100 + rewrite 2,900) + the registry (cold account 2,600 + cold slot
      // 2,100): what any contract keeping these properties pays before its first other opcode.
      const floor = 21_000n + calldataGas(tx.data) + 22_100n + 5_000n + 4_700n;
      console.log(
        `        anchor: ${gasUsed} gas = floor ${floor} + ${gasUsed - floor} (event, dispatch, checks);` +
          ` the contract's first anchor: ${first!.gasUsed} gas`,
      );
      // 3,769 since fog clusters joined the contract (was 3,596): the check that the gateway is not a
      // fog cluster, and ABI helpers solc now shares with `anchorFogBatch` (docs/anchoring.md);
      // 3,869 since records are keyed by (gateway, root): the key's hash, ~100 (docs/anchoring.md).
      expect(gasUsed - floor <= 3_900n).to.equal(true);
    });

    it("verifies a reading at 2^20 leaves (20-element proof)", async function () {
      const { anchor, baseStation } = ctx;
      const leaf = ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256"], [42n]));
      const proof = Array.from({ length: 20 }, (_, i) => ethers.id(`sibling ${i}`));
      const r = proof.reduce<string>((node, sibling) => hashPair(node, sibling), ethers.keccak256(leaf));
      await anchor.connect(baseStation.key).anchor(baseStation.id, r, 1n << 20n);
      expect(await anchor.verifyReading(baseStation.id, r, leaf, proof)).to.equal(true);
      const gas = await anchor.verifyReading.estimateGas(baseStation.id, r, leaf, proof);
      const data = anchor.interface.encodeFunctionData("verifyReading", [baseStation.id, r, leaf, proof]);
      // Execution gas alone (what a calling contract pays, less the call itself), from the opcode trace.
      const { structLogs } = (await ethers.provider.send("debug_traceCall", [
        { to: await anchor.getAddress(), data },
        "latest",
        { disableStorage: true, disableStack: true, disableMemory: true },
      ])) as { structLogs: { gas: number; gasCost: number }[] };
      const last = structLogs[structLogs.length - 1]!;
      const execution = BigInt(structLogs[0]!.gas - last.gas + last.gasCost);
      const standard = 21_000n + calldataGas(data) + execution;
      const floor = calldataFloor(data);
      console.log(
        `        verifyReading, 20-element proof: estimateGas ${gas} = max(21000 + calldata ${calldataGas(data)}` +
          ` + execution ${execution} = ${standard}, EIP-7623 calldata floor ${floor})`,
      );
      expect(gas).to.equal(standard > floor ? standard : floor);
      expect(execution).to.be.lessThan(10_000n);
    });
  });
});
