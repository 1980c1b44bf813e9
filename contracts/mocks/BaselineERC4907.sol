// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title BaselineERC4907
/// @notice Benchmark baseline only: a minimal ERC-4907 ("rental NFT": an owner sets a `user` until
/// `expires`) on OpenZeppelin's ERC-721, as the EIP's reference implementation writes it. Its
/// `setUser` is the reference cost `bench/access.ts` compares `AccessTokens.handOver` with. Anyone
/// may mint; never deploy it for real use.
contract BaselineERC4907 is ERC721 {
    /// @notice ERC-4907: the user of `tokenId` changed (zero: none) until `expires`.
    event UpdateUser(uint256 indexed tokenId, address indexed user, uint64 expires);

    struct UserInfo {
        address user;
        uint64 expires;
    }

    mapping(uint256 tokenId => UserInfo) private _users;

    constructor() ERC721("Strata Baseline 4907", "B4907") {}

    /// @notice Mints token `id` to `to` (OpenZeppelin `_mint`).
    function mint(address to, uint256 id) external {
        _mint(to, id);
    }

    /// @notice ERC-4907: the owner (or an approved account) lends `tokenId` to `user` until `expires`.
    function setUser(uint256 tokenId, address user, uint64 expires) external {
        _checkAuthorized(_ownerOf(tokenId), msg.sender, tokenId);
        UserInfo storage info = _users[tokenId];
        info.user = user;
        info.expires = expires;
        emit UpdateUser(tokenId, user, expires);
    }

    /// @notice ERC-4907: the user of `tokenId`, zero once expired.
    function userOf(uint256 tokenId) external view returns (address) {
        UserInfo storage info = _users[tokenId];
        return uint256(info.expires) >= block.timestamp ? info.user : address(0);
    }

    /// @notice ERC-4907: when the current user's right ends.
    function userExpires(uint256 tokenId) external view returns (uint256) {
        return _users[tokenId].expires;
    }

    /// @notice ERC-165, with ERC-4907's interface id.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == 0xad092b5c || super.supportsInterface(interfaceId);
    }
}
