// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

import {IAccessTokens} from "../interfaces/IAccessTokens.sol";
import {IDeviceRegistry} from "../interfaces/IDeviceRegistry.sol";
import {DeviceId} from "../libraries/DeviceIds.sol";

/// @title AccessTokens
/// @notice Secuchain access tokens (seed 004 §IV): ERC-721 tokens, each one access right to one
/// registered resource, lent by the resource's owner to crews through scheduled shifts; a holder
/// can only give a token back to its owner.
/// @dev See `IAccessTokens`. The holder is derived from the shift queue (as ERC-4907's `userOf`)
/// instead of moving the ERC-721 token at every hand-over: a transfer rewrites the owner word and
/// two balance words (the new holder's often fresh: 22,100 gas alone), a hand-over here rewrites
/// one shift word.
///
/// Each token's queue is `MAX_SHIFTS` words, one shift per word (holder | start | end | a
/// "followed" bit), packed by hand so that a shift is read and written with one SLOAD and one
/// SSTORE. The queue holds its shifts from word 0, sorted by time and non-overlapping; the first
/// word whose holder is zero ends it, and every word after it has a zero holder too. Shifts that
/// ended stay at the front until the owner's next `scheduleShift(s)` prunes them, so readers
/// binary-search the first shift that has not ended. The followed bit is set on every shift that
/// has a next one (it may linger after the next one is revoked, which costs a read, never a
/// check), so a hand-over reads the next shift for its overlap check only when there is one.
/// Freed words keep their time bits: reusing a non-zero word costs 2,900 gas, a zero one 20,000.
contract AccessTokens is IAccessTokens, ERC721 {
    /// @notice The most current and upcoming shifts a token queues (bounds every loop over shifts).
    uint256 public constant MAX_SHIFTS = 16;
    /// @notice The most live tokens a resource has at once (bounds `hasAccess`'s loop).
    uint256 public constant MAX_TOKENS_PER_RESOURCE = 8;

    // shift word: holder (bits 0-159) | start (160-199) | end (200-239) | followed (240)
    uint256 private constant START_SHIFT = 160;
    uint256 private constant END_SHIFT = 200;
    uint256 private constant HOLDER_MASK = (1 << 160) - 1;
    uint256 private constant TIME_MASK = (1 << 40) - 1;
    uint256 private constant FOLLOWED = 1 << 240;
    // a resource's token list: up to 8 token ids of 32 bits, from bit 0, no gap
    uint256 private constant ID_BITS = 32;
    uint256 private constant ID_MASK = (1 << 32) - 1;

    /// @inheritdoc IAccessTokens
    IDeviceRegistry public immutable registry;

    mapping(uint256 tokenId => uint256[MAX_SHIFTS] words) private _queues;
    /// @dev Written at mint and kept after a revocation (a revoked token is told from an unknown one).
    mapping(uint256 tokenId => bytes32 resource) private _resources;
    mapping(bytes32 resource => uint256 ids) private _tokenLists;
    uint32 private _lastTokenId;

    /// @inheritdoc IAccessTokens
    uint256 public immutable deployedAt;

    /// @param registry_ The device registry whose owners mint tokens for their resources.
    constructor(IDeviceRegistry registry_) ERC721("Strata Access Token", "SAT") {
        registry = registry_;
        deployedAt = block.number;
    }

    // ------------------------------------------------------------------ owner

    /// @inheritdoc IAccessTokens
    function mint(bytes32 resource) external returns (uint256 tokenId) {
        if (registry.ownerOf(DeviceId.wrap(resource)) != msg.sender) {
            revert AccessTokensNotResourceOwner(resource, msg.sender);
        }
        IDeviceRegistry.Status status = registry.statusOf(DeviceId.wrap(resource));
        if (status != IDeviceRegistry.Status.Active) revert AccessTokensResourceNotActive(resource, status);
        uint256 ids = _tokenLists[resource];
        uint256 count = _countIds(ids);
        if (count == MAX_TOKENS_PER_RESOURCE) revert AccessTokensTooManyTokens(resource, MAX_TOKENS_PER_RESOURCE);
        uint32 last = _lastTokenId;
        if (last == type(uint32).max) revert AccessTokensSupplyExhausted(last);
        tokenId = uint256(last) + 1;
        _lastTokenId = uint32(tokenId);
        _tokenLists[resource] = ids | (tokenId << (count * ID_BITS));
        _resources[tokenId] = resource;
        _mint(msg.sender, tokenId);
        emit AccessTokenMinted(tokenId, resource, msg.sender);
    }

    /// @inheritdoc IAccessTokens
    function scheduleShift(
        uint256 tokenId,
        address holder,
        uint40 start,
        uint40 end
    ) external returns (Shift memory shift) {
        Shift[] memory batch = new Shift[](1);
        batch[0] = Shift(holder, start, end);
        _schedule(tokenId, _requireOwner(tokenId), batch);
        return batch[0];
    }

    /// @inheritdoc IAccessTokens
    function scheduleShifts(uint256 tokenId, Shift[] calldata batch) external {
        address owner = _requireOwner(tokenId);
        if (batch.length == 0 || batch.length > MAX_SHIFTS) revert AccessTokensInvalidBatch(batch.length, MAX_SHIFTS);
        _schedule(tokenId, owner, batch);
    }

    /// @inheritdoc IAccessTokens
    function handOver(uint256 tokenId, address to, uint40 end) external returns (address previousHolder) {
        address owner = _requireOwner(tokenId);
        _requireHolder(tokenId, to, owner);
        uint40 now_ = _time();
        if (end <= now_) revert AccessTokensShiftInPast(end, now_);
        uint256[MAX_SHIFTS] storage queue = _queues[tokenId];
        (uint256 i, uint256 word) = _firstLive(queue, now_);
        uint256 shift = _pack(to, now_, end);
        if (_isCurrent(word, now_)) {
            // The current shift's word becomes the new shift: one SSTORE.
            previousHolder = address(uint160(word));
            if (word & FOLLOWED != 0 && i + 1 < MAX_SHIFTS) _requireEndsBefore(tokenId, now_, end, queue[i + 1]);
            queue[i] = shift | (word & FOLLOWED);
        } else {
            // Between shifts: `word` is the next upcoming shift (or the end of the queue).
            _requireEndsBefore(tokenId, now_, end, word);
            if (i > 0) {
                // The shift before it has ended: its word is free and keeps the order.
                queue[i - 1] = address(uint160(word)) == address(0) ? shift : shift | FOLLOWED;
            } else {
                _insertFirst(tokenId, queue, shift);
            }
        }
        emit ShiftHandedOver(tokenId, previousHolder, to, now_, end);
    }

    /// @inheritdoc IAccessTokens
    function revokeShift(uint256 tokenId, uint40 start) external {
        _requireOwner(tokenId);
        uint40 now_ = _time();
        uint256[MAX_SHIFTS] storage queue = _queues[tokenId];
        (uint256 i, uint256 word) = _firstLive(queue, now_);
        // Shifts are sorted and the live ones end after now: look from the first live one.
        while (address(uint160(word)) != address(0) && _startOf(word) < start && ++i < MAX_SHIFTS) word = queue[i];
        if (i == MAX_SHIFTS || address(uint160(word)) == address(0) || _startOf(word) != start) {
            revert AccessTokensUnknownShift(tokenId, start);
        }
        if (start <= now_) {
            // Current: it ends now.
            queue[i] = _withEnd(word, now_);
        } else {
            // Upcoming: removed; the later shifts move up one word.
            uint256 k = i;
            for (; k + 1 < MAX_SHIFTS; ++k) {
                uint256 next = queue[k + 1];
                if (address(uint160(next)) == address(0)) break;
                queue[k] = next;
            }
            queue[k] = queue[k] & ~HOLDER_MASK;
        }
        emit ShiftRevoked(tokenId, address(uint160(word)), start, _endOf(word));
    }

    /// @inheritdoc IAccessTokens
    function revoke(uint256 tokenId) external {
        address owner = _requireOwner(tokenId);
        bytes32 resource = _resources[tokenId];
        _removeId(resource, tokenId);
        // The queue is left as it is: every reader checks that the token is live first.
        _burn(tokenId);
        emit AccessTokenRevoked(tokenId, resource, owner);
    }

    /// @inheritdoc IAccessTokens
    function reclaim(bytes32 resource) external returns (uint256 count) {
        if (registry.ownerOf(DeviceId.wrap(resource)) != msg.sender) {
            revert AccessTokensNotResourceOwner(resource, msg.sender);
        }
        for (uint256 ids = _tokenLists[resource]; ids != 0; ids >>= ID_BITS) {
            uint256 tokenId = ids & ID_MASK;
            address previousOwner = _ownerOf(tokenId);
            if (previousOwner == msg.sender) continue;
            _clear(_queues[tokenId]);
            // The one owner change there is: ERC721's own update, past this contract's refusal.
            ERC721._update(msg.sender, tokenId, address(0));
            emit AccessTokenReclaimed(tokenId, previousOwner, msg.sender);
            ++count;
        }
    }

    // ----------------------------------------------------------------- holder

    /// @inheritdoc IAccessTokens
    function returnToOwner(uint256 tokenId) external {
        address owner = _ownerOf(tokenId);
        if (owner == address(0)) revert AccessTokensUnknownToken(tokenId);
        _return(tokenId, owner);
    }

    /// @notice The ERC-721 form of `returnToOwner`: only the current holder, from itself, to the
    /// owner. The owner of record does not change, so no `Transfer` is logged: `AccessReturned` is.
    /// Every other transfer reverts with `AccessTokensTransferRefused`.
    function transferFrom(address from, address to, uint256 tokenId) public override {
        address owner = _ownerOf(tokenId);
        if (owner == address(0)) revert AccessTokensUnknownToken(tokenId);
        if (to != owner || from != msg.sender || from == owner) revert AccessTokensTransferRefused(tokenId, from, to);
        _return(tokenId, owner);
    }

    /// @notice As `transferFrom`; no receiver hook is called (the owner already owns the token).
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory) public override {
        transferFrom(from, to, tokenId);
    }

    /// @notice Always reverts: a token moves only back to its owner, so nobody is ever approved.
    function approve(address to, uint256 tokenId) public pure override {
        revert AccessTokensApprovalRefused(tokenId, to);
    }

    /// @notice Always reverts: a token moves only back to its owner, so there are no operators.
    function setApprovalForAll(address operator, bool) public view override {
        revert AccessTokensOperatorRefused(msg.sender, operator);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IAccessTokens
    function hasAccess(bytes32 resource, address account) external view returns (bool) {
        (uint256 tokenId, ) = _shiftOf(resource, account);
        return tokenId != 0 && _isActive(resource);
    }

    /// @inheritdoc IAccessTokens
    function shiftOf(bytes32 resource, address account) external view returns (uint256 tokenId, Shift memory current) {
        uint256 word;
        (tokenId, word) = _shiftOf(resource, account);
        if (tokenId == 0 || !_isActive(resource)) return (0, current);
        current = _unpack(word);
    }

    /// @inheritdoc IAccessTokens
    function currentShift(uint256 tokenId) external view returns (TokenState memory state) {
        state.resource = _resources[tokenId];
        if (state.resource != bytes32(0)) state.resourceStatus = registry.statusOf(DeviceId.wrap(state.resource));
        state.owner = _ownerOf(tokenId);
        if (state.owner == address(0)) {
            state.revoked = state.resource != bytes32(0);
            return state;
        }
        uint40 now_ = _time();
        (, uint256 word) = _firstLive(_queues[tokenId], now_);
        if (_isCurrent(word, now_)) {
            state.holder = address(uint160(word));
            state.start = _startOf(word);
            state.end = _endOf(word);
        }
    }

    /// @inheritdoc IAccessTokens
    function holderOf(uint256 tokenId) external view returns (address) {
        address owner = _ownerOf(tokenId);
        if (owner == address(0)) return address(0);
        uint40 now_ = _time();
        (, uint256 word) = _firstLive(_queues[tokenId], now_);
        return _isCurrent(word, now_) ? address(uint160(word)) : owner;
    }

    /// @inheritdoc IAccessTokens
    function shifts(uint256 tokenId) external view returns (Shift[] memory live) {
        if (_ownerOf(tokenId) == address(0)) return live;
        uint256[MAX_SHIFTS] storage queue = _queues[tokenId];
        (uint256 first, ) = _firstLive(queue, _time());
        uint256 end = first;
        while (end < MAX_SHIFTS && address(uint160(queue[end])) != address(0)) ++end;
        live = new Shift[](end - first);
        for (uint256 k = first; k < end; ++k) live[k - first] = _unpack(queue[k]);
    }

    /// @inheritdoc IAccessTokens
    function tokensOf(bytes32 resource) external view returns (uint256[] memory ids) {
        uint256 list = _tokenLists[resource];
        ids = new uint256[](_countIds(list));
        for (uint256 k; list != 0; list >>= ID_BITS) ids[k++] = list & ID_MASK;
    }

    /// @inheritdoc IAccessTokens
    function resourceOf(uint256 tokenId) external view returns (bytes32) {
        return _resources[tokenId];
    }

    /// @notice ERC-165: `IAccessTokens`, ERC-721 and ERC-721 metadata.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IAccessTokens).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------- internal

    /// @dev The clock shifts are judged by (a seam for tests, as EAS's `_time`).
    function _time() internal view virtual returns (uint40) {
        return uint40(block.timestamp);
    }

    /// @dev Mints and burns only: transfers are refused here, whichever path they take
    /// (`reclaim` calls ERC721's `_update` directly).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        address from = _ownerOf(tokenId);
        if (from != address(0) && to != address(0)) revert AccessTokensTransferRefused(tokenId, from, to);
        return super._update(to, tokenId, auth);
    }

    // ---------------------------------------------------------------- private

    /// @dev Whether the registry has `resource` Active now: a device it suspends, blocks or revokes (or
    /// one still pending) grants no access, whatever its tokens' schedules say. Read live, after the
    /// shift search, so only an account that holds a current shift pays for the call.
    function _isActive(bytes32 resource) private view returns (bool) {
        return registry.statusOf(DeviceId.wrap(resource)) == IDeviceRegistry.Status.Active;
    }

    /// @dev The owner of `tokenId`, which must be the caller.
    function _requireOwner(uint256 tokenId) private view returns (address owner) {
        owner = _ownerOf(tokenId);
        if (owner != msg.sender) {
            if (owner == address(0)) revert AccessTokensUnknownToken(tokenId);
            revert AccessTokensUnauthorizedOwner(tokenId, msg.sender);
        }
    }

    function _requireHolder(uint256 tokenId, address holder, address owner) private pure {
        if (holder == address(0) || holder == owner) revert AccessTokensInvalidHolder(tokenId, holder);
    }

    /// @dev Ends the caller's current shift of `tokenId` now: the token is back with `owner`.
    function _return(uint256 tokenId, address owner) private {
        uint40 now_ = _time();
        uint256[MAX_SHIFTS] storage queue = _queues[tokenId];
        (uint256 i, uint256 word) = _firstLive(queue, now_);
        if (!_isCurrent(word, now_) || address(uint160(word)) != msg.sender) {
            revert AccessTokensUnauthorizedHolder(tokenId, msg.sender);
        }
        queue[i] = _withEnd(word, now_);
        emit AccessReturned(tokenId, msg.sender, owner, _endOf(word));
    }

    /// @dev Prunes ended shifts, inserts `batch` (each checked; starts in the past become now, in
    /// `batch` too) and writes back only the words that changed.
    function _schedule(uint256 tokenId, address owner, Shift[] memory batch) private {
        uint40 now_ = _time();
        uint256[MAX_SHIFTS] storage queue = _queues[tokenId];
        uint256[MAX_SHIFTS] memory live;
        uint256 n;
        uint256 length;
        for (; length < MAX_SHIFTS; ++length) {
            uint256 word = queue[length];
            if (address(uint160(word)) == address(0)) break;
            if (_endOf(word) > now_) live[n++] = word & ~FOLLOWED;
        }
        for (uint256 b; b < batch.length; ++b) {
            Shift memory s = batch[b];
            _requireHolder(tokenId, s.holder, owner);
            if (s.start >= s.end) revert AccessTokensInvalidShift(s.start, s.end);
            if (s.end <= now_) revert AccessTokensShiftInPast(s.end, now_);
            if (s.start < now_) s.start = now_;
            uint256 p;
            while (p < n && _startOf(live[p]) < s.start) ++p;
            if (p > 0 && _endOf(live[p - 1]) > s.start) _revertOverlap(tokenId, s, live[p - 1]);
            if (p < n) _requireEndsBefore(tokenId, s.start, s.end, live[p]);
            if (n == MAX_SHIFTS) revert AccessTokensQueueFull(tokenId, MAX_SHIFTS);
            for (uint256 k = n; k > p; --k) live[k] = live[k - 1];
            live[p] = _pack(s.holder, s.start, s.end);
            ++n;
        }
        for (uint256 k; k < n; ++k) {
            uint256 word = k + 1 < n ? live[k] | FOLLOWED : live[k];
            if (queue[k] != word) queue[k] = word;
        }
        for (uint256 k = n; k < length; ++k) queue[k] = queue[k] & ~HOLDER_MASK;
        for (uint256 b; b < batch.length; ++b) {
            emit ShiftScheduled(tokenId, batch[b].holder, batch[b].start, batch[b].end);
        }
    }

    /// @dev Puts `shift` in word 0, moving the queue down one word (the queue has no ended shift).
    function _insertFirst(uint256 tokenId, uint256[MAX_SHIFTS] storage queue, uint256 shift) private {
        if (address(uint160(queue[MAX_SHIFTS - 1])) != address(0)) revert AccessTokensQueueFull(tokenId, MAX_SHIFTS);
        uint256 k;
        while (address(uint160(queue[k])) != address(0)) ++k;
        for (uint256 j = k; j > 0; --j) queue[j] = queue[j - 1];
        queue[0] = k == 0 ? shift : shift | FOLLOWED;
    }

    /// @dev Empties the queue (zero holders), keeping the words non-zero.
    function _clear(uint256[MAX_SHIFTS] storage queue) private {
        for (uint256 k; k < MAX_SHIFTS; ++k) {
            uint256 word = queue[k];
            if (address(uint160(word)) == address(0)) break;
            queue[k] = word & ~HOLDER_MASK;
        }
    }

    /// @dev The token of `resource` whose current shift `account` holds, and that shift's word.
    function _shiftOf(bytes32 resource, address account) private view returns (uint256 tokenId, uint256 word) {
        if (account == address(0)) return (0, 0);
        uint40 now_ = _time();
        for (uint256 ids = _tokenLists[resource]; ids != 0; ids >>= ID_BITS) {
            uint256 id = ids & ID_MASK;
            (, word) = _firstLive(_queues[id], now_);
            if (address(uint160(word)) == account && _startOf(word) <= now_) return (id, word);
        }
        return (0, 0);
    }

    /// @dev The first shift that has not ended at `now_` (or the queue's end: a zero holder), and
    /// its index. Word 0 answers in the usual case; otherwise a binary search over the rest, valid
    /// because ended shifts form a prefix and every word past the queue has a zero holder.
    function _firstLive(uint256[MAX_SHIFTS] storage queue, uint40 now_) private view returns (uint256 i, uint256 word) {
        word = queue[0];
        if (address(uint160(word)) == address(0) || _endOf(word) > now_) return (0, word);
        uint256 lo = 1;
        uint256 hi = MAX_SHIFTS;
        word = 0;
        while (lo < hi) {
            uint256 mid = (lo + hi) >> 1;
            uint256 w = queue[mid];
            if (address(uint160(w)) == address(0) || _endOf(w) > now_) {
                hi = mid;
                word = w;
            } else {
                lo = mid + 1;
            }
        }
        // `word` was read at `lo` when the search last moved `hi`; at MAX_SHIFTS it stays zero.
        return (lo, lo < MAX_SHIFTS ? word : 0);
    }

    /// @dev Reverts when [`start`, `end`) runs into the shift in `next` (ignored when empty).
    function _requireEndsBefore(uint256 tokenId, uint40 start, uint40 end, uint256 next) private pure {
        if (address(uint160(next)) != address(0) && end > _startOf(next)) {
            revert AccessTokensShiftOverlap(tokenId, start, end, _startOf(next), _endOf(next));
        }
    }

    function _revertOverlap(uint256 tokenId, Shift memory s, uint256 other) private pure {
        revert AccessTokensShiftOverlap(tokenId, s.start, s.end, _startOf(other), _endOf(other));
    }

    /// @dev Removes `tokenId` from `resource`'s list: the last id takes its place.
    function _removeId(bytes32 resource, uint256 tokenId) private {
        uint256 ids = _tokenLists[resource];
        uint256 lastShift = (_countIds(ids) - 1) * ID_BITS;
        uint256 last = (ids >> lastShift) & ID_MASK;
        ids &= ~(ID_MASK << lastShift);
        if (last != tokenId) {
            uint256 k;
            while (((ids >> k) & ID_MASK) != tokenId) k += ID_BITS;
            ids = (ids & ~(ID_MASK << k)) | (last << k);
        }
        _tokenLists[resource] = ids;
    }

    function _countIds(uint256 ids) private pure returns (uint256 count) {
        for (; ids != 0; ids >>= ID_BITS) ++count;
    }

    function _isCurrent(uint256 word, uint40 now_) private pure returns (bool) {
        // Called on a word that has not ended (`_firstLive`): current once it has started.
        return address(uint160(word)) != address(0) && _startOf(word) <= now_;
    }

    function _pack(address holder, uint40 start, uint40 end) private pure returns (uint256) {
        return uint256(uint160(holder)) | (uint256(start) << START_SHIFT) | (uint256(end) << END_SHIFT);
    }

    function _unpack(uint256 word) private pure returns (Shift memory) {
        return Shift(address(uint160(word)), _startOf(word), _endOf(word));
    }

    function _startOf(uint256 word) private pure returns (uint40) {
        return uint40(word >> START_SHIFT);
    }

    function _endOf(uint256 word) private pure returns (uint40) {
        return uint40(word >> END_SHIFT);
    }

    function _withEnd(uint256 word, uint40 end) private pure returns (uint256) {
        return (word & ~(TIME_MASK << END_SHIFT)) | (uint256(end) << END_SHIFT);
    }
}
