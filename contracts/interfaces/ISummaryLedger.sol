// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISummaryLedger
/// @notice The ledger of one high-level layer of seed 003: the layer's members and their BLS keys,
/// quorum attestations (2f+1 of 3f+1), the "beginning block" (establishment time, consensus label,
/// subordinate and superior layers), and the contract blocks {ID, K, N_r, F, T} with statements 1-6.
/// @dev Seed 003 §III.B and §IV.B (1)-(5). One deployment per high-level layer; the layers may share
/// a chain or each run on their own.
///
/// Attestations. A layer decision is a min-sig BLS aggregate signature (G1, 128 bytes) by the
/// members named in the bitmap `signers` (bit i = member i) over an EIP-712 digest (domain: name
/// "SummaryLedger", version "1", the chain id and this contract), hashed to G1 under
/// `BLSSignatures.DST_POP_SCHEME`. Members' keys (G2) are admitted only with a proof of possession.
/// Each digest names what it authorises and the state of its own subject, and nothing that other
/// actions move, so unrelated attestations collected at the same time never cancel each other,
/// while each is spent once used: a join names the node (which joins once), an invalid verdict the
/// member (tagged once), the superior's alarm and a re-attachment the superior's epoch (moved by
/// each re-attachment; the alarm is single use within it since a frozen superior cannot be lost
/// again), a subordinate link that subordinate's counter, a takeover the block's handover counter,
/// an open its summary (opened once) and a deadline.
/// The quorum is n - f of the n currently valid members, f = floor((n - 1) / 3): 2f+1 when
/// n = 3f+1, and two quorums always share at least f+1 members.
///
/// Verification costs one pairing check whatever the number of signers: the ledger keeps, in one
/// contract's code (written once per membership change, read with EXTCODECOPY: 2,600 gas for the
/// first read, then 100 per key), the aggregate of the valid members' keys followed by the negated
/// key of every member. The signers' aggregate is the stored aggregate plus the negated keys of the
/// valid members that did not sign: at most f G2ADDs (600 gas each) for a quorum.
///
/// Statement 1 (P comes from the layer it names) is decided by this layer's quorum: opening a block
/// needs an attestation of the layer over the first summary, its source layer (a registered
/// subordinate or the superior layer) and the route, so at least f+1 honest members checked the
/// source (e.g. the subordinate layer's own attestation on its ledger). Following communications
/// are handled by the block's responsible node alone (statement 4); the quorum can move the
/// responsibility to another member (`takeOver`) when N_r fails to answer, and any valid member may
/// take the blocks of a node tagged invalid.
///
/// Storage per block: one slot (responsible node, expiry, flag F, opening time); per summary of
/// the block one slot keyed by (block, Sum(M)) holding its time, which is both K's element and the
/// duplicate check (statement 5: Sum(M) already in K); per contract one opening slot keyed by its
/// first summary, written only by an attested `open`. A summary is thus bound to the block it was
/// recorded in: what the responsible node of one block records can neither refuse a summary of
/// another block nor make a first summary look opened. K is not stored as an array: its elements
/// are the `SummaryRecorded` logs of the block (the block id is indexed), each checkable with
/// `summaryOf`. A following record thus writes one fresh slot and reads two.
///
/// Life of a block: live until its expiry T; then, unless accomplished, extendable by its first
/// communication for `EXTENSION_WINDOW`; then final (as is an accomplished block once expired). Only
/// a final block may be cleaned, and `open` treats a final block and a cleaned one alike, so a
/// cleanup never changes what anyone can do next.
interface ISummaryLedger {
    /// @notice A layer this layer is linked to: its id, its ledger and the chain that ledger is on.
    struct LayerLink {
        bytes32 layerId;
        address ledger;
        uint256 chainId;
    }

    /// @notice A member at establishment or joining: its node address (the account that submits
    /// its transactions), its G2 public key (256-byte EIP-2537 encoding) and its proof of
    /// possession (G1, 128 bytes, `BLSSignatures.verifyPossession`).
    struct MemberKey {
        address node;
        bytes publicKey;
        bytes proofOfPossession;
    }

    /// @notice The beginning block of the layer.
    struct Beginning {
        bytes32 layerId;
        string consensus;
        MemberKey[] members;
        LayerLink[] subordinates;
        LayerLink superior;
    }

    /// @notice A first communication's request: the first summary Sum(M), the source layer (A_s's
    /// last entry), the hash of the route (C and I as the SDK encodes them), the node the quorum
    /// makes responsible (N_1, who must submit it), the block's expiry T and the attestation's
    /// deadline (at most T, so an attestation dies with its block).
    struct OpenRequest {
        bytes32 summary;
        bytes32 sourceLayer;
        bytes32 route;
        address responsible;
        uint40 expiry;
        uint40 deadline;
    }

    /// @notice A contract block as `getBlock` returns it.
    struct ContractBlock {
        address responsible;
        uint40 expiry;
        uint40 openedAt;
        bool accomplished;
    }

    /// @notice A payer's settlement in a block (seed 002, M2X): `amount` of `token` (address 0:
    /// ETH) the payer escrowed for the provider, the parties' confirmations, whether it is paid out
    /// (released or refunded), and its deadline (the block's expiry when funded: after it, only a
    /// refund). Packed: the payer, the flags and the deadline, then the rest.
    struct Escrow {
        address payer;
        bool payerConfirmed;
        bool providerConfirmed;
        bool settled;
        uint40 deadline;
        address provider;
        address token;
        uint256 amount;
    }

    // ------------------------------------------------------------------ errors

    /// @notice Block `blockId` expired but its first communication may still extend it until
    /// `until`: it is not final, and cannot be cleaned yet.
    error LedgerBlockExtendable(bytes32 blockId, uint256 until);
    /// @notice The caller is not a valid member of the layer.
    error LedgerNotMember(address account);
    /// @notice `node` is already a member (valid or not).
    error LedgerAlreadyMember(address node);
    /// @notice The layer would have more than `max` members (ever).
    error LedgerTooManyMembers(uint256 max);
    /// @notice The beginning block names no member.
    error LedgerNoMembers();
    /// @notice Member `index`'s proof of possession does not verify.
    error LedgerInvalidPossession(uint256 index);
    /// @notice Member `index` is not a valid member.
    error LedgerInvalidMemberIndex(uint256 index);
    /// @notice The bitmap names `signers` bits that are not valid members.
    error LedgerSignersNotMembers(uint256 bits);
    /// @notice `count` signers are fewer than the quorum.
    error LedgerQuorumNotReached(uint256 count, uint256 quorum);
    /// @notice The aggregate signature does not verify over `digest`.
    error LedgerInvalidAttestation(bytes32 digest);
    /// @notice The attestation's deadline passed.
    error LedgerAttestationExpired(uint256 deadline);
    /// @notice `expiry` is not in the future, or the deadline is after it.
    error LedgerInvalidExpiry(uint256 expiry);
    /// @notice `layerId` is neither a subordinate nor the superior layer.
    error LedgerUnknownLayer(bytes32 layerId);
    /// @notice No block `blockId`.
    error LedgerUnknownBlock(bytes32 blockId);
    /// @notice `caller` is not the responsible node `responsible` of `blockId` (statement 4).
    error LedgerNotResponsible(bytes32 blockId, address caller, address responsible);
    /// @notice Block `blockId` expired at `expiry`.
    error LedgerBlockExpired(bytes32 blockId, uint256 expiry);
    /// @notice Block `blockId` has not expired (it expires at `expiry`).
    error LedgerBlockNotExpired(bytes32 blockId, uint256 expiry);
    /// @notice Block `blockId` is accomplished (F set): it takes no further summary.
    error LedgerBlockAccomplished(bytes32 blockId);
    /// @notice `summary` is not in K of `blockId` (cleanup).
    error LedgerSummaryNotInBlock(bytes32 blockId, bytes32 summary);
    /// @notice The contract holding the members' keys could not be created.
    error LedgerKeyStoreFailed();
    /// @notice The zero summary is not a summary.
    error LedgerZeroSummary();
    /// @notice `payer` already has an escrow in the block.
    error LedgerEscrowExists(bytes32 blockId, address payer);
    /// @notice `payer` has no escrow in the block.
    error LedgerNoEscrow(bytes32 blockId, address payer);
    /// @notice `payer`'s escrow in the block passed its deadline: it can only be refunded.
    error LedgerEscrowExpired(bytes32 blockId, address payer, uint256 deadline);
    /// @notice `payer`'s escrow in the block is not past its deadline yet.
    error LedgerEscrowNotExpired(bytes32 blockId, address payer, uint256 deadline);
    /// @notice `caller` submitted the join of another account, `node` (a node joins itself).
    error LedgerNotCandidate(address caller, address node);
    /// @notice `caller` submitted an open the quorum attested for `responsible`.
    error LedgerNotOpener(address caller, address responsible);
    /// @notice An escrow needs a non-zero amount and a provider other than zero and the payer.
    error LedgerInvalidEscrow(address provider, uint256 amount);
    /// @notice The ETH sent is not the escrowed amount (an ERC-20 escrow takes no ETH).
    error LedgerWrongValue(uint256 expected, uint256 sent);
    /// @notice Only the payer and the provider confirm.
    error LedgerNotParty(bytes32 blockId, address account);
    /// @notice Confirmation needs F: the responsible node recorded the ending tag.
    error LedgerBlockNotAccomplished(bytes32 blockId);
    /// @notice The party has already confirmed.
    error LedgerAlreadyConfirmed(bytes32 blockId, address party);
    /// @notice Member `index`, the one judged, signed its own invalid verdict.
    error LedgerJudgedMemberSigned(uint256 index);
    /// @notice The layer has no superior layer.
    error LedgerNoSuperior();
    /// @notice The superior layer `layerId` was found lost: routes through it are frozen until the
    /// layer re-attaches.
    error LedgerSuperiorFrozen(bytes32 layerId);
    /// @notice `payer`'s escrow was already released or refunded.
    error LedgerEscrowSettled(bytes32 blockId, address payer);

    // ------------------------------------------------------------------ events

    /// @notice The layer was established (the beginning block).
    event LayerEstablished(bytes32 indexed layerId, string consensus, uint256 members, uint256 establishedAt);
    /// @notice `node` became member `index` with `publicKey`.
    event MemberJoined(uint256 indexed index, address indexed node, bytes publicKey);
    /// @notice Member `index` got the invalid tag.
    event MemberInvalidated(uint256 indexed index, address indexed node);
    /// @notice Self-examination's alarm: the quorum found every node of the superior layer
    /// `layerId` out of contact or failing its validation. Routes through it are frozen (no block
    /// opens from it) until `reattach` records a new superior.
    event SuperiorLost(bytes32 indexed layerId, address ledger, uint256 chainId);
    /// @notice The layer is linked to `layerId` (its ledger on `chainId`) as a subordinate.
    event SubordinateLinked(bytes32 indexed layerId, address ledger, uint256 chainId);
    /// @notice The layer re-attached to a new superior layer.
    event SuperiorChanged(bytes32 indexed layerId, address ledger, uint256 chainId);
    /// @notice Statements 1-3 held: block `blockId` was opened with the first summary.
    event BlockOpened(
        bytes32 indexed blockId,
        bytes32 indexed summary,
        address indexed responsible,
        bytes32 sourceLayer,
        bytes32 route,
        uint40 expiry
    );
    /// @notice Statement 3 failed: `node` asked to open a block for `summary`, already `blockId`'s
    /// (a no-op).
    event BlockAlreadyOpened(bytes32 indexed blockId, bytes32 indexed summary, address indexed node);
    /// @notice An expired block was extended to `expiry` by a new first communication.
    event BlockExtended(bytes32 indexed blockId, uint40 expiry);
    /// @notice `summary` was added to K of `blockId` (at the log's block time).
    event SummaryRecorded(bytes32 indexed blockId, bytes32 indexed summary);
    /// @notice Statement 5 failed: `summary` was already in K of `blockId` (a following summary
    /// again, or the first summary of a final or cleaned block); it was refused. The alarm of a
    /// replay or DDoS.
    event SummaryReplayed(bytes32 indexed blockId, bytes32 indexed summary, address indexed node);
    /// @notice Statement 6: the ending tag, recorded with `summary`, set F of `blockId`.
    event BlockAccomplished(bytes32 indexed blockId, bytes32 indexed summary);
    /// @notice The quorum moved the responsibility for `blockId` to `responsible`.
    event ResponsibilityTaken(bytes32 indexed blockId, address indexed previous, address indexed responsible);
    /// @notice The final `blockId` was deleted with `summaries` of its summaries.
    event BlockCleaned(bytes32 indexed blockId, uint256 summaries);
    event EscrowFunded(
        bytes32 indexed blockId,
        address indexed payer,
        address indexed provider,
        address token,
        uint256 amount
    );
    event EscrowConfirmed(bytes32 indexed blockId, address indexed payer, address indexed party);
    event EscrowReleased(
        bytes32 indexed blockId,
        address indexed payer,
        address indexed provider,
        address token,
        uint256 amount
    );
    event EscrowRefunded(bytes32 indexed blockId, address indexed payer, address token, uint256 amount);

    // --------------------------------------------------------------- membership

    /// @notice The block this contract was deployed in: where its event log starts, so a reader
    /// never scans the chain before it (every node answers it at the latest block, archive or not).
    function deployedAt() external view returns (uint256);

    /// @notice Adds `member` by a quorum attestation over `joinDigest(member.node, keccak256(member.publicKey))`;
    /// the sender must be `member.node` itself. The attestation is spent by the join (a node joins
    /// once) and by nothing else.
    /// @return index The new member's index.
    function join(
        MemberKey calldata member,
        uint256 signers,
        bytes calldata signature
    ) external returns (uint256 index);

    /// @notice Sets the invalid tag of member `index` (a lost node) by a quorum attestation of the
    /// others over `invalidateDigest(index)`; member `index` may not be among the signers. The tag
    /// is never lifted, so the attestation is single use.
    function invalidate(uint256 index, uint256 signers, bytes calldata signature) external;

    /// @notice Re-attaches the layer to a new superior layer by a quorum attestation over
    /// `reattachDigest(superior)`; unfreezes routes through the superior and starts a new superior
    /// epoch (which spends every pending re-attachment and alarm attestation).
    function reattach(LayerLink calldata superior, uint256 signers, bytes calldata signature) external;

    /// @notice Self-examination of the superior layer failed: raises the `SuperiorLost` alarm and
    /// freezes routes through the superior, by a quorum attestation over `superiorLostDigest()`.
    function superiorLost(uint256 signers, bytes calldata signature) external;

    /// @notice Links a new subordinate layer (or moves one's link) by a quorum attestation over
    /// `linkDigest(subordinate)`, which names that subordinate's counter, moved by this link.
    function linkSubordinate(LayerLink calldata subordinate, uint256 signers, bytes calldata signature) external;

    // ------------------------------------------------------------ attestations

    /// @notice Whether `signature` is a valid aggregate signature over `digest` by the valid members
    /// in `signers`, at least a quorum of them. Reverts on a malformed signature (`BLS12381` errors).
    function isValidAttestation(bytes32 digest, uint256 signers, bytes calldata signature) external view returns (bool);

    /// @notice The attestation digest of a join: EIP-712 `Join(address node,bytes32 publicKeyHash)`
    /// (no state: a node joins once).
    function joinDigest(address node, bytes32 publicKeyHash) external view returns (bytes32);

    /// @notice The attestation digest of invalidating member `index`: EIP-712
    /// `Invalidate(uint256 index)` (no state: a member is tagged once).
    function invalidateDigest(uint256 index) external view returns (bytes32);

    /// @notice The attestation digest of re-attaching to `superior`, in the current superior epoch.
    function reattachDigest(LayerLink calldata superior) external view returns (bytes32);

    /// @notice The attestation digest of declaring the current superior layer lost, in the current
    /// superior epoch.
    function superiorLostDigest() external view returns (bytes32);

    /// @notice The attestation digest of linking `subordinate`, with that subordinate's counter.
    function linkDigest(LayerLink calldata subordinate) external view returns (bytes32);

    /// @notice The attestation digest of opening a block for `request`.
    function openDigest(OpenRequest calldata request) external view returns (bytes32);

    /// @notice The attestation digest of handing `blockId` to `responsible`, with the block's
    /// handover counter (moved by every change of its responsible node).
    function takeOverDigest(bytes32 blockId, address responsible) external view returns (bytes32);

    // ------------------------------------------------------------ contract blocks

    /// @notice Statements 1-3, first communication: opens a block for `request.summary` with the
    /// caller, who must be `request.responsible` (a valid member), as responsible node, under a
    /// quorum attestation over `openDigest(request)`. When the summary was opened before (by an
    /// attested open: what `record` writes never counts) and its block is live, nothing changes
    /// (`BlockAlreadyOpened`) and no attestation is checked; an expired one is extended to
    /// `request.expiry` within `EXTENSION_WINDOW` of its expiry (the caller must still be
    /// `request.responsible`; the block keeps its responsible node), unless it is final:
    /// accomplished, past the window or cleaned (its first packet again is a replay:
    /// `SummaryReplayed`).
    /// @return blockId The block's id: the opener's address (high 160 bits) and its local sequence.
    function open(
        OpenRequest calldata request,
        uint256 signers,
        bytes calldata signature
    ) external returns (bytes32 blockId);

    /// @notice Statements 4-6, following communication: the responsible node adds `summary` to K
    /// of `blockId`; `ending` (the ending tag) sets F. A summary already in K of this block is
    /// refused with `SummaryReplayed` (statement 5) and false is returned; K of other blocks
    /// plays no part.
    function record(bytes32 blockId, bytes32 summary, bool ending) external returns (bool recorded);

    /// @notice Moves the responsibility for `blockId` to `responsible` (a valid member) under a
    /// quorum attestation over `takeOverDigest(blockId, responsible)` (N_r failed to answer). When
    /// N_r has the invalid tag, `responsible` itself may take the block without an attestation.
    /// @dev `record` does not re-read N_r's validity (to stay within one cold slot read besides the
    /// block): a node tagged invalid keeps its blocks until they are taken over.
    function takeOver(bytes32 blockId, address responsible, uint256 signers, bytes calldata signature) external;

    /// @notice Deletes the final `blockId` (expired and accomplished, or past `EXTENSION_WINDOW`
    /// after its expiry) and the listed `summaries` of its K (anyone; refunds). The opening slot of
    /// its first summary is kept, so its first packet stays a replay.
    function cleanup(bytes32 blockId, bytes32[] calldata summaries) external;

    // -------------------------------------------------------------- settlement

    /// @notice The payer (the sender) escrows `amount` of `token` (address 0: ETH, sent as the
    /// call's value) in a live, unexpired, not yet accomplished block for `provider`, until the
    /// block's current expiry. One escrow per payer and block (nobody can take another payer's
    /// place); for an ERC-20 the amount recorded is what the ledger received.
    function escrow(bytes32 blockId, address provider, address token, uint256 amount) external payable;

    /// @notice `payer` or the provider of `payer`'s escrow confirms the accomplished block (F set)
    /// before the escrow's deadline; the second confirmation releases the escrow to the provider.
    function confirm(bytes32 blockId, address payer) external;

    /// @notice Anyone returns `payer`'s unsettled escrow once its deadline passed (an extension of
    /// the block does not postpone it).
    function refund(bytes32 blockId, address payer) external;

    /// @notice `payer`'s escrow in `blockId` (a zero payer: none).
    function escrowOf(bytes32 blockId, address payer) external view returns (Escrow memory);

    // ------------------------------------------------------------------- views

    /// @notice Block `blockId` (proof query; a zero responsible means no such block).
    function getBlock(bytes32 blockId) external view returns (ContractBlock memory);

    /// @notice When `summary` was recorded into K of `blockId` (zero: it is not in K, or was cleaned).
    function summaryOf(bytes32 blockId, bytes32 summary) external view returns (uint40 time);

    /// @notice The block an attested `open` created for the first summary `summary`, and when
    /// (zero: never opened). Kept after the block is cleaned.
    function openingOf(bytes32 summary) external view returns (bytes32 blockId, uint40 time);

    /// @notice The beginning block's id, consensus label and establishment time.
    function layer() external view returns (bytes32 layerId, string memory consensus, uint256 establishedAt);

    /// @notice The superior layer.
    function superior() external view returns (LayerLink memory);

    /// @notice Whether the superior layer was found lost (routes through it frozen).
    function isSuperiorFrozen() external view returns (bool);

    /// @notice Whether `layerId` is a subordinate layer, and its link.
    function subordinate(bytes32 layerId) external view returns (LayerLink memory);

    /// @notice Member `index`: node, key, validity.
    function member(uint256 index) external view returns (address node, bytes memory publicKey, bool valid);

    /// @notice The index of `node` and whether it is a valid member.
    function memberOf(address node) external view returns (bool valid, uint256 index);

    /// @notice Members ever admitted, the bitmap of the valid ones, the quorum.
    function membership() external view returns (uint256 count, uint256 validMask, uint256 quorum);

    /// @notice A counter moved by every change of the layer's links (re-attachment, the superior's
    /// alarm, a subordinate link): a reader's cache of the links holds while it is unchanged. In
    /// no attestation digest.
    function linksVersion() external view returns (uint256);

    /// @notice How long an expired block that is not accomplished stays extendable (seconds).
    function EXTENSION_WINDOW() external view returns (uint256);
}
