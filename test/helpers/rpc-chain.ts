/**
 * A Strata deployment on a JSON-RPC node in its own process (anvil or `hardhat node`,
 * `node-process.ts`): the `DeviceRegistry` and `DataAnchor` deployed from the node's first
 * account, a layer operated by it, two coordination nodes appointed, and helpers that register
 * devices with funded keys of their own (so their transactions are real ones a test can drop,
 * hold back, roll back or kill a process around). Plain ethers and SDK code: child processes
 * of the crash tests use it too.
 */
import { type JsonRpcProvider, parseEther, type Signer, Wallet } from "ethers";

import type { Hex } from "../../sdk/core/bytes.ts";
import { Label } from "../../sdk/core/labels.ts";
import { minimalProfile } from "../../sdk/core/profile.ts";
import { Kind } from "../../sdk/core/registry.ts";
import { buildRegistration } from "../../sdk/core/registration.ts";
import { DeviceRegistryClient } from "../../sdk/contracts/registry.ts";
import { DataAnchor__factory, DeviceRegistry__factory } from "../../types/ethers-contracts/index.ts";

/** The registry rules of these deployments: an hour of heartbeat and trust-case time. */
export const RPC_REGISTRY_CONFIG = {
  fullNodeApprovals: 2,
  reportPenalty: 250,
  suspendBelow: 600,
  blockBelow: 300,
  epochLength: 3600,
  heartbeatTimeout: 3600,
};

export interface RpcChain {
  readonly provider: JsonRpcProvider;
  readonly admin: Signer;
  readonly chainId: bigint;
  readonly registry: DeviceRegistryClient;
  readonly anchorAddress: string;
  /** A key of its own holding `eth` ether. */
  funded(eth?: string): Promise<Wallet>;
  /** Registers a device of `kind` and `label` with a funded key (`profile`: its type path). */
  register(label: Label, kind: Kind, profile: string): Promise<{ id: Hex; key: Wallet }>;
  /** Registers a full node of `kind` and has both coordination nodes approve it (Active). */
  admit(kind: Kind, profile: string): Promise<{ id: Hex; key: Wallet }>;
}

/** Deploys the registry and `DataAnchor` through `provider`'s first account, with `layer` operated by it. */
export async function deployRpcChain(provider: JsonRpcProvider, layer: string): Promise<RpcChain> {
  const admin = await provider.getSigner(0);
  const adminAddress = await admin.getAddress();
  const reg = await new DeviceRegistry__factory(admin).deploy(adminAddress, RPC_REGISTRY_CONFIG);
  await reg.waitForDeployment();
  const anchor = await new DataAnchor__factory(admin).deploy(await reg.getAddress());
  await anchor.waitForDeployment();
  const registry = new DeviceRegistryClient(await reg.getAddress(), admin);
  await registry.setLayerOperator(layer, adminAddress);
  let localId = 0n;
  async function funded(eth = "10"): Promise<Wallet> {
    const key = new Wallet(Wallet.createRandom().privateKey, provider);
    await (await admin.sendTransaction({ to: key.address, value: parseEther(eth) })).wait();
    return key;
  }
  async function register(label: Label, kind: Kind, profile: string): Promise<{ id: Hex; key: Wallet }> {
    const key = await funded();
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
    chainId: (await provider.getNetwork()).chainId,
    registry,
    anchorAddress: await anchor.getAddress(),
    funded,
    register,
    async admit(kind, profile) {
      const node = await register(Label.Full, kind, profile);
      for (const c of coordinators) await registry.connect(c.key).approve(c.id, node.id);
      return node;
    },
  };
}
