/**
 * A chain for a base station's anchoring faults: a `DeviceRegistry` and a
 * `DataAnchor` deployed on a node in its own process (anvil), and base
 * stations registered on it with funded keys of their own, so their anchors
 * are real transactions a test can drop, hold back, roll back or pin to another chain.
 */
import { type HDNodeWallet, type JsonRpcProvider, type Signer, Wallet, parseEther } from "ethers";

import { buildRegistration, DeviceRegistryClient, type Hex, Kind, Label, minimalProfile } from "../../sdk/index.ts";
import { DataAnchor__factory, DeviceRegistry__factory } from "../../types/ethers-contracts/index.ts";
import type { NodeProcess } from "./node-process.ts";

const LAYER = "strata://city/port/nbiot";
const CONFIG = {
  fullNodeApprovals: 2,
  reportPenalty: 250,
  suspendBelow: 600,
  blockBelow: 300,
  epochLength: 3600,
  heartbeatTimeout: 3600,
};

export interface AnchorChain {
  readonly node: NodeProcess;
  readonly provider: JsonRpcProvider;
  readonly admin: Signer;
  readonly registry: DeviceRegistryClient;
  readonly anchorAddress: string;
  readonly chainId: bigint;
  /** Registers a base station with a funded key of its own (admitted by two coordinators). */
  station(): Promise<{ id: Hex; key: HDNodeWallet }>;
  /** A raw JSON-RPC call to the node (`evm_mine`, `evm_snapshot`, `anvil_dropTransaction` …). */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
}

/** Deploys the registry and `DataAnchor` from the node's first account. */
export async function deployAnchorChain(node: NodeProcess): Promise<AnchorChain> {
  const provider = node.provider;
  const admin = await provider.getSigner(0);
  const adminAddress = await admin.getAddress();
  const reg = await new DeviceRegistry__factory(admin).deploy(adminAddress, CONFIG);
  await reg.waitForDeployment();
  const anchor = await new DataAnchor__factory(admin).deploy(await reg.getAddress());
  await anchor.waitForDeployment();
  const registry = new DeviceRegistryClient(await reg.getAddress(), admin);
  await registry.setLayerOperator(LAYER, adminAddress);
  let localId = 0n;
  async function register(label: Label, kind: Kind): Promise<{ id: Hex; key: HDNodeWallet }> {
    const key = Wallet.createRandom().connect(provider);
    await (await admin.sendTransaction({ to: key.address, value: parseEther("1") })).wait();
    const req = buildRegistration({
      uuid: { layer: LAYER, localId: ++localId },
      key: key.address,
      kind,
      label,
      permissions: 1,
      profile: minimalProfile(kind === Kind.BaseStation ? "Gateway/BaseStation/NB-IoT" : "Device/Sensor/Temperature"),
      deadline: 2n ** 40n,
    });
    const { id } = await registry.register(req, await registry.signRegistration(key, req, adminAddress));
    return { id, key };
  }
  const coords = [await register(Label.Coordination, Kind.Device), await register(Label.Coordination, Kind.Device)];
  for (const c of coords) await registry.appointCoordinator(c.id);
  return {
    node,
    provider,
    admin,
    registry,
    anchorAddress: await anchor.getAddress(),
    chainId: (await provider.getNetwork()).chainId,
    async station() {
      const s = await register(Label.Full, Kind.BaseStation);
      for (const c of coords) await registry.connect(c.key).approve(c.id, s.id);
      return s;
    },
    rpc: (method, params = []) => provider.send(method, params),
  };
}
