/**
 * The SDK's DataAnchor client on the in-process network: anchors sent by a
 * gateway's key, reverts decoded into `ContractRevertError`, input refused
 * before anything is sent, proofs of a real tree verified on chain, and a
 * gateway's chain read from the log in block chunks and checked against the
 * on-chain head (a node that drops a log is caught).
 */
import { expect } from "chai";
import type { Filter, FilterByBlockHash, Log, Provider } from "ethers";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { buildTree, leafHash, leafOfValuesHash, leafValuesHash } from "../../../sdk/core/merkle.ts";
import { ContractRevertError, type Hex, InvalidInputError, toHex } from "../../../sdk/index.ts";
import { AnchorChainError, DataAnchorClient } from "../../../sdk/exports/anchoring.ts";
import { Kind, Label, Status } from "../../../sdk/exports/registry.ts";
import type { DataAnchor } from "../../../types/ethers-contracts/index.ts";
import { type City, coordinator, fullNode, type Node, registerNode, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture, mine } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

interface AnchorCity {
  readonly city: City;
  readonly address: string;
  readonly baseStation: Node;
  readonly fogNode: Node;
  readonly coordinators: readonly Node[];
  /** The client acting through the base station's key. */
  readonly client: DataAnchorClient;
}

async function deployAnchorClientFixture(): Promise<AnchorCity> {
  const city = await deployRegistryFixture();
  const coordinators = [await coordinator(city), await coordinator(city)];
  const baseStation = await fullNode(city, coordinators, Kind.BaseStation);
  const fogNode = await fullNode(city, coordinators, Kind.FogNode);
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  const address = await anchor.getAddress();
  return { city, address, baseStation, fogNode, coordinators, client: new DataAnchorClient(address, baseStation.key) };
}

const root = (label: string): Hex => ethers.id(`root: ${label}`) as Hex;

/** A read-only provider that hands every `getLogs` filter to `onGetLogs`, which may edit the answer. */
function spyProvider(onGetLogs: (filter: Filter, logs: Log[]) => Log[]): Provider {
  const base = ethers.provider;
  const spy: Provider = new Proxy(base, {
    get(target, prop) {
      if (prop === "provider") return spy;
      if (prop === "getLogs") {
        return async (filter: Filter | FilterByBlockHash) => onGetLogs(filter as Filter, await target.getLogs(filter));
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as Provider;
  return spy;
}

async function expectRevert(call: Promise<unknown>, errorName: string, args: readonly unknown[]): Promise<void> {
  try {
    await call;
    expect.fail(`should have reverted with ${errorName}`);
  } catch (e) {
    expect(e).to.be.instanceOf(ContractRevertError);
    const err = e as ContractRevertError;
    expect(err.contract).to.equal("DataAnchor");
    expect(err.errorName).to.equal(errorName);
    expect(err.args).to.deep.equal(args);
  }
}

async function expectInvalid(call: () => Promise<unknown>, field: string): Promise<void> {
  try {
    await call();
    expect.fail(`should have refused ${field}`);
  } catch (e) {
    expect(e).to.be.instanceOf(InvalidInputError);
    expect((e as InvalidInputError).shortMessage).to.contain(field);
  }
}

describe("DataAnchorClient", function () {
  let ctx: AnchorCity;
  beforeEach(async function () {
    ctx = await loadFixture(deployAnchorClientFixture);
  });

  it("reads the registry it authenticates gateways with", async function () {
    expect(await ctx.client.registry()).to.equal(await ctx.city.registry.getAddress());
  });

  describe("anchor", function () {
    it("anchors a root and returns its sequence, time and transaction", async function () {
      const { client, baseStation } = ctx;
      const first = await client.anchor(baseStation.id, root("a1"), 1 << 20);
      const block = await ethers.provider.getBlock(first.blockNumber);
      expect(first).to.deep.include({
        gateway: baseStation.id,
        root: root("a1"),
        sequence: 1n,
        leafCount: 1n << 20n,
        time: BigInt(block!.timestamp),
      });
      expect(first.hash).to.equal(block!.transactions[0]);
      expect(first.gasUsed > 0n).to.equal(true);
      const second = await client.anchor(baseStation.id, root("a2"), 5n);
      expect(second.sequence).to.equal(2n);
      expect(await client.head(baseStation.id)).to.equal(2n);
      expect(await client.anchorOf(baseStation.id, root("a1"))).to.deep.equal({
        gateway: baseStation.id,
        sequence: 1n,
        time: first.time,
        leafCount: 1n << 20n,
      });
    });

    it("accepts an upper-case root and reports it in lower case", async function () {
      const { client, baseStation } = ctx;
      const upper = `0x${root("case").slice(2).toUpperCase()}` as Hex;
      expect((await client.anchor(baseStation.id, upper, 1)).root).to.equal(root("case"));
      expect(await client.isAnchored(baseStation.id, root("case"))).to.equal(true);
    });

    it("refuses malformed input before sending anything, naming the field", async function () {
      const { client, baseStation } = ctx;
      const nonce = await ethers.provider.getTransactionCount(baseStation.key.address);
      await expectInvalid(() => client.anchor("0x1234" as Hex, root("x"), 1), "gateway");
      await expectInvalid(() => client.anchor(baseStation.id, ethers.ZeroHash as Hex, 1), "root must not be zero");
      await expectInvalid(() => client.anchor(baseStation.id, "0xzz" as Hex, 1), "root");
      for (const bad of [0, -1, 1.5, 0n, 2n ** 64n]) {
        await expectInvalid(() => client.anchor(baseStation.id, root("x"), bad), "leafCount");
      }
      expect(await ethers.provider.getTransactionCount(baseStation.key.address)).to.equal(nonce);
    });
  });

  describe("errors", function () {
    it("decodes DataAnchorUnauthorizedKey when the runner is not the gateway's key", async function () {
      const { client, baseStation, fogNode, city } = ctx;
      await expectRevert(
        client.connect(city.stranger).anchor(baseStation.id, root("x"), 1),
        "DataAnchorUnauthorizedKey",
        [baseStation.id, city.stranger.address],
      );
      await expectRevert(client.anchor(fogNode.id, root("x"), 1), "DataAnchorUnauthorizedKey", [
        fogNode.id,
        baseStation.key.address,
      ]);
    });

    it("decodes DataAnchorGatewayNotActive for a pending or revoked gateway", async function () {
      const { client, city, baseStation } = ctx;
      const pending = await registerNode(city, Label.Full, Kind.BaseStation);
      await expectRevert(client.connect(pending.key).anchor(pending.id, root("p"), 1), "DataAnchorGatewayNotActive", [
        pending.id,
        BigInt(Status.Pending),
      ]);
      await city.client.connect(city.operator).revoke(baseStation.id);
      await expectRevert(client.anchor(baseStation.id, root("r"), 1), "DataAnchorGatewayNotActive", [
        baseStation.id,
        BigInt(Status.Revoked),
      ]);
    });

    it("decodes DataAnchorRootExists for a root the gateway anchored before; another gateway's is no obstacle", async function () {
      const { client, baseStation, fogNode } = ctx;
      await client.anchor(baseStation.id, root("once"), 1);
      await expectRevert(client.anchor(baseStation.id, root("once"), 1), "DataAnchorRootExists", [
        baseStation.id,
        root("once"),
      ]);
      const asFogNode = client.connect(fogNode.key);
      expect(await asFogNode.anchor(fogNode.id, root("once"), 2)).to.deep.include({
        gateway: fogNode.id,
        sequence: 1n,
      });
      expect(await client.anchorOf(fogNode.id, root("once"))).to.deep.include({ gateway: fogNode.id, leafCount: 2n });
      expect(await client.anchorOf(baseStation.id, root("once"))).to.deep.include({
        gateway: baseStation.id,
        leafCount: 1n,
      });
    });

    it("decodes DataAnchorNotGateway for a node of kind Device", async function () {
      const { client, coordinators } = ctx;
      const node = coordinators[0]!;
      await expectRevert(client.connect(node.key).anchor(node.id, root("d"), 1), "DataAnchorNotGateway", [
        node.id,
        BigInt(Kind.Device),
      ]);
    });
  });

  describe("reads", function () {
    it("returns undefined, false and 0 for what was never anchored", async function () {
      const { client, fogNode } = ctx;
      expect(await client.anchorOf(fogNode.id, root("never"))).to.equal(undefined);
      expect(await client.isAnchored(fogNode.id, root("never"))).to.equal(false);
      expect(await client.head(fogNode.id)).to.equal(0n);
      expect(await client.entryAt(fogNode.id, 1n)).to.equal(undefined);
    });

    it("verifies readings of a real tree once its root is anchored, against the gateway that did", async function () {
      const { client, baseStation, fogNode } = ctx;
      const values = Array.from({ length: 9 }, (_, i) => [ethers.id(`block ${i}`), i] as const);
      const inputs = values.map((v) => toHex(leafValuesHash(["bytes32", "uint256"], v)));
      const readings = values.map((v) => leafHash(["bytes32", "uint256"], v));
      const tree = await buildTree(readings);
      const leaf = inputs[4]!;
      expect(await client.verifyReading(baseStation.id, tree.root, leaf, tree.proof(4))).to.equal(false);
      await client.anchor(baseStation.id, tree.root, readings.length);
      for (let i = 0; i < readings.length; i++) {
        expect(toHex(leafOfValuesHash(inputs[i]!))).to.equal(toHex(readings[i]!));
        expect(await client.verifyReading(baseStation.id, tree.root, inputs[i]!, tree.proof(i))).to.equal(true);
        // the tree's leaf itself is no reading: the contract hashes what it is given
        expect(await client.verifyReading(baseStation.id, tree.root, toHex(readings[i]!), tree.proof(i))).to.equal(
          false,
        );
      }
      expect(await client.verifyReading(baseStation.id, tree.root, leaf, tree.proof(5))).to.equal(false);
      // anchored by the base station, not by the fog node
      expect(await client.verifyReading(fogNode.id, tree.root, leaf, tree.proof(4))).to.equal(false);
      expect((await client.estimateVerifyReading(baseStation.id, tree.root, leaf, tree.proof(4))) > 21_000n).to.equal(
        true,
      );
    });

    it("refuses a malformed gateway, root, leaf or proof element, naming it", async function () {
      const { client } = ctx;
      const good = root("g");
      await expectInvalid(() => client.verifyReading("0x12" as Hex, good, good, []), "gateway");
      await expectInvalid(() => client.verifyReading(good, "0x12" as Hex, good, []), "root");
      await expectInvalid(() => client.verifyReading(good, good, "0x12" as Hex, []), "valuesHash");
      await expectInvalid(() => client.verifyReading(good, good, good, [good, "0x12" as Hex]), "proof[1]");
      await expectInvalid(() => client.estimateVerifyReading(good, "0x12" as Hex, good, []), "root");
      await expectInvalid(() => client.anchorOf("0x" as Hex, good), "gateway");
      await expectInvalid(() => client.anchorOf(good, "0x" as Hex), "root");
      await expectInvalid(() => client.isAnchored(good, "0x" as Hex), "root");
      await expectInvalid(() => client.head("0x" as Hex), "gateway");
      await expectInvalid(() => client.entryAt(good, 0n), "sequence");
    });
  });

  describe("history", function () {
    /** Three anchors of the base station, two of the fog node, interleaved, with empty blocks between. */
    async function interleaved(): Promise<{ blocks: number[] }> {
      const { client, baseStation, fogNode } = ctx;
      const fog = client.connect(fogNode.key);
      const blocks: number[] = [];
      for (const [gateway, send] of [
        [baseStation, client],
        [fogNode, fog],
        [baseStation, client],
        [fogNode, fog],
        [baseStation, client],
      ] as const) {
        blocks.push((await send.anchor(gateway.id, root(`h${blocks.length}`), blocks.length + 1)).blockNumber);
        await mine(3);
      }
      return { blocks };
    }

    it("returns a gateway's chain, oldest first, and only its own", async function () {
      const { client, baseStation, fogNode } = ctx;
      const { blocks } = await interleaved();
      const chain = await client.history(baseStation.id);
      expect(chain.map((e) => e.sequence)).to.deep.equal([1n, 2n, 3n]);
      expect(chain.map((e) => e.root)).to.deep.equal([root("h0"), root("h2"), root("h4")]);
      expect(chain.map((e) => e.blockNumber)).to.deep.equal([blocks[0], blocks[2], blocks[4]]);
      expect(chain.map((e) => e.leafCount)).to.deep.equal([1n, 3n, 5n]);
      expect((await client.history(fogNode.id)).map((e) => e.root)).to.deep.equal([root("h1"), root("h3")]);
      expect(await client.history(ctx.coordinators[0]!.id)).to.deep.equal([]);
    });

    it("reads the log in chunks of at most chunkSize blocks covering the window", async function () {
      const { baseStation, address } = ctx;
      await interleaved();
      const latest = await ethers.provider.getBlockNumber();
      const ranges: [number, number][] = [];
      const spied = new DataAnchorClient(
        address,
        spyProvider((filter, logs) => {
          ranges.push([Number(filter.fromBlock), Number(filter.toBlock)]);
          return logs;
        }),
      );
      const whole = await spied.history(baseStation.id);
      // the read starts at the contract's deployment block, not at block 0
      const deployed = await spied.logs.deploymentBlock();
      expect(deployed).to.be.greaterThan(0);
      expect(ranges).to.deep.equal([[deployed, latest]]);
      ranges.length = 0;
      expect(await spied.history(baseStation.id, { chunkSize: 4 })).to.deep.equal(whole);
      expect(ranges[0]![0]).to.equal(deployed);
      expect(ranges.at(-1)![1]).to.equal(latest);
      for (const [i, [from, to]] of ranges.entries()) {
        expect(to - from + 1 <= 4).to.equal(true);
        if (i > 0) expect(from).to.equal(ranges[i - 1]![1] + 1);
      }
      expect(ranges.length).to.equal(Math.ceil((latest - deployed + 1) / 4));
    });

    it("checks a window against the heads at both of its ends", async function () {
      const { client, baseStation } = ctx;
      const { blocks } = await interleaved();
      const middle = await client.history(baseStation.id, { fromBlock: blocks[1]!, toBlock: blocks[3]! });
      expect(middle.map((e) => e.sequence)).to.deep.equal([2n]);
      const tail = await client.history(baseStation.id, { fromBlock: blocks[2]! + 1, chunkSize: 2 });
      expect(tail.map((e) => e.sequence)).to.deep.equal([3n]);
      const before = await client.history(baseStation.id, { toBlock: blocks[0]! - 1 });
      expect(before).to.deep.equal([]);
      // Before the contract existed: no code, head 0.
      expect(await client.history(baseStation.id, { toBlock: 0 })).to.deep.equal([]);
    });

    it("throws AnchorChainError when the node leaves a link out", async function () {
      const { baseStation, address } = ctx;
      await interleaved();
      const dropSecond = (_filter: Filter, logs: Log[]): Log[] =>
        logs.filter((l) => l.topics[2] !== ethers.toBeHex(2n, 32));
      const lossy = new DataAnchorClient(address, spyProvider(dropSecond));
      try {
        await lossy.history(baseStation.id);
        expect.fail("should have thrown");
      } catch (e) {
        expect(e).to.be.instanceOf(AnchorChainError);
        expect((e as AnchorChainError).reason).to.equal("gap");
      }
      const dropLast = (_filter: Filter, logs: Log[]): Log[] => logs.slice(0, -1);
      try {
        await new DataAnchorClient(address, spyProvider(dropLast)).history(baseStation.id);
        expect.fail("should have thrown");
      } catch (e) {
        expect((e as AnchorChainError).reason).to.equal("head-mismatch");
      }
    });

    it("refuses a window that ends before it starts and a chunk size below 1", async function () {
      const { client, baseStation } = ctx;
      await expectInvalid(() => client.history(baseStation.id, { fromBlock: 5, toBlock: 4 }), "fromBlock");
      await expectInvalid(() => client.history(baseStation.id, { chunkSize: 0 }), "chunkSize");
      await expectInvalid(() => client.history(baseStation.id, { fromBlock: -1 }), "fromBlock");
      await expectInvalid(() => client.history("0x12" as Hex), "gateway");
    });

    it("finds the head's root by its indexed sequence", async function () {
      const { client, baseStation } = ctx;
      await interleaved();
      const head = await client.head(baseStation.id);
      const entry = await client.entryAt(baseStation.id, head, { chunkSize: 5 });
      expect(entry).to.deep.include({ gateway: baseStation.id, sequence: 3n, root: root("h4"), leafCount: 5n });
    });
  });
});
