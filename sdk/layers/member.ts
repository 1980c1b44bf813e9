/**
 * What every part of a layer member shares: who it is (layer, index, account,
 * BLS key), its ledger and chain, the peers it reaches, whether it runs, chain
 * time, its alarms, and the hop it reports. The parts (`routing.ts`,
 * `peer-service.ts`, `examination.ts`, `membership.ts`) each hold one.
 */
import type { Provider } from "ethers";

import { type Hex } from "../core/bytes.ts";
import type { PairingBackend } from "../core/crypto/backend.ts";
import { type BlsScheme, minSig } from "../core/crypto/bls.ts";
import { partialAttestation } from "../core/layers/attestation.ts";
import type { Packet } from "../core/layers/packet.ts";
import { MAX_LAYER_MEMBERS } from "../core/layers/quorum.ts";
import type { LedgerLayerLink, SummaryLedgerClient } from "../contracts/ledger.ts";
import { InvalidInputError, TransportError } from "../errors.ts";
import { type ContractEnds, type Hop, LayerError, type LayerPeer, type LedgerDirectory } from "./network.ts";

export const ZERO_WORD = `0x${"00".repeat(32)}`;

/** An alarm a member raised: a replayed summary or a lost superior layer. */
export interface LayerAlarm {
  readonly kind: "replayed" | "superior-lost";
  readonly layerId: Hex;
  readonly node: string;
  readonly txHash?: Hex;
  readonly details: { readonly [key: string]: unknown };
}

export interface LayerNodeOptions {
  readonly layerId: Hex;
  /** This member's index in the ledger. */
  readonly index: number;
  /** This member's BLS secret key (its registered key's). */
  readonly secretKey: Uint8Array;
  /** The layer's ledger, connected with this member's account. */
  readonly ledger: SummaryLedgerClient;
  /** The chain the ledger is on. */
  readonly chainId: bigint;
  /** Other layers' ledgers (a high-level source's evidence, the superior's members). */
  readonly directory: LedgerDirectory;
  readonly backend: PairingBackend;
  /** Members of other layers this node can reach, by layer id (to examine its superior layer). */
  readonly reach?: (layerId: Hex) => readonly LayerPeer[] | undefined;
  /** A new block's lifetime, in seconds (default one day). */
  readonly blockLifetime?: bigint;
  /** How long an open attestation may be submitted, in seconds (default 10 minutes). */
  readonly attestationLifetime?: bigint;
  /** How long a peer gets to answer, in ms (default 5,000). */
  readonly answerTimeoutMs?: number;
  readonly onAlarm?: (alarm: LayerAlarm) => void;
}

/** A ledger whose members' keys a challenge is checked against (this layer's, or another's). */
export interface KeyedLedger {
  readonly ledger: SummaryLedgerClient;
  readonly layerId: Hex;
  readonly chainId: bigint;
}

/** One member's identity and shared state. */
export class MemberContext {
  readonly layerId: Hex;
  readonly index: number;
  readonly node: string;
  readonly publicKey: Uint8Array;
  readonly ledger: SummaryLedgerClient;
  readonly chainId: bigint;
  readonly options: LayerNodeOptions;
  readonly backend: PairingBackend;
  readonly bls: BlsScheme;
  /** A new block's lifetime, in seconds. */
  readonly blockLifetime: bigint;
  /** How long an open attestation may be submitted, in seconds. */
  readonly attestationLifetime: bigint;
  /** How long a peer gets to answer, in ms. */
  readonly timeoutMs: number;
  readonly #secretKey: Uint8Array;
  #peers: LayerPeer[] = [];
  #running = true;

  constructor(node: string, options: LayerNodeOptions) {
    if (!(options.secretKey instanceof Uint8Array)) throw new InvalidInputError("secretKey must be a Uint8Array");
    if (!Number.isInteger(options.index) || options.index < 0 || options.index >= MAX_LAYER_MEMBERS) {
      throw new InvalidInputError(`index must be an integer in [0, ${MAX_LAYER_MEMBERS - 1}]`, {
        index: options.index,
      });
    }
    this.options = options;
    this.layerId = options.layerId.toLowerCase() as Hex;
    this.index = options.index;
    this.node = node;
    this.ledger = options.ledger;
    this.chainId = options.chainId;
    this.backend = options.backend;
    this.#secretKey = options.secretKey;
    this.bls = minSig(options.backend);
    this.publicKey = this.bls.publicKey(options.secretKey);
    this.blockLifetime = options.blockLifetime ?? 86_400n;
    this.attestationLifetime = options.attestationLifetime ?? 600n;
    this.timeoutMs = options.answerTimeoutMs ?? 5_000;
  }

  /** The other members of the layer, as this node reaches them. */
  get peers(): readonly LayerPeer[] {
    return this.#peers;
  }

  setPeers(peers: readonly LayerPeer[]): void {
    this.#peers = peers.filter((p) => p.index !== this.index);
  }

  /** The peer whose account is `node`, when this node reaches it. */
  peerByNode(node: string): LayerPeer | undefined {
    return this.#peers.find((peer) => same(peer.node, node));
  }

  get running(): boolean {
    return this.#running;
  }

  stop(): void {
    this.#running = false;
  }

  /** `LayerError("stopped")` once the node is stopped. */
  alive(): void {
    if (!this.#running) throw new LayerError("stopped", "the node is stopped", { node: this.node });
  }

  /** This layer's ledger, for checking its members' keys. */
  self(): KeyedLedger {
    return { ledger: this.ledger, layerId: this.layerId, chainId: this.chainId };
  }

  /** This member's BLS signature over `digest` (its share of an attestation, or a challenge's answer). */
  sign(digest: Hex | Uint8Array): Uint8Array {
    return partialAttestation(this.backend, this.#secretKey, digest);
  }

  /** This member's proof of possession of its key. */
  proveKey(): Uint8Array {
    return this.bls.popProve(this.#secretKey);
  }

  /** `LayerError("disputed")` when the digest a peer asks to sign is not the one the ledger computes. */
  sameDigest(given: Hex, expected: Hex): void {
    if (given.toLowerCase() !== expected.toLowerCase()) {
      throw new LayerError("disputed", "the digest to sign is not the ledger's", { given, expected });
    }
  }

  /** The ledger's chain time (its latest block's timestamp). */
  async now(): Promise<bigint> {
    const provider = this.ledger.runner.provider as Provider | null;
    if (!provider) throw new TransportError("the ledger's runner has no provider");
    const block = await provider.getBlock("latest");
    if (!block) throw new TransportError("no latest block");
    return BigInt(block.timestamp);
  }

  alarm(kind: LayerAlarm["kind"], txHash: Hex | undefined, details: LayerAlarm["details"]): void {
    this.options.onAlarm?.({ kind, layerId: this.layerId, node: this.node, txHash, details });
  }

  hop(
    outcome: Hop["outcome"],
    blockId: Hex,
    extra: Partial<Omit<Hop, "outcome" | "blockId" | "layerId" | "chainId" | "node">>,
  ): Hop {
    return {
      layerId: this.layerId,
      chainId: this.chainId,
      node: this.node,
      outcome,
      blockId,
      accomplished: false,
      ...extra,
    };
  }
}

/** A superior or subordinate link's reading: whether a layer is linked there at all. */
export function isLinked(link: LedgerLayerLink): boolean {
  return link.layerId !== ZERO_WORD;
}

/** The two edge layers a packet runs between. */
export function ends(p: Packet): ContractEnds {
  return { origin: p.source[0]!, end: p.destination[p.destination.length - 1]! };
}

/** Whether two addresses are the same account. */
export function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
