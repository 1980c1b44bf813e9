/**
 * Typed errors of the SDK. Every error is a `StrataError` with a literal `name`,
 * a one-line `shortMessage`, optional `details` (the offending values) and the
 * original `cause`, so callers branch on `name` or `instanceof`, never on text.
 */

export interface ErrorDetails {
  readonly [key: string]: unknown;
}

export class StrataError extends Error {
  override name: string = "StrataError";
  readonly shortMessage: string;
  readonly details: ErrorDetails;

  constructor(shortMessage: string, details: ErrorDetails = {}, options: { cause?: unknown } = {}) {
    const detailText = Object.keys(details).length > 0 ? `\nDetails: ${safeJson(details)}` : "";
    super(`${shortMessage}${detailText}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.shortMessage = shortMessage;
    this.details = details;
  }
}

/**
 * A refusal with a machine-readable `reason` from a closed union: every "this was refused
 * because …" error of the SDK is one, so callers branch on `reason` the same way everywhere.
 */
export class RejectionError<R extends string = string> extends StrataError {
  override name: string = "RejectionError";
  readonly reason: R;

  constructor(reason: R, shortMessage: string, details: ErrorDetails = {}, options: { cause?: unknown } = {}) {
    super(shortMessage, { reason, ...details }, options);
    this.reason = reason;
  }
}

/** An argument is malformed, out of range or of the wrong type. */
export class InvalidInputError extends StrataError {
  override name = "InvalidInputError" as const;
}

/** A contract call reverted with one of Strata's custom errors (decoded). */
export class ContractRevertError extends StrataError {
  override name = "ContractRevertError" as const;
  readonly errorName: string;
  readonly args: readonly unknown[];
  readonly contract: string;

  /** `details` adds context (e.g. which request of a batch) to the decoded error's name and arguments. */
  constructor(
    contract: string,
    errorName: string,
    args: readonly unknown[],
    cause: unknown,
    details: ErrorDetails = {},
  ) {
    super(
      `${contract} reverted with ${errorName}(${args.map(String).join(", ")})`,
      { ...details, errorName, args },
      { cause },
    );
    this.contract = contract;
    this.errorName = errorName;
    this.args = args;
  }
}

/** A network call failed for a reason other than a decoded revert. */
export class TransportError extends StrataError {
  override name: string = "TransportError";
}

/**
 * A chain call got no answer within its deadline (`timeoutMs`): the node is
 * silent, slow or unreachable. Nothing was decided, so the call may be retried.
 */
export class TimeoutError extends TransportError {
  override name = "TimeoutError" as const;
  /** Always true: a call that timed out may be tried again. */
  readonly retryable = true as const;
}

/** A client is pointed at the wrong deployment; nothing was sent. */
export class ConfigError extends StrataError {
  override name: string = "ConfigError";
}

/** The node serves another chain than the deployment's (`details.expected`, `details.actual`). */
export class WrongChainError extends ConfigError {
  override name = "WrongChainError" as const;
}

/** No contract code at the address on this chain (`details.address`, `details.chainId`). */
export class NoCodeError extends ConfigError {
  override name = "NoCodeError" as const;
}

/**
 * A node refused a signed transaction for a reason that sending it again will not change
 * (insufficient funds, a fee cap below the base fee, too little gas …): `details.reason` holds
 * the node's answer. Refusals that only say the node has the transaction or its nonce already
 * are not errors (see `DataAnchorClient.broadcast`).
 */
export class TxRejectedError extends StrataError {
  override name = "TxRejectedError" as const;
}

/**
 * Replacing a pending transaction would take a fee above the configured cap
 * (`details.maxFeePerGas`, `details.needed`): the transaction is left pending as it is.
 */
export class FeeCapError extends StrataError {
  override name = "FeeCapError" as const;
}

/** Why a point encoding was refused. */
export type PointRejection = "length" | "encoding" | "not-on-curve" | "not-in-subgroup" | "identity";

/** A group element failed validation at the boundary (seed of every pairing scheme). */
export class InvalidPointError extends RejectionError<PointRejection> {
  override name = "InvalidPointError" as const;
  readonly group: "G1" | "G2";

  constructor(group: "G1" | "G2", reason: PointRejection, shortMessage: string, options: { cause?: unknown } = {}) {
    super(reason, `${group}: ${shortMessage}`, { group }, options);
    this.group = group;
  }
}

/** A ciphertext failed authentication or its encapsulation is inconsistent (nothing is revealed). */
export class DecryptionError extends StrataError {
  override name = "DecryptionError" as const;
}

/** Threshold operations: too few shares, a duplicate index, or shares that fail verification. */
export class ThresholdError extends StrataError {
  override name = "ThresholdError" as const;
  /** Indices of the shares found invalid, when known. */
  readonly badShares: readonly number[];

  constructor(shortMessage: string, badShares: readonly number[] = [], details: ErrorDetails = {}) {
    super(shortMessage, { badShares, ...details });
    this.badShares = badShares;
  }
}

/** Why a peer's proof of identity was refused (seed 002 peer authentication). */
export type PeerRejection =
  | "unknown-device"
  | "not-active"
  | "wrong-signer"
  | "bad-signature"
  | "stale-challenge"
  | "future-challenge"
  | "challenge-mismatch"
  | "wrong-verifier"
  /** A service's client sent no credential, or one the service does not know. */
  | "no-credential"
  | "bad-credential";

/** A peer's response to a challenge did not authenticate it. */
export class PeerAuthenticationError extends RejectionError<PeerRejection> {
  override name = "PeerAuthenticationError" as const;
}

/** Why a message of the NB-IoT data path (seed 000) or the fog layer (seed 004) was refused. */
export type ProtocolRejection =
  | "malformed"
  | "bad-signature"
  | "not-registered"
  | "blocked"
  | "wrong-peer"
  | "clock-skew"
  | "replay"
  | "unknown-session"
  | "stale-session"
  | "out-of-order"
  | "conflict"
  | "handed-over"
  | "forged-tip"
  | "broken-link"
  | "tampered"
  | "bad-proof"
  | "not-anchored"
  | "missing-block"
  | "fork"
  | "bad-profile"
  | "busy"
  | "held"
  | "retry";

/** A protocol message, block or proof failed a check; `reason` says which. Nothing stored changes. */
export class ProtocolError extends RejectionError<ProtocolRejection> {
  override name = "ProtocolError" as const;
}

/** Why a signed access request was refused (seed 004 token-based access control). */
export type AccessDenial =
  | "bad-signature"
  | "wrong-resource"
  | "wrong-scope"
  | "revoked"
  | "resource-inactive"
  | "not-holder"
  | "not-yet"
  | "expired"
  | "beyond-shift"
  | "too-long"
  | "replay";

/** A signed access request does not entitle its requester to the resource now; `reason` says why. */
export class AccessDeniedError extends RejectionError<AccessDenial> {
  override name = "AccessDeniedError" as const;
}

/** Why a store file was refused at open (or at the role's start, `behind-chain`). */
export type StoreRejection =
  | "missing"
  | "empty"
  | "exists"
  | "corrupt"
  | "wrong-kind"
  | "wrong-owner"
  | "foreign-wal"
  | "schema"
  | "behind-chain"
  | "forked"
  | "journal"
  | "full"
  | "io"
  | "unavailable";

/**
 * A store file cannot be used as asked: absent, empty, damaged, another role's or owner's,
 * next to a write-ahead log that is not its own, written by a newer schema, older than the
 * chain's record of it, or out of reach (`unavailable`: locked, no permission). `path` names the file; the file (and its `-wal`) is left as it was.
 */
export class StoreError extends RejectionError<StoreRejection> {
  override name = "StoreError" as const;
  /** The file, when known (a damaged value is found by a query). */
  readonly path: string | undefined;

  constructor(
    reason: StoreRejection,
    path: string | undefined,
    shortMessage: string,
    details: ErrorDetails = {},
    cause?: unknown,
  ) {
    super(reason, path === undefined ? shortMessage : `${shortMessage} (${path})`, { path, ...details }, { cause });
    this.path = path;
  }
}

/** Why a gateway's log is not an unbroken chain. */
export type AnchorChainFault =
  | "wrong-gateway" // an entry names another gateway
  | "invalid-entry" // zero root, zero or oversized leaf count, sequence below 1
  | "bad-start" // the first entry is not the expected first sequence
  | "gap" // a sequence is missing
  | "out-of-order" // a sequence repeats or goes back, in log order
  | "duplicate-root" // a root appears twice
  | "head-mismatch"; // the last sequence is not the gateway's head

/** A gateway's anchors, as read from the log, do not form the chain the contract enforces. */
export class AnchorChainError extends RejectionError<AnchorChainFault> {
  override name = "AnchorChainError" as const;
}

/** Why a write to the object database was refused. */
export type ObjectStoreRejection = "duplicate" | "not-found" | "stale-version";

/** A write conflicts with what is stored: a duplicate local id, a missing object, or a stale version. */
export class ObjectStoreError extends RejectionError<ObjectStoreRejection> {
  override name = "ObjectStoreError" as const;
}

/** Why a layer refused a packet or a step of self-examination. */
export type LayerRejection =
  /** Statement 1 failed: the source layer is not linked, or its evidence does not verify. */
  | "unknown-source"
  | "bad-source"
  /** The route crosses a superior layer self-examination found lost. */
  | "frozen"
  /** The packet's following block is not in this layer's ledger, or belongs to another contract. */
  | "unknown-block"
  | "wrong-contract"
  /** Statement 4: the responsible node answered for it, or refused it. */
  | "not-responsible"
  /** Statement 5: the summary was recorded before (or, at an edge layer, delivered before): the replay / DDoS alarm. */
  | "replayed"
  /** The block is accomplished or expired. */
  | "closed"
  /** Fewer than a quorum of members agreed. */
  | "no-quorum"
  /** The packet is not addressed to this layer or object. */
  | "misrouted"
  /** The examined member or layer did not answer or answered with a bad signature. */
  | "unreachable"
  /** A member asked to sign a verdict found the judged member or layer answering. */
  | "disputed"
  /** The member is stopped. */
  | "stopped";

/** A layer refused a packet or a step; `reason` says which rule, `details` the values. */
export class LayerError extends RejectionError<LayerRejection> {
  override name = "LayerError" as const;
}

export type PacketRejection =
  "malformed" | "not-next-layer" | "no-destination" | "wrong-summary" | "block-id" | "not-arrived" | "not-party";

/** A packet is malformed or cannot take the step asked; `reason` says why. */
export class PacketError extends RejectionError<PacketRejection> {
  override name = "PacketError" as const;
}

/** A fog cluster's record on chain, as `ClusterRegistrationConflictError` reports it. */
export interface RegisteredCluster {
  readonly cluster: string;
  readonly epoch: number | bigint;
  readonly groupKey: string;
  readonly threshold: number;
  readonly members: readonly string[];
}

/**
 * The cluster is registered on chain with another group key, threshold or members than the ones
 * `FogCluster.register` was asked to register, and `rekey` was not set: nothing was sent. (A
 * command that registers once, `strata fog register`, also refuses with it a cluster the chain
 * holds with the very same ones: `details.differs` is then empty.)
 * `registered` is the chain's record, `requested` what was asked.
 */
export class ClusterRegistrationConflictError extends StrataError {
  override name = "ClusterRegistrationConflictError" as const;
  readonly registered: RegisteredCluster;
  readonly requested: { readonly groupKey: string; readonly threshold: number; readonly members: readonly string[] };

  constructor(registered: RegisteredCluster, requested: ClusterRegistrationConflictError["requested"]) {
    const differs = [
      ...(registered.groupKey === requested.groupKey ? [] : ["groupKey"]),
      ...(registered.threshold === requested.threshold ? [] : ["threshold"]),
      ...(sameMembers(registered.members, requested.members) ? [] : ["members"]),
    ];
    super(
      differs.length === 0
        ? "the cluster is registered with this key, threshold and members already"
        : "the cluster is registered with another key, threshold or members",
      { cluster: registered.cluster, epoch: registered.epoch, differs },
    );
    this.registered = registered;
    this.requested = requested;
  }
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((m, i) => m.toLowerCase() === b[i]!.toLowerCase());
}

/**
 * A deployment stopped part way: `failed` was not deployed (the `cause` says why), the contracts
 * in `deployed` are on chain. Resume with the registry's address and the rest of the contracts.
 */
export class DeploymentIncompleteError extends StrataError {
  override name = "DeploymentIncompleteError" as const;
  readonly failed: string;
  readonly deployed: {
    readonly [name: string]: { readonly address: string; readonly txHash: string; readonly block: number } | undefined;
  };

  constructor(failed: string, deployed: DeploymentIncompleteError["deployed"], cause: unknown) {
    super(
      `deploying ${failed} failed after ${Object.keys(deployed).join(", ")} deployed: ${
        cause instanceof StrataError ? cause.shortMessage : String(cause)
      }`,
      { failed, deployed },
      { cause },
    );
    this.failed = failed;
    this.deployed = deployed;
  }
}

/**
 * Why a key server refused to issue identity-key shares (seed 000's PKG as t-of-n networked key
 * servers): the request's signature, freshness or addressing, or the registry's policy.
 */
export type KeyRefusal =
  /** The id is not in the registry. */
  | "unknown-device"
  /** The id is registered but not Active (pending, suspended, blocked, revoked). */
  | "not-active"
  /** The role asked for is not the registered kind's (or the entity lacks the application permission). */
  | "wrong-role"
  /** The signature is malformed. */
  | "bad-signature"
  /** The signature is not from the key the registry holds for the id. */
  | "wrong-signer"
  /** The request's deadline has passed. */
  | "expired"
  /** The request's deadline lies further ahead than the server accepts. */
  | "too-far"
  /** The request was served (or refused) before. */
  | "replayed"
  /** The request is addressed to another key server, deployment, chain or registry. */
  | "wrong-server"
  /** A station's key epoch outside the window the server issues, or an epoch for a role that has none. */
  | "bad-epoch";

/** A key server refused a request for identity-key shares; `reason` says why. Nothing was issued. */
export class KeyRequestRefusedError extends RejectionError<KeyRefusal> {
  override name = "KeyRequestRefusedError" as const;
}

/** One key server's failure to serve, as `KeyIssuanceError` reports it. */
export interface KeyServerFailure {
  /** The server's base URL. */
  readonly server: string;
  /** The error's name (`KeyRequestRefusedError`, `TransportError`, `TimeoutError`, `ThresholdError` …). */
  readonly error: string;
  /** The refusal's reason, when the server gave one. */
  readonly reason?: string;
  readonly message: string;
}

/**
 * Fewer than t key servers served valid shares: `failures` names each server that refused, did
 * not answer or answered with a share that fails its public commitment, and why.
 */
export class KeyIssuanceError extends StrataError {
  override name = "KeyIssuanceError" as const;
  readonly failures: readonly KeyServerFailure[];

  constructor(shortMessage: string, failures: readonly KeyServerFailure[], details: ErrorDetails = {}) {
    super(shortMessage, { failures, ...details });
    this.failures = failures;
  }
}

/** Why a key in an encrypted keystore could not be used. */
export type KeystoreRejection =
  "missing" | "exists" | "no-passphrase" | "wrong-passphrase" | "malformed" | "wrong-curve";

/**
 * A key of an encrypted keystore (Web3 Secret Storage files) is missing, already there, or
 * cannot be opened: no passphrase given, a wrong one, or a damaged file; or it is a P-256
 * device key where an account key is needed (`wrong-curve`). `name` names the key.
 */
export class KeystoreError extends RejectionError<KeystoreRejection> {
  override name = "KeystoreError" as const;
}

function safeJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}
