// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IDataAnchor} from "../interfaces/IDataAnchor.sol";
import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {DeviceId} from "../libraries/DeviceIds.sol";

/// @title DataAnchor
/// @notice Gateways anchor the Merkle roots of their batches, write-once and chained per gateway;
/// anyone verifies a reading's inclusion against an anchored root.
/// @dev See `IDataAnchor`. An anchor touches exactly two slots of this contract: the root's record
/// (fresh) and the gateway's chain (rewritten), each packed into one word, plus one slot of the
/// registry read through `keyKindStatusOf`. That is the floor for these rules: the record must be
/// keyed by the root (write-once, `anchorOf`), the sequence by the gateway (no gap, no fork), and
/// the status must be read live. The gateway's DeviceId (32 bytes) is stored once, at its first
/// anchor, under a 32-bit index, so that a root's record fits one slot.
contract DataAnchor is IDataAnchor {
    // One word per root and one per gateway, packed by hand: solc writes a storage struct field by
    // field (a read and a write per field), which cost an anchor ~1,050 gas more. The low 96 bits
    // of a root's record are its gateway's chain word as that anchor left it.
    //   chain word:  gatewayIndex (bits 0-31) | sequence (32-95)
    //   record word: gatewayIndex (bits 0-31) | sequence (32-95) | time (96-143) | leafCount (144-207)
    uint256 private constant SEQUENCE_SHIFT = 32;
    uint256 private constant TIME_SHIFT = 96;
    uint256 private constant LEAF_COUNT_SHIFT = 144;

    /// @inheritdoc IDataAnchor
    IDeviceRegistry public immutable registry;

    /// @dev The record word of each anchored root (never zero: its sequence is at least 1).
    mapping(bytes32 root => uint256 record) private _records;
    /// @dev The chain word of each gateway that anchored (its index is never zero).
    mapping(DeviceId gateway => uint256 chain) private _chains;
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
        if (_records[root] != 0) revert DataAnchorRootExists(root);

        (address key, IDeviceRegistry.Kind kind, IDeviceRegistry.Status status) = registry.keyKindStatusOf(gateway);
        if (key != msg.sender) revert DataAnchorUnauthorizedKey(gateway, msg.sender);
        if (status != IDeviceRegistry.Status.Active) revert DataAnchorGatewayNotActive(gateway, status);
        if (kind == IDeviceRegistry.Kind.Device) revert DataAnchorNotGateway(gateway, kind);

        uint256 chain = _chains[gateway];
        if (chain == 0) chain = _enrol(gateway);
        // A sequence counts transactions: it cannot reach 2^64, so the increment stays in its bits.
        unchecked {
            chain += 1 << SEQUENCE_SHIFT;
        }
        sequence = uint64(chain >> SEQUENCE_SHIFT);
        _chains[gateway] = chain;
        _records[root] =
            chain |
            (uint256(uint48(block.timestamp)) << TIME_SHIFT) |
            (uint256(leafCount) << LEAF_COUNT_SHIFT);
        emit Anchored(gateway, sequence, root, leafCount);
    }

    /// @inheritdoc IDataAnchor
    function verifyReading(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return _records[root] != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IDataAnchor
    function isAnchored(bytes32 root) external view returns (bool) {
        return _records[root] != 0;
    }

    /// @inheritdoc IDataAnchor
    function anchorOf(bytes32 root) external view returns (AnchorRecord memory) {
        uint256 record = _records[root];
        if (record == 0) return AnchorRecord(DeviceId.wrap(bytes32(0)), 0, 0, 0);
        return
            AnchorRecord({
                gateway: _gateways[uint32(record)],
                sequence: uint64(record >> SEQUENCE_SHIFT),
                time: uint48(record >> TIME_SHIFT),
                leafCount: uint64(record >> LEAF_COUNT_SHIFT)
            });
    }

    /// @inheritdoc IDataAnchor
    function head(DeviceId gateway) external view returns (uint64 sequence) {
        return uint64(_chains[gateway] >> SEQUENCE_SHIFT);
    }

    /// @dev Gives a gateway's first anchor an index (from 1): its chain word with sequence 0.
    function _enrol(DeviceId gateway) private returns (uint256 chain) {
        uint32 index = ++_gatewayCount;
        _gateways[index] = gateway;
        return index;
    }
}
