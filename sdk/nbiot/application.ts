/**
 * The application of seed 000 ("Data acquisition", "Accountability"): it holds
 * the primary keys of its nodes, fetches their blocks from base stations,
 * verifies everything (`verifyAcquisition`, then each batch root against
 * `DataAnchor` and each station against the registry) and only then decrypts.
 * `findExceptions` answers "when and where did the reading break the rule",
 * each answer with the proof a third party can check on chain.
 */
import { type Hex, toHex } from "../core/bytes.ts";
import { bytes32ValuesHash, keccakReady } from "../core/merkle.ts";
import { AeadKey } from "../core/crypto/aead.ts";
import {
  type AcquisitionResponse,
  pageEnd,
  type SignedBatch,
  type VerifiedBlock,
  verifyAcquisition,
} from "../core/nbiot/acquisition.ts";
import type { HandoverRecord } from "../core/nbiot/handover.ts";
import { type ApplicationKeys, checkId, type NbiotParams } from "../core/nbiot/params.ts";
import { sealPrimaryKey } from "../core/nbiot/provisioning.ts";
import { openPrimary } from "../core/nbiot/session.ts";
import { Kind, Status } from "../core/registry.ts";
import { InvalidInputError, ProtocolError } from "../errors.ts";
import type { AnchorReader, Directory, StationLink } from "./ports.ts";

/** A reading the application verified and decrypted, with where and when it was made and its proof. */
export interface Reading {
  readonly node: Hex;
  readonly seq: number;
  /** When the station confirmed it (ms). */
  readonly time: number;
  /** The station that confirmed it. */
  readonly station: Hex;
  readonly plaintext: Uint8Array;
  /** The flow-chain block (`encodeBlock` bytes) and the station's signed batch it is in: with `proof`, what `readingBundle` takes. */
  readonly block: Uint8Array;
  readonly batch: SignedBatch;
  readonly blockHash: Uint8Array;
  /** `DataAnchor.verifyReading(station, root, valuesHash, proof)` holds for these. */
  readonly root: Hex;
  /** The tree's leaf, keccak256(valuesHash) (what `verifyProof` takes off chain). */
  readonly leaf: Hex;
  /** The once-hashed leaf, keccak256(blockHash): what `DataAnchor.verifyReading` takes. */
  readonly valuesHash: Hex;
  readonly proof: readonly Hex[];
  /** The root's anchor: its sequence in the station's chain and the block time (s). */
  readonly anchor: { readonly sequence: bigint; readonly time: bigint };
}

export interface Acquisition {
  readonly readings: readonly Reading[];
  readonly handovers: readonly HandoverRecord[];
}

export interface ApplicationOptions {
  readonly params: NbiotParams;
  /** The application's id and signing key (it signs the primary keys it provisions). */
  readonly keys: ApplicationKeys;
  readonly anchors: AnchorReader;
  readonly directory: Directory;
}

export class Application {
  readonly params: NbiotParams;
  readonly id: Hex;
  readonly #keys: ApplicationKeys;
  readonly #anchors: AnchorReader;
  readonly #directory: Directory;
  readonly #primary = new Map<Hex, AeadKey>();

  constructor(options: ApplicationOptions) {
    this.params = options.params;
    this.#keys = options.keys;
    this.id = checkId(options.keys.id, "keys.id");
    this.#anchors = options.anchors;
    this.#directory = options.directory;
  }

  /** Makes `node`'s primary key; returns it signed and sealed for the node (`openPrimaryKey`). */
  provision(node: Hex, now: number = Date.now()): Uint8Array {
    const id = checkId(node, "node");
    const { key, sealed } = sealPrimaryKey(this.params, this.#keys, id, now);
    this.#primary.set(id, new AeadKey(key));
    return sealed;
  }

  #key(node: Hex): AeadKey {
    const key = this.#primary.get(node);
    if (key === undefined) throw new InvalidInputError("no primary key for this node", { node });
    return key;
  }

  /**
   * `node`'s readings with `from <= time <= to`, from the given stations,
   * verified end to end and decrypted, in sequence order.
   */
  async acquire(node: Hex, from: number, to: number, stations: readonly StationLink[]): Promise<Acquisition> {
    const id = checkId(node, "node");
    const key = this.#key(id);
    const responses = (await Promise.all(stations.map((s) => this.#fetchAll(s, id, from, to)))).flat();
    await keccakReady(); // the proofs are hashed on the WASM keccak
    const verified = verifyAcquisition(this.params, id, responses);
    const anchors = new Map<Hex, { sequence: bigint; time: bigint }>();
    for (const [root, station] of verified.roots) {
      // The station's own record: a root another gateway anchored does not count.
      const a = await this.#anchors.anchorOf(station, root);
      if (a === undefined) {
        throw new ProtocolError("not-anchored", `root ${root} is not anchored by station ${station}`, {
          root,
          station,
        });
      }
      anchors.set(root, { sequence: a.sequence, time: a.time });
    }
    for (const station of new Set(verified.roots.values())) {
      const entry = await this.#directory.lookup(station);
      if (entry === undefined || entry.kind !== Kind.BaseStation || entry.status === Status.None) {
        throw new ProtocolError("not-registered", `station ${station} is not a registered base station`, { station });
      }
    }
    const skew = this.params.timing.clockSkewMs;
    for (const b of verified.blocks) {
      const anchoredAt = Number(anchors.get(b.root)!.time) * 1000;
      if (b.block.time > anchoredAt + skew) {
        throw new ProtocolError("broken-link", `block ${b.block.seq} is dated after the anchor of its batch`, {
          seq: b.block.seq,
          time: b.block.time,
          anchoredAt,
        });
      }
    }
    const readings = verified.blocks.map((b) => this.#open(key, b, anchors.get(b.root)!));
    return { readings, handovers: verified.handovers };
  }

  /** Every page a station serves for the range. */
  async #fetchAll(station: StationLink, node: Hex, from: number, to: number): Promise<AcquisitionResponse[]> {
    const pages: AcquisitionResponse[] = [];
    let after = 0;
    for (;;) {
      const page = await station.acquire(node, from, to, after);
      pages.push(page);
      const seq = pageEnd(page);
      if (!page.more || seq === undefined) return pages;
      if (seq <= after) throw new ProtocolError("malformed", "a station's pages do not advance");
      after = seq;
    }
  }

  #open(key: AeadKey, b: VerifiedBlock, anchor: { sequence: bigint; time: bigint }): Reading {
    return {
      node: b.block.node,
      seq: b.block.seq,
      time: b.block.time,
      station: b.block.bs,
      plaintext: openPrimary(key, b.block.node, b.block.seq, b.primary),
      block: b.encoded,
      batch: b.signed,
      blockHash: b.hash,
      root: b.root,
      leaf: b.leaf,
      valuesHash: toHex(bytes32ValuesHash(b.hash)),
      proof: b.proof,
      anchor,
    };
  }

  /** Accountability: the verified readings of `node` in the range for which `exceptional` holds. */
  async findExceptions(
    node: Hex,
    from: number,
    to: number,
    stations: readonly StationLink[],
    exceptional: (plaintext: Uint8Array) => boolean,
  ): Promise<Reading[]> {
    const { readings } = await this.acquire(node, from, to, stations);
    return readings.filter((r) => exceptional(r.plaintext));
  }
}
