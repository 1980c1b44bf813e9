// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BLS12381} from "./BLS12381.sol";

/// @title BLSSignatures
/// @notice Verification of BLS signatures on BLS12-381 in the min-sig variant: signatures and
/// hashed messages in G1 (128-byte EIP-2537 encodings), public keys in G2 (256 bytes). Single
/// verification, fast aggregate verification (many keys, one message) and proof-of-possession
/// verification, each with one PAIRING_CHECK of two pairs.
/// @dev Issue 3 ("On chain"). Min-sig because hashing to G1 costs two MAP_FP_TO_G1 (5,500 gas
/// each) where G2 would cost two MAP_FP2_TO_G2 (23,800 each), and a G1 signature is half the
/// calldata; the keys, in G2, are registered once.
///
/// Verification is CoreVerify of draft-irtf-cfrg-bls-signature-05 §2.7:
/// e(signature, -G2) · e(hash_to_G1(message, dst), publicKey) == 1, where hash_to_G1 is RFC 9380's
/// BLS12381G1_XMD:SHA-256_SSWU_RO_ under `dst`. With the proof-of-possession ciphersuite the tag is
/// `DST_POP_SCHEME` and keys come with a proof checked by `verifyPossession`.
///
/// Keys: a caller must only use keys that passed a proof of possession (`verifyPossession`, which
/// also proves the key is in G2) or an equivalent rogue-key defence; aggregation over keys that did
/// not is insecure (a rogue key can cancel the others). Malformed keys and signatures revert with
/// the errors of `BLS12381` naming the operand; `false` means well-formed inputs that do not verify.
/// A malformed key or signature costs a bounded amount of gas whatever the call is given (every
/// precompile call is capped, see `BLS12381`): about 275,000 for `verify`, so a contract verifying
/// third-party signatures in a loop or a try/catch cannot be drained through them.
library BLSSignatures {
    /// @notice Fast aggregate verification was given no public keys.
    error BLSEmptyPublicKeys();

    /// @notice Signature DST of the min-sig proof-of-possession ciphersuite
    /// (draft-irtf-cfrg-bls-signature-05 §4.2.3, G1 signatures).
    bytes internal constant DST_POP_SCHEME = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";
    /// @notice Proof-of-possession DST of the same ciphersuite.
    bytes internal constant DST_POP_PROOF = "BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";

    /// @notice True when `signature` is a valid signature of `message` under `publicKey` and `dst`.
    /// @param publicKey A G2 point (256 bytes) whose possession was proven.
    /// @param message The signed message, any length.
    /// @param signature A G1 point (128 bytes).
    /// @param dst The hash-to-curve domain-separation tag (1 to 255 bytes), e.g. `DST_POP_SCHEME`.
    function verify(
        bytes memory publicKey,
        bytes memory message,
        bytes memory signature,
        bytes memory dst
    ) internal view returns (bool) {
        BLS12381.validateG2(publicKey, BLS12381.Operand.PublicKey, 0);
        return _verify(publicKey, BLS12381.Operand.PublicKey, message, signature, dst);
    }

    /// @notice `verify` under `DST_POP_SCHEME`, the proof-of-possession ciphersuite's tag.
    function verify(bytes memory publicKey, bytes memory message, bytes memory signature) internal view returns (bool) {
        return verify(publicKey, message, signature, DST_POP_SCHEME);
    }

    /// @notice True when `signature` is a valid aggregate signature of the one `message` by all
    /// `publicKeys` (FastAggregateVerify). Sums the keys with G2ADD, one call per key.
    /// @dev Every key must have passed `verifyPossession`: G2ADD checks each key is on the twist,
    /// and the pairing checks the sum is in G2, but a key outside G2 whose error another key
    /// cancels is only excluded by that earlier check. A key off the twist reverts naming its index;
    /// keys whose sum is outside G2 revert as `AggregatePublicKey`.
    function fastAggregateVerify(
        bytes[] memory publicKeys,
        bytes memory message,
        bytes memory signature,
        bytes memory dst
    ) internal view returns (bool) {
        bytes memory aggregate = aggregatePublicKeys(publicKeys);
        return _verify(aggregate, BLS12381.Operand.AggregatePublicKey, message, signature, dst);
    }

    /// @notice `fastAggregateVerify` with the keys already summed (e.g. by `aggregatePublicKeys`
    /// when the signer set was registered): one pairing check, as cheap as `verify`.
    function fastAggregateVerifyAggregated(
        bytes memory aggregatePublicKey,
        bytes memory message,
        bytes memory signature,
        bytes memory dst
    ) internal view returns (bool) {
        BLS12381.validateG2(aggregatePublicKey, BLS12381.Operand.AggregatePublicKey, 0);
        return _verify(aggregatePublicKey, BLS12381.Operand.AggregatePublicKey, message, signature, dst);
    }

    /// @notice The sum of `publicKeys` in G2 (256 bytes). Reverts when a key is malformed, off the
    /// twist or infinity, and when the sum is infinity. Does not check the subgroup (see
    /// `fastAggregateVerify`).
    function aggregatePublicKeys(bytes[] memory publicKeys) internal view returns (bytes memory aggregate) {
        uint256 n = publicKeys.length;
        if (n == 0) revert BLSEmptyPublicKeys();
        aggregate = new bytes(512); // running sum (starts at infinity: zeros) ‖ next key
        uint256 acc;
        assembly ("memory-safe") {
            acc := add(aggregate, 0x20)
        }
        for (uint256 i; i < n; ++i) {
            bytes memory key = publicKeys[i];
            BLS12381.validateG2(key, BLS12381.Operand.PublicKey, i);
            BLS12381.copyTo(key, acc + 256);
            // The running sum is on the twist (or infinity), so a rejected addition means this key
            // is not (the failure burnt G2ADD's cap, 1,200 gas, and ends the loop).
            if (!BLS12381.g2AddAt(acc, acc)) revert BLS12381.BLS12381InvalidPoint(BLS12381.Operand.PublicKey, i);
        }
        assembly ("memory-safe") {
            mstore(aggregate, 256)
        }
        if (BLS12381.isInfinity(aggregate)) {
            revert BLS12381.BLS12381PointAtInfinity(BLS12381.Operand.AggregatePublicKey, 0);
        }
    }

    /// @notice True when `proof` proves possession of the secret key of `publicKey` (PopVerify of
    /// draft-irtf-cfrg-bls-signature-05 §3.3.3): a signature, under `DST_POP_PROOF`, of the key's
    /// 96-byte compressed encoding. A key that passes is in G2 (the pairing checked it).
    function verifyPossession(bytes memory publicKey, bytes memory proof) internal view returns (bool) {
        BLS12381.validateG2(publicKey, BLS12381.Operand.PublicKey, 0);
        return _verify(publicKey, BLS12381.Operand.PublicKey, BLS12381.compressG2(publicKey), proof, DST_POP_PROOF);
    }

    /// @dev e(signature, -G2) · e(H(message), key) == 1, `key` already checked by the caller.
    /// When the pairing rejects its input (it burnt its cap, 205,800 gas), the key and then the
    /// signature are re-checked (the order of their encoding checks) with capped G2MSM / G1MSM;
    /// -G2 and H(message) are in their groups by construction. A malformed key or signature thus
    /// costs at most the success path plus 205,800 + 22,500 + 24,000 gas, however much gas the
    /// call was given.
    function _verify(
        bytes memory key,
        BLS12381.Operand keyOperand,
        bytes memory message,
        bytes memory signature,
        bytes memory dst
    ) private view returns (bool) {
        BLS12381.validateG1(signature, BLS12381.Operand.Signature, 0);
        uint256 input = BLS12381.allocate(768); // signature ‖ -G2 ‖ H(message) ‖ key
        BLS12381.copyTo(signature, input);
        BLS12381.storeNegG2Generator(input + 128);
        BLS12381.hashToG1At(message, dst, input + 384);
        BLS12381.copyTo(key, input + 512);
        (bool accepted, bool result) = BLS12381.pairingAt(input, 768);
        if (!accepted) {
            BLS12381.requireInSubgroupG2(key, keyOperand, 0);
            BLS12381.requireInSubgroupG1(signature, BLS12381.Operand.Signature, 0);
            revert BLS12381.BLS12381PrecompileFailed(address(0x0f));
        }
        return result;
    }
}
