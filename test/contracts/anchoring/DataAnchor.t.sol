// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Fuzz and unit tests for DataAnchor over a real DeviceRegistry (the city of DataAnchorHandler.sol):
// any root and leaf count anchors once per gateway with the gateway's next sequence and the block's
// time, and another gateway's anchor of the same root neither blocks it nor changes its record; any
// sender but the gateway's key, any gateway not Active and any node of kind Device are refused with
// the exact custom error and arguments, whatever they anchored before; chains of interleaved
// gateways stay contiguous; and verifyReading accepts exactly the proofs of anchored roots, at any
// depth, against sorted-pair keccak256 paths built here independently of OpenZeppelin.

import {DataAnchor} from "../../../contracts/anchoring/DataAnchor.sol";
import {IDataAnchor} from "../../../contracts/interfaces/IDataAnchor.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {DeviceId} from "../../../contracts/libraries/DeviceIds.sol";
import {handlerConfig} from "../registry/DeviceRegistryHandler.sol";
import {AnchorCity} from "./DataAnchorHandler.sol";

contract DataAnchorTest is AnchorCity {
    uint256 internal constant START = 1_700_000_000;

    function setUp() public {
        vm.warp(START);
        registry = new DeviceRegistry(address(this), handlerConfig());
        dataAnchor = new DataAnchor(registry);
        _buildCity();
    }

    // ================================================================== anchor

    function testFuzz_anchor_recordsAnyRootWithTheNextSequence(
        bytes32 root,
        uint64 leafCount,
        uint32 later,
        uint8 gatewaySeed
    ) public {
        vm.assume(root != bytes32(0) && leafCount != 0);
        DeviceId gateway = _gateways[gatewaySeed % _gateways.length];
        _anchor(gateway, keccak256(abi.encode("before", root)), 1);
        vm.warp(START + later);

        vm.prank(registry.keyOf(gateway));
        uint64 sequence = dataAnchor.anchor(gateway, root, leafCount);

        _eq(sequence, 2, "second anchor of the gateway");
        _eq(dataAnchor.head(gateway), 2, "head");
        IDataAnchor.AnchorRecord memory rec = dataAnchor.anchorOf(gateway, root);
        _check(rec.gateway == gateway, "gateway");
        _eq(rec.sequence, 2, "sequence");
        _eq(rec.time, START + later, "time");
        _eq(rec.leafCount, leafCount, "leaf count");
        _check(dataAnchor.isAnchored(gateway, root), "anchored");
        DeviceId other = _gateways[(uint256(gatewaySeed) + 1) % _gateways.length];
        _check(!dataAnchor.isAnchored(other, root), "anchored for another gateway");
        _eq(dataAnchor.anchorOf(other, root).sequence, 0, "another gateway's record");
        _check(dataAnchor.anchorOf(other, root).gateway == DeviceId.wrap(0), "another gateway's record names one");
    }

    function testFuzz_anchor_revertsWithUnauthorizedKey_whenSenderIsNotTheKey(
        address sender,
        uint8 gatewaySeed
    ) public {
        DeviceId gateway = _gateways[gatewaySeed % _gateways.length];
        vm.assume(sender != registry.keyOf(gateway));
        _expectRevertFrom(
            sender,
            abi.encodeWithSelector(IDataAnchor.DataAnchorUnauthorizedKey.selector, gateway, sender)
        );
        dataAnchor.anchor(gateway, keccak256("r"), 1);
    }

    /// An id the registry does not know has the zero key: no account can anchor for it (the zero
    /// address sends no transaction; were it the sender, the status None would refuse it).
    function testFuzz_anchor_revertsWithUnauthorizedKey_whenGatewayIsUnknown(bytes32 id, address sender) public {
        DeviceId gateway = DeviceId.wrap(id);
        vm.assume(registry.statusOf(gateway) == IDeviceRegistry.Status.None && sender != address(0));
        _expectRevertFrom(
            sender,
            abi.encodeWithSelector(IDataAnchor.DataAnchorUnauthorizedKey.selector, gateway, sender)
        );
        dataAnchor.anchor(gateway, keccak256("r"), 1);
    }

    /// A gateway anchors a root once, whatever leaf count it tries again with; the record stays.
    function testFuzz_anchor_revertsWithRootExists_whenTheGatewayAnchorsTheRootAgain(
        bytes32 root,
        uint8 gatewaySeed,
        uint64 leafCount
    ) public {
        vm.assume(root != bytes32(0) && leafCount != 0);
        DeviceId gateway = _gateways[gatewaySeed % _gateways.length];
        _anchor(gateway, root, 7);

        _expectRevertFrom(
            registry.keyOf(gateway),
            abi.encodeWithSelector(IDataAnchor.DataAnchorRootExists.selector, gateway, root)
        );
        dataAnchor.anchor(gateway, root, leafCount);
        _check(dataAnchor.anchorOf(gateway, root).gateway == gateway, "record kept its gateway");
        _eq(dataAnchor.anchorOf(gateway, root).leafCount, 7, "record kept its leaf count");
        _eq(dataAnchor.head(gateway), 1, "no sequence consumed");
    }

    /// Records are kept per gateway: a root another gateway anchored first (seen while endorsing,
    /// or in the mempool) does not stop a gateway from anchoring it, and neither record changes.
    function testFuzz_anchor_anotherGatewaysRootDoesNotBlock(
        bytes32 root,
        uint8 firstSeed,
        uint8 offset,
        uint64 leafCount
    ) public {
        vm.assume(root != bytes32(0) && leafCount != 0);
        uint256 n = _gateways.length;
        DeviceId first = _gateways[firstSeed % n];
        DeviceId second = _gateways[(uint256(firstSeed) + 1 + (offset % (n - 1))) % n];
        _anchor(first, root, 7);
        _check(!dataAnchor.isAnchored(second, root), "the first gateway's anchor counts for the second");

        vm.prank(registry.keyOf(second));
        _eq(dataAnchor.anchor(second, root, leafCount), 1, "the second gateway's first anchor");
        IDataAnchor.AnchorRecord memory mine = dataAnchor.anchorOf(second, root);
        _check(mine.gateway == second, "second record's gateway");
        _eq(mine.sequence, 1, "second record's sequence");
        _eq(mine.leafCount, leafCount, "second record's leaf count");
        IDataAnchor.AnchorRecord memory theirs = dataAnchor.anchorOf(first, root);
        _check(theirs.gateway == first, "first record's gateway");
        _eq(theirs.leafCount, 7, "first record's leaf count");
        _eq(dataAnchor.head(first), 1, "first head");
        _eq(dataAnchor.head(second), 1, "second head");
    }

    function testFuzz_anchor_revertsWithZeroLeafCount(bytes32 root, uint8 gatewaySeed) public {
        vm.assume(root != bytes32(0));
        DeviceId gateway = _gateways[gatewaySeed % _gateways.length];
        _expectRevertFrom(
            registry.keyOf(gateway),
            abi.encodeWithSelector(IDataAnchor.DataAnchorZeroLeafCount.selector, root)
        );
        dataAnchor.anchor(gateway, root, 0);
    }

    function test_anchor_revertsWithZeroRoot() public {
        DeviceId gateway = _gateways[0];
        _expectRevertFrom(
            registry.keyOf(gateway),
            abi.encodeWithSelector(IDataAnchor.DataAnchorZeroRoot.selector, gateway)
        );
        dataAnchor.anchor(gateway, bytes32(0), 1);
    }

    /// The registry is read on every anchor: a gateway that anchored before is refused in the
    /// very next transaction once it is suspended, blocked or revoked.
    function testFuzz_anchor_revertsWithGatewayNotActive_afterTheRegistryStopsTheGateway(
        uint8 gatewaySeed,
        uint8 how
    ) public {
        DeviceId gateway = _gateways[gatewaySeed % _gateways.length];
        _anchor(gateway, keccak256("first"), 1);
        IDeviceRegistry.Status status;
        if (how % 3 == 2) {
            registry.revoke(gateway);
            status = IDeviceRegistry.Status.Revoked;
        } else {
            // Two reports (penalty 250) suspend a fresh gateway; a third blocks it.
            for (uint256 i; i < 2 + (how % 3); ++i) {
                vm.prank(registry.keyOf(_coords[i]));
                registry.report(_coords[i], gateway, keccak256("evidence"));
            }
            status = how % 3 == 0 ? IDeviceRegistry.Status.Suspended : IDeviceRegistry.Status.Blocked;
        }
        _check(registry.statusOf(gateway) == status, "registry status");

        _expectRevertFrom(
            registry.keyOf(gateway),
            abi.encodeWithSelector(IDataAnchor.DataAnchorGatewayNotActive.selector, gateway, status)
        );
        dataAnchor.anchor(gateway, keccak256("second"), 1);
    }

    function test_anchor_revertsWithGatewayNotActive_whenPending() public {
        _expectRevertFrom(
            registry.keyOf(_pendingGateway),
            abi.encodeWithSelector(
                IDataAnchor.DataAnchorGatewayNotActive.selector,
                _pendingGateway,
                IDeviceRegistry.Status.Pending
            )
        );
        dataAnchor.anchor(_pendingGateway, keccak256("r"), 1);
    }

    function testFuzz_anchor_revertsWithNotGateway_whenKindIsDevice(bool coordinatorNode) public {
        DeviceId node = coordinatorNode ? _coords[0] : _deviceNode;
        _expectRevertFrom(
            registry.keyOf(node),
            abi.encodeWithSelector(IDataAnchor.DataAnchorNotGateway.selector, node, IDeviceRegistry.Kind.Device)
        );
        dataAnchor.anchor(node, keccak256("r"), 1);
    }

    /// Anchors of the four gateways interleaved in any order: each chain is 1, 2, 3... and each
    /// root's record names its gateway and its position.
    function testFuzz_anchor_keepsContiguousChainsWhenGatewaysInterleave(uint256 order, uint8 count) public {
        uint256 n = _bound(count, 1, 24);
        uint64[4] memory lengths;
        for (uint256 i; i < n; ++i) {
            uint256 g = (order >> (2 * (i % 128))) % 4;
            bytes32 root = keccak256(abi.encode("interleaved", i));
            _anchor(_gateways[g], root, uint64(i + 1));
            lengths[g]++;
            IDataAnchor.AnchorRecord memory rec = dataAnchor.anchorOf(_gateways[g], root);
            _check(rec.gateway == _gateways[g], "gateway");
            _eq(rec.sequence, lengths[g], "sequence is the chain position");
        }
        for (uint256 g; g < 4; ++g) _eq(dataAnchor.head(_gateways[g]), lengths[g], "head");
    }

    // ============================================================ verifyReading

    /// A reading (its once-hashed leaf `valuesHash`) and `depth` siblings (up to 2^32 leaves): the
    /// sorted-pair path's root from the leaf keccak256(valuesHash), once anchored over 2^depth leaves,
    /// proves the reading against its gateway; a changed sibling, reading or length does not, nor the
    /// leaf itself (the tree's node), nor does another gateway that did not anchor the root.
    function testFuzz_verifyReading_acceptsExactlyTheProofOfAnAnchoredRoot(
        bytes32 valuesHash,
        bytes32 seed,
        uint8 depth,
        uint8 tamper
    ) public {
        uint256 d = _bound(depth, 1, 32);
        bytes32[] memory proof = new bytes32[](d);
        bytes32 leaf = keccak256(abi.encode(valuesHash));
        bytes32 node = leaf;
        for (uint256 i; i < d; ++i) {
            proof[i] = keccak256(abi.encode(seed, i));
            node = _hashPair(node, proof[i]);
        }
        bytes32 root = node;
        DeviceId gateway = _gateways[0];
        _check(!dataAnchor.verifyReading(gateway, root, valuesHash, proof), "verified before the root was anchored");
        _anchor(gateway, root, uint64(1) << uint64(d));
        _check(dataAnchor.verifyReading(gateway, root, valuesHash, proof), "valid proof refused");
        _check(!dataAnchor.verifyReading(_gateways[1], root, valuesHash, proof), "verified for another gateway");
        _check(!dataAnchor.verifyReading(gateway, root, leaf, proof), "the leaf node passed as a reading");

        bytes32[] memory bad = _copy(proof);
        bad[tamper % d] ^= bytes32(uint256(1) << (tamper % 256));
        _check(!dataAnchor.verifyReading(gateway, root, valuesHash, bad), "tampered sibling accepted");
        _check(
            !dataAnchor.verifyReading(gateway, root, valuesHash ^ bytes32(uint256(1)), proof),
            "tampered leaf accepted"
        );
        bytes32[] memory shorter = new bytes32[](d - 1);
        for (uint256 i; i < d - 1; ++i) shorter[i] = proof[i];
        _check(!dataAnchor.verifyReading(gateway, root, valuesHash, shorter), "truncated proof accepted");
    }

    /// No inner node of an anchored path passes as a reading with the rest of the path as its proof,
    /// nor the root with the empty proof, whatever leaf count the root was anchored with.
    function testFuzz_verifyReading_refusesInnerNodesAndTheRoot(
        bytes32 valuesHash,
        bytes32 seed,
        uint8 depth,
        uint8 cut,
        uint64 leafCount
    ) public {
        uint256 d = _bound(depth, 1, 32);
        bytes32[] memory nodes = new bytes32[](d + 1);
        bytes32[] memory proof = new bytes32[](d);
        nodes[0] = keccak256(abi.encode(valuesHash));
        for (uint256 i; i < d; ++i) {
            proof[i] = keccak256(abi.encode(seed, i));
            nodes[i + 1] = _hashPair(nodes[i], proof[i]);
        }
        bytes32 root = nodes[d];
        _anchor(_gateways[0], root, uint64(_bound(leafCount, 1, type(uint64).max)));
        // node k (1 <= k <= d) with the siblings above it takes it to the root: it is no reading
        uint256 k = _bound(cut, 1, d);
        bytes32[] memory rest = new bytes32[](d - k);
        for (uint256 i = k; i < d; ++i) rest[i - k] = proof[i];
        _check(!dataAnchor.verifyReading(_gateways[0], root, nodes[k], rest), "an inner node passed as a reading");
        _check(!dataAnchor.verifyReading(_gateways[0], root, root, new bytes32[](0)), "the root passed as a reading");
    }

    /// A proof is at most ceil(log2 leafCount) siblings long: one sibling more than the anchored
    /// leaf count allows is refused, the same proof under a count that allows it verifies.
    function testFuzz_verifyReading_boundsTheProofByTheLeafCount(bytes32 valuesHash, bytes32 seed, uint8 depth) public {
        uint256 d = _bound(depth, 1, 32);
        bytes32[] memory proof = new bytes32[](d);
        bytes32 node = keccak256(abi.encode(valuesHash));
        for (uint256 i; i < d; ++i) {
            proof[i] = keccak256(abi.encode(seed, i));
            node = _hashPair(node, proof[i]);
        }
        // 2^(d-1) leaves: every leaf is at depth d - 1; 2^(d-1) + 1 leaves: the deepest are at depth d
        _anchor(_gateways[0], node, uint64(1) << uint64(d - 1));
        _anchor(_gateways[1], node, (uint64(1) << uint64(d - 1)) + 1);
        _check(!dataAnchor.verifyReading(_gateways[0], node, valuesHash, proof), "a proof deeper than the tree passed");
        _check(dataAnchor.verifyReading(_gateways[1], node, valuesHash, proof), "a proof as deep as the tree refused");
    }

    function testFuzz_verifyReading_isFalseForARootNotAnchored(
        bytes32 valuesHash,
        bytes32 sibling,
        uint8 gatewaySeed
    ) public view {
        DeviceId gateway = _gateways[gatewaySeed % _gateways.length];
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = sibling;
        bytes32 leaf = keccak256(abi.encode(valuesHash));
        _check(
            !dataAnchor.verifyReading(gateway, _hashPair(leaf, sibling), valuesHash, proof),
            "unanchored root verified"
        );
        _check(
            !dataAnchor.verifyReading(gateway, leaf, valuesHash, new bytes32[](0)),
            "unanchored one-leaf root verified"
        );
    }

    // ================================================================= helpers

    function _anchor(DeviceId gateway, bytes32 root, uint64 leafCount) internal {
        vm.prank(registry.keyOf(gateway));
        dataAnchor.anchor(gateway, root, leafCount);
    }

    function _expectRevertFrom(address sender, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(sender);
    }

    function _hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _copy(bytes32[] memory a) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i; i < a.length; ++i) b[i] = a[i];
    }
}
