/**
 * A whole Strata deployment on one machine, every role a process of its own talking over loopback
 * (issue 15's main job): the chains with the contracts, the key servers (t of n), the base
 * stations with simulated NB-IoT devices, the fog cluster with simulated air sensors, district and
 * city layer nodes (the city on the second chain) and edge nodes sending contracts. `npm start`,
 * `npm run demo` and the process tests all start it here, so they run the same services. Its
 * files (configurations, sealed secrets, stores, logs) live in one folder.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { InvalidInputError } from "../../sdk/errors.ts";
import { type LocalChain, startLocalChains } from "./chain-setup.ts";
import type { ViewChain, ViewService, ViewSource } from "./live-view.ts";
import type { Scale } from "./scale.ts";
import { Supervisor, type SupervisorEvent } from "./supervisor.ts";

export interface LocalDeploymentOptions {
  /** The folder of its files (created). */
  readonly dir: string;
  readonly scale: Scale;
  /** Supervisor events (services started, ended, stopping). */
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** A service's stdout line after its ready line (its own events). */
  readonly onLine?: (service: string, line: string) => void;
  /** Aborting while starting stops what has started and rejects. */
  readonly signal?: AbortSignal;
}

export interface LocalDeployment {
  readonly dir: string;
  readonly supervisor: Supervisor;
  readonly chains: { readonly hardhat: LocalChain; readonly anvil: LocalChain };
  /** What the live view reads. */
  readonly view: ViewSource;
  /** Stops every service in order, the chains last; `true` when all ended cleanly. */
  stop(): Promise<boolean>;
}

/** Starts a local deployment; on any failure, whatever started is stopped before rejecting. */
export async function startLocalDeployment(options: LocalDeploymentOptions): Promise<LocalDeployment> {
  const { dir, signal } = options;
  mkdirSync(dir, { recursive: true });
  const supervisor = new Supervisor({
    logDir: join(dir, "logs"),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  const checkAborted = () => {
    if (signal?.aborted) throw new InvalidInputError("the local deployment was stopped while starting");
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
    void passphrase;

    const names = new Map<string, string>();
    const viewChains: ViewChain[] = [
      {
        name: chains.hardhat.name,
        chainId: chains.hardhat.chainId,
        provider: chains.hardhat.provider,
        dataAnchor: chains.hardhat.anchorAddress,
        ledgers: new Map(),
      },
      { name: chains.anvil.name, chainId: chains.anvil.chainId, provider: chains.anvil.provider, ledgers: new Map() },
    ];
    const view: ViewSource = {
      chains: viewChains,
      names,
      services: (): ViewService[] => supervisor.running.map((r) => ({ name: r.spec.name, url: r.url })),
    };
    return { dir, supervisor, chains, view, stop: () => supervisor.stop() };
  } catch (error) {
    await supervisor.stop();
    throw error;
  }
}
