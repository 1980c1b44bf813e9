// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Fuzz tests for the BLS12-381 libraries: the Barrett reduction modulo p against the MODEXP
// precompile, hash_to_field over Fr in range, the RFC 9380 J.9.1 "abc" vector, and a fixed
// min-sig signature (made with @noble/curves `bls12_381.shortSignatures` under the POP
// ciphersuite DST) that no flipped bit of signature, key or message makes verify. Also: a
// contract verifying malformed third-party signatures in try/catch with 10M gas each is not
// drained (capped precompile calls), and hashToG1At writes only what it allocates.

import {BLS12381} from "../../../contracts/libraries/BLS12381.sol";
import {CryptoHarness} from "../../../contracts/mocks/CryptoHarness.sol";

/// @dev The cheatcodes these tests use (forge-std is not installed).
interface IVm {
    function assume(bool condition) external pure;
}

contract BLS12381Test {
    IVm internal constant VM = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    error ValidSignatureRejected();
    error VectorMismatch(bytes got);
    error ReductionMismatch(uint256 hi, uint256 lo);
    error NotReduced(uint256 hi, uint256 lo);
    error ScalarNotReduced(uint256 scalar);
    error TamperedInputVerified();
    error UnexpectedRevert(bytes reason);
    error ModexpFailed();
    error MalformedInputVerified(uint256 i);
    error UnexpectedError(uint256 i, bytes reason);
    error GasNotBounded(uint256 i, uint256 gasUsed);
    error AllocationMismatch(uint256 allocated);
    error WrittenPastAllocation(uint256 offset);

    uint256 internal constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 internal constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    // noble: secret key = sha256("strata fuzz key") mod r; message "strata fuzz message".
    bytes internal constant PK =
        hex"0000000000000000000000000000000003daa0a9b34edd3235e9a8d0d5f2d7d96005397cd7ba96be621c2faada6d6644"
        hex"d3e46f3c93e7244aba8f0681649b053d0000000000000000000000000000000019b975ee47804cd0153be49d8533775c"
        hex"4b55d779d4897fc437908aeb16231638879fcf1996a48bd01270e73114e39967000000000000000000000000000000000c"
        hex"1faa8acd279c22aeaf95d3f7ff3c9504773a5e231dbcd2c427a32f7cfd3a6a0ded5d2f4d5d3fc02a9f4575f59a452f00"
        hex"00000000000000000000000000000001163a3695873e8e123d83d4901df7784d1a667e880cc85c9d7ae685cc9b219e1e"
        hex"4ae0a7fd9629a5871d9286d7dd276b";
    bytes internal constant SIG =
        hex"000000000000000000000000000000000e551aff479aa871546cd1cd3f13375f3f4298adbfb33ffdcca9f36cdbbed53a"
        hex"c8b0318cc15ecebca4eb12adf1049e280000000000000000000000000000000002390cbdf836169ce7969a22b00427ed"
        hex"558c6e08b03667e9edb019e33abe645d0eaf3e2171e0a69643e55315a2311220";
    bytes internal constant MESSAGE = "strata fuzz message";
    // Well-encoded but invalid points: (1, 1) is off the curve, (0, 2) on it with order 3; the G2
    // point (1, 0, 1, 0) is off the twist, the other on it outside G2 (helpers.ts g2OutsideSubgroup).
    bytes internal constant G1_OFF_CURVE =
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000001"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000001";
    bytes internal constant G1_OUTSIDE_SUBGROUP =
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000002";
    bytes internal constant G2_OFF_CURVE =
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000001"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000001"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000000";
    bytes internal constant G2_OUTSIDE_SUBGROUP =
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000002"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"0000000000000000000000000000000018c6b864ae17dc9da64203ffefb96630"
        hex"6425a7bc6aeb7c75247438372716284a4173830420cd476ba1a365b95bfcec38"
        hex"00000000000000000000000000000000172e93db764a8400a7d5071b6b6f5de0"
        hex"da2f0f4a063119abca014006b7c40a2cfe291a1924e65db0d6d0fcfbf3bf3d5c";
    uint256 internal constant SENTINEL = 0x5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e;
    bytes internal constant DST = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_";

    CryptoHarness internal harness;

    function setUp() public {
        harness = new CryptoHarness();
    }

    function test_verify_acceptsTheFixedSignature() public view {
        if (!harness.blsVerify(PK, MESSAGE, SIG, DST)) revert ValidSignatureRejected();
    }

    /// RFC 9380 J.9.1, msg "abc" (the same vector as the mocha suite).
    function test_hashToG1_matchesRfc9380Abc() public view {
        bytes memory expected =
            hex"0000000000000000000000000000000003567bc5ef9c690c2ab2ecdf6a96ef1c"
            hex"139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903"
            hex"000000000000000000000000000000000b9c15f3fe6e5cf4211f346271d7b01c"
            hex"8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d";
        bytes memory got = BLS12381.hashToG1("abc", "QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_");
        if (keccak256(got) != keccak256(expected)) revert VectorMismatch(got);
    }

    /// The Barrett reduction equals MODEXP(v, 1, p) for every 512-bit v.
    function testFuzz_reduceModP_matchesModexp(uint256 hi, uint256 lo) public view {
        (uint256 rHi, uint256 rLo) = BLS12381.reduceModP(hi, lo);
        (uint256 eHi, uint256 eLo) = _modexp(hi, lo);
        if (rHi != eHi || rLo != eLo) revert ReductionMismatch(hi, lo);
        if (rHi > P_HI || (rHi == P_HI && rLo >= P_LO)) revert NotReduced(hi, lo);
    }

    /// Edge values of the reduction: around multiples of p and the top of the range.
    function test_reduceModP_edges() public view {
        uint256[2][7] memory cases = [
            [uint256(0), uint256(0)],
            [P_HI, P_LO - 1],
            [P_HI, P_LO],
            [P_HI, P_LO + 1],
            [2 * P_HI, 2 * P_LO], // 2p (2·P_LO does not carry)
            [type(uint256).max, type(uint256).max],
            [type(uint256).max, 0]
        ];
        for (uint256 i; i < cases.length; ++i) {
            testFuzz_reduceModP_matchesModexp(cases[i][0], cases[i][1]);
        }
    }

    function testFuzz_hashToScalar_isBelowR(bytes calldata message) public view {
        uint256 scalar = BLS12381.hashToScalar(message, "STRATA-TEST-H2");
        if (scalar >= BLS12381.R) revert ScalarNotReduced(scalar);
    }

    function testFuzz_verify_rejectsFlippedSignatureBit(uint16 bit) public view {
        bit = uint16(bound(bit, 0, SIG.length * 8 - 1));
        _requireNeverTrue(PK, MESSAGE, _flip(SIG, bit));
    }

    function testFuzz_verify_rejectsFlippedKeyBit(uint16 bit) public view {
        bit = uint16(bound(bit, 0, PK.length * 8 - 1));
        _requireNeverTrue(_flip(PK, bit), MESSAGE, SIG);
    }

    function testFuzz_verify_rejectsOtherMessages(bytes calldata message) public view {
        VM.assume(keccak256(message) != keccak256(MESSAGE));
        _requireNeverTrue(PK, message, SIG);
    }

    /// A contract that verifies third-party signatures in a loop, each in try/catch with 10M gas,
    /// loses a bounded amount per malformed one: every precompile call is capped (2× its EIP-2537
    /// price), where it used to forward all the gas and a rejected point consumed 63/64 of it.
    function test_verify_malformedInputsCostBoundedGas() public view {
        bytes[4] memory keys = [PK, PK, G2_OFF_CURVE, G2_OUTSIDE_SUBGROUP];
        bytes[4] memory sigs = [G1_OFF_CURVE, G1_OUTSIDE_SUBGROUP, SIG, SIG];
        for (uint256 i; i < 4; ++i) {
            uint256 start = gasleft();
            try harness.blsVerify{gas: 10_000_000}(keys[i], MESSAGE, sigs[i], DST) returns (bool) {
                revert MalformedInputVerified(i);
            } catch (bytes memory reason) {
                if (bytes4(reason) != BLS12381.BLS12381InvalidPoint.selector) revert UnexpectedError(i, reason);
            }
            uint256 used = start - gasleft();
            if (used >= 300_000) revert GasNotBounded(i, used);
        }
    }

    /// hashToG1At writes into the 256 bytes it allocates (u0 ‖ u1, then Q0 ‖ Q1 over them) and
    /// `out`, and beyond the free memory pointer only expand_message_xmd's scratch (Z_pad ‖ msg ‖
    /// I2OSP(128, 2) ‖ 0 ‖ DST ‖ len: 0x45 bytes for an empty message and a 1-byte DST). It used to
    /// allocate 256 bytes and write 384, Q1 landing past the allocation.
    function test_hashToG1At_writesOnlyWhatItAllocates() public view {
        bytes memory message = "";
        bytes memory dst = "D";
        uint256 out = BLS12381.allocate(128);
        uint256 start;
        assembly {
            start := mload(0x40)
            for {
                let p := start
            } lt(p, add(start, 0x400)) {
                p := add(p, 0x20)
            } {
                mstore(p, SENTINEL)
            }
        }
        BLS12381.hashToG1At(message, dst, out);
        uint256 end;
        uint256 written;
        assembly {
            end := mload(0x40)
            for {
                let p := add(end, 0x60)
            } lt(p, add(start, 0x400)) {
                p := add(p, 0x20)
            } {
                if iszero(eq(mload(p), SENTINEL)) {
                    written := sub(p, end)
                }
            }
        }
        if (end - start != 256) revert AllocationMismatch(end - start);
        if (written != 0) revert WrittenPastAllocation(written);
        // And the point is the right one: @noble/curves hash_to_curve("", DST "D").
        bytes memory expected =
            hex"00000000000000000000000000000000039049fc6290a39a6d0b77a4b3656652"
            hex"09771c2039e95a5062859ca3a6ad4321e109c321488a7de055b76272ef1f9bd9"
            hex"0000000000000000000000000000000002bb0de1b908a89d69a8badbb0038796"
            hex"51f271cfe1715e08c76aca57ad54655c080f740b297dc609f6f5ff83dbe27902";
        bytes memory got = _read(out, 128);
        if (keccak256(got) != keccak256(expected)) revert VectorMismatch(got);
    }

    // ---------------------------------------------------------------- helpers

    function _read(uint256 ptr, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), ptr, length)
        }
    }

    function _requireNeverTrue(bytes memory pk, bytes memory message, bytes memory sig) internal view {
        try harness.blsVerify(pk, message, sig, DST) returns (bool ok) {
            if (ok) revert TamperedInputVerified();
        } catch (bytes memory reason) {
            bytes4 selector = bytes4(reason);
            if (
                selector != BLS12381.BLS12381InvalidLength.selector &&
                selector != BLS12381.BLS12381InvalidFieldElement.selector &&
                selector != BLS12381.BLS12381InvalidPoint.selector &&
                selector != BLS12381.BLS12381PointAtInfinity.selector
            ) revert UnexpectedRevert(reason);
        }
    }

    function _flip(bytes memory data, uint256 bit) internal pure returns (bytes memory out) {
        out = bytes.concat(data);
        out[bit >> 3] ^= bytes1(uint8(0x80) >> (bit & 7));
    }

    function _modexp(uint256 hi, uint256 lo) internal view returns (uint256 rHi, uint256 rLo) {
        bytes memory input = abi.encodePacked(uint256(64), uint256(1), uint256(64), hi, lo, uint8(1), P_HI, P_LO);
        (bool ok, bytes memory out) = address(0x05).staticcall(input);
        if (!ok || out.length != 64) revert ModexpFailed();
        (rHi, rLo) = abi.decode(out, (uint256, uint256));
    }

    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + (x % (max - min + 1));
    }
}
