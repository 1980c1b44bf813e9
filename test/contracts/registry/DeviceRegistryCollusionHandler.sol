// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Handler for the collusion invariants (DeviceRegistryCollusionInvariants.t.sol): a bounded set of
// colluding reporters attacks honest devices. The colluders are `cohorts` independent identities
// — one coordination node and `cohorts - 1` full nodes, all legitimately admitted — helped by the
// layer operator (the handler itself), which registers as many lightweight "sybil" nodes as the
// fuzzer likes for the colluding coordinator to admit. They report the honest targets (a
// lightweight device, a full node, a coordination node) in any order, at any time; honest
// coordinators reinstate suspended targets (k approvals, or the admin for a coordination node) so
// that the attack can go on, and the colluding coordinator approves whatever it can. The ghost
// state counts how often a target was seen Suspended or Blocked.

import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceId, DeviceIds} from "../../../contracts/libraries/DeviceIds.sol";
import {RegistryTestBase} from "./DeviceRegistryHandler.sol";

contract DeviceRegistryCollusionHandler is RegistryTestBase {
    uint256 internal constant MAX_SYBILS = 12;

    DeviceRegistry public immutable registry;
    uint256 public immutable cohorts;

    DeviceId[] internal _honestCoords;
    DeviceId internal _serving; // an honest full node that serves the lightweight devices
    DeviceId public evilCoord;
    DeviceId[] internal _evilFulls;
    DeviceId[] internal _sybils;
    DeviceId[] internal _targets;
    uint256 internal _keys;
    uint256 internal _locals;

    uint256 public suspensions;
    uint256 public blocks;
    uint256 public reportsAccepted;
    uint256 public reinstatements;

    /// @param registry_ A registry whose ownership is being handed to this handler.
    /// @param cohorts_ How many independent colluders (>= 1): one coordinator + full nodes.
    constructor(DeviceRegistry registry_, uint256 cohorts_) {
        registry = registry_;
        cohorts = cohorts_;
    }

    function bootstrap() external {
        registry.acceptOwnership();
        registry.setLayerOperator(LAYER, address(this));
        for (uint256 i; i < 3; ++i) _honestCoords.push(_appointed());
        _serving = _full();
        evilCoord = _appointed();
        for (uint256 i = 1; i < cohorts; ++i) _evilFulls.push(_full());
        _targets.push(_light());
        _targets.push(_full());
        _targets.push(_appointed());
    }

    function targets() external view returns (DeviceId[] memory) {
        return _targets;
    }

    // ------------------------------------------------------------------ actions

    /// @notice The colluding operator and coordinator mint one more lightweight reporter.
    function mintSybil(uint256) external {
        if (_sybils.length >= MAX_SYBILS || registry.statusOf(evilCoord) != IDeviceRegistry.Status.Active) return;
        _beat();
        DeviceId s = _register(IDeviceRegistry.Label.Lightweight);
        _approve(evilCoord, s, _serving);
        _sybils.push(s);
    }

    /// @notice A colluder (the coordinator, a full node or a sybil) reports a target.
    function report(uint256 reporterSeed, uint256 targetSeed, bytes32 evidence) external {
        uint256 n = 1 + _evilFulls.length + _sybils.length;
        uint256 r = reporterSeed % n;
        DeviceId reporter =
            r == 0 ? evilCoord : (r <= _evilFulls.length ? _evilFulls[r - 1] : _sybils[r - 1 - _evilFulls.length]);
        DeviceId target = _targets[targetSeed % _targets.length];
        vm.prank(registry.keyOf(reporter));
        try registry.report(reporter, target, evidence) {
            reportsAccepted++;
        } catch {}
        _observe();
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + _bound(dt, 1, 2 * uint256(registry.config().epochLength)));
        _beat();
    }

    /// @notice Honest coordinators (and the colluding one, half of the time) reinstate a suspended
    /// target; the admin re-appoints a suspended coordination node.
    function reinstate(uint256 targetSeed, bool withEvil) external {
        DeviceId target = _targets[targetSeed % _targets.length];
        IDeviceRegistry.DeviceView memory d = registry.getDevice(target);
        if (d.status != IDeviceRegistry.Status.Suspended) return;
        _beat();
        if (d.label == IDeviceRegistry.Label.Coordination) {
            registry.appointCoordinator(target);
        } else {
            DeviceId serving = d.label == IDeviceRegistry.Label.Lightweight ? _serving : DeviceIds.NONE;
            uint256 k = registry.config().fullNodeApprovals;
            for (uint256 i; i < k; ++i) {
                DeviceId c = (withEvil && i == 0) ? evilCoord : _honestCoords[i];
                if (registry.statusOf(c) != IDeviceRegistry.Status.Active) c = _honestCoords[2];
                _approve(c, target, serving);
            }
        }
        reinstatements++;
        _observe();
    }

    // ---------------------------------------------------------------- internals

    function _observe() internal {
        for (uint256 i; i < _targets.length; ++i) {
            IDeviceRegistry.Status s = registry.statusOf(_targets[i]);
            if (s == IDeviceRegistry.Status.Suspended) suspensions++;
            if (s == IDeviceRegistry.Status.Blocked) blocks++;
        }
    }

    function _beat() internal {
        if (registry.statusOf(_serving) == IDeviceRegistry.Status.Active) {
            vm.prank(registry.keyOf(_serving));
            registry.heartbeat(_serving);
        }
    }

    function _approve(DeviceId c, DeviceId id, DeviceId serving) internal {
        vm.prank(registry.keyOf(c));
        registry.approve(c, id, serving);
    }

    function _register(IDeviceRegistry.Label label) internal returns (DeviceId id) {
        uint256 pk = _pk(1_000_000 + ++_keys);
        IDeviceRegistry.Registration memory req = _request(
            bytes32(++_locals),
            vm.addr(pk),
            label,
            uint64(block.timestamp + 1 hours)
        );
        id = _registerSigned(registry, req, pk, address(this));
    }

    function _appointed() internal returns (DeviceId c) {
        c = _register(IDeviceRegistry.Label.Coordination);
        registry.appointCoordinator(c);
    }

    function _full() internal returns (DeviceId f) {
        f = _register(IDeviceRegistry.Label.Full);
        _approve(_honestCoords[0], f, DeviceIds.NONE);
        _approve(_honestCoords[1], f, DeviceIds.NONE);
    }

    function _light() internal returns (DeviceId l) {
        l = _register(IDeviceRegistry.Label.Lightweight);
        _approve(_honestCoords[0], l, _serving);
    }
}
