// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BLS12381} from "./BLS12381.sol";

/// @title ChaCheonIBS
/// @notice Verification of Cha–Cheon identity-based signatures on BLS12-381 (Cha and Cheon, PKC
/// 2003), in the same min-sig layout as `BLSSignatures`: identities and signatures in G1, the
/// PKG's master public key in G2.
/// @dev DESIGN.md (Cryptography) and issue 3 ("On chain"). The scheme, exactly as verified here:
/// - PKG: master secret s in Fr, master public key P = s·G2.
/// - Identity key: Q = H1(ID) in G1, private key d = s·Q (extracted by the PKG).
/// - Sign m: pick r in Fr, U = r·Q, h = H2(m, U), V = (r + h)·d; the signature is (U, V).
/// - Verify: e(V, G2) == e(U + h·Q, P), checked as e(V, -G2) · e(U + h·Q, P) == 1 with one
///   PAIRING_CHECK; h·Q costs one G1MSM and U + h·Q one G1ADD.
///
/// Both DSTs are the SDK's, so SDK-made signatures verify here.
/// H1(ID) = hash_to_curve(ID) for RFC 9380's BLS12381G1_XMD:SHA-256_SSWU_RO_ under `H1_DST`.
/// H2(m, U) = hash_to_field(m ‖ U, count = 1) over Fr (RFC 9380 §5.2: expand_message_xmd with
/// SHA-256 under `H2_DST` to L = 48 bytes, read big-endian, reduced modulo r), where U is the
/// 128-byte EIP-2537 encoding of U (x ‖ y, each coordinate 64 bytes big-endian, 16 zero bytes
/// first). U has a fixed length and comes last, so (m, U) is recovered from m ‖ U unambiguously.
///
/// P, U and V must be valid and not infinity: malformed ones revert with the errors of `BLS12381`
/// naming the operand (`MasterPublicKey`, `IbsU`, `IbsV`), never verify. Whatever gas the call is
/// given, a malformed one costs a bounded amount (precompile calls are capped, see `BLS12381`):
/// about 305,000 at most.
library ChaCheonIBS {
    /// @notice Domain-separation tag of H1 (identities to G1), the SDK's `DST_IDENTITY`
    /// (`sdk/core/crypto/identity.ts`), shared with identity-key extraction.
    bytes internal constant H1_DST = "STRATA-V01-CS01-with-BLS12381G1_XMD:SHA-256_SSWU_RO_ID_";
    /// @notice Domain-separation tag of H2 (message and U to a scalar), the SDK's `DST_IBS_H2`
    /// (`sdk/core/crypto/ibs.ts`).
    bytes internal constant H2_DST = "STRATA-V01-CS01-IBS-CHA-CHEON_XMD:SHA-256_H2_";

    /// @notice Q = H1(identity): the identity's public point in G1 (128 bytes).
    function identityPoint(bytes memory identity) internal view returns (bytes memory) {
        return BLS12381.hashToG1(identity, H1_DST);
    }

    /// @notice h = H2(message, u): the challenge scalar, below r.
    /// @param u The 128-byte encoding of U (checked for its length only).
    function challenge(bytes memory message, bytes memory u) internal view returns (uint256) {
        if (u.length != BLS12381.G1_LENGTH) {
            revert BLS12381.BLS12381InvalidLength(BLS12381.Operand.IbsU, 0, u.length);
        }
        return BLS12381.hashToScalar(bytes.concat(message, u), H2_DST);
    }

    /// @notice True when (u, v) is a Cha–Cheon signature of `message` by `identity` under the PKG
    /// whose master public key is `masterPublicKey`.
    /// @param masterPublicKey P = s·G2 (256 bytes).
    /// @param identity The signer's identity string, any length.
    /// @param message The signed message, any length.
    /// @param u U = r·Q (128 bytes).
    /// @param v V = (r + h)·d (128 bytes).
    function verify(
        bytes memory masterPublicKey,
        bytes memory identity,
        bytes memory message,
        bytes memory u,
        bytes memory v
    ) internal view returns (bool) {
        BLS12381.validateG2(masterPublicKey, BLS12381.Operand.MasterPublicKey, 0);
        BLS12381.validateG1(u, BLS12381.Operand.IbsU, 0);
        BLS12381.validateG1(v, BLS12381.Operand.IbsV, 0);
        uint256 h = challenge(message, u);

        // h·Q: G1MSM input Q ‖ h, result written next to a copy of U for the G1ADD.
        uint256 msm = BLS12381.allocate(160);
        BLS12381.hashToG1At(identity, H1_DST, msm);
        assembly ("memory-safe") {
            mstore(add(msm, 0x80), h)
        }
        uint256 sum = BLS12381.allocate(256); // U ‖ h·Q
        BLS12381.copyTo(u, sum);
        // Q is a hash output, in G1 by construction: G1MSM cannot reject it (a lack of gas or a
        // missing precompile reverts in g1MulAt).
        if (!BLS12381.g1MulAt(msm, sum + 128)) revert BLS12381.BLS12381PrecompileFailed(address(0x0c));

        uint256 input = BLS12381.allocate(768); // V ‖ -G2 ‖ U + h·Q ‖ P
        BLS12381.copyTo(v, input);
        BLS12381.storeNegG2Generator(input + 128);
        // h·Q is on the curve, so a rejected addition means U is not.
        if (!BLS12381.g1AddAt(sum, input + 384)) revert BLS12381.BLS12381InvalidPoint(BLS12381.Operand.IbsU, 0);
        BLS12381.copyTo(masterPublicKey, input + 512);

        (bool accepted, bool result) = BLS12381.pairingAt(input, 768);
        if (!accepted) {
            // The pairing rejected a point and burnt its cap (205,800 gas). Re-checked in the order
            // of the encoding checks, each with a capped MSM (22,500 / 12,000 gas for a good point,
            // 45,000 / 24,000 for a bad one). U + h·Q is outside G1 exactly when U is (h·Q is in
            // G1), so U is checked alone.
            BLS12381.requireInSubgroupG2(masterPublicKey, BLS12381.Operand.MasterPublicKey, 0);
            BLS12381.requireInSubgroupG1(u, BLS12381.Operand.IbsU, 0);
            BLS12381.requireInSubgroupG1(v, BLS12381.Operand.IbsV, 0);
            revert BLS12381.BLS12381PrecompileFailed(address(0x0f));
        }
        return result;
    }
}
