// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {P256} from "@openzeppelin/contracts/utils/cryptography/P256.sol";

import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {DeviceId, DeviceIds} from "../libraries/DeviceIds.sol";

/// @title DeviceRegistry
/// @notice Devices, gateways, base stations and fog nodes with their keys, labels, trust and
/// status; joins through coordination nodes, serving-node assignment, heartbeats, bounded
/// reassignment and misbehaviour reports. Every change is an event: the provenance log.
/// @dev Seeds 001, 002 and 003 §III; see `IDeviceRegistry`. A registration writes exactly two
/// storage slots (the record and the key binding) so that it costs about an ERC-721 mint plus
/// the signature check; everything else a record holds is written when it first matters.
contract DeviceRegistry is IDeviceRegistry, EIP712, Ownable2Step {
    using DeviceIds for DeviceId;

    /// @notice Trust of a fresh device; reports lower it.
    uint16 public constant MAX_TRUST = 1000;

    bytes32 private constant REGISTRATION_TYPEHASH = keccak256(
        // solhint-disable-next-line max-line-length
        "Registration(bytes32 layer,bytes32 localId,address key,address owner,uint8 kind,uint8 label,uint32 permissions,bytes32 profileHash,uint64 deadline)"
    );
    bytes32 private constant REKEY_TYPEHASH = keccak256(
        "Rekey(bytes32 id,address newKey,uint16 nonce,uint64 deadline)"
    );

    /// @dev One slot, written at registration.
    struct Record {
        address key;
        Kind kind;
        Label label;
        Status status;
        uint16 trust;
        uint32 permissions;
        uint16 nonce; // re-key nonce
    }

    /// @dev One slot per key ever bound. A key, once bound, is never bound again: a retired or
    /// compromised key cannot come back as a fresh (forged) identity. The current key's binding
    /// holds the device's owner.
    struct KeyBinding {
        address owner;
        uint64 boundAt;
    }

    /// @dev The approval round in progress: approvals of older rounds never count again.
    struct Round {
        uint32 number;
        uint8 approvals;
        address pendingKey;
    }

    /// @dev Coordinators' votes on one subject: `stamps[c]` is `_stamp(tag, c)` of c's last vote;
    /// `voters[0..n)` lists the votes cast on the open ballot (fewer than k).
    struct Ballot {
        mapping(uint256 index => DeviceId coordinator) voters;
        mapping(DeviceId coordinator => uint256 stamp) stamps;
    }

    /// @dev A full node's liveness and the offline reports of its current heartbeat period: each
    /// heartbeat (and each offline decision) opens a new period, voiding earlier votes.
    struct Liveness {
        uint64 liveUntil;
        uint32 period;
        uint8 votes;
        Ballot offline;
    }

    mapping(DeviceId id => Record) private _records;
    mapping(address key => KeyBinding) private _bindings;
    mapping(DeviceId id => Round) private _rounds;
    /// @dev Approvals of `id`, stamped `_stamp(round + 1, coordinator)`. One counts only while the
    /// stamp still matches (same round, same term of office) and the coordinator is still an
    /// Active coordination node; the round's `approvals` voters are listed.
    mapping(DeviceId id => Ballot) private _approvals;
    /// @dev Each appointment opens a new term: votes of an earlier term never count again.
    mapping(DeviceId coordinator => uint32 term) private _terms;
    /// @dev The coordination node whose approval admitted a lightweight device: its cohort.
    mapping(DeviceId id => DeviceId coordinator) private _sponsors;
    mapping(DeviceId id => TrustCase) private _trustCases;
    mapping(DeviceId id => DeviceId) private _servingNode;
    mapping(DeviceId id => DeviceId) private _gateway;
    mapping(bytes32 layer => address operator) private _layerOperators;
    mapping(DeviceId fullNode => Liveness) private _liveness;
    /// @dev The lightweight devices each full node serves. A device is in at most one list (its
    /// serving node's), so one position map serves all lists: O(1) add and remove.
    mapping(DeviceId fullNode => DeviceId[]) private _served;
    mapping(DeviceId id => uint256 indexPlusOne) private _servedIndex;
    /// @dev When each cohort last reported each device; it counts in the device's current case
    /// when it is at or after the case's start.
    mapping(DeviceId id => mapping(DeviceId cohort => uint64 reportedAt)) private _reportedIn;
    Config private _config;

    /// @inheritdoc IDeviceRegistry
    uint256 public immutable deployedAt;

    /// @param admin Appoints coordination nodes and sets the rules.
    /// @param initialConfig The rules in force from the start.
    constructor(address admin, Config memory initialConfig) EIP712("Strata DeviceRegistry", "1") Ownable(admin) {
        _setConfig(initialConfig);
        deployedAt = block.number;
    }

    // ----------------------------------------------------------- registration

    /// @inheritdoc IDeviceRegistry
    function register(Registration calldata req, Signature calldata sig) external returns (DeviceId id) {
        id = _register(req, msg.sender);
        _requireSigner(_hashTypedDataV4(_registrationStructHash(req, msg.sender)), sig, req.key);
    }

    /// @inheritdoc IDeviceRegistry
    function registerP256(
        Registration calldata req,
        P256Key calldata pub,
        P256Signature calldata sig
    ) external returns (DeviceId id) {
        // A P-256 key cannot send transactions: only a device that never has to may hold one.
        if (req.label != uint8(Label.Lightweight)) revert RegistryP256NotLightweight(req.label);
        id = _register(req, msg.sender);
        _requireP256Signer(_hashTypedDataV4(_registrationStructHash(req, msg.sender)), sig, pub, req.key);
        emit P256KeyBound(id, req.key, pub.x, pub.y);
    }

    /// @inheritdoc IDeviceRegistry
    function registerBatch(
        Registration[] calldata reqs,
        Signature[] calldata sigs
    ) external returns (DeviceId[] memory ids) {
        uint256 n = reqs.length;
        if (n == 0 || n != sigs.length) revert RegistryInvalidBatch(n, sigs.length);
        ids = new DeviceId[](n);
        for (uint256 i; i < n; ++i) {
            Registration calldata req = reqs[i];
            ids[i] = _register(req, msg.sender);
            _requireSigner(_hashTypedDataV4(_registrationStructHash(req, msg.sender)), sigs[i], req.key);
        }
    }

    // -------------------------------------------------------------- admission

    /// @inheritdoc IDeviceRegistry
    function approve(DeviceId coordinator, DeviceId id, DeviceId servingNode) external {
        _requireCoordinator(coordinator);
        if (coordinator == id) revert RegistrySelfAction(id);
        Record storage rec = _existing(id);
        Status status = rec.status;
        Round storage round = _rounds[id];
        uint8 required = _requiredApprovals(id, rec, round);

        bool assigns = rec.label == Label.Lightweight && status != Status.Active;
        if (assigns == servingNode.isNone()) revert RegistryServingNodeMismatch(id, servingNode);
        if (assigns && !_isLive(servingNode)) revert RegistryFullNodeNotLive(servingNode);

        uint32 number = round.number;
        uint256 stamp = _stamp(number + 1, coordinator);
        Ballot storage ballot = _approvals[id];
        if (ballot.stamps[coordinator] == stamp) revert RegistryAlreadyApproved(id, coordinator, number);
        // Recount: approvals of coordinators dismissed (or re-appointed) since no longer count.
        uint256 live = _recount(ballot, round.approvals, number + 1);
        ballot.stamps[coordinator] = stamp;
        uint8 approvals = uint8(live + 1);
        emit DeviceApproved(id, coordinator, number, approvals, required);
        if (approvals < required) {
            ballot.voters[live] = coordinator;
            round.approvals = approvals;
            return;
        }

        // Threshold met: close the round so these approvals never count again.
        address pendingKey = round.pendingKey;
        round.number = number + 1;
        round.approvals = 0;
        round.pendingKey = address(0);
        if (pendingKey != address(0)) {
            address previousKey = rec.key;
            rec.key = pendingKey;
            emit DeviceRekeyed(id, previousKey, pendingKey);
        }
        if (rec.label == Label.Coordination) {
            // A coordination node's peers only replace its key; the admin decides its status.
            if (status == Status.Blocked) _setStatus(id, rec, Status.Suspended);
        } else if (status != Status.Active) {
            _restoreTrust(id, rec);
            _setStatus(id, rec, Status.Active);
            if (assigns) {
                _sponsors[id] = coordinator;
                _assign(id, servingNode, DeviceIds.NONE);
            }
            if (rec.label == Label.Full) _beat(id);
        }
    }

    /// @inheritdoc IDeviceRegistry
    function appointCoordinator(DeviceId id) external onlyOwner {
        Record storage rec = _existing(id);
        if (rec.label != Label.Coordination) revert RegistryInvalidLabel(id, rec.label);
        if (rec.status != Status.Pending && rec.status != Status.Suspended) {
            revert RegistryInvalidStatus(id, rec.status);
        }
        // A new term: approvals and offline reports of an earlier term never count again.
        ++_terms[id];
        _restoreTrust(id, rec);
        _setStatus(id, rec, Status.Active);
        emit CoordinatorAppointed(id);
    }

    /// @inheritdoc IDeviceRegistry
    function dismissCoordinator(DeviceId id) external onlyOwner {
        Record storage rec = _existing(id);
        if (rec.label != Label.Coordination) revert RegistryInvalidLabel(id, rec.label);
        if (rec.status != Status.Active) revert RegistryInvalidStatus(id, rec.status);
        _setStatus(id, rec, Status.Suspended);
        emit CoordinatorDismissed(id);
    }

    // --------------------------------------------------------------- liveness

    /// @inheritdoc IDeviceRegistry
    function heartbeat(DeviceId fullNode) external {
        Record storage rec = _requireKey(fullNode);
        if (rec.label != Label.Full) revert RegistryInvalidLabel(fullNode, rec.label);
        if (rec.status != Status.Active) revert RegistryInvalidStatus(fullNode, rec.status);
        _beat(fullNode);
    }

    /// @inheritdoc IDeviceRegistry
    function reportOffline(DeviceId coordinator, DeviceId fullNode) external {
        _requireCoordinator(coordinator);
        Record storage rec = _existing(fullNode);
        if (rec.label != Label.Full) revert RegistryInvalidLabel(fullNode, rec.label);
        if (!_isLive(fullNode)) revert RegistryFullNodeNotLive(fullNode);
        // Votes belong to the heartbeat period they were cast in: a heartbeat voids them.
        Liveness storage liveness = _liveness[fullNode];
        uint32 period = liveness.period;
        Ballot storage ballot = liveness.offline;
        uint256 stamp = _stamp(uint256(period) + 1, coordinator);
        if (ballot.stamps[coordinator] == stamp) revert RegistryAlreadyReportedOffline(fullNode, coordinator, period);
        uint256 live = _recount(ballot, liveness.votes, uint256(period) + 1);
        ballot.stamps[coordinator] = stamp;
        uint8 votes = uint8(live + 1);
        uint8 required = _config.fullNodeApprovals;
        emit FullNodeOfflineVoted(fullNode, coordinator, votes, required);
        if (votes < required) {
            ballot.voters[live] = coordinator;
            liveness.votes = votes;
            return;
        }
        liveness.liveUntil = 0;
        liveness.period = period + 1;
        liveness.votes = 0;
        emit FullNodeReportedOffline(fullNode, coordinator);
    }

    /// @inheritdoc IDeviceRegistry
    function reassign(
        DeviceId coordinator,
        DeviceId from,
        DeviceId to,
        uint256 maxCount
    ) external returns (uint256 remaining) {
        _requireCoordinator(coordinator);
        if (_isLive(from)) revert RegistryFullNodeLive(from);
        if (!_isLive(to)) revert RegistryFullNodeNotLive(to);
        DeviceId[] storage served = _served[from];
        remaining = served.length;
        uint256 moves = maxCount < remaining ? maxCount : remaining;
        for (uint256 i; i < moves; ++i) {
            --remaining;
            DeviceId device = served[remaining];
            served.pop();
            _assign(device, to, from);
        }
    }

    // ----------------------------------------------------------- misbehaviour

    /// @inheritdoc IDeviceRegistry
    function report(DeviceId reporter, DeviceId id, bytes32 evidenceHash) external {
        Record storage from = _requireKey(reporter);
        if (from.status != Status.Active) revert RegistryInvalidStatus(reporter, from.status);
        if (reporter == id) revert RegistrySelfAction(id);
        Record storage rec = _existing(id);
        if (from.label == Label.Lightweight && rec.label != Label.Lightweight) {
            revert RegistryReporterNotEligible(reporter, from.label, rec.label);
        }
        Status status = rec.status;
        if (status != Status.Pending && status != Status.Active && status != Status.Suspended) {
            revert RegistryInvalidStatus(id, status);
        }
        // Independent reporters: a lightweight node reports with the voice of the coordination
        // node that admitted it, so minting lightweight nodes adds no voice.
        DeviceId cohort = from.label == Label.Lightweight ? _sponsors[reporter] : reporter;
        Config memory cfg = _config;
        TrustCase storage tc = _trustCases[id];
        uint16 trust = rec.trust;
        if (_caseExpired(tc, status, cfg.epochLength)) {
            // A quiet epoch closes the case: trust recovers in full and every cohort may report
            // again. A suspended device waits for its k approvals instead.
            tc.startedAt = uint64(block.timestamp);
            tc.votes = 0;
            if (trust < MAX_TRUST) {
                trust = MAX_TRUST;
                emit TrustRestored(id, MAX_TRUST);
            }
        }
        mapping(DeviceId => uint64) storage reportedIn = _reportedIn[id];
        uint64 reportedAt = reportedIn[cohort];
        if (reportedAt != 0 && reportedAt >= tc.startedAt) revert RegistryAlreadyReported(id, reporter, cohort);
        reportedIn[cohort] = uint64(block.timestamp);
        tc.lastReportAt = uint64(block.timestamp);
        tc.votes += 1;

        trust = trust > cfg.reportPenalty ? trust - cfg.reportPenalty : 0;
        rec.trust = trust;
        emit MisbehaviourReported(id, reporter, cohort, evidenceHash, trust);
        if (trust < cfg.blockBelow) {
            _setStatus(id, rec, Status.Blocked);
        } else if (trust < cfg.suspendBelow && status != Status.Suspended) {
            _setStatus(id, rec, Status.Suspended);
        }
    }

    // ----------------------------------------------------------- owner actions

    /// @inheritdoc IDeviceRegistry
    function requestRekey(DeviceId id, address newKey, uint64 deadline, Signature calldata sig) external {
        bytes32 digest = _openRekey(id, newKey, deadline);
        _requireSigner(digest, sig, newKey);
    }

    /// @inheritdoc IDeviceRegistry
    function requestRekeyP256(
        DeviceId id,
        P256Key calldata newKey,
        uint64 deadline,
        P256Signature calldata sig
    ) external {
        Label label = _records[id].label;
        if (label != Label.Lightweight) revert RegistryP256NotLightweight(uint8(label));
        address key = _p256Address(newKey.x, newKey.y);
        bytes32 digest = _openRekey(id, key, deadline);
        _requireP256Signer(digest, sig, newKey, key);
        emit P256KeyBound(id, key, newKey.x, newKey.y);
    }

    /// @inheritdoc IDeviceRegistry
    function revoke(DeviceId id) external {
        Record storage rec = _requireOwner(id);
        if (rec.status == Status.Revoked) revert RegistryInvalidStatus(id, Status.Revoked);
        _setStatus(id, rec, Status.Revoked);
        delete _rounds[id].pendingKey;
    }

    /// @inheritdoc IDeviceRegistry
    function transferDevice(DeviceId id, address newOwner) external {
        Record storage rec = _requireOwner(id);
        if (newOwner == address(0)) revert RegistryZeroAddress();
        _bindings[rec.key].owner = newOwner;
        address pendingKey = _rounds[id].pendingKey;
        if (pendingKey != address(0)) _bindings[pendingKey].owner = newOwner;
        emit DeviceTransferred(id, msg.sender, newOwner);
    }

    /// @inheritdoc IDeviceRegistry
    function setPermissions(DeviceId id, uint32 permissions) external {
        Record storage rec = _requireOwner(id);
        if (rec.status == Status.Revoked) revert RegistryInvalidStatus(id, Status.Revoked);
        rec.permissions = permissions;
        emit PermissionsChanged(id, permissions);
    }

    /// @inheritdoc IDeviceRegistry
    function updateProfile(DeviceId id, bytes calldata profile) external {
        Record storage rec = _requireOwner(id);
        if (rec.status == Status.Revoked) revert RegistryInvalidStatus(id, Status.Revoked);
        emit ProfileUpdated(id, keccak256(profile), profile);
    }

    /// @inheritdoc IDeviceRegistry
    function setGateway(DeviceId id, DeviceId gateway) external {
        Record storage rec = _requireOwner(id);
        if (rec.status == Status.Revoked) revert RegistryInvalidStatus(id, Status.Revoked);
        if (!gateway.isNone()) {
            Record storage gw = _records[gateway];
            if (gateway == id || gw.status != Status.Active || gw.kind == Kind.Device) {
                revert RegistryInvalidGateway(gateway);
            }
        }
        _gateway[id] = gateway;
        emit GatewayAssigned(id, gateway);
    }

    // ------------------------------------------------------------------ admin

    /// @inheritdoc IDeviceRegistry
    function setLayerOperator(bytes32 layer, address operator) external onlyOwner {
        _layerOperators[layer] = operator;
        emit LayerOperatorSet(layer, operator);
    }

    /// @inheritdoc IDeviceRegistry
    function setConfig(Config calldata newConfig) external onlyOwner {
        _setConfig(newConfig);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDeviceRegistry
    function getDevice(DeviceId id) external view returns (DeviceView memory view_) {
        Record storage rec = _records[id];
        KeyBinding storage binding = _bindings[rec.key];
        Round storage round = _rounds[id];
        view_ = DeviceView({
            key: rec.key,
            owner: binding.owner,
            kind: rec.kind,
            label: rec.label,
            status: rec.status,
            trust: rec.trust,
            permissions: rec.permissions,
            nonce: rec.nonce,
            servingNode: _servingNode[id],
            liveUntil: _liveness[id].liveUntil,
            keyBoundAt: binding.boundAt,
            round: round.number,
            approvals: round.approvals,
            pendingKey: round.pendingKey,
            gateway: _gateway[id]
        });
    }

    /// @inheritdoc IDeviceRegistry
    function layerOperator(bytes32 layer) external view returns (address) {
        return _layerOperators[layer];
    }

    /// @inheritdoc IDeviceRegistry
    function keyOf(DeviceId id) external view returns (address) {
        return _records[id].key;
    }

    /// @inheritdoc IDeviceRegistry
    function ownerOf(DeviceId id) external view returns (address) {
        return _bindings[_records[id].key].owner;
    }

    /// @inheritdoc IDeviceRegistry
    function statusOf(DeviceId id) external view returns (Status) {
        return _records[id].status;
    }

    /// @inheritdoc IDeviceRegistry
    function keyKindStatusOf(DeviceId id) external view returns (address key, Kind kind, Status status) {
        Record storage rec = _records[id];
        return (rec.key, rec.kind, rec.status);
    }

    /// @inheritdoc IDeviceRegistry
    function isLive(DeviceId fullNode) external view returns (bool) {
        return _isLive(fullNode);
    }

    /// @inheritdoc IDeviceRegistry
    function servedCount(DeviceId fullNode) external view returns (uint256) {
        return _served[fullNode].length;
    }

    /// @inheritdoc IDeviceRegistry
    function servedDevices(
        DeviceId fullNode,
        uint256 offset,
        uint256 limit
    ) external view returns (DeviceId[] memory page) {
        DeviceId[] storage served = _served[fullNode];
        uint256 total = served.length;
        uint256 end = offset >= total ? offset : (total - offset < limit ? total : offset + limit);
        page = new DeviceId[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = served[i];
        }
    }

    /// @inheritdoc IDeviceRegistry
    function hasReported(DeviceId id, DeviceId reporter) external view returns (bool) {
        TrustCase memory tc = _trustCases[id];
        if (_caseExpired(tc, _records[id].status, _config.epochLength)) return false;
        uint64 reportedAt = _reportedIn[id][cohortOf(reporter)];
        return reportedAt != 0 && reportedAt >= tc.startedAt;
    }

    /// @inheritdoc IDeviceRegistry
    function cohortOf(DeviceId reporter) public view returns (DeviceId) {
        return _records[reporter].label == Label.Lightweight ? _sponsors[reporter] : reporter;
    }

    /// @inheritdoc IDeviceRegistry
    function trustCaseOf(DeviceId id) external view returns (TrustCase memory) {
        return _trustCases[id];
    }

    /// @inheritdoc IDeviceRegistry
    function offlineBallot(DeviceId fullNode) external view returns (uint32 period, uint8 votes) {
        Liveness storage liveness = _liveness[fullNode];
        return (liveness.period, liveness.votes);
    }

    /// @inheritdoc IDeviceRegistry
    function config() external view returns (Config memory) {
        return _config;
    }

    /// @inheritdoc IDeviceRegistry
    function registrationDigest(Registration calldata req, address owner) external view returns (bytes32) {
        return _hashTypedDataV4(_registrationStructHash(req, owner));
    }

    /// @inheritdoc IDeviceRegistry
    function rekeyDigest(DeviceId id, address newKey, uint64 deadline) external view returns (bytes32) {
        return _hashTypedDataV4(_rekeyStructHash(id, newKey, _records[id].nonce, deadline));
    }

    /// @inheritdoc IDeviceRegistry
    function p256Address(P256Key calldata pub) external pure returns (address) {
        return _p256Address(pub.x, pub.y);
    }

    /// @inheritdoc IDeviceRegistry
    function isValidKeySignature(address key, bytes32 digest, bytes calldata signature) public view returns (bool) {
        if (key == address(0)) return false;
        if (signature.length == 128) {
            (bytes32 x, bytes32 y, bytes32 r, bytes32 s) = abi.decode(signature, (bytes32, bytes32, bytes32, bytes32));
            return _p256Address(x, y) == key && P256.verifyNative(digest, r, s, x, y);
        }
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        return err == ECDSA.RecoverError.NoError && recovered == key;
    }

    /// @inheritdoc IDeviceRegistry
    function isValidDeviceSignature(
        DeviceId id,
        bytes32 digest,
        bytes calldata signature
    ) external view returns (bool) {
        return isValidKeySignature(_records[id].key, digest, signature);
    }

    /// @inheritdoc IDeviceRegistry
    function deviceId(bytes32 layer, bytes32 localId) external pure returns (DeviceId) {
        return DeviceIds.derive(layer, localId);
    }

    // --------------------------------------------------------------- internal

    /// @dev Checks and opens a re-key round of `id` to `newKey`; returns the digest the new key must
    /// have signed (checked by the caller, for its curve).
    function _openRekey(DeviceId id, address newKey, uint64 deadline) private returns (bytes32 digest) {
        Record storage rec = _requireOwner(id);
        Status status = rec.status;
        if (status != Status.Active && status != Status.Suspended && status != Status.Blocked) {
            revert RegistryInvalidStatus(id, status);
        }
        _requireFreshKey(newKey, deadline);
        uint16 nonce = rec.nonce;
        digest = _hashTypedDataV4(_rekeyStructHash(id, newKey, nonce, deadline));
        rec.nonce = nonce + 1;
        _bindings[newKey] = KeyBinding(msg.sender, uint64(block.timestamp));

        Round storage round = _rounds[id];
        uint32 number = round.number + 1;
        round.number = number;
        round.approvals = 0;
        round.pendingKey = newKey;
        emit RekeyRequested(id, newKey, number);
    }

    /// @dev Checks and writes a registration; the caller then checks the key's signature.
    function _register(Registration calldata req, address owner) private returns (DeviceId id) {
        if (req.kind > uint8(type(Kind).max)) revert RegistryUnknownKind(req.kind);
        if (req.label > uint8(type(Label).max)) revert RegistryUnknownLabel(req.label);
        if (_layerOperators[req.layer] != owner) revert RegistryUnauthorizedLayer(req.layer, owner);
        address key = req.key;
        _requireFreshKey(key, req.deadline);
        id = DeviceIds.derive(req.layer, req.localId);
        Record storage rec = _records[id];
        if (rec.status != Status.None) revert RegistryDeviceExists(id);

        rec.key = key;
        rec.kind = Kind(req.kind);
        rec.label = Label(req.label);
        rec.status = Status.Pending;
        rec.trust = MAX_TRUST;
        rec.permissions = req.permissions;
        _bindings[key] = KeyBinding(owner, uint64(block.timestamp));
        emit DeviceRegistered(
            id,
            owner,
            key,
            req.layer,
            req.localId,
            Kind(req.kind),
            Label(req.label),
            req.permissions,
            req.profileHash
        );
    }

    /// @dev Approvals the device needs in its current state; reverts when it waits for none.
    function _requiredApprovals(DeviceId id, Record storage rec, Round storage round) private view returns (uint8) {
        Status status = rec.status;
        bool rekeying = round.pendingKey != address(0);
        if (rec.label == Label.Coordination) {
            // Coordination nodes are the admin's to appoint; their peers only accept a re-key.
            if (!rekeying) revert RegistryApprovalNotExpected(id, status);
            return _config.fullNodeApprovals;
        }
        if (status == Status.Pending) {
            return rec.label == Label.Lightweight ? 1 : _config.fullNodeApprovals;
        }
        if (status == Status.Suspended || (rekeying && (status == Status.Active || status == Status.Blocked))) {
            return _config.fullNodeApprovals;
        }
        revert RegistryApprovalNotExpected(id, status);
    }

    function _setStatus(DeviceId id, Record storage rec, Status next) private {
        Status previous = rec.status;
        rec.status = next;
        emit DeviceStatusChanged(id, previous, next);
        if (previous == Status.Active && rec.label == Label.Lightweight) {
            DeviceId serving = _servingNode[id];
            _removeServed(serving, id);
            _servingNode[id] = DeviceIds.NONE;
            emit ServingNodeAssigned(id, DeviceIds.NONE, serving);
        }
        if (next == Status.Suspended || next == Status.Blocked) {
            Round storage round = _rounds[id];
            round.number += 1;
            round.approvals = 0;
            // A re-key asked for before the device was blocked must not be what unblocks it.
            if (next == Status.Blocked) round.pendingKey = address(0);
        }
    }

    /// @dev Makes `fullNode` serve `id`; `id` must be in no served list.
    function _assign(DeviceId id, DeviceId fullNode, DeviceId previous) private {
        DeviceId[] storage served = _served[fullNode];
        served.push(id);
        _servedIndex[id] = served.length;
        _servingNode[id] = fullNode;
        emit ServingNodeAssigned(id, fullNode, previous);
    }

    /// @dev Takes `id` out of `fullNode`'s served list (swap with the last, pop).
    function _removeServed(DeviceId fullNode, DeviceId id) private {
        DeviceId[] storage served = _served[fullNode];
        uint256 index = _servedIndex[id] - 1;
        uint256 last = served.length - 1;
        if (index != last) {
            DeviceId moved = served[last];
            served[index] = moved;
            _servedIndex[moved] = index + 1;
        }
        served.pop();
        _servedIndex[id] = 0;
    }

    function _beat(DeviceId fullNode) private {
        uint64 liveUntil = uint64(block.timestamp) + _config.heartbeatTimeout;
        Liveness storage liveness = _liveness[fullNode];
        liveness.liveUntil = liveUntil;
        // A new heartbeat period: offline votes cast before the node proved it is up are void.
        ++liveness.period;
        liveness.votes = 0;
        emit FullNodeHeartbeat(fullNode, liveUntil);
    }

    function _isLive(DeviceId fullNode) private view returns (bool) {
        Record storage rec = _records[fullNode];
        return
            rec.status == Status.Active && rec.label == Label.Full && block.timestamp <= _liveness[fullNode].liveUntil;
    }

    /// @dev True when a device that is not suspended has had no accepted report for an epoch:
    /// its case is closed (applied at the next report).
    function _caseExpired(TrustCase memory tc, Status status, uint32 epochLength) private view returns (bool) {
        return
            status != Status.Suspended &&
            tc.lastReportAt != 0 &&
            block.timestamp >= uint256(tc.lastReportAt) + epochLength;
    }

    /// @dev Seed 001: a node that misbehaved comes back with a lower trust than a fresh one — the
    /// suspension threshold; the reports of its case stay counted.
    function _restoreTrust(DeviceId id, Record storage rec) private {
        uint16 floor = _config.suspendBelow;
        if (rec.trust < floor) {
            rec.trust = floor;
            emit TrustRestored(id, floor);
        }
    }

    /// @dev A coordinator's vote on ballot `tag` (a round, a heartbeat period) in its current term.
    function _stamp(uint256 tag, DeviceId coordinator) private view returns (uint256) {
        return (tag << 32) | _terms[coordinator];
    }

    /// @dev Keeps, in place, the first `n` voters whose vote still counts — cast on `tag` in the
    /// voter's current term, the voter still an Active coordination node — and returns how many.
    /// Bounded: `n` is below k (a ballot closes when it reaches k), never a user-grown list.
    function _recount(Ballot storage ballot, uint256 n, uint256 tag) private returns (uint256 live) {
        for (uint256 i; i < n; ++i) {
            DeviceId c = ballot.voters[i];
            Record storage rec = _records[c];
            if (rec.label == Label.Coordination && rec.status == Status.Active && ballot.stamps[c] == _stamp(tag, c)) {
                if (live != i) ballot.voters[live] = c;
                ++live;
            }
        }
    }

    function _existing(DeviceId id) private view returns (Record storage rec) {
        rec = _records[id];
        if (rec.status == Status.None) revert RegistryUnknownDevice(id);
    }

    /// @dev The caller must be the device key of `id`.
    function _requireKey(DeviceId id) private view returns (Record storage rec) {
        rec = _existing(id);
        if (rec.key != msg.sender) revert RegistryUnauthorizedKey(id, msg.sender);
    }

    /// @dev The caller must be the owner of `id`.
    function _requireOwner(DeviceId id) private view returns (Record storage rec) {
        rec = _existing(id);
        if (_bindings[rec.key].owner != msg.sender) revert RegistryUnauthorizedOwner(id, msg.sender);
    }

    function _requireCoordinator(DeviceId coordinator) private view {
        Record storage rec = _requireKey(coordinator);
        if (rec.label != Label.Coordination || rec.status != Status.Active) {
            revert RegistryNotCoordinator(coordinator);
        }
    }

    function _requireFreshKey(address key, uint64 deadline) private view {
        if (key == address(0)) revert RegistryZeroAddress();
        if (block.timestamp > deadline) revert RegistryExpiredSignature(deadline, block.timestamp);
        if (_bindings[key].owner != address(0)) revert RegistryKeyInUse(key);
    }

    function _requireSigner(bytes32 digest, Signature calldata sig, address expected) private pure {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, sig.r, sig.vs);
        if (err != ECDSA.RecoverError.NoError || recovered != expected) {
            revert RegistryInvalidSignature(expected, recovered);
        }
    }

    /// @dev `pub` must be `key`'s P-256 public key, a curve point, and `sig` its signature of
    /// `digest` (low s), checked by the EIP-7951 precompile.
    function _requireP256Signer(
        bytes32 digest,
        P256Signature calldata sig,
        P256Key calldata pub,
        address key
    ) private view {
        address derived = _p256Address(pub.x, pub.y);
        if (derived != key) revert RegistryP256KeyMismatch(key, derived);
        if (!P256.isValidPublicKey(pub.x, pub.y)) revert RegistryInvalidP256Key(pub.x, pub.y);
        if (!P256.verifyNative(digest, sig.r, sig.s, pub.x, pub.y)) revert RegistryInvalidSignature(key, address(0));
    }

    function _p256Address(bytes32 x, bytes32 y) private pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked("strata.p256", x, y)))));
    }

    function _registrationStructHash(Registration calldata req, address owner) private pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    REGISTRATION_TYPEHASH,
                    req.layer,
                    req.localId,
                    req.key,
                    owner,
                    req.kind,
                    req.label,
                    req.permissions,
                    req.profileHash,
                    req.deadline
                )
            );
    }

    function _rekeyStructHash(
        DeviceId id,
        address newKey,
        uint16 nonce,
        uint64 deadline
    ) private pure returns (bytes32) {
        return keccak256(abi.encode(REKEY_TYPEHASH, id, newKey, nonce, deadline));
    }

    function _setConfig(Config memory cfg) private {
        if (cfg.fullNodeApprovals == 0) revert RegistryInvalidConfig("fullNodeApprovals");
        if (cfg.reportPenalty == 0 || cfg.reportPenalty > MAX_TRUST) revert RegistryInvalidConfig("reportPenalty");
        if (cfg.suspendBelow == 0 || cfg.suspendBelow > MAX_TRUST) revert RegistryInvalidConfig("suspendBelow");
        // One report never suspends: suspension always takes two independent reporters or more.
        if (cfg.reportPenalty > MAX_TRUST - cfg.suspendBelow) revert RegistryInvalidConfig("reportPenalty");
        if (cfg.blockBelow >= cfg.suspendBelow) revert RegistryInvalidConfig("blockBelow");
        if (cfg.epochLength == 0) revert RegistryInvalidConfig("epochLength");
        if (cfg.heartbeatTimeout == 0) revert RegistryInvalidConfig("heartbeatTimeout");
        _config = cfg;
        emit ConfigChanged(cfg);
    }
}
