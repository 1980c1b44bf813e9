/**
 * The chains of a local deployment (`npm start`, `npm run demo`, the process tests): JSON-RPC
 * nodes in processes of their own (`hardhat node` and anvil, support/node-process.ts), Strata's
 * contracts deployed on each with the SDK's `deployStrata` from the node's first account, a layer
 * operated by that account, two coordination nodes appointed, and the ways to put entities on
 * chain that every caller shares: funded keys, registrations signed by the entity's own key,
 * full nodes admitted by both coordination nodes (seed 001's joins). The test helper
 * test/helpers/rpc-chain.ts is this module's `deployOnChain`.
 */
import { Agent } from "node:http";

import { FetchRequest, JsonRpcProvider, parseEther, type Signer, Wallet } from "ethers";

import type { Hex } from "../../sdk/core/bytes.ts";
import { Label } from "../../sdk/core/labels.ts";
import { minimalProfile } from "../../sdk/core/profile.ts";
import { Kind, type RegistryConfig } from "../../sdk/core/registry.ts";
import { buildRegistration } from "../../sdk/core/registration.ts";
import { DeviceRegistryClient } from "../../sdk/contracts/registry.ts";
import { deployStrata, type StrataContract, type StrataDeployment } from "../../sdk/contracts/deploy.ts";
import { type NodeProcess, startAnvil, startHardhatNode } from "../../support/node-process.ts";

/** The registry rules of local deployments: an hour of heartbeat and trust-case time. */
export const LOCAL_REGISTRY_RULES: RegistryConfig = {
  fullNodeApprovals: 2,
  reportPenalty: 250,
  suspendBelow: 600,
  blockBelow: 300,
  epochLength: 3600,
  heartbeatTimeout: 3600,
};

/** The chain id of the second chain (anvil): the city layer's. `hardhat node` keeps 31337. */
export const ANVIL_CHAIN_ID = 31338n;

/** Strata's contracts on one chain, and how to put entities there. */
export interface StrataChain {
  readonly provider: JsonRpcProvider;
  /** The node's first account: deployer, registry admin and the layer's operator. */
  readonly admin: Signer;
  readonly chainId: bigint;
  readonly deployment: StrataDeployment;
  readonly registry: DeviceRegistryClient;
  readonly anchorAddress: string;
  /** `AccessTokens`, when deployed. */
  readonly accessTokensAddress: string | undefined;
  /** The layer whose UUIDs `register` hands out (operated by `admin`). */
  readonly layer: string;
  /** The appointed coordination nodes (they approve joins). */
  readonly coordinators: readonly { readonly id: Hex; readonly key: Wallet }[];
  /** A key of its own holding `eth` ether. */
  funded(eth?: string): Promise<Wallet>;
  /** Sends `eth` ether from `admin` to `address`. */
  fund(address: string, eth?: string): Promise<void>;
  /**
   * Registers an entity of `kind` and `label` (`profile`: its type path) with a funded key of its
   * own, or with `key` when given (funded too).
   */
  register(label: Label, kind: Kind, profile: string, key?: Wallet): Promise<{ id: Hex; key: Wallet }>;
  /** Registers a full node of `kind` and has both coordination nodes approve it (Active). */
  admit(kind: Kind, profile: string, key?: Wallet): Promise<{ id: Hex; key: Wallet }>;
  /** Has a coordination node approve a lightweight device, served by full node `serving`. */
  approveDevice(id: Hex, serving: Hex): Promise<void>;
}

export interface DeployOnChainOptions {
  /** The layer `admin` operates (default `strata://local`). */
  readonly layer?: string;
  /** The registry's rules (default `LOCAL_REGISTRY_RULES`). */
  readonly rules?: RegistryConfig;
  /** Which contracts (default all three). */
  readonly contracts?: readonly StrataContract[];
}

/** Deploys Strata through `provider`'s first account and appoints two coordination nodes. */
export async function deployOnChain(
  provider: JsonRpcProvider,
  options: DeployOnChainOptions = {},
): Promise<StrataChain> {
  const layer = options.layer ?? "strata://local";
  const admin = await provider.getSigner(0);
  const adminAddress = await admin.getAddress();
  const deployment = await deployStrata(admin, {
    rules: options.rules ?? LOCAL_REGISTRY_RULES,
    ...(options.contracts ? { contracts: options.contracts } : {}),
  });
  const registry = new DeviceRegistryClient(deployment.registry, admin);
  await registry.setLayerOperator(layer, adminAddress);
  let localId = 0n;
  // One registration at a time: the coordination nodes' keys send the approvals, and two sends
  // from one key at once would take the same nonce.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };
  async function fund(address: string, eth = "10"): Promise<void> {
    await (await admin.sendTransaction({ to: address, value: parseEther(eth) })).wait();
  }
  async function funded(eth = "10"): Promise<Wallet> {
    const key = new Wallet(Wallet.createRandom().privateKey, provider);
    await fund(key.address, eth);
    return key;
  }
  async function register(label: Label, kind: Kind, profile: string, given?: Wallet) {
    const key = given ? given.connect(provider) : await funded();
    if (given) await fund(key.address);
    const req = buildRegistration({
      uuid: { layer, localId: ++localId },
      key: key.address,
      kind,
      label,
      permissions: 1,
      profile: minimalProfile(profile),
      deadline: 2n ** 40n,
    });
    const { id } = await registry.register(req, await registry.signRegistration(key, req, adminAddress));
    return { id, key };
  }
  const coordinators = [
    await register(Label.Coordination, Kind.Device, "Device/Sensor/Temperature"),
    await register(Label.Coordination, Kind.Device, "Device/Sensor/Temperature"),
  ];
  for (const c of coordinators) await registry.appointCoordinator(c.id);
  return {
    provider,
    admin,
    chainId: deployment.chainId,
    deployment,
    registry,
    anchorAddress: deployment.contracts.DataAnchor?.address ?? "",
    accessTokensAddress: deployment.contracts.AccessTokens?.address,
    layer,
    coordinators,
    funded,
    fund,
    register: (label, kind, profile, key) => serial(() => register(label, kind, profile, key)),
    admit: (kind, profile, key) =>
      serial(async () => {
        const node = await register(Label.Full, kind, profile, key);
        for (const c of coordinators) await registry.connect(c.key).approve(c.id, node.id);
        return node;
      }),
    approveDevice: (id, serving) =>
      serial(async () => {
        const c = coordinators[0]!;
        await registry.connect(c.key).approve(c.id, id, serving);
      }),
  };
}

/**
 * A provider opening a connection per request: a pooled connection the node closes after five
 * idle seconds (its keep-alive timeout) can be taken for the next request at that very moment,
 * which then fails with ECONNRESET ("socket hang up"); a deployment's registrations and the
 * live view have such pauses.
 */
function unpooledProvider(url: string): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.getUrlFunc = FetchRequest.createGetUrlFunc({ agent: new Agent({ keepAlive: false }) });
  return new JsonRpcProvider(request, undefined, { cacheTimeout: -1, polling: true, pollingInterval: 250 });
}

/** A chain of a local deployment: its node process and Strata on it. */
export interface LocalChain extends StrataChain {
  /** `hardhat` or `anvil`. */
  readonly name: string;
  readonly url: string;
  readonly node: NodeProcess;
  /** Stops the node process (and destroys the provider). */
  stop(): Promise<void>;
}

export interface LocalChainsOptions {
  /** Each node in a process group of its own (`npm start`: Ctrl-C reaches the starter only). */
  readonly detached?: boolean;
  /** The layer each chain's admin operates. */
  readonly layer?: string;
}

/**
 * The two chains of a local deployment: `hardhat node` (chain 31337: the registry, stations, fog
 * and district layers) and anvil (chain 31338: the city layer), on free loopback ports, each with
 * Strata deployed. On a failure, whatever started is stopped.
 */
export async function startLocalChains(
  options: LocalChainsOptions = {},
): Promise<{ hardhat: LocalChain; anvil: LocalChain }> {
  const detached = options.detached ?? false;
  const started: NodeProcess[] = [];
  try {
    const [hh, av] = await Promise.all([
      startHardhatNode({ detached, network: "localNode" }).then((n) => (started.push(n), n)),
      startAnvil(ANVIL_CHAIN_ID, { detached }).then((n) => (started.push(n), n)),
    ]);
    const on = async (name: string, node: NodeProcess): Promise<LocalChain> => {
      const provider = unpooledProvider(node.url);
      return {
        ...(await deployOnChain(provider, options.layer === undefined ? {} : { layer: options.layer })),
        name,
        url: node.url,
        node,
        stop: async () => {
          provider.destroy();
          await node.stop();
        },
      };
    };
    const [hardhat, anvil] = await Promise.all([on("hardhat", hh), on("anvil", av)]);
    return { hardhat, anvil };
  } catch (error) {
    await Promise.allSettled(started.map((n) => n.stop()));
    throw error;
  }
}
