/**
 * A fog site on a real JSON-RPC chain (anvil or `hardhat node`, `node-process.ts`): the registry
 * and `DataAnchor` deployed, five fog nodes and their cluster admitted, the cluster's DKG key
 * registered with every member's approval. `deploySite` runs in the test; `openSite` opens the
 * site's five fog nodes (member 1 proposes) over their SQLite files and its `FogCluster`, in the
 * test or in a child process (`test-processes/fog-site.ts`) that the test kills and restarts. Everything a
 * process needs is in a `SiteConfig`, plain JSON.
 */
import { join } from "node:path";

import { type JsonRpcProvider, type Signer, Wallet } from "ethers";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { Peks } from "../../sdk/core/crypto/peks.ts";
import { ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { filterPolicy, SENSITIVE } from "../../sdk/core/fog/filter.ts";
import { Kind, Status } from "../../sdk/core/registry.ts";
import { DataAnchorClient } from "../../sdk/contracts/anchor.ts";
import type { DeviceRegistryClient } from "../../sdk/contracts/registry.ts";
import { type FogAnchorPort, FogCluster, type FogMember } from "../../sdk/fog/cluster.ts";
import { FogNode } from "../../sdk/fog/fog-node.ts";
import { FogStore } from "../../sdk/store/fog-store.ts";
import { backend, type District, MemoryFogDirectory } from "./fog.ts";
import { deployRpcChain } from "./rpc-chain.ts";

const LAYER = "strata://city/fog/site";

/** What a process needs to run a site's fog nodes and cluster. */
export interface SiteConfig {
  readonly url: string;
  readonly chainId: string;
  readonly anchor: string;
  readonly cluster: Hex;
  /** A funded key that sends the anchoring transactions. */
  readonly sender: string;
  readonly dir: string;
  readonly peksSecret: string;
  readonly threshold: number;
  /** The group's Feldman commitments, compressed G2, hex. */
  readonly commitments: readonly Hex[];
  readonly members: readonly { readonly index: number; readonly id: Hex; readonly secret: string }[];
  readonly devices: readonly { readonly id: Hex; readonly p256: Hex }[];
  /** Confirmations after which a batch is final. */
  readonly finalityDepth: number;
}

/** The chain side of a deployment, shared by the sites of one test file. */
export interface Chain {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  readonly admin: Signer;
  readonly chainId: bigint;
  readonly registry: DeviceRegistryClient;
  readonly anchor: DataAnchorClient;
  /** A key of its own holding ether. */
  funded(): Promise<Wallet>;
  /** A fog node registered with a funded key and admitted (Active). */
  admit(): Promise<{ id: Hex; key: Wallet }>;
}

/** Deploys the registry and `DataAnchor` on the node at `url`. */
export async function deployChain(url: string, provider: JsonRpcProvider): Promise<Chain> {
  const chain = await deployRpcChain(provider, LAYER);
  return {
    url,
    provider,
    admin: chain.admin,
    chainId: chain.chainId,
    registry: chain.registry,
    anchor: new DataAnchorClient(chain.anchorAddress, chain.admin),
    funded: () => chain.funded(),
    admit: () => chain.admit(Kind.FogNode, "Gateway/Fog"),
  };
}

/**
 * A fresh cluster of five fog nodes (3 of 5) on `chain`, with `district`'s DKG key and PEKS
 * owner, its stores in `dir`; `devices` are the district's devices its nodes accept.
 */
export async function deploySite(
  chain: Chain,
  district: District,
  dir: string,
  devices: readonly { readonly id: Hex; readonly key: { readonly publicKey: Uint8Array } }[],
  finalityDepth = 2,
): Promise<SiteConfig> {
  const admitted = () => chain.admit();
  const members = [];
  for (let i = 0; i < 5; i++) members.push(await admitted());
  const cluster = await admitted();
  const { commitments, shares } = district.cluster;
  const sender = await chain.funded();
  const config: SiteConfig = {
    url: chain.url,
    chainId: String(chain.chainId),
    anchor: chain.anchor.address,
    cluster: cluster.id,
    sender: sender.privateKey,
    dir,
    peksSecret: String(district.ownerPeks.secret),
    threshold: commitments.threshold,
    commitments: commitments.points.map((p) => toHex(backend.g2.toBytes(p))),
    members: members.map((m, i) => ({ index: i + 1, id: m.id, secret: String(shares[i]!.secret) })),
    devices: devices.map((d) => ({ id: d.id, p256: toHex(d.key.publicKey) })),
    finalityDepth,
  };
  // the site's own fog nodes sign the proof of possession of their key; every member approves it
  const site = openSite(config, chain.provider);
  try {
    await site.cluster.register({
      client: chain.anchor,
      clusterKey: cluster.key,
      memberKeys: members.map((m) => m.key),
    });
  } finally {
    site.close();
  }
  return config;
}

/** The path of member `index`'s store in a site. */
export const storePath = (config: SiteConfig, index: number): string => join(config.dir, `member-${index}.sqlite`);

export interface Site {
  /** Member 1, the proposer. */
  readonly proposer: FogNode;
  readonly members: readonly FogNode[];
  readonly cluster: FogCluster;
  readonly anchor: DataAnchorClient;
  /** The registry as the site's nodes and cluster read it (a test sets a device's status). */
  readonly directory: MemoryFogDirectory;
  close(): void;
}

/**
 * Opens a site's fog nodes from their store files and its cluster, over `provider`; `port` wraps
 * the chain port the cluster anchors through (a test hook), `members` wraps each member.
 */
export function openSite(
  config: SiteConfig,
  provider: JsonRpcProvider,
  wrap: {
    port?: (port: FogAnchorPort) => FogAnchorPort;
    member?: (node: FogNode) => FogMember;
    /** Overrides the config's `finalityDepth`; `null`: none (the node's `finalized` block decides). */
    finalityDepth?: number | null;
  } = {},
): Site {
  const scheme = new ThresholdScheme(backend);
  const peks = new Peks(backend);
  const policy = filterPolicy(peks.trapdoor(BigInt(config.peksSecret), SENSITIVE));
  const directory = new MemoryFogDirectory();
  for (const d of config.devices) directory.set(d.id, Kind.Device, Status.Active, Buffer.from(d.p256.slice(2), "hex"));
  for (const m of config.members) directory.set(m.id, Kind.FogNode, Status.Active);
  const commitments = {
    threshold: config.threshold,
    points: config.commitments.map((h) => backend.g2.fromBytes(Buffer.from(h.slice(2), "hex"))),
  };
  const anchor = new DataAnchorClient(config.anchor, new Wallet(config.sender, provider));
  const members = config.members.map(
    (m) =>
      new FogNode({
        id: m.id,
        index: m.index,
        share: { index: m.index, secret: BigInt(m.secret) },
        commitments,
        scheme,
        policy,
        directory,
        store: new FogStore(storePath(config, m.index), m.id),
        anchors: anchor,
      }),
  );
  const cluster = new FogCluster({
    id: config.cluster,
    deployment: { chainId: BigInt(config.chainId), anchor: config.anchor },
    commitments,
    scheme,
    members: members.map((m) => wrap.member?.(m) ?? m),
    anchor: wrap.port?.(anchor) ?? anchor,
    directory,
    ...(wrap.finalityDepth === null ? {} : { finalityDepth: wrap.finalityDepth ?? config.finalityDepth }),
    blocks: provider,
  });
  return {
    proposer: members[0]!,
    members,
    cluster,
    anchor,
    directory,
    close() {
      for (const m of members) m.store.close();
    },
  };
}
