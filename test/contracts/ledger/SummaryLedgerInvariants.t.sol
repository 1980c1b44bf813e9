// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Invariant tests for SummaryLedger (seed 003 §IV.B). The fuzzer calls only SummaryLedgerHandler,
// which opens blocks, records following and ending summaries, moves responsibility, cleans expired
// blocks, tags members invalid, declares the superior lost and re-attaches with random inputs (see
// its header); after each call:
//   (a) every call succeeded or failed exactly as the rules say (statements 1-6, the open submitted
//       by the responsible node the quorum named, no extension of an ended contract, takeover,
//       cleanup, the invalid tag by the others' quorum, escrows per payer with their deadlines);
//   (b) a summary is never recorded twice in a block's K: each (block, summary) recorded keeps
//       the time of its first record until a cleanup lists it (then it is freed), whatever `open`
//       or `record` was called with it since, in that block or any other;
//   (c) F (accomplished) never reverts to false: a block seen accomplished stays so until it is
//       cleaned, and a cleaned block's id is never reused;
//   (d) a block's summaries all belong to it, and its responsible node and expiry are the ones
//       the handler saw set;
//   (e) escrowed value is conserved: the ledger holds exactly the unsettled escrows (every
//       (block, payer) pair the handler funded), each escrow is paid out at most once, its record
//       (payer, provider, amount, deadline, settled) is the one funded, and every party's balance
//       is what it escrowed, was refunded and was released, no more;
//   (f) no block is opened or extended from a superior found lost: while the ledger says its
//       superior is frozen, no open from that layer succeeds; the frozen flag and the superior are
//       the ones the handler saw set (`superiorLost` freezes, `reattach` unfreezes);
//   (g) an open is never diverted: a summary is opened exactly when an attested open created its
//       block, in that block, for good (cleanup keeps it), whatever any block's K holds;
//   (h) a cleanup changes no one's next move: every block cleaned was final (accomplished or past
//       the extension window), so `open` answered its first summary as a replay before and after.

import {ISummaryLedger} from "../../../contracts/interfaces/ISummaryLedger.sol";
import {LedgerTestBase} from "./SummaryLedgerHarness.sol";
import {SummaryLedgerHandler} from "./SummaryLedgerHandler.sol";

contract SummaryLedgerInvariantTest is LedgerTestBase {
    /// @dev forge-std's StdInvariant.FuzzSelector, read by the invariant runner.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    SummaryLedgerHandler internal handler;
    ISummaryLedger internal target;

    function setUp() public {
        vm.warp(1_700_000_000);
        _deployLayer();
        handler = new SummaryLedgerHandler(ledger);
        target = ledger;
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        bytes4[] memory s = new bytes4[](17);
        // record weighs three times as much as the rare moves, open twice.
        s[0] = SummaryLedgerHandler.open.selector;
        s[1] = SummaryLedgerHandler.open.selector;
        s[2] = SummaryLedgerHandler.record.selector;
        s[3] = SummaryLedgerHandler.record.selector;
        s[4] = SummaryLedgerHandler.record.selector;
        s[5] = SummaryLedgerHandler.takeOver.selector;
        s[6] = SummaryLedgerHandler.cleanup.selector;
        s[7] = SummaryLedgerHandler.cleanup.selector;
        s[8] = SummaryLedgerHandler.invalidate.selector;
        s[9] = SummaryLedgerHandler.warp.selector;
        s[10] = SummaryLedgerHandler.fund.selector;
        s[11] = SummaryLedgerHandler.fund.selector;
        s[12] = SummaryLedgerHandler.confirm.selector;
        s[13] = SummaryLedgerHandler.confirm.selector;
        s[14] = SummaryLedgerHandler.refund.selector;
        s[15] = SummaryLedgerHandler.superiorLost.selector;
        s[16] = SummaryLedgerHandler.reattach.selector;
        targets[0] = FuzzSelector({addr: address(handler), selectors: s});
    }

    // ---------------------------------------------------------------- invariants

    /// (a) Every call's outcome is the one the rules give.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_outcomesFollowTheRules() public view {
        _eq(handler.mismatches(), 0, "outcome differs from the rules");
    }

    /// (b) A summary is never recorded twice in a block's K.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_summaryNeverRecordedTwice() public view {
        SummaryLedgerHandler.Entry[] memory all = handler.entries();
        for (uint256 i; i < all.length; ++i) {
            SummaryLedgerHandler.SummaryGhost memory g = handler.summaryGhost(all[i].blockId, all[i].summary);
            uint40 time = target.summaryOf(all[i].blockId, all[i].summary);
            if (g.live) _eq(time, g.time, "summary time changed");
            else _eq(time, 0, "a freed summary is still recorded");
        }
    }

    /// (g) An open is never diverted: opened exactly by an attested open, in its block, for good.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_openingNeverDiverted() public view {
        bytes32[] memory all = handler.seen();
        for (uint256 i; i < all.length; ++i) {
            (bytes32 blockId, ) = target.openingOf(all[i]);
            _check(blockId == handler.openingGhost(all[i]), "a summary's opening differs from its attested open");
        }
        for (uint256 i; i < 8; ++i) {
            (bytes32 blockId, ) = target.openingOf(handler.pool(i));
            _check(blockId == handler.openingGhost(handler.pool(i)), "pool summary's opening");
        }
    }

    /// (h) Every cleaned block was final: its first summary is answered as a replay.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_cleanedBlocksWereFinal() public view {
        bytes32[] memory ids = handler.blockIds();
        for (uint256 i; i < ids.length; ++i) {
            SummaryLedgerHandler.BlockGhost memory g = handler.blockGhost(ids[i]);
            if (!g.cleaned) continue;
            _check(
                g.accomplished || uint256(g.expiry) + target.EXTENSION_WINDOW() <= block.timestamp,
                "a block was cleaned while it could still be extended"
            );
            (bytes32 blockId, ) = target.openingOf(g.summaries[0]);
            _check(blockId == ids[i], "a cleaned block lost its opening");
        }
    }

    /// (c) F never reverts to false.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_accomplishedNeverRevertsToFalse() public view {
        bytes32[] memory ids = handler.blockIds();
        for (uint256 i; i < ids.length; ++i) {
            SummaryLedgerHandler.BlockGhost memory g = handler.blockGhost(ids[i]);
            ISummaryLedger.ContractBlock memory b = target.getBlock(ids[i]);
            if (g.cleaned) {
                _check(b.responsible == address(0) && !b.accomplished, "a cleaned block came back");
            } else {
                _check(b.accomplished == g.accomplished, "F differs from the ending tags recorded");
            }
        }
    }

    /// (d) A block's summaries all belong to it; its responsible node and expiry are the handler's.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_blockSummariesBelongToIt() public view {
        bytes32[] memory ids = handler.blockIds();
        for (uint256 i; i < ids.length; ++i) {
            SummaryLedgerHandler.BlockGhost memory g = handler.blockGhost(ids[i]);
            if (g.cleaned) continue;
            ISummaryLedger.ContractBlock memory b = target.getBlock(ids[i]);
            _check(b.responsible == g.responsible, "responsible differs");
            _eq(b.expiry, g.expiry, "expiry differs");
            _check(g.summaries.length != 0, "a block without its first summary");
            for (uint256 j; j < g.summaries.length; ++j) {
                _check(target.summaryOf(ids[i], g.summaries[j]) != 0, "a block's summary is missing from its K");
            }
        }
    }

    /// (e) Escrowed value is conserved: paid out at most once, to the party the rules name.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_escrowIsConserved() public view {
        SummaryLedgerHandler.EscrowKey[] memory keys = handler.escrowed();
        uint256 held;
        for (uint256 i; i < keys.length; ++i) {
            SummaryLedgerHandler.EscrowGhost memory g = handler.escrowGhost(keys[i].blockId, keys[i].payer);
            ISummaryLedger.Escrow memory e = target.escrowOf(keys[i].blockId, keys[i].payer);
            _check(g.payouts <= 1, "an escrow paid out twice");
            _check(
                e.settled == g.settled && e.amount == g.amount && e.payer == keys[i].payer && g.payer == keys[i].payer,
                "escrow record differs"
            );
            _check(e.provider == g.provider && e.deadline == g.deadline, "escrow terms or deadline differ");
            if (!g.settled) held += g.amount;
        }
        _eq(address(target).balance, held, "ledger balance differs from the unsettled escrows");
        address[4] memory parties = handler.parties();
        for (uint256 i; i < 2; ++i) {
            address payer = parties[i];
            _eq(
                payer.balance,
                handler.PURSE() - handler.funded(payer) + handler.refunded(payer),
                "payer balance differs"
            );
            _eq(handler.released(payer), 0, "a payer was paid as provider");
            address provider = parties[i + 2];
            _eq(provider.balance, handler.released(provider), "provider balance differs");
        }
    }

    /// (f) No block is opened from a frozen superior; the frozen flag and the superior are the handler's.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_noBlockFromFrozenSuperior() public view {
        _eq(handler.frozenOpens(), 0, "a block opened from a frozen superior");
        _check(target.isSuperiorFrozen() == handler.superiorFrozen(), "frozen flag differs");
        _check(target.superior().layerId == handler.superiorId(), "superior differs");
    }
}
