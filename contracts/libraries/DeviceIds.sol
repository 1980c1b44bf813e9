// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice A device's on-chain identifier: keccak256 of its UUID (edge-layer address, local id).
/// @dev Seed 003 §III: a UUID is the edge layer's address (the cross-layer address of all its
/// superior layers and itself) plus a local identifier unique inside that layer. The SDK's
/// `deviceId(layer, localId)` computes the same value.
type DeviceId is bytes32;

using {eq as ==, neq as !=} for DeviceId global;

function eq(DeviceId a, DeviceId b) pure returns (bool) {
    return DeviceId.unwrap(a) == DeviceId.unwrap(b);
}

function neq(DeviceId a, DeviceId b) pure returns (bool) {
    return DeviceId.unwrap(a) != DeviceId.unwrap(b);
}

/// @title DeviceIds
/// @notice Derivation of device identifiers from UUIDs.
library DeviceIds {
    /// @notice The zero identifier, never assigned to a device.
    DeviceId internal constant NONE = DeviceId.wrap(bytes32(0));

    /// @notice Derives the identifier of the UUID (`layer`, `localId`).
    /// @param layer keccak256 of the edge layer's address string (e.g. "strata:city/d7/edge-3").
    /// @param localId The identifier the edge layer's central node gave the object.
    function derive(bytes32 layer, bytes32 localId) internal pure returns (DeviceId id) {
        assembly ("memory-safe") {
            mstore(0x00, layer)
            mstore(0x20, localId)
            id := keccak256(0x00, 0x40)
        }
    }

    /// @notice True when `id` is the zero identifier.
    function isNone(DeviceId id) internal pure returns (bool) {
        return DeviceId.unwrap(id) == bytes32(0);
    }
}
