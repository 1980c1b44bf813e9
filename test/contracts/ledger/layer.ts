/**
 * Test and bench helpers for `SummaryLedger` (seed 003's high-level layers):
 * a layer's members with deterministic keys, the beginning block, and quorum
 * attestations of chosen members over a 32-byte EIP-712 digest. The keys'
 * EIP-2537 encodings, the attestations and the quorum rule are the SDK's
 * (`sdk/core/layers/attestation.ts`, `quorum.ts`); only the setup is here.
 */
import { type AddressLike, getBytes, hexlify, keccak256, toUtf8Bytes, Wallet } from "ethers";

import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { minSig } from "../../../sdk/core/crypto/bls.ts";
import { attest as attestWith, memberKeyMaterial } from "../../../sdk/core/layers/attestation.ts";
import { NO_LAYER as SDK_NO_LAYER } from "../../../sdk/layers/establish.ts";

export { quorumOf } from "../../../sdk/core/layers/quorum.ts";
export { signerBitmap as bitmap } from "../../../sdk/core/layers/attestation.ts";

export const backend = await mclBackend();
export const bls = minSig(backend);

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
  const { publicKey, proofOfPossession } = memberKeyMaterial(backend, secretKey);
  return { node, secretKey, publicKey: hexlify(publicKey), proofOfPossession: hexlify(proofOfPossession) };
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

/** A layer id for a test name (any string; the SDK's `layerHash` takes only layer addresses). */
export const layerId = (name: string): string => keccak256(toUtf8Bytes(name));
/** No layer linked (the top of the hierarchy), as the SDK writes it. */
export const NO_LAYER: LayerLink = SDK_NO_LAYER;

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

/** The SDK's attestation of `members[indices]` over `digest` (hex), with the signature in hex. */
export function attest(
  members: readonly LayerMember[],
  digest: string,
  indices: readonly number[],
): { signers: bigint; signature: string } {
  const a = attestWith(
    backend,
    getBytes(digest),
    indices.map((index) => ({ index, secretKey: members[index]!.secretKey })),
  );
  return { signers: a.signers, signature: hexlify(a.signature) };
}

/** 0, 1, ..., k - 1. */
export const first = (k: number): number[] => Array.from({ length: k }, (_, i) => i);
