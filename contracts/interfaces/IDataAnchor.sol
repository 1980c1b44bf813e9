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
/// next one, and a gateway anchors a root once. `Anchored` indexes the gateway and the sequence, so a
/// reader rebuilds a gateway's chain from the log (and finds its n-th root with one filter) and
/// checks it against `head`.
///
/// Records are kept per gateway: the record of `root` anchored by `gateway` is keyed by both, so a
/// root another gateway (or a fog cluster) anchored first, seen in the mempool or while endorsing
/// it, neither blocks a gateway's anchor nor is attributed to it. The views take the gateway whose
/// record is asked for.
///
/// Gas: an anchor writes one fresh slot (the (gateway, root) record) and rewrites one (the gateway's
/// sequence), and reads the gateway's key, kind and status from the registry in one call on every
/// anchor, so that a gateway the registry suspends, blocks or revokes cannot anchor in any later
/// transaction. The previous root and the time are not in the event: the first would cost another
/// slot per gateway, the second is the block's timestamp.
///
/// Fog clusters (seed 004, the "verification decoding phase" of Secuchain's sign shares): a fog
/// cluster is a registry entity of kind FogNode (its DeviceId and key are the cluster operator's)
/// whose n member fog nodes hold a t-of-n threshold BLS key made off chain by DKG. Its chain grows
/// only by `anchorFogBatch`: a batch root with the group signature (min-sig: G1 signature, G2 group
/// key) that any t members' sign shares combine into, over `fogBatchDigest`, which binds the chain
/// id, this contract, the cluster, the cluster's next sequence, the root and the leaf count. Anyone
/// may submit it; the signature is the authentication. Fog roots are kept like gateway roots, in
/// records keyed by (cluster, root), chained, with the same `Anchored` event, so `verifyReading`,
/// `anchorOf` and `isAnchored` (given the cluster's id) and `head` read them unchanged. The
/// cluster's key, threshold and members are registered by the cluster's key with a proof of
/// possession of the group key and the EIP-712 approval of every member (`registerFogCluster`),
/// and kept in code (SSTORE2), read with one EXTCODECOPY per batch.
interface IDataAnchor {
    // ------------------------------------------------------------------ types

    /// @notice What the contract keeps about one root one gateway anchored (all zero when it did not).
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

    /// @notice A fog cluster as registered (all zero and empty when `cluster` is not one).
    /// @param groupKey The group public key, a G2 point in its 256-byte EIP-2537 encoding.
    /// @param threshold t: how many members' sign shares make a group signature.
    /// @param epoch 1 at the first registration, one more at each re-registration.
    /// @param since The first sequence of the cluster's chain signed under this key.
    /// @param members The member fog nodes, in share-index order: `members[i]` holds share i + 1.
    struct FogCluster {
        bytes groupKey;
        uint8 threshold;
        uint32 epoch;
        uint64 since;
        DeviceId[] members;
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
    /// @notice `gateway` already anchored `root` (anchors are write-once per gateway and root).
    error DataAnchorRootExists(DeviceId gateway, bytes32 root);
    /// @notice `gateway` is a fog cluster: its chain grows only by group-signed batches.
    error DataAnchorIsFogCluster(DeviceId gateway);
    /// @notice `cluster` is not a registered fog cluster.
    error DataAnchorUnknownFogCluster(DeviceId cluster);
    /// @notice `node` (a fog cluster or one of its members) is not of kind FogNode.
    error DataAnchorNotFogNode(DeviceId node, IDeviceRegistry.Kind kind);
    /// @notice `gateway` anchored alone before: it cannot become a fog cluster.
    error DataAnchorGatewayHasAnchors(DeviceId gateway, uint64 head);
    /// @notice A cluster takes 1 to 64 members and a threshold in [1, members].
    error DataAnchorInvalidThreshold(uint256 threshold, uint256 members);
    /// @notice `member` is listed twice.
    error DataAnchorDuplicateMember(DeviceId member);
    /// @notice A fog cluster cannot be one of its own members.
    error DataAnchorFogClusterIsMember(DeviceId cluster);
    /// @notice One approval per member is needed, in the members' order.
    error DataAnchorApprovalCountMismatch(uint256 members, uint256 approvals);
    /// @notice `member`'s approval is not signed by its registered key `expected`.
    error DataAnchorInvalidApproval(DeviceId member, address expected, address recovered);
    /// @notice The proof of possession of `cluster`'s group key does not verify.
    error DataAnchorInvalidPossessionProof(DeviceId cluster);
    /// @notice The group key's code store could not be created.
    error DataAnchorKeyStoreFailed(DeviceId cluster);
    /// @notice The group signature is not `cluster`'s over its batch number `sequence`.
    error DataAnchorInvalidGroupSignature(DeviceId cluster, uint64 sequence);

    // ----------------------------------------------------------------- events

    /// @notice `gateway` anchored `root`, the `sequence`-th anchor of its chain, over `leafCount`
    /// leaves; the anchor's time is the block's timestamp (also in `anchorOf`).
    event Anchored(DeviceId indexed gateway, uint64 indexed sequence, bytes32 root, uint64 leafCount);

    /// @notice `cluster`'s group key, threshold and members were set for its `epoch`-th key
    /// (epoch 1: its registration); batches from sequence `since` on are signed under this key.
    event FogClusterRegistered(
        DeviceId indexed cluster,
        uint32 indexed epoch,
        uint64 since,
        uint8 threshold,
        DeviceId[] members,
        bytes groupKey
    );

    // -------------------------------------------------------------- actions

    /// @notice The block this contract was deployed in: where its event log starts, so a reader
    /// never scans the chain before it (every node answers it at the latest block, archive or not).
    function deployedAt() external view returns (uint256);

    /// @notice Anchors `root`, the Merkle root of a batch of `leafCount` block hashes, as the next
    /// link of `gateway`'s chain.
    /// @dev The caller must be the gateway's registered device key; the gateway must be Active and
    /// of a kind other than Device, as the registry says when the anchor runs
    /// (`IDeviceRegistry.keyKindStatusOf`, read on every anchor). Refuses the zero root, a zero leaf
    /// count, a root this gateway already anchored and a fog cluster (whose batches need its group signature).
    /// @return sequence The anchor's position in the gateway's chain, from 1.
    function anchor(DeviceId gateway, bytes32 root, uint64 leafCount) external returns (uint64 sequence);

    /// @notice Registers `cluster` as a fog cluster, or re-registers it with a new key, threshold
    /// or membership (after a fresh DKG): the next epoch of its key.
    /// @dev The caller must be `cluster`'s registered key; `cluster` must be an Active FogNode that
    /// never anchored alone (`anchor`). Every member must be an Active FogNode other than `cluster`,
    /// listed once, in share-index order, and sign `fogClusterDigest` for the new epoch with its
    /// registered key (`approvals[i]` for `members[i]`; compact EIP-2098 signatures), so no fog
    /// node is listed without its consent and an old approval cannot be replayed. `proof` is a
    /// proof of possession of `groupKey` (`BLSSignatures.verifyPossession`: a signature under the
    /// POP tag of the key's compressed encoding, combined from t sign shares), which keeps a rogue
    /// key out. Malformed keys and proofs revert with `BLS12381`'s errors.
    /// @param groupKey The group public key C0 = s·G2 (256-byte EIP-2537 encoding).
    /// @param threshold t, in [1, members.length]; at most 64 members.
    /// @return epoch The key's epoch (1 at registration).
    function registerFogCluster(
        DeviceId cluster,
        bytes calldata groupKey,
        uint8 threshold,
        DeviceId[] calldata members,
        bytes calldata proof,
        IDeviceRegistry.Signature[] calldata approvals
    ) external returns (uint32 epoch);

    /// @notice Anchors `root`, the Merkle root of a batch of `leafCount` readings, as the next link
    /// of fog cluster `cluster`'s chain, endorsed by `groupSignature`.
    /// @dev Anyone may send it. `groupSignature` (a G1 point, 128-byte EIP-2537 encoding) must be
    /// the cluster's group signature of `fogBatchDigest(cluster, head(cluster) + 1, root,
    /// leafCount)` under the min-sig POP ciphersuite tag (`BLSSignatures.DST_POP_SCHEME`), and the
    /// cluster must be Active in the registry when the batch is anchored. Refuses the zero root, a
    /// zero leaf count and a root this cluster already anchored, as `anchor` does (a root a gateway
    /// or a member anchored is no obstacle). A malformed signature reverts
    /// with `BLS12381`'s errors, a well-formed wrong one with `DataAnchorInvalidGroupSignature`.
    /// @return sequence The batch's position in the cluster's chain.
    function anchorFogBatch(
        DeviceId cluster,
        bytes32 root,
        uint64 leafCount,
        bytes calldata groupSignature
    ) external returns (uint64 sequence);

    // ---------------------------------------------------------------- views

    /// @notice True iff `gateway` (a gateway or a fog cluster) anchored `root` and `proof` proves the
    /// reading whose once-hashed leaf is `valuesHash` in it. A root anchored by another gateway does
    /// not count.
    /// @dev `valuesHash` is `keccak256(abi.encode(values...))` of the StandardMerkleTree leaf (for a
    /// block or reading hash h: `keccak256(h)`); the contract hashes it the last time itself, so the
    /// leaf is `keccak256(bytes.concat(valuesHash))` and no inner node, nor the root with an empty
    /// proof, passes as a reading (that would take a 32-byte keccak256 preimage of it). `proof` is the
    /// list of siblings, leaf to root (`MerkleProof`, sorted-pair keccak256), and is at most
    /// ceil(log2 leafCount) long, the depth of the deepest leaf of the complete tree of the anchored
    /// leaf count.
    function verifyReading(
        DeviceId gateway,
        bytes32 root,
        bytes32 valuesHash,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice True iff `gateway` (a gateway or a fog cluster) anchored `root`.
    function isAnchored(DeviceId gateway, bytes32 root) external view returns (bool);

    /// @notice `gateway`'s record of `root` (all zero when `gateway` did not anchor it; its
    /// `gateway` field is then zero too, and otherwise `gateway`).
    function anchorOf(DeviceId gateway, bytes32 root) external view returns (AnchorRecord memory);

    /// @notice The sequence number of `gateway`'s last anchor (0 before the first): the length of
    /// its chain. That anchor's root is in the `Anchored` event indexed by (`gateway`, `sequence`).
    function head(DeviceId gateway) external view returns (uint64 sequence);

    /// @notice The registry that authenticates gateways.
    function registry() external view returns (IDeviceRegistry);

    /// @notice `cluster`'s key, threshold, epoch and members (empty when it is not a fog cluster).
    function fogCluster(DeviceId cluster) external view returns (FogCluster memory);

    /// @notice The 32-byte message a fog cluster's members sign for the `sequence`-th batch of
    /// `cluster`: the EIP-712 digest of `FogBatch(bytes32 cluster,uint64 sequence,bytes32
    /// root,uint64 leafCount)` in the domain ("Strata DataAnchor", "1", chain id, this contract).
    function fogBatchDigest(
        DeviceId cluster,
        uint64 sequence,
        bytes32 root,
        uint64 leafCount
    ) external view returns (bytes32);

    /// @notice The digest each member's key signs (secp256k1) to approve `cluster`'s key of
    /// `epoch`: the EIP-712 digest of `FogCluster(bytes32 cluster,bytes groupKey,uint8
    /// threshold,bytes32[] members,uint32 epoch)` in the same domain.
    function fogClusterDigest(
        DeviceId cluster,
        bytes calldata groupKey,
        uint8 threshold,
        DeviceId[] calldata members,
        uint32 epoch
    ) external view returns (bytes32);
}
