// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// The city both DataAnchor test files build, and the handler of the invariant tests. The city is a
// real DeviceRegistry whose admin and edge-layer operator is the contract building it: three
// coordination nodes, four gateways admitted with k = 2 approvals (two base stations, a fog node,
// an edge node), an Active node of kind Device and a Pending base station, plus a DataAnchor over
// that registry. The handler anchors from random candidates (gateways, the Device node, the pending
// gateway, a coordinator, an unknown id) with random senders (the candidate's key, another
// device's key, a stranger), roots (fresh, from a small pool, already anchored, zero) and leaf
// counts (zero included). It predicts every outcome, success with the next sequence or the exact
// custom error, from the registry's `getDevice` (not from `keyKindStatusOf`) and its own ghost chains, and
// counts each disagreement. Between anchors it suspends and blocks gateways through misbehaviour
// reports, reinstates suspended ones with k approvals, revokes one now and then and warps time.

import {DataAnchor} from "../../../contracts/anchoring/DataAnchor.sol";
import {IDataAnchor} from "../../../contracts/interfaces/IDataAnchor.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {DeviceId, DeviceIds} from "../../../contracts/libraries/DeviceIds.sol";
import {RegistryTestBase} from "../registry/DeviceRegistryHandler.sol";

/// @dev The anchoring city: a registry, its gateways and a DataAnchor.
abstract contract AnchorCity is RegistryTestBase {
    address internal constant STRANGER = address(0x5757);

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
        uint256 pk = _pk(uint256(keccak256(abi.encode("strata.test.anchor", ++_nonce))));
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
        if (dataAnchor.anchorOf(root).sequence != 0) {
            return abi.encodeWithSelector(IDataAnchor.DataAnchorRootExists.selector, root);
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
        return "";
    }
}

contract DataAnchorHandler is AnchorCity {
    /// @dev What the handler saw accepted for one root.
    struct Ghost {
        DeviceId gateway;
        uint64 sequence;
        uint64 time;
        uint64 leafCount;
    }

    uint256 internal constant POOL = 8;

    mapping(bytes32 root => Ghost) internal _ghosts;
    mapping(DeviceId gateway => bytes32[] roots) internal _chains;
    bytes32[] internal _anchored;

    /// @dev An anchor succeeded where it had to fail, failed with another error than the rules
    /// say, or returned another sequence than the gateway's chain length + 1.
    uint256 public mismatches;
    uint256 public accepted;
    uint256 public refused;
    uint256 public suspensions;
    uint256 public reinstatements;

    constructor(DeviceRegistry registry_, DataAnchor anchor_) {
        registry = registry_;
        dataAnchor = anchor_;
    }

    /// @notice Takes over the registry as its admin and builds the city.
    function bootstrap() external {
        registry.acceptOwnership();
        _buildCity();
    }

    // ------------------------------------------------------------- views for invariants

    /// @notice Every id the handler anchors from: gateways, the Device node, the pending gateway,
    /// a coordinator and an unknown id.
    function candidates() public view returns (DeviceId[] memory all) {
        uint256 n = _gateways.length;
        all = new DeviceId[](n + 4);
        for (uint256 i; i < n; ++i) all[i] = _gateways[i];
        all[n] = _deviceNode;
        all[n + 1] = _pendingGateway;
        all[n + 2] = _coords[0];
        all[n + 3] = DeviceId.wrap(keccak256("strata.test.anchor.unknown"));
    }

    function chainOf(DeviceId gateway) external view returns (bytes32[] memory) {
        return _chains[gateway];
    }

    function anchored() external view returns (bytes32[] memory) {
        return _anchored;
    }

    function ghostOf(bytes32 root) external view returns (Ghost memory) {
        return _ghosts[root];
    }

    /// @notice The fixed roots every run draws from, anchored or not.
    function pool(uint256 i) public pure returns (bytes32) {
        return keccak256(abi.encode("strata.test.anchor.pool", i));
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
            _anchored.push(root);
            _ghosts[root] = Ghost(gateway, sequence, uint64(block.timestamp), leafCount);
            accepted++;
        } catch (bytes memory reason) {
            if (expected.length == 0 || keccak256(reason) != keccak256(expected)) mismatches++;
            else refused++;
        }
    }

    /// @notice A coordinator that has not reported the gateway in this epoch reports it (two
    /// reports suspend a fresh gateway, a third blocks it).
    function punish(uint256 who, uint256 reporterSeed) external {
        DeviceId gateway = _gateways[who % _gateways.length];
        IDeviceRegistry.Status status = registry.statusOf(gateway);
        if (status != IDeviceRegistry.Status.Active && status != IDeviceRegistry.Status.Suspended) return;
        uint64 epoch = registry.currentEpoch();
        uint256 n = _coords.length;
        for (uint256 i; i < n; ++i) {
            DeviceId reporter = _coords[((reporterSeed % n) + i) % n];
            if (registry.hasReported(gateway, reporter, epoch)) continue;
            vm.prank(registry.keyOf(reporter));
            registry.report(reporter, gateway, keccak256(abi.encode("evidence", reporterSeed)));
            if (status == IDeviceRegistry.Status.Active && registry.statusOf(gateway) != status) suspensions++;
            return;
        }
    }

    /// @notice Coordinators approve a suspended gateway until it is Active again.
    function reinstate(uint256 who) external {
        DeviceId gateway = _gateways[who % _gateways.length];
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
        DeviceId gateway = _gateways[(who >> 4) % _gateways.length];
        if (registry.statusOf(gateway) == IDeviceRegistry.Status.Revoked) return;
        registry.revoke(gateway);
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 2 hours));
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Zero (1 in 16), a pool root, a root already anchored, or a fresh one.
    function _root(uint256 seed) internal returns (bytes32) {
        if (seed % 16 == 0) return bytes32(0);
        uint256 pick = seed % 4;
        if (pick == 1) return pool((seed >> 8) % POOL);
        if (pick == 2 && _anchored.length != 0) return _anchored[(seed >> 8) % _anchored.length];
        return keccak256(abi.encode("strata.test.anchor.fresh", ++_nonce));
    }
}
