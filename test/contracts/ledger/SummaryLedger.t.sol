// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Fuzz tests for SummaryLedger's contract blocks on the harness (SummaryLedgerHarness.sol): random
// summaries, lifetimes and times for statements 2/3 (one block per summary; a second open is a
// no-op, an expired block is extended within the extension window, an expired accomplished one is
// not), 5 (a summary already in the block's K is refused; K is the block's own, so a copy in
// another block neither refuses it nor diverts an open), 6 (an ending tag sets F for good), the
// block id layout, cleanup (only final blocks, only the block's own summaries are freed, and open
// answers the same before and after), the open submitted only by the node the quorum named
// responsible, and escrows per payer whose deadline is the block's expiry when funded (an extension
// moves neither the refund nor the end of the confirmations).

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
        (bytes32 owner, ) = ledger.openingOf(summary);
        _check(owner == id, "summary opened its block");
        _check(ledger.summaryOf(id, summary) != 0, "the first summary is in K");
    }

    /// Statement 5: a summary already in the block's K (a following one, or its first) is
    /// refused and not moved; another block's K plays no part (a copy there refuses nothing).
    function testFuzz_duplicateSummaryRefused(bytes32 s1, bytes32 s2, bytes32 s3, bool sameBlock) public {
        vm.assume(s1 != 0 && s2 != 0 && s3 != 0 && s1 != s2 && s1 != s3 && s2 != s3);
        bytes32 a = _open(_nodes[0], s1, 1 hours);
        bytes32 b = _open(_nodes[1], s2, 1 hours);
        vm.prank(_nodes[0]);
        _check(ledger.record(a, s3, false), "fresh summary recorded");
        uint40 first = ledger.summaryOf(a, s3);
        _check(first != 0, "recorded with its time");
        vm.warp(block.timestamp + 1);
        vm.prank(_nodes[0]);
        _check(!ledger.record(a, s3, false), "duplicate refused");
        vm.prank(_nodes[0]);
        _check(!ledger.record(a, s1, false), "a block's first summary refused");
        _eq(ledger.summaryOf(a, s3), first, "duplicate moved the summary");
        if (!sameBlock) {
            // b's responsible node copies a's summaries into b: b's K takes them, a's is untouched
            vm.prank(_nodes[1]);
            _check(ledger.record(b, s3, false), "another block's K took the copy");
            vm.prank(_nodes[1]);
            _check(ledger.record(b, s1, false), "another block's first summary is only a copy there");
            _eq(ledger.summaryOf(a, s3), first, "the copy moved the summary");
            _eq(ledger.summaryOf(b, s3), uint256(first) + 1, "the copy's own time");
            (bytes32 opened, ) = ledger.openingOf(s1);
            _check(opened == a, "the copy diverted the opening");
        }
    }

    /// Summary injection: the responsible node of one block records another contract's first
    /// summary and following summary into its own block first; the attested open still creates the
    /// contract's own block, whose N_r then records the following summary.
    function testFuzz_copyIntoOwnBlockDivertsNothing(bytes32 mine, bytes32 victim, bytes32 next, bool ending) public {
        vm.assume(mine != 0 && victim != 0 && next != 0 && mine != victim && mine != next && victim != next);
        bytes32 own = _open(_nodes[1], mine, 1 hours);
        vm.prank(_nodes[1]);
        ledger.record(own, victim, false);
        vm.prank(_nodes[1]);
        ledger.record(own, next, ending);
        bytes32 id = _open(_nodes[0], victim, 1 hours);
        _check(id != own && ledger.getBlock(id).responsible == _nodes[0], "the open was diverted");
        vm.prank(_nodes[0]);
        _check(ledger.record(id, next, false), "the copy refused the real record");
        _check(ledger.getBlock(own).responsible == _nodes[1], "the member's block changed");
    }

    /// Cleanup changes no one's next move: an expired block that is not accomplished is cleaned
    /// only past the extension window; until then its first communication extends it, and after it
    /// open answers a replay whether or not the block was cleaned.
    function testFuzz_cleanupOnlyWhenFinal(bytes32 summary, uint32 life, uint32 wait) public {
        vm.assume(summary != 0);
        uint256 lifetime = _bound(life, 1, 30 days);
        bytes32 id = _open(_nodes[0], summary, lifetime);
        uint256 expiry = ledger.getBlock(id).expiry;
        uint256 window = ledger.EXTENSION_WINDOW();
        vm.warp(expiry + _bound(wait, 0, 2 * window));
        bool final_ = block.timestamp >= expiry + window;
        if (!final_) {
            vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerBlockExtendable.selector, id, expiry + window));
            ledger.cleanup(id, new bytes32[](0));
            _check(_open(_nodes[2], summary, lifetime) == id, "extended");
            _eq(ledger.getBlock(id).expiry, block.timestamp + lifetime, "extended expiry");
            return;
        }
        _check(_open(_nodes[2], summary, lifetime) == id, "a final block's replay names it");
        _eq(ledger.getBlock(id).expiry, expiry, "a final block was extended");
        bytes32[] memory list = new bytes32[](1);
        list[0] = summary;
        ledger.cleanup(id, list);
        _check(_open(_nodes[2], summary, lifetime) == id, "after cleanup: the same replay");
        _check(ledger.getBlock(id).responsible == address(0), "a cleaned block came back");
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
        vm.warp(block.timestamp + 1 hours + ledger.EXTENSION_WINDOW());
        bytes32[] memory list = new bytes32[](listOther ? 2 : 1);
        list[0] = s1;
        if (listOther) {
            list[1] = other;
            vm.expectRevert(abi.encodeWithSelector(ISummaryLedger.LedgerSummaryNotInBlock.selector, id, other));
            ledger.cleanup(id, list);
            return;
        }
        ledger.cleanup(id, list);
        uint40 freed = ledger.summaryOf(id, s1);
        uint40 kept = ledger.summaryOf(id, s2);
        uint40 untouched = ledger.summaryOf(foreign, other);
        _check(freed == 0 && kept != 0 && untouched != 0, "cleanup freed the wrong summaries");
        (bytes32 opening, ) = ledger.openingOf(s1);
        _check(opening == id, "cleanup removed the opening");
        _check(ledger.getBlock(id).responsible == address(0), "block deleted");
        _check(ledger.getBlock(foreign).responsible == _nodes[1], "other block kept");
    }
}
