// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title BaselineTimestamp
/// @notice Benchmark baseline only: EAS-style write-once timestamping (`EAS.timestamp(bytes32)`:
/// one `bytes32 => uint64` slot per datum, a duplicate refused, an event with both values
/// indexed), the reference cost `bench/anchor.ts` compares a `DataAnchor.anchor` with. It checks
/// no sender and chains nothing; never deploy it for real use.
contract BaselineTimestamp {
    /// @notice `data` already has a timestamp.
    error AlreadyTimestamped(bytes32 data);

    /// @notice `data` was timestamped at `timestamp`.
    event Timestamped(bytes32 indexed data, uint64 indexed timestamp);

    mapping(bytes32 data => uint64 time) private _timestamps;

    /// @notice Records the block time of `data`, once.
    function timestamp(bytes32 data) external returns (uint64 time) {
        if (_timestamps[data] != 0) revert AlreadyTimestamped(data);
        time = uint64(block.timestamp);
        _timestamps[data] = time;
        emit Timestamped(data, time);
    }

    /// @notice The time `data` was timestamped (0: never).
    function getTimestamp(bytes32 data) external view returns (uint64) {
        return _timestamps[data];
    }
}
