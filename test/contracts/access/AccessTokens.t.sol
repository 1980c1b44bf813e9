// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Fuzz tests for AccessTokens (seed 004 §IV): only the resource's owner mints; access holds exactly
// inside [start, end) for any shift; any two shifts are accepted iff they do not overlap (with the
// exact error otherwise); every transfer but the current holder's return to the owner reverts with
// the exact error, and so does every approval; a hand-over moves access from one crew to the next
// at once; only the current holder returns a token; and the current shift found by the contract's
// binary search over up to 16 queued shifts is the one a linear scan finds, at any time.

import {AccessTokens} from "../../../contracts/access/AccessTokens.sol";
import {IAccessTokens} from "../../../contracts/interfaces/IAccessTokens.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceId} from "../../../contracts/libraries/DeviceIds.sol";
import {AccessTestBase, OwnerOracle} from "./AccessTokensHandler.sol";

contract AccessTokensTest is AccessTestBase {
    bytes32 internal constant RESOURCE = keccak256("resource: stream");
    address internal constant OWNER = address(0xA11CE);
    address internal constant CREW_A = address(0xC1);
    address internal constant CREW_B = address(0xC2);

    OwnerOracle internal oracle;
    AccessTokens internal tokens;
    uint256 internal token;

    function setUp() public {
        vm.warp(START);
        oracle = new OwnerOracle();
        tokens = _deploy(oracle);
        oracle.setOwner(DeviceId.wrap(RESOURCE), OWNER);
        vm.prank(OWNER);
        token = tokens.mint(RESOURCE);
    }

    // ==================================================================== mint

    function testFuzz_mint_refusesAnyoneButTheResourceOwner(address sender) public {
        vm.assume(sender != OWNER);
        vm.expectRevert(abi.encodeWithSelector(IAccessTokens.AccessTokensNotResourceOwner.selector, RESOURCE, sender));
        vm.prank(sender);
        tokens.mint(RESOURCE);
    }

    function testFuzz_mint_refusesUnknownResources(bytes32 resource) public {
        vm.assume(resource != RESOURCE);
        vm.expectRevert(abi.encodeWithSelector(IAccessTokens.AccessTokensNotResourceOwner.selector, resource, OWNER));
        vm.prank(OWNER);
        tokens.mint(resource);
    }

    /// A resource the registry has in any status but Active (pending, suspended, blocked, revoked)
    /// gets no token, even from its owner.
    function testFuzz_mint_revertsWithResourceNotActive_unlessActive(uint8 statusSeed) public {
        IDeviceRegistry.Status status = IDeviceRegistry.Status(1 + (statusSeed % 5));
        oracle.setStatus(DeviceId.wrap(RESOURCE), status);
        vm.prank(OWNER);
        if (status == IDeviceRegistry.Status.Active) {
            tokens.mint(RESOURCE);
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(IAccessTokens.AccessTokensResourceNotActive.selector, RESOURCE, status)
            );
            tokens.mint(RESOURCE);
        }
    }

    /// Inside a current shift, access follows the resource's registry status, and comes back with it.
    function testFuzz_hasAccess_onlyWhileTheResourceIsActive(uint8 statusSeed, uint32 into) public {
        vm.prank(OWNER);
        tokens.scheduleShift(token, CREW_A, uint40(START), uint40(START + 1 days));
        vm.warp(START + (into % 1 days));
        IDeviceRegistry.Status status = IDeviceRegistry.Status(statusSeed % 6);
        oracle.setStatus(DeviceId.wrap(RESOURCE), status);
        bool active = status == IDeviceRegistry.Status.Active;
        _check(tokens.hasAccess(RESOURCE, CREW_A) == active, "access differs from the resource's status");
        (uint256 tokenId, ) = tokens.shiftOf(RESOURCE, CREW_A);
        _check((tokenId != 0) == active, "shiftOf differs from the resource's status");
        IAccessTokens.TokenState memory state = tokens.currentShift(token);
        _check(state.resourceStatus == status && state.holder == CREW_A, "currentShift hides the status or the shift");
        oracle.setStatus(DeviceId.wrap(RESOURCE), IDeviceRegistry.Status.Active);
        _check(tokens.hasAccess(RESOURCE, CREW_A), "access did not come back with the status");
    }

    // ============================================================ scheduleShift

    function testFuzz_scheduleShift_grantsAccessExactlyInside(
        uint256 startSeed,
        uint256 lengthSeed,
        uint256 probeSeed
    ) public {
        uint40 start = uint40(_bound(startSeed, START - 1 days, START + 30 days));
        uint40 end = start + uint40(_bound(lengthSeed, 1, 7 days));
        vm.assume(end > START);
        vm.prank(OWNER);
        IAccessTokens.Shift memory stored = tokens.scheduleShift(token, CREW_A, start, end);
        _eq(stored.start, start < START ? START : start, "a past start is not clamped to now");

        uint256 probe = _bound(probeSeed, START, uint256(end) + 1 days);
        vm.warp(probe);
        bool inside = stored.start <= probe && probe < end;
        _check(tokens.hasAccess(RESOURCE, CREW_A) == inside, "access outside the shift or none inside");
        _check(!tokens.hasAccess(RESOURCE, CREW_B), "access without a shift");
        _check(tokens.holderOf(token) == (inside ? CREW_A : OWNER), "holder is neither the crew nor the owner");
    }

    function testFuzz_scheduleShift_acceptsASecondShiftIffDisjoint(
        uint256 aStart,
        uint256 aLength,
        uint256 bStart,
        uint256 bLength
    ) public {
        uint40 a0 = uint40(_bound(aStart, START, START + 2 days));
        uint40 a1 = a0 + uint40(_bound(aLength, 1, 1 days));
        uint40 b0 = uint40(_bound(bStart, START, START + 2 days));
        uint40 b1 = b0 + uint40(_bound(bLength, 1, 1 days));
        vm.prank(OWNER);
        tokens.scheduleShift(token, CREW_A, a0, a1);
        bool overlap = b0 < a1 && a0 < b1;
        if (overlap) {
            vm.expectRevert(
                abi.encodeWithSelector(IAccessTokens.AccessTokensShiftOverlap.selector, token, b0, b1, a0, a1)
            );
        }
        vm.prank(OWNER);
        tokens.scheduleShift(token, CREW_B, b0, b1);
        IAccessTokens.Shift[] memory shifts = tokens.shifts(token);
        _eq(shifts.length, overlap ? 1 : 2, "shift count");
        if (!overlap) _check(shifts[0].end <= shifts[1].start, "shifts out of order or overlapping");
    }

    // ================================================= transfers and approvals

    function testFuzz_transferFrom_refusesAllButTheHoldersReturnToOwner(
        address sender,
        address from,
        address to
    ) public {
        vm.prank(OWNER);
        tokens.scheduleShift(token, CREW_A, uint40(START), uint40(START + 8 hours));
        bool valid = sender == CREW_A && from == CREW_A && to == OWNER;
        if (!valid) {
            bytes memory expected =
                (to != OWNER || from != sender || from == OWNER)
                    ? abi.encodeWithSelector(IAccessTokens.AccessTokensTransferRefused.selector, token, from, to)
                    : abi.encodeWithSelector(IAccessTokens.AccessTokensUnauthorizedHolder.selector, token, sender);
            vm.expectRevert(expected);
        }
        vm.prank(sender);
        tokens.transferFrom(from, to, token);
        _check(tokens.ownerOf(token) == OWNER, "the owner of record changed");
        _check(tokens.hasAccess(RESOURCE, CREW_A) == !valid, "a return left access, or a refusal took it");
    }

    function testFuzz_safeTransferFrom_refusesAnyoneButTheOwnerAsRecipient(address to, bytes calldata data) public {
        vm.assume(to != OWNER);
        vm.prank(OWNER);
        tokens.scheduleShift(token, CREW_A, uint40(START), uint40(START + 8 hours));
        vm.expectRevert(abi.encodeWithSelector(IAccessTokens.AccessTokensTransferRefused.selector, token, CREW_A, to));
        vm.prank(CREW_A);
        tokens.safeTransferFrom(CREW_A, to, token, data);
    }

    function testFuzz_approve_isAlwaysRefused(address sender, address to) public {
        vm.expectRevert(abi.encodeWithSelector(IAccessTokens.AccessTokensApprovalRefused.selector, token, to));
        vm.prank(sender);
        tokens.approve(to, token);
    }

    function testFuzz_setApprovalForAll_isAlwaysRefused(address sender, address operator, bool approved) public {
        vm.expectRevert(abi.encodeWithSelector(IAccessTokens.AccessTokensOperatorRefused.selector, sender, operator));
        vm.prank(sender);
        tokens.setApprovalForAll(operator, approved);
    }

    // ============================================================ hand-over

    function testFuzz_handOver_movesAccessFromOneCrewToTheNextAtOnce(uint256 elapsedSeed, uint256 lengthSeed) public {
        vm.prank(OWNER);
        tokens.scheduleShift(token, CREW_A, uint40(START), uint40(START + 8 hours));
        uint40 when = uint40(START + _bound(elapsedSeed, 0, 10 hours));
        uint40 end = when + uint40(_bound(lengthSeed, 1, 12 hours));
        vm.warp(when);
        vm.prank(OWNER);
        address previous = tokens.handOver(token, CREW_B, end);
        _check(previous == (when < START + 8 hours ? CREW_A : address(0)), "previous holder");
        _check(!tokens.hasAccess(RESOURCE, CREW_A), "the previous crew kept access");
        _check(tokens.hasAccess(RESOURCE, CREW_B), "the next crew has no access");
        IAccessTokens.Shift[] memory shifts = tokens.shifts(token);
        _eq(shifts.length, 1, "one shift left");
        _check(shifts[0].holder == CREW_B && shifts[0].start == when && shifts[0].end == end, "the new shift");
        vm.warp(end);
        _check(!tokens.hasAccess(RESOURCE, CREW_B), "access after the shift's end");
    }

    // ============================================================ returnToOwner

    function testFuzz_returnToOwner_onlyByTheCurrentHolder(address sender) public {
        vm.prank(OWNER);
        tokens.scheduleShift(token, CREW_A, uint40(START), uint40(START + 8 hours));
        if (sender != CREW_A) {
            vm.expectRevert(
                abi.encodeWithSelector(IAccessTokens.AccessTokensUnauthorizedHolder.selector, token, sender)
            );
        }
        vm.prank(sender);
        tokens.returnToOwner(token);
        _check(tokens.hasAccess(RESOURCE, CREW_A) == (sender != CREW_A), "return did not end the shift");
    }

    // ======================================================= the current shift

    /// Up to 16 shifts with random lengths and gaps; at a random time, the contract's holder is the
    /// one a linear scan of the schedule finds, and the listed shifts are those not yet ended.
    function testFuzz_holderOf_matchesALinearScanAtAnyTime(uint256 seed, uint8 count, uint256 probeSeed) public {
        uint256 n = _bound(count, 1, MAX_SHIFTS);
        IAccessTokens.Shift[] memory batch = new IAccessTokens.Shift[](n);
        uint256 cursor = START;
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            cursor += (r % 3 == 0) ? 0 : _bound(r >> 8, 1, 2 hours); // sometimes back to back
            uint256 end = cursor + _bound(r >> 64, 1, 6 hours);
            batch[i] = IAccessTokens.Shift({
                holder: address(uint160(0xC000 + ((r >> 128) % 5))),
                start: uint40(cursor),
                end: uint40(end)
            });
            cursor = end;
        }
        vm.prank(OWNER);
        tokens.scheduleShifts(token, batch);

        uint256 probe = _bound(probeSeed, START, cursor + 1 hours);
        vm.warp(probe);
        address expected = OWNER;
        uint256 upcoming;
        for (uint256 i; i < n; ++i) {
            if (batch[i].start <= probe && probe < batch[i].end) expected = batch[i].holder;
            if (batch[i].end > probe) ++upcoming;
        }
        _check(tokens.holderOf(token) == expected, "holder differs from a linear scan");
        _eq(tokens.shifts(token).length, upcoming, "listed shifts differ from the ones not ended");
        IAccessTokens.TokenState memory state = tokens.currentShift(token);
        _check(state.holder == (expected == OWNER ? address(0) : expected), "currentShift differs");
        if (expected != OWNER) _check(tokens.hasAccess(RESOURCE, expected), "no access for the current holder");
    }
}
