/**
 * Moves a contract communication P through seed 003's layers (§IV.B): from an
 * edge layer's central node up through L1..LN and back down to the receiving
 * edge layer, one layer at a time. At a high-level layer, P is broadcast to
 * its members: the first one running takes it (a stopped node is skipped, as
 * a broadcast would reach the others); that member checks statements 1-6 with
 * its peers and records in the layer's ledger, on whatever chain it runs.
 * Members and edge nodes are `LayerNode`s and `EdgeNode`s in process, or
 * anything that receives and delivers the same way (a service's HTTP client
 * of a remote member, which answers `LayerError("stopped")` when the member's
 * process does not take the connection).
 */
import type { Hex } from "../core/bytes.ts";
import type { Delivery, EdgeNode } from "./edge-node.ts";
import { LayerNode } from "./layer-node.ts";
import { checkTransmission, type Hop, LayerError, type Transmission } from "./network.ts";

/** A member of a high-level layer as the router hands it P. */
export interface RoutedMember {
  readonly layerId: Hex;
  /** Whether it may take P (a member known stopped is skipped). */
  readonly running: boolean;
  receive(transmission: Transmission): Promise<Hop>;
}

/** An edge layer's central node as the router delivers P to it (`D`: what it tells of the delivery). */
export interface RoutedEdge<D = Delivery> {
  readonly layerId: Hex;
  deliver(transmission: Transmission): Promise<D>;
}

/** What happened to P: each layer's hop, and the delivery, or the hop that stopped it. */
export interface RouteResult<D = Delivery> {
  readonly hops: readonly Hop[];
  readonly delivery?: D;
  /** The layer that stopped P: `already-opened` (a duplicate first packet) or `replayed` (the alarm). */
  readonly stoppedAt?: Hop;
}

export class LayerRouter<M extends RoutedMember = LayerNode, E extends RoutedEdge<unknown> = EdgeNode> {
  readonly #edges = new Map<Hex, E>();
  readonly #layers = new Map<Hex, readonly M[]>();
  readonly #turn = new Map<Hex, number>();

  addEdge(edge: E): this {
    this.#edges.set(edge.layerId, edge);
    return this;
  }

  /** Adds a high-level layer's members (all of one layer) and introduces the in-process ones to each other. */
  addLayer(members: readonly M[]): this {
    const layerId = members[0]?.layerId;
    if (layerId === undefined || members.some((m) => m.layerId !== layerId)) {
      throw new LayerError("misrouted", "a layer needs members, all of the same layer");
    }
    const local = members.filter((m): m is M & LayerNode => m instanceof LayerNode);
    for (const m of local) m.setPeers(local);
    this.#layers.set(layerId, members);
    return this;
  }

  /** The members of high-level layer `layerId` (what a subordinate layer reaches to examine it). */
  members(layerId: Hex): readonly M[] | undefined {
    return this.#layers.get(layerId);
  }

  /** Routes P until it is delivered or a layer stops it; refusals throw `LayerError`. */
  async route(t: Transmission): Promise<RouteResult<Awaited<ReturnType<E["deliver"]>>>> {
    const hops: Hop[] = [];
    let current = checkTransmission(t);
    for (;;) {
      const next = current.packet.destination[0];
      if (next === undefined) throw new LayerError("misrouted", "the packet has no destination left");
      const edge = this.#edges.get(next);
      if (edge !== undefined) {
        return { hops, delivery: (await edge.deliver(current)) as Awaited<ReturnType<E["deliver"]>> };
      }
      const members = this.#layers.get(next);
      if (members === undefined) throw new LayerError("misrouted", "no such layer on this router", { layerId: next });
      const hop = await this.#enter(next, members, current);
      hops.push(hop);
      if (hop.next === undefined) return { hops, stoppedAt: hop };
      current = hop.next;
    }
  }

  async #enter(layerId: Hex, members: readonly M[], t: Transmission): Promise<Hop> {
    const start = this.#turn.get(layerId) ?? 0;
    this.#turn.set(layerId, (start + 1) % members.length);
    for (let k = 0; k < members.length; k++) {
      const member = members[(start + k) % members.length]!;
      if (!member.running) continue;
      try {
        return await member.receive(t);
      } catch (e) {
        // A member found stopped only now (a remote one whose process is down) did not take P: the next does.
        if (e instanceof LayerError && e.reason === "stopped") continue;
        throw e;
      }
    }
    throw new LayerError("stopped", "no member of the layer is running", { layerId });
  }
}
