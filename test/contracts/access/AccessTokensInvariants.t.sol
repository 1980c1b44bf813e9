// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Invariant tests for AccessTokens (seed 004 §IV). The fuzzer calls only AccessTokensHandler,
// which drives tokens through random mints, schedules, hand-overs, shift and token revocations,
// early returns, transfers and approvals of every kind, registry transfers with reclaims and time
// warps, while keeping its own model of every token's shifts. After each call:
//   (a) a token is only ever held by its owner or by the holder of a shift scheduled on it (the
//       model's current holder, or the owner between shifts), and its owner is the model's;
//   (b) shifts never overlap: each token's current and upcoming shifts are sorted, each starts
//       before it ends, each ends before the next starts, at most 16 — exactly the model's;
//   (c) no access outside a shift: for every resource and account, `hasAccess` and `shiftOf` are
//       true exactly when the account holds the current shift of a live token of that resource;
//   (d) only transfers back to the owner succeed: every transfer but the current holder's return
//       to the owner was refused, that return never was, and no approval ever succeeded;
//   (e) every action succeeded or failed as the model predicts, and each resource's live tokens
//       are the model's (at most 8).

import {AccessTokens} from "../../../contracts/access/AccessTokens.sol";
import {IAccessTokens} from "../../../contracts/interfaces/IAccessTokens.sol";
import {AccessTestBase, AccessTokensHandler, OwnerOracle} from "./AccessTokensHandler.sol";

contract AccessTokensInvariantTest is AccessTestBase {
    /// @dev forge-std's StdInvariant.FuzzSelector, read by the invariant runner.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    AccessTokensHandler internal handler;
    AccessTokens internal tokens;

    function setUp() public {
        vm.warp(START);
        OwnerOracle oracle = new OwnerOracle();
        tokens = _deploy(oracle);
        handler = new AccessTokensHandler(oracle, tokens);
        // Start with a token per resource so that every action has something to act on.
        handler.mint(0);
        handler.mint(1);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        bytes4[] memory s = new bytes4[](15);
        s[0] = AccessTokensHandler.mint.selector;
        s[1] = AccessTokensHandler.schedule.selector;
        s[2] = AccessTokensHandler.schedule.selector;
        s[3] = AccessTokensHandler.schedule.selector;
        s[4] = AccessTokensHandler.handOver.selector;
        s[5] = AccessTokensHandler.handOver.selector;
        s[6] = AccessTokensHandler.revokeShift.selector;
        s[7] = AccessTokensHandler.revoke.selector;
        s[8] = AccessTokensHandler.returnToOwner.selector;
        s[9] = AccessTokensHandler.transfer.selector;
        s[10] = AccessTokensHandler.approve.selector;
        s[11] = AccessTokensHandler.transferResource.selector;
        s[12] = AccessTokensHandler.warp.selector;
        s[13] = AccessTokensHandler.warp.selector;
        s[14] = AccessTokensHandler.setStatus.selector;
        targets[0] = FuzzSelector({addr: address(handler), selectors: s});
    }

    // ---------------------------------------------------------------- invariants

    /// (a) Held only by the owner or a scheduled holder.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_heldOnlyByOwnerOrScheduledHolder() public view {
        uint256[] memory minted = handler.minted();
        for (uint256 i; i < minted.length; ++i) {
            uint256 tokenId = minted[i];
            address holder = tokens.holderOf(tokenId);
            if (!handler.isLive(tokenId)) {
                _check(holder == address(0), "a revoked token is held");
                continue;
            }
            address owner = tokens.ownerOf(tokenId);
            _check(owner == handler.ownerOfToken(tokenId), "owner differs from the model");
            address expected = handler.currentHolder(tokenId);
            _check(holder == (expected == address(0) ? owner : expected), "holder differs from the model");
            _check(holder == owner || handler.everScheduled(tokenId, holder), "held by an account never scheduled");
            _check(tokens.balanceOf(holder) == 0 || holder == owner, "a holder owns tokens");
        }
    }

    /// (b) Shifts never overlap, and are the model's.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_shiftsNeverOverlap() public view {
        uint256[] memory minted = handler.minted();
        for (uint256 i; i < minted.length; ++i) {
            uint256 tokenId = minted[i];
            IAccessTokens.Shift[] memory shifts = tokens.shifts(tokenId);
            if (!handler.isLive(tokenId)) {
                _eq(shifts.length, 0, "a revoked token lists shifts");
                continue;
            }
            AccessTokensHandler.Interval[] memory model = handler.liveIntervals(tokenId);
            _eq(shifts.length, model.length, "shift count differs from the model");
            _check(shifts.length <= MAX_SHIFTS, "more than 16 shifts");
            for (uint256 k; k < shifts.length; ++k) {
                IAccessTokens.Shift memory s = shifts[k];
                _check(s.start < s.end, "a shift does not start before it ends");
                _check(s.end > _now(), "an ended shift is listed");
                _check(s.holder != address(0) && s.holder != tokens.ownerOf(tokenId), "invalid holder stored");
                if (k > 0) _check(shifts[k - 1].end <= s.start, "shifts overlap");
                _check(
                    s.holder == model[k].holder && s.start == model[k].start && s.end == model[k].end,
                    "shift differs from the model"
                );
            }
        }
    }

    /// (c) No access outside a shift, nor through a resource the registry does not have Active.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_noAccessOutsideShift() public view {
        bytes32[2] memory resources = handler.resources();
        address[7] memory accounts = handler.accounts();
        uint256[] memory minted = handler.minted();
        for (uint256 r; r < 2; ++r) {
            for (uint256 a; a < accounts.length; ++a) {
                uint256 grantedBy;
                for (uint256 i; i < minted.length; ++i) {
                    uint256 id = minted[i];
                    if (!handler.isLive(id) || handler.resourceOfToken(id) != resources[r]) continue;
                    if (handler.currentHolder(id) == accounts[a]) grantedBy = id;
                }
                bool access = tokens.hasAccess(resources[r], accounts[a]);
                _check(
                    access == (grantedBy != 0 && handler.isActive(resources[r])),
                    "hasAccess differs from the model"
                );
                (uint256 tokenId, IAccessTokens.Shift memory current) = tokens.shiftOf(resources[r], accounts[a]);
                _check((tokenId != 0) == access, "shiftOf disagrees with hasAccess");
                if (tokenId != 0) {
                    _check(
                        handler.currentHolder(tokenId) == accounts[a],
                        "shiftOf names a token the account does not hold"
                    );
                    _check(
                        current.start <= _now() && _now() < current.end,
                        "shiftOf returns a shift that is not current"
                    );
                }
            }
        }
    }

    /// (d) Only transfers back to the owner succeed; nobody is ever approved.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_onlyReturnsToOwnerSucceed() public view {
        _eq(handler.wrongTransfersAccepted(), 0, "a transfer other than a return to the owner succeeded");
        _eq(handler.returnsRefused(), 0, "the holder's return to the owner was refused");
        _eq(handler.approvalsAccepted(), 0, "an approval succeeded");
    }

    /// (e) Outcomes as the model predicts; live tokens per resource as the model's.
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_outcomesMatchModel() public view {
        _eq(handler.mismatches(), 0, "an action's outcome differs from the model");
        bytes32[2] memory resources = handler.resources();
        uint256[] memory minted = handler.minted();
        for (uint256 r; r < 2; ++r) {
            uint256[] memory listed = tokens.tokensOf(resources[r]);
            _check(listed.length <= MAX_TOKENS, "more than 8 live tokens");
            uint256 live;
            for (uint256 i; i < minted.length; ++i) {
                if (handler.isLive(minted[i]) && handler.resourceOfToken(minted[i]) == resources[r]) ++live;
            }
            _eq(listed.length, live, "live tokens differ from the model");
            for (uint256 k; k < listed.length; ++k) {
                _check(handler.isLive(listed[k]), "a revoked token is listed");
                _check(handler.resourceOfToken(listed[k]) == resources[r], "a token is listed under another resource");
                _check(tokens.resourceOf(listed[k]) == resources[r], "resourceOf disagrees");
            }
        }
    }
}
