// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {ISummaryLedger} from "../interfaces/ISummaryLedger.sol";
import {BLS12381} from "../libraries/BLS12381.sol";
import {BLSSignatures} from "../libraries/BLSSignatures.sol";

/// @title SummaryLedger
/// @notice The ledger of one high-level layer of seed 003 (see `ISummaryLedger`).
/// @dev Seed 003 §IV.B. Storage layout, all packed to keep a following record at one fresh slot:
/// - `_config`: the key blob's address (160 bits), the valid-member bitmap (64), the member count (8);
/// - `_memberOf[node]`: index + 1 (8 bits), valid (bit 8), the node's last block sequence (from bit 16);
/// - `_blocks[id]`: responsible (160), expiry (40), opening time (40), F (bit 240);
/// - `_openings[sum]`: for a first summary only, written by an attested `open`: the block id (its
///   bits 56..95 are always zero) with the time in those bits; never deleted (a cleaned block's
///   first packet stays a replay);
/// - `_summaries[id][sum]`: K of block `id`, the time `sum` was recorded into it (statement 5's
///   duplicate check is per block: another block's K cannot refuse or divert this one's).
/// The subjects attestations are bound to (`_linksVersion`, in no digest, is bumped by every link change
/// so readers can cache the links): `_superiorEpoch` (re-attachments), `_linkNonces[layer]`
/// (that subordinate's links), `_handovers[id]` (that block's changes of hands).
/// The key blob is a code-only contract (the SSTORE2 pattern): 0x00 ‖ aggregate of the valid
/// members' keys ‖ -key_0 ‖ -key_1 ‖ ... (256 bytes each), rewritten on every membership change.
/// Settlement (seed 002, M2X) keeps its own mapping `_escrows`, so `record` reads and writes
/// nothing more: the payer escrows in a live block, both parties confirm once F is set (the second
/// confirmation pays the provider), and an unsettled escrow goes back to the payer after expiry.
contract SummaryLedger is ISummaryLedger, EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Members ever admitted: the bitmaps are 64 bits.
    uint256 public constant MAX_MEMBERS = 64;

    /// @notice How long an expired block that is not accomplished may still be extended by its
    /// first communication; after that the block is final and may be cleaned.
    uint256 public constant EXTENSION_WINDOW = 7 days;

    // Each attestation is bound to what it authorises and to the state of its own subject, never to
    // a counter other actions move: a join to the node (which can join once), an invalid verdict to
    // the member (tagged once), the superior's alarm and a re-attachment to the superior link's
    // epoch (moved by each re-attachment), a subordinate link to that subordinate's own counter, a
    // takeover to the block's own handover counter.
    bytes32 private constant JOIN_TYPEHASH = keccak256("Join(address node,bytes32 publicKeyHash)");
    bytes32 private constant INVALIDATE_TYPEHASH = keccak256("Invalidate(uint256 index)");
    bytes32 private constant SUPERIOR_LOST_TYPEHASH = keccak256(
        "SuperiorLost(bytes32 layerId,address ledger,uint256 chainId,uint256 epoch)"
    );
    bytes32 private constant REATTACH_TYPEHASH = keccak256(
        "Reattach(bytes32 layerId,address ledger,uint256 chainId,uint256 epoch)"
    );
    bytes32 private constant LINK_TYPEHASH = keccak256(
        "Link(bytes32 layerId,address ledger,uint256 chainId,uint256 nonce)"
    );
    bytes32 private constant OPEN_TYPEHASH = keccak256(
        "Open(bytes32 summary,bytes32 sourceLayer,bytes32 route,address responsible,uint40 expiry,uint40 deadline)"
    );
    bytes32 private constant TAKEOVER_TYPEHASH = keccak256(
        "TakeOver(bytes32 blockId,address responsible,uint256 nonce)"
    );

    uint256 private constant MASK40 = (1 << 40) - 1;
    uint256 private constant MASK64 = (1 << 64) - 1;
    uint256 private constant VALID_BIT = 1 << 8;
    uint256 private constant ACCOMPLISHED_BIT = 1 << 240;
    uint256 private constant TIME_SHIFT = 56;

    bytes32 private immutable _layerId;
    uint256 private immutable _establishedAt;
    string private _consensus;

    uint256 private _config;
    address[] private _nodes;
    LayerLink private _superior;
    bool private _superiorFrozen;
    uint64 private _superiorEpoch;
    uint64 private _linksVersion;
    mapping(bytes32 layerId => LayerLink) private _subordinates;
    mapping(bytes32 layerId => uint256 nonce) private _linkNonces;
    mapping(address node => uint256 packed) private _memberOf;
    mapping(bytes32 blockId => uint256 packed) private _blocks;
    mapping(bytes32 blockId => uint256 nonce) private _handovers;
    mapping(bytes32 summary => uint256 packed) private _openings;
    mapping(bytes32 blockId => mapping(bytes32 summary => uint256 time)) private _summaries;
    mapping(bytes32 blockId => mapping(address payer => Escrow)) private _escrows;

    /// @inheritdoc ISummaryLedger
    uint256 public immutable deployedAt;

    /// @notice Writes the beginning block: members (each key's possession proven), consensus
    /// label, subordinate layers and the superior layer.
    constructor(Beginning memory beginning) EIP712("SummaryLedger", "1") {
        uint256 n = beginning.members.length;
        if (n == 0) revert LedgerNoMembers();
        if (n > MAX_MEMBERS) revert LedgerTooManyMembers(MAX_MEMBERS);
        _layerId = beginning.layerId;
        _establishedAt = block.timestamp;
        deployedAt = block.number;
        _consensus = beginning.consensus;
        bytes[] memory keys = new bytes[](n);
        bytes memory negated = new bytes(0);
        for (uint256 i; i < n; ++i) {
            MemberKey memory m = beginning.members[i];
            if (!_verifyPossession(m.publicKey, m.proofOfPossession)) revert LedgerInvalidPossession(i);
            _admit(m.node, i, m.publicKey);
            keys[i] = m.publicKey;
            negated = bytes.concat(negated, _negateG2(m.publicKey));
        }
        bytes memory aggregate = BLSSignatures.aggregatePublicKeys(keys);
        address blob = _writeBlob(bytes.concat(aggregate, negated));
        _config = uint256(uint160(blob)) | (((1 << n) - 1) << 160) | (n << 224);
        for (uint256 i; i < beginning.subordinates.length; ++i) {
            LayerLink memory s = beginning.subordinates[i];
            _subordinates[s.layerId] = s;
            emit SubordinateLinked(s.layerId, s.ledger, s.chainId);
        }
        _superior = beginning.superior;
        emit SuperiorChanged(beginning.superior.layerId, beginning.superior.ledger, beginning.superior.chainId);
        emit LayerEstablished(beginning.layerId, beginning.consensus, n, block.timestamp);
    }

    // ------------------------------------------------------------- membership

    /// @inheritdoc ISummaryLedger
    function join(MemberKey calldata m, uint256 signers, bytes calldata signature) external returns (uint256 index) {
        uint256 cfg = _config;
        index = (cfg >> 224) & 0xff;
        if (index == MAX_MEMBERS) revert LedgerTooManyMembers(MAX_MEMBERS);
        if (_memberOf[m.node] != 0) revert LedgerAlreadyMember(m.node);
        // The node itself submits its join: nobody can enrol another's account under their key.
        if (msg.sender != m.node) revert LedgerNotCandidate(msg.sender, m.node);
        _requireAttestation(_hashTypedDataV4(_joinHash(m.node, keccak256(m.publicKey))), signers, signature);
        if (!_verifyPossession(m.publicKey, m.proofOfPossession)) revert LedgerInvalidPossession(index);
        bytes memory keys = _readBlob(address(uint160(cfg)), index);
        bytes memory aggregate = BLS12381.g2Add(_slice256(keys, 0), m.publicKey);
        _overwrite256(keys, 0, aggregate);
        address blob = _writeBlob(bytes.concat(keys, _negateG2(m.publicKey)));
        uint256 valid = ((cfg >> 160) & MASK64) | (1 << index);
        _config = uint256(uint160(blob)) | (valid << 160) | ((index + 1) << 224);
        _admit(m.node, index, m.publicKey);
    }

    /// @inheritdoc ISummaryLedger
    function invalidate(uint256 index, uint256 signers, bytes calldata signature) external {
        uint256 cfg = _config;
        uint256 valid = (cfg >> 160) & MASK64;
        if (index >= MAX_MEMBERS || valid & (1 << index) == 0) revert LedgerInvalidMemberIndex(index);
        if (valid == 1 << index) revert LedgerNoMembers();
        // The verdict is the others': the member judged does not count towards it.
        if (signers & (1 << index) != 0) revert LedgerJudgedMemberSigned(index);
        // Single use: a member tagged invalid is never valid again.
        _requireAttestation(
            _hashTypedDataV4(keccak256(abi.encode(INVALIDATE_TYPEHASH, index))),
            signers,
            signature,
            1 << index
        );
        uint256 count = (cfg >> 224) & 0xff;
        bytes memory keys = _readBlob(address(uint160(cfg)), count);
        _overwrite256(keys, 0, BLS12381.g2Add(_slice256(keys, 0), _slice256(keys, 256 * (index + 1))));
        address blob = _writeBlob(keys);
        valid &= ~(1 << index);
        _config = uint256(uint160(blob)) | (valid << 160) | (count << 224);
        address node = _nodes[index];
        _memberOf[node] &= ~VALID_BIT;
        emit MemberInvalidated(index, node);
    }

    /// @inheritdoc ISummaryLedger
    function reattach(LayerLink calldata newSuperior, uint256 signers, bytes calldata signature) external {
        _requireAttestation(
            _hashTypedDataV4(_linkHash(REATTACH_TYPEHASH, newSuperior, _superiorEpoch)),
            signers,
            signature
        );
        _superior = newSuperior;
        _superiorFrozen = false;
        ++_superiorEpoch;
        ++_linksVersion;
        emit SuperiorChanged(newSuperior.layerId, newSuperior.ledger, newSuperior.chainId);
    }

    /// @inheritdoc ISummaryLedger
    function superiorLost(uint256 signers, bytes calldata signature) external {
        LayerLink memory lost = _superior;
        if (lost.layerId == 0) revert LedgerNoSuperior();
        if (_superiorFrozen) revert LedgerSuperiorFrozen(lost.layerId);
        // Single use within the epoch: a frozen superior cannot be declared lost again.
        _requireAttestation(superiorLostDigest(), signers, signature);
        _superiorFrozen = true;
        ++_linksVersion;
        emit SuperiorLost(lost.layerId, lost.ledger, lost.chainId);
    }

    /// @inheritdoc ISummaryLedger
    function linkSubordinate(LayerLink calldata s, uint256 signers, bytes calldata signature) external {
        _requireAttestation(_hashTypedDataV4(_linkHash(LINK_TYPEHASH, s, _linkNonces[s.layerId])), signers, signature);
        _subordinates[s.layerId] = s;
        ++_linkNonces[s.layerId];
        ++_linksVersion;
        emit SubordinateLinked(s.layerId, s.ledger, s.chainId);
    }

    // ----------------------------------------------------------- attestations

    /// @inheritdoc ISummaryLedger
    function isValidAttestation(
        bytes32 digest,
        uint256 signers,
        bytes calldata signature
    ) external view returns (bool) {
        return _verifyAttestation(digest, signers, signature, 0);
    }

    /// @inheritdoc ISummaryLedger
    function joinDigest(address node, bytes32 publicKeyHash) external view returns (bytes32) {
        return _hashTypedDataV4(_joinHash(node, publicKeyHash));
    }

    /// @inheritdoc ISummaryLedger
    function invalidateDigest(uint256 index) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(INVALIDATE_TYPEHASH, index)));
    }

    /// @inheritdoc ISummaryLedger
    function reattachDigest(LayerLink calldata newSuperior) external view returns (bytes32) {
        return _hashTypedDataV4(_linkHash(REATTACH_TYPEHASH, newSuperior, _superiorEpoch));
    }

    /// @inheritdoc ISummaryLedger
    function superiorLostDigest() public view returns (bytes32) {
        LayerLink storage lost = _superior;
        return
            _hashTypedDataV4(
                keccak256(abi.encode(SUPERIOR_LOST_TYPEHASH, lost.layerId, lost.ledger, lost.chainId, _superiorEpoch))
            );
    }

    /// @inheritdoc ISummaryLedger
    function linkDigest(LayerLink calldata s) external view returns (bytes32) {
        return _hashTypedDataV4(_linkHash(LINK_TYPEHASH, s, _linkNonces[s.layerId]));
    }

    /// @inheritdoc ISummaryLedger
    function openDigest(OpenRequest calldata request) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        OPEN_TYPEHASH,
                        request.summary,
                        request.sourceLayer,
                        request.route,
                        request.responsible,
                        request.expiry,
                        request.deadline
                    )
                )
            );
    }

    /// @inheritdoc ISummaryLedger
    function takeOverDigest(bytes32 blockId, address responsible) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(TAKEOVER_TYPEHASH, blockId, responsible, _handovers[blockId])));
    }

    // -------------------------------------------------------- contract blocks

    /// @inheritdoc ISummaryLedger
    function open(
        OpenRequest calldata request,
        uint256 signers,
        bytes calldata signature
    ) external returns (bytes32 blockId) {
        bytes32 summary = request.summary;
        if (summary == 0) revert LedgerZeroSummary();
        uint256 m = _memberOf[msg.sender];
        if (m & VALID_BIT == 0) revert LedgerNotMember(msg.sender);
        // Only an attested open writes the opening index: what `record` writes into a block (K)
        // never makes a summary look opened, so no member can divert an open to its own block.
        uint256 o = _openings[summary];
        if (o != 0) {
            // Statement 3 fails: the block is live (a no-op), or expired and still extendable
            // (extended), or final: accomplished, past the extension window, or cleaned (a replay).
            blockId = _blockIdOf(o);
            uint256 b = _blocks[blockId];
            if (b != 0 && (b >> 160) & MASK40 > block.timestamp) {
                emit BlockAlreadyOpened(blockId, summary, msg.sender);
                return blockId;
            }
            if (_isFinal(b)) {
                emit SummaryReplayed(blockId, summary, msg.sender);
                return blockId;
            }
            _checkOpen(request, signers, signature);
            _blocks[blockId] = (b & ~(MASK40 << 160)) | (uint256(request.expiry) << 160);
            emit BlockExtended(blockId, request.expiry);
            return blockId;
        }
        _checkOpen(request, signers, signature);
        // 2^56 blocks per node (the id's layout needs the bits above free) cannot be reached: each
        // open costs more than 100,000 gas.
        uint256 seq = (m >> 16) + 1;
        _memberOf[msg.sender] = (m & 0xffff) | (seq << 16);
        blockId = bytes32((uint256(uint160(msg.sender)) << 96) | seq);
        _blocks[blockId] = uint256(uint160(msg.sender)) | (uint256(request.expiry) << 160) | (block.timestamp << 200);
        _openings[summary] = uint256(blockId) | (block.timestamp << TIME_SHIFT);
        _summaries[blockId][summary] = block.timestamp;
        emit BlockOpened(blockId, summary, msg.sender, request.sourceLayer, request.route, request.expiry);
        emit SummaryRecorded(blockId, summary);
    }

    /// @inheritdoc ISummaryLedger
    function record(bytes32 blockId, bytes32 summary, bool ending) external returns (bool recorded) {
        uint256 b = _blocks[blockId];
        address responsible = address(uint160(b));
        if (responsible == address(0)) revert LedgerUnknownBlock(blockId);
        if (responsible != msg.sender) revert LedgerNotResponsible(blockId, msg.sender, responsible);
        uint256 expiry = (b >> 160) & MASK40;
        if (expiry <= block.timestamp) revert LedgerBlockExpired(blockId, expiry);
        if (b & ACCOMPLISHED_BIT != 0) revert LedgerBlockAccomplished(blockId);
        // The responsible node's validity is not read here (a cold slot: 2,100 gas, past the
        // 50,000 target): the blocks of a node tagged invalid are moved with `takeOver`, which then
        // needs no attestation.
        if (summary == 0) revert LedgerZeroSummary();
        // K is the block's own: a summary recorded into another block (a copy by another member)
        // neither refuses nor diverts this one.
        mapping(bytes32 => uint256) storage k = _summaries[blockId];
        if (k[summary] != 0) {
            emit SummaryReplayed(blockId, summary, msg.sender);
            return false;
        }
        k[summary] = block.timestamp;
        emit SummaryRecorded(blockId, summary);
        if (ending) {
            _blocks[blockId] = b | ACCOMPLISHED_BIT;
            emit BlockAccomplished(blockId, summary);
        }
        return true;
    }

    /// @inheritdoc ISummaryLedger
    function takeOver(bytes32 blockId, address responsible, uint256 signers, bytes calldata signature) external {
        uint256 b = _blocks[blockId];
        if (b == 0) revert LedgerUnknownBlock(blockId);
        if (_memberOf[responsible] & VALID_BIT == 0) revert LedgerNotMember(responsible);
        // A block of a node tagged invalid (a quorum decision already) goes to the valid member
        // that asks for it; otherwise the quorum decides.
        if (msg.sender != responsible || _memberOf[address(uint160(b))] & VALID_BIT != 0) {
            _requireAttestation(takeOverDigest(blockId, responsible), signers, signature);
        }
        _blocks[blockId] = (b & ~uint256(type(uint160).max)) | uint256(uint160(responsible));
        // Every change of hands (attested or not) spends the block's pending takeover attestations.
        ++_handovers[blockId];
        emit ResponsibilityTaken(blockId, address(uint160(b)), responsible);
    }

    /// @inheritdoc ISummaryLedger
    function cleanup(bytes32 blockId, bytes32[] calldata summaries) external {
        uint256 b = _blocks[blockId];
        if (b == 0) revert LedgerUnknownBlock(blockId);
        uint256 expiry = (b >> 160) & MASK40;
        if (expiry > block.timestamp) revert LedgerBlockNotExpired(blockId, expiry);
        // Only a final block is cleaned, so cleaning changes no one's next move: `open` treats a
        // final block and a cleaned one alike (a replay), and neither takes a record or an escrow.
        if (!_isFinal(b)) revert LedgerBlockExtendable(blockId, expiry + EXTENSION_WINDOW);
        delete _blocks[blockId];
        mapping(bytes32 => uint256) storage k = _summaries[blockId];
        for (uint256 i; i < summaries.length; ++i) {
            bytes32 summary = summaries[i];
            if (k[summary] == 0) revert LedgerSummaryNotInBlock(blockId, summary);
            delete k[summary];
        }
        emit BlockCleaned(blockId, summaries.length);
    }

    // ------------------------------------------------------------- settlement

    /// @inheritdoc ISummaryLedger
    function escrow(bytes32 blockId, address provider, address token, uint256 amount) external payable nonReentrant {
        uint256 b = _liveBlock(blockId);
        if (b & ACCOMPLISHED_BIT != 0) revert LedgerBlockAccomplished(blockId);
        Escrow storage e = _escrows[blockId][msg.sender];
        if (e.payer != address(0)) revert LedgerEscrowExists(blockId, msg.sender);
        if (amount == 0 || provider == address(0) || provider == msg.sender) {
            revert LedgerInvalidEscrow(provider, amount);
        }
        if (msg.value != (token == address(0) ? amount : 0)) {
            revert LedgerWrongValue(token == address(0) ? amount : 0, msg.value);
        }
        if (token != address(0)) {
            // What arrived (a token may take a fee on transfer): what can be paid out.
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
            amount = IERC20(token).balanceOf(address(this)) - before;
            if (amount == 0) revert LedgerInvalidEscrow(provider, amount);
        }
        // The escrow's deadline is the block's expiry now: extending the block later does not
        // postpone the payer's refund.
        uint40 deadline = uint40(b >> 160);
        _escrows[blockId][msg.sender] = Escrow({
            payer: msg.sender,
            payerConfirmed: false,
            providerConfirmed: false,
            settled: false,
            deadline: deadline,
            provider: provider,
            token: token,
            amount: amount
        });
        emit EscrowFunded(blockId, msg.sender, provider, token, amount);
    }

    /// @inheritdoc ISummaryLedger
    function confirm(bytes32 blockId, address payer) external nonReentrant {
        Escrow storage e = _openEscrow(blockId, payer);
        if (e.deadline <= block.timestamp) revert LedgerEscrowExpired(blockId, payer, e.deadline);
        if (_blocks[blockId] & ACCOMPLISHED_BIT == 0) revert LedgerBlockNotAccomplished(blockId);
        bool asPayer = msg.sender == payer;
        if (!asPayer && msg.sender != e.provider) revert LedgerNotParty(blockId, msg.sender);
        if (asPayer ? e.payerConfirmed : e.providerConfirmed) revert LedgerAlreadyConfirmed(blockId, msg.sender);
        if (asPayer) e.payerConfirmed = true;
        else e.providerConfirmed = true;
        emit EscrowConfirmed(blockId, payer, msg.sender);
        if (e.payerConfirmed && e.providerConfirmed) {
            e.settled = true;
            emit EscrowReleased(blockId, payer, e.provider, e.token, e.amount);
            _pay(e.token, e.provider, e.amount);
        }
    }

    /// @inheritdoc ISummaryLedger
    function refund(bytes32 blockId, address payer) external nonReentrant {
        Escrow storage e = _openEscrow(blockId, payer);
        if (e.deadline > block.timestamp) revert LedgerEscrowNotExpired(blockId, payer, e.deadline);
        e.settled = true;
        emit EscrowRefunded(blockId, payer, e.token, e.amount);
        _pay(e.token, payer, e.amount);
    }

    /// @inheritdoc ISummaryLedger
    function escrowOf(bytes32 blockId, address payer) external view returns (Escrow memory) {
        return _escrows[blockId][payer];
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ISummaryLedger
    function getBlock(bytes32 blockId) external view returns (ContractBlock memory) {
        uint256 b = _blocks[blockId];
        return
            ContractBlock({
                responsible: address(uint160(b)),
                expiry: uint40(b >> 160),
                openedAt: uint40(b >> 200),
                accomplished: b & ACCOMPLISHED_BIT != 0
            });
    }

    /// @inheritdoc ISummaryLedger
    function summaryOf(bytes32 blockId, bytes32 summary) external view returns (uint40 time) {
        return uint40(_summaries[blockId][summary]);
    }

    /// @inheritdoc ISummaryLedger
    function openingOf(bytes32 summary) external view returns (bytes32 blockId, uint40 time) {
        uint256 o = _openings[summary];
        return (_blockIdOf(o), uint40(o >> TIME_SHIFT));
    }

    /// @inheritdoc ISummaryLedger
    function layer() external view returns (bytes32 layerId, string memory consensus, uint256 establishedAt) {
        return (_layerId, _consensus, _establishedAt);
    }

    /// @inheritdoc ISummaryLedger
    function superior() external view returns (LayerLink memory) {
        return _superior;
    }

    /// @inheritdoc ISummaryLedger
    function isSuperiorFrozen() external view returns (bool) {
        return _superiorFrozen;
    }

    /// @inheritdoc ISummaryLedger
    function subordinate(bytes32 layerId) external view returns (LayerLink memory) {
        return _subordinates[layerId];
    }

    /// @inheritdoc ISummaryLedger
    function member(uint256 index) external view returns (address node, bytes memory publicKey, bool valid) {
        uint256 cfg = _config;
        if (index >= ((cfg >> 224) & 0xff)) revert LedgerInvalidMemberIndex(index);
        bytes memory keys = _readBlob(address(uint160(cfg)), index + 1);
        return (_nodes[index], _negateG2(_slice256(keys, 256 * (index + 1))), (cfg >> (160 + index)) & 1 == 1);
    }

    /// @inheritdoc ISummaryLedger
    function memberOf(address node) external view returns (bool valid, uint256 index) {
        uint256 m = _memberOf[node];
        if (m == 0) revert LedgerNotMember(node);
        return (m & VALID_BIT != 0, (m & 0xff) - 1);
    }

    /// @inheritdoc ISummaryLedger
    function membership() external view returns (uint256 count, uint256 validMask, uint256 quorum) {
        uint256 cfg = _config;
        validMask = (cfg >> 160) & MASK64;
        return ((cfg >> 224) & 0xff, validMask, _quorum(_popcount(validMask)));
    }

    /// @inheritdoc ISummaryLedger
    function linksVersion() external view returns (uint256) {
        return _linksVersion;
    }

    // --------------------------------------------------------------- internal

    /// @dev Verification of an attestation (see the interface): at most f G2ADDs and one pairing.
    /// Virtual so a test harness can stand in for the BLS check.
    function _verifyAttestation(
        bytes32 digest,
        uint256 signers,
        bytes calldata signature,
        uint256 judged
    ) internal view virtual returns (bool) {
        uint256 cfg = _config;
        uint256 valid = (cfg >> 160) & MASK64;
        uint256 outsiders = signers & ~valid;
        if (outsiders != 0) revert LedgerSignersNotMembers(outsiders);
        uint256 count = _popcount(signers);
        // A verdict on members `judged` is the others': their quorum, counted without them.
        uint256 quorum = _quorum(_popcount(valid & ~judged));
        if (count < quorum) revert LedgerQuorumNotReached(count, quorum);
        bytes memory sig = signature;
        BLS12381.validateG1(sig, BLS12381.Operand.Signature, 0);
        // signature ‖ -G2 ‖ H(digest) ‖ aggregate key ‖ (next negated key)
        uint256 input = BLS12381.allocate(1024);
        address blob = address(uint160(cfg));
        uint256 missing = valid & ~signers;
        assembly ("memory-safe") {
            extcodecopy(blob, add(input, 512), 1, 256)
        }
        while (missing != 0) {
            uint256 i;
            assembly ("memory-safe") {
                i := sub(255, clz(missing))
                extcodecopy(blob, add(input, 768), add(1, shl(8, add(i, 1))), 256)
            }
            missing ^= 1 << i;
            // Both points are on the twist (admitted keys and their sums): only a lack of gas fails.
            if (!BLS12381.g2AddAt(input + 512, input + 512)) revert BLS12381.BLS12381PrecompileFailed(address(0x0d));
        }
        BLS12381.copyTo(sig, input);
        BLS12381.storeNegG2Generator(input + 128);
        BLS12381.hashToG1At(abi.encodePacked(digest), BLSSignatures.DST_POP_SCHEME, input + 384);
        (bool accepted, bool result) = BLS12381.pairingAt(input, 768);
        if (!accepted) {
            BLS12381.requireInSubgroupG1(sig, BLS12381.Operand.Signature, 0);
            revert BLS12381.BLS12381PrecompileFailed(address(0x0f));
        }
        return result;
    }

    /// @dev Proof of possession of a member's key. Virtual for the test harness.
    function _verifyPossession(bytes memory publicKey, bytes memory proof) internal view virtual returns (bool) {
        return BLSSignatures.verifyPossession(publicKey, proof);
    }

    function _requireAttestation(bytes32 digest, uint256 signers, bytes calldata signature) internal view {
        _requireAttestation(digest, signers, signature, 0);
    }

    function _requireAttestation(
        bytes32 digest,
        uint256 signers,
        bytes calldata signature,
        uint256 judged
    ) internal view {
        if (!_verifyAttestation(digest, signers, signature, judged)) revert LedgerInvalidAttestation(digest);
    }

    /// @dev The checks of a first communication besides statement 3: expiry, deadline, source layer
    /// (statement 1's registry part) and the quorum attestation (statement 1 itself).
    function _checkOpen(OpenRequest calldata request, uint256 signers, bytes calldata signature) private view {
        if (request.expiry <= block.timestamp || request.deadline > request.expiry) {
            revert LedgerInvalidExpiry(request.expiry);
        }
        if (request.deadline < block.timestamp) revert LedgerAttestationExpired(request.deadline);
        // The quorum chose N_r: no other member can submit its attestation and take the block.
        if (request.responsible != msg.sender) revert LedgerNotOpener(msg.sender, request.responsible);
        bytes32 source = request.sourceLayer;
        if (_subordinates[source].layerId != source || source == 0) {
            if (source == 0 || _superior.layerId != source) revert LedgerUnknownLayer(source);
            // Statement 1 cannot hold for a superior layer the quorum found lost (self-examination).
            if (_superiorFrozen) revert LedgerSuperiorFrozen(source);
        }
        _requireAttestation(openDigest(request), signers, signature);
    }

    /// @dev The packed block, which must exist and not have expired.
    function _liveBlock(bytes32 blockId) private view returns (uint256 b) {
        b = _blocks[blockId];
        if (b == 0) revert LedgerUnknownBlock(blockId);
        uint256 expiry = (b >> 160) & MASK40;
        if (expiry <= block.timestamp) revert LedgerBlockExpired(blockId, expiry);
    }

    /// @dev The block's escrow, which must exist and not be paid out.
    function _openEscrow(bytes32 blockId, address payer) private view returns (Escrow storage e) {
        e = _escrows[blockId][payer];
        if (e.payer == address(0)) revert LedgerNoEscrow(blockId, payer);
        if (e.settled) revert LedgerEscrowSettled(blockId, payer);
    }

    function _pay(address token, address to, uint256 amount) private {
        if (token == address(0)) Address.sendValue(payable(to), amount);
        else IERC20(token).safeTransfer(to, amount);
    }

    function _admit(address node, uint256 index, bytes memory publicKey) private {
        if (node == address(0)) revert LedgerNotMember(node);
        if (_memberOf[node] != 0) revert LedgerAlreadyMember(node);
        _memberOf[node] = (index + 1) | VALID_BIT;
        _nodes.push(node);
        emit MemberJoined(index, node, publicKey);
    }

    /// @dev Single use: a node joins once (its `_memberOf` entry is never cleared).
    function _joinHash(address node, bytes32 publicKeyHash) private pure returns (bytes32) {
        return keccak256(abi.encode(JOIN_TYPEHASH, node, publicKeyHash));
    }

    function _linkHash(bytes32 typehash, LayerLink calldata link, uint256 nonce) private pure returns (bytes32) {
        return keccak256(abi.encode(typehash, link.layerId, link.ledger, link.chainId, nonce));
    }

    /// @dev Whether the expired packed block `b` is final: cleaned (zero), accomplished, or past
    /// the extension window. A final block is never extended.
    function _isFinal(uint256 b) private view returns (bool) {
        return b == 0 || b & ACCOMPLISHED_BIT != 0 || ((b >> 160) & MASK40) + EXTENSION_WINDOW <= block.timestamp;
    }

    /// @dev The block id in a summary record (the time cleared).
    function _blockIdOf(uint256 s) private pure returns (bytes32) {
        return bytes32(s & ~(MASK40 << TIME_SHIFT));
    }

    /// @dev n - f, f = floor((n - 1) / 3): 2f+1 for n = 3f+1.
    function _quorum(uint256 n) private pure returns (uint256) {
        return n == 0 ? 0 : n - (n - 1) / 3;
    }

    function _popcount(uint256 x) private pure returns (uint256 c) {
        unchecked {
            x = x - ((x >> 1) & 0x5555555555555555);
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            c = ((x * 0x0101010101010101) & MASK64) >> 56;
        }
    }

    /// @dev -Q for a G2 point Q (256-byte encoding): each coordinate of y replaced by p - y (0 stays).
    function _negateG2(bytes memory point) private pure returns (bytes memory neg) {
        neg = bytes.concat(point);
        uint256 pHi = BLS12381.P_HI;
        uint256 pLo = BLS12381.P_LO;
        assembly ("memory-safe") {
            for {
                let c := add(neg, 0xa0)
            } lt(c, add(neg, 0x120)) {
                c := add(c, 0x40)
            } {
                let hi := mload(c)
                let lo := mload(add(c, 0x20))
                if or(hi, lo) {
                    mstore(c, sub(sub(pHi, hi), gt(lo, pLo)))
                    mstore(add(c, 0x20), sub(pLo, lo))
                }
            }
        }
    }

    /// @dev The aggregate and the first `count` negated keys of the blob.
    function _readBlob(address blob, uint256 count) private view returns (bytes memory keys) {
        uint256 length = 256 * (count + 1);
        keys = new bytes(length);
        assembly ("memory-safe") {
            extcodecopy(blob, add(keys, 0x20), 1, length)
        }
    }

    /// @dev A code-only contract holding 0x00 ‖ `data`.
    function _writeBlob(bytes memory data) private returns (address blob) {
        bytes memory code = abi.encodePacked(hex"61", uint16(data.length + 1), hex"80600a3d393df300", data);
        assembly ("memory-safe") {
            blob := create(0, add(code, 0x20), mload(code))
        }
        if (blob == address(0)) revert LedgerKeyStoreFailed();
    }

    function _slice256(bytes memory data, uint256 offset) private pure returns (bytes memory out) {
        out = new bytes(256);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(data, 0x20), offset), 256)
        }
    }

    function _overwrite256(bytes memory data, uint256 offset, bytes memory value) private pure {
        assembly ("memory-safe") {
            mcopy(add(add(data, 0x20), offset), add(value, 0x20), 256)
        }
    }
}
