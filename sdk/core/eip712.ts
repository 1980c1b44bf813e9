/**
 * Every EIP-712 message of Strata's contracts, in one pure module: the type
 * tables, the domains and the digests (`…Digest(domain, message) -> Hex`).
 *
 * - `DeviceRegistry` ("Strata DeviceRegistry"): what a device key signs to
 *   register, what a new key signs for a re-key, and the challenge a peer signs
 *   to prove who it is (seed 002: device-to-device authentication from on-chain keys).
 * - `AccessTokens` ("Strata AccessTokens"): a holder's signed access request (seed 004 §IV).
 * - `DataAnchor` ("Strata DataAnchor"): a fog cluster's batch and a member's
 *   approval of a cluster's key (seed 004, `core/fogBatch.ts` checks their fields).
 * - `SummaryLedger` ("SummaryLedger"): what a layer's quorum attests (seed 003):
 *   a join, an invalidation, an open, a takeover, a re-attachment, a link and
 *   the superior's loss. The last four carry a counter the ledger keeps.
 *
 * The type strings match the contracts' typehashes byte for byte; the contracts
 * expose the digests as views (`registrationDigest`, `rekeyDigest`,
 * `fogBatchDigest`, `fogClusterDigest`, the ledger's `…Digest`) and
 * `test/sdk/core/eip712.test.ts` compares both sides. No provider, no I/O: a
 * value that does not fit its type is an `InvalidInputError`.
 */
import { getAddress, isAddress, type TypedDataDomain, TypedDataEncoder, type TypedDataField } from "ethers";

import { InvalidInputError } from "../errors.ts";
import { checkInteger, type Hex } from "./bytes.ts";

/** EIP-712 types as ethers takes them: the primary type's fields by type name. */
export type TypedDataTypes = Record<string, TypedDataField[]>;

// ---------------------------------------------------------------- domains

export const REGISTRY_DOMAIN_NAME = "Strata DeviceRegistry";
export const REGISTRY_DOMAIN_VERSION = "1";
export const ACCESS_DOMAIN_NAME = "Strata AccessTokens";
export const ACCESS_DOMAIN_VERSION = "1";
export const ANCHOR_DOMAIN_NAME = "Strata DataAnchor";
export const ANCHOR_DOMAIN_VERSION = "1";
export const LEDGER_DOMAIN_NAME = "SummaryLedger";
export const LEDGER_DOMAIN_VERSION = "1";

/** The registry's EIP-712 domain on `chainId` at `registry`. */
export function registryDomain(chainId: bigint, registry: string): TypedDataDomain {
  return { name: REGISTRY_DOMAIN_NAME, version: REGISTRY_DOMAIN_VERSION, chainId, verifyingContract: registry };
}

/** The EIP-712 domain of the `AccessTokens` contract at `accessTokens` on `chainId` (the address checksummed). */
export function accessDomain(chainId: bigint, accessTokens: string): TypedDataDomain {
  if (typeof accessTokens !== "string" || !isAddress(accessTokens)) {
    throw new InvalidInputError("accessTokens must be an address", { value: String(accessTokens) });
  }
  return {
    name: ACCESS_DOMAIN_NAME,
    version: ACCESS_DOMAIN_VERSION,
    chainId,
    verifyingContract: getAddress(accessTokens),
  };
}

/** `DataAnchor`'s EIP-712 domain on `chainId` at `anchor` (the address lowercase). */
export function anchorDomain(chainId: bigint, anchor: string): TypedDataDomain {
  if (typeof chainId !== "bigint" || chainId < 1n || chainId >= 1n << 256n) {
    throw new InvalidInputError("chainId must be a bigint in [1, 2^256)", { chainId: String(chainId) });
  }
  if (typeof anchor !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(anchor)) {
    throw new InvalidInputError("anchor must be a 20-byte 0x-prefixed address", { anchor });
  }
  return {
    name: ANCHOR_DOMAIN_NAME,
    version: ANCHOR_DOMAIN_VERSION,
    chainId,
    verifyingContract: anchor.toLowerCase(),
  };
}

/** A `SummaryLedger`'s EIP-712 domain on `chainId` at `ledger`. */
export function ledgerDomain(chainId: bigint, ledger: string): TypedDataDomain {
  return { name: LEDGER_DOMAIN_NAME, version: LEDGER_DOMAIN_VERSION, chainId, verifyingContract: ledger };
}

/** The EIP-712 digest of `value` of `types` in `domain`; a value that does not fit is an `InvalidInputError`. */
export function typedDataDigest(domain: TypedDataDomain, types: TypedDataTypes, value: Record<string, unknown>): Hex {
  try {
    return TypedDataEncoder.hash(domain, types, value).toLowerCase() as Hex;
  } catch (cause) {
    if (cause instanceof InvalidInputError) throw cause;
    const primary = Object.keys(types)[0];
    throw new InvalidInputError(
      `${primary} does not fit its EIP-712 type: ${cause instanceof Error ? cause.message.split(" (")[0] : String(cause)}`,
      { type: primary },
      { cause },
    );
  }
}

// --------------------------------------------------------- DeviceRegistry

export const REGISTRATION_TYPES: TypedDataTypes = {
  Registration: [
    { name: "layer", type: "bytes32" },
    { name: "localId", type: "bytes32" },
    { name: "key", type: "address" },
    { name: "owner", type: "address" },
    { name: "kind", type: "uint8" },
    { name: "label", type: "uint8" },
    { name: "permissions", type: "uint32" },
    { name: "profileHash", type: "bytes32" },
    { name: "deadline", type: "uint64" },
  ],
};

export const REKEY_TYPES: TypedDataTypes = {
  Rekey: [
    { name: "id", type: "bytes32" },
    { name: "newKey", type: "address" },
    { name: "nonce", type: "uint16" },
    { name: "deadline", type: "uint64" },
  ],
};

export const PEER_CHALLENGE_TYPES: TypedDataTypes = {
  PeerChallenge: [
    { name: "prover", type: "bytes32" },
    { name: "verifier", type: "bytes32" },
    { name: "nonce", type: "bytes32" },
    { name: "issuedAt", type: "uint64" },
  ],
};

/** The fields a registration carries (the contract's `Registration` struct). */
export interface RegistrationMessage {
  readonly layer: Hex;
  readonly localId: Hex;
  readonly key: string;
  readonly kind: number;
  readonly label: number;
  readonly permissions: number;
  readonly profileHash: Hex;
  readonly deadline: bigint;
}

/** The typed-data value a device key signs for `owner`. */
export function registrationValue(req: RegistrationMessage, owner: string): Record<string, unknown> {
  checkInteger(req.kind, 0, 255, "kind");
  checkInteger(req.label, 0, 255, "label");
  checkInteger(req.permissions, 0, 2 ** 32 - 1, "permissions");
  return { ...req, owner };
}

/** The digest a device key signs to register with `owner` (`DeviceRegistry.registrationDigest`). */
export function registrationDigest(domain: TypedDataDomain, req: RegistrationMessage, owner: string): Hex {
  return typedDataDigest(domain, REGISTRATION_TYPES, registrationValue(req, owner));
}

/** The digest a new key signs for a re-key of `id` at `nonce` (`DeviceRegistry.rekeyDigest` at the device's nonce). */
export function rekeyDigest(domain: TypedDataDomain, id: Hex, newKey: string, nonce: number, deadline: bigint): Hex {
  return typedDataDigest(domain, REKEY_TYPES, { id, newKey, nonce, deadline });
}

/** A peer-authentication challenge: `verifier` asks `prover` to sign a fresh nonce. */
export interface PeerChallenge {
  readonly prover: Hex;
  readonly verifier: Hex;
  readonly nonce: Hex;
  readonly issuedAt: bigint;
}

/** The digest a prover's device key signs to answer `challenge` (checked off chain only). */
export function peerChallengeDigest(domain: TypedDataDomain, challenge: PeerChallenge): Hex {
  return typedDataDigest(domain, PEER_CHALLENGE_TYPES, { ...challenge });
}

/** A compact (EIP-2098) signature as the registry takes it. */
export interface CompactSignature {
  readonly r: Hex;
  readonly vs: Hex;
}

// ----------------------------------------------------------- AccessTokens

/** The EIP-712 type of an access request. */
export const ACCESS_REQUEST_TYPES: TypedDataTypes = {
  AccessRequest: [
    { name: "token", type: "uint256" },
    { name: "resource", type: "bytes32" },
    { name: "requester", type: "address" },
    { name: "nonce", type: "bytes32" },
    { name: "issuedAt", type: "uint64" },
    { name: "expiresAt", type: "uint64" },
    { name: "scope", type: "bytes32" },
  ],
};

/** An access request as signed: by `requester`, to use `resource` through access token `token`. */
export interface AccessRequestMessage {
  /** The access token invoked (its current shift must be the requester's). */
  readonly token: bigint;
  /** The resource served (the token's resource: a device's DeviceId, an actuator's id...). */
  readonly resource: Hex;
  /** The account that signs: the holder of the token's current shift. */
  readonly requester: string;
  /** 32 random bytes: a verifier accepts each nonce once. */
  readonly nonce: Hex;
  /** When the requester made the request (seconds). */
  readonly issuedAt: bigint;
  /** The last second the request may be served, no later than the shift's end. */
  readonly expiresAt: bigint;
  /** What the request is for and whom it addresses (`accessScope`): a verifier may require its own. */
  readonly scope: Hex;
}

/**
 * The digest a requester signs (checked off chain only). The fields are hashed
 * as given: `core/access.ts`'s `accessRequestDigest` checks the request first.
 */
export function accessRequestTypedDigest(domain: TypedDataDomain, request: AccessRequestMessage): Hex {
  const { token, resource, requester, nonce, issuedAt, expiresAt, scope } = request;
  return typedDataDigest(domain, ACCESS_REQUEST_TYPES, {
    token,
    resource,
    requester,
    nonce,
    issuedAt,
    expiresAt,
    scope,
  });
}

// ------------------------------------------------------------- DataAnchor

export const FOG_BATCH_TYPES: TypedDataTypes = {
  FogBatch: [
    { name: "cluster", type: "bytes32" },
    { name: "sequence", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "leafCount", type: "uint64" },
  ],
};

export const FOG_CLUSTER_TYPES: TypedDataTypes = {
  FogCluster: [
    { name: "cluster", type: "bytes32" },
    { name: "groupKey", type: "bytes" },
    { name: "threshold", type: "uint8" },
    { name: "members", type: "bytes32[]" },
    { name: "epoch", type: "uint32" },
  ],
};

/** A fog batch as signed: the `sequence`-th link of `cluster`'s chain. */
export interface FogBatchMessage {
  readonly cluster: Hex;
  readonly sequence: bigint;
  readonly root: Hex;
  readonly leafCount: bigint;
}

/** A member's approval of a cluster's key of `epoch`. */
export interface FogClusterMessage {
  readonly cluster: Hex;
  /** 256-byte EIP-2537 G2 encoding. */
  readonly groupKey: Hex;
  readonly threshold: number;
  readonly members: readonly Hex[];
  readonly epoch: number;
}

/**
 * The digest of a fog batch (`DataAnchor.fogBatchDigest`), hashed as given:
 * `core/fogBatch.ts`'s `fogBatchDigest` checks the fields first.
 */
export function anchorFogBatchDigest(domain: TypedDataDomain, batch: FogBatchMessage): Hex {
  const { cluster, sequence, root, leafCount } = batch;
  return typedDataDigest(domain, FOG_BATCH_TYPES, { cluster, sequence, root, leafCount });
}

/**
 * The digest a member's key signs to approve a cluster's key
 * (`DataAnchor.fogClusterDigest`), hashed as given: `core/fogBatch.ts`'s
 * `fogClusterDigest` checks the fields first.
 */
export function anchorFogClusterDigest(domain: TypedDataDomain, key: FogClusterMessage): Hex {
  const { cluster, groupKey, threshold, members, epoch } = key;
  return typedDataDigest(domain, FOG_CLUSTER_TYPES, { cluster, groupKey, threshold, members: [...members], epoch });
}

// ---------------------------------------------------------- SummaryLedger

/** `SummaryLedger`'s JOIN_TYPEHASH (no state: a node joins once). */
export const LEDGER_JOIN_TYPES: TypedDataTypes = {
  Join: [
    { name: "node", type: "address" },
    { name: "publicKeyHash", type: "bytes32" },
  ],
};

/** `SummaryLedger`'s INVALIDATE_TYPEHASH (no state: a member is tagged once). */
export const LEDGER_INVALIDATE_TYPES: TypedDataTypes = { Invalidate: [{ name: "index", type: "uint256" }] };

/** `SummaryLedger`'s OPEN_TYPEHASH. */
export const LEDGER_OPEN_TYPES: TypedDataTypes = {
  Open: [
    { name: "summary", type: "bytes32" },
    { name: "sourceLayer", type: "bytes32" },
    { name: "route", type: "bytes32" },
    { name: "responsible", type: "address" },
    { name: "expiry", type: "uint40" },
    { name: "deadline", type: "uint40" },
  ],
};

/** `SummaryLedger`'s TAKEOVER_TYPEHASH: `nonce` is the block's handover counter. */
export const LEDGER_TAKE_OVER_TYPES: TypedDataTypes = {
  TakeOver: [
    { name: "blockId", type: "bytes32" },
    { name: "responsible", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
};

/** `SummaryLedger`'s REATTACH_TYPEHASH: `epoch` is the superior link's epoch. */
export const LEDGER_REATTACH_TYPES: TypedDataTypes = {
  Reattach: [
    { name: "layerId", type: "bytes32" },
    { name: "ledger", type: "address" },
    { name: "chainId", type: "uint256" },
    { name: "epoch", type: "uint256" },
  ],
};

/** `SummaryLedger`'s SUPERIOR_LOST_TYPEHASH: the current superior at the superior link's epoch. */
export const LEDGER_SUPERIOR_LOST_TYPES: TypedDataTypes = {
  SuperiorLost: [
    { name: "layerId", type: "bytes32" },
    { name: "ledger", type: "address" },
    { name: "chainId", type: "uint256" },
    { name: "epoch", type: "uint256" },
  ],
};

/** `SummaryLedger`'s LINK_TYPEHASH: `nonce` is that subordinate's own link counter. */
export const LEDGER_LINK_TYPES: TypedDataTypes = {
  Link: [
    { name: "layerId", type: "bytes32" },
    { name: "ledger", type: "address" },
    { name: "chainId", type: "uint256" },
    { name: "nonce", type: "uint256" },
  ],
};

/** A first communication's request (`OpenRequest`) as the quorum signs it; times in seconds. */
export interface LedgerOpenMessage {
  readonly summary: Hex;
  readonly sourceLayer: Hex;
  readonly route: Hex;
  /** The node the quorum makes responsible: it must be the one that submits the open. */
  readonly responsible: string;
  readonly expiry: bigint;
  readonly deadline: bigint;
}

/** A layer link as the quorum signs it, with the ledger's counter for it. */
export interface LedgerLinkMessage {
  readonly layerId: Hex;
  readonly ledger: string;
  readonly chainId: bigint;
}

/** The digest the quorum signs to admit `node` (`SummaryLedger.joinDigest`). */
export function ledgerJoinDigest(domain: TypedDataDomain, join: { node: string; publicKeyHash: Hex }): Hex {
  return typedDataDigest(domain, LEDGER_JOIN_TYPES, { node: join.node, publicKeyHash: join.publicKeyHash });
}

/** The digest the other members sign to tag member `index` invalid (`SummaryLedger.invalidateDigest`). */
export function ledgerInvalidateDigest(domain: TypedDataDomain, invalidate: { index: number | bigint }): Hex {
  return typedDataDigest(domain, LEDGER_INVALIDATE_TYPES, { index: invalidate.index });
}

/** The digest the quorum signs to open a block (`SummaryLedger.openDigest`). */
export function ledgerOpenDigest(domain: TypedDataDomain, request: LedgerOpenMessage): Hex {
  const { summary, sourceLayer, route, responsible, expiry, deadline } = request;
  return typedDataDigest(domain, LEDGER_OPEN_TYPES, { summary, sourceLayer, route, responsible, expiry, deadline });
}

/** The digest the quorum signs to hand `blockId` over at its handover counter `nonce` (`SummaryLedger.takeOverDigest`). */
export function ledgerTakeOverDigest(
  domain: TypedDataDomain,
  takeOver: { blockId: Hex; responsible: string; nonce: bigint },
): Hex {
  const { blockId, responsible, nonce } = takeOver;
  return typedDataDigest(domain, LEDGER_TAKE_OVER_TYPES, { blockId, responsible, nonce });
}

/** The digest the quorum signs to re-attach to `superior` at the superior link's `epoch` (`SummaryLedger.reattachDigest`). */
export function ledgerReattachDigest(domain: TypedDataDomain, superior: LedgerLinkMessage & { epoch: bigint }): Hex {
  const { layerId, ledger, chainId, epoch } = superior;
  return typedDataDigest(domain, LEDGER_REATTACH_TYPES, { layerId, ledger, chainId, epoch });
}

/** The digest the quorum signs to declare `superior` lost at the superior link's `epoch` (`SummaryLedger.superiorLostDigest`). */
export function ledgerSuperiorLostDigest(
  domain: TypedDataDomain,
  superior: LedgerLinkMessage & { epoch: bigint },
): Hex {
  const { layerId, ledger, chainId, epoch } = superior;
  return typedDataDigest(domain, LEDGER_SUPERIOR_LOST_TYPES, { layerId, ledger, chainId, epoch });
}

/** The digest the quorum signs to link `subordinate` at its link counter `nonce` (`SummaryLedger.linkDigest`). */
export function ledgerLinkDigest(domain: TypedDataDomain, subordinate: LedgerLinkMessage & { nonce: bigint }): Hex {
  const { layerId, ledger, chainId, nonce } = subordinate;
  return typedDataDigest(domain, LEDGER_LINK_TYPES, { layerId, ledger, chainId, nonce });
}
