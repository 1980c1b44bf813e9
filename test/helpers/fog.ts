/**
 * A small Secuchain district for tests: the data owner's PEKS key and
 * trapdoors, a fog cluster (DKG, t of n), registered devices with P-256
 * profile keys, fog nodes with SQLite stores in a temporary directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { type Hex, toHex } from "../../sdk/core/bytes.ts";
import { AeadKey } from "../../sdk/core/crypto/aead.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { Peks } from "../../sdk/core/crypto/peks.ts";
import { ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { type ClusterKeys, runDkg } from "../../sdk/core/fog/dkg.ts";
import { type FilterPolicy, filterPolicy, SENSITIVE } from "../../sdk/core/fog/filter.ts";
import { type DeviceKey, makeReading, randomDeviceKey, sealPayload } from "../../sdk/core/fog/reading.ts";
import { Kind, Status } from "../../sdk/core/registry.ts";
import { InvalidInputError, TransportError } from "../../sdk/errors.ts";
import { type FogChainView, type FogDirectory, FogNode } from "../../sdk/fog/fog-node.ts";
import type { DirectoryEntry } from "../../sdk/nbiot/ports.ts";
import { FogStore } from "../../sdk/store/fog-store.ts";

export const backend = await mclBackend();
export const randomId = (): Hex => toHex(crypto.getRandomValues(new Uint8Array(32)));

/** The registry as fog nodes see it, held in memory. */
export class MemoryFogDirectory implements FogDirectory {
  readonly entries = new Map<string, DirectoryEntry & { p256?: Uint8Array }>();
  /** Devices whose published profile does not decode: `p256Key` throws as `profileOf` does. */
  readonly badProfiles = new Set<string>();
  /** While true every read fails with `TransportError`, as a registry read behind a node that is down. */
  down = false;
  /** When set, every read fails with this error as thrown (not typed), as a directory with a bug or a raw driver error. */
  raw: Error | undefined;
  set(id: Hex, kind: Kind, status: Status = Status.Active, p256?: Uint8Array): void {
    this.entries.set(id.toLowerCase(), { kind, status, ...(p256 === undefined ? {} : { p256 }) });
  }
  lookup(id: Hex): Promise<DirectoryEntry | undefined> {
    if (this.raw !== undefined) return Promise.reject(this.raw);
    if (this.down) return Promise.reject(new TransportError("DeviceRegistry: could not coalesce error"));
    const e = this.entries.get(id.toLowerCase());
    return Promise.resolve(e === undefined ? undefined : { kind: e.kind, status: e.status });
  }
  p256Key(id: Hex): Promise<Uint8Array | undefined> {
    if (this.badProfiles.has(id.toLowerCase())) {
      return Promise.reject(new InvalidInputError("not an encoded profile", { device: id }));
    }
    return Promise.resolve(this.entries.get(id.toLowerCase())?.p256);
  }
}

export interface Device {
  readonly id: Hex;
  readonly key: DeviceKey;
  seq: number;
  /** A signed reading: `sensitive` picks the class keyword; `alarm` fills slot 1. */
  read(value: number, options?: { sensitive?: boolean; alarm?: boolean; time?: number }): Uint8Array;
}

export interface District {
  readonly peks: Peks;
  readonly scheme: ThresholdScheme;
  readonly owner: AeadKey;
  readonly ownerPeks: { secret: bigint; publicKey: ReturnType<Peks["keygen"]>["publicKey"] };
  readonly cluster: ClusterKeys;
  readonly directory: MemoryFogDirectory;
  readonly dir: string;
  /** A device with a fresh P-256 key; registered in the in-memory directory unless `register` is false. */
  device(options?: { register?: boolean; id?: Hex }): Device;
  /** The fog filtering policy: the owner's "sensitive" trapdoor and an "alarm" tag on slot 1. */
  readonly policy: FilterPolicy;
  /** A fog node; `anchors`: the chain it reads (see `FogNodeOptions.anchors`). */
  fogNode(
    index: number,
    options?: {
      id?: Hex;
      path?: string;
      anchors?: FogChainView;
      maxHeld?: number;
      directory?: FogDirectory;
      clock?: () => number;
      maxAccessNonces?: number;
    },
  ): FogNode;
  cleanup(): void;
}

export function makeDistrict(t = 3, n = 5): District {
  const peks = new Peks(backend);
  const scheme = new ThresholdScheme(backend);
  const ownerPeks = peks.keygen();
  const owner = new AeadKey(crypto.getRandomValues(new Uint8Array(32)));
  const cluster = runDkg(scheme, t, n);
  const directory = new MemoryFogDirectory();
  const dir = mkdtempSync(join(tmpdir(), "strata-fog-"));
  const sensitive = peks.trapdoor(ownerPeks.secret, SENSITIVE);
  const alarm = peks.trapdoor(ownerPeks.secret, "alarm");
  const opened: FogNode[] = [];
  const policy = filterPolicy(sensitive, [{ name: "alarm", slot: 1, trapdoor: alarm }]);
  return {
    peks,
    scheme,
    owner,
    ownerPeks,
    cluster,
    directory,
    dir,
    policy,
    device(options = {}) {
      const id = options.id ?? randomId();
      const key = randomDeviceKey();
      if (options.register !== false) directory.set(id, Kind.Device, Status.Active, key.publicKey);
      const d: Device = {
        id,
        key,
        seq: 0,
        read(value, options = {}) {
          const seq = ++d.seq;
          const time = options.time ?? 1_800_000_000_000 + seq * 1000;
          const payload = sealPayload(owner, id, seq, time, new TextEncoder().encode(JSON.stringify({ value })));
          const keywords = [
            peks.encrypt(ownerPeks.publicKey, options.sensitive ? SENSITIVE : "normal"),
            peks.encrypt(ownerPeks.publicKey, options.alarm ? "alarm" : "none"),
          ];
          return makeReading(key, id, seq, time, payload, keywords).bytes;
        },
      };
      return d;
    },
    fogNode(index, options = {}) {
      const id = options.id ?? randomId();
      directory.set(id, Kind.FogNode);
      const node = new FogNode({
        id,
        index,
        share: cluster.shares[index - 1]!,
        commitments: cluster.commitments,
        scheme,
        policy,
        directory: options.directory ?? directory,
        store: new FogStore(options.path ?? join(dir, `${id}.sqlite`), id),
        ...(options.anchors === undefined ? {} : { anchors: options.anchors }),
        ...(options.maxHeld === undefined ? {} : { maxHeld: options.maxHeld }),
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.maxAccessNonces === undefined ? {} : { maxAccessNonces: options.maxAccessNonces }),
      });
      opened.push(node);
      return node;
    },
    cleanup() {
      for (const n of opened) n.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
