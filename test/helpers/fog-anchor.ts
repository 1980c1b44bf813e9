/**
 * Shared set-up for the fog-cluster tests of `DataAnchor` (seed 004): a city of
 * admitted fog nodes, t-of-n threshold keys made by a dealer or by the
 * dealer-free joint-Feldman DKG among the members, group signatures combined
 * from chosen members' sign shares, forgeries interpolated from too few shares,
 * proofs of possession and the members' approvals, all through the SDK.
 */
import { type CompactSignature, type Hex, toHex } from "../../sdk/index.ts";
import { type DataAnchorClient, type FogClusterResult } from "../../sdk/exports/anchoring.ts";
import {
  type Commitments,
  g1ToEip2537,
  g2ToEip2537,
  type KeyShare,
  mclBackend,
  ThresholdScheme,
} from "../../sdk/exports/crypto.ts";
import { FOG_POSSESSION_DST, FogCluster, type FogMember, possessionMessage } from "../../sdk/exports/fog.ts";
import { runDkg } from "../../sdk/core/fog/dkg.ts";
import type { Node } from "./registry.ts";

export const backend = await mclBackend();
export const threshold = new ThresholdScheme(backend);

/** A cluster's threshold key: every member's share, the Feldman commitments and the group key. */
export interface FogKey {
  readonly t: number;
  readonly n: number;
  readonly shares: readonly KeyShare[];
  readonly commitments: Commitments;
  /** C0 in its 256-byte EIP-2537 encoding, as the contract takes it. */
  readonly groupKey: Uint8Array;
}

/** A t-of-n key from a dealer who knows the secret (fast; the secret is forgotten). */
export function dealtKey(t: number, n: number): FogKey {
  const { shares, commitments } = threshold.deal(t, n);
  return { t, n, shares, commitments, groupKey: g2ToEip2537(backend, threshold.groupKey(commitments)) };
}

/** A t-of-n key from the joint-Feldman DKG among n members (`runDkg`): nobody ever holds the secret. */
export function dkgKey(t: number, n: number): FogKey {
  const { shares, commitments } = runDkg(threshold, t, n);
  return { t, n, shares, commitments, groupKey: g2ToEip2537(backend, threshold.groupKey(commitments)) };
}

/** The group signature (EIP-2537 G1) the sign shares of members `indices` (1-based) combine into. */
export function groupSign(key: FogKey, indices: readonly number[], message: Uint8Array, dst?: string): Uint8Array {
  const partials = indices.map((i) => threshold.partialSign(key.shares[i - 1]!, message, dst));
  return g1ToEip2537(backend, threshold.combine(key.commitments, message, partials, dst).signature);
}

/** What colluding members `indices` get by interpolating their shares alone (no verification). */
export function interpolated(key: FogKey, indices: readonly number[], message: Uint8Array, dst?: string): Uint8Array {
  const partials = indices.map((i) => threshold.partialSign(key.shares[i - 1]!, message, dst));
  return g1ToEip2537(backend, threshold.interpolate(partials));
}

/** The proof of possession of the group key, combined from members `indices`' sign shares. */
export function possessionProof(key: FogKey, indices?: readonly number[]): Uint8Array {
  const signers = indices ?? Array.from({ length: key.t }, (_, i) => i + 1);
  return groupSign(key, signers, possessionMessage(key.groupKey), FOG_POSSESSION_DST);
}

/** Every member's approval of `key` for `cluster` at `epoch` (default: the next epoch). */
export async function approvals(
  client: DataAnchorClient,
  cluster: Hex,
  members: readonly Node[],
  key: { groupKey: Uint8Array; threshold: number; epoch?: number },
): Promise<CompactSignature[]> {
  const ids = members.map((m) => m.id);
  return Promise.all(members.map((m) => client.signFogClusterApproval(m.key, cluster, { ...key, members: ids })));
}

/**
 * Members that hold `key`'s shares (member i + 1 holds share i + 1) and sign nothing but their
 * shares of the proof of possession: a `FogCluster` to register, without fog nodes.
 */
export function keyHolders(key: FogKey, members: readonly { readonly id: Hex }[]): FogMember[] {
  return members.map((m, i) => ({
    index: i + 1,
    id: m.id,
    endorse: () => Promise.reject(new Error("a key holder endorses no batch")),
    signPossession: (groupKey: Uint8Array) =>
      Promise.resolve(threshold.partialSign(key.shares[i]!, possessionMessage(groupKey), FOG_POSSESSION_DST)),
  }));
}

/**
 * Registers `cluster` with `key` and `members` (all approving) through the cluster's key, by
 * `FogCluster.register`; a cluster registered with another key moves to the next epoch.
 */
export async function registerCluster(
  client: DataAnchorClient,
  cluster: Node,
  members: readonly Node[],
  key: FogKey,
): Promise<FogClusterResult> {
  const { chainId } = await client.domain();
  const fog = new FogCluster({
    id: cluster.id,
    deployment: { chainId: BigInt(chainId!), anchor: client.address },
    commitments: key.commitments,
    scheme: threshold,
    members: keyHolders(key, members),
    anchor: client,
  });
  const registered = await fog.register({
    client,
    clusterKey: cluster.key,
    memberKeys: members.map((m) => m.key),
    rekey: true,
  });
  if (!registered.sent) throw new Error("the cluster was registered with this key already: nothing was sent");
  const { sent: _sent, ...result } = registered;
  return result;
}

/** Hex of EIP-2537 bytes, for direct contract calls. */
export const hexOf = (bytes: Uint8Array): Hex => toHex(bytes);
