// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDeviceRegistry} from "./IDeviceRegistry.sol";

/// @title IAccessTokens
/// @notice Secuchain's token-based access control (seed 004 §IV): one ERC-721 token is one access
/// right to one resource; the resource's owner lends it to crews through time-limited shifts, and a
/// holder can give it back only to the owner.
/// @dev A resource is a bytes32 id registered in the `DeviceRegistry` (a device's DeviceId for its
/// data stream, an actuator's id...); only the registry's owner of that id mints tokens for it. The
/// minter stays the token's ERC-721 owner (the "owner" of the paper) for the token's whole life:
/// every ERC-721 transfer and approval is refused, but the one the paper allows — the current
/// holder sending the token back to the owner (`returnToOwner`, or `transferFrom(holder, owner, id)`
/// sent by the holder). After a registry transfer of the resource, its new owner `reclaim`s the
/// tokens (their schedules are cleared).
///
/// The holder is derived, as ERC-4907's `userOf`: each token keeps a queue of at most
/// `MAX_SHIFTS` (16) non-overlapping shifts (holder, start, end), sorted by time; the holder at a
/// time is the holder of the shift covering it, and the owner between shifts, so access always
/// passes from one crew to the next through the owner. A hand-over from crew A to crew B is one
/// owner transaction that rewrites one storage word (`handOver`). `hasAccess(resource, account)`
/// is true only inside a current shift of a live token of the resource, and only while the registry
/// has the resource Active (read live: a device the registry suspends, blocks or revokes grants no
/// access, and none is minted for a device that is not Active); a resource has at most
/// `MAX_TOKENS_PER_RESOURCE` (8) live tokens, so every loop is bounded by 8 tokens x 16 shifts.
/// Times are block timestamps in seconds (uint40); a shift covers [start, end).
interface IAccessTokens {
    // ------------------------------------------------------------------ types

    /// @notice One shift: `holder` may use the token from `start` (inclusive) to `end` (exclusive).
    struct Shift {
        address holder;
        uint40 start;
        uint40 end;
    }

    /// @notice What a gateway checks a signed access request against, in one call.
    /// @param resource The token's resource (zero: never minted).
    /// @param owner The token's owner (zero once revoked).
    /// @param holder The holder of the current shift (zero between shifts: the owner holds it).
    /// @param start The current shift's start (zero when no shift is current).
    /// @param end The current shift's end (zero when no shift is current).
    /// @param revoked True once the owner revoked the token.
    /// @param resourceStatus The resource's registry status now (None for a token never minted):
    /// a current shift grants access only while it is Active.
    struct TokenState {
        bytes32 resource;
        address owner;
        address holder;
        uint40 start;
        uint40 end;
        bool revoked;
        IDeviceRegistry.Status resourceStatus;
    }

    // ----------------------------------------------------------------- errors

    /// @notice `account` is not the registry's owner of `resource` (or the resource is unknown).
    error AccessTokensNotResourceOwner(bytes32 resource, address account);
    /// @notice `resource` is not Active in the registry (pending, suspended, blocked or revoked).
    error AccessTokensResourceNotActive(bytes32 resource, IDeviceRegistry.Status status);
    /// @notice `account` is not the owner of token `tokenId`.
    error AccessTokensUnauthorizedOwner(uint256 tokenId, address account);
    /// @notice `account` does not hold the current shift of token `tokenId`.
    error AccessTokensUnauthorizedHolder(uint256 tokenId, address account);
    /// @notice No live token has this id (never minted, or revoked).
    error AccessTokensUnknownToken(uint256 tokenId);
    /// @notice `holder` cannot hold a shift of `tokenId`: it is the zero address or the owner.
    error AccessTokensInvalidHolder(uint256 tokenId, address holder);
    /// @notice A shift must start before it ends.
    error AccessTokensInvalidShift(uint40 start, uint40 end);
    /// @notice A shift must end after the current time.
    error AccessTokensShiftInPast(uint40 end, uint256 timestamp);
    /// @notice The shift [`start`, `end`) overlaps the scheduled shift [`otherStart`, `otherEnd`).
    error AccessTokensShiftOverlap(uint256 tokenId, uint40 start, uint40 end, uint40 otherStart, uint40 otherEnd);
    /// @notice The token already has `maxShifts` current and upcoming shifts.
    error AccessTokensQueueFull(uint256 tokenId, uint256 maxShifts);
    /// @notice No current or upcoming shift of `tokenId` starts at `start`.
    error AccessTokensUnknownShift(uint256 tokenId, uint40 start);
    /// @notice The resource already has `maxTokens` live tokens.
    error AccessTokensTooManyTokens(bytes32 resource, uint256 maxTokens);
    /// @notice A batch of shifts is empty or longer than `maxShifts`.
    error AccessTokensInvalidBatch(uint256 length, uint256 maxShifts);
    /// @notice Every token id up to `lastTokenId` is taken.
    error AccessTokensSupplyExhausted(uint256 lastTokenId);
    /// @notice A transfer other than the current holder's return to the owner.
    error AccessTokensTransferRefused(uint256 tokenId, address from, address to);
    /// @notice Approvals do not exist: tokens move only back to their owner.
    error AccessTokensApprovalRefused(uint256 tokenId, address to);
    /// @notice Operators do not exist: tokens move only back to their owner.
    error AccessTokensOperatorRefused(address owner, address operator);

    // ----------------------------------------------------------------- events
    // With ERC-721's Transfer, these are the access log: replaying them rebuilds every schedule.

    /// @notice `owner` minted token `tokenId`, one access right to `resource`.
    event AccessTokenMinted(uint256 indexed tokenId, bytes32 indexed resource, address indexed owner);
    /// @notice The owner scheduled a shift of `tokenId` for `holder`.
    event ShiftScheduled(uint256 indexed tokenId, address indexed holder, uint40 start, uint40 end);
    /// @notice The owner ended `previousHolder`'s current shift (zero: none was current) and started
    /// `holder`'s, from `start` (the block time) to `end`.
    event ShiftHandedOver(
        uint256 indexed tokenId,
        address indexed previousHolder,
        address indexed holder,
        uint40 start,
        uint40 end
    );
    /// @notice The owner revoked `holder`'s shift [`start`, `end`) at the block time (a current
    /// shift ends then; an upcoming one never begins).
    event ShiftRevoked(uint256 indexed tokenId, address indexed holder, uint40 start, uint40 end);
    /// @notice `holder` gave the token back to `owner` at the block time, before the shift's `end`.
    event AccessReturned(uint256 indexed tokenId, address indexed holder, address indexed owner, uint40 end);
    /// @notice The owner revoked token `tokenId` (burnt: its shifts end now, its id is never reused).
    event AccessTokenRevoked(uint256 indexed tokenId, bytes32 indexed resource, address indexed owner);
    /// @notice The resource changed owner in the registry and `newOwner` took the token over, its
    /// schedule cleared.
    event AccessTokenReclaimed(uint256 indexed tokenId, address indexed previousOwner, address indexed newOwner);

    // ---------------------------------------------------------------- owner

    /// @notice The block this contract was deployed in: where its event log starts, so a reader
    /// never scans the chain before it (every node answers it at the latest block, archive or not).
    function deployedAt() external view returns (uint256);

    /// @notice Mints one access token for `resource` to the caller, who must be the registry's
    /// owner of `resource` (`IDeviceRegistry.ownerOf`); the resource must be Active in the registry
    /// (`AccessTokensResourceNotActive` otherwise, checked after the owner).
    /// @return tokenId The new token's id (sequential from 1, never reused).
    function mint(bytes32 resource) external returns (uint256 tokenId);

    /// @notice The owner schedules a shift of `tokenId` for `holder` over [`start`, `end`).
    /// @dev A start in the past means now (the stored and logged start is the block time). Refuses
    /// a zero or owner holder, start >= end, an end not after now, an overlap with a current or
    /// upcoming shift and a full queue. Ended shifts are pruned first.
    /// @return shift The shift as stored.
    function scheduleShift(
        uint256 tokenId,
        address holder,
        uint40 start,
        uint40 end
    ) external returns (Shift memory shift);

    /// @notice The owner schedules several shifts of `tokenId` at once, each as `scheduleShift`.
    /// @dev 1 to `MAX_SHIFTS` shifts, in any order; one bad shift reverts the batch.
    function scheduleShifts(uint256 tokenId, Shift[] calldata shifts) external;

    /// @notice The owner hands the token over to `to` now: the current shift (if any) ends at the
    /// block time and `to`'s shift runs from then to `end`.
    /// @dev `end` must not overlap the next upcoming shift. Writes one storage word when a shift is
    /// current or one just ended (the usual hand-over between crews).
    /// @return previousHolder The holder whose shift ended (zero when none was current).
    function handOver(uint256 tokenId, address to, uint40 end) external returns (address previousHolder);

    /// @notice The owner revokes the current or upcoming shift of `tokenId` that starts at `start`:
    /// a current shift ends at the block time, an upcoming one is removed.
    function revokeShift(uint256 tokenId, uint40 start) external;

    /// @notice The owner revokes the token for good: burnt, every shift ended, removed from its
    /// resource; `currentShift` reports it revoked.
    function revoke(uint256 tokenId) external;

    /// @notice The registry's current owner of `resource` takes over its live tokens held by a
    /// previous owner; their schedules are cleared. Tokens it already owns are left alone.
    /// @return count How many tokens changed owner.
    function reclaim(bytes32 resource) external returns (uint256 count);

    // ---------------------------------------------------------------- holder

    /// @notice The current holder gives the token back to the owner before the shift ends (the only
    /// transfer a holder may make): the shift ends at the block time.
    function returnToOwner(uint256 tokenId) external;

    // ----------------------------------------------------------------- views

    /// @notice True when `account` holds the current shift of a live token of `resource` and the
    /// registry has `resource` Active now (`IDeviceRegistry.statusOf`, read only when a shift matches).
    function hasAccess(bytes32 resource, address account) external view returns (bool);

    /// @notice The token and shift by which `account` has access to `resource` now (zeros: none, which
    /// includes a resource the registry does not have Active).
    function shiftOf(bytes32 resource, address account) external view returns (uint256 tokenId, Shift memory current);

    /// @notice `tokenId`'s resource, owner, current shift, revocation and the resource's registry
    /// status, in one call.
    function currentShift(uint256 tokenId) external view returns (TokenState memory);

    /// @notice The holder of `tokenId` now: the current shift's holder, or the owner between shifts
    /// (zero when the token is not live).
    function holderOf(uint256 tokenId) external view returns (address);

    /// @notice The current and upcoming shifts of `tokenId`, in time order.
    function shifts(uint256 tokenId) external view returns (Shift[] memory);

    /// @notice The live tokens of `resource`.
    function tokensOf(bytes32 resource) external view returns (uint256[] memory);

    /// @notice The resource of `tokenId` (zero: never minted; kept after a revocation).
    function resourceOf(uint256 tokenId) external view returns (bytes32);

    /// @notice The registry whose owners mint tokens for their resources.
    function registry() external view returns (IDeviceRegistry);
}
