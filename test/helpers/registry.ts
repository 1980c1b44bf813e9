/**
 * Shared set-up for registry tests: a deployed registry (Ignition module) and
 * helpers that register and admit devices the way operators do, through the SDK.
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import type { HDNodeWallet } from "ethers";

import RegistryModule, { DEFAULT_REGISTRY_CONFIG } from "../../ignition/modules/DeviceRegistry.ts";
import { type Hex, type RegistrationMessage } from "../../sdk/index.ts";
import { buildRegistration, DeviceRegistryClient, Kind, Label, minimalProfile } from "../../sdk/exports/registry.ts";
import type { DeviceRegistry } from "../../types/ethers-contracts/index.ts";

/** Edge layers whose operator is the fixture's `operator`. */
export const TEST_LAYERS = ["strata://city/d7/edge-3", "strata://city/d1/edge-1"] as const;

/** The rules the tests run under: the deployment defaults. */
export const TEST_CONFIG = DEFAULT_REGISTRY_CONFIG;

export const FAR_DEADLINE = 2n ** 40n;

export interface Node {
  readonly id: Hex;
  readonly key: HDNodeWallet;
  readonly uuid: { layer: string; localId: bigint };
}

export interface City {
  readonly ethers: HardhatEthers;
  readonly registry: DeviceRegistry;
  readonly client: DeviceRegistryClient;
  readonly admin: HardhatEthersSigner;
  readonly operator: HardhatEthersSigner;
  readonly stranger: HardhatEthersSigner;
}

let nextLocalId = 1n;

/** A funded random key (device keys send their own heartbeats, approvals and reports). */
export async function fundedKey(ethers: HardhatEthers, funder: HardhatEthersSigner): Promise<HDNodeWallet> {
  const key = ethers.Wallet.createRandom().connect(ethers.provider);
  await (await funder.sendTransaction({ to: key.address, value: ethers.parseEther("1") })).wait();
  return key;
}

/** A registration request signed by `key` for `owner`. */
export async function signedRegistration(
  client: DeviceRegistryClient,
  key: HDNodeWallet,
  owner: string,
  options: {
    label?: Label;
    kind?: Kind;
    layer?: string;
    localId?: bigint;
    deadline?: bigint;
    permissions?: number;
  } = {},
): Promise<{ req: RegistrationMessage; sig: { r: Hex; vs: Hex }; uuid: { layer: string; localId: bigint } }> {
  const uuid = { layer: options.layer ?? TEST_LAYERS[0], localId: options.localId ?? nextLocalId++ };
  const req = buildRegistration({
    uuid,
    key: key.address,
    kind: options.kind ?? Kind.Device,
    label: options.label ?? Label.Lightweight,
    permissions: options.permissions ?? 1,
    profile: minimalProfile("Device/Meter/Electric"),
    deadline: options.deadline ?? FAR_DEADLINE,
  });
  return { req, sig: await client.signRegistration(key, req, owner), uuid };
}

/** Registers a node owned by the operator (status Pending). */
export async function registerNode(city: City, label: Label, kind: Kind = Kind.Device): Promise<Node> {
  const key = await fundedKey(city.ethers, city.admin);
  const { req, sig, uuid } = await signedRegistration(city.client, key, city.operator.address, { label, kind });
  const { id } = await city.client.connect(city.operator).register(req, sig);
  return { id, key, uuid };
}

/** Registers and appoints a coordination node. */
export async function coordinator(city: City): Promise<Node> {
  const node = await registerNode(city, Label.Coordination);
  await city.client.connect(city.admin).appointCoordinator(node.id);
  return node;
}

/** Registers a full node (a device, or a gateway of `kind`) and admits it with approvals from `coordinators`. */
export async function fullNode(city: City, coordinators: readonly Node[], kind: Kind = Kind.Device): Promise<Node> {
  const node = await registerNode(city, Label.Full, kind);
  for (const c of coordinators.slice(0, TEST_CONFIG.fullNodeApprovals))
    await city.client.connect(c.key).approve(c.id, node.id);
  return node;
}

/** Registers a lightweight device and admits it, served by `serving`. */
export async function lightweight(city: City, admittedBy: Node, serving: Node): Promise<Node> {
  const node = await registerNode(city, Label.Lightweight);
  await city.client.connect(admittedBy.key).approve(admittedBy.id, node.id, serving.id);
  return node;
}

/** Deploys a fresh registry with `TEST_CONFIG`; the named fixture for `loadFixture`. */
/** The part of the connection's Ignition helper the fixture uses. */
interface Ignition {
  deploy(module: typeof RegistryModule, options: { parameters: DeploymentParameters }): Promise<unknown>;
}

export function registryFixture(ethers: HardhatEthers, ignition: Ignition) {
  return async function deployRegistryFixture(): Promise<City> {
    const [admin, operator, stranger] = await ethers.getSigners();
    const { registry } = (await ignition.deploy(RegistryModule, {
      parameters: { DeviceRegistry: { ...TEST_CONFIG, admin: admin!.address } },
    })) as { registry: DeviceRegistry };
    const client = new DeviceRegistryClient(await registry.getAddress(), admin!);
    for (const layer of TEST_LAYERS) await client.setLayerOperator(layer, operator!.address);
    return { ethers, registry, client, admin: admin!, operator: operator!, stranger: stranger! };
  };
}
