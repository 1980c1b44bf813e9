/**
 * An edge layer's central node (seed 003 §III.A, Layer 0): it keeps the
 * layer's object database (`ObjectStore`) and is the only way its objects talk
 * to other layers. Sending, it frames M with the two objects' ids, builds P
 * (a first communication, or a following one on a delivered packet) and signs
 * it with its account, the key its superior layer's ledger names in the
 * subordinate link (statement 1 for Layer 0). Receiving, it checks that its
 * superior's ledger holds Sum(M) in the block P names, and that the object P
 * is for is one of its own, and that a following P is within a contract this
 * layer is a party of (one it opened, or whose first message it delivered,
 * remembered durably by its opening summary) between that contract's two
 * objects, before handing P over; it remembers each message
 * it delivered, durably in its object database, and refuses one delivered
 * before (a re-sent last hop) with the replay alarm. The one exception is a
 * contract's first message after the superior's block was extended (the
 * sender's central node re-sent it, and every layer's quorum extended its
 * block): that renews the contract, and is delivered again.
 */
import type { Signer } from "ethers";

import { fromHex, type Hex } from "../core/bytes.ts";
import {
  type ContractMessage,
  decodeContractMessage,
  encodeContractMessage,
  packetDigest,
} from "../core/layers/contract.ts";
import { checkSummary, followUp, newPacket, type Packet } from "../core/layers/packet.ts";
import { deviceId, layerHash, type Uuid } from "../core/ids.ts";
import type { LedgerLayerLink } from "../contracts/ledger.ts";
import { InvalidInputError } from "../errors.ts";
import type { ObjectStore, StoredObject } from "../store/object-store.ts";
import type { LayerAlarm } from "./layer-node.ts";
import { checkLedgerHolds, checkTransmission, LayerError, type LedgerDirectory, type Transmission } from "./network.ts";

/** P handed to one of this layer's objects. */
export interface Delivery {
  readonly packet: Packet;
  readonly message: ContractMessage;
  /** The receiving object. */
  readonly object: StoredObject;
  /**
   * The contract's first message delivered again because the superior's block
   * was extended since (a re-sent first packet every layer's quorum accepted):
   * the object has seen M before.
   */
  readonly renewal: boolean;
}

export interface EdgeNodeOptions {
  /** The layer's object database; its layer address is the layer's. */
  readonly store: ObjectStore;
  /** The central node's account: it signs what the layer sends up. */
  readonly account: Signer;
  /** The superior layer (Layer 1) and its ledger's chain. */
  readonly superior: LedgerLayerLink;
  readonly directory: LedgerDirectory;
  /** The clock for M's time, in milliseconds (default: the wall clock). */
  readonly now?: () => bigint;
  /** Called with the replay alarm when a message delivered before arrives again. */
  readonly onAlarm?: (alarm: LayerAlarm) => void;
}

export class EdgeNode {
  readonly layerId: Hex;
  readonly store: ObjectStore;
  readonly #o: EdgeNodeOptions;

  constructor(options: EdgeNodeOptions) {
    this.#o = options;
    this.store = options.store;
    this.layerId = layerHash(options.store.layer);
  }

  /** The link the superior layer records for this edge layer: the central node's account, chain id 0. */
  async link(): Promise<LedgerLayerLink> {
    return { layerId: this.layerId, ledger: await this.#o.account.getAddress(), chainId: 0n };
  }

  /**
   * Object `fromLocalId` opens a contract with object `to`: M = {from, to,
   * body}, P a first communication along `route` (the high-level layers to
   * cross, then `to`'s edge layer).
   */
  async open(fromLocalId: bigint, to: Uuid, body: Uint8Array, route: readonly Hex[], ending = false) {
    const from = this.#object(fromLocalId);
    const message = encodeContractMessage({ from: from.id, to: deviceId(to), body });
    const destination = [...route, layerHash(to.layer)];
    const packet = newPacket(message, this.#now(), this.layerId, destination, ending);
    // This layer is a party of the contract from now on: the replies its object gets are delivered.
    this.store.rememberContract(packet.ids[0]!, from.id, deviceId(to));
    return this.#sign(packet);
  }

  /**
   * Object `fromLocalId`, a party of the contract `last` was delivered on (to
   * or from this layer), sends a following communication: the receiver
   * replies along the reversed route, the sender continues along the same one.
   */
  async follow(last: Packet, fromLocalId: bigint, body: Uint8Array, ending = false): Promise<Transmission> {
    const from = this.#object(fromLocalId);
    const previous = decodeContractMessage(last.message);
    let to: Hex;
    if (from.id === previous.to && last.destination[0] === this.layerId) to = previous.from;
    else if (from.id === previous.from && last.source[0] === this.layerId) to = previous.to;
    else throw new InvalidInputError("the object is not this layer's party of the contract", { from: from.id });
    const message = encodeContractMessage({ from: from.id, to, body });
    return this.#sign(followUp(last, this.layerId, message, this.#now(), ending));
  }

  /**
   * P arrives from the superior layer: checked against the superior's ledger,
   * then handed to its object, once: a message delivered before is refused
   * with `LayerError("replayed")` and the replay alarm (except a first message
   * renewing a block extended since its last delivery).
   */
  async deliver(transmission: Transmission): Promise<Delivery> {
    const t = checkTransmission(transmission);
    const p = t.packet;
    checkSummary(p);
    if (p.destination.length !== 1 || p.destination[0] !== this.layerId) {
      throw new LayerError("misrouted", "the packet is not for this edge layer", { destination: p.destination });
    }
    const superior = this.#o.superior;
    if (p.source[p.source.length - 1] !== superior.layerId) {
      throw new LayerError("unknown-source", "the packet does not come from this layer's superior", {
        source: p.source,
      });
    }
    const source = await checkLedgerHolds(this.#o.directory, superior, p);
    let message: ContractMessage;
    try {
      message = decodeContractMessage(p.message);
    } catch (cause) {
      throw new LayerError("misrouted", "the message is not a contract message", { cause: String(cause) });
    }
    const object = this.store.get(message.to);
    if (object === undefined) throw new LayerError("misrouted", "no such object in this layer", { to: message.to });
    const summary = p.ids[0]!;
    // A following message is delivered only within a contract that ends here between the same two
    // objects: one this layer opened, or whose first message it delivered. The superior's ledger only
    // shows Sum(M) is in K of the block P names, and any member responsible for some live block can
    // record any summary into it: without this, a made-up M could reach any object of the layer.
    if (!source.first) {
      const contract = this.store.contract(source.opening);
      if (contract === undefined) {
        throw new LayerError("wrong-contract", "the packet's source block belongs to no contract of this edge layer", {
          blockId: source.blockId,
          opening: source.opening,
        });
      }
      if (!same(message.from, contract.remote) || !same(message.to, contract.local)) {
        throw new LayerError(
          "wrong-contract",
          "the message is not between the two objects of the contract the packet's block is for",
          {
            blockId: source.blockId,
            opening: source.opening,
            from: message.from,
            to: message.to,
          },
        );
      }
    }
    const before = source.first ? this.store.delivery(summary) : undefined;
    if (!this.store.rememberDelivery(summary, source.blockId, source.block.expiry, source.first)) {
      const details = { summary, blockId: source.blockId };
      this.#o.onAlarm?.({ kind: "replayed", layerId: this.layerId, node: await this.#o.account.getAddress(), details });
      throw new LayerError("replayed", "this message was delivered before: a replay", details);
    }
    if (source.first) this.store.rememberContract(summary, message.to, message.from);
    return { packet: p, message, object, renewal: before !== undefined };
  }

  async #sign(packet: Packet): Promise<Transmission> {
    const digest = packetDigest(packet, this.#o.superior.chainId);
    const edgeSignature = (await this.#o.account.signMessage(fromHex(digest, "digest", 32))) as Hex;
    return { packet, edgeSignature };
  }

  #object(localId: bigint): StoredObject {
    const object = this.store.get(localId);
    if (object === undefined) {
      throw new InvalidInputError("no such object in this edge layer", { localId: String(localId) });
    }
    return object;
  }

  /**
   * M's time: the clock in milliseconds, strictly rising per central node, so
   * two equal bodies sent in the same millisecond still have different
   * summaries (a summary seen twice is statement 5's replay alarm).
   */
  #now(): bigint {
    const now = this.#o.now?.() ?? BigInt(Date.now());
    this.#last = now > this.#last ? now : this.#last + 1n;
    return this.#last;
  }

  #last = 0n;
}

const same = (a: Hex, b: Hex): boolean => a.toLowerCase() === b.toLowerCase();
