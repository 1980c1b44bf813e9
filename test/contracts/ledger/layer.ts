/**
 * Test and bench helpers for `SummaryLedger` (seed 003's high-level layers):
 * a layer's members with SDK-made min-sig BLS keys and proofs of possession in
 * EIP-2537 encoding, the beginning block, and quorum attestations (aggregate
 * signatures of chosen members over a 32-byte EIP-712 digest, with their bitmap).
 */
import { type AddressLike, getBytes, hexlify, keccak256, toUtf8Bytes, Wallet } from "ethers";

import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { minSig } from "../../../sdk/core/crypto/bls.ts";
import { g1ToEip2537, g2ToEip2537 } from "../../../sdk/core/crypto/eip2537.ts";

export const backend = await mclBackend();
export const bls = minSig(backend);

export const g1 = (bytes: Uint8Array): string => hexlify(g1ToEip2537(backend, backend.g1.fromBytes(bytes)));
export const g2 = (bytes: Uint8Array): string => hexlify(g2ToEip2537(backend, backend.g2.fromBytes(bytes)));

/** One member: its node address, secret key, EIP-2537 key and proof of possession. */
export interface LayerMember {
  readonly node: string;
  readonly secretKey: Uint8Array;
  readonly publicKey: string;
  readonly proofOfPossession: string;
}

/** A member with a deterministic key (`tag`, `index`) for `node`. */
export function layerMember(node: string, tag: string, index: number): LayerMember {
  const secretKey = bls.keygen(getBytes(keccak256(toUtf8Bytes(`strata layer ${tag} member ${index}`))));
  return {
    node,
    secretKey,
    publicKey: g2(bls.publicKey(secretKey)),
    proofOfPossession: g1(bls.popProve(secretKey)),
  };
}

/** `n` members: the first nodes are `nodes` (accounts that send transactions), the rest random. */
export function layerMembers(n: number, nodes: readonly string[], tag = "L1"): LayerMember[] {
  return Array.from({ length: n }, (_, i) => layerMember(nodes[i] ?? Wallet.createRandom().address, tag, i));
}

export interface LayerLink {
  readonly layerId: string;
  readonly ledger: AddressLike;
  readonly chainId: bigint;
}

export const layerId = (name: string): string => keccak256(toUtf8Bytes(name));
export const NO_LAYER: LayerLink = { layerId: `0x${"00".repeat(32)}`, ledger: `0x${"00".repeat(20)}`, chainId: 0n };

/** The constructor argument of `SummaryLedger`. */
export function beginning(
  name: string,
  members: readonly LayerMember[],
  subordinates: readonly LayerLink[] = [],
  superior: LayerLink = NO_LAYER,
) {
  return {
    layerId: layerId(name),
    consensus: "PBFT",
    members: members.map(({ node, publicKey, proofOfPossession }) => ({ node, publicKey, proofOfPossession })),
    subordinates: [...subordinates],
    superior,
  };
}

/** The bitmap of member indices. */
export const bitmap = (indices: readonly number[]): bigint => indices.reduce((acc, i) => acc | (1n << BigInt(i)), 0n);

/** The aggregate signature of `members[indices]` over `digest` (hex) and its bitmap. */
export function attest(
  members: readonly LayerMember[],
  digest: string,
  indices: readonly number[],
): { signers: bigint; signature: string } {
  const message = getBytes(digest);
  const signature = bls.aggregateSignatures(indices.map((i) => bls.sign(members[i]!.secretKey, message)));
  return { signers: bitmap(indices), signature: g1(signature) };
}

/** 0, 1, ..., k - 1. */
export const first = (k: number): number[] => Array.from({ length: k }, (_, i) => i);

/** The quorum of `n` valid members: n - floor((n - 1) / 3). */
export const quorumOf = (n: number): number => n - Math.floor((n - 1) / 3);
