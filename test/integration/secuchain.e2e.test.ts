/**
 * Seed 004 end to end on the embedded chain: fog nodes and a cluster admitted
 * in the registry, the cluster's DKG key registered in `DataAnchor` with every
 * member's approval and a proof of possession; devices publish P-256 keys in
 * their registry profiles; a fog node filters their readings without
 * decrypting (bogus ones dropped), normal ones land in the open store, and a
 * sensitive batch is endorsed by sign shares, combined and anchored — also
 * with a compromised member and a disagreeing one set aside and reported, and
 * refused outright when fewer than t members endorse it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { network } from "hardhat";

import AccessTokensModule from "../../ignition/modules/AccessTokens.ts";
import DataAnchorModule from "../../ignition/modules/DataAnchor.ts";
import { randomScalar } from "../../sdk/core/crypto/scalar.ts";
import { filterPolicy } from "../../sdk/core/fog/filter.ts";
import { decodeReading, openPayload, readingHash } from "../../sdk/core/fog/reading.ts";
import { FogCluster, type MemberReport } from "../../sdk/fog/cluster.ts";
import { batchTree, type FogDirectory, FogNode, registryFogDirectory } from "../../sdk/fog/fog-node.ts";
import { FogStore } from "../../sdk/store/fog-store.ts";
import {
  AccessDeniedError,
  bytes32Leaves,
  bytes32ValuesHash,
  leafOfValuesHash,
  type Hex,
  ThresholdError,
  toHex,
} from "../../sdk/index.ts";
import { accessScope, AccessTokensClient, newAccessRequest } from "../../sdk/exports/access.ts";
import { DataAnchorClient } from "../../sdk/exports/anchoring.ts";
import { type KeyShare } from "../../sdk/exports/crypto.ts";
import { Kind, Label, minimalProfile } from "../../sdk/exports/registry.ts";
import type { DataAnchor } from "../../types/ethers-contracts/index.ts";
import { type District, makeDistrict } from "../helpers/fog.ts";
import { dkgKey, type FogKey, registerCluster } from "../helpers/fog-anchor.ts";
import { type City, coordinator, fullNode, type Node, registerNode, registryFixture } from "../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

interface Secuchain {
  readonly city: City;
  readonly anchor: DataAnchorClient;
  readonly deployment: { chainId: bigint; anchor: string };
  readonly fogNodes: readonly Node[];
  readonly cluster: Node;
  readonly key: FogKey;
  readonly coordinator: Node;
}

async function secuchainFixture(): Promise<Secuchain> {
  const city = await deployRegistryFixture();
  const coordinators = [await coordinator(city), await coordinator(city)];
  const fogNodes = [];
  for (let i = 0; i < 5; i++) fogNodes.push(await fullNode(city, coordinators, Kind.FogNode));
  const cluster = await fullNode(city, coordinators, Kind.FogNode);
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  const address = await anchor.getAddress();
  const client = new DataAnchorClient(address, city.admin);
  const key = dkgKey(3, 5);
  await registerCluster(client, cluster, fogNodes, key);
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return {
    city,
    anchor: client,
    deployment: { chainId, anchor: address },
    fogNodes,
    cluster,
    key,
    coordinator: coordinators[0]!,
  };
}

describe("Secuchain end to end (embedded network)", function () {
  this.timeout(180_000);
  let district: District;
  let dir: string;
  beforeEach(function () {
    district = makeDistrict();
    dir = mkdtempSync(join(tmpdir(), "strata-secuchain-"));
  });
  afterEach(function () {
    district.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Devices registered and admitted on chain, their P-256 keys published in their registry profiles. */
  async function devices(s: Secuchain, count: number) {
    const out = [];
    for (let i = 0; i < count; i++) {
      const node = await registerNode(s.city, Label.Lightweight, Kind.Device);
      await s.city.client.connect(s.coordinator.key).approve(s.coordinator.id, node.id, s.fogNodes[0]!.id);
      const d = district.device({ register: false, id: node.id });
      await s.city.client
        .connect(s.city.operator)
        .updateProfile(node.id, { ...minimalProfile("Device/Sensor/Air"), p256PublicKey: d.key.publicKey });
      out.push(d);
    }
    return out;
  }

  /** The cluster's five fog nodes; `share` and `policy` overrides make a compromised or disagreeing member. */
  function fogNodes(
    s: Secuchain,
    directory: FogDirectory,
    overrides: Record<number, { share?: KeyShare; disagree?: boolean }> = {},
  ): FogNode[] {
    return s.fogNodes.map((n, i) => {
      const index = i + 1;
      const o = overrides[index] ?? {};
      const policy = o.disagree
        ? filterPolicy(district.peks.trapdoor(district.ownerPeks.secret, "normal"))
        : district.policy;
      return new FogNode({
        id: n.id,
        index,
        share: o.share ?? s.key.shares[i]!,
        commitments: s.key.commitments,
        scheme: district.scheme,
        policy,
        directory,
        store: new FogStore(join(dir, `${index}.sqlite`), n.id),
        accessScope: accessScope("read:sensitive@fog-cluster"),
        anchors: s.anchor,
      });
    });
  }

  function cluster(s: Secuchain, members: readonly FogNode[], reports: MemberReport[] = []): FogCluster {
    return new FogCluster({
      id: s.cluster.id,
      deployment: s.deployment,
      commitments: s.key.commitments,
      scheme: district.scheme,
      members,
      anchor: s.anchor,
      report: (r) => Promise.resolve(void reports.push(r)),
    });
  }

  it("filters without decrypting, keeps normal data open, and anchors a sensitive batch endorsed by t shares", async function () {
    const s = await loadFixture(secuchainFixture);
    const [a, b] = await devices(s, 2);
    const nodes = fogNodes(s, registryFogDirectory(s.city.client));
    const stranger = district.device({ register: false });
    const results = await nodes[0]!.ingest([
      a!.read(12),
      a!.read(87, { sensitive: true, alarm: true }),
      b!.read(14),
      b!.read(91, { sensitive: true }),
      stranger.read(5, { sensitive: true }),
    ]);
    expect(results.map((r) => (r.ok ? r.cls : r.error.reason))).to.deep.equal([
      "normal",
      "sensitive",
      "normal",
      "sensitive",
      "not-registered",
    ]);
    // the open store: anyone reads it; only the owner opens the payloads
    const open = nodes[0]!.queryOpen();
    expect(open.map((r) => r.device)).to.deep.equal([a!.id, b!.id]);
    expect(
      JSON.parse(new TextDecoder().decode(openPayload(district.owner, decodeReading(open[0]!.reading)))),
    ).to.deep.equal({
      value: 12,
    });

    const sensitive = nodes[0]!.sensitiveOf(a!.id, 0, Number.MAX_SAFE_INTEGER)[0]!;
    const tree = await batchTree([
      sensitive.reading,
      nodes[0]!.sensitiveOf(b!.id, 0, Number.MAX_SAFE_INTEGER)[0]!.reading,
    ]);
    // A member copies the pending batch's root into a plain anchor of its own first: no obstacle.
    const copier = s.fogNodes[4]!;
    await s.anchor.connect(copier.key).anchor(copier.id, tree.root, 2);
    const anchored = (await cluster(s, nodes).anchorNext(nodes[0]!))!;
    expect(anchored.root).to.equal(tree.root);
    expect(anchored.sequence).to.equal(1n);
    expect(anchored.leafCount).to.equal(2);
    expect(anchored.signers).to.have.length(3);
    expect(anchored.reports).to.deep.equal([]);
    const record = (await s.anchor.anchorOf(s.cluster.id, anchored.root))!;
    expect(record.gateway).to.equal(s.cluster.id);
    expect((await s.anchor.anchorOf(copier.id, anchored.root))!.gateway).to.equal(copier.id);
    // a sensitive reading's inclusion verifies on chain, against the cluster's record
    // the once-hashed leaf of the reading's hash: the contract hashes the leaf itself
    const valuesHash = toHex(bytes32ValuesHash(readingHash({ bytes: sensitive.reading })));
    expect(toHex(leafOfValuesHash(valuesHash))).to.equal(
      toHex((await bytes32Leaves(readingHash({ bytes: sensitive.reading }))).subarray(0, 32)),
    );
    expect(await s.anchor.verifyReading(s.cluster.id, anchored.root, valuesHash, tree.proof(0))).to.equal(true);
    expect(await cluster(s, nodes).anchorNext(nodes[0]!)).to.equal(undefined); // nothing left to batch
  });

  it("sets aside and reports a compromised member's share and a disagreeing member", async function () {
    const s = await loadFixture(secuchainFixture);
    const [a] = await devices(s, 1);
    const reports: MemberReport[] = [];
    const nodes = fogNodes(s, registryFogDirectory(s.city.client), {
      1: { share: { index: 1, secret: randomScalar() } }, // compromised: a share that is not its own
      2: { disagree: true },
    });
    await nodes[4]!.ingest([a!.read(80, { sensitive: true }), a!.read(81, { sensitive: true })]);
    const anchored = (await cluster(s, nodes, reports).anchorNext(nodes[4]!))!;
    expect(anchored.signers).to.deep.equal([3, 4, 5]);
    expect(reports.map((r) => [r.member, r.reason])).to.deep.equal([
      [2, "not-sensitive"],
      [1, "invalid-share"],
    ]);
    expect(reports[1]!.id).to.equal(s.fogNodes[0]!.id);
  });

  it("anchors nothing when fewer than t members endorse the batch", async function () {
    const s = await loadFixture(secuchainFixture);
    const [a] = await devices(s, 1);
    const reports: MemberReport[] = [];
    const nodes = fogNodes(s, registryFogDirectory(s.city.client), {
      1: { share: { index: 1, secret: randomScalar() } },
      2: { disagree: true },
      3: { disagree: true },
    });
    await nodes[3]!.ingest([a!.read(99, { sensitive: true })]);
    try {
      await cluster(s, nodes, reports).anchorNext(nodes[3]!);
      expect.fail("a batch with two valid shares of a 3-of-5 key was anchored");
    } catch (e) {
      expect(e).to.be.instanceOf(ThresholdError);
    }
    expect(await s.anchor.head(s.cluster.id)).to.equal(0n);
    expect(reports.map((r) => r.member).sort()).to.deep.equal([1, 2, 3]);
  });

  it("serves sensitive readings only to the current shift holder, and refuses after the shift ends", async function () {
    const s = await loadFixture(secuchainFixture);
    const [a] = await devices(s, 1);
    const nodes = fogNodes(s, registryFogDirectory(s.city.client));
    await nodes[0]!.ingest([a!.read(77, { sensitive: true }), a!.read(78, { sensitive: true })]);
    const { accessTokens } = (await ignition.deploy(AccessTokensModule, {
      parameters: { AccessTokens: { registry: await s.city.registry.getAddress() } },
    })) as unknown as { accessTokens: { getAddress(): Promise<string> } };
    const access = new AccessTokensClient(await accessTokens.getAddress(), s.city.operator); // the device's owner
    const [, , , crewA, crewB] = await ethers.getSigners();
    const { tokenId } = await access.mint(a!.id);
    const t0 = BigInt(await networkHelpers.time.latest());
    await access.scheduleShift(tokenId, crewA!.address, t0, t0 + 3600n);
    const ask = async (who: typeof crewA, now: bigint, expiresAt = now + 300n) => {
      const request = newAccessRequest({
        token: tokenId,
        resource: a!.id,
        requester: who!.address,
        issuedAt: now,
        expiresAt,
        scope: accessScope("read:sensitive@fog-cluster"),
      });
      return { request, signature: await access.signAccessRequest(who!, request) };
    };
    const denied = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
        return "served";
      } catch (e) {
        expect(e).to.be.instanceOf(AccessDeniedError);
        return (e as AccessDeniedError).reason;
      }
    };
    const range = { from: 0, to: Number.MAX_SAFE_INTEGER };
    const reader = access.connect(ethers.provider);
    let r = await ask(crewA, t0 + 10n);
    expect(
      (await nodes[0]!.serveSensitive(reader, r.request, r.signature, range, t0 + 10n)).map((x) => x.seq),
    ).to.deep.equal([1, 2]);
    expect(await denied(nodes[0]!.serveSensitive(reader, r.request, r.signature, range, t0 + 11n))).to.equal("replay");
    r = await ask(crewB, t0 + 12n);
    expect(await denied(nodes[0]!.serveSensitive(reader, r.request, r.signature, range, t0 + 12n))).to.equal(
      "not-holder",
    );
    // the owner hands the token from crew A to crew B
    await access.handOver(tokenId, crewB!.address, t0 + 7200n);
    const t1 = BigInt(await networkHelpers.time.latest());
    r = await ask(crewA, t1);
    expect(await denied(nodes[0]!.serveSensitive(reader, r.request, r.signature, range, t1))).to.equal("not-holder");
    r = await ask(crewB, t1);
    expect(await nodes[0]!.serveSensitive(reader, r.request, r.signature, range, t1)).to.have.length(2);
    // a request crew B signed for another verifier is refused here
    const other = newAccessRequest({ ...r.request, nonce: undefined, scope: accessScope("read:sensitive@elsewhere") });
    const otherSig = await access.signAccessRequest(crewB!, other);
    expect(await denied(nodes[0]!.serveSensitive(reader, other, otherSig, range, t1))).to.equal("wrong-scope");
    await networkHelpers.time.increaseTo(t0 + 3700n);
    r = await ask(crewB, t0 + 3700n, t0 + 7260n); // outlives crew B's shift (ends at t0 + 7200)
    expect(await denied(nodes[0]!.serveSensitive(reader, r.request, r.signature, range, t0 + 3700n))).to.equal(
      "beyond-shift",
    );
    // after the shift: nobody is served
    await networkHelpers.time.increaseTo(t0 + 7201n);
    r = await ask(crewB, t0 + 7201n);
    expect(await denied(nodes[0]!.serveSensitive(reader, r.request, r.signature, range, t0 + 7201n))).to.not.equal(
      "served",
    );
  });

  it("drops readings of a device the registry has blocked", async function () {
    const s = await loadFixture(secuchainFixture);
    const [a] = await devices(s, 1);
    const nodes = fogNodes(s, registryFogDirectory(s.city.client, 0));
    expect((await nodes[0]!.ingest([a!.read(1)])).map((r) => r.ok)).to.deep.equal([true]);
    for (const reporter of [s.coordinator, s.fogNodes[1]!, s.fogNodes[2]!, s.fogNodes[3]!]) {
      await s.city.client.connect(reporter.key).report(reporter.id, a!.id, ("0x" + "ab".repeat(32)) as Hex);
    }
    const [r] = await nodes[0]!.ingest([a!.read(2)]);
    expect(r!.ok === false && r!.error.reason).to.equal("blocked");
  });
});
