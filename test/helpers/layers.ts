/**
 * A seed 003 testbed: a city layer (Layer 2) over two district layers
 * (Layer 1), each over one edge layer with an in-memory object database: a
 * vehicle in district A's edge layer, a traffic light in district B's. The
 * three ledgers share one chain, or each runs on its own (distinct chain ids).
 */
import { getBytes, keccak256, type Signer, toUtf8Bytes } from "ethers";

import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { minSig } from "../../sdk/core/crypto/bls.ts";
import { establishHierarchy, type Hierarchy } from "../../sdk/layers/hierarchy.ts";
import type { LayerNodeOptions } from "../../sdk/layers/layer-node.ts";
import { LayerError, LedgerDirectory } from "../../sdk/layers/network.ts";
import { ObjectStore, type StoredObject } from "../../sdk/store/object-store.ts";

export const backend = await mclBackend();
const bls = minSig(backend);

export const CITY = "strata://city";
export const DISTRICT_A = "strata://city/district-a";
export const DISTRICT_B = "strata://city/district-b";
export const EDGE_A = "strata://city/district-a/crossing-1";
export const EDGE_B = "strata://city/district-b/crossing-9";

export interface Testbed extends Hierarchy {
  readonly directory: LedgerDirectory;
  readonly vehicle: StoredObject;
  readonly light: StoredObject;
  readonly stores: { readonly a: ObjectStore; readonly b: ObjectStore };
}

/** Member keys, deterministic per layer and index. */
export const memberKey = (layer: string, i: number): Uint8Array =>
  bls.keygen(getBytes(keccak256(toUtf8Bytes(`strata testbed ${layer} ${i}`))));

/** A chain's funded accounts (an embedded network's `ethers.getSigners()`, a JSON-RPC node's `listAccounts()`). */
export type ChainAccounts = readonly Signer[];

/**
 * The testbed on `chains`: one chain's accounts (all layers on one chain) or
 * three (city, district A, district B on their own). `size` members per layer.
 */
export async function testbed(
  chains: readonly ChainAccounts[],
  size = 4,
  node: Partial<LayerNodeOptions> = {},
): Promise<Testbed> {
  const single = chains.length === 1;
  const accounts = [chains[0]!, chains[1] ?? chains[0]!, chains[2] ?? chains[0]!];
  // On one chain the three layers take disjoint accounts.
  const pick = (k: number, i: number) => accounts[k]![single ? 1 + k * size + i : 1 + i]!;
  const members = (k: number, layer: string) =>
    Array.from({ length: size }, (_, i) => ({ signer: pick(k, i), secretKey: memberKey(layer, i) }));
  const stores = { a: new ObjectStore(":memory:", EDGE_A), b: new ObjectStore(":memory:", EDGE_B) };
  const vehicle = stores.a.create({
    classPath: "Vehicle/Car",
    permissions: 1,
    description: "delivery van 17",
    state: { speedKmh: 32 },
    functions: [{ name: "pay", inputs: ["uint256"], outputs: [] }],
  });
  const light = stores.b.create({
    classPath: "Infrastructure/TrafficLight",
    permissions: 1,
    description: "crossing 9, northbound",
    state: { phase: "red" },
    functions: [{ name: "requestGreen", inputs: ["uint32"], outputs: ["bool"] }],
  });
  const directory = new LedgerDirectory();
  const central = (k: number) => accounts[k]![single ? 1 + 3 * size + k : 1 + size]!;
  const hierarchy = await establishHierarchy({
    directory,
    backend,
    node,
    layers: [
      { address: CITY, members: members(0, CITY), deployer: accounts[0]![0]! },
      {
        address: DISTRICT_A,
        members: members(1, DISTRICT_A),
        deployer: accounts[1]![0]!,
        superior: CITY,
        edges: [{ store: stores.a, account: central(1) }],
      },
      {
        address: DISTRICT_B,
        members: members(2, DISTRICT_B),
        deployer: accounts[2]![0]!,
        superior: CITY,
        edges: [{ store: stores.b, account: central(2) }],
      },
    ],
  });
  return { ...hierarchy, directory, vehicle, light, stores };
}

/** The `LayerError` `work` rejects with (fails the test when it resolves or throws something else). */
export async function refusal(work: Promise<unknown>): Promise<LayerError> {
  const outcome = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof LayerError)) {
    throw new Error(`expected a LayerError, got ${outcome === undefined ? "success" : String(outcome)}`);
  }
  return outcome;
}
