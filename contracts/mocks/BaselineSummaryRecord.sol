// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title BaselineSummaryRecord
/// @notice Benchmark baseline only: the least a summary record can do — a summary hash written once
/// under its block id with the block time, a duplicate refused, one event. No member, block or
/// expiry check; never deploy it for real use. `bench/ledger.ts` compares `SummaryLedger.record`
/// with it in the same run.
contract BaselineSummaryRecord {
    /// @notice `summary` is already recorded.
    error AlreadyRecorded(bytes32 summary);

    /// @notice `summary` was recorded in block `blockId` at `time`.
    event Recorded(bytes32 indexed blockId, bytes32 indexed summary, uint64 time);

    mapping(bytes32 summary => uint256 packed) private _summaries;

    /// @notice Records `summary` in `blockId`, once.
    function record(bytes32 blockId, bytes32 summary) external {
        if (_summaries[summary] != 0) revert AlreadyRecorded(summary);
        _summaries[summary] = (uint256(uint64(block.timestamp)) << 192) | (uint256(blockId) >> 64);
        emit Recorded(blockId, summary, uint64(block.timestamp));
    }
}
