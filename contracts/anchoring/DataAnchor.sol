// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IDataAnchor} from "../interfaces/IDataAnchor.sol";
import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {DeviceId} from "../libraries/DeviceIds.sol";

/// @title DataAnchor
/// @notice Gateways anchor the Merkle roots of their batches, write-once and chained per gateway;
/// anyone verifies a reading's inclusion against an anchored root.
/// @dev See `IDataAnchor`. Storage per anchor is one fresh slot (the root's record) plus the
/// rewrite of the gateway's head slot; the previous root travels in the event only. The
/// gateway's DeviceId (32 bytes) is stored once, at its first anchor, under a 32-bit index, so
/// that a root's record fits one slot.
contract DataAnchor is IDataAnchor {
    /// @dev One slot per anchored root. `sequence` is never zero for an anchored root.
    struct Record {
        uint32 gatewayIndex;
        uint64 sequence;
        uint48 time;
        uint64 leafCount;
    }

    /// @inheritdoc IDataAnchor
    IDeviceRegistry public immutable registry;

    mapping(bytes32 root => Record) private _records;
    /// @dev The last root of each gateway; its record holds the sequence and the gateway index.
    mapping(DeviceId gateway => bytes32 root) private _heads;
    /// @dev Gateways by index, from 1, written at each gateway's first anchor.
    mapping(uint32 index => DeviceId gateway) private _gateways;
    uint32 private _gatewayCount;

    /// @param registry_ The device registry that authenticates gateways.
    constructor(IDeviceRegistry registry_) {
        registry = registry_;
    }

    /// @inheritdoc IDataAnchor
    function anchor(DeviceId gateway, bytes32 root, uint64 leafCount) external returns (uint64 sequence) {
        if (root == bytes32(0)) revert DataAnchorZeroRoot(gateway);
        if (leafCount == 0) revert DataAnchorZeroLeafCount(root);
        Record storage rec = _records[root];
        if (rec.sequence != 0) revert DataAnchorRootExists(root);

        if (registry.keyOf(gateway) != msg.sender) revert DataAnchorUnauthorizedKey(gateway, msg.sender);
        IDeviceRegistry.Status status = registry.statusOf(gateway);
        if (status != IDeviceRegistry.Status.Active) revert DataAnchorGatewayNotActive(gateway, status);

        bytes32 previous = _heads[gateway];
        uint32 index;
        if (previous == bytes32(0)) {
            // First anchor: the kind never changes after registration, so it is checked once.
            IDeviceRegistry.Kind kind = registry.getDevice(gateway).kind;
            if (kind == IDeviceRegistry.Kind.Device) revert DataAnchorNotGateway(gateway, kind);
            index = ++_gatewayCount;
            _gateways[index] = gateway;
            sequence = 1;
        } else {
            Record storage prev = _records[previous];
            index = prev.gatewayIndex;
            sequence = prev.sequence + 1;
        }

        rec.gatewayIndex = index;
        rec.sequence = sequence;
        rec.time = uint48(block.timestamp);
        rec.leafCount = leafCount;
        _heads[gateway] = root;
        emit Anchored(gateway, root, sequence, previous, leafCount, uint64(block.timestamp));
    }

    /// @inheritdoc IDataAnchor
    function verifyReading(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _records[root].sequence != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IDataAnchor
    function isAnchored(bytes32 root) external view returns (bool) {
        return _records[root].sequence != 0;
    }

    /// @inheritdoc IDataAnchor
    function anchorOf(bytes32 root) external view returns (AnchorRecord memory) {
        Record memory rec = _records[root];
        if (rec.sequence == 0) return AnchorRecord(DeviceId.wrap(bytes32(0)), 0, 0, 0);
        return AnchorRecord(_gateways[rec.gatewayIndex], rec.sequence, rec.time, rec.leafCount);
    }

    /// @inheritdoc IDataAnchor
    function head(DeviceId gateway) external view returns (bytes32 root, uint64 sequence) {
        root = _heads[gateway];
        sequence = _records[root].sequence;
    }
}
