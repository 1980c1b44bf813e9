/**
 * Establishes a tree of seed 003 layers from a plan, parents first: each
 * high-level layer's ledger with its beginning block (on the chain its
 * deployer is on: one chain for all, or one per layer), its edge layers'
 * central nodes linked as subordinates, and each layer linked to its superior
 * by the superior's own quorum (which first examines the new layer). Returns
 * the router that moves packets through the tree. For testbeds, staging and
 * the demo; in production each layer's members establish their own.
 */
import type { Signer } from "ethers";

import type { PairingBackend } from "../core/crypto/backend.ts";
import { layerHash } from "../core/ids.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { InvalidInputError } from "../errors.ts";
import { EdgeNode } from "./edge-node.ts";
import { type EstablishedLayer, establishLayer, type EstablishOptions, type LayerMemberSetup } from "./establish.ts";
import type { LedgerDirectory } from "./network.ts";
import { LayerRouter } from "./router.ts";

/** An edge layer: its object database and its central node's account. */
export interface EdgePlan {
  readonly store: ObjectStore;
  readonly account: Signer;
}

/** A high-level layer: its address, members, deployer, superior (another plan's address) and edge layers. */
export interface LayerPlan {
  readonly address: string;
  readonly members: readonly LayerMemberSetup[];
  readonly deployer: Signer;
  readonly superior?: string;
  readonly edges?: readonly EdgePlan[];
}

export interface Hierarchy {
  readonly router: LayerRouter;
  /** By layer address. */
  readonly layers: ReadonlyMap<string, EstablishedLayer>;
  /** By edge layer address. */
  readonly edges: ReadonlyMap<string, EdgeNode>;
}

export async function establishHierarchy(o: {
  readonly layers: readonly LayerPlan[];
  readonly directory: LedgerDirectory;
  readonly backend: PairingBackend;
  readonly node?: EstablishOptions["node"];
}): Promise<Hierarchy> {
  const router = new LayerRouter();
  const layers = new Map<string, EstablishedLayer>();
  const edges = new Map<string, EdgeNode>();
  for (const plan of o.layers) {
    const parent = plan.superior === undefined ? undefined : layers.get(plan.superior);
    if (plan.superior !== undefined && parent === undefined) {
      throw new InvalidInputError("a layer's superior must be planned before it", {
        layer: plan.address,
        superior: plan.superior,
      });
    }
    const edgeLinks = await Promise.all(
      (plan.edges ?? []).map(async (e) => ({
        layerId: layerHash(e.store.layer),
        ledger: await e.account.getAddress(),
        chainId: 0n,
      })),
    );
    const layer = await establishLayer({
      address: plan.address,
      members: plan.members,
      deployer: plan.deployer,
      directory: o.directory,
      backend: o.backend,
      subordinates: edgeLinks,
      ...(parent ? { superior: parent.link } : {}),
      node: { ...o.node, reach: (id) => router.members(id) },
    });
    layers.set(plan.address, layer);
    router.addLayer(layer.nodes);
    for (const e of plan.edges ?? []) {
      const edge = new EdgeNode({
        store: e.store,
        account: e.account,
        superior: layer.link,
        directory: o.directory,
        ...(o.node?.onAlarm ? { onAlarm: o.node.onAlarm } : {}),
      });
      edges.set(e.store.layer, edge);
      router.addEdge(edge);
    }
    if (parent) await parent.nodes[0]!.linkSubordinate(layer.link);
  }
  return { router, layers, edges };
}
