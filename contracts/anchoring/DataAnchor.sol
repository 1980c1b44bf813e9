// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IDataAnchor} from "../interfaces/IDataAnchor.sol";
import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {BLSSignatures} from "../libraries/BLSSignatures.sol";
import {DeviceId} from "../libraries/DeviceIds.sol";

/// @title DataAnchor
/// @notice Gateways anchor the Merkle roots of their batches, write-once and chained per gateway;
/// anyone verifies a reading's inclusion against an anchored root.
/// @dev See `IDataAnchor`. An anchor touches exactly two slots of this contract: the root's record
/// (fresh) and the gateway's chain (rewritten), each packed into one word, plus one slot of the
/// registry read through `keyKindStatusOf`. That is the floor for these rules: the record must be
/// keyed by the gateway and the root (write-once per gateway, `anchorOf`; keyed by the root alone,
/// any gateway could take another's root first and block it), the sequence by the gateway (no gap,
/// no fork), and the status must be read live. Each gateway gets a 32-bit index at its first anchor
/// (its DeviceId stored once under it), kept in its chain word and in its records.
///
/// Fog clusters (seed 004) live here rather than in a contract of their own: a batch then reads its
/// cluster from the chain word it rewrites anyway, where a separate contract would add a cold call
/// (~2,600 gas + its slot) to every batch. The cluster's group key, threshold, epoch and members are
/// written once per epoch as the code of a small data contract (SSTORE2) whose address fills the
/// chain word's upper 160 bits, so a batch reads the 256-byte key with one EXTCODECOPY (~2,600 gas).
/// Measured against the alternatives: 8 storage slots cost a batch ~14,600 more, a key in calldata
/// checked against a stored hash ~1,100 more, plus ~2,100 for the hash's own slot (docs/anchoring.md).
contract DataAnchor is IDataAnchor, EIP712 {
    // One word per root and one per gateway, packed by hand: solc writes a storage struct field by
    // field (a read and a write per field), which cost an anchor ~1,050 gas more. The low 96 bits
    // of a root's record are its gateway's chain word as that anchor left it (its link).
    //   chain word:  gatewayIndex (bits 0-31) | sequence (32-95) | fog cluster key store (96-255)
    //   record word: gatewayIndex (bits 0-31) | sequence (32-95) | time (96-143) | leafCount (144-207)
    uint256 private constant SEQUENCE_SHIFT = 32;
    uint256 private constant TIME_SHIFT = 96;
    uint256 private constant LEAF_COUNT_SHIFT = 144;
    uint256 private constant STORE_SHIFT = 96;
    uint256 private constant LINK_MASK = (1 << 96) - 1;

    // A cluster's key store is a contract whose code is STOP ‖ group key (256 bytes, EIP-2537) ‖
    // abi.encode(epoch, since, threshold, members); the STOP makes it useless to call.
    uint256 private constant KEY_OFFSET = 1;
    uint256 private constant G2_LENGTH = 256;
    uint256 private constant TAIL_OFFSET = 257;
    uint256 private constant MAX_FOG_MEMBERS = 64;

    bytes32 private constant FOG_BATCH_TYPEHASH = keccak256(
        "FogBatch(bytes32 cluster,uint64 sequence,bytes32 root,uint64 leafCount)"
    );
    bytes32 private constant FOG_CLUSTER_TYPEHASH = keccak256(
        "FogCluster(bytes32 cluster,bytes groupKey,uint8 threshold,bytes32[] members,uint32 epoch)"
    );

    /// @inheritdoc IDataAnchor
    IDeviceRegistry public immutable registry;

    /// @dev The record word of each root each gateway (or fog cluster) anchored, under
    /// `_key(gateway, root)` (never zero: its sequence is at least 1). Keyed by the gateway too, so
    /// that an anchor of the same root by another gateway cannot block it or claim it.
    mapping(bytes32 key => uint256 record) private _records;
    /// @dev The chain word of each gateway that anchored (its index is never zero).
    mapping(DeviceId gateway => uint256 chain) private _chains;
    /// @dev Gateways by index, from 1, written at each gateway's first anchor. No longer read since
    /// records are keyed by the gateway (`anchorOf` names the gateway it is asked about).
    mapping(uint32 index => DeviceId gateway) private _gateways;
    uint32 private _gatewayCount;

    /// @inheritdoc IDataAnchor
    uint256 public immutable deployedAt;

    /// @param registry_ The device registry that authenticates gateways.
    constructor(IDeviceRegistry registry_) EIP712("Strata DataAnchor", "1") {
        registry = registry_;
        deployedAt = block.number;
    }

    /// @inheritdoc IDataAnchor
    function anchor(DeviceId gateway, bytes32 root, uint64 leafCount) external returns (uint64 sequence) {
        if (root == bytes32(0)) revert DataAnchorZeroRoot(gateway);
        if (leafCount == 0) revert DataAnchorZeroLeafCount(root);
        if (_records[_key(gateway, root)] != 0) revert DataAnchorRootExists(gateway, root);

        (address key, IDeviceRegistry.Kind kind, IDeviceRegistry.Status status) = registry.keyKindStatusOf(gateway);
        if (key != msg.sender) revert DataAnchorUnauthorizedKey(gateway, msg.sender);
        if (status != IDeviceRegistry.Status.Active) revert DataAnchorGatewayNotActive(gateway, status);
        if (kind == IDeviceRegistry.Kind.Device) revert DataAnchorNotGateway(gateway, kind);

        uint256 chain = _chains[gateway];
        if (chain >> STORE_SHIFT != 0) revert DataAnchorIsFogCluster(gateway);
        if (chain == 0) chain = _enrol(gateway);
        // A sequence counts transactions: it cannot reach 2^64, so the increment stays in its bits.
        unchecked {
            chain += 1 << SEQUENCE_SHIFT;
        }
        sequence = uint64(chain >> SEQUENCE_SHIFT);
        _chains[gateway] = chain;
        _records[_key(gateway, root)] =
            chain |
            (uint256(uint48(block.timestamp)) << TIME_SHIFT) |
            (uint256(leafCount) << LEAF_COUNT_SHIFT);
        emit Anchored(gateway, sequence, root, leafCount);
    }

    /// @inheritdoc IDataAnchor
    function registerFogCluster(
        DeviceId cluster,
        bytes calldata groupKey,
        uint8 threshold,
        DeviceId[] calldata members,
        bytes calldata proof,
        IDeviceRegistry.Signature[] calldata approvals
    ) external returns (uint32 epoch) {
        (address key, IDeviceRegistry.Kind kind, IDeviceRegistry.Status status) = registry.keyKindStatusOf(cluster);
        if (key != msg.sender) revert DataAnchorUnauthorizedKey(cluster, msg.sender);
        _requireActiveFogNode(cluster, kind, status);

        uint256 chain = _chains[cluster];
        address store = address(uint160(chain >> STORE_SHIFT));
        // A cluster's records are all group-signed: a gateway that anchored alone stays a gateway.
        if (store == address(0) && chain >> SEQUENCE_SHIFT != 0) {
            revert DataAnchorGatewayHasAnchors(cluster, uint64(chain >> SEQUENCE_SHIFT));
        }
        uint256 n = members.length;
        if (n == 0 || n > MAX_FOG_MEMBERS || threshold == 0 || threshold > n) {
            revert DataAnchorInvalidThreshold(threshold, n);
        }
        if (approvals.length != n) revert DataAnchorApprovalCountMismatch(n, approvals.length);

        epoch = store == address(0) ? 1 : _epochOf(store) + 1;
        // One copy to memory: indexing the calldata array here would make solc share its index
        // helper with `verifyReading`'s proof loop and stop inlining it there (~1,100 gas a call).
        DeviceId[] memory list = members;
        bytes32 digest = _fogClusterDigest(cluster, groupKey, threshold, list, epoch);
        for (uint256 i; i < n; ++i) _requireMember(cluster, list, i, digest, approvals[i]);
        if (!BLSSignatures.verifyPossession(groupKey, proof)) revert DataAnchorInvalidPossessionProof(cluster);

        if (chain == 0) chain = _enrol(cluster);
        uint64 since = uint64(chain >> SEQUENCE_SHIFT) + 1;
        store = _storeKey(cluster, groupKey, abi.encode(epoch, since, threshold, list));
        _chains[cluster] = (chain & LINK_MASK) | (uint256(uint160(store)) << STORE_SHIFT);
        emit FogClusterRegistered(cluster, epoch, since, threshold, list, groupKey);
    }

    /// @inheritdoc IDataAnchor
    function anchorFogBatch(
        DeviceId cluster,
        bytes32 root,
        uint64 leafCount,
        bytes calldata groupSignature
    ) external returns (uint64 sequence) {
        if (root == bytes32(0)) revert DataAnchorZeroRoot(cluster);
        if (leafCount == 0) revert DataAnchorZeroLeafCount(root);
        if (_records[_key(cluster, root)] != 0) revert DataAnchorRootExists(cluster, root);

        uint256 chain = _chains[cluster];
        address store = address(uint160(chain >> STORE_SHIFT));
        if (store == address(0)) revert DataAnchorUnknownFogCluster(cluster);
        // The registry can stop a whole cluster as it stops a gateway; the kind was checked when the
        // cluster registered and never changes, and the key plays no part: anyone may submit.
        (, , IDeviceRegistry.Status status) = registry.keyKindStatusOf(cluster);
        if (status != IDeviceRegistry.Status.Active) revert DataAnchorGatewayNotActive(cluster, status);

        unchecked {
            chain += 1 << SEQUENCE_SHIFT;
        }
        sequence = uint64(chain >> SEQUENCE_SHIFT);
        bytes memory message = abi.encodePacked(_fogBatchDigest(cluster, sequence, root, leafCount));
        if (!BLSSignatures.verify(_groupKey(store), message, groupSignature)) {
            revert DataAnchorInvalidGroupSignature(cluster, sequence);
        }
        _chains[cluster] = chain;
        _records[_key(cluster, root)] =
            (chain & LINK_MASK) |
            (uint256(uint48(block.timestamp)) << TIME_SHIFT) |
            (uint256(leafCount) << LEAF_COUNT_SHIFT);
        emit Anchored(cluster, sequence, root, leafCount);
    }

    /// @inheritdoc IDataAnchor
    function verifyReading(
        DeviceId gateway,
        bytes32 root,
        bytes32 valuesHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        uint256 record = _records[_key(gateway, root)];
        if (record == 0) return false;
        // The tree of n leaves is complete (2n - 1 nodes in array form): no leaf lies deeper than
        // ceil(log2 n), so a longer proof is not a leaf's, whatever it hashes to.
        uint256 leafCount = uint64(record >> LEAF_COUNT_SHIFT);
        if (proof.length > (leafCount > 1 ? Math.log2(leafCount - 1) + 1 : 0)) return false;
        // The last leaf hash is done here: an inner node (64-byte preimage) or the root cannot be
        // passed off as a leaf without a 32-byte keccak256 preimage of it.
        bytes32 leaf;
        assembly ("memory-safe") {
            mstore(0x00, valuesHash)
            leaf := keccak256(0x00, 0x20)
        }
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IDataAnchor
    function isAnchored(DeviceId gateway, bytes32 root) external view returns (bool) {
        return _records[_key(gateway, root)] != 0;
    }

    /// @inheritdoc IDataAnchor
    function anchorOf(DeviceId gateway, bytes32 root) external view returns (AnchorRecord memory) {
        uint256 record = _records[_key(gateway, root)];
        if (record == 0) return AnchorRecord(DeviceId.wrap(bytes32(0)), 0, 0, 0);
        return
            AnchorRecord({
                gateway: gateway,
                sequence: uint64(record >> SEQUENCE_SHIFT),
                time: uint48(record >> TIME_SHIFT),
                leafCount: uint64(record >> LEAF_COUNT_SHIFT)
            });
    }

    /// @inheritdoc IDataAnchor
    function head(DeviceId gateway) external view returns (uint64 sequence) {
        return uint64(_chains[gateway] >> SEQUENCE_SHIFT);
    }

    /// @inheritdoc IDataAnchor
    function fogCluster(DeviceId cluster) external view returns (FogCluster memory c) {
        address store = address(uint160(_chains[cluster] >> STORE_SHIFT));
        if (store == address(0)) return c;
        c.groupKey = _groupKey(store);
        bytes memory tail = new bytes(store.code.length - TAIL_OFFSET);
        assembly ("memory-safe") {
            extcodecopy(store, add(tail, 0x20), TAIL_OFFSET, mload(tail))
        }
        (c.epoch, c.since, c.threshold, c.members) = abi.decode(tail, (uint32, uint64, uint8, DeviceId[]));
    }

    /// @inheritdoc IDataAnchor
    function fogBatchDigest(
        DeviceId cluster,
        uint64 sequence,
        bytes32 root,
        uint64 leafCount
    ) external view returns (bytes32) {
        return _fogBatchDigest(cluster, sequence, root, leafCount);
    }

    /// @inheritdoc IDataAnchor
    function fogClusterDigest(
        DeviceId cluster,
        bytes calldata groupKey,
        uint8 threshold,
        DeviceId[] calldata members,
        uint32 epoch
    ) external view returns (bytes32) {
        return _fogClusterDigest(cluster, groupKey, threshold, members, epoch);
    }

    /// @dev keccak256(abi.encode(gateway, root)) in the scratch space: the same gas as a nested
    /// mapping for `anchor` and `verifyReading`, 28 less per fog batch, 348 less than solc's
    /// `abi.encode`, which allocates memory (measured with bench/anchor.ts).
    function _key(DeviceId gateway, bytes32 root) private pure returns (bytes32 k) {
        assembly ("memory-safe") {
            mstore(0x00, gateway)
            mstore(0x20, root)
            k := keccak256(0x00, 0x40)
        }
    }

    /// @dev Gives a gateway's first anchor an index (from 1): its chain word with sequence 0.
    function _enrol(DeviceId gateway) private returns (uint256 chain) {
        uint32 index = ++_gatewayCount;
        _gateways[index] = gateway;
        return index;
    }

    /// @dev Member `i` of a cluster being registered: not the cluster, listed once (members are at
    /// most 64, so the quadratic scan is bounded and cheaper than the registry call next to it), an
    /// Active FogNode, and its registered key signed the registration's `digest`.
    function _requireMember(
        DeviceId cluster,
        DeviceId[] memory members,
        uint256 i,
        bytes32 digest,
        IDeviceRegistry.Signature calldata approval
    ) private view {
        DeviceId member = members[i];
        if (member == cluster) revert DataAnchorFogClusterIsMember(cluster);
        for (uint256 j; j < i; ++j) {
            if (members[j] == member) revert DataAnchorDuplicateMember(member);
        }
        (address key, IDeviceRegistry.Kind kind, IDeviceRegistry.Status status) = registry.keyKindStatusOf(member);
        // Status first: an unknown member has the zero key, which a failed recovery also returns.
        _requireActiveFogNode(member, kind, status);
        (address signer, , ) = ECDSA.tryRecover(digest, approval.r, approval.vs);
        if (signer != key) revert DataAnchorInvalidApproval(member, key, signer);
    }

    function _requireActiveFogNode(DeviceId id, IDeviceRegistry.Kind kind, IDeviceRegistry.Status status) private pure {
        if (status != IDeviceRegistry.Status.Active) revert DataAnchorGatewayNotActive(id, status);
        if (kind != IDeviceRegistry.Kind.FogNode) revert DataAnchorNotFogNode(id, kind);
    }

    /// @dev Deploys the key store of a cluster's epoch: a contract whose code is STOP ‖ `groupKey` ‖
    /// `tail`, created by the 10-byte init code PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY,
    /// RETURNDATASIZE, RETURN (the code is at most 2,465 bytes: 64 members).
    function _storeKey(DeviceId cluster, bytes calldata groupKey, bytes memory tail) private returns (address store) {
        bytes memory code = abi.encodePacked(hex"00", groupKey, tail);
        bytes memory init = abi.encodePacked(hex"61", uint16(code.length), hex"80600a3d393df3", code);
        assembly ("memory-safe") {
            store := create(0, add(init, 0x20), mload(init))
        }
        if (store == address(0)) revert DataAnchorKeyStoreFailed(cluster);
    }

    /// @dev The group key in `store` (one EXTCODECOPY: the account is cold once per transaction).
    function _groupKey(address store) private view returns (bytes memory key) {
        key = new bytes(G2_LENGTH);
        assembly ("memory-safe") {
            extcodecopy(store, add(key, 0x20), KEY_OFFSET, G2_LENGTH)
        }
    }

    /// @dev The epoch recorded in `store` (the first word after the key).
    function _epochOf(address store) private view returns (uint32 epoch) {
        assembly ("memory-safe") {
            extcodecopy(store, 0x00, TAIL_OFFSET, 0x20)
            epoch := and(mload(0x00), 0xffffffff)
        }
    }

    function _fogBatchDigest(
        DeviceId cluster,
        uint64 sequence,
        bytes32 root,
        uint64 leafCount
    ) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(FOG_BATCH_TYPEHASH, cluster, sequence, root, leafCount)));
    }

    /// @dev EIP-712 encodes `bytes` as its keccak256 and `bytes32[]` as the keccak256 of its words.
    function _fogClusterDigest(
        DeviceId cluster,
        bytes calldata groupKey,
        uint8 threshold,
        DeviceId[] memory members,
        uint32 epoch
    ) private view returns (bytes32) {
        bytes32 membersHash;
        assembly ("memory-safe") {
            membersHash := keccak256(add(members, 0x20), shl(5, mload(members)))
        }
        return
            _hashTypedDataV4(
                keccak256(abi.encode(FOG_CLUSTER_TYPEHASH, cluster, keccak256(groupKey), threshold, membersHash, epoch))
            );
    }
}
