// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// The handler of the SummaryLedger invariant tests. It drives a four-member layer on the harness
// (SummaryLedgerHarness.sol: real membership and quorum rules, a stand-in for the pairing) and
// (deployed by the test) through `open` (the request naming its submitter as the responsible node,
// or one time in eight another node), `record`, `takeOver`, `cleanup` and `invalidate` (by all the
// others, one short of the others' quorum, or with the judged member among the signers),
// self-examination's `superiorLost` and `reattach` (to the superior, another layer or none), and
// the settlement's `escrow`, `confirm` and `refund` (ETH, two payers each with its own escrow in a
// block, two providers) with random nodes, summaries (fresh, from a small pool, already recorded,
// zero), expiries, deadlines, source layers (the subordinate, the superior, another layer, an
// unknown one) and attestations (the valid members, one signer short of the quorum, an invalid
// member or an outsider among them, a signature over another digest), and warps time. Opens that
// succeed from the ledger's superior while it is frozen are counted. It predicts every outcome (the
// exact custom error, or which of statement 3's branches a second `open` takes: a no-op, an
// extension, or a replay of a cleaned or accomplished block, and the block id) from its own ghost
// state, and counts each disagreement. K is per block: a summary recorded into one block (even
// another block's first or following summary, copied by its responsible node) neither refuses nor
// diverts any other block's, and only an attested open makes a summary opened. An expired block is
// extendable for EXTENSION_WINDOW (some warps jump past it), then final; only a final block is
// cleaned, its listed summaries freed, its opening kept (its first packet stays a replay). An
// escrow's deadline is the block's expiry when it was funded: a later extension moves neither its
// refund nor the end of its confirmations.

import {ISummaryLedger} from "../../../contracts/interfaces/ISummaryLedger.sol";
import {LedgerTestBase, SummaryLedgerHarness} from "./SummaryLedgerHarness.sol";

contract SummaryLedgerHandler is LedgerTestBase {
    /// @dev What the handler saw of one summary in one block's K: its time while it is there.
    struct SummaryGhost {
        uint40 time;
        bool live;
    }

    /// @dev A (block, summary) pair the handler saw recorded.
    struct Entry {
        bytes32 blockId;
        bytes32 summary;
    }

    /// @dev What the handler saw of one block.
    struct BlockGhost {
        address responsible;
        uint40 expiry;
        bool accomplished;
        bool cleaned;
        bytes32[] summaries;
    }

    /// @dev What the handler saw of one payer's escrow in a block (ETH).
    struct EscrowGhost {
        address payer;
        address provider;
        uint256 amount;
        uint40 deadline;
        bool payerConfirmed;
        bool providerConfirmed;
        bool settled;
        uint256 payouts;
    }

    /// @dev An escrow the handler funded: its block and its payer.
    struct EscrowKey {
        bytes32 blockId;
        address payer;
    }

    enum Attestation {
        Valid,
        Short,
        Outsider,
        WrongDigest
    }

    uint256 internal constant POOL = 8;
    /// @dev Each payer's balance at the start.
    uint256 public constant PURSE = 1_000_000 ether;
    address internal constant PAYER_0 = address(0xA000);
    address internal constant PAYER_1 = address(0xA001);
    address internal constant PROVIDER_0 = address(0xB000);
    address internal constant PROVIDER_1 = address(0xB001);
    /// @dev The layer `reattach` may move to besides the original superior.
    bytes32 internal constant SUPERIOR_B = keccak256("strata.test.ledger.L2-bis");

    mapping(bytes32 blockId => mapping(bytes32 summary => SummaryGhost)) internal _summaryGhosts;
    mapping(bytes32 summary => bytes32 blockId) internal _openingGhosts;
    mapping(bytes32 blockId => BlockGhost) internal _blockGhosts;
    mapping(address node => uint256 seq) internal _seqs;
    bytes32[] internal _seen;
    Entry[] internal _entries;
    bytes32[] internal _blockIds;
    uint256 internal _validMask = (1 << MEMBERS) - 1;
    uint256 internal _fresh;
    mapping(bytes32 blockId => mapping(address payer => EscrowGhost)) internal _escrowGhosts;
    EscrowKey[] internal _escrowed;
    /// @dev ETH each party escrowed, was refunded, was paid as provider.
    mapping(address account => uint256 wei_) public funded;
    mapping(address account => uint256 wei_) public refunded;
    mapping(address account => uint256 wei_) public released;

    /// @dev A call succeeded where it had to fail, failed with another error, or returned another
    /// block id or result than the rules give.
    uint256 public mismatches;
    uint256 public opened;
    uint256 public secondOpens;
    uint256 public recorded;
    uint256 public replays;
    uint256 public accomplishments;
    uint256 public takeovers;
    uint256 public cleanups;
    uint256 public refused;
    /// @dev Records of a summary another block's K holds (a copy): accepted into this block alone.
    uint256 public copies;
    /// @dev Blocks that became final past the extension window (opens then replays; cleanups allowed).
    uint256 public windowReplays;
    /// @dev Cleanups refused because the expired block could still be extended.
    uint256 public extendableCleanups;

    uint256 public settlements;
    /// @dev Opens refused because another node than the request's responsible one submitted them.
    uint256 public notOpener;
    /// @dev Second opens of an expired accomplished block (a replay, not an extension).
    uint256 public endedReplays;
    /// @dev Refunds of an escrow whose block was extended past its deadline.
    uint256 public refundsOfExtended;
    /// @dev Blocks holding escrows of both payers at once.
    uint256 public sharedBlocks;
    uint256 public invalidations;
    /// @dev Members tagged invalid by the two others of three valid members.
    uint256 public invalidationsAtThree;

    /// @dev The superior layer the handler saw set (zero: none) and whether it was found lost.
    bytes32 public superiorId = SUPERIOR;
    bool public superiorFrozen;
    uint256 public alarms;
    uint256 public reattachments;
    /// @dev Blocks opened or extended from the ledger's superior while the ledger said it was
    /// frozen (read from the ledger before each call, not from the ghost).
    uint256 public frozenOpens;

    /// @param ledger_ A layer deployed by `_deployLayer` (deployed outside: the handler stays small).
    constructor(SummaryLedgerHarness ledger_) {
        ledger = ledger_;
        _setNodes();
        vm.deal(PAYER_0, PURSE);
        vm.deal(PAYER_1, PURSE);
    }

    // ------------------------------------------------------------- views for invariants

    function target() external view returns (ISummaryLedger) {
        return ledger;
    }

    function escrowed() external view returns (EscrowKey[] memory) {
        return _escrowed;
    }

    function escrowGhost(bytes32 blockId, address payer) external view returns (EscrowGhost memory) {
        return _escrowGhosts[blockId][payer];
    }

    function parties() external pure returns (address[4] memory) {
        return [PAYER_0, PAYER_1, PROVIDER_0, PROVIDER_1];
    }

    function seen() external view returns (bytes32[] memory) {
        return _seen;
    }

    function entries() external view returns (Entry[] memory) {
        return _entries;
    }

    function openingGhost(bytes32 summary) external view returns (bytes32) {
        return _openingGhosts[summary];
    }

    function blockIds() external view returns (bytes32[] memory) {
        return _blockIds;
    }

    function summaryGhost(bytes32 blockId, bytes32 summary) external view returns (SummaryGhost memory) {
        return _summaryGhosts[blockId][summary];
    }

    function blockGhost(bytes32 blockId) external view returns (BlockGhost memory) {
        return _blockGhosts[blockId];
    }

    /// @notice The fixed summaries every run draws from, recorded or not.
    function pool(uint256 i) public pure returns (bytes32) {
        return keccak256(abi.encode("strata.test.ledger.pool", i));
    }

    // ------------------------------------------------------------------ actions

    function open(uint256 nodeSeed, uint256 summarySeed, uint256 expirySeed, uint256 attSeed) external {
        address sender = _sender(nodeSeed);
        bytes32 summary = _summary(summarySeed);
        // One time in four, when there are escrows, the first summary of an escrowed block again (a
        // no-op, an extension past the escrow's deadline, or the replay of an ended contract).
        if ((summarySeed >> 128) % 4 == 0 && _escrowed.length != 0) {
            summary = _blockGhosts[_escrowed[(summarySeed >> 130) % _escrowed.length].blockId].summaries[0];
        }
        uint256 now_ = block.timestamp;
        uint40 expiry = uint40(expirySeed % 8 == 0 ? now_ : now_ + _bound(expirySeed >> 3, 1, 2 days));
        uint40 deadline = uint40(now_ + (expiry - now_) / 2);
        if (attSeed % 8 == 1) deadline = uint40(now_ - 1);
        if (attSeed % 8 == 2) deadline = expiry + 1;
        // The quorum names the submitter, or (1 in 8) another node, which the sender then front-runs.
        address responsible = (nodeSeed >> 8) % 8 == 0 ? _sender(nodeSeed >> 11) : sender;
        ISummaryLedger.OpenRequest memory request = ISummaryLedger.OpenRequest({
            summary: summary,
            sourceLayer: _source(attSeed % 16),
            route: keccak256(abi.encode("strata.test.ledger.route", attSeed)),
            responsible: responsible,
            expiry: expiry,
            deadline: deadline
        });
        bytes32 digest = ledger.openDigest(request);
        (uint256 signers, bytes memory signature, Attestation kind) = _attest(digest, attSeed >> 4);
        (bytes memory expected, bytes32 expectedId, bool creates, bool extends) = _predictOpen(
            request,
            sender,
            digest,
            signers,
            kind
        );
        bool fromFrozen = ledger.isSuperiorFrozen() && request.sourceLayer == ledger.superior().layerId;
        vm.prank(sender);
        try ledger.open(request, signers, signature) returns (bytes32 blockId) {
            if (expected.length != 0 || blockId != expectedId) {
                mismatches++;
                return;
            }
            if (fromFrozen && (creates || extends)) frozenOpens++;
            if (creates) {
                _seqs[sender]++;
                _blockIds.push(blockId);
                BlockGhost storage g = _blockGhosts[blockId];
                g.responsible = sender;
                g.expiry = expiry;
                _openingGhosts[summary] = blockId;
                _recorded(blockId, summary);
                opened++;
            } else {
                BlockGhost storage g = _blockGhosts[blockId];
                if (extends) g.expiry = expiry;
                else if (g.accomplished && !g.cleaned) endedReplays++;
                else if (!g.cleaned && g.expiry + ledger.EXTENSION_WINDOW() <= block.timestamp) windowReplays++;
                secondOpens++;
            }
        } catch (bytes memory reason) {
            if (keccak256(reason) == keccak256(expected) && bytes4(reason) == ISummaryLedger.LedgerNotOpener.selector) {
                notOpener++;
            }
            _refused(expected, reason);
        }
    }

    function record(uint256 blockSeed, uint256 summarySeed, bool ending, uint256 senderSeed) external {
        bytes32 blockId = _block(blockSeed);
        address sender = senderSeed % 4 == 0 ? _sender(senderSeed >> 2) : _blockGhosts[blockId].responsible;
        if (sender == address(0)) sender = STRANGER;
        bytes32 summary = _summary(summarySeed);
        bytes memory expected = _predictRecord(blockId, summary, sender);
        bool fresh = !_summaryGhosts[blockId][summary].live;
        bool copy = fresh && _isRecordedAnywhere(summary);
        vm.prank(sender);
        try ledger.record(blockId, summary, ending) returns (bool ok) {
            if (expected.length != 0 || ok != fresh) {
                mismatches++;
                return;
            }
            if (!ok) {
                replays++;
                return;
            }
            _recorded(blockId, summary);
            recorded++;
            if (copy) copies++;
            if (ending) {
                _blockGhosts[blockId].accomplished = true;
                accomplishments++;
            }
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    function takeOver(uint256 blockSeed, uint256 newSeed, uint256 attSeed, uint256 senderSeed) external {
        bytes32 blockId = _block(blockSeed);
        address responsible = _sender(newSeed);
        address sender = senderSeed % 4 == 0 ? _sender(senderSeed >> 2) : responsible;
        bytes32 digest = ledger.takeOverDigest(blockId, responsible);
        (uint256 signers, bytes memory signature, Attestation kind) = _attest(digest, attSeed);
        bytes memory expected;
        BlockGhost storage g = _blockGhosts[blockId];
        if (g.responsible == address(0) || g.cleaned) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerUnknownBlock.selector, blockId);
        } else if (!_isValid(responsible)) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerNotMember.selector, responsible);
        } else if (sender != responsible || _isValid(g.responsible)) {
            expected = _attestationError(digest, signers, kind);
        }
        vm.prank(sender);
        try ledger.takeOver(blockId, responsible, signers, signature) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            g.responsible = responsible;
            takeovers++;
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    function cleanup(uint256 blockSeed, uint256 countSeed, uint256 foreignSeed) external {
        bytes32 blockId = _block(blockSeed);
        BlockGhost storage g = _blockGhosts[blockId];
        uint256 n = g.summaries.length;
        uint256 k = countSeed % (n + 1);
        bool foreign = foreignSeed % 4 == 0;
        bytes32[] memory list = new bytes32[](k + (foreign ? 1 : 0));
        for (uint256 i; i < k; ++i) list[i] = g.summaries[(countSeed >> 8) % n == 0 ? i : n - 1 - i];
        if (foreign) list[k] = _summary(foreignSeed >> 2);
        bytes memory expected;
        if (g.responsible == address(0) || g.cleaned) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerUnknownBlock.selector, blockId);
        } else if (g.expiry > block.timestamp) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerBlockNotExpired.selector, blockId, g.expiry);
        } else if (!g.accomplished && g.expiry + ledger.EXTENSION_WINDOW() > block.timestamp) {
            expected = abi.encodeWithSelector(
                ISummaryLedger.LedgerBlockExtendable.selector,
                blockId,
                g.expiry + ledger.EXTENSION_WINDOW()
            );
        } else {
            for (uint256 i; i < list.length && expected.length == 0; ++i) {
                SummaryGhost memory s = _summaryGhosts[blockId][list[i]];
                bool repeated;
                for (uint256 j; j < i; ++j) repeated = repeated || list[j] == list[i];
                if (!s.live || repeated) {
                    expected = abi.encodeWithSelector(
                        ISummaryLedger.LedgerSummaryNotInBlock.selector,
                        blockId,
                        list[i]
                    );
                }
            }
        }
        vm.prank(_sender(foreignSeed >> 128)); // anyone may clean
        try ledger.cleanup(blockId, list) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            g.cleaned = true;
            for (uint256 i; i < list.length; ++i) _summaryGhosts[blockId][list[i]].live = false;
            cleanups++;
        } catch (bytes memory reason) {
            if (bytes4(reason) == ISummaryLedger.LedgerBlockExtendable.selector) extendableCleanups++;
            _refused(expected, reason);
        }
    }

    /// @notice The others tag a member invalid (never below two valid members): all of them, or
    /// (1 in 4) one short of their quorum (the quorum of the valid members other than the judged
    /// one); one time in four the judged member signs its own verdict too.
    function invalidate(uint256 indexSeed) external {
        uint256 index = indexSeed % (MEMBERS + 1);
        uint256 valid;
        for (uint256 x = _validMask; x != 0; x &= x - 1) ++valid;
        if (valid <= 2) return;
        bool judgedSigns = (indexSeed >> 8) % 4 == 0;
        bool short = (indexSeed >> 10) % 4 == 0;
        bytes32 digest = ledger.invalidateDigest(index);
        uint256 signers = _validMask & ~(1 << index);
        uint256 others;
        for (uint256 x = signers; x != 0; x &= x - 1) ++others;
        uint256 quorum = others - (others - 1) / 3;
        if (short) {
            for (uint256 i = others - quorum + 1; i != 0; --i) signers &= signers - 1;
        }
        if (judgedSigns) signers |= 1 << index;
        bytes memory signature = ledger.mockSignature(digest, signers);
        bytes memory expected;
        if (index >= MEMBERS || _validMask & (1 << index) == 0) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerInvalidMemberIndex.selector, index);
        } else if (judgedSigns) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerJudgedMemberSigned.selector, index);
        } else if (short) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerQuorumNotReached.selector, quorum - 1, quorum);
        }
        try ledger.invalidate(index, signers, signature) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            _validMask &= ~(1 << index);
            invalidations++;
            if (valid == 3) invalidationsAtThree++;
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    /// @notice Self-examination's alarm: the quorum (or a bad attestation) declares the superior lost.
    function superiorLost(uint256 attSeed) external {
        bytes32 digest = ledger.superiorLostDigest();
        (uint256 signers, bytes memory signature, Attestation kind) = _attest(digest, attSeed);
        bytes memory expected;
        if (superiorId == 0) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerNoSuperior.selector);
        } else if (superiorFrozen) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerSuperiorFrozen.selector, superiorId);
        } else {
            expected = _attestationError(digest, signers, kind);
        }
        try ledger.superiorLost(signers, signature) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            superiorFrozen = true;
            alarms++;
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    /// @notice The quorum re-attaches the layer: to the same superior, to another layer, or (one
    /// time in eight) to none.
    function reattach(uint256 linkSeed, uint256 attSeed) external {
        uint256 pick = linkSeed % 8;
        ISummaryLedger.LayerLink memory link;
        if (pick != 0) {
            link = ISummaryLedger.LayerLink({
                layerId: pick < 4 ? SUPERIOR : SUPERIOR_B,
                ledger: pick < 4 ? address(0x5C) : address(0x5D),
                chainId: block.chainid
            });
        }
        bytes32 digest = ledger.reattachDigest(link);
        (uint256 signers, bytes memory signature, Attestation kind) = _attest(digest, attSeed);
        bytes memory expected = _attestationError(digest, signers, kind);
        try ledger.reattach(link, signers, signature) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            superiorId = link.layerId;
            superiorFrozen = false;
            reattachments++;
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    /// @notice A payer escrows ETH in a block (a provider, zero, or itself as the provider; the
    /// amount or the value sometimes wrong). Each payer has its own escrow in a block: the other
    /// payer's does not stand in its way.
    function fund(uint256 blockSeed, uint256 amountSeed, uint256 partySeed) external {
        bytes32 blockId = _block(blockSeed);
        address payer = partySeed % 2 == 0 ? PAYER_0 : PAYER_1;
        uint256 p = (partySeed >> 1) % 8;
        address provider =
            p == 0
                ? payer
                : p == 1
                    ? address(0)
                    : (p % 2 == 0 ? PROVIDER_0 : PROVIDER_1);
        uint256 amount = amountSeed % 8 == 0 ? 0 : _bound(amountSeed >> 3, 1, 10 ether);
        uint256 value = (amountSeed >> 3) % 8 == 1 ? amount + 1 : amount;
        BlockGhost storage g = _blockGhosts[blockId];
        bytes memory expected;
        if (g.responsible == address(0) || g.cleaned) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerUnknownBlock.selector, blockId);
        } else if (g.expiry <= block.timestamp) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerBlockExpired.selector, blockId, g.expiry);
        } else if (g.accomplished) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerBlockAccomplished.selector, blockId);
        } else if (_escrowGhosts[blockId][payer].payer != address(0)) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerEscrowExists.selector, blockId, payer);
        } else if (amount == 0 || provider == address(0) || provider == payer) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerInvalidEscrow.selector, provider, amount);
        } else if (value != amount) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerWrongValue.selector, amount, value);
        }
        vm.prank(payer);
        try ledger.escrow{value: value}(blockId, provider, address(0), amount) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            _escrowGhosts[blockId][payer] = EscrowGhost(payer, provider, amount, g.expiry, false, false, false, 0);
            _escrowed.push(EscrowKey(blockId, payer));
            funded[payer] += amount;
            address other = payer == PAYER_0 ? PAYER_1 : PAYER_0;
            if (_escrowGhosts[blockId][other].payer != address(0)) sharedBlocks++;
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    /// @notice The payer, the provider, the other payer or a stranger confirms a payer's escrow.
    function confirm(uint256 escrowSeed, uint256 partySeed) external {
        (bytes32 blockId, address payer) = _escrowKey(escrowSeed);
        EscrowGhost storage e = _escrowGhosts[blockId][payer];
        uint256 who = partySeed % 6;
        address sender =
            who < 2
                ? payer
                : who < 4
                    ? e.provider
                    : who == 4
                        ? (payer == PAYER_0 ? PAYER_1 : PAYER_0)
                        : STRANGER;
        if (sender == address(0)) sender = STRANGER;
        BlockGhost storage g = _blockGhosts[blockId];
        bool isPayer = sender == payer;
        bytes memory expected;
        if (e.payer == address(0)) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerNoEscrow.selector, blockId, payer);
        } else if (e.settled) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerEscrowSettled.selector, blockId, payer);
        } else if (e.deadline <= block.timestamp) {
            // whatever the block's expiry since (an extension does not reopen the confirmations)
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerEscrowExpired.selector, blockId, payer, e.deadline);
        } else if (!g.accomplished || g.cleaned) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerBlockNotAccomplished.selector, blockId);
        } else if (!isPayer && sender != e.provider) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerNotParty.selector, blockId, sender);
        } else if (isPayer ? e.payerConfirmed : e.providerConfirmed) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerAlreadyConfirmed.selector, blockId, sender);
        }
        vm.prank(sender);
        try ledger.confirm(blockId, payer) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            if (isPayer) e.payerConfirmed = true;
            else e.providerConfirmed = true;
            if (e.payerConfirmed && e.providerConfirmed) {
                e.settled = true;
                e.payouts++;
                released[e.provider] += e.amount;
                settlements++;
            }
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    /// @notice Anyone asks for a payer's escrow back.
    function refund(uint256 escrowSeed, uint256 senderSeed) external {
        (bytes32 blockId, address payer) = _escrowKey(escrowSeed);
        EscrowGhost storage e = _escrowGhosts[blockId][payer];
        bytes memory expected;
        if (e.payer == address(0)) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerNoEscrow.selector, blockId, payer);
        } else if (e.settled) {
            expected = abi.encodeWithSelector(ISummaryLedger.LedgerEscrowSettled.selector, blockId, payer);
        } else if (e.deadline > block.timestamp) {
            // the escrow's own deadline, not the block's current expiry
            expected = abi.encodeWithSelector(
                ISummaryLedger.LedgerEscrowNotExpired.selector,
                blockId,
                payer,
                e.deadline
            );
        }
        vm.prank(_sender(senderSeed));
        try ledger.refund(blockId, payer) {
            if (expected.length != 0) {
                mismatches++;
                return;
            }
            e.settled = true;
            e.payouts++;
            refunded[payer] += e.amount;
            settlements++;
            BlockGhost storage g = _blockGhosts[blockId];
            if (!g.cleaned && g.expiry > e.deadline) refundsOfExtended++;
        } catch (bytes memory reason) {
            _refused(expected, reason);
        }
    }

    /// @notice Time passes: up to a day, or (1 in 8) past the extension window.
    function warp(uint256 secondsAhead) external {
        if (secondsAhead % 8 == 0)
            vm.warp(block.timestamp + ledger.EXTENSION_WINDOW() + ((secondsAhead >> 3) % 1 days));
        else vm.warp(block.timestamp + _bound(secondsAhead, 1, 1 days));
    }

    // ------------------------------------------------------------------ predictions

    function _predictOpen(
        ISummaryLedger.OpenRequest memory request,
        address sender,
        bytes32 digest,
        uint256 signers,
        Attestation kind
    ) internal view returns (bytes memory expected, bytes32 blockId, bool creates, bool extends) {
        if (request.summary == 0) {
            return (abi.encodeWithSelector(ISummaryLedger.LedgerZeroSummary.selector), 0, false, false);
        }
        if (!_isValid(sender)) {
            return (abi.encodeWithSelector(ISummaryLedger.LedgerNotMember.selector, sender), 0, false, false);
        }
        // Only an attested open makes a summary opened: a copy in some block's K does not count.
        bytes32 opened_ = _openingGhosts[request.summary];
        if (opened_ != 0) {
            BlockGhost storage g = _blockGhosts[opened_];
            // statement 3: a no-op (live), a replay of a final block (cleaned, ended, or past the
            // extension window), or an extension
            bool final_ = g.cleaned || g.accomplished || g.expiry + ledger.EXTENSION_WINDOW() <= block.timestamp;
            if ((!g.cleaned && g.expiry > block.timestamp) || final_) return ("", opened_, false, false);
            return (_openChecks(request, sender, digest, signers, kind), opened_, false, true);
        }
        blockId = bytes32((uint256(uint160(sender)) << 96) | (_seqs[sender] + 1));
        return (_openChecks(request, sender, digest, signers, kind), blockId, true, false);
    }

    function _openChecks(
        ISummaryLedger.OpenRequest memory request,
        address sender,
        bytes32 digest,
        uint256 signers,
        Attestation kind
    ) internal view returns (bytes memory) {
        if (request.expiry <= block.timestamp || request.deadline > request.expiry) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerInvalidExpiry.selector, request.expiry);
        }
        if (request.deadline < block.timestamp) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerAttestationExpired.selector, request.deadline);
        }
        if (request.responsible != sender) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerNotOpener.selector, sender, request.responsible);
        }
        if (request.sourceLayer != SUB) {
            if (superiorId == 0 || request.sourceLayer != superiorId) {
                return abi.encodeWithSelector(ISummaryLedger.LedgerUnknownLayer.selector, request.sourceLayer);
            }
            if (superiorFrozen) {
                return abi.encodeWithSelector(ISummaryLedger.LedgerSuperiorFrozen.selector, request.sourceLayer);
            }
        }
        return _attestationError(digest, signers, kind);
    }

    function _predictRecord(bytes32 blockId, bytes32 summary, address sender) internal view returns (bytes memory) {
        BlockGhost storage g = _blockGhosts[blockId];
        if (g.responsible == address(0) || g.cleaned) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerUnknownBlock.selector, blockId);
        }
        if (g.responsible != sender) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerNotResponsible.selector, blockId, sender, g.responsible);
        }
        if (g.expiry <= block.timestamp) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerBlockExpired.selector, blockId, g.expiry);
        }
        if (g.accomplished) return abi.encodeWithSelector(ISummaryLedger.LedgerBlockAccomplished.selector, blockId);
        if (summary == 0) return abi.encodeWithSelector(ISummaryLedger.LedgerZeroSummary.selector);
        return "";
    }

    function _attestationError(bytes32 digest, uint256 signers, Attestation kind) internal view returns (bytes memory) {
        if (kind == Attestation.Outsider) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerSignersNotMembers.selector, signers & ~_validMask);
        }
        if (kind == Attestation.Short) {
            uint256 valid;
            for (uint256 x = _validMask; x != 0; x &= x - 1) ++valid;
            uint256 quorum = valid - (valid - 1) / 3;
            return abi.encodeWithSelector(ISummaryLedger.LedgerQuorumNotReached.selector, quorum - 1, quorum);
        }
        if (kind == Attestation.WrongDigest) {
            return abi.encodeWithSelector(ISummaryLedger.LedgerInvalidAttestation.selector, digest);
        }
        return "";
    }

    // ------------------------------------------------------------------ helpers

    /// @dev The valid members (5 in 8), one short of the quorum, with an invalid member or an
    /// outsider, or over another digest.
    function _attest(
        bytes32 digest,
        uint256 seed
    ) internal view returns (uint256 signers, bytes memory signature, Attestation kind) {
        uint256 pick = seed % 8;
        kind = pick < 5 ? Attestation.Valid : Attestation(pick - 4);
        signers = _validMask;
        if (kind == Attestation.Short) {
            uint256 valid;
            for (uint256 x = _validMask; x != 0; x &= x - 1) ++valid;
            uint256 drop = valid - (valid - (valid - 1) / 3) + 1; // valid - quorum + 1
            for (uint256 i; i < drop; ++i) signers &= signers - 1;
        } else if (kind == Attestation.Outsider) {
            uint256 invalid = ((1 << MEMBERS) - 1) & ~_validMask;
            signers |= invalid != 0 && seed % 16 < 8 ? invalid & (~invalid + 1) : 1 << (MEMBERS + ((seed >> 4) % 60));
        }
        signature = ledger.mockSignature(
            kind == Attestation.WrongDigest ? keccak256(abi.encode(digest)) : digest,
            signers
        );
    }

    /// @dev A source layer: unknown (1 in 16), the original superior (2 in 16), the other layer
    /// `reattach` may move to (1 in 16), else the subordinate.
    function _source(uint256 pick) internal pure returns (bytes32) {
        if (pick == 3) return UNKNOWN_LAYER;
        if (pick == 4 || pick == 5) return SUPERIOR;
        if (pick == 6) return SUPERIOR_B;
        return SUB;
    }

    function _isValid(address node) internal view returns (bool) {
        for (uint256 i; i < MEMBERS; ++i) {
            if (_nodes[i] == node) return _validMask & (1 << i) != 0;
        }
        return false;
    }

    /// @dev A member (valid or not) or, one time in five, a stranger.
    function _sender(uint256 seed) internal view returns (address) {
        uint256 i = seed % (MEMBERS + 1);
        return i == MEMBERS ? STRANGER : _nodes[i];
    }

    /// @dev Zero (1 in 16), a pool summary, one already recorded, or a fresh one.
    function _summary(uint256 seed) internal returns (bytes32) {
        if (seed % 16 == 0) return bytes32(0);
        uint256 pick = seed % 4;
        if (pick == 1) return pool((seed >> 8) % POOL);
        if (pick == 2 && _seen.length != 0) return _seen[(seed >> 8) % _seen.length];
        return keccak256(abi.encode("strata.test.ledger.fresh", ++_fresh));
    }

    /// @dev A block the handler opened (cleaned ones included) or, 1 in 16, an unknown id.
    function _block(uint256 seed) internal view returns (bytes32) {
        if (seed % 16 == 0 || _blockIds.length == 0) return keccak256(abi.encode("strata.test.ledger.block", seed));
        return _blockIds[(seed >> 4) % _blockIds.length];
    }

    /// @dev An escrow the handler funded (3 in 4, when there is one), or any block with either payer
    /// (which may have no escrow there).
    function _escrowKey(uint256 seed) internal view returns (bytes32 blockId, address payer) {
        if (seed % 4 == 0 || _escrowed.length == 0) {
            return (_block(seed >> 3), (seed >> 2) % 2 == 0 ? PAYER_0 : PAYER_1);
        }
        EscrowKey storage k = _escrowed[(seed >> 2) % _escrowed.length];
        return (k.blockId, k.payer);
    }

    function _recorded(bytes32 blockId, bytes32 summary) internal {
        if (!_isRecordedAnywhere(summary)) _seen.push(summary);
        _seenIn[summary] = true;
        _entries.push(Entry({blockId: blockId, summary: summary}));
        _summaryGhosts[blockId][summary] = SummaryGhost({time: uint40(block.timestamp), live: true});
        _blockGhosts[blockId].summaries.push(summary);
    }

    mapping(bytes32 summary => bool) internal _seenIn;

    function _isRecordedAnywhere(bytes32 summary) internal view returns (bool) {
        return _seenIn[summary];
    }

    function _refused(bytes memory expected, bytes memory reason) internal {
        if (expected.length == 0 || keccak256(reason) != keccak256(expected)) mismatches++;
        else refused++;
    }
}
