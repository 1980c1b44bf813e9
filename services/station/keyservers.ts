/**
 * The station's and the simulated devices' identity keys from the key servers (seed 000's PKG as
 * t-of-n processes): the master public key from the servers' public file, a station's epoch keys
 * from `stationKeySource` (fetched ahead, each request signed by the station's registered
 * account), a device's keys from `requestIdentityKeys` (signed by its registered device key).
 */
import type { Wallet } from "ethers";

import type { G2 } from "../../sdk/core/crypto/backend.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import type { Hex } from "../../sdk/core/bytes.ts";
import type { NodeKeys } from "../../sdk/core/nbiot/params.ts";
import { loadKeyServerPublic, requestIdentityKeys, stationKeySource } from "../keyserver/client.ts";
import type { Logger } from "../runtime/log.ts";
import type { StationConfig } from "./config.ts";
import { type KeyProviderContext, type RunningStation, type StationKeyProvider, startStation } from "./service.ts";

/** Where the key servers are: their base URLs (in dealing order) and their public file. */
export interface KeyServersConfig {
  readonly urls: readonly string[];
  readonly publicFile: string;
}

/** The PKG's master public key, from the key servers' public file. */
export async function keyServersMasterPublic(config: KeyServersConfig): Promise<G2> {
  return loadKeyServerPublic(await mclBackend(), config.publicFile).masterPublic;
}

/** A station's epoch keys from the key servers. */
export function keyServerStationKeys(
  config: KeyServersConfig,
  id: Hex,
  chain: { readonly chainId: bigint; readonly registry: string },
): (context: KeyProviderContext) => StationKeyProvider {
  return (context) => {
    const source = stationKeySource({
      servers: config.urls,
      public: config.publicFile,
      id,
      signer: context.account,
      chainId: chain.chainId,
      registry: chain.registry,
      timing: context.timing,
      clock: context.clock,
      now: context.clock,
    });
    return { keys: source, start: () => source.start(), stop: () => source.stop() };
  };
}

/** A device's keys from the key servers, its request signed by its registered device key. */
export function keyServerNodeKeys(
  config: KeyServersConfig,
  chain: { readonly chainId?: bigint; readonly registry?: string } = {},
): (device: { readonly id: Hex; readonly signer: Wallet }) => Promise<NodeKeys> {
  return (device) =>
    requestIdentityKeys({
      servers: config.urls,
      public: config.publicFile,
      id: device.id,
      signer: device.signer,
      ...(chain.chainId === undefined ? {} : { chainId: chain.chainId }),
      ...(chain.registry === undefined ? {} : { registry: chain.registry }),
      role: "node",
    });
}

/**
 * A station as `strata station run` starts it: its epoch keys from the key servers its
 * configuration names (what a benchmark or a local deployment calls in process).
 */
export async function startStationWithKeyServers(
  config: StationConfig,
  options: { readonly passphrase: string; readonly logger?: Logger },
): Promise<RunningStation> {
  const chain = { chainId: BigInt(config.chainId), registry: config.deviceRegistry };
  return startStation(config, {
    passphrase: options.passphrase,
    masterPublic: await keyServersMasterPublic(config.keyServers),
    keyProvider: keyServerStationKeys(config.keyServers, config.id, chain),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}
