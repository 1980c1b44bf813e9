// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Invariant tests for DataAnchor. The fuzzer calls only DataAnchorHandler, which anchors from
// random gateways, senders, roots and leaf counts while the registry suspends, blocks, reinstates
// and revokes gateways; after each call these properties must hold:
//   (a) every anchor succeeded or failed exactly as the rules say: the sender is the gateway's
//       current key, the gateway is Active now and not of kind Device, the root is new for that
//       gateway (another gateway's root never blocks it) and not zero, the leaf count not zero; a
//       success returns the gateway's chain length + 1;
//   (b) each gateway's head is the number of anchors it made: its chain has no gap and no fork;
//   (c) a (gateway, root) record never changes once written (write-once), names that gateway, and
//       its sequence is the root's position in that gateway's chain;
//   (d) a root is anchored for a gateway only through that gateway's accepted anchor;
//   (e) the fog cluster's chain grows only by batches carrying its group signature over its next
//       sequence (never by a plain anchor, another key or another sequence) while it is Active.

import {DataAnchor} from "../../../contracts/anchoring/DataAnchor.sol";
import {IDataAnchor} from "../../../contracts/interfaces/IDataAnchor.sol";
import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {DeviceId} from "../../../contracts/libraries/DeviceIds.sol";
import {RegistryTestBase, handlerConfig} from "../registry/DeviceRegistryHandler.sol";
import {DataAnchorHandler} from "./DataAnchorHandler.sol";

contract DataAnchorInvariantTest is RegistryTestBase {
    /// @dev forge-std's StdInvariant.FuzzSelector, read by the invariant runner.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    DataAnchorHandler internal handler;
    DataAnchor internal dataAnchor;

    function setUp() public {
        vm.warp(1_700_000_000);
        DeviceRegistry registry = new DeviceRegistry(address(this), handlerConfig());
        dataAnchor = new DataAnchor(registry);
        handler = new DataAnchorHandler(registry, dataAnchor);
        registry.transferOwnership(address(handler));
        handler.bootstrap();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        bytes4[] memory s = new bytes4[](9);
        // anchor weighs three times as much as the registry's moves, anchorFog twice.
        s[0] = DataAnchorHandler.anchor.selector;
        s[1] = DataAnchorHandler.anchor.selector;
        s[2] = DataAnchorHandler.anchor.selector;
        s[3] = DataAnchorHandler.punish.selector;
        s[4] = DataAnchorHandler.reinstate.selector;
        s[5] = DataAnchorHandler.revoke.selector;
        s[6] = DataAnchorHandler.warp.selector;
        s[7] = DataAnchorHandler.anchorFog.selector;
        s[8] = DataAnchorHandler.anchorFog.selector;
        targets[0] = FuzzSelector({addr: address(handler), selectors: s});
    }

    // ---------------------------------------------------------------- invariants

    /// (a) Every anchor's outcome is the one the rules give.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_anchorOutcomesFollowTheRules() public view {
        _eq(handler.mismatches(), 0, "anchor outcome differs from the rules");
    }

    /// (b) Each candidate's head is the length of its chain as the handler saw it grow.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_headIsTheChainLength() public view {
        DeviceId[] memory all = handler.candidates();
        for (uint256 i; i < all.length; ++i) {
            _eq(dataAnchor.head(all[i]), handler.chainOf(all[i]).length, "head differs from the chain length");
        }
    }

    /// (c) Records are write-once and each chain is 1, 2, 3... with its gateway's roots.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_recordsAreWriteOnceAndChained() public view {
        DataAnchorHandler.Link[] memory links = handler.anchored();
        for (uint256 i; i < links.length; ++i) {
            (DeviceId gateway, bytes32 root) = (links[i].gateway, links[i].root);
            DataAnchorHandler.Ghost memory g = handler.ghostOf(gateway, root);
            IDataAnchor.AnchorRecord memory rec = dataAnchor.anchorOf(gateway, root);
            _check(g.gateway == gateway && rec.gateway == gateway, "record names another gateway");
            _eq(rec.sequence, g.sequence, "record sequence changed");
            _eq(rec.time, g.time, "record time changed");
            _eq(rec.leafCount, g.leafCount, "record leaf count changed");
            _check(handler.chainOf(gateway)[g.sequence - 1] == root, "sequence is not the chain position");
            // A one-leaf tree's root is its leaf: an anchored root proves its reading with no sibling,
            // and the root itself is no reading.
            _check(
                dataAnchor.verifyReading(gateway, root, handler.readingOf(root), new bytes32[](0)),
                "anchored root not verified"
            );
            _check(!dataAnchor.verifyReading(gateway, root, root, new bytes32[](0)), "the root passed as a reading");
        }
    }

    /// (d) Pool roots the handler never saw a candidate's anchor of accepted are not anchored for it.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_onlyAcceptedRootsAreAnchored() public view {
        DeviceId[] memory all = handler.candidates();
        for (uint256 c; c < all.length; ++c) {
            for (uint256 i; i < 8; ++i) {
                bytes32 root = handler.pool(i);
                bool seen = handler.ghostOf(all[c], root).sequence != 0;
                _check(dataAnchor.isAnchored(all[c], root) == seen, "pool root anchored without an accepted anchor");
                _check(
                    dataAnchor.verifyReading(all[c], root, handler.poolReading(i), new bytes32[](0)) == seen,
                    "verifyReading of a pool root"
                );
            }
        }
    }

    /// (e) The cluster's head counts exactly the group-signed batches the handler saw accepted.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_fogChainGrowsOnlyByGroupSignedBatches() public view {
        _eq(dataAnchor.head(handler.cluster()), handler.fogAccepted(), "cluster head differs from its fog batches");
    }
}
