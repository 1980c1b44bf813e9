// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BLS12381} from "../libraries/BLS12381.sol";
import {BLSSignatures} from "../libraries/BLSSignatures.sol";
import {ChaCheonIBS} from "../libraries/ChaCheonIBS.sol";

/// @title CryptoHarness
/// @notice Exposes `BLS12381`, `BLSSignatures` and `ChaCheonIBS` to tests. The view functions
/// return what the libraries return; the `*Tx` functions run the same verification as a
/// transaction and revert when it fails, so that the gas of a verifying transaction can be read
/// from its receipt. They are `payable` only so that solc does not ask for them to be `view`: they
/// write nothing, so the receipt holds the verification and the call's ABI decoding, no more.
/// @dev Test-only: not deployed by any module.
contract CryptoHarness {
    /// @notice A `*Tx` verification returned false.
    error HarnessNotVerified();

    // --------------------------------------------------------------- BLS12381

    function expandMessageXmd(
        bytes calldata message,
        bytes calldata dst,
        uint256 lenInBytes
    ) external view returns (bytes memory) {
        return BLS12381.expandMessageXmd(message, dst, lenInBytes);
    }

    function hashToScalar(bytes calldata message, bytes calldata dst) external view returns (uint256) {
        return BLS12381.hashToScalar(message, dst);
    }

    function hashToG1(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return BLS12381.hashToG1(message, dst);
    }

    function g1Add(bytes calldata a, bytes calldata b) external view returns (bytes memory) {
        return BLS12381.g1Add(a, b);
    }

    function g1Mul(bytes calldata point, uint256 scalar) external view returns (bytes memory) {
        return BLS12381.g1Mul(point, scalar);
    }

    function g2Add(bytes calldata a, bytes calldata b) external view returns (bytes memory) {
        return BLS12381.g2Add(a, b);
    }

    function pairingCheck(bytes[] calldata g1Points, bytes[] calldata g2Points) external view returns (bool) {
        return BLS12381.pairingCheck(g1Points, g2Points);
    }

    function isInSubgroupG1(bytes calldata point) external view returns (bool) {
        return BLS12381.isInSubgroupG1(point);
    }

    function isInSubgroupG2(bytes calldata point) external view returns (bool) {
        return BLS12381.isInSubgroupG2(point);
    }

    function compressG2(bytes calldata point) external pure returns (bytes memory) {
        BLS12381.checkG2Encoding(point, BLS12381.Operand.Point, 0);
        return BLS12381.compressG2(point);
    }

    // ---------------------------------------------------------- BLSSignatures

    function blsVerifyPopScheme(
        bytes calldata publicKey,
        bytes calldata message,
        bytes calldata signature
    ) external view returns (bool) {
        return BLSSignatures.verify(publicKey, message, signature);
    }

    function blsVerify(
        bytes calldata publicKey,
        bytes calldata message,
        bytes calldata signature,
        bytes calldata dst
    ) external view returns (bool) {
        return BLSSignatures.verify(publicKey, message, signature, dst);
    }

    function blsFastAggregateVerify(
        bytes[] calldata publicKeys,
        bytes calldata message,
        bytes calldata signature,
        bytes calldata dst
    ) external view returns (bool) {
        return BLSSignatures.fastAggregateVerify(publicKeys, message, signature, dst);
    }

    function blsFastAggregateVerifyAggregated(
        bytes calldata aggregatePublicKey,
        bytes calldata message,
        bytes calldata signature,
        bytes calldata dst
    ) external view returns (bool) {
        return BLSSignatures.fastAggregateVerifyAggregated(aggregatePublicKey, message, signature, dst);
    }

    function blsAggregatePublicKeys(bytes[] calldata publicKeys) external view returns (bytes memory) {
        return BLSSignatures.aggregatePublicKeys(publicKeys);
    }

    function blsVerifyPossession(bytes calldata publicKey, bytes calldata proof) external view returns (bool) {
        return BLSSignatures.verifyPossession(publicKey, proof);
    }

    function blsVerifyTx(
        bytes calldata publicKey,
        bytes calldata message,
        bytes calldata signature,
        bytes calldata dst
    ) external payable {
        _requireVerified(BLSSignatures.verify(publicKey, message, signature, dst));
    }

    /// @notice `blsVerifyTx` under the proof-of-possession ciphersuite's DST, a constant in code as
    /// an application that fixed its ciphersuite would have it.
    function blsVerifyPopSchemeTx(
        bytes calldata publicKey,
        bytes calldata message,
        bytes calldata signature
    ) external payable {
        _requireVerified(BLSSignatures.verify(publicKey, message, signature));
    }

    function blsFastAggregateVerifyTx(
        bytes[] calldata publicKeys,
        bytes calldata message,
        bytes calldata signature,
        bytes calldata dst
    ) external payable {
        _requireVerified(BLSSignatures.fastAggregateVerify(publicKeys, message, signature, dst));
    }

    function blsFastAggregateVerifyAggregatedTx(
        bytes calldata aggregatePublicKey,
        bytes calldata message,
        bytes calldata signature,
        bytes calldata dst
    ) external payable {
        _requireVerified(BLSSignatures.fastAggregateVerifyAggregated(aggregatePublicKey, message, signature, dst));
    }

    // ------------------------------------------------------------ ChaCheonIBS

    function ibsIdentityPoint(bytes calldata identity) external view returns (bytes memory) {
        return ChaCheonIBS.identityPoint(identity);
    }

    function ibsChallenge(bytes calldata message, bytes calldata u) external view returns (uint256) {
        return ChaCheonIBS.challenge(message, u);
    }

    function ibsVerify(
        bytes calldata masterPublicKey,
        bytes calldata identity,
        bytes calldata message,
        bytes calldata u,
        bytes calldata v
    ) external view returns (bool) {
        return ChaCheonIBS.verify(masterPublicKey, identity, message, u, v);
    }

    function ibsVerifyTx(
        bytes calldata masterPublicKey,
        bytes calldata identity,
        bytes calldata message,
        bytes calldata u,
        bytes calldata v
    ) external payable {
        _requireVerified(ChaCheonIBS.verify(masterPublicKey, identity, message, u, v));
    }

    function ibsDomains() external pure returns (bytes memory h1Dst, bytes memory h2Dst) {
        return (ChaCheonIBS.H1_DST, ChaCheonIBS.H2_DST);
    }

    function blsDomains() external pure returns (bytes memory scheme, bytes memory proof) {
        return (BLSSignatures.DST_POP_SCHEME, BLSSignatures.DST_POP_PROOF);
    }

    function _requireVerified(bool valid) private pure {
        if (!valid) revert HarnessNotVerified();
    }
}

/// @title CryptoProbe
/// @notice Test-only companions of `CryptoHarness`: the memory-address building blocks of
/// `BLS12381` (`g1MulAt`, `g1AddAt`, `g2AddAt`) and a gas probe. Kept out of `CryptoHarness` so
/// that they do not change its function dispatch, whose gas the benchmarks measure.
/// @dev Test-only: not deployed by any module.
contract CryptoProbe {
    /// @notice Calls `target` with `data` and at most `gasLimit` gas, as a contract verifying
    /// third-party input in a `try`/`catch` would, and reports what the call cost its caller.
    /// @return ok Whether the call succeeded.
    /// @return gasUsed Gas spent across the call (the callee's consumption and the call itself).
    /// @return returnData What the call returned, or its revert data.
    function gasOfCall(
        address target,
        bytes calldata data,
        uint256 gasLimit
    ) external view returns (bool ok, uint256 gasUsed, bytes memory returnData) {
        uint256 start = gasleft();
        (ok, returnData) = target.staticcall{gas: gasLimit}(data);
        gasUsed = start - gasleft();
    }

    /// @notice `BLS12381.g1MulAt` on `point` ‖ `scalar`, no encoding check: false when rejected.
    function g1MulAt(bytes calldata point, uint256 scalar) external view returns (bool accepted, bytes memory product) {
        bytes memory input = bytes.concat(point, bytes32(scalar));
        product = new bytes(BLS12381.G1_LENGTH);
        (uint256 inputAt, uint256 outAt) = _addresses(input, product);
        accepted = BLS12381.g1MulAt(inputAt, outAt);
    }

    /// @notice `BLS12381.g1AddAt` on `a` ‖ `b`, no encoding check: false when rejected.
    function g1AddAt(bytes calldata a, bytes calldata b) external view returns (bool accepted, bytes memory sum) {
        bytes memory input = bytes.concat(a, b);
        sum = new bytes(BLS12381.G1_LENGTH);
        (uint256 inputAt, uint256 outAt) = _addresses(input, sum);
        accepted = BLS12381.g1AddAt(inputAt, outAt);
    }

    /// @notice `BLS12381.g2AddAt` on `a` ‖ `b`, no encoding check: false when rejected.
    function g2AddAt(bytes calldata a, bytes calldata b) external view returns (bool accepted, bytes memory sum) {
        bytes memory input = bytes.concat(a, b);
        sum = new bytes(BLS12381.G2_LENGTH);
        (uint256 inputAt, uint256 outAt) = _addresses(input, sum);
        accepted = BLS12381.g2AddAt(inputAt, outAt);
    }

    /// @dev The memory addresses of the contents of `input` and `out`.
    function _addresses(bytes memory input, bytes memory out) private pure returns (uint256 inputAt, uint256 outAt) {
        assembly ("memory-safe") {
            inputAt := add(input, 0x20)
            outAt := add(out, 0x20)
        }
    }
}
