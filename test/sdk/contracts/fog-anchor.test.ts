/**
 * The SDK's DataAnchor client for fog clusters on the in-process network: a
 * cluster registered by its key with its members' approvals and a threshold
 * proof of possession, batches signed by t members over `nextFogBatch`'s
 * message and anchored by anyone, the cluster's chain read from the log,
 * reverts decoded into `ContractRevertError`, and bad input refused before
 * anything is sent.
 */
import { expect } from "chai";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import {
  ContractRevertError,
  type Hex,
  InvalidInputError,
  InvalidPointError,
  leafOfValuesHash,
  type StrataError,
  toHex,
} from "../../../sdk/index.ts";
import { DataAnchorClient } from "../../../sdk/exports/anchoring.ts";
import { Kind } from "../../../sdk/exports/registry.ts";
import type { DataAnchor } from "../../../types/ethers-contracts/index.ts";
import {
  approvals,
  dealtKey,
  type FogKey,
  groupSign,
  hexOf,
  interpolated,
  possessionProof,
  registerCluster,
} from "../../helpers/fog-anchor.ts";
import { type City, coordinator, fullNode, type Node, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

interface FogClientCity {
  readonly city: City;
  readonly address: string;
  /** The client sent by an account that is no fog node. */
  readonly client: DataAnchorClient;
  readonly cluster: Node;
  readonly members: readonly Node[];
  readonly key: FogKey;
}

async function deployFogClientFixture(): Promise<FogClientCity> {
  const city = await deployRegistryFixture();
  const coordinators = [await coordinator(city), await coordinator(city)];
  const cluster = await fullNode(city, coordinators, Kind.FogNode);
  const members: Node[] = [];
  for (let i = 0; i < 5; i++) members.push(await fullNode(city, coordinators, Kind.FogNode));
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  const address = await anchor.getAddress();
  return {
    city,
    address,
    client: new DataAnchorClient(address, city.stranger),
    cluster,
    members,
    key: dealtKey(3, 5),
  };
}

const root = (label: string): Hex => ethers.id(`fog client root: ${label}`) as Hex;

async function rejected(call: () => Promise<unknown>): Promise<StrataError> {
  try {
    await call();
  } catch (e) {
    return e as StrataError;
  }
  return expect.fail("should have thrown");
}

describe("DataAnchorClient (fog clusters)", function () {
  let ctx: FogClientCity;
  beforeEach(async function () {
    ctx = await loadFixture(deployFogClientFixture);
  });

  it("registers a cluster and reads it back", async function () {
    const { client, cluster, members, key } = ctx;
    expect(await client.fogCluster(cluster.id)).to.equal(undefined);
    const result = await registerCluster(client, cluster, members, key);
    expect(result).to.deep.include({ cluster: cluster.id, groupKey: hexOf(key.groupKey), threshold: 3, epoch: 1 });
    expect(result.since).to.equal(1n);
    expect(result.gasUsed > 0n).to.equal(true);
    expect(result.hash).to.equal(result.hash);
    expect(result.events.map((e) => e.name)).to.deep.equal(["FogClusterRegistered"]);
    const receipt = await ethers.provider.getTransactionReceipt(result.hash);
    expect(receipt!.blockNumber).to.equal(result.blockNumber);
    const { hash: _h, events: _e, blockNumber: _b, gasUsed: _g, ...info } = result;
    expect(await client.fogCluster(cluster.id)).to.deep.equal(info);
  });

  it("signs approvals for the next epoch by default", async function () {
    const { client, cluster, members, key } = ctx;
    await registerCluster(client, cluster, members, key);
    const next = dealtKey(2, 5);
    const byDefault = await approvals(client, cluster.id, members, { groupKey: next.groupKey, threshold: 2 });
    const explicit = await approvals(client, cluster.id, members, {
      groupKey: next.groupKey,
      threshold: 2,
      epoch: 2,
    });
    expect(byDefault).to.deep.equal(explicit);
    const result = await client.connect(cluster.key).registerFogCluster(cluster.id, {
      groupKey: hexOf(next.groupKey),
      threshold: 2,
      members: members.map((m) => m.id),
      proof: hexOf(possessionProof(next)),
      approvals: byDefault,
    });
    expect(result).to.deep.include({ epoch: 2, threshold: 2, since: 1n });
  });

  it("anchors batches signed by t members over nextFogBatch's message, sent by anyone", async function () {
    const { client, cluster, members, key, address } = ctx;
    await registerCluster(client, cluster, members, key);
    const anchor = (await ethers.getContractAt("DataAnchor", address)) as unknown as DataAnchor;
    for (const [i, signers] of [
      [1, 2, 3],
      [3, 4, 5],
      [1, 3, 5],
    ].entries()) {
      const batch = await client.nextFogBatch(cluster.id, root(`b${i}`), 1000 + i);
      expect(batch.sequence).to.equal(BigInt(i + 1));
      expect(hexOf(batch.message)).to.equal(
        await anchor.fogBatchDigest(cluster.id, batch.sequence, batch.root, batch.leafCount),
      );
      const result = await client.anchorFogBatch(
        cluster.id,
        batch.root,
        batch.leafCount,
        groupSign(key, signers, batch.message),
      );
      expect(result).to.deep.include({ gateway: cluster.id, root: root(`b${i}`), sequence: BigInt(i + 1) });
    }
    const history = await client.history(cluster.id, { chunkSize: 3 });
    expect(history.map((e) => e.root)).to.deep.equal([root("b0"), root("b1"), root("b2")]);
    // the root itself is no reading (the contract hashes the leaf); a one-leaf batch's reading verifies
    expect(await client.verifyReading(cluster.id, root("b1"), root("b1"), [])).to.equal(false);
    const valuesHash = root("reading");
    const single = toHex(leafOfValuesHash(valuesHash));
    const batch = await client.nextFogBatch(cluster.id, single, 1);
    await client.anchorFogBatch(cluster.id, single, 1, groupSign(key, [2, 4, 5], batch.message));
    expect(await client.verifyReading(cluster.id, single, valuesHash, [])).to.equal(true);
  });

  it("decodes the contract's refusals", async function () {
    const { client, cluster, members, key } = ctx;
    await registerCluster(client, cluster, members, key);
    const batch = await client.nextFogBatch(cluster.id, root("forged"), 1);
    const forged = interpolated(key, [2, 5], batch.message);
    const e = await rejected(() => client.anchorFogBatch(cluster.id, batch.root, 1, forged));
    expect(e).to.be.instanceOf(ContractRevertError);
    expect((e as ContractRevertError).errorName).to.equal("DataAnchorInvalidGroupSignature");
    expect((e as ContractRevertError).args).to.deep.equal([cluster.id, 1n]);

    const stranger = await rejected(() =>
      client.registerFogCluster(cluster.id, {
        groupKey: key.groupKey,
        threshold: 3,
        members: members.map((m) => m.id),
        proof: possessionProof(key),
        approvals: Array.from({ length: 5 }, () => ({ r: ethers.ZeroHash as Hex, vs: ethers.ZeroHash as Hex })),
      }),
    );
    expect(stranger).to.be.instanceOf(ContractRevertError);
    expect((stranger as ContractRevertError).errorName).to.equal("DataAnchorUnauthorizedKey");
    expect((stranger as ContractRevertError).args).to.deep.equal([cluster.id, ctx.city.stranger.address]);
  });

  it("refuses bad input before sending anything", async function () {
    const { client, cluster, members, key } = ctx;
    const sent = await ethers.provider.getTransactionCount(ctx.city.stranger.address);
    const ids = members.map((m) => m.id);
    const base = {
      groupKey: key.groupKey,
      threshold: 3,
      members: ids,
      proof: possessionProof(key),
      approvals: Array.from({ length: 5 }, () => ({ r: ethers.ZeroHash as Hex, vs: ethers.ZeroHash as Hex })),
    };
    const cases: [() => Promise<unknown>, typeof InvalidInputError | typeof InvalidPointError, string][] = [
      [() => client.registerFogCluster("0x12" as Hex, base), InvalidInputError, "cluster"],
      [() => client.registerFogCluster(cluster.id, { ...base, threshold: 6 }), InvalidInputError, "threshold"],
      [
        () => client.registerFogCluster(cluster.id, { ...base, members: [ids[0]!, ids[0]!] }),
        InvalidInputError,
        "distinct",
      ],
      [() => client.registerFogCluster(cluster.id, { ...base, approvals: [] }), InvalidInputError, "approval"],
      [
        () => client.registerFogCluster(cluster.id, { ...base, groupKey: new Uint8Array(256) }),
        InvalidPointError,
        "identity",
      ],
      [() => client.registerFogCluster(cluster.id, { ...base, proof: "0x1234" as Hex }), InvalidInputError, "proof"],
      [
        () => client.anchorFogBatch(cluster.id, ethers.ZeroHash as Hex, 1, possessionProof(key)),
        InvalidInputError,
        "root",
      ],
      [() => client.anchorFogBatch(cluster.id, root("x"), 0, possessionProof(key)), InvalidInputError, "leafCount"],
      [() => client.anchorFogBatch(cluster.id, root("x"), 1, new Uint8Array(128)), InvalidPointError, "identity"],
      [() => client.anchorFogBatch(cluster.id, root("x"), 1, "0xzz" as Hex), InvalidInputError, "groupSignature"],
      [() => client.nextFogBatch(cluster.id, root("x"), -1), InvalidInputError, "leafCount"],
      [() => client.fogCluster("0x" as Hex), InvalidInputError, "cluster"],
    ];
    for (const [call, type, text] of cases) {
      const e = await rejected(call);
      expect(e, text).to.be.instanceOf(type);
      expect(e.shortMessage, text).to.contain(text);
    }
    expect(await ethers.provider.getTransactionCount(ctx.city.stranger.address)).to.equal(sent);
  });
});
