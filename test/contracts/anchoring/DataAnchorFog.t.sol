// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Fuzz tests for DataAnchor's fog clusters over a real DeviceRegistry (the city of
// DataAnchorHandler.sol, with its fog cluster): any root and leaf count anchors with the cluster's
// group signature over its next sequence, from any sender, into the cluster's own records (a root a
// gateway or one of its members anchored first does not block it, and the cluster's anchors once);
// a signature by any other key, or over another sequence, root, leaf count or cluster, is refused
// with the exact custom error and consumes no sequence; a proof of possession made with another
// secret is refused; the cluster's chain never grows by a plain anchor. Keys and signatures come from
// the precompiles (see AnchorCity); the mocha tests use real threshold shares.

import {DataAnchor} from "../../../contracts/anchoring/DataAnchor.sol";
import {IDataAnchor} from "../../../contracts/interfaces/IDataAnchor.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {BLS12381} from "../../../contracts/libraries/BLS12381.sol";
import {DeviceId} from "../../../contracts/libraries/DeviceIds.sol";
import {handlerConfig} from "../registry/DeviceRegistryHandler.sol";
import {AnchorCity} from "./DataAnchorHandler.sol";

contract DataAnchorFogTest is AnchorCity {
    uint256 internal constant START = 1_700_000_000;

    function setUp() public {
        vm.warp(START);
        registry = new DeviceRegistry(address(this), handlerConfig());
        dataAnchor = new DataAnchor(registry);
        _buildCity();
        _buildFogCluster();
    }

    // ========================================================== registerFogCluster

    function test_registerFogCluster_recordsKeyThresholdEpochAndMembers() public view {
        IDataAnchor.FogCluster memory c = dataAnchor.fogCluster(_cluster);
        _check(keccak256(c.groupKey) == keccak256(_groupKey(FOG_SECRET)), "group key");
        _eq(c.threshold, 2, "threshold");
        _eq(c.epoch, 1, "epoch");
        _eq(c.since, 1, "since");
        _eq(c.members.length, 2, "members");
        _check(c.members[0] == _fogMembers[0] && c.members[1] == _fogMembers[1], "member order");
        _eq(dataAnchor.fogCluster(_gateways[0]).threshold, 0, "a gateway is no cluster");
    }

    function testFuzz_registerFogCluster_revertsWithInvalidPossessionProof_whenProvenWithAnotherSecret(
        uint256 proofSecret
    ) public {
        proofSecret = _bound(proofSecret, 1, BLS12381.R - 1);
        vm.assume(proofSecret != OTHER_SECRET);
        vm.expectRevert(abi.encodeWithSelector(IDataAnchor.DataAnchorInvalidPossessionProof.selector, _cluster));
        this.registerFogClusterExternal(OTHER_SECRET, proofSecret);
    }

    function testFuzz_registerFogCluster_rekeysToAnyProvenKey(uint256 secret, uint8 batches) public {
        secret = _bound(secret, 1, BLS12381.R - 1);
        uint64 before = uint64(batches % 4);
        for (uint64 i = 1; i <= before; ++i) _anchorFog(keccak256(abi.encode("before", i)), 1);
        _eq(_registerFogCluster(secret, secret), 2, "second epoch");
        IDataAnchor.FogCluster memory c = dataAnchor.fogCluster(_cluster);
        _eq(c.since, before + 1, "since: the head + 1");
        _check(keccak256(c.groupKey) == keccak256(_groupKey(secret)), "new key");
        bytes32 root = keccak256(abi.encode("after", secret));
        bytes memory stale = _signBatch(FOG_SECRET, _cluster, before + 1, root, 1);
        if (secret != FOG_SECRET) {
            vm.expectRevert(
                abi.encodeWithSelector(IDataAnchor.DataAnchorInvalidGroupSignature.selector, _cluster, before + 1)
            );
            dataAnchor.anchorFogBatch(_cluster, root, 1, stale);
        }
        _eq(
            dataAnchor.anchorFogBatch(_cluster, root, 1, _signBatch(secret, _cluster, before + 1, root, 1)),
            before + 1,
            "the new key anchors"
        );
    }

    /// @dev `_registerFogCluster` as an external call, so `vm.expectRevert` sees its revert.
    function registerFogClusterExternal(uint256 secret, uint256 proofSecret) external returns (uint32) {
        return _registerFogCluster(secret, proofSecret);
    }

    // ============================================================== anchorFogBatch

    function testFuzz_anchorFogBatch_recordsAnyRootWithTheGroupSignature(
        bytes32 root,
        uint64 leafCount,
        address sender,
        uint32 later
    ) public {
        vm.assume(root != bytes32(0) && leafCount != 0);
        _anchorFog(keccak256(abi.encode("first", root)), 1);
        vm.warp(START + later);
        bytes memory signature = _signBatch(FOG_SECRET, _cluster, 2, root, leafCount);
        vm.prank(sender);
        _eq(dataAnchor.anchorFogBatch(_cluster, root, leafCount, signature), 2, "sequence");
        IDataAnchor.AnchorRecord memory rec = dataAnchor.anchorOf(_cluster, root);
        _check(rec.gateway == _cluster, "gateway");
        _eq(rec.sequence, 2, "record sequence");
        _eq(rec.time, START + later, "time");
        _eq(rec.leafCount, leafCount, "leaf count");
        _eq(dataAnchor.head(_cluster), 2, "head");
        _check(!dataAnchor.verifyReading(_cluster, root, root, new bytes32[](0)), "the root passed as a reading");
        // a one-leaf batch's root is its leaf, keccak256(valuesHash): its reading verifies
        bytes32 reading = keccak256(abi.encode("reading", root));
        bytes32 single = keccak256(abi.encode(reading));
        _anchorFog(single, 1);
        _check(dataAnchor.verifyReading(_cluster, single, reading, new bytes32[](0)), "a one-leaf batch's reading");
    }

    function testFuzz_anchorFogBatch_revertsWithInvalidGroupSignature_whenSignedByAnotherKey(
        uint256 secret,
        bytes32 root
    ) public {
        secret = _bound(secret, 1, BLS12381.R - 1);
        vm.assume(secret != FOG_SECRET && root != bytes32(0));
        bytes memory signature = _signBatch(secret, _cluster, 1, root, 1);
        vm.expectRevert(abi.encodeWithSelector(IDataAnchor.DataAnchorInvalidGroupSignature.selector, _cluster, 1));
        dataAnchor.anchorFogBatch(_cluster, root, 1, signature);
        _eq(dataAnchor.head(_cluster), 0, "no sequence consumed");
    }

    /// A signature over any other sequence, root, leaf count or cluster does not anchor this batch.
    function testFuzz_anchorFogBatch_revertsWithInvalidGroupSignature_whenTheMessageDiffers(
        bytes32 root,
        uint64 leafCount,
        uint64 otherSequence,
        bytes32 otherRoot,
        uint64 otherLeafCount,
        bytes32 otherCluster,
        uint8 which
    ) public {
        vm.assume(root != bytes32(0) && leafCount != 0);
        uint64 sequence = 1;
        DeviceId cluster = _cluster;
        uint256 field = which % 4;
        if (field == 0) {
            vm.assume(otherSequence != 1);
            sequence = otherSequence;
        } else if (field == 1) {
            vm.assume(otherRoot != root);
        } else if (field == 2) {
            vm.assume(otherLeafCount != leafCount);
        } else {
            vm.assume(DeviceId.wrap(otherCluster) != _cluster);
            cluster = DeviceId.wrap(otherCluster);
        }
        bytes memory signature = _signBatch(
            FOG_SECRET,
            cluster,
            sequence,
            field == 1 ? otherRoot : root,
            field == 2 ? otherLeafCount : leafCount
        );
        vm.expectRevert(abi.encodeWithSelector(IDataAnchor.DataAnchorInvalidGroupSignature.selector, _cluster, 1));
        dataAnchor.anchorFogBatch(_cluster, root, leafCount, signature);
    }

    function testFuzz_anchorFogBatch_revertsWithGatewayNotActive_whenTheRegistryRevokesTheCluster(bytes32 root) public {
        vm.assume(root != bytes32(0));
        registry.revoke(_cluster);
        bytes memory signature = _signBatch(FOG_SECRET, _cluster, 1, root, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDataAnchor.DataAnchorGatewayNotActive.selector,
                _cluster,
                IDeviceRegistry.Status.Revoked
            )
        );
        dataAnchor.anchorFogBatch(_cluster, root, 1, signature);
    }

    function testFuzz_anchorFogBatch_revertsWithUnknownFogCluster_forAnyOtherId(bytes32 id, bytes32 root) public {
        DeviceId other = DeviceId.wrap(id);
        vm.assume(other != _cluster && root != bytes32(0));
        bytes memory signature = _signBatch(FOG_SECRET, other, 1, root, 1);
        vm.expectRevert(abi.encodeWithSelector(IDataAnchor.DataAnchorUnknownFogCluster.selector, other));
        dataAnchor.anchorFogBatch(other, root, 1, signature);
    }

    function testFuzz_anchor_revertsWithIsFogCluster_forTheClustersOwnKey(bytes32 root, uint64 leafCount) public {
        vm.assume(root != bytes32(0) && leafCount != 0);
        address key = registry.keyOf(_cluster);
        vm.expectRevert(abi.encodeWithSelector(IDataAnchor.DataAnchorIsFogCluster.selector, _cluster));
        vm.prank(key);
        dataAnchor.anchor(_cluster, root, leafCount);
    }

    /// Records are kept per gateway and per cluster: a root a gateway anchored first, or one of the
    /// cluster's own members copied from the batch it is endorsing, does not stop the cluster's batch.
    function testFuzz_anchorFogBatch_anotherGatewaysRootDoesNotBlock(
        bytes32 root,
        uint8 gatewaySeed,
        bool member
    ) public {
        vm.assume(root != bytes32(0));
        DeviceId gateway =
            member ? _fogMembers[gatewaySeed % _fogMembers.length] : _gateways[gatewaySeed % _gateways.length];
        vm.prank(registry.keyOf(gateway));
        dataAnchor.anchor(gateway, root, 3);
        bytes memory signature = _signBatch(FOG_SECRET, _cluster, 1, root, 1);
        vm.prank(STRANGER);
        _eq(dataAnchor.anchorFogBatch(_cluster, root, 1, signature), 1, "the cluster's first batch");
        IDataAnchor.AnchorRecord memory rec = dataAnchor.anchorOf(_cluster, root);
        _check(rec.gateway == _cluster, "the cluster's record names the cluster");
        _eq(rec.leafCount, 1, "the cluster's leaf count");
        _check(dataAnchor.anchorOf(gateway, root).gateway == gateway, "the gateway's record stays");
        _eq(dataAnchor.anchorOf(gateway, root).leafCount, 3, "the gateway's leaf count stays");
    }

    /// A cluster anchors a root once: the same root again, validly signed for its next sequence,
    /// is refused before the signature is checked, and consumes no sequence.
    function testFuzz_anchorFogBatch_revertsWithRootExists_whenTheClusterAnchorsTheRootAgain(
        bytes32 root,
        uint64 leafCount
    ) public {
        vm.assume(root != bytes32(0) && leafCount != 0);
        _anchorFog(root, 5);
        bytes memory signature = _signBatch(FOG_SECRET, _cluster, 2, root, leafCount);
        vm.expectRevert(abi.encodeWithSelector(IDataAnchor.DataAnchorRootExists.selector, _cluster, root));
        dataAnchor.anchorFogBatch(_cluster, root, leafCount, signature);
        _eq(dataAnchor.head(_cluster), 1, "no sequence consumed");
        _eq(dataAnchor.anchorOf(_cluster, root).leafCount, 5, "record kept its leaf count");
    }

    // ================================================================= helpers

    function _anchorFog(bytes32 root, uint64 leafCount) internal {
        uint64 next = dataAnchor.head(_cluster) + 1;
        dataAnchor.anchorFogBatch(_cluster, root, leafCount, _signBatch(FOG_SECRET, _cluster, next, root, leafCount));
    }
}
