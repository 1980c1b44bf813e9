// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Collusion invariants of DeviceRegistry's trust rules (docs/registry.md, "Misbehaviour and
// trust"): with reportPenalty p, suspendBelow s and blockBelow b, suspending a device takes
// S = ceil((1000 - s + 1) / p) independent reporters and blocking it B = ceil((1000 - b + 1) / p),
// where an independent reporter is a full node, a coordination node, or a coordination node
// together with every lightweight node it admitted. The fuzzer drives
// DeviceRegistryCollusionHandler: a bounded set of colluders (one coordinator + full nodes, with
// as many lightweight sybils as a colluding layer operator and that coordinator can mint) reports
// honest targets at any time while honest coordinators reinstate them. With p = 150, s = 600,
// b = 300: S = 3, B = 5.
//   (a) S - 1 colluders never suspend (nor block) a target;
//   (b) B - 1 colluders never block a target (they may suspend it).

import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceRegistryCollusionHandler} from "./DeviceRegistryCollusionHandler.sol";
import {RegistryTestBase} from "./DeviceRegistryHandler.sol";

/// @dev The rules under attack: S = 3, B = 5.
function collusionConfig() pure returns (IDeviceRegistry.Config memory) {
    return
        IDeviceRegistry.Config({
            fullNodeApprovals: 2,
            reportPenalty: 150,
            suspendBelow: 600,
            blockBelow: 300,
            epochLength: 1 hours,
            heartbeatTimeout: 15 minutes
        });
}

/// @dev ceil((1000 - threshold + 1) / penalty): independent reports to fall under `threshold`.
function reportsBelow(uint256 threshold, uint256 penalty) pure returns (uint256) {
    return (1000 - threshold + 1 + penalty - 1) / penalty;
}

abstract contract CollusionInvariantBase is RegistryTestBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    DeviceRegistryCollusionHandler internal handler;
    DeviceRegistry internal registry;

    function _deploy(uint256 cohorts) internal {
        vm.warp(1_700_000_000);
        registry = new DeviceRegistry(address(this), collusionConfig());
        handler = new DeviceRegistryCollusionHandler(registry, cohorts);
        registry.transferOwnership(address(handler));
        handler.bootstrap();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        bytes4[] memory s = new bytes4[](4);
        s[0] = DeviceRegistryCollusionHandler.mintSybil.selector;
        s[1] = DeviceRegistryCollusionHandler.report.selector;
        s[2] = DeviceRegistryCollusionHandler.warp.selector;
        s[3] = DeviceRegistryCollusionHandler.reinstate.selector;
        targets[0] = FuzzSelector({addr: address(handler), selectors: s});
    }
}

contract DeviceRegistryFewerThanSuspendColludersInvariantTest is CollusionInvariantBase {
    function setUp() public {
        IDeviceRegistry.Config memory cfg = collusionConfig();
        _deploy(reportsBelow(cfg.suspendBelow, cfg.reportPenalty) - 1);
    }

    /// (a) S - 1 independent colluders, however many sybils they mint and however long they
    /// report, never suspend or block an honest device.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_fewerThanSColludersNeverSuspend() public view {
        _eq(handler.suspensions(), 0, "suspended by fewer than S independent reporters");
        _eq(handler.blocks(), 0, "blocked by fewer than S independent reporters");
    }
}

contract DeviceRegistryFewerThanBlockColludersInvariantTest is CollusionInvariantBase {
    function setUp() public {
        IDeviceRegistry.Config memory cfg = collusionConfig();
        _deploy(reportsBelow(cfg.blockBelow, cfg.reportPenalty) - 1);
    }

    /// (b) B - 1 independent colluders never block an honest device.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_fewerThanBColludersNeverBlock() public view {
        _eq(handler.blocks(), 0, "blocked by fewer than B independent reporters");
    }
}
