/**
 * A small NB-IoT world for tests: PKG, parameters on the mcl backend, ids,
 * identity keys, SQLite stores in a temporary directory, a registry view, and
 * stations that reach each other in process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { Pkg } from "../../sdk/core/crypto/identity.ts";
import { NbiotNode } from "../../sdk/core/nbiot/device.ts";
import {
  type ApplicationKeys,
  extractApplicationKeys,
  extractNodeKeys,
  type NbiotParams,
  nbiotParams,
  type NodeKeys,
  pkgStationKeys,
  type StationKeys,
  type Timing,
} from "../../sdk/core/nbiot/params.ts";
import { Kind, Status } from "../../sdk/core/registry.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { BaseStation, type STATION_LIMITS } from "../../sdk/nbiot/base-station.ts";
import type { ChainClock, Directory, DirectoryEntry, StationLink } from "../../sdk/nbiot/ports.ts";

export const backend = await mclBackend();

/** The clock every test station reads when another station calls it (set by `enter`). */
export const testClock = { now: 0 };

export const randomId = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));

/** A registry view held in memory (what `registryDirectory` reads from the chain). */
export class MemoryDirectory implements Directory {
  readonly entries = new Map<string, DirectoryEntry>();
  lookups = 0;

  set(id: Hex, kind: Kind, status: Status = Status.Active): void {
    this.entries.set(id.toLowerCase(), { kind, status });
  }

  lookup(id: Hex): Promise<DirectoryEntry | undefined> {
    this.lookups++;
    return Promise.resolve(this.entries.get(id.toLowerCase()));
  }
}

/**
 * A station's keys as a PKG service issues them: each epoch's key on first
 * use, and only while the registry lists the station as an active base station
 * (keys already issued stay usable until their epoch ends).
 */
function registeredStationKeys(pkg: Pkg, directory: MemoryDirectory, id: Hex): StationKeys {
  const keys = pkgStationKeys(pkg, id);
  const issued = new Set<number>();
  return {
    role: "station",
    id: keys.id,
    keyFor(epoch: number) {
      if (!issued.has(epoch)) {
        const entry = directory.entries.get(keys.id);
        if (entry?.kind !== Kind.BaseStation || entry.status !== Status.Active) {
          throw new InvalidInputError("the PKG issues station keys to registered, active base stations only", {
            id: keys.id,
            epoch,
          });
        }
        issued.add(epoch);
      }
      return keys.keyFor(epoch);
    },
  };
}

export interface World {
  readonly pkg: Pkg;
  readonly params: NbiotParams;
  readonly directory: MemoryDirectory;
  readonly dir: string;
  readonly stations: Map<string, StationLink>;
  /** A node's keys. */
  keys(id?: Hex): NodeKeys;
  /** A station's keys (every epoch, on demand). */
  stationKeys(id?: Hex): StationKeys;
  applicationKeys(id?: Hex): ApplicationKeys;
  node(id?: Hex, primaryKey?: Uint8Array): NbiotNode;
  station(
    id?: Hex,
    options?: {
      path?: string;
      maxBatch?: number;
      register?: boolean;
      keys?: StationKeys;
      chain?: ChainClock;
      limits?: Partial<typeof STATION_LIMITS>;
      peerTimeoutMs?: number;
    },
  ): BaseStation;
  cleanup(): void;
}

export function makeWorld(timing: Partial<Timing> = {}): World {
  testClock.now = 0; // stations opened now count as started at the epoch; `enter` moves the clock
  const pkg = new Pkg(backend);
  const params = nbiotParams(backend, pkg.masterPublic, timing);
  const directory = new MemoryDirectory();
  const dir = mkdtempSync(join(tmpdir(), "strata-nbiot-"));
  const stations = new Map<string, StationLink>();
  const opened: BaseStation[] = [];
  return {
    pkg,
    params,
    directory,
    dir,
    stations,
    keys: (id = randomId()) => extractNodeKeys(pkg, id),
    stationKeys: (id = randomId()) => registeredStationKeys(pkg, directory, id),
    applicationKeys: (id = randomId()) => extractApplicationKeys(pkg, id),
    node(id = randomId(), primaryKey = crypto.getRandomValues(new Uint8Array(32))) {
      directory.set(id, Kind.Device);
      return new NbiotNode(params, extractNodeKeys(pkg, id), primaryKey);
    },
    station(id = randomId(), options = {}) {
      if (options.register !== false) directory.set(id, Kind.BaseStation);
      const bs = BaseStation.open({
        params,
        keys: options.keys ?? registeredStationKeys(pkg, directory, id),
        storePath: options.path ?? join(dir, `${id}.sqlite`),
        directory,
        stations: (peer) => stations.get(peer.toLowerCase()),
        clock: () => testClock.now,
        ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
        ...(options.chain === undefined ? {} : { chain: options.chain }),
        ...(options.peerTimeoutMs === undefined ? {} : { peerTimeoutMs: options.peerTimeoutMs }),
        ...options.limits,
      });
      stations.set(bs.id, bs);
      opened.push(bs);
      return bs;
    },
    cleanup() {
      for (const bs of opened) bs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const reading = (celsius: number, at = 0): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ celsius, at }));

/** Runs the handshake between `node` and `bs` at `now`. */
export async function enter(node: NbiotNode, bs: BaseStation, now: number): Promise<void> {
  testClock.now = now;
  node.accept(await bs.authenticate(node.enter(bs.id, now), now), now);
}

/** Sends readings through `bs` and feeds the receipts back; returns the receipts' sequence numbers. */
export function sendAll(node: NbiotNode, bs: BaseStation, readings: readonly Uint8Array[], now: number): number[] {
  const frames = readings.map((r) => node.send(r, now));
  return bs.ingest(frames, now).map((res) => {
    if (!res.ok) throw res.error;
    return node.onReceipt(res.receipt).seq;
  });
}
