/**
 * Shared set-up for the AccessTokens tests: a registry (Ignition) with two
 * devices owned by the operator (the resources), AccessTokens deployed by its
 * own Ignition module, crews of plain accounts, and a client per role.
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";

import AccessTokensModule from "../../ignition/modules/AccessTokens.ts";
import type RegistryModule from "../../ignition/modules/DeviceRegistry.ts";
import { type Hex } from "../../sdk/index.ts";
import { AccessTokensClient } from "../../sdk/exports/access.ts";
import type { AccessTokens } from "../../types/ethers-contracts/index.ts";
import { type City, coordinator, fullNode, lightweight, type Node, registryFixture } from "./registry.ts";

/** The part of the connection's Ignition helper the fixture uses. */
interface Ignition {
  deploy(module: typeof RegistryModule, options: { parameters: DeploymentParameters }): Promise<unknown>;
  deploy(module: typeof AccessTokensModule, options: { parameters: DeploymentParameters }): Promise<unknown>;
}

export interface AccessCity {
  readonly city: City;
  readonly tokens: AccessTokens;
  readonly address: string;
  /** The resources' owner (the registry's owner of both devices). */
  readonly owner: HardhatEthersSigner;
  /** A device's data stream and an actuator, both registered devices of `owner`, admitted (Active). */
  readonly stream: Hex;
  readonly actuator: Hex;
  /** The coordination nodes that admitted them (they admit more devices). */
  readonly coordinators: readonly Node[];
  /** The full node serving them. */
  readonly serving: Node;
  readonly crewA: HardhatEthersSigner;
  readonly crewB: HardhatEthersSigner;
  readonly crewC: HardhatEthersSigner;
  readonly stranger: HardhatEthersSigner;
  /** The client acting through the owner's account. */
  readonly client: AccessTokensClient;
}

/** Deploys a registry, registers and admits two devices of the operator and deploys AccessTokens. */
export function accessFixture(ethers: HardhatEthers, ignition: Ignition) {
  const deployRegistryFixture = registryFixture(ethers, ignition);
  return async function deployAccessFixture(): Promise<AccessCity> {
    const city = await deployRegistryFixture();
    // tokens are minted for, and grant access to, Active resources only: admit the two devices
    const coordinators = [await coordinator(city), await coordinator(city)];
    const serving = await fullNode(city, coordinators);
    const stream = (await lightweight(city, coordinators[0]!, serving)).id;
    const actuator = (await lightweight(city, coordinators[0]!, serving)).id;
    const { accessTokens } = (await ignition.deploy(AccessTokensModule, {
      parameters: { AccessTokens: { registry: await city.registry.getAddress() } },
    })) as { accessTokens: AccessTokens };
    const address = await accessTokens.getAddress();
    const signers = await ethers.getSigners();
    const [crewA, crewB, crewC] = signers.slice(5, 8);
    return {
      city,
      tokens: accessTokens,
      address,
      owner: city.operator,
      stream,
      actuator,
      coordinators,
      serving,
      crewA: crewA!,
      crewB: crewB!,
      crewC: crewC!,
      stranger: city.stranger,
      client: new AccessTokensClient(address, city.operator),
    };
  };
}

export const HOUR = 3_600n;
