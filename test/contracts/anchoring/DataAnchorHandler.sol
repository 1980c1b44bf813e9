// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// The city both DataAnchor test files build, and the handler of the invariant tests. The city is a
// real DeviceRegistry whose admin and edge-layer operator is the contract building it: three
// coordination nodes, four gateways admitted with k = 2 approvals (two base stations, a fog node,
// an edge node), an Active node of kind Device and a Pending base station, plus a DataAnchor over
// that registry. The handler anchors from random candidates (gateways, the Device node, the pending
// gateway, a coordinator, an unknown id) with random senders (the candidate's key, another
// device's key, a stranger), roots (each a one-leaf tree's, whose reading the handler keeps; fresh,
// from a small pool, already anchored by any gateway or the
// cluster, zero) and leaf
// counts (zero included). It predicts every outcome, success with the next sequence or the exact
// custom error, from the registry's `getDevice` (not from `keyKindStatusOf`) and its own ghost chains, and
// counts each disagreement. Between anchors it suspends and blocks gateways through misbehaviour
// reports, reinstates suspended ones with k approvals, revokes one now and then and warps time.
//
// Fog clusters (seed 004): the city also holds a fog cluster (kind FogNode) registered with a group
// key of a known secret, approved by its two member fog nodes. Keys and signatures are made here
// through the EIP-2537 precompiles: a t-of-n group signature is s·H(m) whichever t members made
// it, so signing with s stands for any t members (the mocha tests combine real shares). The handler
// anchors fog batches signed with the cluster's key, with another key or for another sequence,
// predicts each outcome, and tries plain anchors for the cluster, which must fail.

import {DataAnchor} from "../../../contracts/anchoring/DataAnchor.sol";
import {IDataAnchor} from "../../../contracts/interfaces/IDataAnchor.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {BLS12381} from "../../../contracts/libraries/BLS12381.sol";
import {BLSSignatures} from "../../../contracts/libraries/BLSSignatures.sol";
import {DeviceId, DeviceIds} from "../../../contracts/libraries/DeviceIds.sol";
import {RegistryTestBase} from "../registry/DeviceRegistryHandler.sol";

/// @dev The anchoring city: a registry, its gateways and a DataAnchor.
abstract contract AnchorCity is RegistryTestBase {
    address internal constant STRANGER = address(0x5757);
    /// @dev The fog cluster's group secret, and another one no member holds.
    uint256 internal constant FOG_SECRET = uint256(keccak256("strata.test.anchor.fog.secret")) % BLS12381.R;
    uint256 internal constant OTHER_SECRET = uint256(keccak256("strata.test.anchor.fog.other")) % BLS12381.R;

    DeviceRegistry internal registry;
    DataAnchor internal dataAnchor;

    DeviceId[] internal _coords;
    /// @dev Active at the start: two base stations, a fog node, an edge node.
    DeviceId[] internal _gateways;
    /// @dev Active, kind Device: never a gateway.
    DeviceId internal _deviceNode;
    /// @dev A base station never admitted.
    DeviceId internal _pendingGateway;
    uint256 internal _nonce;
    /// @dev The fog cluster (an Active FogNode, registered by `_buildFogCluster`) and its members.
    DeviceId internal _cluster;
    DeviceId[] internal _fogMembers;
    uint256[] internal _fogMemberKeys;

    /// @dev Builds the city on `registry` (whose admin the caller must be) and deploys nothing.
    function _buildCity() internal {
        registry.setLayerOperator(LAYER, address(this));
        for (uint256 i; i < 3; ++i) {
            DeviceId c = _register(IDeviceRegistry.Kind.Device, IDeviceRegistry.Label.Coordination);
            registry.appointCoordinator(c);
            _coords.push(c);
        }
        _gateways.push(_admitted(IDeviceRegistry.Kind.BaseStation));
        _gateways.push(_admitted(IDeviceRegistry.Kind.BaseStation));
        _gateways.push(_admitted(IDeviceRegistry.Kind.FogNode));
        _gateways.push(_admitted(IDeviceRegistry.Kind.EdgeNode));
        _deviceNode = _admitted(IDeviceRegistry.Kind.Device);
        _pendingGateway = _register(IDeviceRegistry.Kind.BaseStation, IDeviceRegistry.Label.Full);
    }

    function _register(IDeviceRegistry.Kind kind, IDeviceRegistry.Label label) internal returns (DeviceId id) {
        (id, ) = _registerKeyed(kind, label);
    }

    /// @dev `_register`, returning the device key's private key too.
    function _registerKeyed(
        IDeviceRegistry.Kind kind,
        IDeviceRegistry.Label label
    ) internal returns (DeviceId id, uint256 pk) {
        pk = _pk(uint256(keccak256(abi.encode("strata.test.anchor", ++_nonce))));
        IDeviceRegistry.Registration memory req = _request(
            bytes32(_nonce),
            vm.addr(pk),
            label,
            uint64(block.timestamp + 1 days)
        );
        req.kind = uint8(kind);
        id = _registerSigned(registry, req, pk, address(this));
    }

    /// @dev A full node of `kind`, admitted by two coordinators.
    function _admitted(IDeviceRegistry.Kind kind) internal returns (DeviceId id) {
        id = _register(kind, IDeviceRegistry.Label.Full);
        _approve(_coords[0], id);
        _approve(_coords[1], id);
    }

    /// @dev Admits a cluster and two member fog nodes, and registers the cluster with the key of
    /// `FOG_SECRET` (threshold 2 of 2 as recorded).
    function _buildFogCluster() internal {
        _cluster = _admitted(IDeviceRegistry.Kind.FogNode);
        for (uint256 i; i < 2; ++i) {
            (DeviceId member, uint256 pk) = _registerKeyed(IDeviceRegistry.Kind.FogNode, IDeviceRegistry.Label.Full);
            _approve(_coords[0], member);
            _approve(_coords[1], member);
            _fogMembers.push(member);
            _fogMemberKeys.push(pk);
        }
        _registerFogCluster(FOG_SECRET, FOG_SECRET);
    }

    /// @dev The cluster's key becomes that of `secret`, with a proof of possession made with
    /// `proofSecret` (the same secret for a valid proof), every member approving.
    function _registerFogCluster(uint256 secret, uint256 proofSecret) internal returns (uint32 epoch) {
        bytes memory key = _groupKey(secret);
        bytes memory proof = _blsSign(proofSecret, BLS12381.compressG2(key), BLSSignatures.DST_POP_PROOF);
        uint32 next = dataAnchor.fogCluster(_cluster).epoch + 1;
        bytes32 digest = dataAnchor.fogClusterDigest(_cluster, key, 2, _fogMembers, next);
        IDeviceRegistry.Signature[] memory approvals = new IDeviceRegistry.Signature[](2);
        for (uint256 i; i < 2; ++i) approvals[i] = _sign(_fogMemberKeys[i], digest);
        vm.prank(registry.keyOf(_cluster));
        return dataAnchor.registerFogCluster(_cluster, key, 2, _fogMembers, proof, approvals);
    }

    /// @dev secret·G2 (EIP-2537 encoding), as (r - secret)·(-G2) with one G2MSM.
    function _groupKey(uint256 secret) internal view returns (bytes memory key) {
        uint256 input = BLS12381.allocate(288);
        BLS12381.storeNegG2Generator(input);
        uint256 scalar = BLS12381.R - (secret % BLS12381.R);
        key = new bytes(256);
        bool ok;
        assembly ("memory-safe") {
            mstore(add(input, 256), scalar)
            ok := staticcall(gas(), 0x0e, input, 288, add(key, 0x20), 256)
        }
        _check(ok, "G2MSM");
    }

    /// @dev The min-sig BLS signature secret·H(message) under `dst`.
    function _blsSign(uint256 secret, bytes memory message, bytes memory dst) internal view returns (bytes memory) {
        return BLS12381.g1Mul(BLS12381.hashToG1(message, dst), secret);
    }

    /// @dev The group signature by `secret` of `cluster`'s batch (`sequence`, `root`, `leafCount`).
    function _signBatch(
        uint256 secret,
        DeviceId cluster,
        uint64 sequence,
        bytes32 root,
        uint64 leafCount
    ) internal view returns (bytes memory) {
        bytes32 digest = dataAnchor.fogBatchDigest(cluster, sequence, root, leafCount);
        return _blsSign(secret, abi.encodePacked(digest), BLSSignatures.DST_POP_SCHEME);
    }

    /// @dev What `anchorFogBatch(_cluster, root, leafCount, ·)` must revert with, its signature being
    /// the cluster's over its next batch (`validSignature`) or not (empty: it must succeed).
    function _expectedFogRevert(
        bytes32 root,
        uint64 leafCount,
        bool validSignature
    ) internal view returns (bytes memory) {
        if (root == bytes32(0)) return abi.encodeWithSelector(IDataAnchor.DataAnchorZeroRoot.selector, _cluster);
        if (leafCount == 0) return abi.encodeWithSelector(IDataAnchor.DataAnchorZeroLeafCount.selector, root);
        if (dataAnchor.anchorOf(_cluster, root).sequence != 0) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorRootExists.selector, _cluster, root);
        }
        IDeviceRegistry.Status status = registry.getDevice(_cluster).status;
        if (status != IDeviceRegistry.Status.Active) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorGatewayNotActive.selector, _cluster, status);
        }
        if (!validSignature) {
            return
                abi.encodeWithSelector(
                    IDataAnchor.DataAnchorInvalidGroupSignature.selector,
                    _cluster,
                    dataAnchor.head(_cluster) + 1
                );
        }
        return "";
    }

    function _approve(DeviceId coordinator, DeviceId id) internal {
        vm.prank(registry.keyOf(coordinator));
        registry.approve(coordinator, id, DeviceIds.NONE);
    }

    /// @dev What `anchor(gateway, root, leafCount)` sent by `sender` must revert with, judged from
    /// `getDevice` (empty: it must succeed).
    function _expectedRevert(
        DeviceId gateway,
        bytes32 root,
        uint64 leafCount,
        address sender
    ) internal view returns (bytes memory) {
        if (root == bytes32(0)) return abi.encodeWithSelector(IDataAnchor.DataAnchorZeroRoot.selector, gateway);
        if (leafCount == 0) return abi.encodeWithSelector(IDataAnchor.DataAnchorZeroLeafCount.selector, root);
        if (dataAnchor.anchorOf(gateway, root).sequence != 0) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorRootExists.selector, gateway, root);
        }
        IDeviceRegistry.DeviceView memory d = registry.getDevice(gateway);
        if (d.key != sender) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorUnauthorizedKey.selector, gateway, sender);
        }
        if (d.status != IDeviceRegistry.Status.Active) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorGatewayNotActive.selector, gateway, d.status);
        }
        if (d.kind == IDeviceRegistry.Kind.Device) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorNotGateway.selector, gateway, d.kind);
        }
        if (dataAnchor.fogCluster(gateway).threshold != 0) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorIsFogCluster.selector, gateway);
        }
        return "";
    }
}

contract DataAnchorHandler is AnchorCity {
    /// @dev One accepted anchor: who anchored which root.
    struct Link {
        DeviceId gateway;
        bytes32 root;
    }

    /// @dev What the handler saw accepted for one root of one gateway.
    struct Ghost {
        DeviceId gateway;
        uint64 sequence;
        uint64 time;
        uint64 leafCount;
    }

    uint256 internal constant POOL = 8;

    mapping(DeviceId gateway => mapping(bytes32 root => Ghost)) internal _ghosts;
    mapping(DeviceId gateway => bytes32[] roots) internal _chains;
    /// @dev Every root this handler makes is a one-leaf tree's: root = keccak256(reading).
    mapping(bytes32 root => bytes32 reading) internal _readings;
    Link[] internal _anchored;

    /// @dev An anchor succeeded where it had to fail, failed with another error than the rules
    /// say, or returned another sequence than the gateway's chain length + 1.
    uint256 public mismatches;
    uint256 public accepted;
    uint256 public refused;
    uint256 public suspensions;
    uint256 public reinstatements;
    /// @dev Fog batches accepted (all with the cluster's group signature) and refused as predicted.
    uint256 public fogAccepted;
    uint256 public fogRefused;

    constructor(DeviceRegistry registry_, DataAnchor anchor_) {
        registry = registry_;
        dataAnchor = anchor_;
    }

    /// @notice Takes over the registry as its admin and builds the city and its fog cluster.
    function bootstrap() external {
        registry.acceptOwnership();
        _buildCity();
        _buildFogCluster();
    }

    // ------------------------------------------------------------- views for invariants

    /// @notice Every id the handler anchors from: gateways, the Device node, the pending gateway,
    /// a coordinator, an unknown id and the fog cluster.
    function candidates() public view returns (DeviceId[] memory all) {
        uint256 n = _gateways.length;
        all = new DeviceId[](n + 5);
        for (uint256 i; i < n; ++i) all[i] = _gateways[i];
        all[n] = _deviceNode;
        all[n + 1] = _pendingGateway;
        all[n + 2] = _coords[0];
        all[n + 3] = DeviceId.wrap(keccak256("strata.test.anchor.unknown"));
        all[n + 4] = _cluster;
    }

    function cluster() external view returns (DeviceId) {
        return _cluster;
    }

    function chainOf(DeviceId gateway) external view returns (bytes32[] memory) {
        return _chains[gateway];
    }

    function anchored() external view returns (Link[] memory) {
        return _anchored;
    }

    function ghostOf(DeviceId gateway, bytes32 root) external view returns (Ghost memory) {
        return _ghosts[gateway][root];
    }

    /// @notice The fixed roots every run draws from, anchored or not: each is the root of a one-leaf
    /// tree, the leaf keccak256 of the reading `poolReading(i)` (its once-hashed leaf).
    function pool(uint256 i) public pure returns (bytes32) {
        return keccak256(abi.encode(poolReading(i)));
    }

    /// @notice The once-hashed leaf (what `verifyReading` takes) of pool root `i`'s one reading.
    function poolReading(uint256 i) public pure returns (bytes32) {
        return keccak256(abi.encode("strata.test.anchor.pool", i));
    }

    /// @notice The once-hashed leaf of the one reading of a root this handler made (zero: none).
    function readingOf(bytes32 root) external view returns (bytes32) {
        return _readings[root];
    }

    // ------------------------------------------------------------------ actions

    function anchor(uint256 who, uint256 rootSeed, uint64 leafCount, uint256 senderSeed) external {
        DeviceId[] memory all = candidates();
        DeviceId gateway = all[who % all.length];
        bytes32 root = _root(rootSeed);
        if (senderSeed % 8 == 0) leafCount = 0;
        address sender = registry.keyOf(gateway);
        if (senderSeed % 4 == 3) sender = registry.keyOf(all[(senderSeed >> 2) % all.length]);
        if (sender == address(0)) sender = STRANGER;

        bytes memory expected = _expectedRevert(gateway, root, leafCount, sender);
        vm.prank(sender);
        try dataAnchor.anchor(gateway, root, leafCount) returns (uint64 sequence) {
            bytes32[] storage chain = _chains[gateway];
            if (expected.length != 0 || sequence != chain.length + 1) {
                mismatches++;
                return;
            }
            chain.push(root);
            _anchored.push(Link(gateway, root));
            _ghosts[gateway][root] = Ghost(gateway, sequence, uint64(block.timestamp), leafCount);
            accepted++;
        } catch (bytes memory reason) {
            if (expected.length == 0 || keccak256(reason) != keccak256(expected)) mismatches++;
            else refused++;
        }
    }

    /// @notice Anchors a fog batch of the cluster, signed with the cluster's key over its next
    /// sequence (half the calls), with another key, or over the sequence after the next.
    function anchorFog(uint256 rootSeed, uint64 leafCount, uint256 sigSeed) external {
        bytes32 root = _root(rootSeed);
        if (sigSeed % 8 == 0) leafCount = 0;
        uint64 next = uint64(_chains[_cluster].length + 1);
        uint256 pick = (sigSeed >> 3) % 4;
        bytes memory signature = _signBatch(
            pick == 2 ? OTHER_SECRET : FOG_SECRET,
            _cluster,
            pick == 3 ? next + 1 : next,
            root,
            leafCount
        );
        bytes memory expected = _expectedFogRevert(root, leafCount, pick < 2);
        vm.prank(STRANGER); // anyone may submit
        try dataAnchor.anchorFogBatch(_cluster, root, leafCount, signature) returns (uint64 sequence) {
            if (expected.length != 0 || sequence != next) {
                mismatches++;
                return;
            }
            _chains[_cluster].push(root);
            _anchored.push(Link(_cluster, root));
            _ghosts[_cluster][root] = Ghost(_cluster, sequence, uint64(block.timestamp), leafCount);
            fogAccepted++;
        } catch (bytes memory reason) {
            if (expected.length == 0 || keccak256(reason) != keccak256(expected)) mismatches++;
            else fogRefused++;
        }
    }

    /// @notice A coordinator that has not reported the gateway (or the cluster) in its trust case
    /// reports it (two reports suspend a fresh gateway, a third blocks it).
    function punish(uint256 who, uint256 reporterSeed) external {
        DeviceId gateway = _target(who);
        IDeviceRegistry.Status status = registry.statusOf(gateway);
        if (status != IDeviceRegistry.Status.Active && status != IDeviceRegistry.Status.Suspended) return;
        uint256 n = _coords.length;
        for (uint256 i; i < n; ++i) {
            DeviceId reporter = _coords[((reporterSeed % n) + i) % n];
            if (registry.hasReported(gateway, reporter)) continue;
            vm.prank(registry.keyOf(reporter));
            registry.report(reporter, gateway, keccak256(abi.encode("evidence", reporterSeed)));
            if (status == IDeviceRegistry.Status.Active && registry.statusOf(gateway) != status) suspensions++;
            return;
        }
    }

    /// @notice Coordinators approve a suspended gateway until it is Active again.
    function reinstate(uint256 who) external {
        DeviceId gateway = _target(who);
        for (uint256 i; i < _coords.length; ++i) {
            if (registry.statusOf(gateway) != IDeviceRegistry.Status.Suspended) break;
            vm.prank(registry.keyOf(_coords[i]));
            try registry.approve(_coords[i], gateway, DeviceIds.NONE) {} catch {} // already approved
        }
        if (registry.statusOf(gateway) == IDeviceRegistry.Status.Active) reinstatements++;
    }

    /// @notice Now and then (1 call in 16) the owner revokes a gateway for good.
    function revoke(uint256 who) external {
        if (who % 16 != 0) return;
        DeviceId gateway = _target(who >> 4);
        if (registry.statusOf(gateway) == IDeviceRegistry.Status.Revoked) return;
        registry.revoke(gateway);
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 2 hours));
    }

    // ------------------------------------------------------------------ helpers

    /// @dev A gateway or the fog cluster, for the registry's moves.
    function _target(uint256 who) internal view returns (DeviceId) {
        uint256 i = who % (_gateways.length + 1);
        return i == _gateways.length ? _cluster : _gateways[i];
    }

    /// @dev Zero (1 in 16), a pool root, a root already anchored (by any gateway or the cluster), or
    /// a fresh one.
    function _root(uint256 seed) internal returns (bytes32 root) {
        if (seed % 16 == 0) return bytes32(0);
        uint256 pick = seed % 4;
        if (pick == 2 && _anchored.length != 0) return _anchored[(seed >> 8) % _anchored.length].root;
        bytes32 reading =
            pick == 1 ? poolReading((seed >> 8) % POOL) : keccak256(abi.encode("strata.test.anchor.fresh", ++_nonce));
        root = keccak256(abi.encode(reading));
        _readings[root] = reading;
    }
}
