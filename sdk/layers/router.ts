/**
 * Moves a contract communication P through seed 003's layers (§IV.B): from an
 * edge layer's central node up through L1..LN and back down to the receiving
 * edge layer, one layer at a time. At a high-level layer, P is broadcast to
 * its members: the first one running takes it (a stopped node is skipped, as
 * a broadcast would reach the others); that member checks statements 1-6 with
 * its peers and records in the layer's ledger, on whatever chain it runs.
 */
import type { Hex } from "../core/bytes.ts";
import type { Delivery, EdgeNode } from "./edge-node.ts";
import type { LayerNode } from "./layer-node.ts";
import { checkTransmission, type Hop, LayerError, type Transmission } from "./network.ts";

/** What happened to P: each layer's hop, and the delivery, or the hop that stopped it. */
export interface RouteResult {
  readonly hops: readonly Hop[];
  readonly delivery?: Delivery;
  /** The layer that stopped P: `already-opened` (a duplicate first packet) or `replayed` (the alarm). */
  readonly stoppedAt?: Hop;
}

export class LayerRouter {
  readonly #edges = new Map<Hex, EdgeNode>();
  readonly #layers = new Map<Hex, readonly LayerNode[]>();
  readonly #turn = new Map<Hex, number>();

  addEdge(edge: EdgeNode): this {
    this.#edges.set(edge.layerId, edge);
    return this;
  }

  /** Adds a high-level layer's members (all of one layer) and introduces them to each other. */
  addLayer(members: readonly LayerNode[]): this {
    const layerId = members[0]?.layerId;
    if (layerId === undefined || members.some((m) => m.layerId !== layerId)) {
      throw new LayerError("misrouted", "a layer needs members, all of the same layer");
    }
    for (const m of members) m.setPeers(members);
    this.#layers.set(layerId, members);
    return this;
  }

  /** The members of high-level layer `layerId` (what a subordinate layer reaches to examine it). */
  members(layerId: Hex): readonly LayerNode[] | undefined {
    return this.#layers.get(layerId);
  }

  /** Routes P until it is delivered or a layer stops it; refusals throw `LayerError`. */
  async route(t: Transmission): Promise<RouteResult> {
    const hops: Hop[] = [];
    let current = checkTransmission(t);
    for (;;) {
      const next = current.packet.destination[0];
      if (next === undefined) throw new LayerError("misrouted", "the packet has no destination left");
      const edge = this.#edges.get(next);
      if (edge !== undefined) return { hops, delivery: await edge.deliver(current) };
      const members = this.#layers.get(next);
      if (members === undefined) throw new LayerError("misrouted", "no such layer on this router", { layerId: next });
      const hop = await this.#enter(next, members, current);
      hops.push(hop);
      if (hop.next === undefined) return { hops, stoppedAt: hop };
      current = hop.next;
    }
  }

  async #enter(layerId: Hex, members: readonly LayerNode[], t: Transmission): Promise<Hop> {
    const start = this.#turn.get(layerId) ?? 0;
    this.#turn.set(layerId, (start + 1) % members.length);
    for (let k = 0; k < members.length; k++) {
      const member = members[(start + k) % members.length]!;
      if (!member.running) continue;
      return member.receive(t);
    }
    throw new LayerError("stopped", "no member of the layer is running", { layerId });
  }
}
