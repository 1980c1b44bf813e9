// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Fuzz tests for SummaryLedger's contract blocks on the harness (SummaryLedgerHarness.sol): random
// summaries, lifetimes and times for statements 2/3 (one block per summary; a second open is a
// no-op, an expired block is extended, an expired accomplished one is not), 5 (a duplicate summary
// is refused, whichever block it is sent to), 6 (an ending tag sets F for good), the block id
// layout, cleanup (only the block's own summaries are freed), the open submitted only by the node
// the quorum named responsible, and escrows per payer whose deadline is the block's expiry when
// funded (an extension moves neither the refund nor the end of the confirmations).

import {ISummaryLedger} from "../../../contracts/interfaces/ISummaryLedger.sol";
import {LedgerTestBase} from "./SummaryLedgerHarness.sol";

contract SummaryLedgerFuzzTest is LedgerTestBase {
    function setUp() public {
        vm.warp(1_700_000_000);
        _deployLayer();
    }

    /// Statements 2/3: the first open creates the block (id = node ‖ sequence), a second open of
    /// the same summary by any member returns it unchanged, after expiry it is extended.
    function testFuzz_openCreatesOneBlockPerSummary(bytes32 summary, uint8 a, uint8 b, uint32 lifetime) public {
        vm.assume(summary != 0);
        uint256 life = _bound(lifetime, 1, 30 days);
        address first = _nodes[a % MEMBERS];
        bytes32 id = _open(first, summary, life);
        _check(id == bytes32((uint256(uint160(first)) << 96) | 1), "block id is node and sequence");
        _check(_open(_nodes[b % MEMBERS], summary, life) == id, "second open is a no-op");
        _eq(ledger.getBlock(id).expiry, block.timestamp + life, "no-op changed the expiry");
        vm.warp(block.timestamp + life);
        _check(_open(_nodes[b % MEMBERS], summary, life) == id, "expired block is extended, not re-created");
        ISummaryLedger.ContractBlock memory blk = ledger.getBlock(id);
        _eq(blk.expiry, block.timestamp + life, "extended expiry");
        _check(blk.responsible == first, "extension keeps the responsible node");
        (bytes32 owner, ) = ledger.summaryOf(summary);
        _check(owner == id, "summary belongs to its block");
    }

    /// Statement 5: a summary already recorded (in this block or another) is refused, not moved.
    function testFuzz_duplicateSummaryRefused(bytes32 s1, bytes32 s2, bytes32 s3, bool sameBlock) public {
        vm.assume(s1 != 0 && s2 != 0 && s3 != 0 && s1 != s2 && s1 != s3 && s2 != s3);
        bytes32 a = _open(_nodes[0], s1, 1 hours);
        bytes32 b = _open(_nodes[1], s2, 1 hours);
        vm.prank(_nodes[0]);
        _check(ledger.record(a, s3, false), "fresh summary recorded");
        (bytes32 target, address responsible) = sameBlock ? (a, _nodes[0]) : (b, _nodes[1]);
        vm.warp(block.timestamp + 1);
        vm.prank(responsible);
        _check(!ledger.record(target, s3, false), "duplicate refused");
        vm.prank(responsible);
        _check(!ledger.record(target, s1, false), "a block's first summary refused");
        (bytes32 owner, uint40 time) = ledger.summaryOf(s3);
        _check(owner == a && time == block.timestamp - 1, "duplicate moved the summary");
    }

    /// Statement 6: after an ending tag nothing more is recorded and F stays set; once expired,
    /// the contract's first summary again is a replay: the block is not extended.
    function testFuzz_endingTagIsFinal(bytes32 s1, bytes32 s2, bytes32 s3, uint32 wait) public {
        vm.assume(s1 != 0 && s2 != 0 && s3 != 0 && s1 != s2 && s1 != s3 && s2 != s3);
        bytes32 id = _open(_nodes[2], s1, 1 hours);
        vm.prank(_nodes[2]);
        ledger.record(id, s2, true);
        _check(ledger.getBlock(id).accomplished, "F set");
        vm.prank(_nodes[2]);
        vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerBlockAccomplished.selector, id));
        ledger.record(id, s3, false);
        uint40 expiry = ledger.getBlock(id).expiry;
        vm.warp(block.timestamp + 1 hours + _bound(wait, 0, 30 days));
        _check(_open(_nodes[3], s1, 1 hours) == id, "a replay returns the ended block");
        ISummaryLedger.ContractBlock memory blk = ledger.getBlock(id);
        _check(blk.accomplished, "F kept");
        _eq(blk.expiry, expiry, "an ended contract was extended");
        _check(blk.responsible == _nodes[2], "responsible kept");
    }

    /// The open names its responsible node: any other member submitting the quorum's attestation
    /// (to create or to extend the block) is refused.
    function testFuzz_onlyTheNamedNodeSubmitsTheOpen(bytes32 summary, uint8 named, uint8 other, uint32 life) public {
        vm.assume(summary != 0);
        uint256 lifetime = _bound(life, 1, 30 days);
        address responsible = _nodes[named % MEMBERS];
        address thief = _nodes[other % MEMBERS];
        if (thief == responsible) thief = _nodes[(uint256(other) + 1) % MEMBERS];
        ISummaryLedger.OpenRequest memory request = _request(responsible, summary, lifetime);
        (uint256 signers, bytes memory signature) = _quorumAttest(ledger.openDigest(request));
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerNotOpener.selector, thief, responsible));
        ledger.open(request, signers, signature);
        vm.prank(responsible);
        bytes32 id = ledger.open(request, signers, signature);
        _check(ledger.getBlock(id).responsible == responsible, "the named node is responsible");
        // expired: an extension named for one node is not the thief's either
        vm.warp(block.timestamp + lifetime);
        request = _request(responsible, summary, lifetime);
        (signers, signature) = _quorumAttest(ledger.openDigest(request));
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerNotOpener.selector, thief, responsible));
        ledger.open(request, signers, signature);
        vm.prank(responsible);
        _check(ledger.open(request, signers, signature) == id, "extended by the named node");
        _eq(ledger.getBlock(id).expiry, block.timestamp + lifetime, "extended expiry");
    }

    /// Escrows: one per payer in a block; the deadline is the expiry at funding, kept through an
    /// extension: the refund comes at it, the confirmations end at it.
    function testFuzz_escrowDeadlineKeptThroughExtension(uint32 life, uint32 extra, uint96 a, uint96 b) public {
        uint256 lifetime = _bound(life, 2, 30 days);
        uint256 amountA = _bound(a, 1, 100 ether);
        uint256 amountB = _bound(b, 1, 100 ether);
        (address payerA, address payerB, address provider) = (address(0xA0), address(0xA1), address(0xB0));
        vm.deal(payerA, amountA + 1);
        vm.deal(payerB, amountB);
        bytes32 summary = keccak256(abi.encode("escrow fuzz", life, extra));
        bytes32 id = _open(_nodes[0], summary, lifetime);
        uint40 deadline = ledger.getBlock(id).expiry;
        vm.prank(payerB);
        ledger.escrow{value: amountB}(id, address(0xB1), address(0), amountB); // another payer first
        vm.prank(payerA);
        ledger.escrow{value: amountA}(id, provider, address(0), amountA);
        _eq(ledger.escrowOf(id, payerA).deadline, deadline, "deadline is the expiry at funding");
        _check(ledger.escrowOf(id, payerB).provider == address(0xB1), "the other payer's escrow kept");
        vm.prank(payerA);
        vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerEscrowExists.selector, id, payerA));
        ledger.escrow{value: 1}(id, provider, address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerEscrowNotExpired.selector, id, payerA, deadline));
        ledger.refund(id, payerA);
        // expired, then extended by a new first communication, then accomplished
        vm.warp(deadline);
        _open(_nodes[1], summary, _bound(extra, 1, 30 days));
        _check(ledger.getBlock(id).expiry > deadline, "extended");
        vm.prank(_nodes[0]);
        ledger.record(id, keccak256(abi.encode("escrow fuzz end", life, extra)), true);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerEscrowExpired.selector, id, payerA, deadline));
        ledger.confirm(id, payerA);
        ledger.refund(id, payerA);
        _eq(payerA.balance, amountA + 1, "refunded at the escrow's deadline");
        _check(ledger.escrowOf(id, payerA).settled, "settled");
        _check(!ledger.escrowOf(id, payerB).settled, "the other payer's escrow untouched");
        _eq(address(ledger).balance, amountB, "the ledger holds the other escrow");
    }

    /// Cleanup frees only the listed summaries of that block; another block's summary is refused.
    function testFuzz_cleanupFreesOnlyItsOwn(bytes32 s1, bytes32 s2, bytes32 other, bool listOther) public {
        vm.assume(s1 != 0 && s2 != 0 && other != 0 && s1 != s2 && s1 != other && s2 != other);
        bytes32 id = _open(_nodes[0], s1, 1 hours);
        vm.prank(_nodes[0]);
        ledger.record(id, s2, false);
        bytes32 foreign = _open(_nodes[1], other, 1 hours);
        vm.warp(block.timestamp + 1 hours);
        bytes32[] memory list = new bytes32[](listOther ? 2 : 1);
        list[0] = s1;
        if (listOther) {
            list[1] = other;
            vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerSummaryNotInBlock.selector, id, other));
            ledger.cleanup(id, list);
            return;
        }
        ledger.cleanup(id, list);
        (bytes32 freed, ) = ledger.summaryOf(s1);
        (bytes32 kept, ) = ledger.summaryOf(s2);
        (bytes32 untouched, ) = ledger.summaryOf(other);
        _check(freed == 0 && kept == id && untouched == foreign, "cleanup freed the wrong summaries");
        _check(ledger.getBlock(id).responsible == address(0), "block deleted");
        _check(ledger.getBlock(foreign).responsible == _nodes[1], "other block kept");
    }
}
