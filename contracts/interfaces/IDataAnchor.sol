// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DeviceId} from "../libraries/DeviceIds.sol";
import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/// @title IDataAnchor
/// @notice Write-once Merkle roots of batches of block hashes, anchored by gateways (base
/// stations, fog nodes, edge nodes) and chained per gateway; on-chain inclusion verification.
/// @dev Seeds 000 (a base station anchors the roots of its flow-chain blocks) and 004 (a fog
/// node anchors its batches). An anchor costs the same whatever the batch size: only the root
/// and its leaf count are stored, never the leaves.
///
/// Trees follow OpenZeppelin's `StandardMerkleTree` convention, so proofs built by the npm
/// package openzeppelin/merkle-tree (or the SDK) verify with `MerkleProof`: a leaf is
/// `keccak256(bytes.concat(keccak256(abi.encode(values...))))` (double hashing keeps a leaf
/// from being mistaken for an inner node), and an inner node is the keccak256 of its two
/// children sorted (commutative pair hash), so a proof is the list of siblings, leaf to root.
///
/// Chaining: the anchors of one gateway carry sequence numbers 1, 2, 3... with no gap and no
/// fork: the contract keeps each gateway's last sequence number and gives the next anchor the
/// next one, and a root anchors once. `Anchored` indexes the gateway and the sequence, so a
/// reader rebuilds a gateway's chain from the log (and finds its n-th root with one filter) and
/// checks it against `head`.
///
/// Gas: an anchor writes one fresh slot (the root's record) and rewrites one (the gateway's
/// sequence), and reads the gateway's key, kind and status from the registry in one call on every
/// anchor, so that a gateway the registry suspends, blocks or revokes cannot anchor in any later
/// transaction. The previous root and the time are not in the event: the first would cost another
/// slot per gateway, the second is the block's timestamp.
interface IDataAnchor {
    // ------------------------------------------------------------------ types

    /// @notice What the contract keeps about one anchored root (all zero when not anchored).
    /// @param gateway The gateway that anchored it.
    /// @param sequence Its position in the gateway's chain, from 1.
    /// @param time The block timestamp of the anchor.
    /// @param leafCount How many leaves (block hashes) the tree holds.
    struct AnchorRecord {
        DeviceId gateway;
        uint64 sequence;
        uint64 time;
        uint64 leafCount;
    }

    // ----------------------------------------------------------------- errors

    /// @notice `account` is not the registered device key of `gateway`.
    error DataAnchorUnauthorizedKey(DeviceId gateway, address account);
    /// @notice `gateway` is not Active in the registry.
    error DataAnchorGatewayNotActive(DeviceId gateway, IDeviceRegistry.Status status);
    /// @notice `gateway` is a plain device, not a base station, fog node or edge node.
    error DataAnchorNotGateway(DeviceId gateway, IDeviceRegistry.Kind kind);
    /// @notice The zero root cannot be anchored.
    error DataAnchorZeroRoot(DeviceId gateway);
    /// @notice A tree holds at least one leaf.
    error DataAnchorZeroLeafCount(bytes32 root);
    /// @notice `root` is already anchored (anchors are write-once).
    error DataAnchorRootExists(bytes32 root);

    // ----------------------------------------------------------------- events

    /// @notice `gateway` anchored `root`, the `sequence`-th anchor of its chain, over `leafCount`
    /// leaves; the anchor's time is the block's timestamp (also in `anchorOf`).
    event Anchored(DeviceId indexed gateway, uint64 indexed sequence, bytes32 root, uint64 leafCount);

    // -------------------------------------------------------------- actions

    /// @notice Anchors `root`, the Merkle root of a batch of `leafCount` block hashes, as the next
    /// link of `gateway`'s chain.
    /// @dev The caller must be the gateway's registered device key; the gateway must be Active and
    /// of a kind other than Device, as the registry says when the anchor runs
    /// (`IDeviceRegistry.keyKindStatusOf`, read on every anchor). Refuses the zero root, a zero leaf
    /// count and a root already anchored.
    /// @return sequence The anchor's position in the gateway's chain, from 1.
    function anchor(DeviceId gateway, bytes32 root, uint64 leafCount) external returns (uint64 sequence);

    // ---------------------------------------------------------------- views

    /// @notice True iff `root` is anchored and `proof` proves `leaf` in it (`MerkleProof`,
    /// sorted-pair keccak256; `leaf` is already the double-hashed StandardMerkleTree leaf).
    function verifyReading(bytes32 root, bytes32 leaf, bytes32[] calldata proof) external view returns (bool);

    /// @notice True iff `root` is anchored.
    function isAnchored(bytes32 root) external view returns (bool);

    /// @notice The record of `root` (all zero when not anchored).
    function anchorOf(bytes32 root) external view returns (AnchorRecord memory);

    /// @notice The sequence number of `gateway`'s last anchor (0 before the first): the length of
    /// its chain. That anchor's root is in the `Anchored` event indexed by (`gateway`, `sequence`).
    function head(DeviceId gateway) external view returns (uint64 sequence);

    /// @notice The registry that authenticates gateways.
    function registry() external view returns (IDeviceRegistry);
}
