/**
 * A whole Strata deployment on one machine, every role a process of its own talking over loopback
 * (issue 15's main job): the chains with the contracts, the key servers (t of n), the base
 * stations with simulated NB-IoT devices, the fog cluster with simulated air sensors, district and
 * city layer nodes (the city on the second chain) and edge nodes sending contracts. `npm start`,
 * `npm run demo` and the process tests all start it here, so they run the same services. Its
 * files (configurations, sealed secrets, stores, logs) live in one folder.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";

import { InvalidInputError } from "../../sdk/errors.ts";
import { ServiceProcessError } from "../runtime/process.ts";
import { type LocalChain, startLocalChains } from "./chain-setup.ts";
import { portAllocator } from "./ports.ts";
import { type KeyServers, startKeyServers } from "./roles/keyservers.ts";
import { startContractTraffic } from "./roles/contracts.ts";
import { type Fog, startFog } from "./roles/fog.ts";
import { type Layers, startLayers } from "./roles/layers.ts";
import { type Stations, startStations } from "./roles/stations.ts";
import type { ViewChain, ViewService, ViewSource } from "./live-view.ts";
import type { Scale } from "./scale.ts";
import { Supervisor, type SupervisorEvent } from "./supervisor.ts";

export interface LocalDeploymentOptions {
  /** The folder of its files (created). */
  readonly dir: string;
  readonly scale: Scale;
  /** Supervisor events (services started, ended, stopping). */
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** What happens besides the processes (a contract sent, a round failed). */
  readonly onNote?: (text: string) => void;
  /** Aborting while starting stops what has started and rejects. */
  readonly signal?: AbortSignal;
  /**
   * Mean wait between the self-examinations of district B's first layer member (its peers and its
   * superior, the city), in ms; none when absent.
   */
  readonly examineEveryMs?: number;
}

export interface LocalDeployment {
  readonly dir: string;
  readonly supervisor: Supervisor;
  readonly chains: { readonly hardhat: LocalChain; readonly anvil: LocalChain };
  readonly keyServers: KeyServers;
  readonly stations: Stations;
  readonly fog: Fog;
  readonly layers: Layers;
  /** What the live view reads. */
  readonly view: ViewSource;
  /** Stops every service in order, the chains last; `true` when all ended cleanly. */
  stop(): Promise<boolean>;
}

/** Starts a local deployment; on any failure, whatever started is stopped before rejecting. */
export async function startLocalDeployment(options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const { dir, signal, scale } = options;
  // Its files hold keys and the passphrase-sealed secrets: the owner's only.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const supervisor = new Supervisor({
    logDir: join(dir, "logs"),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  const checkAborted = () => {
    if (signal?.aborted) throw new InvalidInputError("the local deployment was stopped while starting");
    const failure = supervisor.firstFailure;
    if (failure) throw new ServiceProcessError(`${failure.name} ended on its own (${failure.how}) while starting`);
  };
  try {
    const chains = await startLocalChains({ detached: true });
    for (const c of [chains.hardhat, chains.anvil]) {
      supervisor.adopt(`chain ${c.name}`, "chain", () => c.stop(), c.node.exited());
    }
    checkAborted();
    // Every sealed secret of this deployment opens with one passphrase, handed to each service
    // in its environment (takePassphrase reads it once and removes it).
    const passphrase = randomBytes(24).toString("base64url");
    const note = options.onNote ?? (() => undefined);
    const { hardhat, anvil } = chains;
    const ports = portAllocator();

    // The fog cluster and the layers need no key servers: they are set up while the key servers
    // and then the stations start.
    const [started, fogging, establishing] = await Promise.allSettled([
      (async () => {
        const keyServers = await startKeyServers({
          dir,
          chain: hardhat,
          supervisor,
          passphrase,
          servers: 3,
          threshold: 2,
        });
        checkAborted();
        const stations = await startStations({
          dir,
          chain: hardhat,
          supervisor,
          passphrase,
          keyServers,
          scale,
          count: 3,
          ports,
        });
        return { keyServers, stations };
      })(),
      startFog({ dir, chain: hardhat, supervisor, passphrase, scale, ports }),
      startLayers({
        dir,
        hardhat,
        anvil,
        supervisor,
        passphrase,
        members: scale.layerMembers,
        ports,
        ...(options.examineEveryMs ? { examineEveryMs: options.examineEveryMs } : {}),
      }),
    ]);
    // both finished (nothing left starting) before a failure of either stops everything
    if (started.status === "rejected") throw started.reason;
    if (fogging.status === "rejected") throw fogging.reason;
    if (establishing.status === "rejected") throw establishing.reason;
    const fog = fogging.value;
    const { keyServers, stations } = started.value;
    const layers = establishing.value;
    checkAborted();
    const traffic = startContractTraffic({
      edges: layers.edges,
      everyMs: scale.contractEveryMs,
      onEvent: note,
    });
    supervisor.adopt("contracts", "simulator", () => traffic.stop());

    const names = new Map<string, string>(stations.stations.map((x) => [x.id.toLowerCase(), x.name]));
    names.set(fog.cluster.toLowerCase(), "fog cluster");
    const ledgersOn = (c: LocalChain) =>
      new Map([...layers.ledgers].filter(([, l]) => l.chain === c).map(([name, l]) => [name, l.address]));
    const viewChains: ViewChain[] = [
      {
        name: chains.hardhat.name,
        chainId: chains.hardhat.chainId,
        provider: chains.hardhat.provider,
        dataAnchor: chains.hardhat.anchorAddress,
        ledgers: ledgersOn(hardhat),
      },
      { name: anvil.name, chainId: anvil.chainId, provider: anvil.provider, ledgers: ledgersOn(anvil) },
    ];
    const view: ViewSource = {
      chains: viewChains,
      names,
      services: (): ViewService[] => supervisor.running.map((r) => ({ name: r.spec.name, url: r.url })),
    };
    return { dir, supervisor, chains, keyServers, stations, fog, layers, view, stop: () => supervisor.stop() };
  } catch (error) {
    await supervisor.stop();
    throw error;
  }
}
