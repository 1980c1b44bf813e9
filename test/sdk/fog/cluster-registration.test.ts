/**
 * A fog cluster registers itself in `DataAnchor` (`FogCluster.register`) on the in-process
 * network: its fog nodes sign the proof of possession of their DKG key, each member's key approves
 * it, the cluster's key sends it; registering it again is a no-op, and registering it with another
 * key, threshold or members is refused with `ClusterRegistrationConflictError` unless re-keying.
 */
import { expect } from "chai";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { DataAnchorClient, type FogClusterInfo } from "../../../sdk/contracts/anchor.ts";
import { ThresholdScheme } from "../../../sdk/core/crypto/threshold.ts";
import type { Hex } from "../../../sdk/core/bytes.ts";
import { runDkg } from "../../../sdk/core/fog/dkg.ts";
import { Kind } from "../../../sdk/core/registry.ts";
import { ContractRevertError, InvalidInputError, ThresholdError } from "../../../sdk/errors.ts";
import {
  type ClusterRegistration,
  ClusterRegistrationConflictError,
  FogCluster,
  type FogMember,
} from "../../../sdk/fog/cluster.ts";
import type { FogNode } from "../../../sdk/fog/fog-node.ts";
import type { DataAnchor } from "../../../types/ethers-contracts/index.ts";
import { backend, type District, makeDistrict } from "../../helpers/fog.ts";
import { keyHolders } from "../../helpers/fog-anchor.ts";
import { type City, coordinator, fullNode, type Node, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

interface Site {
  readonly city: City;
  readonly address: string;
  readonly chainId: bigint;
  readonly cluster: Node;
  readonly members: readonly Node[];
}

async function deploySiteFixture(): Promise<Site> {
  const city = await deployRegistryFixture();
  const coordinators = [await coordinator(city), await coordinator(city)];
  const cluster = await fullNode(city, coordinators, Kind.FogNode);
  const members: Node[] = [];
  for (let i = 0; i < 5; i++) members.push(await fullNode(city, coordinators, Kind.FogNode));
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  return {
    city,
    address: await anchor.getAddress(),
    chainId: (await ethers.provider.getNetwork()).chainId,
    cluster,
    members,
  };
}

describe("FogCluster.register", function () {
  let site: Site;
  let d: District;
  let client: DataAnchorClient;
  let nodes: FogNode[];

  /** The district's cluster over `members` (default: its five fog nodes, member i + 1 holding share i + 1). */
  const fogCluster = (members: readonly FogMember[] = nodes, district: District = d) =>
    new FogCluster({
      id: site.cluster.id,
      deployment: { chainId: site.chainId, anchor: site.address },
      commitments: district.cluster.commitments,
      scheme: district.scheme,
      members,
      anchor: client,
    });
  const registrar = (extra: { rekey?: boolean } = {}) => ({
    client,
    clusterKey: site.cluster.key,
    memberKeys: site.members.map((m) => m.key),
    ...extra,
  });
  /** The chain's record in a registration's outcome. */
  const without = (r: ClusterRegistration): FogClusterInfo => ({
    cluster: r.cluster,
    groupKey: r.groupKey,
    threshold: r.threshold,
    epoch: r.epoch,
    since: r.since,
    members: r.members,
  });

  beforeEach(async function () {
    site = await loadFixture(deploySiteFixture);
    d = makeDistrict();
    // anyone sends: the registration itself goes through the cluster's key
    client = new DataAnchorClient(site.address, site.city.stranger);
    nodes = site.members.map((m, i) => d.fogNode(i + 1, { id: m.id }));
  });
  afterEach(function () {
    d.cleanup();
  });

  it("registers the cluster with its fog nodes' proof of possession and every member's approval", async function () {
    expect(await client.fogCluster(site.cluster.id)).to.equal(undefined);
    const registered = await fogCluster().register(registrar());
    expect(registered.sent).to.equal(true);
    expect(registered).to.deep.include({ cluster: site.cluster.id, threshold: 3, epoch: 1, since: 1n });
    expect(registered.members).to.deep.equal(site.members.map((m) => m.id.toLowerCase()));
    if (!registered.sent) return;
    expect(registered.gasUsed > 0n).to.equal(true);
    expect((await ethers.provider.getTransactionReceipt(registered.hash))!.blockNumber).to.equal(
      registered.blockNumber,
    );
    expect(await client.fogCluster(site.cluster.id)).to.deep.equal(without(registered));

    // the registered cluster anchors a batch its members endorse
    const cluster = fogCluster();
    const device = d.device();
    await nodes[0]!.ingest([device.read(1, { sensitive: true }), device.read(2, { sensitive: true })]);
    const anchored = (await cluster.anchorNext(nodes[0]!))!;
    expect(anchored).to.deep.include({ sequence: 1n, leafCount: 2 });
    expect((await client.anchorOf(site.cluster.id, anchored.root))!.sequence).to.equal(1n);
  });

  it("registers it again as a no-op: the chain's record back, nothing sent", async function () {
    const first = await fogCluster().register(registrar());
    const block = await ethers.provider.getBlockNumber();
    // a member that would be asked again fails the test: nothing is signed for a no-op
    const silent = nodes.map((n) => ({
      index: n.index,
      id: n.id,
      endorse: n.endorse.bind(n),
      signPossession: () => Promise.reject(new Error("asked to sign for a registration the chain holds")),
    }));
    const again = await fogCluster(silent).register(registrar());
    expect(again).to.deep.equal({ ...without(first), sent: false });
    // rekey changes nothing when the key, threshold and members are the ones held
    expect(await fogCluster().register(registrar({ rekey: true }))).to.deep.equal(again);
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
  });

  it("refuses another key, threshold or members with ClusterRegistrationConflictError, unless re-keying", async function () {
    const held = await fogCluster().register(registrar());
    const block = await ethers.provider.getBlockNumber();
    const ids = site.members.map((m) => m.id.toLowerCase());

    // another DKG among the same members: another group key
    const other = makeDistrict();
    try {
      const rekeyed = site.members.map((m, i) => other.fogNode(i + 1, { id: m.id }));
      const conflict = await fogCluster(rekeyed, other)
        .register(registrar())
        .then(
          () => expect.fail("a conflicting registration was accepted"),
          (e: unknown) => e,
        );
      expect(conflict).to.be.instanceOf(ClusterRegistrationConflictError);
      const e = conflict as ClusterRegistrationConflictError;
      expect(e.name).to.equal("ClusterRegistrationConflictError");
      expect(e.shortMessage).to.equal("the cluster is registered with another key, threshold or members");
      expect(e.details).to.deep.equal({ cluster: site.cluster.id, epoch: 1, differs: ["groupKey"] });
      expect(e.registered).to.deep.equal(without(held));
      expect(e.requested.members).to.deep.equal(ids);
      expect(e.requested.groupKey).to.not.equal(held.groupKey);

      // the same key with members 1 and 2 in each other's place
      const swapped: FogMember[] = [
        { index: 1, id: nodes[1]!.id, endorse: nodes[1]!.endorse.bind(nodes[1]) },
        { index: 2, id: nodes[0]!.id, endorse: nodes[0]!.endorse.bind(nodes[0]) },
        ...nodes.slice(2),
      ];
      const keys = site.members.map((m) => m.key);
      const order = await fogCluster(swapped)
        .register({ ...registrar(), memberKeys: [keys[1]!, keys[0]!, ...keys.slice(2)] })
        .then(
          () => expect.fail("a conflicting registration was accepted"),
          (e: unknown) => e as ClusterRegistrationConflictError,
        );
      expect(order).to.be.instanceOf(ClusterRegistrationConflictError);
      expect(order.details).to.deep.include({ differs: ["members"] });
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
      expect(await client.fogCluster(site.cluster.id)).to.deep.equal(without(held));

      // re-keying registers the new key at the next epoch
      const next = await fogCluster(rekeyed, other).register(registrar({ rekey: true }));
      expect(next).to.deep.include({ sent: true, epoch: 2, threshold: 3, members: ids });
      expect((await client.fogCluster(site.cluster.id))!.groupKey).to.equal(next.groupKey);
    } finally {
      other.cleanup();
    }
  });

  it("takes the same registration sent first by another process as done, and no other", async function () {
    const first = await fogCluster().register(registrar());
    // this process read the chain before the other's registration was mined: it signs and sends
    // for epoch 1 too, and the contract refuses its approvals (it expects epoch 2's)
    let stale = true;
    const racing = {
      fogCluster: (id: Hex) => (stale ? ((stale = false), Promise.resolve(undefined)) : client.fogCluster(id)),
      signFogClusterApproval: client.signFogClusterApproval.bind(client),
      connect: client.connect.bind(client),
    } as unknown as DataAnchorClient;
    const second = await fogCluster().register({ ...registrar(), client: racing });
    expect(second).to.deep.equal({ ...without(first), sent: false });

    // a registration of another key in between is no success of this one: the revert is passed on
    stale = true;
    const other = makeDistrict();
    try {
      const rekeyed = site.members.map((m, i) => other.fogNode(i + 1, { id: m.id }));
      const error = await fogCluster(rekeyed, other)
        .register({ ...registrar(), client: racing })
        .then(
          () => expect.fail("a registration the contract refused was taken as done"),
          (e: unknown) => e,
        );
      expect(error).to.be.instanceOf(ContractRevertError);
      expect((error as ContractRevertError).errorName).to.equal("DataAnchorInvalidApproval");
      expect(await client.fogCluster(site.cluster.id)).to.deep.equal(without(first));
    } finally {
      other.cleanup();
    }
  });

  it("sends nothing without t valid shares of the proof of possession", async function () {
    // members 3..5 sign nothing (remote members without the method); 1 and 2 are not enough for 3 of 5
    const members: FogMember[] = nodes.map((n, i) =>
      i < 2 ? n : { index: n.index, id: n.id, endorse: n.endorse.bind(n) },
    );
    const error = await fogCluster(members)
      .register(registrar())
      .then(
        () => expect.fail("registered without a proof"),
        (e: unknown) => e,
      );
    expect(error).to.be.instanceOf(ThresholdError);
    expect(await client.fogCluster(site.cluster.id)).to.equal(undefined);

    // a member whose share does not verify under the commitments is left out, and refuses anyway
    const scheme = new ThresholdScheme(backend);
    const stranger = runDkg(scheme, 3, 5);
    const liars = keyHolders(
      { t: 3, n: 5, shares: stranger.shares, commitments: stranger.commitments, groupKey: new Uint8Array() },
      site.members,
    );
    const mixed = [nodes[0]!, nodes[1]!, liars[2]!, liars[3]!, nodes[4]!];
    const registered = await fogCluster(mixed).register(registrar());
    expect(registered.sent).to.equal(true);
    await expectRejected(nodes[0]!.signPossession(new Uint8Array(256)), ThresholdError);
  });

  it("refuses members not indexed from 1 without gaps, and a key per member missing", async function () {
    await expectRejected(fogCluster([nodes[0]!, nodes[2]!]).register(registrar()), InvalidInputError);
    await expectRejected(
      fogCluster().register({ ...registrar(), memberKeys: site.members.slice(1).map((m) => m.key) }),
      InvalidInputError,
    );
    expect(await client.fogCluster(site.cluster.id)).to.equal(undefined);
  });
});

async function expectRejected(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  const e = await p.then(
    () => expect.fail(`expected ${type.name}`),
    (e: unknown) => e,
  );
  expect(e).to.be.instanceOf(type);
}
