// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Handler for the AccessTokens invariant tests (seed 004 §IV). Two resources, each owned (in a
// stand-in registry) by one of two owners, four crews and a stranger. The handler mints tokens,
// schedules shifts (valid and invalid: the zero or owner holder, ended, overlapping, too many),
// hands tokens over, revokes shifts and tokens, lets holders return tokens, tries every kind of
// transfer and approval from every kind of account, moves a resource to its other owner (who
// reclaims its tokens) and warps time. It keeps its own model of every token's shifts — every
// interval granted, truncated when a shift ends early — predicts each action's outcome from it and
// counts disagreements; the invariants in AccessTokensInvariants.t.sol compare the contract's
// views with the model after every call.

import {AccessTokens} from "../../../contracts/access/AccessTokens.sol";
import {IAccessTokens} from "../../../contracts/interfaces/IAccessTokens.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceId} from "../../../contracts/libraries/DeviceIds.sol";

/// @dev The cheatcodes these tests use (forge-std is not installed).
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function expectRevert(bytes calldata revertData) external;
    function assume(bool condition) external pure;
}

address constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

/// @dev The two registry functions AccessTokens calls, answered from tables the test sets. A
/// resource given an owner is Active until the test sets another status.
contract OwnerOracle {
    mapping(DeviceId id => address owner) private _owners;
    mapping(DeviceId id => IDeviceRegistry.Status status) private _statuses;

    function setOwner(DeviceId id, address owner) external {
        _owners[id] = owner;
        if (_statuses[id] == IDeviceRegistry.Status.None) _statuses[id] = IDeviceRegistry.Status.Active;
    }

    function setStatus(DeviceId id, IDeviceRegistry.Status status) external {
        _statuses[id] = status;
    }

    function ownerOf(DeviceId id) external view returns (address) {
        return _owners[id];
    }

    function statusOf(DeviceId id) external view returns (IDeviceRegistry.Status) {
        return _statuses[id];
    }
}

/// @dev Helpers shared by the fuzz tests and the handler.
abstract contract AccessTestBase {
    Vm internal constant vm = Vm(VM_ADDRESS);

    uint256 internal constant START = 1_700_000_000;
    uint256 internal constant MAX_SHIFTS = 16;
    uint256 internal constant MAX_TOKENS = 8;

    error AssertionFailed(string what, uint256 actual, uint256 expected);

    function _check(bool ok, string memory what) internal pure {
        if (!ok) revert AssertionFailed(what, 0, 1);
    }

    function _eq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertionFailed(what, actual, expected);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi < lo) revert AssertionFailed("bound", lo, hi);
        return lo + (x % (hi - lo + 1));
    }

    function _now() internal view returns (uint40) {
        return uint40(block.timestamp);
    }

    function _deploy(OwnerOracle oracle) internal returns (AccessTokens) {
        return new AccessTokens(IDeviceRegistry(address(oracle)));
    }
}

contract AccessTokensHandler is AccessTestBase {
    struct Interval {
        address holder;
        uint40 start;
        uint40 end;
    }

    bytes32 internal constant STREAM = keccak256("resource: stream");
    bytes32 internal constant ACTUATOR = keccak256("resource: actuator");
    address internal constant OWNER_A = address(0xA11CE);
    address internal constant OWNER_B = address(0xB0B);
    address internal constant STRANGER = address(0x5757);

    AccessTokens public immutable tokens;
    OwnerOracle public immutable oracle;

    address[4] internal _crews = [address(0xC1), address(0xC2), address(0xC3), address(0xC4)];

    // ------------------------------------------------------------- the model

    uint256[] internal _minted;
    mapping(uint256 tokenId => bool) public isLive;
    mapping(uint256 tokenId => bytes32) public resourceOfToken;
    mapping(uint256 tokenId => address) public ownerOfToken;
    mapping(uint256 tokenId => Interval[]) internal _intervals;
    mapping(uint256 tokenId => mapping(address holder => bool)) public everScheduled;

    /// @dev An action succeeded where the model says it must fail, or the other way round.
    uint256 public mismatches;
    /// @dev A transfer other than the current holder's return to the owner succeeded.
    uint256 public wrongTransfersAccepted;
    /// @dev The current holder's transfer back to the owner was refused.
    uint256 public returnsRefused;
    /// @dev An approval or operator approval succeeded.
    uint256 public approvalsAccepted;

    uint256 public scheduled;
    uint256 public handedOver;
    uint256 public returned;
    uint256 public refused;

    /// @param oracle_ The stand-in registry, whose owner table this handler sets.
    /// @param tokens_ AccessTokens over `oracle_`; both deployed by the test so that the handler's
    /// init code stays small.
    constructor(OwnerOracle oracle_, AccessTokens tokens_) {
        oracle = oracle_;
        tokens = tokens_;
        oracle_.setOwner(DeviceId.wrap(STREAM), OWNER_A);
        oracle_.setOwner(DeviceId.wrap(ACTUATOR), OWNER_B);
    }

    // ------------------------------------------------------------- views

    function minted() external view returns (uint256[] memory) {
        return _minted;
    }

    function resources() external pure returns (bytes32[2] memory) {
        return [STREAM, ACTUATOR];
    }

    /// @notice Every account the handler acts as: the owners, the crews and the stranger.
    function accounts() external view returns (address[7] memory) {
        return [OWNER_A, OWNER_B, _crews[0], _crews[1], _crews[2], _crews[3], STRANGER];
    }

    /// @notice The model's current and upcoming shifts of `tokenId`, sorted by start.
    function liveIntervals(uint256 tokenId) public view returns (Interval[] memory live) {
        Interval[] storage all = _intervals[tokenId];
        uint40 now_ = _now();
        uint256 n;
        for (uint256 i; i < all.length; ++i) if (all[i].end > now_) ++n;
        live = new Interval[](n);
        n = 0;
        for (uint256 i; i < all.length; ++i) {
            if (all[i].end <= now_) continue;
            Interval memory x = all[i];
            uint256 k = n++;
            while (k > 0 && live[k - 1].start > x.start) {
                live[k] = live[k - 1];
                --k;
            }
            live[k] = x;
        }
    }

    /// @notice The model's holder of the current shift of `tokenId` (zero between shifts).
    function currentHolder(uint256 tokenId) public view returns (address) {
        (bool found, uint256 i) = _current(tokenId);
        return found ? _intervals[tokenId][i].holder : address(0);
    }

    // ------------------------------------------------------------- actions

    function mint(uint256 seed) external {
        bytes32 resource = seed % 2 == 0 ? STREAM : ACTUATOR;
        address owner = oracle.ownerOf(DeviceId.wrap(resource));
        bool expected = _liveCount(resource) < MAX_TOKENS && isActive(resource);
        vm.prank(owner);
        try tokens.mint(resource) returns (uint256 tokenId) {
            if (!expected) ++mismatches;
            _minted.push(tokenId);
            isLive[tokenId] = true;
            resourceOfToken[tokenId] = resource;
            ownerOfToken[tokenId] = owner;
        } catch {
            if (expected) ++mismatches;
        }
        // Anyone else is refused.
        vm.prank(STRANGER);
        try tokens.mint(resource) {
            ++mismatches;
        } catch {}
    }

    function schedule(uint256 tokenSeed, uint256 holderSeed, uint256 startSeed, uint256 lengthSeed) external {
        (bool ok, uint256 tokenId) = _pickLive(tokenSeed);
        if (!ok) return;
        address owner = ownerOfToken[tokenId];
        address holder = _holderFrom(holderSeed, owner);
        uint40 now_ = _now();
        // Starting from an hour ago (clamped to now) to three days ahead, lasting up to 4 hours (a
        // day for one seed in five).
        uint40 start = uint40(_bound(startSeed, uint256(now_) - 1 hours, uint256(now_) + 3 days));
        uint40 end = start + uint40(_bound(lengthSeed, 1, lengthSeed % 5 == 0 ? 1 days : 4 hours));
        uint40 stored = start < now_ ? now_ : start;

        bool expected = holder != address(0) && holder != owner && end > now_ && !_overlaps(tokenId, stored, end);
        expected = expected && liveIntervals(tokenId).length < MAX_SHIFTS;
        vm.prank(owner);
        try tokens.scheduleShift(tokenId, holder, start, end) returns (IAccessTokens.Shift memory s) {
            if (!expected || s.start != stored || s.end != end || s.holder != holder) ++mismatches;
            _intervals[tokenId].push(Interval(holder, stored, end));
            everScheduled[tokenId][holder] = true;
            ++scheduled;
        } catch {
            if (expected) ++mismatches;
            ++refused;
        }
    }

    function handOver(uint256 tokenId_, uint256 holderSeed, uint256 lengthSeed) external {
        (bool ok, uint256 tokenId) = _pickLive(tokenId_);
        if (!ok) return;
        address owner = ownerOfToken[tokenId];
        address to = _holderFrom(holderSeed, owner);
        uint40 now_ = _now();
        uint40 end = now_ + uint40(_bound(lengthSeed, 1, 12 hours));
        (bool hasCurrent, uint256 ci) = _current(tokenId);
        (bool hasNext, uint40 nextStart) = _nextStart(tokenId);
        bool expected = to != address(0) && to != owner && (!hasNext || end <= nextStart);
        // Between shifts with a full queue the outcome depends on whether an ended shift is still
        // stored (its word is reused) or not (QueueFull): the model does not know, so either is fine.
        bool either = expected && !hasCurrent && liveIntervals(tokenId).length == MAX_SHIFTS;
        vm.prank(owner);
        try tokens.handOver(tokenId, to, end) returns (address previous) {
            if (!expected) ++mismatches;
            if (previous != (hasCurrent ? _intervals[tokenId][ci].holder : address(0))) ++mismatches;
            if (hasCurrent) _intervals[tokenId][ci].end = now_;
            _intervals[tokenId].push(Interval(to, now_, end));
            everScheduled[tokenId][to] = true;
            ++handedOver;
        } catch {
            if (expected && !either) ++mismatches;
            ++refused;
        }
    }

    function revokeShift(uint256 tokenSeed, uint256 pickSeed) external {
        (bool ok, uint256 tokenId) = _pickLive(tokenSeed);
        if (!ok) return;
        Interval[] storage all = _intervals[tokenId];
        uint40 now_ = _now();
        // Mostly a shift that exists (live or ended); sometimes a start nothing has.
        uint40 start =
            all.length == 0 || pickSeed % 4 == 0
                ? uint40(_bound(pickSeed, now_, uint256(now_) + 1 days))
                : all[pickSeed % all.length].start;
        (bool found, uint256 i) = _liveStarting(tokenId, start);
        vm.prank(ownerOfToken[tokenId]);
        try tokens.revokeShift(tokenId, start) {
            if (!found) {
                ++mismatches;
                return;
            }
            if (start <= now_) {
                all[i].end = now_;
            } else {
                all[i] = all[all.length - 1];
                all.pop();
            }
        } catch {
            if (found) ++mismatches;
            ++refused;
        }
    }

    function revoke(uint256 tokenSeed) external {
        (bool ok, uint256 tokenId) = _pickLive(tokenSeed);
        if (!ok) return;
        vm.prank(ownerOfToken[tokenId]);
        try tokens.revoke(tokenId) {
            isLive[tokenId] = false;
        } catch {
            ++mismatches;
        }
    }

    function returnToOwner(uint256 tokenSeed, uint256 senderSeed) external {
        (bool ok, uint256 tokenId) = _pickLive(tokenSeed);
        if (!ok) return;
        (bool hasCurrent, uint256 ci) = _current(tokenId);
        // Half the time the current holder (when there is one), else anyone.
        address sender =
            hasCurrent && senderSeed % 2 == 0 ? _intervals[tokenId][ci].holder : _anyone(senderSeed >> 8, tokenId);
        bool expected = hasCurrent && _intervals[tokenId][ci].holder == sender;
        vm.prank(sender);
        try tokens.returnToOwner(tokenId) {
            if (!expected) ++mismatches;
            _intervals[tokenId][ci].end = _now();
            ++returned;
        } catch {
            if (expected) ++mismatches;
        }
    }

    /// @notice Any transfer, by anyone, from anyone, to anyone, in any of ERC-721's three forms.
    function transfer(uint256 tokenSeed, uint256 senderSeed, uint256 fromSeed, uint256 toSeed) external {
        (bool ok, uint256 tokenId) = _pickLive(tokenSeed);
        if (!ok) return;
        address owner = ownerOfToken[tokenId];
        (bool hasCurrent, uint256 ci) = _current(tokenId);
        // Often the current holder as the sender, the sender itself as `from` and the owner as
        // `to`: the one transfer that must succeed, next to its near misses.
        address sender =
            hasCurrent && senderSeed % 3 == 0 ? _intervals[tokenId][ci].holder : _anyone(senderSeed >> 8, tokenId);
        address from = fromSeed % 3 == 0 ? _anyone(fromSeed >> 8, tokenId) : sender;
        address to = toSeed % 2 == 0 ? owner : _anyone(toSeed >> 8, tokenId);
        bool valid = hasCurrent && _intervals[tokenId][ci].holder == sender && from == sender && to == owner;
        vm.prank(sender);
        bool succeeded;
        if (toSeed % 3 == 0) {
            try tokens.transferFrom(from, to, tokenId) {
                succeeded = true;
            } catch {}
        } else if (toSeed % 3 == 1) {
            try tokens.safeTransferFrom(from, to, tokenId) {
                succeeded = true;
            } catch {}
        } else {
            try tokens.safeTransferFrom(from, to, tokenId, "strata") {
                succeeded = true;
            } catch {}
        }
        if (succeeded && !valid) ++wrongTransfersAccepted;
        if (!succeeded && valid) ++returnsRefused;
        if (succeeded && valid) {
            _intervals[tokenId][ci].end = _now();
            ++returned;
        }
    }

    function approve(uint256 tokenSeed, uint256 senderSeed, uint256 toSeed) external {
        (bool ok, uint256 tokenId) = _pickLive(tokenSeed);
        if (!ok) return;
        address sender = _anyone(senderSeed, tokenId);
        address to = _anyone(toSeed, tokenId);
        vm.prank(sender);
        try tokens.approve(to, tokenId) {
            ++approvalsAccepted;
        } catch {}
        vm.prank(sender);
        try tokens.setApprovalForAll(to, toSeed % 2 == 0) {
            ++approvalsAccepted;
        } catch {}
    }

    /// @notice The actuator changes owner in the registry; its new owner reclaims its tokens.
    function transferResource(uint256 seed) external {
        address previous = oracle.ownerOf(DeviceId.wrap(ACTUATOR));
        address next = previous == OWNER_B ? OWNER_A : OWNER_B;
        oracle.setOwner(DeviceId.wrap(ACTUATOR), next);
        if (seed % 4 == 0) return; // not reclaimed yet: the previous owner keeps ruling its tokens
        vm.prank(next);
        try tokens.reclaim(ACTUATOR) {
            uint40 now_ = _now();
            for (uint256 k; k < _minted.length; ++k) {
                uint256 tokenId = _minted[k];
                if (!isLive[tokenId] || resourceOfToken[tokenId] != ACTUATOR || ownerOfToken[tokenId] == next) continue;
                ownerOfToken[tokenId] = next;
                Interval[] storage all = _intervals[tokenId];
                for (uint256 i = all.length; i > 0; --i) {
                    Interval storage x = all[i - 1];
                    if (x.end <= now_) continue;
                    if (x.start <= now_) {
                        x.end = now_;
                    } else {
                        all[i - 1] = all[all.length - 1];
                        all.pop();
                    }
                }
            }
        } catch {
            ++mismatches;
        }
    }

    /// @notice The registry moves a resource to another status (suspends, blocks, revokes or
    /// reinstates it): its tokens and schedules stay, its access follows the status.
    function setStatus(uint256 resourceSeed, uint256 statusSeed) external {
        bytes32 resource = resourceSeed % 2 == 0 ? STREAM : ACTUATOR;
        // Active comes back half the time, so that access is seen to return with it.
        IDeviceRegistry.Status status =
            statusSeed % 2 == 0 ? IDeviceRegistry.Status.Active : IDeviceRegistry.Status(1 + ((statusSeed >> 1) % 5));
        oracle.setStatus(DeviceId.wrap(resource), status);
    }

    /// @notice Whether the stand-in registry has `resource` Active now.
    function isActive(bytes32 resource) public view returns (bool) {
        return oracle.statusOf(DeviceId.wrap(resource)) == IDeviceRegistry.Status.Active;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + _bound(seconds_, 1, 6 hours));
    }

    // ------------------------------------------------------------- model helpers

    function _pickLive(uint256 seed) internal view returns (bool, uint256) {
        uint256 n = _minted.length;
        for (uint256 i; i < n; ++i) {
            uint256 tokenId = _minted[((seed % n) + i) % n];
            if (isLive[tokenId]) return (true, tokenId);
        }
        return (false, 0);
    }

    function _liveCount(bytes32 resource) internal view returns (uint256 count) {
        for (uint256 i; i < _minted.length; ++i) {
            if (isLive[_minted[i]] && resourceOfToken[_minted[i]] == resource) ++count;
        }
    }

    /// @dev A crew mostly; sometimes the owner or the zero address (both refused as holders).
    function _holderFrom(uint256 seed, address owner) internal view returns (address) {
        uint256 pick = seed % 10;
        if (pick == 8) return owner;
        if (pick == 9) return address(0);
        return _crews[pick % 4];
    }

    /// @dev Anyone the handler knows: the token's owner, a crew, the other owner or the stranger.
    function _anyone(uint256 seed, uint256 tokenId) internal view returns (address) {
        uint256 pick = seed % 7;
        if (pick < 4) return _crews[pick];
        // 4: the token's owner; 5: the other owner; 6: the stranger
        if (pick == 4) return ownerOfToken[tokenId];
        if (pick == 5) return ownerOfToken[tokenId] == OWNER_A ? OWNER_B : OWNER_A;
        return STRANGER;
    }

    function _current(uint256 tokenId) internal view returns (bool, uint256) {
        Interval[] storage all = _intervals[tokenId];
        uint40 now_ = _now();
        for (uint256 i; i < all.length; ++i) {
            if (all[i].start <= now_ && now_ < all[i].end) return (true, i);
        }
        return (false, 0);
    }

    function _nextStart(uint256 tokenId) internal view returns (bool found, uint40 start) {
        Interval[] storage all = _intervals[tokenId];
        uint40 now_ = _now();
        for (uint256 i; i < all.length; ++i) {
            if (all[i].start > now_ && (!found || all[i].start < start)) {
                found = true;
                start = all[i].start;
            }
        }
    }

    function _overlaps(uint256 tokenId, uint40 start, uint40 end) internal view returns (bool) {
        Interval[] storage all = _intervals[tokenId];
        uint40 now_ = _now();
        for (uint256 i; i < all.length; ++i) {
            if (all[i].end <= now_) continue;
            if (start < all[i].end && all[i].start < end) return true;
        }
        return false;
    }

    function _liveStarting(uint256 tokenId, uint40 start) internal view returns (bool, uint256) {
        Interval[] storage all = _intervals[tokenId];
        uint40 now_ = _now();
        for (uint256 i; i < all.length; ++i) {
            if (all[i].start == start && all[i].end > now_) return (true, i);
        }
        return (false, 0);
    }
}
