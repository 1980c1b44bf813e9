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
  extractIdentityKeys,
  type IdentityKeys,
  type NbiotParams,
  nbiotParams,
  type Timing,
} from "../../sdk/core/nbiot/params.ts";
import { Kind, Status } from "../../sdk/core/registry.ts";
import { BaseStation } from "../../sdk/nbiot/base-station.ts";
import type { Directory, DirectoryEntry, StationLink } from "../../sdk/nbiot/ports.ts";

export const backend = await mclBackend();

/** The clock every test station reads when another station calls it (set by `enter`). */
export const testClock = { now: Date.now() };

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

export interface World {
  readonly pkg: Pkg;
  readonly params: NbiotParams;
  readonly directory: MemoryDirectory;
  readonly dir: string;
  readonly stations: Map<string, StationLink>;
  keys(id?: Hex): IdentityKeys;
  node(id?: Hex, primaryKey?: Uint8Array): NbiotNode;
  station(id?: Hex, options?: { path?: string; maxBatch?: number; register?: boolean }): BaseStation;
  cleanup(): void;
}

export function makeWorld(timing: Partial<Timing> = {}): World {
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
    keys: (id = randomId()) => extractIdentityKeys(pkg, id),
    node(id = randomId(), primaryKey = crypto.getRandomValues(new Uint8Array(32))) {
      directory.set(id, Kind.Device);
      return new NbiotNode(params, extractIdentityKeys(pkg, id), primaryKey);
    },
    station(id = randomId(), options = {}) {
      if (options.register !== false) directory.set(id, Kind.BaseStation);
      const bs = BaseStation.open({
        params,
        keys: extractIdentityKeys(pkg, id),
        storePath: options.path ?? join(dir, `${id}.sqlite`),
        directory,
        stations: (peer) => stations.get(peer.toLowerCase()),
        clock: () => testClock.now,
        ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
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
