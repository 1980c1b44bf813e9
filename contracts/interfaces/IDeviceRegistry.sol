// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DeviceId} from "../libraries/DeviceIds.sol";

/// @title IDeviceRegistry
/// @notice Identity, labels, trust and provenance of IoT devices and gateways.
/// @dev Implements seed 001 (labels lightweight / full / coordination, joins through coordination
/// nodes, serving-node assignment and reassignment, misbehaviour reports lowering trust, forged IDs
/// refused), seed 002 (one ID namespace, keys on chain for peer authentication, every lifecycle
/// change logged with its time) and seed 003 §III (UUID = edge-layer address + local id, class,
/// permissions and description of each object).
///
/// Storage keeps what the rules check. The profile (pairing identity, P-256 key, class path,
/// metadata URI and hash) is committed by `profileHash`, which the device signs when it
/// registers; the owner may publish the profile itself in the log with `updateProfile`.
///
/// UUIDs are not first-come: each edge layer has an operator (its central node's account, seed
/// 003), appointed by the admin, and only that operator registers UUIDs of its layer.
interface IDeviceRegistry {
    // ------------------------------------------------------------------ types

    /// @notice What an entity is.
    enum Kind {
        Device, // a sensor, meter, vehicle, camera...
        BaseStation, // an NB-IoT base station (seed 000)
        FogNode, // a Secuchain fog node (seed 004)
        EdgeNode // an edge layer's central node (seed 003)
    }

    /// @notice Seed 001's blockchain labels, chosen by connection lifetime and hardware.
    enum Label {
        Lightweight, // short-lived or constrained: served by a full node
        Full, // always connected, keeps the chain, serves lightweight nodes
        Coordination // long-lived, appointed: admits nodes and assigns serving full nodes
    }

    /// @notice Lifecycle status.
    enum Status {
        None, // never registered
        Pending, // registered, waiting for admission
        Active, // admitted
        Suspended, // trust fell under the suspension threshold: needs fresh approvals
        Blocked, // trust fell under the blocking threshold: needs a re-key and fresh approvals
        Revoked // retired by its owner; its UUID and key are never reused by it again
    }

    /// @notice Registration parameters, signed by the device key (EIP-712 `Registration`).
    /// @param layer keccak256 of the edge layer's address.
    /// @param localId The device's identifier inside its edge layer.
    /// @param key The device key (a secp256k1 account) that signs this request.
    /// @param kind A `Kind` as uint8 (checked).
    /// @param label A `Label` as uint8 (checked).
    /// @param permissions The permissions bitmap (seed 003: what the object may do).
    /// @param profileHash keccak256 of the ABI-encoded profile (see the SDK's `profileHash`).
    /// @param deadline Last timestamp at which the signature is accepted.
    struct Registration {
        bytes32 layer;
        bytes32 localId;
        address key;
        uint8 kind;
        uint8 label;
        uint32 permissions;
        bytes32 profileHash;
        uint64 deadline;
    }

    /// @notice A compact (EIP-2098) secp256k1 signature.
    struct Signature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice A P-256 (secp256r1) public key, as a secure element holds it: affine coordinates.
    /// Its device key address is `p256Address(key)`.
    struct P256Key {
        bytes32 x;
        bytes32 y;
    }

    /// @notice A P-256 ECDSA signature of a 32-byte digest, with s at most n/2 (one encoding only).
    struct P256Signature {
        bytes32 r;
        bytes32 s;
    }

    /// @notice The registry's rules, set by the admin.
    /// @param fullNodeApprovals k: distinct coordination approvals needed to admit a full node,
    /// to reinstate a suspended node and to accept a re-key.
    /// @param reportPenalty Trust lost per accepted misbehaviour report; at most
    /// 1000 - `suspendBelow`, so one report never suspends.
    /// @param suspendBelow A device whose trust falls below this is suspended.
    /// @param blockBelow A device whose trust falls below this is blocked.
    /// @param epochLength Seconds without an accepted report after which a device's trust case
    /// closes (trust back to 1000, every reporter may report again), unless it is suspended.
    /// @param heartbeatTimeout Seconds a full node stays live after a heartbeat.
    struct Config {
        uint8 fullNodeApprovals;
        uint16 reportPenalty;
        uint16 suspendBelow;
        uint16 blockBelow;
        uint32 epochLength;
        uint32 heartbeatTimeout;
    }

    /// @notice A device's trust case: the misbehaviour reports counted since it was last in good
    /// standing. Each independent reporter (cohort) counts once per case; a case closes after an
    /// epoch without an accepted report while the device is not suspended.
    /// @param startedAt When the case opened (0: the first case since registration).
    /// @param lastReportAt When the last report was accepted (0: never).
    /// @param votes Cohorts that reported the device in this case.
    struct TrustCase {
        uint64 startedAt;
        uint64 lastReportAt;
        uint16 votes;
    }

    /// @notice Everything the registry stores about one entity.
    struct DeviceView {
        address key;
        address owner;
        Kind kind;
        Label label;
        Status status;
        uint16 trust;
        uint32 permissions;
        uint16 nonce;
        DeviceId servingNode;
        uint64 liveUntil;
        uint64 keyBoundAt; // when the current key was bound (registration, or the last re-key request)
        DeviceId gateway;
        uint32 round;
        uint8 approvals;
        address pendingKey;
    }

    // ----------------------------------------------------------------- errors

    /// @notice `account` is not the operator of edge layer `layer`.
    error RegistryUnauthorizedLayer(bytes32 layer, address account);
    /// @notice A lightweight node cannot report a full or coordination node.
    error RegistryReporterNotEligible(DeviceId reporter, Label reporterLabel, Label targetLabel);
    /// @notice `gateway` is not an active base station, fog node or edge node.
    error RegistryInvalidGateway(DeviceId gateway);
    /// @notice The UUID is already registered (a forged or duplicate ID).
    error RegistryDeviceExists(DeviceId id);
    /// @notice The key already belongs to a registered device.
    error RegistryKeyInUse(address key);
    /// @notice The zero address cannot be a device key or an owner.
    error RegistryZeroAddress();
    /// @notice The signed request's deadline has passed.
    error RegistryExpiredSignature(uint64 deadline, uint256 timestamp);
    /// @notice The signature does not come from `expected`.
    error RegistryInvalidSignature(address expected, address recovered);
    /// @notice `kind` is not a `Kind`.
    error RegistryUnknownKind(uint8 kind);
    /// @notice `label` is not a `Label`.
    error RegistryUnknownLabel(uint8 label);
    /// @notice No device has this identifier.
    error RegistryUnknownDevice(DeviceId id);
    /// @notice `account` is not the owner of `id`.
    error RegistryUnauthorizedOwner(DeviceId id, address account);
    /// @notice `account` is not the device key of `id`.
    error RegistryUnauthorizedKey(DeviceId id, address account);
    /// @notice The device's status does not allow this action.
    error RegistryInvalidStatus(DeviceId id, Status status);
    /// @notice The device's label does not allow this action.
    error RegistryInvalidLabel(DeviceId id, Label label);
    /// @notice `id` is not an active coordination node.
    error RegistryNotCoordinator(DeviceId id);
    /// @notice The coordination node already approved `id` in this approval round.
    error RegistryAlreadyApproved(DeviceId id, DeviceId coordinator, uint32 round);
    /// @notice The device waits for no approval in its current state.
    error RegistryApprovalNotExpected(DeviceId id, Status status);
    /// @notice A lightweight device needs a serving full node; other labels take none.
    error RegistryServingNodeMismatch(DeviceId id, DeviceId servingNode);
    /// @notice `fullNode` is not an active full node within its heartbeat deadline.
    error RegistryFullNodeNotLive(DeviceId fullNode);
    /// @notice `fullNode` is live: its devices are not reassigned.
    error RegistryFullNodeLive(DeviceId fullNode);
    /// @notice The reporter's cohort (itself, or for a lightweight node the coordination node that
    /// admitted it) already reported the device in its current trust case.
    error RegistryAlreadyReported(DeviceId id, DeviceId reporter, DeviceId cohort);
    /// @notice The coordination node already reported `fullNode` offline in its heartbeat period
    /// `period` (see `offlineBallot`).
    error RegistryAlreadyReportedOffline(DeviceId fullNode, DeviceId coordinator, uint32 period);
    /// @notice A device cannot report or approve itself.
    error RegistrySelfAction(DeviceId id);
    /// @notice The arrays of a batch differ in length, or the batch is empty.
    error RegistryInvalidBatch(uint256 requests, uint256 signatures);
    /// @notice A configuration value is out of range; `field` names it.
    error RegistryInvalidConfig(string field);
    /// @notice The P-256 public key is not a point of the curve.
    error RegistryInvalidP256Key(bytes32 x, bytes32 y);
    /// @notice A P-256 key is for a lightweight device only (`label` is the request's or the
    /// device's): full and coordination nodes send transactions, which a P-256 key cannot sign.
    error RegistryP256NotLightweight(uint8 label);
    /// @notice The request names device key `key`, but the P-256 public key given is `derived`'s.
    error RegistryP256KeyMismatch(address key, address derived);

    // ----------------------------------------------------------------- events
    // Together these are the provenance log: replaying them rebuilds every record.

    /// @notice A device or gateway was registered (status Pending).
    event DeviceRegistered(
        DeviceId indexed id,
        address indexed owner,
        address indexed key,
        bytes32 layer,
        bytes32 localId,
        Kind kind,
        Label label,
        uint32 permissions,
        bytes32 profileHash
    );
    /// @notice A coordination node approved `id` in approval round `round`.
    event DeviceApproved(
        DeviceId indexed id,
        DeviceId indexed coordinator,
        uint32 round,
        uint8 approvals,
        uint8 required
    );
    /// @notice The device's status changed.
    event DeviceStatusChanged(DeviceId indexed id, Status previous, Status current);
    /// @notice The device is now served by `fullNode` (zero: no longer served).
    event ServingNodeAssigned(DeviceId indexed id, DeviceId indexed fullNode, DeviceId previous);
    /// @notice A full node proved liveness until `liveUntil`.
    event FullNodeHeartbeat(DeviceId indexed fullNode, uint64 liveUntil);
    /// @notice A coordination node voted `fullNode` offline (`votes` of the `required` in its
    /// heartbeat period).
    event FullNodeOfflineVoted(DeviceId indexed fullNode, DeviceId indexed coordinator, uint8 votes, uint8 required);
    /// @notice k coordination nodes reported a full node offline; `coordinator` cast the last vote.
    event FullNodeReportedOffline(DeviceId indexed fullNode, DeviceId indexed coordinator);
    /// @notice A misbehaviour report of `reporter`, speaking for `cohort`, was accepted and trust
    /// lowered to `trust`.
    event MisbehaviourReported(
        DeviceId indexed id,
        DeviceId indexed reporter,
        DeviceId cohort,
        bytes32 evidenceHash,
        uint16 trust
    );
    /// @notice Trust came back to `trust`: a suspended or blocked device reinstated, a coordination
    /// node (re-)appointed (both at `suspendBelow`), or a case closed after a quiet epoch (1000).
    event TrustRestored(DeviceId indexed id, uint16 trust);
    /// @notice The owner asked to replace the device key; approvals of round `round` decide.
    event RekeyRequested(DeviceId indexed id, address indexed newKey, uint32 round);
    /// @notice Device key `key` of `id` (registered, or requested as its new key) is the P-256 key
    /// (`x`, `y`) of a secure element: the public key peers and verifiers need is in the log.
    event P256KeyBound(DeviceId indexed id, address indexed key, bytes32 x, bytes32 y);
    /// @notice The device key was replaced.
    event DeviceRekeyed(DeviceId indexed id, address indexed previousKey, address indexed newKey);
    /// @notice The device changed owner.
    event DeviceTransferred(DeviceId indexed id, address indexed previousOwner, address indexed newOwner);
    /// @notice The permissions bitmap changed.
    event PermissionsChanged(DeviceId indexed id, uint32 permissions);
    /// @notice The owner published the device's profile; `profileHash` = keccak256(`profile`).
    event ProfileUpdated(DeviceId indexed id, bytes32 profileHash, bytes profile);
    /// @notice The device is attached to `gateway` (zero: detached).
    event GatewayAssigned(DeviceId indexed id, DeviceId indexed gateway);
    /// @notice The admin made `operator` the operator of edge layer `layer` (zero: closed).
    event LayerOperatorSet(bytes32 indexed layer, address indexed operator);
    /// @notice The admin appointed a coordination node.
    event CoordinatorAppointed(DeviceId indexed id);
    /// @notice The admin dismissed a coordination node.
    event CoordinatorDismissed(DeviceId indexed id);
    /// @notice The rules changed.
    event ConfigChanged(Config config);

    // ---------------------------------------------------------- registration

    /// @notice The block this contract was deployed in: where its event log starts, so a reader
    /// never scans the chain before it (every node answers it at the latest block, archive or not).
    function deployedAt() external view returns (uint256);

    /// @notice Registers one device or gateway, owned by the caller, in status Pending. The caller
    /// must be the operator of the UUID's edge layer.
    /// @dev The device key must sign `req` (EIP-712 `Registration` with owner = caller). A UUID
    /// registers once (Revoked is final), so the UUID itself is the signature's nonce and the
    /// deadline bounds its life. Refuses a registered UUID and a key already in use.
    /// @return id The new device's identifier.
    function register(Registration calldata req, Signature calldata sig) external returns (DeviceId id);

    /// @notice Registers a device whose key is a P-256 (secp256r1) key in a secure element: as
    /// `register`, but `req.key` is `p256Address(pub)` and the secure element signs the same
    /// EIP-712 digest (`registrationDigest`) with P-256, checked through the EIP-7951 precompile.
    /// @dev For lightweight devices only (`RegistryP256NotLightweight`): a P-256 key is never an
    /// account, and full and coordination nodes send transactions (heartbeats, approvals,
    /// reports, anchors). Emits `P256KeyBound` after `DeviceRegistered`. Reverts with
    /// OpenZeppelin's `MissingPrecompile` on a chain without the precompile (before Osaka).
    function registerP256(
        Registration calldata req,
        P256Key calldata pub,
        P256Signature calldata sig
    ) external returns (DeviceId id);

    /// @notice Registers many devices owned by the caller (operators, manufacturers).
    /// @dev Each request is checked as in `register`; one bad request reverts the batch.
    function registerBatch(
        Registration[] calldata reqs,
        Signature[] calldata sigs
    ) external returns (DeviceId[] memory ids);

    // -------------------------------------------------- admission (seed 001)

    /// @notice A coordination node approves `id` in its current approval round.
    /// @dev An approval counts while its coordinator stays in office: approvals of coordinators
    /// dismissed, suspended, blocked, revoked or re-appointed since are dropped when the round is
    /// recounted (at each approval; bounded by k). Needed: 1 approval to admit a pending lightweight device, `fullNodeApprovals` (k) to
    /// admit a full node, reinstate a suspended node or accept a re-key. A lightweight device is
    /// (re)admitted with `servingNode`, a live full node; other labels pass the zero id. When the
    /// approvals reach the requirement the device becomes Active.
    /// @param coordinator The caller's own coordination-node id (the caller must be its key).
    function approve(DeviceId coordinator, DeviceId id, DeviceId servingNode) external;

    /// @notice The admin appoints a registered node as a coordination node (Active).
    /// @dev Each appointment opens a new term (votes of an earlier term never count again) and
    /// restores trust to `suspendBelow` when it is lower, as a reinstatement does.
    function appointCoordinator(DeviceId id) external;

    /// @notice The admin dismisses a coordination node (Suspended; re-appointment needed).
    function dismissCoordinator(DeviceId id) external;

    // ------------------------------------------------- liveness (seed 001)

    /// @notice A full node proves it is online; it stays live for `heartbeatTimeout` seconds.
    function heartbeat(DeviceId fullNode) external;

    /// @notice A coordination node reports a live full node offline.
    /// @dev The node goes offline when k (`fullNodeApprovals`) distinct coordination nodes in
    /// office reported it within one heartbeat period; a heartbeat voids earlier votes. A node
    /// that missed its heartbeat is not live anyway: no report is needed to reassign its devices.
    function reportOffline(DeviceId coordinator, DeviceId fullNode) external;

    /// @notice Moves at most `maxCount` lightweight devices from a full node that is not live to
    /// the live full node `to`. Bounded: call again until it returns 0.
    /// @return remaining Devices still assigned to `from`.
    function reassign(
        DeviceId coordinator,
        DeviceId from,
        DeviceId to,
        uint256 maxCount
    ) external returns (uint256 remaining);

    // --------------------------------------------- misbehaviour (seed 001)

    /// @notice An active node reports `id` for misbehaviour.
    /// @dev Trust falls by `reportPenalty`; under `suspendBelow` a pending or active device is
    /// suspended, under `blockBelow` it is blocked. Each independent reporter — a full node, a
    /// coordination node, or a coordination node with every lightweight node it admitted (its
    /// cohort) — counts once per trust case (`TrustCase`), so suspending takes
    /// ceil((1000 - suspendBelow + 1) / reportPenalty) >= 2 of them and blocking
    /// ceil((1000 - blockBelow + 1) / reportPenalty). Only full and coordination nodes may report
    /// full and coordination nodes.
    function report(DeviceId reporter, DeviceId id, bytes32 evidenceHash) external;

    // ------------------------------------------------------ owner actions

    /// @notice The owner asks to replace the device key (e.g. a compromised device).
    /// @dev `newKey` signs EIP-712 `Rekey` (its control is proven). Starts a new approval round;
    /// the key changes when k coordination nodes approve. The only way out of Blocked.
    function requestRekey(DeviceId id, address newKey, uint64 deadline, Signature calldata sig) external;

    /// @notice As `requestRekey`, to a P-256 key in a secure element (new key `p256Address(newKey)`),
    /// which signs the same EIP-712 `Rekey` digest with P-256; lightweight devices only. Emits
    /// `P256KeyBound` with the requested key (bound once k approvals complete the re-key).
    function requestRekeyP256(
        DeviceId id,
        P256Key calldata newKey,
        uint64 deadline,
        P256Signature calldata sig
    ) external;

    /// @notice The owner retires the device for good (its UUID and key are never bound again).
    function revoke(DeviceId id) external;

    /// @notice The owner hands the device to `newOwner`.
    function transferDevice(DeviceId id, address newOwner) external;

    /// @notice The owner sets the permissions bitmap.
    function setPermissions(DeviceId id, uint32 permissions) external;

    /// @notice The owner publishes a new profile (the ABI encoding the SDK's `encodeProfile` makes).
    function updateProfile(DeviceId id, bytes calldata profile) external;

    /// @notice The owner attaches the device to a gateway (a base station, fog node or edge node
    /// that is Active, other than the device itself), or detaches it with the zero id.
    /// @dev Checked when set: a reader relying on the gateway checks its status at that time.
    function setGateway(DeviceId id, DeviceId gateway) external;

    // ---------------------------------------------------------------- admin

    /// @notice The admin makes `operator` the one account that registers UUIDs of edge layer
    /// `layer` (keccak256 of its address); the zero address closes the layer.
    function setLayerOperator(bytes32 layer, address operator) external;

    /// @notice The operator of edge layer `layer`.
    function layerOperator(bytes32 layer) external view returns (address);

    /// @notice The admin changes the rules.
    function setConfig(Config calldata config) external;

    // ---------------------------------------------------------------- views

    /// @notice The record of `id` (all zero when unknown).
    function getDevice(DeviceId id) external view returns (DeviceView memory);

    /// @notice The device key of `id`.
    function keyOf(DeviceId id) external view returns (address);

    /// @notice The owner of `id`.
    function ownerOf(DeviceId id) external view returns (address);

    /// @notice The status of `id`.
    function statusOf(DeviceId id) external view returns (Status);

    /// @notice The device key, kind and status of `id` (zeros when unknown) in one call.
    /// @dev All three live in the device's one packed record slot, so a contract that authenticates
    /// a device's transaction (the key is the sender, the status Active, the kind allowed) pays
    /// one external call and one storage read instead of one of each per field. `DataAnchor` calls
    /// it on every anchor; its selector (0x0c1a9534) sorts near the front of the registry's
    /// dispatch, which saves such callers ~350 gas against a name sorting mid-table.
    /// @return key The device key (`keyOf`).
    /// @return kind The kind, fixed at registration.
    /// @return status The status (`statusOf`).
    function keyKindStatusOf(DeviceId id) external view returns (address key, Kind kind, Status status);

    /// @notice True when `fullNode` is an active full node within its heartbeat deadline.
    function isLive(DeviceId fullNode) external view returns (bool);

    /// @notice How many lightweight devices `fullNode` serves (or still holds for reassignment).
    function servedCount(DeviceId fullNode) external view returns (uint256);

    /// @notice A page of the devices `fullNode` serves.
    function servedDevices(
        DeviceId fullNode,
        uint256 offset,
        uint256 limit
    ) external view returns (DeviceId[] memory page);

    /// @notice True when `reporter`'s cohort reported `id` in its current trust case.
    function hasReported(DeviceId id, DeviceId reporter) external view returns (bool);

    /// @notice The cohort `reporter` reports for: itself, or for a lightweight node the
    /// coordination node that admitted it.
    function cohortOf(DeviceId reporter) external view returns (DeviceId);

    /// @notice The trust case of `id` as stored (a case past its quiet epoch closes at the next
    /// report).
    function trustCaseOf(DeviceId id) external view returns (TrustCase memory);

    /// @notice The current heartbeat period of `fullNode` (it advances at each heartbeat and when
    /// the node is reported offline) and the offline votes cast in it.
    function offlineBallot(DeviceId fullNode) external view returns (uint32 period, uint8 votes);

    /// @notice The rules in force.
    function config() external view returns (Config memory);

    /// @notice The device key address of a P-256 public key:
    /// the last 20 bytes of `keccak256(abi.encodePacked("strata.p256", x, y))`. The domain tag keeps it
    /// apart from secp256k1 account addresses.
    function p256Address(P256Key calldata pub) external pure returns (address);

    /// @notice Whether `signature` is `key`'s signature of `digest`: 65 bytes (r, s, v) for a
    /// secp256k1 key (low s), or 128 bytes `abi.encode(x, y, r, s)` for a P-256 key, where
    /// `p256Address(x, y)` must be `key` (checked through the EIP-7951 precompile). Anything else
    /// is false; on a chain without the precompile a P-256 signature reverts (`MissingPrecompile`).
    /// What peers and fog nodes call to check a device's answer on chain. Like `ecrecover` it
    /// judges a bare digest: the caller computes the digest of what it expects signed (anyone can
    /// make up a digest and signature pair for a given public key).
    function isValidKeySignature(address key, bytes32 digest, bytes calldata signature) external view returns (bool);

    /// @notice `isValidKeySignature` for the current key of `id` (false for an unknown device).
    /// Says nothing of the device's status: a verifier checks that too.
    function isValidDeviceSignature(DeviceId id, bytes32 digest, bytes calldata signature) external view returns (bool);

    /// @notice The EIP-712 digest a device key signs to register with `owner`.
    function registrationDigest(Registration calldata req, address owner) external view returns (bytes32);

    /// @notice The EIP-712 digest a new key signs for a re-key of `id`.
    function rekeyDigest(DeviceId id, address newKey, uint64 deadline) external view returns (bytes32);

    /// @notice The identifier of the UUID (`layer`, `localId`).
    function deviceId(bytes32 layer, bytes32 localId) external pure returns (DeviceId);
}
