/**
 * The demo parts' one way to put a new entity on chain: a funded key, a
 * registration in the demo's edge layer signed by that key, sent by the
 * layer's operator.
 */
import { type HDNodeWallet, type JsonRpcProvider, parseEther, type Signer, Wallet } from "ethers";

import { type Hex } from "../../sdk/index.ts";
import {
  buildRegistration,
  type DeviceRegistryClient,
  type Kind,
  type Label,
  minimalProfile,
} from "../../sdk/exports/registry.ts";

export interface RegisterContext {
  readonly provider: JsonRpcProvider;
  readonly client: DeviceRegistryClient;
  readonly admin: Signer;
  readonly operator: Signer;
  readonly layer: string;
  nextLocalId(): bigint;
}

/** Registers a new entity of `kind`/`label` and class `cls` (status Pending); its key holds 1 ETH. */
export async function registerEntity(
  ctx: RegisterContext,
  kind: Kind,
  label: Label,
  cls: string,
): Promise<{ id: Hex; key: HDNodeWallet }> {
  const { client, admin, operator } = ctx;
  const key = Wallet.createRandom().connect(ctx.provider);
  await (await admin.sendTransaction({ to: key.address, value: parseEther("1") })).wait();
  const req = buildRegistration({
    uuid: { layer: ctx.layer, localId: ctx.nextLocalId() },
    key: key.address,
    kind,
    label,
    permissions: 1,
    profile: minimalProfile(cls),
    deadline: 2n ** 40n,
  });
  const { id } = await client
    .connect(operator)
    .register(req, await client.signRegistration(key, req, await operator.getAddress()));
  return { id, key };
}
