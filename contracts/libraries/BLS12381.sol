// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title BLS12381
/// @notice BLS12-381 over the EIP-2537 precompiles (prague and later): point encodings and their
/// checks, group operations, the pairing check, and RFC 9380 hashing (expand_message_xmd with
/// SHA-256, hash_to_field over Fp and Fr, hash_to_curve for the suite
/// BLS12381G1_XMD:SHA-256_SSWU_RO_). The signature schemes are in `BLSSignatures` (min-sig BLS) and
/// `ChaCheonIBS` (identity-based signatures); both build on this library.
/// @dev Issue 3 ("On chain") and DESIGN.md (Cryptography).
///
/// Encodings are EIP-2537's, uncompressed and padded:
/// - an Fp element is 64 bytes, big-endian, its top 16 bytes zero, its value below p;
/// - a G1 point is 128 bytes: x ‖ y;
/// - a G2 point is 256 bytes: x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1 (an Fp2 element c0 + c1·u, c0 first);
/// - the point at infinity is all zeros.
///
/// What is checked where. Length, padding and coordinate range are checked here, in Solidity,
/// before any precompile sees the point, so they revert with an error that names the operand.
/// Being on the curve and in the prime-order subgroup are checked by the precompiles: G1ADD and
/// G2ADD check the curve only; G1MSM, G2MSM and PAIRING_CHECK check the curve and the subgroup.
///
/// Gas. A precompile that rejects its input fails and consumes all the gas it was given. So that
/// a well-encoded but invalid point (off the curve, outside the subgroup) costs a bounded amount
/// whatever gas the transaction carries, every precompile call is given a cap: its price in the
/// EIP-2537 schedule (SHA-256's for 0x02) times `GAS_MARGIN`, never all the remaining gas. A
/// rejected input burns that cap, no more. When a call fails with its full cap, the caller
/// re-checks the operands with capped calls too (only on this failure path: G2ADD or G1ADD with
/// infinity for the curve, a G1MSM or G2MSM by 1 for the subgroup) and reverts with
/// `BLS12381InvalidPoint` naming the first bad one; when it failed with less than its cap (the
/// 63/64 rule left too little gas) or returned the wrong number of bytes (no precompile at the
/// address: a chain without EIP-2537), it reverts with `BLS12381PrecompileFailed`. Nothing
/// answers true unless a precompile returned its full output.
///
/// The margin absorbs a repricing of up to `GAS_MARGIN` times the current price. A larger one
/// would make valid calls fail closed (revert with `BLS12381PrecompileFailed` or, in a re-check,
/// `BLS12381InvalidPoint`; never true) until the contracts using this library are rebuilt.
library BLS12381 {
    /// @notice The argument a validation error refers to.
    enum Operand {
        Point, // an argument of a generic group operation (index = position)
        Signature, // a BLS signature (G1)
        PublicKey, // a BLS public key (G2; index = position in a key list)
        AggregatePublicKey, // the sum of BLS public keys (G2)
        MasterPublicKey, // a PKG's master public key P = s·G2 (G2)
        IbsU, // the U part of a Cha–Cheon signature (G1)
        IbsV // the V part of a Cha–Cheon signature (G1)
    }

    /// @notice `operand` (number `index` of its kind) is not `length` bytes long as its encoding requires.
    error BLS12381InvalidLength(Operand operand, uint256 index, uint256 length);
    /// @notice A coordinate of `operand` has non-zero padding or is not below the field modulus p.
    error BLS12381InvalidFieldElement(Operand operand, uint256 index);
    /// @notice `operand` is not on the curve or not in the prime-order subgroup.
    error BLS12381InvalidPoint(Operand operand, uint256 index);
    /// @notice `operand` is the point at infinity, which no key or signature may be.
    error BLS12381PointAtInfinity(Operand operand, uint256 index);
    /// @notice The domain-separation tag is empty or longer than 255 bytes (RFC 9380 §5.3.1).
    error BLS12381InvalidDST(uint256 length);
    /// @notice expand_message_xmd cannot produce `lenInBytes` bytes (0, more than 8160, RFC 9380 §5.3.1).
    error BLS12381InvalidExpandLength(uint256 lenInBytes);
    /// @notice `precompile` failed on inputs already checked: given less than its gas cap (too
    /// little gas left, 63/64 rule), or not available on this chain (no output), or, after a
    /// repricing beyond `GAS_MARGIN`, more expensive than its cap.
    error BLS12381PrecompileFailed(address precompile);
    /// @notice A pairing check needs as many G2 points as G1 points, and at least one of each.
    error BLS12381InvalidPairingInput(uint256 g1Count, uint256 g2Count);

    /// @notice Byte length of an encoded Fp element.
    uint256 internal constant FP_LENGTH = 64;
    /// @notice Byte length of an encoded G1 point.
    uint256 internal constant G1_LENGTH = 128;
    /// @notice Byte length of an encoded G2 point.
    uint256 internal constant G2_LENGTH = 256;

    /// @notice The order r of G1, G2 and GT (the scalar field Fr).
    uint256 internal constant R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;

    // The field modulus p (381 bits) as two words: p = P_HI·2^256 + P_LO, which is also its
    // EIP-2537 encoding (P_HI carries the 16 zero bytes of padding).
    uint256 internal constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 internal constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;
    // (p - 1) / 2, for the sign of y in compressed encodings.
    uint256 private constant HALF_P_HI = 0x0d0088f51cbff34d258dd3db21a5d66b;
    uint256 private constant HALF_P_LO = 0xb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555;
    // floor(2^512 / p) (132 bits), the Barrett constant reducing a 512-bit hash output modulo p.
    uint256 private constant MU = 0x9d835d2f3cc9e45ce28101b0cc7a6ba29;
    // 2^256 mod r, to reduce a 384-bit hash output modulo r with mulmod / addmod.
    uint256 private constant TWO_256_MOD_R = 0x1824b159acc5056f998c4fefecbc4ff55884b7fa0003480200000001fffffffe;

    // -G2 (the negated generator), EIP-2537 encoding word by word: x.c0, x.c1, y.c0, y.c1.
    uint256 private constant NEG_G2_X0_HI = 0x024aa2b2f08f0a91260805272dc51051;
    uint256 private constant NEG_G2_X0_LO = 0xc6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8;
    uint256 private constant NEG_G2_X1_HI = 0x13e02b6052719f607dacd3a088274f65;
    uint256 private constant NEG_G2_X1_LO = 0x596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e;
    uint256 private constant NEG_G2_Y0_HI = 0x0d1b3cc2c7027888be51d9ef691d77bc;
    uint256 private constant NEG_G2_Y0_LO = 0xb679afda66c73f17f9ee3837a55024f78c71363275a75d75d86bab79f74782aa;
    uint256 private constant NEG_G2_Y1_HI = 0x13fa4d4a0ad8b1ce186ed5061789213d;
    uint256 private constant NEG_G2_Y1_LO = 0x993923066dddaf1040bc3ff59f825c78df74f2d75467e25e0f55f8a00fa030ed;

    // Precompile addresses (EIP-2537, and SHA-256 from the Frontier set).
    uint256 private constant SHA256 = 0x02;
    uint256 private constant G1ADD = 0x0b;
    uint256 private constant G1MSM = 0x0c;
    uint256 private constant G2ADD = 0x0d;
    uint256 private constant G2MSM = 0x0e;
    uint256 private constant PAIRING_CHECK = 0x0f;
    uint256 private constant MAP_FP_TO_G1 = 0x10;

    /// @notice Every precompile call is given at most its price times this (see the title block).
    /// 2 leaves room for a repricing that doubles a price; a rejected input costs twice its price.
    uint256 internal constant GAS_MARGIN = 2;

    // Prices (EIP-2537's schedule, and SHA-256's from the yellow paper). The caps are these times
    // GAS_MARGIN. MSMs are only ever made with one pair here, so only k = 1 of EIP-2537's discount
    // table is needed: k · base · discount(k) / 1000 with discount(1) = 1000. MAP_FP2_TO_G2
    // (23,800) is not called: hashing is to G1 only.
    uint256 private constant G1ADD_GAS = 375;
    uint256 private constant G2ADD_GAS = 600;
    uint256 private constant G1MSM_1_GAS = 12_000;
    uint256 private constant G2MSM_1_GAS = 22_500;
    uint256 private constant PAIRING_BASE_GAS = 37_700;
    uint256 private constant PAIRING_PER_PAIR_GAS = 32_600;
    uint256 private constant MAP_FP_TO_G1_GAS = 5_500;
    uint256 private constant SHA256_BASE_GAS = 60;
    uint256 private constant SHA256_WORD_GAS = 12;
    // GAS_MARGIN · (60 + 12 · 10): the cap of the SHA-256 of an expand_message_xmd block input,
    // b_(i-1) ‖ I2OSP(i, 1) ‖ DST ‖ I2OSP(len(DST), 1), at most 32 + 1 + 255 + 1 = 289 bytes.
    uint256 private constant SHA256_BLOCK_CAP = 360;

    // ------------------------------------------------------------- encodings

    /// @notice Reverts unless `point` is a well-formed G1 encoding other than infinity: 128 bytes,
    /// zero padding, coordinates below p. Curve and subgroup membership are left to the precompile
    /// that consumes the point (or to `isInSubgroupG1`).
    function validateG1(bytes memory point, Operand operand, uint256 index) internal pure {
        _revertOn(_g1Status(point, true), point, operand, index);
    }

    /// @notice Reverts unless `point` is a well-formed G2 encoding other than infinity: 256 bytes,
    /// zero padding, coordinates below p. Curve and subgroup membership are left to the precompile
    /// that consumes the point (or to `isInSubgroupG2`).
    function validateG2(bytes memory point, Operand operand, uint256 index) internal pure {
        _revertOn(_g2Status(point, true), point, operand, index);
    }

    /// @notice Like `validateG1`, but accepts the point at infinity.
    function checkG1Encoding(bytes memory point, Operand operand, uint256 index) internal pure {
        _revertOn(_g1Status(point, false), point, operand, index);
    }

    /// @notice Like `validateG2`, but accepts the point at infinity.
    function checkG2Encoding(bytes memory point, Operand operand, uint256 index) internal pure {
        _revertOn(_g2Status(point, false), point, operand, index);
    }

    /// @notice True when every byte of the encoded `point` is zero: EIP-2537's point at infinity.
    function isInfinity(bytes memory point) internal pure returns (bool zero) {
        assembly ("memory-safe") {
            let acc := 0
            let p := add(point, 0x20)
            for {
                let end := add(p, mload(point))
            } lt(p, end) {
                p := add(p, 0x20)
            } {
                acc := or(acc, mload(p))
            }
            zero := iszero(acc)
        }
    }

    /// @notice True when the encoded `point` is on the curve and in G1 (one G1MSM by 1: 12,000 gas).
    /// @dev A point that is not burns the call's cap (24,000 gas). False also when the call could
    /// not run (too little gas, no EIP-2537): `requireInSubgroupG1` tells these apart.
    function isInSubgroupG1(bytes memory point) internal view returns (bool ok) {
        if (point.length != G1_LENGTH) return false;
        assembly ("memory-safe") {
            let buf := mload(0x40)
            mcopy(buf, add(point, 0x20), 0x80)
            mstore(add(buf, 0x80), 1)
            // An address without code also "succeeds": only 128 bytes back mean a G1MSM ran.
            // (Yul evaluates arguments right to left: the size is read after the call.)
            ok := staticcall(mul(GAS_MARGIN, G1MSM_1_GAS), G1MSM, buf, 0xa0, buf, 0x80)
            ok := and(ok, eq(returndatasize(), 0x80))
        }
    }

    /// @notice True when the encoded `point` is on the twist and in G2 (one G2MSM by 1: 22,500 gas).
    /// @dev See `isInSubgroupG1` (the cap here is 45,000).
    function isInSubgroupG2(bytes memory point) internal view returns (bool ok) {
        if (point.length != G2_LENGTH) return false;
        assembly ("memory-safe") {
            let buf := mload(0x40)
            mcopy(buf, add(point, 0x20), 0x100)
            mstore(add(buf, 0x100), 1)
            ok := staticcall(mul(GAS_MARGIN, G2MSM_1_GAS), G2MSM, buf, 0x120, buf, 0x100)
            ok := and(ok, eq(returndatasize(), 0x100))
        }
    }

    /// @notice Reverts with `BLS12381InvalidPoint(operand, index)` unless the G1 `point` (encoding
    /// already checked) is on the curve and in G1; with `BLS12381PrecompileFailed(G1MSM)` when that
    /// cannot be decided (too little gas for the capped G1MSM, no EIP-2537). Costs 12,000 gas for a
    /// point in G1, at most 24,000 otherwise: the re-check after a failed pairing.
    function requireInSubgroupG1(bytes memory point, Operand operand, uint256 index) internal view {
        if (point.length != G1_LENGTH) revert BLS12381InvalidLength(operand, index, point.length);
        uint256 buf = allocate(0xa0);
        assembly ("memory-safe") {
            mcopy(buf, add(point, 0x20), 0x80)
            mstore(add(buf, 0x80), 1)
        }
        if (!_call(G1MSM, GAS_MARGIN * G1MSM_1_GAS, buf, 0xa0, buf, 0x80)) {
            revert BLS12381InvalidPoint(operand, index);
        }
    }

    /// @notice `requireInSubgroupG1` for a G2 `point` (G2MSM: 22,500 gas, at most 45,000).
    function requireInSubgroupG2(bytes memory point, Operand operand, uint256 index) internal view {
        if (point.length != G2_LENGTH) revert BLS12381InvalidLength(operand, index, point.length);
        uint256 buf = allocate(0x120);
        assembly ("memory-safe") {
            mcopy(buf, add(point, 0x20), 0x100)
            mstore(add(buf, 0x100), 1)
        }
        if (!_call(G2MSM, GAS_MARGIN * G2MSM_1_GAS, buf, 0x120, buf, 0x100)) {
            revert BLS12381InvalidPoint(operand, index);
        }
    }

    /// @notice The compressed (ZCash / IETF pairing-friendly-curves) encoding of a G2 point: 96
    /// bytes x.c1 ‖ x.c0, the top bits of the first byte flagging compression (0x80), infinity
    /// (0x40) and the sign of y (0x20: y is the larger of y and -y, comparing c1 first, c0 if c1 is
    /// zero). This is what the BLS proof of possession signs.
    /// @dev Expects a checked encoding (`checkG2Encoding`); the point is not validated here.
    function compressG2(bytes memory point) internal pure returns (bytes memory out) {
        out = new bytes(96);
        assembly ("memory-safe") {
            let src := add(point, 0x20)
            let dst := add(out, 0x20)
            mcopy(dst, add(src, 0x50), 0x30) // x.c1 without its padding
            mcopy(add(dst, 0x30), add(src, 0x10), 0x30) // x.c0
            let hi := mload(add(src, 0xc0)) // y.c1
            let lo := mload(add(src, 0xe0))
            if iszero(or(hi, lo)) {
                hi := mload(add(src, 0x80)) // y.c0
                lo := mload(add(src, 0xa0))
            }
            let large := or(gt(hi, HALF_P_HI), and(eq(hi, HALF_P_HI), gt(lo, HALF_P_LO)))
            let flags := or(0x80, shl(5, large))
            let acc := 0
            for {
                let p := src
            } lt(p, add(src, 0x100)) {
                p := add(p, 0x20)
            } {
                acc := or(acc, mload(p))
            }
            if iszero(acc) {
                flags := 0xc0
            }
            mstore8(dst, or(byte(0, mload(dst)), flags))
        }
    }

    // ------------------------------------------------------- group operations

    /// @notice a + b in G1 (G1ADD: both points must be on the curve; no subgroup check).
    function g1Add(bytes memory a, bytes memory b) internal view returns (bytes memory sum) {
        checkG1Encoding(a, Operand.Point, 0);
        checkG1Encoding(b, Operand.Point, 1);
        sum = new bytes(G1_LENGTH);
        uint256 buf = allocate(0x100);
        uint256 out;
        assembly ("memory-safe") {
            mcopy(buf, add(a, 0x20), 0x80)
            mcopy(add(buf, 0x80), add(b, 0x20), 0x80)
            out := add(sum, 0x20)
        }
        if (!g1AddAt(buf, out)) {
            // Not both on the curve: name the first that is not.
            if (!_onCurveG1(a)) revert BLS12381InvalidPoint(Operand.Point, 0);
            revert BLS12381InvalidPoint(Operand.Point, 1);
        }
    }

    /// @notice scalar · point in G1 (G1MSM with one pair: the point must be in G1). Any 256-bit
    /// scalar is accepted (the precompile does not reduce it, nor needs to).
    function g1Mul(bytes memory point, uint256 scalar) internal view returns (bytes memory product) {
        checkG1Encoding(point, Operand.Point, 0);
        product = new bytes(G1_LENGTH);
        uint256 buf = allocate(0xa0);
        uint256 out;
        assembly ("memory-safe") {
            mcopy(buf, add(point, 0x20), 0x80)
            mstore(add(buf, 0x80), scalar)
            out := add(product, 0x20)
        }
        if (!g1MulAt(buf, out)) revert BLS12381InvalidPoint(Operand.Point, 0);
    }

    /// @notice a + b in G2 (G2ADD: both points must be on the twist; no subgroup check).
    function g2Add(bytes memory a, bytes memory b) internal view returns (bytes memory sum) {
        checkG2Encoding(a, Operand.Point, 0);
        checkG2Encoding(b, Operand.Point, 1);
        sum = new bytes(G2_LENGTH);
        uint256 buf = allocate(0x200);
        uint256 out;
        assembly ("memory-safe") {
            mcopy(buf, add(a, 0x20), 0x100)
            mcopy(add(buf, 0x100), add(b, 0x20), 0x100)
            out := add(sum, 0x20)
        }
        if (!g2AddAt(buf, out)) {
            if (!_onCurveG2(a)) revert BLS12381InvalidPoint(Operand.Point, 0);
            revert BLS12381InvalidPoint(Operand.Point, 1);
        }
    }

    /// @notice True when e(g1[0], g2[0]) · … · e(g1[k-1], g2[k-1]) == 1 (PAIRING_CHECK: every point
    /// must be in its group; infinity is allowed and contributes 1).
    /// @dev Errors name the bad point as `Operand.Point` with index 2i (G1) or 2i+1 (G2). A bad
    /// point costs the pairing's cap (2 · (32,600·k + 37,700)) and the re-checks of the points up
    /// to it (a G1MSM and a G2MSM per pair, each capped).
    function pairingCheck(bytes[] memory g1Points, bytes[] memory g2Points) internal view returns (bool) {
        uint256 k = g1Points.length;
        if (k == 0 || k != g2Points.length) revert BLS12381InvalidPairingInput(k, g2Points.length);
        uint256 buf = allocate(k * 384);
        for (uint256 i; i < k; ++i) {
            bytes memory a = g1Points[i];
            bytes memory b = g2Points[i];
            checkG1Encoding(a, Operand.Point, 2 * i);
            checkG2Encoding(b, Operand.Point, 2 * i + 1);
            assembly ("memory-safe") {
                let slot := add(buf, mul(i, 384))
                mcopy(slot, add(a, 0x20), 0x80)
                mcopy(add(slot, 0x80), add(b, 0x20), 0x100)
            }
        }
        (bool accepted, bool result) = pairingAt(buf, k * 384);
        if (!accepted) {
            for (uint256 i; i < k; ++i) {
                requireInSubgroupG1(g1Points[i], Operand.Point, 2 * i);
                requireInSubgroupG2(g2Points[i], Operand.Point, 2 * i + 1);
            }
            revert BLS12381PrecompileFailed(address(uint160(PAIRING_CHECK)));
        }
        return result;
    }

    // ------------------------------------------------------------ hashing

    /// @notice RFC 9380 §5.3.1 expand_message_xmd with SHA-256 (through the 0x02 precompile).
    /// @param message The message, any length.
    /// @param dst The domain-separation tag, 1 to 255 bytes.
    /// @param lenInBytes Output length, 1 to 8160 (255 SHA-256 blocks).
    function expandMessageXmd(
        bytes memory message,
        bytes memory dst,
        uint256 lenInBytes
    ) internal view returns (bytes memory uniform) {
        uint256 words = (lenInBytes + 31) >> 5;
        uint256 out = allocate(32 + (words << 5));
        _expandMessageXmd(message, dst, lenInBytes, out + 32);
        assembly ("memory-safe") {
            uniform := out
            mstore(uniform, lenInBytes)
            // Clean the bytes past the end of the last, partial block.
            if and(lenInBytes, 31) {
                let last := add(add(uniform, 0x20), and(lenInBytes, not(31)))
                let keep := mul(8, and(lenInBytes, 31))
                mstore(last, and(mload(last), not(shr(keep, not(0)))))
            }
        }
    }

    /// @notice RFC 9380 §5.2 hash_to_field for Fr with count 1: expand_message_xmd to L = 48 bytes
    /// (ceil((255 + 128) / 8), k = 128), read big-endian, reduced modulo r.
    function hashToScalar(bytes memory message, bytes memory dst) internal view returns (uint256) {
        uint256 out = allocate(64);
        _expandMessageXmd(message, dst, 48, out);
        uint256 hi;
        uint256 lo;
        assembly ("memory-safe") {
            hi := shr(128, mload(out))
            lo := mload(add(out, 16))
        }
        return addmod(mulmod(hi, TWO_256_MOD_R, R), lo, R);
    }

    /// @notice RFC 9380 hash_to_curve for the suite BLS12381G1_XMD:SHA-256_SSWU_RO_ under `dst`.
    /// @return point The 128-byte EIP-2537 encoding of the point in G1.
    function hashToG1(bytes memory message, bytes memory dst) internal view returns (bytes memory point) {
        point = new bytes(G1_LENGTH);
        uint256 out;
        assembly ("memory-safe") {
            out := add(point, 0x20)
        }
        hashToG1At(message, dst, out);
    }

    /// @notice `hashToG1` writing its 128 bytes at memory address `out` (already allocated).
    /// @dev hash_to_field (count 2, L = 64: expand_message_xmd to 128 bytes, each 64-byte half read
    /// big-endian and reduced modulo p by `reduceModP`), then MAP_FP_TO_G1 on each element and
    /// G1ADD. EIP-2537's map includes the cofactor clearing, which is linear (multiplication by
    /// h_eff), so the sum of the two mapped points is clear_cofactor(Q0 + Q1) as RFC 9380 specifies.
    /// The 256 bytes it allocates hold u0 ‖ u1 (the two 64-byte field elements, 128 bytes), then
    /// Q0 ‖ Q1 over them: Q1 = map(u1) is written to the second half first, then Q0 = map(u0) over
    /// u0 ‖ u1, u1 having been read already (a precompile reads its input before it writes).
    function hashToG1At(bytes memory message, bytes memory dst, uint256 out) internal view {
        uint256 buf = allocate(256); // u0 ‖ u1 ‖ (unused), then Q0 ‖ Q1
        _expandMessageXmd(message, dst, 128, buf);
        _reduceInPlace(buf);
        _reduceInPlace(buf + 64);
        bool mapped;
        bool added;
        assembly ("memory-safe") {
            // Each call must also return its 128 bytes: on a chain without EIP-2537 a call to the
            // empty address succeeds with no output. Valid field elements and points: a failure is
            // a lack of gas or a missing precompile, never a rejected input.
            let mapCap := mul(GAS_MARGIN, MAP_FP_TO_G1_GAS)
            // (Both maps call the same address: the size returned by the second vouches for both.)
            mapped := staticcall(mapCap, MAP_FP_TO_G1, add(buf, 0x40), 0x40, add(buf, 0x80), 0x80)
            mapped := and(mapped, staticcall(mapCap, MAP_FP_TO_G1, buf, 0x40, buf, 0x80))
            mapped := and(mapped, eq(returndatasize(), 0x80))
            added := staticcall(mul(GAS_MARGIN, G1ADD_GAS), G1ADD, buf, 0x100, out, 0x80)
            added := and(added, eq(returndatasize(), 0x80))
        }
        if (!mapped) revert BLS12381PrecompileFailed(address(uint160(MAP_FP_TO_G1)));
        if (!added) revert BLS12381PrecompileFailed(address(uint160(G1ADD)));
    }

    /// @notice v mod p for the 512-bit v = hi·2^256 + lo, as (rHi, rLo) with r = rHi·2^256 + rLo:
    /// the EIP-2537 words of the field element (RFC 9380 hash_to_field's OS2IP(tv) mod p).
    /// @dev Barrett reduction: q = floor(hi·MU / 2^256) is floor(v / p) minus 0, 1 or 2 (hi·MU/2^256
    /// undershoots hi·2^256/p by less than 1, and v/p exceeds hi·2^256/p by lo/p < 1), so
    /// v - q·p, computed modulo 2^512, is below 3p and two conditional subtractions finish.
    function reduceModP(uint256 hi, uint256 lo) internal pure returns (uint256 rHi, uint256 rLo) {
        assembly ("memory-safe") {
            // q·2^256 + (low bits) = hi·MU: q is the high word of the 512-bit product.
            let mm := mulmod(hi, MU, not(0))
            let ml := mul(hi, MU)
            let q := sub(sub(mm, ml), lt(mm, ml))
            mm := mulmod(q, P_LO, not(0))
            ml := mul(q, P_LO)
            rLo := sub(lo, ml)
            rHi := sub(sub(sub(hi, mul(q, P_HI)), sub(sub(mm, ml), lt(mm, ml))), lt(lo, ml))
            // Two branch-free conditional subtractions of p.
            let ge := or(gt(rHi, P_HI), and(eq(rHi, P_HI), iszero(lt(rLo, P_LO))))
            rHi := sub(sub(rHi, mul(ge, P_HI)), and(ge, lt(rLo, P_LO)))
            rLo := sub(rLo, mul(ge, P_LO))
            ge := or(gt(rHi, P_HI), and(eq(rHi, P_HI), iszero(lt(rLo, P_LO))))
            rHi := sub(sub(rHi, mul(ge, P_HI)), and(ge, lt(rLo, P_LO)))
            rLo := sub(rLo, mul(ge, P_LO))
        }
    }

    // ------------------------------------------------- building blocks

    /// @notice Reserves `size` bytes (rounded up to whole words) of memory and returns their address.
    function allocate(uint256 size) internal pure returns (uint256 ptr) {
        assembly ("memory-safe") {
            ptr := mload(0x40)
            mstore(0x40, add(ptr, and(add(size, 31), not(31))))
        }
    }

    /// @notice Writes the 256-byte encoding of -G2 (the negated generator) at `out`.
    function storeNegG2Generator(uint256 out) internal pure {
        assembly ("memory-safe") {
            mstore(out, NEG_G2_X0_HI)
            mstore(add(out, 0x20), NEG_G2_X0_LO)
            mstore(add(out, 0x40), NEG_G2_X1_HI)
            mstore(add(out, 0x60), NEG_G2_X1_LO)
            mstore(add(out, 0x80), NEG_G2_Y0_HI)
            mstore(add(out, 0xa0), NEG_G2_Y0_LO)
            mstore(add(out, 0xc0), NEG_G2_Y1_HI)
            mstore(add(out, 0xe0), NEG_G2_Y1_LO)
        }
    }

    /// @notice Copies the bytes of `data` to memory address `out`.
    function copyTo(bytes memory data, uint256 out) internal pure {
        assembly ("memory-safe") {
            mcopy(out, add(data, 0x20), mload(data))
        }
    }

    /// @notice PAIRING_CHECK on `length` bytes (k = length / 384 pairs) at `input`, given at most
    /// `GAS_MARGIN` · (32,600·k + 37,700) gas.
    /// @return accepted False when the precompile rejected the input (a point off the curve or
    /// outside its subgroup): it failed with its full cap, which it burnt. Reverts with
    /// `BLS12381PrecompileFailed(PAIRING_CHECK)` when it could not run: given less than its cap, or
    /// missing (a chain before prague: a call to an address without code succeeds with no output,
    /// which is not taken for an answer).
    /// @return result True when the product of the pairings is 1 (false unless accepted).
    function pairingAt(uint256 input, uint256 length) internal view returns (bool accepted, bool result) {
        uint256 gasCap = GAS_MARGIN * (PAIRING_BASE_GAS + PAIRING_PER_PAIR_GAS * (length / 384));
        bool success;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            success := staticcall(gasCap, PAIRING_CHECK, input, length, 0x00, 0x20)
            accepted := and(success, eq(returndatasize(), 0x20))
            result := and(accepted, eq(mload(0x00), 1))
        }
        if (!accepted) _requireRejected(success, gasCap, PAIRING_CHECK);
    }

    /// @notice G1MSM of the one pair (128-byte point ‖ 32-byte scalar) at `input`, result at `out`.
    /// @return accepted False when the precompile rejected the point (not in G1; the failure burnt
    /// the cap, 24,000 gas). Reverts with `BLS12381PrecompileFailed(G1MSM)` when the call could not
    /// run (see `pairingAt`).
    function g1MulAt(uint256 input, uint256 out) internal view returns (bool accepted) {
        bool success;
        assembly ("memory-safe") {
            success := staticcall(mul(GAS_MARGIN, G1MSM_1_GAS), G1MSM, input, 0xa0, out, 0x80)
            accepted := and(success, eq(returndatasize(), 0x80))
        }
        if (!accepted) _requireRejected(success, GAS_MARGIN * G1MSM_1_GAS, G1MSM);
    }

    /// @notice G1ADD of the two points (256 bytes) at `input`, result at `out`.
    /// @return accepted False when a point is off the curve (the failure burnt the cap, 750 gas).
    /// Reverts with `BLS12381PrecompileFailed(G1ADD)` when the call could not run.
    function g1AddAt(uint256 input, uint256 out) internal view returns (bool accepted) {
        bool success;
        assembly ("memory-safe") {
            success := staticcall(mul(GAS_MARGIN, G1ADD_GAS), G1ADD, input, 0x100, out, 0x80)
            accepted := and(success, eq(returndatasize(), 0x80))
        }
        if (!accepted) _requireRejected(success, GAS_MARGIN * G1ADD_GAS, G1ADD);
    }

    /// @notice G2ADD of the two points (512 bytes) at `input`, result at `out`.
    /// @return accepted False when a point is off the twist (the failure burnt the cap, 1,200
    /// gas). Reverts with `BLS12381PrecompileFailed(G2ADD)` when the call could not run.
    function g2AddAt(uint256 input, uint256 out) internal view returns (bool accepted) {
        bool success;
        assembly ("memory-safe") {
            success := staticcall(mul(GAS_MARGIN, G2ADD_GAS), G2ADD, input, 0x200, out, 0x100)
            accepted := and(success, eq(returndatasize(), 0x100))
        }
        if (!accepted) _requireRejected(success, GAS_MARGIN * G2ADD_GAS, G2ADD);
    }

    // ------------------------------------------------------------- private

    /// @dev STATICCALL of `precompile` with at most `gasCap` gas, `outLength` bytes expected back.
    /// True when they came back; false when the precompile rejected the input; otherwise reverts
    /// (see `_requireRejected`).
    function _call(
        uint256 precompile,
        uint256 gasCap,
        uint256 input,
        uint256 inputLength,
        uint256 out,
        uint256 outLength
    ) private view returns (bool accepted) {
        bool success;
        assembly ("memory-safe") {
            success := staticcall(gasCap, precompile, input, inputLength, out, outLength)
            accepted := and(success, eq(returndatasize(), outLength))
        }
        if (!accepted) _requireRejected(success, gasCap, precompile);
    }

    /// @dev After a call given at most `gasCap` did not return its output: reverts with
    /// `BLS12381PrecompileFailed(precompile)` unless it failed having had its full cap, which for
    /// an EIP-2537 precompile means it rejected its input.
    /// - It succeeded with the wrong output size: an address without code (no EIP-2537).
    /// - It failed with less than its cap: then it was given 63/64 of the gas available at the call
    ///   and left the 1/64, which is below gasCap / 63. So with more than gasCap / 63 left now, it
    ///   had its full cap. (The re-checks that follow are capped calls going through this same
    ///   test, so a lack of gas there cannot be taken for a bad operand either.)
    function _requireRejected(bool success, uint256 gasCap, uint256 precompile) private view {
        if (success || gasleft() <= gasCap / 63) revert BLS12381PrecompileFailed(address(uint160(precompile)));
    }

    // Outcomes of the encoding checks.
    uint256 private constant ENCODING_OK = 0;
    uint256 private constant BAD_LENGTH = 1;
    uint256 private constant BAD_FIELD_ELEMENT = 2;
    uint256 private constant AT_INFINITY = 3;

    function _revertOn(uint256 status, bytes memory point, Operand operand, uint256 index) private pure {
        if (status == ENCODING_OK) return;
        if (status == BAD_LENGTH) revert BLS12381InvalidLength(operand, index, point.length);
        if (status == BAD_FIELD_ELEMENT) revert BLS12381InvalidFieldElement(operand, index);
        revert BLS12381PointAtInfinity(operand, index);
    }

    /// @dev Length, then padding and range of both coordinates, then infinity. An Fp element is
    /// valid when its high word (padding included) is below P_HI, or equal to P_HI with the low
    /// word below P_LO; the equal case is so rare that it is only looked at when a high word is
    /// not below P_HI.
    function _g1Status(bytes memory point, bool rejectInfinity) private pure returns (uint256 status) {
        assembly ("memory-safe") {
            switch eq(mload(point), 0x80)
            case 0 {
                status := BAD_LENGTH
            }
            default {
                let x := mload(add(point, 0x20))
                let y := mload(add(point, 0x60))
                if iszero(and(lt(x, P_HI), lt(y, P_HI))) {
                    if iszero(
                        and(
                            or(lt(x, P_HI), and(eq(x, P_HI), lt(mload(add(point, 0x40)), P_LO))),
                            or(lt(y, P_HI), and(eq(y, P_HI), lt(mload(add(point, 0x80)), P_LO)))
                        )
                    ) {
                        status := BAD_FIELD_ELEMENT
                    }
                }
                if rejectInfinity {
                    if iszero(or(or(x, y), or(mload(add(point, 0x40)), mload(add(point, 0x80))))) {
                        status := AT_INFINITY
                    }
                }
            }
        }
    }

    /// @dev `_g1Status` for the four coordinates of a G2 point.
    function _g2Status(bytes memory point, bool rejectInfinity) private pure returns (uint256 status) {
        assembly ("memory-safe") {
            switch eq(mload(point), 0x100)
            case 0 {
                status := BAD_LENGTH
            }
            default {
                let x0 := mload(add(point, 0x20))
                let x1 := mload(add(point, 0x60))
                let y0 := mload(add(point, 0xa0))
                let y1 := mload(add(point, 0xe0))
                if iszero(and(and(lt(x0, P_HI), lt(x1, P_HI)), and(lt(y0, P_HI), lt(y1, P_HI)))) {
                    if iszero(
                        and(
                            and(
                                or(lt(x0, P_HI), and(eq(x0, P_HI), lt(mload(add(point, 0x40)), P_LO))),
                                or(lt(x1, P_HI), and(eq(x1, P_HI), lt(mload(add(point, 0x80)), P_LO)))
                            ),
                            and(
                                or(lt(y0, P_HI), and(eq(y0, P_HI), lt(mload(add(point, 0xc0)), P_LO))),
                                or(lt(y1, P_HI), and(eq(y1, P_HI), lt(mload(add(point, 0x100)), P_LO)))
                            )
                        )
                    ) {
                        status := BAD_FIELD_ELEMENT
                    }
                }
                if rejectInfinity {
                    let lows := or(
                        or(mload(add(point, 0x40)), mload(add(point, 0x80))),
                        or(mload(add(point, 0xc0)), mload(add(point, 0x100)))
                    )
                    if iszero(or(or(or(x0, x1), or(y0, y1)), lows)) {
                        status := AT_INFINITY
                    }
                }
            }
        }
    }

    /// @dev Replaces the 64-byte big-endian integer at `ptr` with its value modulo p (EIP-2537 form).
    function _reduceInPlace(uint256 ptr) private pure {
        uint256 hi;
        uint256 lo;
        assembly ("memory-safe") {
            hi := mload(ptr)
            lo := mload(add(ptr, 0x20))
        }
        (hi, lo) = reduceModP(hi, lo);
        assembly ("memory-safe") {
            mstore(ptr, hi)
            mstore(add(ptr, 0x20), lo)
        }
    }

    /// @dev G1ADD(point, infinity) succeeds exactly when the point is on the curve (capped: see
    /// `g1AddAt`).
    function _onCurveG1(bytes memory point) private view returns (bool) {
        uint256 buf = allocate(0x100);
        assembly ("memory-safe") {
            mcopy(buf, add(point, 0x20), 0x80)
            mstore(add(buf, 0x80), 0)
            mstore(add(buf, 0xa0), 0)
            mstore(add(buf, 0xc0), 0)
            mstore(add(buf, 0xe0), 0)
        }
        return g1AddAt(buf, buf);
    }

    /// @dev G2ADD(point, infinity) succeeds exactly when the point is on the twist (capped: see
    /// `g2AddAt`).
    function _onCurveG2(bytes memory point) private view returns (bool) {
        uint256 buf = allocate(0x200);
        assembly ("memory-safe") {
            mcopy(buf, add(point, 0x20), 0x100)
            for {
                let p := add(buf, 0x100)
            } lt(p, add(buf, 0x200)) {
                p := add(p, 0x20)
            } {
                mstore(p, 0)
            }
        }
        return g2AddAt(buf, buf);
    }

    /// @dev expand_message_xmd writing ceil(lenInBytes / 32) whole SHA-256 blocks at `out`
    /// (allocated by the caller). The message buffers are built in free memory past the free
    /// memory pointer and not kept.
    function _expandMessageXmd(bytes memory message, bytes memory dst, uint256 lenInBytes, uint256 out) private view {
        uint256 dstLength = dst.length;
        if (dstLength == 0 || dstLength > 255) revert BLS12381InvalidDST(dstLength);
        uint256 ell = (lenInBytes + 31) >> 5;
        if (lenInBytes == 0 || ell > 255) revert BLS12381InvalidExpandLength(lenInBytes);
        bool ok;
        assembly ("memory-safe") {
            let msgLength := mload(message)
            let buf := mload(0x40)
            // b_0 = H(Z_pad ‖ msg ‖ I2OSP(len_in_bytes, 2) ‖ I2OSP(0, 1) ‖ DST ‖ I2OSP(len(DST), 1))
            mstore(buf, 0)
            mstore(add(buf, 0x20), 0)
            mcopy(add(buf, 0x40), add(message, 0x20), msgLength)
            let q := add(add(buf, 0x40), msgLength)
            mstore8(q, shr(8, lenInBytes))
            mstore8(add(q, 1), and(lenInBytes, 0xff))
            mstore8(add(q, 2), 0)
            mcopy(add(q, 3), add(dst, 0x20), dstLength)
            mstore8(add(add(q, 3), dstLength), dstLength)
            // SHA-256 of n bytes costs 60 + 12 per 32-byte word; the call gets GAS_MARGIN times it.
            let b0Input := add(add(0x44, msgLength), dstLength)
            let b0Cap := mul(GAS_MARGIN, add(SHA256_BASE_GAS, mul(SHA256_WORD_GAS, shr(5, add(b0Input, 31)))))
            ok := staticcall(b0Cap, SHA256, buf, b0Input, 0x00, 0x20)
            let b0 := mload(0x00)
            // b_i = H(strxor(b_0, b_(i-1)) ‖ I2OSP(i, 1) ‖ DST ‖ I2OSP(len(DST), 1)), b_0 ⊕ 0 for i = 1
            mcopy(add(buf, 0x21), add(dst, 0x20), dstLength)
            mstore8(add(add(buf, 0x21), dstLength), dstLength)
            let blockInput := add(0x22, dstLength)
            let previous := 0
            for {
                let i := 1
            } iszero(gt(i, ell)) {
                i := add(i, 1)
            } {
                mstore(buf, xor(b0, previous))
                mstore8(add(buf, 0x20), i)
                let dest := add(out, shl(5, sub(i, 1)))
                // Capped for the longest block input (SHA256_BLOCK_CAP), a constant.
                ok := and(ok, staticcall(SHA256_BLOCK_CAP, SHA256, buf, blockInput, dest, 0x20))
                previous := mload(dest)
            }
            // Every call went to the same address: 32 bytes back from the last (ell >= 1) show a
            // precompile answered them all (an address without code returns nothing).
            ok := and(ok, eq(returndatasize(), 0x20))
        }
        if (!ok) revert BLS12381PrecompileFailed(address(uint160(SHA256)));
    }
}
