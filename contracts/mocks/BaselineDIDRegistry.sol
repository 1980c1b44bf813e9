// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title BaselineDIDRegistry
/// @notice Benchmark baseline only: a minimal ERC-1056 (lightweight identity) registry, written
/// from the ERC-1056 specification, that `bench/registry.ts` measures `setAttribute` against.
/// It keeps the specification's semantics for owners and attributes (and omits delegates and
/// the signed, meta-transaction variants). Never deploy it for real use.
/// @dev ERC-1056: an identity is any address and owns itself until ownership is handed over.
/// Attributes live only in events; `changed[identity]` is the block of the identity's latest
/// change, and every event carries the previous one, so a reader walks an identity's history
/// backwards block by block.
contract BaselineDIDRegistry {
    /// @notice The owner an identity handed itself to (zero: the identity owns itself).
    mapping(address identity => address) public owners;

    /// @notice The block number of the identity's latest change (zero: never changed).
    mapping(address identity => uint256) public changed;

    /// @notice The identity's owner changed.
    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);

    /// @notice An attribute was set (valid until `validTo`) or revoked (`validTo` zero).
    event DIDAttributeChanged(
        address indexed identity,
        bytes32 name,
        bytes value,
        uint256 validTo,
        uint256 previousChange
    );

    /// @notice `actor` is not the current owner of `identity`.
    error DIDNotIdentityOwner(address identity, address actor);

    modifier onlyOwner(address identity) {
        if (msg.sender != identityOwner(identity)) revert DIDNotIdentityOwner(identity, msg.sender);
        _;
    }

    /// @notice The current owner of `identity`: the identity itself unless it was handed over.
    function identityOwner(address identity) public view returns (address) {
        address owner = owners[identity];
        return owner == address(0) ? identity : owner;
    }

    /// @notice The owner hands `identity` to `newOwner`.
    function changeOwner(address identity, address newOwner) external onlyOwner(identity) {
        owners[identity] = newOwner;
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    /// @notice The owner publishes attribute `name` = `value` of `identity` for `validity` seconds.
    function setAttribute(
        address identity,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external onlyOwner(identity) {
        emit DIDAttributeChanged(identity, name, value, block.timestamp + validity, changed[identity]);
        changed[identity] = block.number;
    }

    /// @notice The owner revokes attribute `name` = `value` of `identity`.
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external onlyOwner(identity) {
        emit DIDAttributeChanged(identity, name, value, 0, changed[identity]);
        changed[identity] = block.number;
    }
}
