// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Invariant tests for DeviceRegistry (seed 001 rules: labels, joins through coordination nodes,
// serving-node assignment and reassignment, misbehaviour reports, trust, Blocked -> re-key).
// The fuzzer calls only DeviceRegistryHandler, which drains non-live full nodes after every
// action; after each call these properties must hold:
//   (a) every Active lightweight device is served by a live full node (when one exists);
//   (b) a Blocked device becomes Active again only after a re-key approved by k distinct
//       coordination nodes and requested after the block (a block clears a pending re-key, so a
//       Blocked device holds no pending key but one requested since);
//   (c) served lists hold exactly the Active lightweight devices, each in its serving node's list;
//   (d) trust never exceeds 1000;
//   (e) no key is bound to two devices (current or pending), no bound key or registered UUID is
//       ever accepted again, and no one but the layer's operator registers a UUID (replay handler);
//   (f) lightweight nodes never report full or coordination nodes;
//   (g) a device's gateway is the last one its owner set, which was then an Active non-Device
//       entity;
//   (h) an approval round closes, and a full node goes offline by reports, only with k votes of
//       coordination nodes still in office in the term they voted in (dismissed or re-appointed
//       coordinators' earlier votes do not count); a re-appointed coordination node has at least
//       the suspension threshold's trust;
// plus the handler's own accounting of reassign (min(maxCount, served) moved, to the target) and
// of duplicate approvals (always refused).

import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceId, DeviceIds} from "../../../contracts/libraries/DeviceIds.sol";
import {
    DeviceRegistryHandler,
    DeviceRegistryReplayHandler,
    RegistryTestBase,
    handlerConfig
} from "./DeviceRegistryHandler.sol";

contract DeviceRegistryInvariantTest is RegistryTestBase {
    /// @dev forge-std's StdInvariant.FuzzSelector, read by the invariant runner.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    DeviceRegistryHandler internal handler;
    DeviceRegistryReplayHandler internal replay;
    DeviceRegistry internal registry;

    function setUp() public {
        vm.warp(1_700_000_000);
        registry = new DeviceRegistry(address(this), handlerConfig());
        handler = new DeviceRegistryHandler(registry);
        registry.transferOwnership(address(handler));
        handler.bootstrap();
        replay = new DeviceRegistryReplayHandler(handler);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](2);
        targets[0] = address(handler);
        targets[1] = address(replay);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](2);
        bytes4[] memory s = new bytes4[](16);
        s[0] = DeviceRegistryHandler.registerLightweight.selector;
        s[1] = DeviceRegistryHandler.registerFull.selector;
        s[2] = DeviceRegistryHandler.appointCoordinator.selector;
        s[3] = DeviceRegistryHandler.dismissCoordinator.selector;
        s[4] = DeviceRegistryHandler.approve.selector;
        s[5] = DeviceRegistryHandler.approveAgain.selector;
        s[6] = DeviceRegistryHandler.heartbeat.selector;
        s[7] = DeviceRegistryHandler.warp.selector;
        s[8] = DeviceRegistryHandler.reportOffline.selector;
        s[9] = DeviceRegistryHandler.report.selector;
        s[10] = DeviceRegistryHandler.requestRekey.selector;
        s[11] = DeviceRegistryHandler.revoke.selector;
        s[12] = DeviceRegistryHandler.transfer.selector;
        s[13] = DeviceRegistryHandler.reassign.selector;
        s[14] = DeviceRegistryHandler.approveUnexpected.selector;
        s[15] = DeviceRegistryHandler.setGateway.selector;
        targets[0] = FuzzSelector({addr: address(handler), selectors: s});
        bytes4[] memory r = new bytes4[](4);
        r[0] = DeviceRegistryReplayHandler.registerWithBoundKey.selector;
        r[1] = DeviceRegistryReplayHandler.registerExistingUuid.selector;
        r[2] = DeviceRegistryReplayHandler.rekeyToBoundKey.selector;
        r[3] = DeviceRegistryReplayHandler.registerAsNonOperator.selector;
        targets[1] = FuzzSelector({addr: address(replay), selectors: r});
    }

    // ---------------------------------------------------------------- invariants

    /// (a) Whenever a live full node exists, every Active lightweight device is served by a live
    /// full node.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_activeLightweightServedByLiveNode() public view {
        if (!_anyLiveFullNode()) return;
        DeviceId[] memory lights = handler.lights();
        for (uint256 i; i < lights.length; ++i) {
            IDeviceRegistry.DeviceView memory d = registry.getDevice(lights[i]);
            if (d.status != IDeviceRegistry.Status.Active) continue;
            // Live, recomputed from the record rather than taken from `isLive` alone.
            IDeviceRegistry.DeviceView memory node = registry.getDevice(d.servingNode);
            _check(node.status == IDeviceRegistry.Status.Active, "serving node not active");
            _check(node.label == IDeviceRegistry.Label.Full, "serving node not a full node");
            _check(node.liveUntil >= block.timestamp, "serving node past its heartbeat deadline");
            _check(registry.isLive(d.servingNode), "isLive disagrees");
        }
    }

    /// (b) A device that was Blocked is Active again only after a completed re-key approved by k
    /// distinct coordination nodes and requested after the block: a Blocked device's pending key,
    /// if any, is the one its owner asked for since the block.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_blockedReactivatesOnlyAfterRekey() public view {
        _eq(handler.blockedReactivations(), 0, "Blocked -> Active without a k-approved re-key");
        _eq(handler.duplicateApprovalsAccepted(), 0, "duplicate approval accepted");
        _eq(handler.unexpectedApprovalsAccepted(), 0, "approval accepted from a state that waits for none");
        DeviceId[] memory ids = handler.ids();
        for (uint256 i; i < ids.length; ++i) {
            if (handler.needsRekey(ids[i])) {
                _check(registry.statusOf(ids[i]) != IDeviceRegistry.Status.Active, "blocked device active");
                _check(handler.everBlocked(ids[i]), "needs a re-key but never blocked");
            }
            IDeviceRegistry.DeviceView memory d = registry.getDevice(ids[i]);
            if (d.status == IDeviceRegistry.Status.Blocked && d.pendingKey != address(0)) {
                _check(
                    d.pendingKey == handler.rekeyAfterBlock(ids[i]),
                    "Blocked device kept a re-key from before the block"
                );
            }
        }
    }

    /// (c) Served lists hold exactly the Active lightweight devices, each in its serving node's
    /// list; no other device has a serving node.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_servedListsMatchActiveLightweight() public view {
        DeviceId[] memory fulls = handler.fulls();
        uint256 listed;
        for (uint256 i; i < fulls.length; ++i) {
            uint256 count = registry.servedCount(fulls[i]);
            DeviceId[] memory page = registry.servedDevices(fulls[i], 0, count);
            _eq(page.length, count, "served page length");
            listed += count;
            for (uint256 j; j < page.length; ++j) {
                IDeviceRegistry.DeviceView memory d = registry.getDevice(page[j]);
                _check(d.status == IDeviceRegistry.Status.Active, "non-active device in a served list");
                _check(d.label == IDeviceRegistry.Label.Lightweight, "non-lightweight device in a served list");
                _check(d.servingNode == fulls[i], "served list and serving node disagree");
            }
        }
        DeviceId[] memory ids = handler.ids();
        uint256 activeLights;
        for (uint256 i; i < ids.length; ++i) {
            IDeviceRegistry.DeviceView memory d = registry.getDevice(ids[i]);
            bool servedDevice =
                d.label == IDeviceRegistry.Label.Lightweight && d.status == IDeviceRegistry.Status.Active;
            if (!servedDevice) {
                _check(d.servingNode == DeviceIds.NONE, "serving node on a device that is not served");
                continue;
            }
            activeLights++;
            _check(d.servingNode != DeviceIds.NONE, "active lightweight device without serving node");
            _check(_contains(d.servingNode, ids[i]), "active lightweight device missing from its node's list");
        }
        _eq(listed, activeLights, "served entries vs active lightweight devices");
    }

    /// (d) Trust never exceeds MAX_TRUST.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_trustNeverExceedsMax() public view {
        DeviceId[] memory ids = handler.ids();
        for (uint256 i; i < ids.length; ++i) {
            uint16 trust = registry.getDevice(ids[i]).trust;
            if (trust > registry.MAX_TRUST()) revert AssertionFailed("trust above max", trust, 1000);
        }
    }

    /// (e) No key is bound to two devices: current keys and pending re-key keys are pairwise
    /// distinct and never zero for a registered device (`keyOf` and `keyKindStatusOf` agree with
    /// `getDevice`), and every attempt of the replay handler
    /// to bind an already bound key (or register a registered UUID) was refused.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_keysAreUnique() public view {
        _eq(replay.accepted(), 0, "bound key or registered UUID accepted again");
        DeviceId[] memory ids = handler.ids();
        uint256 n = ids.length;
        address[] memory keys = new address[](2 * n);
        uint256 m;
        for (uint256 i; i < n; ++i) {
            IDeviceRegistry.DeviceView memory d = registry.getDevice(ids[i]);
            _check(d.key != address(0), "registered device without key");
            _check(registry.keyOf(ids[i]) == d.key, "keyOf disagrees with getDevice");
            (address key, IDeviceRegistry.Kind kind, IDeviceRegistry.Status status) = registry.keyKindStatusOf(ids[i]);
            _check(key == d.key && kind == d.kind && status == d.status, "keyKindStatusOf disagrees with getDevice");
            keys[m++] = d.key;
            if (d.pendingKey != address(0)) keys[m++] = d.pendingKey;
        }
        for (uint256 i; i < m; ++i) {
            for (uint256 j = i + 1; j < m; ++j) {
                if (keys[i] == keys[j]) revert AssertionFailed("key bound twice", i, j);
            }
        }
    }

    /// (f) A lightweight node's report of a full or coordination node is always refused with
    /// `RegistryReporterNotEligible` and changes nothing.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_lightweightNeverReportsFullOrCoordination() public view {
        _eq(handler.ineligibleReportsAccepted(), 0, "lightweight report of a full or coordination node");
    }

    /// (g) Every device's gateway is the one its owner last set (zero when none), and `setGateway`
    /// accepted exactly the Active entities whose kind is not Device.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_gatewaysAreTheOnesSetByOwners() public view {
        _eq(handler.gatewayMismatches(), 0, "setGateway accepted an invalid gateway or refused a valid one");
        DeviceId[] memory ids = handler.ids();
        for (uint256 i; i < ids.length; ++i) {
            _check(
                registry.getDevice(ids[i]).gateway == handler.gatewayOf(ids[i]),
                "gateway differs from the last set"
            );
        }
    }

    /// (h) Votes count only from coordinators still in office, in the term they voted in.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_votesCountOnlyFromCoordinatorsInOffice() public view {
        _eq(handler.staleVotesCounted(), 0, "a vote of a coordinator out of office counted");
        _eq(handler.offlineMismatches(), 0, "reportOffline accounting");
        _eq(handler.lowTrustAppointments(), 0, "re-appointed under the suspension threshold");
    }

    /// reassign (as driven by the handler) moves exactly min(maxCount, served) devices, all to
    /// the target, and every drain empties the non-live node.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_reassignMovesExactlyToTarget() public view {
        _eq(handler.reassignMismatches(), 0, "reassign accounting");
        _eq(handler.undrained(), 0, "non-live full node left with devices");
    }

    // ------------------------------------------------------------------ helpers

    function _anyLiveFullNode() internal view returns (bool) {
        DeviceId[] memory fulls = handler.fulls();
        for (uint256 i; i < fulls.length; ++i) {
            if (registry.isLive(fulls[i])) return true;
        }
        return false;
    }

    function _contains(DeviceId fullNode, DeviceId id) internal view returns (bool) {
        DeviceId[] memory page = registry.servedDevices(fullNode, 0, registry.servedCount(fullNode));
        for (uint256 i; i < page.length; ++i) {
            if (page[i] == id) return true;
        }
        return false;
    }
}
