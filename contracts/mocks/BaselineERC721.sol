// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title BaselineERC721
/// @notice Benchmark baseline only: a plain OpenZeppelin ERC-721 whose `mint` is the reference
/// cost `bench/registry.ts` compares a device registration with. Anyone may mint; never deploy
/// it for real use.
contract BaselineERC721 is ERC721 {
    constructor() ERC721("Strata Baseline", "BASE") {}

    /// @notice Mints token `id` to `to` (OpenZeppelin `_mint`: reverts on an existing id).
    function mint(address to, uint256 id) external {
        _mint(to, id);
    }
}
