/**
 * A seed 003 testbed: a city layer (Layer 2) over two district layers
 * (Layer 1), each over one edge layer with an in-memory object database: a
 * vehicle in district A's edge layer, a traffic light in district B's. The
 * three ledgers share one chain, or each runs on its own (distinct chain ids).
 */
import { getBytes, keccak256, type LogDescription, type Signer, toUtf8Bytes } from "ethers";

import type { Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { minSig } from "../../sdk/core/crypto/bls.ts";
import { packetDigest } from "../../sdk/core/layers/contract.ts";
import type { Packet } from "../../sdk/core/layers/packet.ts";
import type { SummaryLedgerClient } from "../../sdk/contracts/ledger.ts";
import type { EstablishedLayer } from "../../sdk/layers/establish.ts";
import { establishHierarchy, type Hierarchy } from "../../sdk/layers/hierarchy.ts";
import type { LayerAlarm, LayerNodeOptions } from "../../sdk/layers/layer-node.ts";
import { LayerError, type LayerPeer, LedgerDirectory, type Transmission } from "../../sdk/layers/network.ts";
import type { RouteResult } from "../../sdk/layers/router.ts";
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
  /** The edge layers' central nodes' accounts (what districts A and B link as their subordinates). */
  readonly centrals: { readonly a: Signer; readonly b: Signer };
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
  return { ...hierarchy, directory, vehicle, light, stores, centrals: { a: central(1), b: central(2) } };
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

/** P as `account` signs it for a superior layer on `chainId` (an edge's central node, or a forger). */
export async function signedBy(account: Signer, packet: Packet, chainId: bigint): Promise<Transmission> {
  const edgeSignature = (await account.signMessage(getBytes(packetDigest(packet, chainId)))) as Hex;
  return { packet, edgeSignature };
}

/** A member as one node reaches it: `peer`, except for `overrides` (an unreachable or lying member). */
export function peerProxy(peer: LayerPeer, overrides: Partial<LayerPeer> = {}): LayerPeer {
  return {
    layerId: peer.layerId,
    index: peer.index,
    node: peer.node,
    publicKey: peer.publicKey,
    answer: (challenge) => peer.answer(challenge),
    reviewOpen: (t, request) => peer.reviewOpen(t, request),
    handleFollowing: (t) => peer.handleFollowing(t),
    reviewTakeOver: (blockId, candidate, digest) => peer.reviewTakeOver(blockId, candidate, digest),
    judgeMember: (index, digest) => peer.judgeMember(index, digest),
    judgeSuperior: (digest) => peer.judgeSuperior(digest),
    reviewAttachment: (kind, link, digest) => peer.reviewAttachment(kind, link, digest),
    reviewJoin: (candidate, digest) => peer.reviewJoin(candidate, digest),
    contractOf: (blockId) => peer.contractOf(blockId),
    ...overrides,
  };
}

/** The events `ledger` emitted in transaction `txHash`, by name and arguments. */
export async function ledgerEvents(ledger: SummaryLedgerClient, txHash: string): Promise<LogDescription[]> {
  const receipt = await ledger.runner.provider!.getTransactionReceipt(txHash);
  if (receipt === null) throw new Error(`no receipt for ${txHash}`);
  return receipt.logs
    .filter((log) => log.address.toLowerCase() === ledger.address.toLowerCase())
    .map((log) => ledger.contract.interface.parseLog({ topics: [...log.topics], data: log.data }))
    .filter((e): e is LogDescription => e !== null);
}

let bodies = 0;
/** A fresh message body (equal bodies at the same time would share a summary). */
export const body = (text: string): Uint8Array => new TextEncoder().encode(`${text} #${++bodies}`);

/** What every hop outcome of a first communication through the three layers is. */
export const OPENED = ["opened", "opened", "opened"] as const;
export const outcomes = (r: RouteResult): string[] => r.hops.map((h) => h.outcome);

/**
 * The testbed on one chain with its pieces at hand: every alarm collected, the
 * three layers (district A, city, district B), both edge nodes, the A → B
 * route, the vehicle's first packet (`open`) and a delivered contract
 * (`contract`, which fails unless all three layers opened and the light got it).
 */
export async function scene<S extends Signer>(signers: readonly S[], node: Partial<LayerNodeOptions> = {}) {
  const alarms: LayerAlarm[] = [];
  const bed = await testbed([signers], 4, {
    ...node,
    onAlarm: (a) => {
      alarms.push(a);
      node.onAlarm?.(a);
    },
  });
  const [l1a, l2, l1b] = [DISTRICT_A, CITY, DISTRICT_B].map((x) => bed.layers.get(x)!) as [
    EstablishedLayer,
    EstablishedLayer,
    EstablishedLayer,
  ];
  const [a, b] = [bed.edges.get(EDGE_A)!, bed.edges.get(EDGE_B)!];
  const route = [l1a.layerId, l2.layerId, l1b.layerId];
  const open = (text = "green for 20 s", ending = false) =>
    a.open(bed.vehicle.localId, bed.light.uuid, body(text), route, ending);
  const contract = async (text?: string) => {
    const first = await open(text);
    const r = await bed.router.route(first);
    if (outcomes(r).join() !== OPENED.join() || r.delivery?.object.id !== bed.light.id) {
      throw new Error(`the contract was not opened and delivered: ${outcomes(r).join(", ")}`);
    }
    return { first, r, blocks: r.hops.map((h) => h.blockId), delivered: r.delivery.packet };
  };
  return { bed, signers, alarms, l1a, l2, l1b, a, b, route, open, contract };
}
