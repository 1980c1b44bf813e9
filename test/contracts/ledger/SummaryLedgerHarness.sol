// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// The SummaryLedger the Solidity fuzz and invariant tests drive, and their shared helpers.
//
// The harness stands in for the two BLS checks (both `internal virtual` in SummaryLedger):
// - every member's key is the negated G2 generator, a valid point on the twist, so the
//   constructor's and `invalidate`'s G2 additions and negations run on real points; possession
//   is accepted as such (the secret is known: r - 1);
// - an attestation keeps the ledger's own rules: its signers must be valid members (else
//   `LedgerSignersNotMembers`) and reach the quorum (else `LedgerQuorumNotReached`), and its
//   "signature" must be `abi.encode(digest, signers)` (else `LedgerInvalidAttestation`), so it is
//   still bound to the exact digest (with its subject's counter) and signer set.
// The pairing itself is covered by the mocha tests with SDK-made keys (7 and 31 members); the
// handler here needs thousands of attestations over random digests, and what the invariants
// check is the ledger's state machine, which the stand-in leaves untouched.

import {SummaryLedger} from "../../../contracts/ledger/SummaryLedger.sol";
import {ISummaryLedger} from "../../../contracts/interfaces/ISummaryLedger.sol";
import {BLS12381} from "../../../contracts/libraries/BLS12381.sol";

/// @dev The cheatcodes these tests use (forge-std's Vm, the part needed).
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function deal(address account, uint256 balance) external;
    function expectRevert(bytes calldata revertData) external;
    function assume(bool condition) external pure;
}

address constant LEDGER_VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

contract SummaryLedgerHarness is SummaryLedger {
    constructor(Beginning memory beginning) SummaryLedger(beginning) {}

    /// @notice The stand-in signature of `signers` over `digest`.
    function mockSignature(bytes32 digest, uint256 signers) public pure returns (bytes memory) {
        return abi.encode(digest, signers);
    }

    function _verifyAttestation(
        bytes32 digest,
        uint256 signers,
        bytes calldata signature,
        uint256 judged
    ) internal view override returns (bool) {
        (, uint256 valid, ) = this.membership();
        uint256 outsiders = signers & ~valid;
        if (outsiders != 0) revert LedgerSignersNotMembers(outsiders);
        uint256 count;
        for (uint256 x = signers; x != 0; x &= x - 1) ++count;
        uint256 n;
        for (uint256 x = valid & ~judged; x != 0; x &= x - 1) ++n;
        uint256 quorum = n - (n - 1) / 3;
        if (count < quorum) revert LedgerQuorumNotReached(count, quorum);
        return keccak256(signature) == keccak256(mockSignature(digest, signers));
    }

    function _verifyPossession(bytes memory, bytes memory) internal pure override returns (bool) {
        return true;
    }
}

/// @dev A layer of `MEMBERS` nodes on the harness, with one subordinate layer and a superior one.
abstract contract LedgerTestBase {
    Vm internal constant vm = Vm(LEDGER_VM_ADDRESS);

    uint256 internal constant MEMBERS = 4;
    bytes32 internal constant SUB = keccak256("strata.test.ledger.edge-0");
    bytes32 internal constant SUPERIOR = keccak256("strata.test.ledger.L2");
    bytes32 internal constant UNKNOWN_LAYER = keccak256("strata.test.ledger.unknown");
    address internal constant STRANGER = address(0x5757);

    error AssertionFailed(string what, uint256 actual, uint256 expected);

    SummaryLedgerHarness internal ledger;
    address[] internal _nodes;

    function _deployLayer() internal {
        bytes memory key = new bytes(256);
        uint256 ptr;
        assembly ("memory-safe") {
            ptr := add(key, 0x20)
        }
        BLS12381.storeNegG2Generator(ptr);
        ISummaryLedger.Beginning memory b;
        b.layerId = keccak256("strata.test.ledger.L1");
        b.consensus = "PBFT";
        b.members = new ISummaryLedger.MemberKey[](MEMBERS);
        _setNodes();
        for (uint256 i; i < MEMBERS; ++i) {
            b.members[i] = ISummaryLedger.MemberKey({node: _nodes[i], publicKey: key, proofOfPossession: ""});
        }
        b.subordinates = new ISummaryLedger.LayerLink[](1);
        b.subordinates[0] = ISummaryLedger.LayerLink({layerId: SUB, ledger: address(0x5B), chainId: block.chainid});
        b.superior = ISummaryLedger.LayerLink({layerId: SUPERIOR, ledger: address(0x5C), chainId: block.chainid});
        ledger = new SummaryLedgerHarness(b);
    }

    /// @dev The members' node addresses.
    function _setNodes() internal {
        for (uint256 i; i < MEMBERS; ++i) _nodes.push(address(uint160(0x1001 + i)));
    }

    /// @dev The valid members' attestation over `digest`.
    function _quorumAttest(bytes32 digest) internal view returns (uint256 signers, bytes memory signature) {
        (, signers, ) = ledger.membership();
        signature = ledger.mockSignature(digest, signers);
    }

    /// @dev A request from the subordinate layer valid for `lifetime` seconds, `responsible` the
    /// node the quorum names (the one that must submit it).
    function _request(
        address responsible,
        bytes32 summary,
        uint256 lifetime
    ) internal view returns (ISummaryLedger.OpenRequest memory) {
        return
            ISummaryLedger.OpenRequest({
                summary: summary,
                sourceLayer: SUB,
                route: keccak256("strata.test.ledger.route"),
                responsible: responsible,
                expiry: uint40(block.timestamp + lifetime),
                deadline: uint40(block.timestamp + lifetime)
            });
    }

    /// @dev Opens a block for `summary` by member `node` (named responsible in the request),
    /// attested by every valid member.
    function _open(address node, bytes32 summary, uint256 lifetime) internal returns (bytes32 blockId) {
        ISummaryLedger.OpenRequest memory request = _request(node, summary, lifetime);
        (uint256 signers, bytes memory signature) = _quorumAttest(ledger.openDigest(request));
        vm.prank(node);
        blockId = ledger.open(request, signers, signature);
    }

    function _check(bool ok, string memory what) internal pure {
        if (!ok) revert AssertionFailed(what, 0, 1);
    }

    function _eq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertionFailed(what, actual, expected);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi < lo) revert AssertionFailed("bound", lo, hi);
        return lo + (x % (hi - lo + 1));
    }
}
