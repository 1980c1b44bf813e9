/**
 * DataAnchor's fog clusters (seed 004, Secuchain's "verification decoding
 * phase"): a cluster's key registers it with every member's approval and a
 * proof of possession of its t-of-n group key; a batch is accepted with the
 * group signature any t members' sign shares combine into, over a message
 * binding the chain, the contract, the cluster, the sequence, the root and the
 * leaf count, and refused with fewer shares, another key or another message;
 * fog roots verify like gateway roots; the gas of a batch against the target.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { network } from "hardhat";

import DataAnchorModule from "../../../ignition/modules/DataAnchor.ts";
import { type CompactSignature, type Hex, ThresholdError } from "../../../sdk/index.ts";
import { DataAnchorClient } from "../../../sdk/exports/anchoring.ts";
import { DST_MIN_SIG, g1ToEip2537, g2ToEip2537 } from "../../../sdk/exports/crypto.ts";
import { FOG_POP_DST, fogBatchMessage, fogClusterDigest, fogPopMessage } from "../../../sdk/exports/fog.ts";
import { Kind, Label, Status } from "../../../sdk/exports/registry.ts";
import type { DataAnchor } from "../../../types/ethers-contracts/index.ts";
import { G1_OFF_CURVE, G1_OUTSIDE_SUBGROUP, G2_OFF_CURVE, g2OutsideSubgroup, Operand } from "../crypto/helpers.ts";
import {
  approvals,
  backend,
  dealtKey,
  dkgKey,
  type FogKey,
  groupSign,
  hexOf,
  interpolated,
  possessionProof,
  registerCluster,
  threshold,
} from "../../helpers/fog-anchor.ts";
import { type City, coordinator, fullNode, type Node, registerNode, registryFixture } from "../../helpers/registry.ts";

const { ethers, ignition, networkHelpers } = await network.create();
const { loadFixture } = networkHelpers;
const deployRegistryFixture = registryFixture(ethers, ignition);

interface FogCity {
  readonly city: City;
  readonly anchor: DataAnchor;
  readonly address: string;
  readonly chainId: bigint;
  /** A client sent by an account that is no fog node (anyone may submit a batch). */
  readonly client: DataAnchorClient;
  readonly coordinators: readonly Node[];
  readonly baseStation: Node;
  /** The cluster's own registry entry (kind FogNode): its key is the operator's. */
  readonly cluster: Node;
  /** Six fog nodes: the first five are the members, the sixth is an outsider. */
  readonly fogNodes: readonly Node[];
  readonly members: readonly Node[];
  readonly outsider: Node;
  /** The cluster's 3-of-5 key. */
  readonly key: FogKey;
}

async function deployFogCityFixture(): Promise<FogCity> {
  const city = await deployRegistryFixture();
  const coordinators = [await coordinator(city), await coordinator(city)];
  const baseStation = await fullNode(city, coordinators, Kind.BaseStation);
  const cluster = await fullNode(city, coordinators, Kind.FogNode);
  const fogNodes: Node[] = [];
  for (let i = 0; i < 6; i++) fogNodes.push(await fullNode(city, coordinators, Kind.FogNode));
  const { anchor } = (await ignition.deploy(DataAnchorModule, {
    parameters: { DataAnchor: { registry: await city.registry.getAddress() } },
  })) as unknown as { anchor: DataAnchor };
  const address = await anchor.getAddress();
  return {
    city,
    anchor,
    address,
    chainId: (await ethers.provider.getNetwork()).chainId,
    client: new DataAnchorClient(address, city.stranger),
    coordinators,
    baseStation,
    cluster,
    fogNodes,
    members: fogNodes.slice(0, 5),
    outsider: fogNodes[5]!,
    key: dealtKey(3, 5),
  };
}

async function deployFogClusterFixture(): Promise<FogCity> {
  const ctx = await deployFogCityFixture();
  await registerCluster(ctx.client, ctx.cluster, ctx.members, ctx.key);
  return ctx;
}

const root = (label: string): Hex => ethers.id(`fog root: ${label}`) as Hex;
const ids = (nodes: readonly Node[]): Hex[] => nodes.map((n) => n.id);

/** A root from `label` with no zero byte, so that batches' calldata costs the same whatever the root. */
function denseRoot(label: string): Hex {
  for (let n = 0; ; n++) {
    const r = root(`${label}/${n}`);
    if (!ethers.getBytes(r).includes(0)) return r;
  }
}

/** The message of a batch of `ctx`'s cluster (any field overridable). */
function message(
  ctx: FogCity,
  batch: { sequence: bigint; root: Hex; leafCount?: bigint; cluster?: Hex; anchor?: string; chainId?: bigint },
): Uint8Array {
  return fogBatchMessage({
    chainId: batch.chainId ?? ctx.chainId,
    anchor: batch.anchor ?? ctx.address,
    cluster: batch.cluster ?? ctx.cluster.id,
    sequence: batch.sequence,
    root: batch.root,
    leafCount: batch.leafCount ?? 1n,
  });
}

/** Members `signers`' (1-based share indices) group signature of a batch, as hex. */
function signed(ctx: FogCity, signers: readonly number[], batch: Parameters<typeof message>[1], key = ctx.key): Hex {
  return hexOf(groupSign(key, signers, message(ctx, batch)));
}

/** Compact signatures of `digest` by the members' keys (no SDK input check: for malformed keys). */
function rawApprovals(members: readonly Node[], digest: string): CompactSignature[] {
  return members.map((m) => {
    const sig = m.key.signingKey.sign(digest);
    return { r: sig.r as Hex, vs: sig.yParityAndS as Hex };
  });
}

/** Every 3-element subset of {1..5}. */
const TRIPLES: number[][] = [];
for (let a = 1; a <= 5; a++) for (let b = a + 1; b <= 5; b++) for (let c = b + 1; c <= 5; c++) TRIPLES.push([a, b, c]);

describe("DataAnchor fog clusters", function () {
  describe("registerFogCluster", function () {
    let ctx: FogCity;
    beforeEach(async function () {
      ctx = await loadFixture(deployFogCityFixture);
    });

    /** The arguments of a registration of `ctx.key` by `ctx.members`, approved for `epoch`. */
    async function args(
      overrides: Partial<{ key: FogKey; members: readonly Node[]; threshold: number; epoch: number }> = {},
    ) {
      const key = overrides.key ?? ctx.key;
      const members = overrides.members ?? ctx.members;
      const threshold = overrides.threshold ?? key.t;
      const approved = await approvals(ctx.client, ctx.cluster.id, members, {
        groupKey: key.groupKey,
        threshold,
        ...(overrides.epoch === undefined ? {} : { epoch: overrides.epoch }),
      });
      return [
        ctx.cluster.id,
        hexOf(key.groupKey),
        threshold,
        ids(members),
        hexOf(possessionProof(key)),
        approved,
      ] as const;
    }

    it("records the group key, threshold and members, and emits FogClusterRegistered", async function () {
      const { anchor, cluster, key, members } = ctx;
      const tx = anchor.connect(cluster.key).registerFogCluster(...(await args()));
      await expect(tx)
        .to.emit(anchor, "FogClusterRegistered")
        .withArgs(cluster.id, 1n, 1n, 3n, ids(members), hexOf(key.groupKey));
      const receipt = await (await tx).wait();
      console.log(`        registerFogCluster (3 of 5, first): ${receipt!.gasUsed} gas`);
      const c = await anchor.fogCluster(cluster.id);
      expect(c.groupKey).to.equal(hexOf(key.groupKey));
      expect([c.threshold, c.epoch, c.since]).to.deep.equal([3n, 1n, 1n]);
      expect(c.members).to.deep.equal(ids(members));
      expect(await anchor.head(cluster.id)).to.equal(0n);
    });

    it("returns the epoch it set, through the SDK client too", async function () {
      const { anchor, cluster, client, members, key } = ctx;
      expect(await anchor.connect(cluster.key).registerFogCluster.staticCall(...(await args()))).to.equal(1n);
      const result = await registerCluster(client, cluster, members, key);
      expect(result).to.deep.include({ cluster: cluster.id, epoch: 1, since: 1n, threshold: 3 });
      expect(result.members).to.deep.equal(ids(members));
      expect(await client.fogCluster(cluster.id)).to.deep.equal({
        cluster: cluster.id,
        groupKey: hexOf(key.groupKey),
        threshold: 3,
        epoch: 1,
        since: 1n,
        members: ids(members),
      });
    });

    it("registers a key made by the dealer-free DKG of its members", async function () {
      const { client, cluster, members } = ctx;
      const key = dkgKey(3, 5);
      await registerCluster(client, cluster, members, key);
      expect((await client.fogCluster(cluster.id))!.groupKey).to.equal(hexOf(key.groupKey));
    });

    it("takes any threshold from 1 to n (6 of 6, then 1 of 1)", async function () {
      const { client, cluster, fogNodes } = ctx;
      const key = dealtKey(6, 6);
      await registerCluster(client, cluster, fogNodes, key);
      expect((await client.fogCluster(cluster.id))!.threshold).to.equal(6);
      const solo = dealtKey(1, 1);
      await registerCluster(client, cluster, fogNodes.slice(0, 1), solo);
      expect((await client.fogCluster(cluster.id))!.epoch).to.equal(2);
    });

    it("refuses a caller other than the cluster's registered key", async function () {
      const { anchor, city, members } = ctx;
      const a = await args();
      for (const who of [city.stranger, members[0]!.key, city.operator]) {
        await expect(anchor.connect(who).registerFogCluster(...a))
          .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
          .withArgs(ctx.cluster.id, who.address);
      }
    });

    it("refuses a cluster that is not an Active fog node", async function () {
      const { anchor, city, baseStation, key, members, client } = ctx;
      const pending = await registerNode(city, Label.Full, Kind.FogNode);
      const proof = hexOf(possessionProof(key));
      const approvalsFor = (id: Hex) => approvals(client, id, members, { groupKey: key.groupKey, threshold: 3 });
      await expect(
        anchor
          .connect(pending.key)
          .registerFogCluster(pending.id, hexOf(key.groupKey), 3, ids(members), proof, await approvalsFor(pending.id)),
      )
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(pending.id, Status.Pending);
      await expect(
        anchor
          .connect(baseStation.key)
          .registerFogCluster(
            baseStation.id,
            hexOf(key.groupKey),
            3,
            ids(members),
            proof,
            await approvalsFor(baseStation.id),
          ),
      )
        .to.be.revertedWithCustomError(anchor, "DataAnchorNotFogNode")
        .withArgs(baseStation.id, Kind.BaseStation);
    });

    it("refuses a member that is not an Active fog node, or unknown", async function () {
      const { anchor, city, cluster, key, coordinators, baseStation, members } = ctx;
      const pending = await registerNode(city, Label.Full, Kind.FogNode);
      const unknown = { ...members[0]!, id: ethers.id("no such fog node") as Hex };
      const cases: [Node, string, unknown[]][] = [
        [pending, "DataAnchorGatewayNotActive", [pending.id, Status.Pending]],
        [baseStation, "DataAnchorNotFogNode", [baseStation.id, Kind.BaseStation]],
        [coordinators[0]!, "DataAnchorNotFogNode", [coordinators[0]!.id, Kind.Device]],
        [unknown, "DataAnchorGatewayNotActive", [unknown.id, Status.None]],
      ];
      for (const [bad, error, errorArgs] of cases) {
        const list = [...members.slice(0, 4), bad];
        const digest = await anchor.fogClusterDigest(cluster.id, hexOf(key.groupKey), 3, ids(list), 1);
        await expect(
          anchor
            .connect(cluster.key)
            .registerFogCluster(
              cluster.id,
              hexOf(key.groupKey),
              3,
              ids(list),
              hexOf(possessionProof(key)),
              rawApprovals(list, digest),
            ),
        )
          .to.be.revertedWithCustomError(anchor, error)
          .withArgs(...errorArgs);
      }
      // A member the registry suspends later stays listed until the cluster re-registers; a fresh
      // registration listing it is refused.
      await city.registry.connect(city.operator).revoke(members[4]!.id);
      await expect(anchor.connect(cluster.key).registerFogCluster(...(await args())))
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(members[4]!.id, Status.Revoked);
    });

    it("refuses a member listed twice and the cluster as its own member", async function () {
      const { anchor, cluster, key, members } = ctx;
      for (const [list, error, errorArg] of [
        [[...members.slice(0, 4), members[1]!], "DataAnchorDuplicateMember", members[1]!.id],
        [[...members.slice(0, 4), cluster], "DataAnchorFogClusterIsMember", cluster.id],
      ] as [Node[], string, Hex][]) {
        const digest = await anchor.fogClusterDigest(cluster.id, hexOf(key.groupKey), 3, ids(list), 1);
        await expect(
          anchor
            .connect(cluster.key)
            .registerFogCluster(
              cluster.id,
              hexOf(key.groupKey),
              3,
              ids(list),
              hexOf(possessionProof(key)),
              rawApprovals(list, digest),
            ),
        )
          .to.be.revertedWithCustomError(anchor, error)
          .withArgs(errorArg);
      }
    });

    it("refuses a threshold of 0 or above n, no members and more than 64", async function () {
      const { anchor, cluster, key, members } = ctx;
      const proof = hexOf(possessionProof(key));
      const k = hexOf(key.groupKey);
      const register = (threshold: number, list: Hex[]) =>
        anchor.connect(cluster.key).registerFogCluster(cluster.id, k, threshold, list, proof, []);
      for (const [t, list] of [
        [0, ids(members)],
        [6, ids(members)],
        [1, []],
        [3, Array.from({ length: 65 }, (_, i) => ethers.id(`member ${i}`))],
      ] as [number, Hex[]][]) {
        await expect(register(t, list))
          .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidThreshold")
          .withArgs(t, list.length);
      }
    });

    it("refuses a registration without one approval per member", async function () {
      const { anchor, cluster, members } = ctx;
      const a = await args();
      await expect(anchor.connect(cluster.key).registerFogCluster(a[0], a[1], a[2], a[3], a[4], a[5].slice(0, 4)))
        .to.be.revertedWithCustomError(anchor, "DataAnchorApprovalCountMismatch")
        .withArgs(members.length, 4);
    });

    it("refuses an approval by another key, for another key, threshold, member list or epoch", async function () {
      const { anchor, cluster, key, members, outsider, client } = ctx;
      const good = await args();
      const digest = await anchor.fogClusterDigest(cluster.id, good[1], 3, ids(members), 1);
      const recovered = (a: CompactSignature) => ethers.recoverAddress(digest, { r: a.r, yParityAndS: a.vs });
      const other = dealtKey(3, 5);
      const wrong: CompactSignature[] = [
        // the outsider's key signs in member 3's place
        await client.signFogClusterApproval(outsider.key, cluster.id, {
          groupKey: key.groupKey,
          threshold: 3,
          members: ids(members),
        }),
        // member 3 approved another group key, threshold, list or epoch
        await client.signFogClusterApproval(members[2]!.key, cluster.id, {
          groupKey: other.groupKey,
          threshold: 3,
          members: ids(members),
        }),
        await client.signFogClusterApproval(members[2]!.key, cluster.id, {
          groupKey: key.groupKey,
          threshold: 2,
          members: ids(members),
        }),
        await client.signFogClusterApproval(members[2]!.key, cluster.id, {
          groupKey: key.groupKey,
          threshold: 3,
          members: ids([...members].reverse()),
        }),
        await client.signFogClusterApproval(members[2]!.key, cluster.id, {
          groupKey: key.groupKey,
          threshold: 3,
          members: ids(members),
          epoch: 2,
        }),
        // garbage: recovery fails (zero address)
        { r: ethers.ZeroHash as Hex, vs: ethers.ZeroHash as Hex },
      ];
      for (const w of wrong) {
        const list = [...good[5]];
        list[2] = w;
        const expected = w.r === ethers.ZeroHash ? ethers.ZeroAddress : recovered(w);
        await expect(anchor.connect(cluster.key).registerFogCluster(good[0], good[1], good[2], good[3], good[4], list))
          .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidApproval")
          .withArgs(members[2]!.id, members[2]!.key.address, expected);
      }
    });

    describe("proof of possession", function () {
      /** Registers `groupKey` with `proof`, every member approving. */
      async function register(groupKey: Uint8Array, proof: Uint8Array) {
        const { anchor, cluster, members } = ctx;
        const digest = await anchor.fogClusterDigest(cluster.id, hexOf(groupKey), 3, ids(members), 1);
        return anchor
          .connect(cluster.key)
          .registerFogCluster(
            cluster.id,
            hexOf(groupKey),
            3,
            ids(members),
            hexOf(proof),
            rawApprovals(members, digest),
          );
      }

      it("refuses a rogue key: a key built from another one, whose secret nobody knows", async function () {
        const { anchor, cluster, key } = ctx;
        // The attacker knows a; its key a·G2 − C0(victim) would cancel the victim's in a sum.
        const a = 987654321n;
        const { g1, g2 } = backend;
        const victim = g2.fromBytes(fogPopMessage(key.groupKey));
        const rogue = g2.add(g2.mul(g2.generator, a), g2.neg(victim));
        const rogueKey = g2ToEip2537(backend, rogue);
        const attempt = g1ToEip2537(backend, g1.mul(g1.hash(fogPopMessage(rogueKey), FOG_POP_DST), a));
        await expect(register(rogueKey, attempt))
          .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidPossessionProof")
          .withArgs(cluster.id);
      });

      it("refuses another key's proof, a proof under the signature tag and one from t - 1 shares", async function () {
        const { anchor, cluster, key } = ctx;
        const popMessage = fogPopMessage(key.groupKey);
        const refused: Uint8Array[] = [
          possessionProof(dealtKey(3, 5)),
          groupSign(key, [1, 2, 3], popMessage, DST_MIN_SIG),
          g1ToEip2537(
            backend,
            backend.g1.hash(popMessage, FOG_POP_DST), // a point of G1 nobody signed
          ),
          interpolated(key, [1, 2], popMessage, FOG_POP_DST),
        ];
        for (const proof of refused) {
          await expect(register(key.groupKey, proof))
            .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidPossessionProof")
            .withArgs(cluster.id);
        }
        await expect(register(key.groupKey, possessionProof(key, [2, 4, 5]))).to.emit(anchor, "FogClusterRegistered");
      });

      it("refuses malformed keys and proofs with the library's errors", async function () {
        const { anchor, key } = ctx;
        const proof = possessionProof(key);
        const cases: [Uint8Array, Uint8Array, string, unknown[]][] = [
          [key.groupKey.slice(0, 255), proof, "BLS12381InvalidLength", [Operand.PublicKey, 0, 255]],
          [new Uint8Array(256), proof, "BLS12381PointAtInfinity", [Operand.PublicKey, 0]],
          [G2_OFF_CURVE, proof, "BLS12381InvalidPoint", [Operand.PublicKey, 0]],
          [g2OutsideSubgroup(), proof, "BLS12381InvalidPoint", [Operand.PublicKey, 0]],
          [key.groupKey, proof.slice(0, 127), "BLS12381InvalidLength", [Operand.Signature, 0, 127]],
          [key.groupKey, G1_OUTSIDE_SUBGROUP, "BLS12381InvalidPoint", [Operand.Signature, 0]],
        ];
        for (const [k, p, error, errorArgs] of cases) {
          await expect(register(k, p))
            .to.be.revertedWithCustomError(anchor, error)
            .withArgs(...errorArgs);
        }
      });
    });

    it("refuses a gateway that already anchored alone", async function () {
      const { anchor, cluster } = ctx;
      await anchor.connect(cluster.key).anchor(cluster.id, root("alone"), 1n);
      await expect(anchor.connect(cluster.key).registerFogCluster(...(await args())))
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayHasAnchors")
        .withArgs(cluster.id, 1n);
    });
  });

  describe("re-registration (a new key after a fresh DKG)", function () {
    let ctx: FogCity;
    beforeEach(async function () {
      ctx = await loadFixture(deployFogClusterFixture);
    });

    it("moves to the next epoch: the chain continues, the old key stops, old approvals do not replay", async function () {
      const { anchor, client, cluster, members, fogNodes, key } = ctx;
      await anchor.anchorFogBatch(
        cluster.id,
        root("e1"),
        1n,
        signed(ctx, [1, 2, 3], { sequence: 1n, root: root("e1") }),
      );
      const epoch1 = await approvals(client, cluster.id, members, { groupKey: key.groupKey, threshold: 3 });
      expect(epoch1).to.have.length(5);

      // Member 1 leaves, the outsider joins: a new 3-of-5 key among fog nodes 2..6.
      const next = dkgKey(3, 5);
      const newMembers = fogNodes.slice(1, 6);
      const result = await registerCluster(client, cluster, newMembers, next);
      expect(result).to.deep.include({ epoch: 2, since: 2n, threshold: 3 });
      expect(result.members).to.deep.equal(ids(newMembers));

      // The old key's signature for sequence 2 is refused; the new key's is accepted.
      const oldSig = signed(ctx, [1, 2, 3], { sequence: 2n, root: root("e2") });
      await expect(anchor.anchorFogBatch(cluster.id, root("e2"), 1n, oldSig))
        .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidGroupSignature")
        .withArgs(cluster.id, 2n);
      const newSig = signed(ctx, [2, 4, 5], { sequence: 2n, root: root("e2") }, next);
      await expect(anchor.anchorFogBatch(cluster.id, root("e2"), 1n, newSig))
        .to.emit(anchor, "Anchored")
        .withArgs(cluster.id, 2n, root("e2"), 1n);

      // Going back to the first key with its epoch-1 approvals fails: they were for epoch 1.
      const digest3 = await anchor.fogClusterDigest(cluster.id, hexOf(key.groupKey), 3, ids(members), 3);
      await expect(
        anchor
          .connect(cluster.key)
          .registerFogCluster(cluster.id, hexOf(key.groupKey), 3, ids(members), hexOf(possessionProof(key)), epoch1),
      )
        .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidApproval")
        .withArgs(
          members[0]!.id,
          members[0]!.key.address,
          ethers.recoverAddress(digest3, { r: epoch1[0]!.r, yParityAndS: epoch1[0]!.vs }),
        );
    });
  });

  describe("anchorFogBatch", function () {
    let ctx: FogCity;
    beforeEach(async function () {
      ctx = await loadFixture(deployFogClusterFixture);
    });

    it("accepts a batch signed by any t of the n members, from any sender", async function () {
      const { anchor, client, cluster, city } = ctx;
      for (const [i, signers] of TRIPLES.entries()) {
        const sequence = BigInt(i + 1);
        const r = root(`any-t/${signers.join("")}`);
        const sig = signed(ctx, signers, { sequence, root: r, leafCount: 100n + sequence });
        const sender = i % 2 === 0 ? city.stranger : ctx.members[signers[0]! - 1]!.key;
        await expect(anchor.connect(sender).anchorFogBatch(cluster.id, r, 100n + sequence, sig))
          .to.emit(anchor, "Anchored")
          .withArgs(cluster.id, sequence, r, 100n + sequence);
        const rec = await client.anchorOf(cluster.id, r);
        expect(rec).to.deep.include({ gateway: cluster.id, sequence, leafCount: 100n + sequence });
      }
      expect(await anchor.head(cluster.id)).to.equal(BigInt(TRIPLES.length));
      // The SDK reads the cluster's chain like a gateway's.
      const history = await client.history(cluster.id);
      expect(history.map((e) => e.sequence)).to.deep.equal(TRIPLES.map((_, i) => BigInt(i + 1)));
    });

    it("accepts more than t shares (combine uses t valid ones and names a bad one)", async function () {
      const { anchor, cluster, key } = ctx;
      const msg = message(ctx, { sequence: 1n, root: root("more") });
      const th = threshold;
      const partials = [1, 2, 3, 4, 5].map((i) => th.partialSign(key.shares[i - 1]!, msg));
      // member 2's share signs another message: combine sets it aside and reports it
      partials[1] = th.partialSign(key.shares[1]!, message(ctx, { sequence: 1n, root: root("other") }));
      const { signature, bad, used } = th.combine(key.commitments, msg, partials);
      expect(bad).to.deep.equal([2]);
      expect(used).to.deep.equal([1, 3, 4]);
      await expect(anchor.anchorFogBatch(cluster.id, root("more"), 1n, hexOf(g1ToEip2537(backend, signature))))
        .to.emit(anchor, "Anchored")
        .withArgs(cluster.id, 1n, root("more"), 1n);
    });

    describe("fewer than t colluding fog nodes cannot get a batch accepted", function () {
      it("the SDK will not combine t - 1 shares (ThresholdError)", function () {
        const { key } = ctx;
        const msg = message(ctx, { sequence: 1n, root: root("t-1") });
        expect(() => groupSign(key, [1, 4], msg))
          .to.throw(ThresholdError)
          .with.property("shortMessage", "need 3 valid partial signatures, have 2");
      });

      it("a signature interpolated from t - 1 shares is refused on chain", async function () {
        const { anchor, cluster, key } = ctx;
        for (const pair of [
          [1, 2],
          [3, 5],
          [2, 4],
        ]) {
          const forged = interpolated(key, pair, message(ctx, { sequence: 1n, root: root("t-1") }));
          await expect(anchor.anchorFogBatch(cluster.id, root("t-1"), 1n, hexOf(forged)))
            .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidGroupSignature")
            .withArgs(cluster.id, 1n);
        }
      });

      it("t - 1 members and a non-member's made-up share are refused", async function () {
        const { anchor, cluster, key } = ctx;
        const msg = message(ctx, { sequence: 1n, root: root("t-1+1") });
        const th = threshold;
        const fake = { index: 3, secret: 424242n };
        const partials = [th.partialSign(key.shares[0]!, msg), th.partialSign(key.shares[1]!, msg)];
        partials.push(th.partialSign(fake, msg));
        expect(() => th.combine(key.commitments, msg, partials))
          .to.throw(ThresholdError)
          .with.property("badShares")
          .that.deep.equals([3]);
        const forged = g1ToEip2537(backend, th.interpolate(partials));
        await expect(anchor.anchorFogBatch(cluster.id, root("t-1+1"), 1n, hexOf(forged)))
          .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidGroupSignature")
          .withArgs(cluster.id, 1n);
      });

      it("a non-member's key, the operator's key and a member's key cannot sign or anchor alone", async function () {
        const { anchor, cluster, outsider, members } = ctx;
        const r = root("alone");
        // a key outside the cluster (here a whole other 3-of-5 group) signs the right message
        const stranger = signed(ctx, [1, 2, 3], { sequence: 1n, root: r }, dealtKey(3, 5));
        await expect(anchor.anchorFogBatch(cluster.id, r, 1n, stranger))
          .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidGroupSignature")
          .withArgs(cluster.id, 1n);
        // the gateway path is closed to the cluster's chain, for its operator and its members
        await expect(anchor.connect(cluster.key).anchor(cluster.id, r, 1n))
          .to.be.revertedWithCustomError(anchor, "DataAnchorIsFogCluster")
          .withArgs(cluster.id);
        await expect(anchor.connect(members[0]!.key).anchor(cluster.id, r, 1n))
          .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
          .withArgs(cluster.id, members[0]!.key.address);
        await expect(anchor.connect(outsider.key).anchor(cluster.id, r, 1n))
          .to.be.revertedWithCustomError(anchor, "DataAnchorUnauthorizedKey")
          .withArgs(cluster.id, outsider.key.address);
        expect(await anchor.head(cluster.id)).to.equal(0n);
      });
    });

    describe("the message binds everything", function () {
      it("refuses a signature for another root, leaf count, sequence, cluster, contract or chain", async function () {
        const { anchor, cluster, client } = ctx;
        const r = root("bound");
        // a second cluster with the very same group key and members: only the cluster id differs
        const twin = await fullNode(ctx.city, ctx.coordinators, Kind.FogNode);
        await registerCluster(client, twin, ctx.members, ctx.key);
        const other = await ignition.deploy(DataAnchorModule, {
          parameters: { DataAnchor: { registry: await ctx.city.registry.getAddress() } },
          defaultSender: ctx.city.admin.address,
        });
        const otherAddress = await (other as unknown as { anchor: DataAnchor }).anchor.getAddress();
        const wrong: Parameters<typeof message>[1][] = [
          { sequence: 1n, root: root("another root") },
          { sequence: 1n, root: r, leafCount: 2n },
          { sequence: 2n, root: r },
          { sequence: 1n, root: r, cluster: twin.id },
          { sequence: 1n, root: r, anchor: otherAddress },
          { sequence: 1n, root: r, chainId: ctx.chainId + 1n },
        ];
        for (const batch of wrong) {
          await expect(anchor.anchorFogBatch(cluster.id, r, 1n, signed(ctx, [1, 2, 3], batch)))
            .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidGroupSignature")
            .withArgs(cluster.id, 1n);
        }
        await expect(anchor.anchorFogBatch(cluster.id, r, 1n, signed(ctx, [1, 2, 3], { sequence: 1n, root: r })))
          .to.emit(anchor, "Anchored")
          .withArgs(cluster.id, 1n, r, 1n);
      });

      it("refuses a signature replayed for the next sequence", async function () {
        const { anchor, cluster } = ctx;
        const sig = signed(ctx, [1, 3, 5], { sequence: 1n, root: root("r1"), leafCount: 8n });
        await anchor.anchorFogBatch(cluster.id, root("r1"), 8n, sig);
        await expect(anchor.anchorFogBatch(cluster.id, root("r1"), 8n, sig))
          .to.be.revertedWithCustomError(anchor, "DataAnchorRootExists")
          .withArgs(cluster.id, root("r1"));
        // the same signature offered for another root at sequence 2
        await expect(anchor.anchorFogBatch(cluster.id, root("r2"), 8n, sig))
          .to.be.revertedWithCustomError(anchor, "DataAnchorInvalidGroupSignature")
          .withArgs(cluster.id, 2n);
        // a signature made in advance for sequence 2 is still good
        const next = signed(ctx, [2, 3, 4], { sequence: 2n, root: root("r2"), leafCount: 8n });
        await expect(anchor.anchorFogBatch(cluster.id, root("r2"), 8n, next))
          .to.emit(anchor, "Anchored")
          .withArgs(cluster.id, 2n, root("r2"), 8n);
      });

      it("equals the SDK's message byte for byte (fogBatchDigest, fogClusterDigest)", async function () {
        const { anchor, cluster, key, members } = ctx;
        const r = root("digest");
        expect(await anchor.fogBatchDigest(cluster.id, 7n, r, 12345n)).to.equal(
          hexOf(message(ctx, { sequence: 7n, root: r, leafCount: 12345n })),
        );
        expect(await anchor.fogClusterDigest(cluster.id, hexOf(key.groupKey), 3, ids(members), 4)).to.equal(
          fogClusterDigest({
            chainId: ctx.chainId,
            anchor: ctx.address,
            cluster: cluster.id,
            groupKey: key.groupKey,
            threshold: 3,
            members: ids(members),
            epoch: 4,
          }),
        );
      });
    });

    it("refuses malformed signatures with the library's errors", async function () {
      const { anchor, cluster } = ctx;
      const good = ethers.getBytes(signed(ctx, [1, 2, 3], { sequence: 1n, root: root("m") }));
      const padded = good.slice();
      padded[0] = 1;
      const aboveP = good.slice();
      aboveP.set(ethers.getBytes(ethers.toBeHex(2n ** 384n - 1n, 48)), 16);
      const cases: [Uint8Array, string, unknown[]][] = [
        [good.slice(0, 127), "BLS12381InvalidLength", [Operand.Signature, 0, 127]],
        [new Uint8Array(129), "BLS12381InvalidLength", [Operand.Signature, 0, 129]],
        [new Uint8Array(128), "BLS12381PointAtInfinity", [Operand.Signature, 0]],
        [padded, "BLS12381InvalidFieldElement", [Operand.Signature, 0]],
        [aboveP, "BLS12381InvalidFieldElement", [Operand.Signature, 0]],
        [G1_OFF_CURVE, "BLS12381InvalidPoint", [Operand.Signature, 0]],
        [G1_OUTSIDE_SUBGROUP, "BLS12381InvalidPoint", [Operand.Signature, 0]],
      ];
      for (const [sig, error, errorArgs] of cases) {
        await expect(anchor.anchorFogBatch(cluster.id, root("m"), 1n, hexOf(sig)))
          .to.be.revertedWithCustomError(anchor, error)
          .withArgs(...errorArgs);
      }
    });

    it("refuses an unknown cluster, the zero root, a zero leaf count and a root the cluster anchored", async function () {
      const { anchor, cluster, baseStation, outsider } = ctx;
      const sig = signed(ctx, [1, 2, 3], { sequence: 1n, root: root("x") });
      for (const who of [outsider.id, baseStation.id, ethers.id("unknown") as Hex]) {
        await expect(anchor.anchorFogBatch(who, root("x"), 1n, sig))
          .to.be.revertedWithCustomError(anchor, "DataAnchorUnknownFogCluster")
          .withArgs(who);
      }
      await expect(anchor.anchorFogBatch(cluster.id, ethers.ZeroHash, 1n, sig))
        .to.be.revertedWithCustomError(anchor, "DataAnchorZeroRoot")
        .withArgs(cluster.id);
      await expect(anchor.anchorFogBatch(cluster.id, root("x"), 0n, sig))
        .to.be.revertedWithCustomError(anchor, "DataAnchorZeroLeafCount")
        .withArgs(root("x"));
      await anchor.anchorFogBatch(cluster.id, root("x"), 1n, sig);
      await expect(
        anchor.anchorFogBatch(cluster.id, root("x"), 1n, signed(ctx, [1, 2, 3], { sequence: 2n, root: root("x") })),
      )
        .to.be.revertedWithCustomError(anchor, "DataAnchorRootExists")
        .withArgs(cluster.id, root("x"));
      expect(await anchor.head(cluster.id)).to.equal(1n);
    });

    it("anchors a batch whose root a member or a gateway anchored first; records stay apart", async function () {
      const { anchor, client, cluster, baseStation, members, city } = ctx;
      const r = root("endorsed");
      const sig = signed(ctx, [1, 2, 3], { sequence: 1n, root: r, leafCount: 10n });
      // Member 5 saw the root while endorsing (or in the mempool) and anchors it alone, as a gateway;
      // so does a base station.
      const evil = members[4]!;
      await anchor.connect(evil.key).anchor(evil.id, r, 10n);
      await anchor.connect(baseStation.key).anchor(baseStation.id, r, 3n);
      expect(await client.anchorOf(cluster.id, r)).to.equal(undefined);
      await expect(anchor.connect(city.stranger).anchorFogBatch(cluster.id, r, 10n, sig))
        .to.emit(anchor, "Anchored")
        .withArgs(cluster.id, 1n, r, 10n);
      expect(await client.anchorOf(cluster.id, r)).to.deep.include({
        gateway: cluster.id,
        sequence: 1n,
        leafCount: 10n,
      });
      expect(await client.anchorOf(evil.id, r)).to.deep.include({ gateway: evil.id, sequence: 1n, leafCount: 10n });
      expect(await client.anchorOf(baseStation.id, r)).to.deep.include({ gateway: baseStation.id, leafCount: 3n });
      // and a gateway anchoring a fog root after the cluster neither fails nor touches the cluster's record
      await anchor.anchorFogBatch(cluster.id, root("y"), 1n, signed(ctx, [1, 2, 3], { sequence: 2n, root: root("y") }));
      await expect(anchor.connect(baseStation.key).anchor(baseStation.id, root("y"), 7n)).to.emit(anchor, "Anchored");
      expect(await client.anchorOf(cluster.id, root("y"))).to.deep.include({ sequence: 2n, leafCount: 1n });
    });

    it("stops a cluster the registry suspends or revokes, and resumes a reinstated one", async function () {
      const { anchor, cluster, city, coordinators, members } = ctx;
      const evidence = ethers.id("evidence: forged batch");
      const sig1 = signed(ctx, [1, 2, 3], { sequence: 1n, root: root("s1") });
      for (const r of [...coordinators, members[0]!])
        await city.registry.connect(r.key).report(r.id, cluster.id, evidence);
      expect(await city.registry.statusOf(cluster.id)).to.equal(Status.Suspended);
      await expect(anchor.anchorFogBatch(cluster.id, root("s1"), 1n, sig1))
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(cluster.id, Status.Suspended);
      for (const c of coordinators) await city.client.connect(c.key).approve(c.id, cluster.id);
      await expect(anchor.anchorFogBatch(cluster.id, root("s1"), 1n, sig1))
        .to.emit(anchor, "Anchored")
        .withArgs(cluster.id, 1n, root("s1"), 1n);
      await city.registry.connect(city.operator).revoke(cluster.id);
      await expect(
        anchor.anchorFogBatch(cluster.id, root("s2"), 1n, signed(ctx, [1, 2, 3], { sequence: 2n, root: root("s2") })),
      )
        .to.be.revertedWithCustomError(anchor, "DataAnchorGatewayNotActive")
        .withArgs(cluster.id, Status.Revoked);
    });

    it("verifies readings against a fog root like a gateway root; chains stay apart", async function () {
      const { anchor, client, cluster, baseStation } = ctx;
      const values: [string, bigint][] = Array.from({ length: 9 }, (_, i) => [ethers.id(`reading ${i}`), BigInt(i)]);
      const tree = StandardMerkleTree.of(values, ["bytes32", "uint256"]);
      await anchor.connect(baseStation.key).anchor(baseStation.id, root("bs"), 1n);
      const batch = await client.nextFogBatch(cluster.id, tree.root as Hex, values.length);
      expect(batch.sequence).to.equal(1n);
      const sig = hexOf(groupSign(ctx.key, [2, 3, 5], batch.message));
      const result = await client.anchorFogBatch(cluster.id, tree.root as Hex, values.length, sig);
      expect(result).to.deep.include({ gateway: cluster.id, sequence: 1n, leafCount: 9n });
      // the contract takes the once-hashed leaf, keccak256(abi.encode(values)), and hashes the leaf itself
      const once = (v: readonly unknown[]): string =>
        ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], v));
      for (const [i, v] of tree.entries()) {
        expect(ethers.keccak256(once(v))).to.equal(tree.leafHash(v));
        expect(await anchor.verifyReading(cluster.id, tree.root, once(v), tree.getProof(i))).to.equal(true);
      }
      const tampered = once([ethers.id("forged reading"), 3n]);
      expect(await anchor.verifyReading(cluster.id, tree.root, tampered, tree.getProof(3))).to.equal(false);
      expect(await anchor.verifyReading(baseStation.id, tree.root, once(values[0]!), tree.getProof(0))).to.equal(false);
      expect(await anchor.isAnchored(cluster.id, tree.root)).to.equal(true);
      expect(await anchor.isAnchored(baseStation.id, tree.root)).to.equal(false);
      expect((await anchor.anchorOf(cluster.id, tree.root)).gateway).to.equal(cluster.id);
      expect([await anchor.head(cluster.id), await anchor.head(baseStation.id)]).to.deep.equal([1n, 1n]);
    });
  });

  describe("gas", function () {
    let ctx: FogCity;
    beforeEach(async function () {
      ctx = await loadFixture(deployFogClusterFixture);
    });

    it("costs the same for 1 and 2^20 leaves, within 200,000 gas", async function () {
      const { anchor, cluster } = ctx;
      await anchor.anchorFogBatch(
        cluster.id,
        root("g0"),
        1n,
        signed(ctx, [1, 2, 3], { sequence: 1n, root: root("g0") }),
      );
      const gas: bigint[] = [];
      for (const [i, leaves] of [1n, 1n << 20n].entries()) {
        const sequence = BigInt(i + 2);
        const { root: r, sig } = denseBatch(ctx, `g-${leaves}`, sequence, leaves);
        const receipt = await (await anchor.anchorFogBatch(cluster.id, r, leaves, sig)).wait();
        gas.push(receipt!.gasUsed);
      }
      console.log(`        anchorFogBatch, 1 leaf: ${gas[0]} gas; 2^20 leaves: ${gas[1]} gas`);
      expect(gas[0]).to.equal(gas[1]);
      expect(gas[0]! <= 200_000n).to.equal(true);
    });
  });
});

/**
 * A batch of `label` at `sequence` whose root and group signature hold no zero byte (the 96
 * coordinate bytes), so that its calldata costs the same as any other such batch: a threshold
 * signature is unique (any t members make the same one), so the root is what varies.
 */
function denseBatch(ctx: FogCity, label: string, sequence: bigint, leafCount: bigint): { root: Hex; sig: Hex } {
  for (let n = 0; ; n++) {
    const r = denseRoot(`${label}/${n}`);
    const sig = groupSign(ctx.key, [1, 2, 3], message(ctx, { sequence, root: r, leafCount }));
    if (![...sig.subarray(16, 64), ...sig.subarray(80, 128)].includes(0)) return { root: r, sig: hexOf(sig) };
  }
}
