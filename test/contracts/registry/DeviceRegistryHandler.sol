// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Handler for the DeviceRegistry invariant tests (seed 001 rules): it owns a registry (as its
// admin) and drives it through random but valid-ish sequences — registrations of lightweight,
// full and coordination nodes, k-of-n approvals (k = 2), heartbeats, time warps, offline
// reports, misbehaviour reports (from nodes of every label: a lightweight reporter of a full or
// coordination node must be refused), re-keys, revocations, transfers, reassignments and gateway
// assignments. It is the operator of its edge layer, so it registers every UUID itself (then hands
// the device to one of three owners). After every action it drains every non-live full node that
// still serves devices onto a live one (when one exists) and records ghost state (ids, labels,
// rounds, approvers, "needs a re-key", the re-key requested since the last block, gateways) that
// the invariants in DeviceRegistryInvariants.t.sol iterate over.

import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceId, DeviceIds} from "../../../contracts/libraries/DeviceIds.sol";

/// @dev The cheatcodes these tests use (forge-std is not installed).
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
    function expectRevert(bytes calldata revertData) external;
    function expectRevert() external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function assume(bool condition) external pure;
}

address constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

/// @dev The order of the secp256k1 group.
uint256 constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

/// @dev The rules of the registry the handler drives: k = 2, and three reports block a fresh device.
function handlerConfig() pure returns (IDeviceRegistry.Config memory) {
    return
        IDeviceRegistry.Config({
            fullNodeApprovals: 2,
            reportPenalty: 250,
            suspendBelow: 600,
            blockBelow: 300,
            epochLength: 1 hours,
            heartbeatTimeout: 15 minutes
        });
}

/// @dev Helpers shared by the unit/fuzz tests and the handler.
abstract contract RegistryTestBase {
    Vm internal constant vm = Vm(VM_ADDRESS);

    bytes32 internal constant LAYER = keccak256("strata://city/d7/edge-3");

    error AssertionFailed(string what, uint256 actual, uint256 expected);

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

    /// @dev A valid secp256k1 private key derived from `seed`.
    function _pk(uint256 seed) internal pure returns (uint256) {
        return (uint256(keccak256(abi.encode("strata.test.key", seed))) % (SECP256K1_N - 1)) + 1;
    }

    /// @dev A compact EIP-2098 signature of `digest` by `privateKey`.
    function _sign(uint256 privateKey, bytes32 digest) internal pure returns (IDeviceRegistry.Signature memory sig) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        sig = IDeviceRegistry.Signature({r: r, vs: bytes32(uint256(s) | (uint256(v - 27) << 255))});
    }

    function _request(
        bytes32 localId,
        address key,
        IDeviceRegistry.Label label,
        uint64 deadline
    ) internal pure returns (IDeviceRegistry.Registration memory req) {
        req = IDeviceRegistry.Registration({
            layer: LAYER,
            localId: localId,
            key: key,
            kind: label == IDeviceRegistry.Label.Lightweight
                ? uint8(IDeviceRegistry.Kind.Device)
                : uint8(IDeviceRegistry.Kind.EdgeNode),
            label: uint8(label),
            permissions: 1,
            profileHash: keccak256(abi.encode("profile", localId)),
            deadline: deadline
        });
    }

    /// @dev Registers `req` signed by `privateKey`, sent by `owner`.
    function _registerSigned(
        IDeviceRegistry registry,
        IDeviceRegistry.Registration memory req,
        uint256 privateKey,
        address owner
    ) internal returns (DeviceId id) {
        IDeviceRegistry.Signature memory sig = _sign(privateKey, registry.registrationDigest(req, owner));
        vm.prank(owner);
        id = registry.register(req, sig);
    }
}

contract DeviceRegistryHandler is RegistryTestBase {
    /// @dev Copied from the registry's configuration at deployment (see `handlerConfig`).
    uint8 public immutable K;
    uint16 public immutable PENALTY;
    uint16 public immutable SUSPEND_BELOW;
    uint16 public immutable BLOCK_BELOW;
    uint32 public immutable HEARTBEAT_TIMEOUT;
    uint32 public immutable EPOCH_LENGTH;

    uint256 internal constant MAX_LIGHT = 14;
    uint256 internal constant MAX_FULL = 5;
    uint256 internal constant MAX_COORD = 4;
    uint256 internal constant MAX_DRAIN_CALLS = 64;

    DeviceRegistry public immutable registry;

    // ------------------------------------------------------------ ghost state

    DeviceId[] internal _ids;
    DeviceId[] internal _lights;
    DeviceId[] internal _fulls;
    DeviceId[] internal _coords; // _coords[0] is the anchor: never reported, dismissed or revoked
    address[3] internal _owners = [address(0xA11CE), address(0xB0B), address(0xCA401)];

    /// @dev Every key the handler ever bound is `_pk(1..keyNonce)`; every UUID it registered is
    /// (LAYER, bytes32(1..localNonce)).
    uint256 public keyNonce;
    DeviceId internal _lastReported;
    uint256 public localNonce;

    /// @dev Last status seen for each device.
    mapping(DeviceId => IDeviceRegistry.Status) public lastStatus;
    /// @dev Seen Blocked and not re-keyed (with k distinct approvals) since.
    mapping(DeviceId => bool) public needsRekey;
    mapping(DeviceId => bool) public everBlocked;
    /// @dev The key of the re-key the owner requested after the device was last seen becoming
    /// Blocked (zero when none): the only pending key a Blocked device may hold, and the only
    /// re-key that lifts a block. A re-key requested before the block does not count.
    mapping(DeviceId => address) public rekeyAfterBlock;
    /// @dev The gateway each device was last (successfully) attached to.
    mapping(DeviceId => DeviceId) public gatewayOf;
    /// @dev Distinct coordinators that approved the device in the current approval round.
    mapping(DeviceId => DeviceId[]) internal _approvers;
    /// @dev The approver's appointment count when it approved (its term).
    mapping(DeviceId => uint256[]) internal _approverTerms;
    mapping(DeviceId => uint32) internal _approversRound;
    /// @dev How many times each coordinator was appointed: its term of office.
    mapping(DeviceId => uint256) public appointments;
    /// @dev Offline votes against each full node: the heartbeat period they were cast in, the
    /// voters and their terms.
    mapping(DeviceId => uint32) internal _offlinePeriod;
    mapping(DeviceId => DeviceId[]) internal _offlineVoters;
    mapping(DeviceId => uint256[]) internal _offlineTerms;

    /// @dev An approval round closed (or a full node went offline) although fewer than the
    /// required coordinators that voted were still in office in the term they voted in.
    uint256 public staleVotesCounted;
    /// @dev A coordination node was (re-)appointed with trust under the suspension threshold.
    uint256 public lowTrustAppointments;
    /// @dev `reportOffline` refused with another error than the expected ones.
    uint256 public offlineMismatches;
    uint256 public offlineByReports;

    /// @dev A device went from Blocked to Active without a re-key approved by k distinct nodes.
    uint256 public blockedReactivations;
    /// @dev The registry accepted a second approval from the same coordinator in one round.
    uint256 public duplicateApprovalsAccepted;
    /// @dev The registry accepted (or refused with another error) an approval of a device that
    /// waits for none — e.g. a Blocked device without a re-key.
    uint256 public unexpectedApprovalsAccepted;
    /// @dev `reassign` moved a number of devices other than min(maxCount, served), or a moved
    /// device's serving node is not the target.
    uint256 public reassignMismatches;
    /// @dev A drain could not empty a non-live full node although a live one existed.
    uint256 public undrained;
    /// @dev A lightweight node's report of a full or coordination node was accepted (or refused
    /// with another error than `RegistryReporterNotEligible`).
    uint256 public ineligibleReportsAccepted;
    /// @dev `setGateway` accepted a gateway that is not an Active non-Device entity (or a Revoked
    /// device), or refused a valid one, or refused with another error than expected.
    uint256 public gatewayMismatches;

    uint256 public duplicateApprovalsRefused;
    uint256 public rekeysCompleted;
    uint256 public blockedRecoveries;
    uint256 public reassignedDevices;
    uint256 public ineligibleReportsRefused;
    uint256 public pendingSuspensions;
    uint256 public rekeysClearedByBlock;
    uint256 public gatewaysAssigned;
    uint256 public gatewaysRefused;

    /// @param registry_ A registry whose ownership is being handed to this handler (it accepts it
    /// in `bootstrap`); deployed by the test so that the handler's init code stays small.
    constructor(DeviceRegistry registry_) {
        registry = registry_;
        IDeviceRegistry.Config memory cfg = registry_.config();
        K = cfg.fullNodeApprovals;
        PENALTY = cfg.reportPenalty;
        SUSPEND_BELOW = cfg.suspendBelow;
        BLOCK_BELOW = cfg.blockBelow;
        HEARTBEAT_TIMEOUT = cfg.heartbeatTimeout;
        EPOCH_LENGTH = cfg.epochLength;
    }

    /// @notice Takes over the registry as its admin, makes itself the operator of LAYER and seeds
    /// it: three coordinators, two live full nodes (k approvals each) and three lightweight devices
    /// served by them.
    function bootstrap() external {
        registry.acceptOwnership();
        registry.setLayerOperator(LAYER, address(this));
        for (uint256 i; i < 3; ++i) _newCoordinator(i);
        for (uint256 i; i < 2; ++i) {
            DeviceId f = _registerNew(IDeviceRegistry.Label.Full, i);
            _approveAs(_coords[0], f, DeviceIds.NONE);
            _approveAs(_coords[1], f, DeviceIds.NONE);
        }
        for (uint256 i; i < 3; ++i) {
            DeviceId d = _registerNew(IDeviceRegistry.Label.Lightweight, i);
            _approveAs(_coords[0], d, _fulls[i % 2]);
        }
        _sync(DeviceIds.NONE);
    }

    // ------------------------------------------------------------- views for invariants

    function ids() external view returns (DeviceId[] memory) {
        return _ids;
    }

    function lights() external view returns (DeviceId[] memory) {
        return _lights;
    }

    function fulls() external view returns (DeviceId[] memory) {
        return _fulls;
    }

    function coords() external view returns (DeviceId[] memory) {
        return _coords;
    }

    // ------------------------------------------------------------------ actions

    function registerLightweight(uint256 seed) external {
        if (_lights.length < MAX_LIGHT) _registerNew(IDeviceRegistry.Label.Lightweight, seed);
        _settle(seed, DeviceIds.NONE);
    }

    function registerFull(uint256 seed) external {
        if (_fulls.length < MAX_FULL) _registerNew(IDeviceRegistry.Label.Full, seed);
        _settle(seed, DeviceIds.NONE);
    }

    /// @notice Appoints a new coordination node, or re-appoints a dismissed (Suspended) one.
    function appointCoordinator(uint256 seed) external {
        if (_coords.length < MAX_COORD) {
            _newCoordinator(seed);
        } else {
            DeviceId c = _coords[seed % _coords.length];
            IDeviceRegistry.Status s = registry.statusOf(c);
            if (s == IDeviceRegistry.Status.Suspended || s == IDeviceRegistry.Status.Pending) {
                registry.appointCoordinator(c);
                appointments[c]++;
                if (registry.getDevice(c).trust < SUSPEND_BELOW) lowTrustAppointments++;
            }
        }
        _settle(seed, DeviceIds.NONE);
    }

    function dismissCoordinator(uint256 seed) external {
        DeviceId c = _coords[1 + (seed % (_coords.length - 1))];
        if (registry.statusOf(c) == IDeviceRegistry.Status.Active) registry.dismissCoordinator(c);
        _settle(seed, DeviceIds.NONE);
    }

    /// @notice An active coordinator that has not approved yet in this round approves a device
    /// that waits for approvals (with a live serving node when it is a lightweight device).
    function approve(uint256 deviceSeed, uint256 coordSeed, uint256 servingSeed) external {
        DeviceId rekeyed = DeviceIds.NONE;
        uint256 n = _ids.length;
        // Odd seeds look at devices being re-keyed first (the way out of Blocked).
        for (uint256 pass = deviceSeed % 2 == 1 ? 0 : 1; pass < 2; ++pass) {
            bool done;
            for (uint256 i; i < n; ++i) {
                DeviceId id = _ids[_idx(deviceSeed, i, n)];
                if (!_awaitsApproval(id)) continue;
                IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
                if (pass == 0 && d.pendingKey == address(0)) continue;
                (bool ok, DeviceId c) = _freshApprover(id, coordSeed);
                DeviceId serving = DeviceIds.NONE;
                if (d.label == IDeviceRegistry.Label.Lightweight && d.status != IDeviceRegistry.Status.Active) {
                    bool live;
                    (live, serving) = _liveFull(servingSeed);
                    ok = ok && live;
                }
                if (!ok) continue;
                rekeyed = _approveAs(c, id, serving);
                done = true;
                break;
            }
            if (done) break;
        }
        _settle(servingSeed, rekeyed);
    }

    /// @notice A coordinator that already approved in the current round tries again: the
    /// registry must refuse with `RegistryAlreadyApproved`.
    function approveAgain(uint256 deviceSeed) external {
        uint256 n = _ids.length;
        for (uint256 i; i < n; ++i) {
            DeviceId id = _ids[_idx(deviceSeed, i, n)];
            DeviceId[] storage approvers = _approvers[id];
            if (approvers.length == 0 || _approversRound[id] != registry.getDevice(id).round) continue;
            if (!_awaitsApproval(id)) continue;
            uint256 a = deviceSeed % approvers.length;
            DeviceId c = approvers[a];
            if (registry.statusOf(c) != IDeviceRegistry.Status.Active) continue;
            if (appointments[c] != _approverTerms[id][a]) continue; // a new term may approve again
            DeviceId serving = DeviceIds.NONE;
            IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
            if (d.label == IDeviceRegistry.Label.Lightweight && d.status != IDeviceRegistry.Status.Active) {
                bool live;
                (live, serving) = _liveFull(deviceSeed);
                if (!live) continue;
            }
            vm.prank(registry.keyOf(c));
            try registry.approve(c, id, serving) {
                duplicateApprovalsAccepted++;
            } catch (bytes memory reason) {
                bytes memory expected = abi.encodeWithSelector(
                    IDeviceRegistry.RegistryAlreadyApproved.selector,
                    id,
                    c,
                    d.round
                );
                if (keccak256(reason) != keccak256(expected)) duplicateApprovalsAccepted++;
                else duplicateApprovalsRefused++;
            }
            break;
        }
        _settle(deviceSeed, DeviceIds.NONE);
    }

    /// @notice A coordinator approves a device that waits for no approval (e.g. Blocked without a
    /// re-key, Active, Revoked): the registry must refuse with `RegistryApprovalNotExpected`.
    function approveUnexpected(uint256 deviceSeed, uint256 coordSeed) external {
        uint256 n = _ids.length;
        for (uint256 i; i < n; ++i) {
            DeviceId id = _ids[_idx(deviceSeed, i, n)];
            if (_awaitsApproval(id)) continue;
            (bool ok, DeviceId c) = _freshApprover(id, coordSeed);
            if (!ok) continue;
            IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
            (, DeviceId serving) = _liveFull(coordSeed);
            if (d.label != IDeviceRegistry.Label.Lightweight || d.status == IDeviceRegistry.Status.Active) {
                serving = DeviceIds.NONE;
            }
            vm.prank(registry.keyOf(c));
            try registry.approve(c, id, serving) {
                unexpectedApprovalsAccepted++;
            } catch (bytes memory reason) {
                bytes memory expected = abi.encodeWithSelector(
                    IDeviceRegistry.RegistryApprovalNotExpected.selector,
                    id,
                    d.status
                );
                if (keccak256(reason) != keccak256(expected)) unexpectedApprovalsAccepted++;
            }
            break;
        }
        _settle(deviceSeed, DeviceIds.NONE);
    }

    /// @notice One active full node (or all of them) sends a heartbeat.
    function heartbeat(uint256 seed, bool all) external {
        uint256 n = _fulls.length;
        for (uint256 i; i < n; ++i) {
            DeviceId f = _fulls[_idx(seed, i, n)];
            if (registry.statusOf(f) != IDeviceRegistry.Status.Active) continue;
            vm.prank(registry.keyOf(f));
            registry.heartbeat(f);
            if (!all) break;
        }
        _settle(seed, DeviceIds.NONE);
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 2 * HEARTBEAT_TIMEOUT));
        _settle(secondsAhead, DeviceIds.NONE);
    }

    /// @notice An active coordinator votes a live full node offline. The node must go offline
    /// exactly when k coordinators still in office (in the term they voted in) voted in its
    /// current heartbeat period; a second vote of the same term is refused.
    function reportOffline(uint256 fullSeed, uint256 coordSeed) external {
        (bool live, DeviceId f) = _liveFull(fullSeed);
        (bool ok, DeviceId c) = _activeCoordinator(coordSeed);
        if (live && ok) {
            (uint32 period, ) = registry.offlineBallot(f);
            if (_offlinePeriod[f] != period || _offlineVoters[f].length == 0) {
                delete _offlineVoters[f];
                delete _offlineTerms[f];
                _offlinePeriod[f] = period;
            }
            bool again;
            for (uint256 i; i < _offlineVoters[f].length; ++i) {
                if (_offlineVoters[f][i] == c && _offlineTerms[f][i] == appointments[c]) again = true;
            }
            vm.prank(registry.keyOf(c));
            try registry.reportOffline(c, f) {
                if (again) offlineMismatches++;
                _offlineVoters[f].push(c);
                _offlineTerms[f].push(appointments[c]);
                bool down = !registry.isLive(f);
                uint256 inOffice = _inOffice(_offlineVoters[f], _offlineTerms[f]);
                if (down != (inOffice >= K)) staleVotesCounted++;
                if (down) offlineByReports++;
            } catch (bytes memory reason) {
                bytes memory expected = abi.encodeWithSelector(
                    IDeviceRegistry.RegistryAlreadyReportedOffline.selector,
                    f,
                    c,
                    period
                );
                if (!again || keccak256(reason) != keccak256(expected)) offlineMismatches++;
            }
        }
        _settle(fullSeed, DeviceIds.NONE);
    }

    /// @notice An active node of any label reports a reportable device (never the anchor
    /// coordinator) it has not reported in this epoch. A lightweight reporter of a full or
    /// coordination node must be refused with `RegistryReporterNotEligible`; the search then goes
    /// on to the next reporter. An accepted report must lower trust by the penalty and move the
    /// status as the rules say: under blockBelow to Blocked (clearing a pending re-key), else
    /// under suspendBelow a Pending or Active device to Suspended.
    function report(uint256 reporterSeed, uint256 targetSeed, bytes32 evidence) external {
        uint256 n = _ids.length;
        // Half of the reports pile onto the last reported device, so that devices get suspended
        // and blocked within a run's depth.
        if (evidence[0] < 0x80 && _lastReported != DeviceIds.NONE) targetSeed = _indexOf(_lastReported);
        bool done;
        for (uint256 j; j < n && !done; ++j) {
            DeviceId target = _ids[_idx(targetSeed, j, n)];
            if (target == _coords[0]) continue;
            IDeviceRegistry.Status s = registry.statusOf(target);
            if (
                s != IDeviceRegistry.Status.Pending &&
                s != IDeviceRegistry.Status.Active &&
                s != IDeviceRegistry.Status.Suspended
            ) continue;
            for (uint256 i; i < n; ++i) {
                DeviceId reporter = _ids[_idx(reporterSeed, i, n)];
                if (reporter == target || registry.statusOf(reporter) != IDeviceRegistry.Status.Active) continue;
                if (registry.hasReported(target, reporter)) continue;
                if (_reportRefusedAsIneligible(reporter, target, evidence)) continue;
                _reportChecked(reporter, target, evidence);
                done = true;
                break;
            }
        }
        _settle(targetSeed, DeviceIds.NONE);
    }

    /// @notice The owner asks for a re-key of an Active, Suspended or Blocked device (Blocked
    /// first when `preferBlocked`), signed by a brand-new key.
    function requestRekey(uint256 seed, bool preferBlocked) external {
        uint256 n = _ids.length;
        bool found;
        DeviceId id;
        for (uint256 pass; pass < 2 && !found; ++pass) {
            for (uint256 i; i < n; ++i) {
                DeviceId cand = _ids[_idx(seed, i, n)];
                IDeviceRegistry.Status s = registry.statusOf(cand);
                bool eligible =
                    pass == 0
                        ? (preferBlocked && s == IDeviceRegistry.Status.Blocked)
                        : (s == IDeviceRegistry.Status.Active ||
                            s == IDeviceRegistry.Status.Suspended ||
                            s == IDeviceRegistry.Status.Blocked);
                if (eligible) {
                    (found, id) = (true, cand);
                    break;
                }
            }
        }
        if (found) {
            uint256 pk = _pk(++keyNonce);
            address newKey = vm.addr(pk);
            uint64 deadline = uint64(block.timestamp + 1 + (seed % 1 days));
            IDeviceRegistry.Signature memory sig = _sign(pk, registry.rekeyDigest(id, newKey, deadline));
            bool blocked = registry.statusOf(id) == IDeviceRegistry.Status.Blocked;
            vm.prank(registry.ownerOf(id));
            registry.requestRekey(id, newKey, deadline, sig);
            _eq(uint160(registry.getDevice(id).pendingKey), uint160(newKey), "pending key");
            // Only a re-key asked for while Blocked may lift the block.
            if (blocked) rekeyAfterBlock[id] = newKey;
        }
        _settle(seed, DeviceIds.NONE);
    }

    /// @notice The owner retires a device (never the anchor coordinator).
    function revoke(uint256 seed) external {
        uint256 n = _ids.length;
        // Revocations are final: keep them rare (1 call in 4) so the population stays alive.
        for (uint256 i; i < n && seed % 4 == 0; ++i) {
            DeviceId id = _ids[_idx(seed, i, n)];
            if (id == _coords[0] || registry.statusOf(id) == IDeviceRegistry.Status.Revoked) continue;
            vm.prank(registry.ownerOf(id));
            registry.revoke(id);
            break;
        }
        _settle(seed, DeviceIds.NONE);
    }

    function transfer(uint256 seed, uint256 ownerSeed) external {
        DeviceId id = _ids[seed % _ids.length];
        address newOwner = _owners[ownerSeed % _owners.length];
        vm.prank(registry.ownerOf(id));
        registry.transferDevice(id, newOwner);
        _eq(uint160(registry.ownerOf(id)), uint160(newOwner), "owner after transfer");
        _settle(seed, DeviceIds.NONE);
    }

    /// @notice The owner of a device attaches it to another registered entity (one in five calls:
    /// detaches it). The registry must accept exactly the Active entities whose kind is not Device
    /// (and the zero id), refuse the others with `RegistryInvalidGateway(gateway)`, and refuse any
    /// change on a Revoked device with `RegistryInvalidStatus`.
    function setGateway(uint256 deviceSeed, uint256 gatewaySeed) external {
        uint256 n = _ids.length;
        DeviceId id = _ids[deviceSeed % n];
        DeviceId gateway = DeviceIds.NONE;
        if (gatewaySeed % 5 != 0) {
            gateway = _ids[gatewaySeed % n];
            if (gateway == id) gateway = _ids[(gatewaySeed + 1) % n]; // not itself
        }
        IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
        bytes memory expected;
        if (d.status == IDeviceRegistry.Status.Revoked) {
            expected = abi.encodeWithSelector(
                IDeviceRegistry.RegistryInvalidStatus.selector,
                id,
                IDeviceRegistry.Status.Revoked
            );
        } else if (gateway != DeviceIds.NONE) {
            IDeviceRegistry.DeviceView memory g = registry.getDevice(gateway);
            if (g.status != IDeviceRegistry.Status.Active || g.kind == IDeviceRegistry.Kind.Device) {
                expected = abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidGateway.selector, gateway);
            }
        }
        vm.prank(d.owner);
        try registry.setGateway(id, gateway) {
            if (expected.length != 0) gatewayMismatches++;
            gatewayOf[id] = gateway;
            gatewaysAssigned++;
        } catch (bytes memory reason) {
            if (expected.length == 0 || keccak256(reason) != keccak256(expected)) gatewayMismatches++;
            else gatewaysRefused++;
        }
        if (registry.getDevice(id).gateway != gatewayOf[id]) gatewayMismatches++;
        _settle(deviceSeed, DeviceIds.NONE);
    }

    /// @notice An explicit reassignment of at most `maxCount` devices from a non-live full node
    /// (usually already drained: then it must move nothing).
    function reassign(uint256 fromSeed, uint256 toSeed, uint256 maxCount) external {
        uint256 n = _fulls.length;
        (bool live, DeviceId to) = _liveFull(toSeed);
        (bool ok, DeviceId c) = _activeCoordinator(toSeed);
        if (live && ok) {
            for (uint256 i; i < n; ++i) {
                DeviceId from = _fulls[_idx(fromSeed, i, n)];
                if (registry.isLive(from)) continue;
                _reassignChecked(c, from, to, maxCount % 8);
                break;
            }
        }
        _settle(fromSeed, DeviceIds.NONE);
    }

    // ---------------------------------------------------------------- internals

    /// @dev When `reporter` is lightweight and `target` is not, tries the report and tallies the
    /// outcome (it must be refused with exactly `RegistryReporterNotEligible`); returns true.
    function _reportRefusedAsIneligible(DeviceId reporter, DeviceId target, bytes32 evidence) internal returns (bool) {
        IDeviceRegistry.Label reporterLabel = registry.getDevice(reporter).label;
        IDeviceRegistry.DeviceView memory t = registry.getDevice(target);
        if (reporterLabel != IDeviceRegistry.Label.Lightweight || t.label == IDeviceRegistry.Label.Lightweight) {
            return false;
        }
        vm.prank(registry.keyOf(reporter));
        try registry.report(reporter, target, evidence) {
            ineligibleReportsAccepted++;
        } catch (bytes memory reason) {
            bytes memory expected = abi.encodeWithSelector(
                IDeviceRegistry.RegistryReporterNotEligible.selector,
                reporter,
                reporterLabel,
                t.label
            );
            if (keccak256(reason) != keccak256(expected)) ineligibleReportsAccepted++;
            else ineligibleReportsRefused++;
        }
        IDeviceRegistry.DeviceView memory afterwards = registry.getDevice(target);
        if (afterwards.trust != t.trust || afterwards.status != t.status) ineligibleReportsAccepted++;
        return true;
    }

    /// @dev An eligible report, with trust and the status transition checked against the rules.
    function _reportChecked(DeviceId reporter, DeviceId target, bytes32 evidence) internal {
        IDeviceRegistry.DeviceView memory before = registry.getDevice(target);
        IDeviceRegistry.TrustCase memory tc = registry.trustCaseOf(target);
        // A quiet epoch closed the case of a device that is not suspended: trust back to 1000.
        uint16 base = before.trust;
        if (
            before.status != IDeviceRegistry.Status.Suspended &&
            tc.lastReportAt != 0 &&
            block.timestamp >= uint256(tc.lastReportAt) + EPOCH_LENGTH
        ) base = registry.MAX_TRUST();
        vm.prank(registry.keyOf(reporter));
        registry.report(reporter, target, evidence);
        _lastReported = target;
        _check(registry.hasReported(target, reporter), "report recorded");
        uint16 trust = base > PENALTY ? base - PENALTY : 0;
        IDeviceRegistry.Status status = before.status;
        if (trust < BLOCK_BELOW) {
            status = IDeviceRegistry.Status.Blocked;
        } else if (trust < SUSPEND_BELOW && status != IDeviceRegistry.Status.Suspended) {
            // Pending devices too: they then need k approvals, like any suspended device.
            if (status == IDeviceRegistry.Status.Pending) pendingSuspensions++;
            status = IDeviceRegistry.Status.Suspended;
        }
        IDeviceRegistry.DeviceView memory afterwards = registry.getDevice(target);
        _eq(afterwards.trust, trust, "trust after report");
        _eq(uint8(afterwards.status), uint8(status), "status after report");
        if (status == IDeviceRegistry.Status.Blocked) {
            _eq(uint160(afterwards.pendingKey), 0, "a block clears the pending re-key");
            if (before.pendingKey != address(0)) rekeysClearedByBlock++;
        } else {
            _eq(uint160(afterwards.pendingKey), uint160(before.pendingKey), "pending re-key kept");
        }
    }

    /// @dev End of every action: drain non-live full nodes, then record status transitions.
    function _settle(uint256 seed, DeviceId rekeyed) internal {
        _drain(seed);
        _sync(rekeyed);
    }

    /// @dev Moves every device of every non-live full node onto live ones, in bounded batches.
    function _drain(uint256 seed) internal {
        (bool live, DeviceId to) = _liveFull(seed);
        (bool ok, DeviceId c) = _activeCoordinator(seed);
        if (!live || !ok) return;
        uint256 n = _fulls.length;
        for (uint256 i; i < n; ++i) {
            DeviceId from = _fulls[i];
            if (registry.isLive(from)) continue;
            uint256 batch = 1 + ((seed >> (8 * i)) % 4);
            for (uint256 j; j < MAX_DRAIN_CALLS && registry.servedCount(from) > 0; ++j) {
                _reassignChecked(c, from, to, batch);
            }
            if (registry.servedCount(from) != 0) undrained++;
        }
    }

    /// @dev `reassign` with its accounting checked: exactly min(maxCount, served) devices leave
    /// `from`, they all end up served by `to`, and the others stay.
    function _reassignChecked(DeviceId c, DeviceId from, DeviceId to, uint256 maxCount) internal {
        uint256 served = registry.servedCount(from);
        uint256 toBefore = registry.servedCount(to);
        DeviceId[] memory before = registry.servedDevices(from, 0, served);
        uint256 moves = maxCount < served ? maxCount : served;
        vm.prank(registry.keyOf(c));
        uint256 remaining = registry.reassign(c, from, to, maxCount);
        reassignedDevices += moves;
        if (remaining != served - moves) reassignMismatches++;
        if (registry.servedCount(from) != served - moves) reassignMismatches++;
        if (registry.servedCount(to) != toBefore + moves) reassignMismatches++;
        uint256 moved;
        for (uint256 i; i < before.length; ++i) {
            DeviceId s = registry.getDevice(before[i]).servingNode;
            if (s == to) moved++;
            else if (s != from) reassignMismatches++;
        }
        if (moved != moves) reassignMismatches++;
    }

    /// @dev Records every device's status; flags Blocked -> Active without a completed re-key
    /// requested after the block.
    function _sync(DeviceId rekeyed) internal {
        if (rekeyed != DeviceIds.NONE) {
            if (needsRekey[rekeyed]) blockedRecoveries++;
            needsRekey[rekeyed] = false;
        }
        uint256 n = _ids.length;
        for (uint256 i; i < n; ++i) {
            DeviceId id = _ids[i];
            IDeviceRegistry.Status s = registry.statusOf(id);
            IDeviceRegistry.Status prev = lastStatus[id];
            if (s == IDeviceRegistry.Status.Blocked) {
                needsRekey[id] = true;
                everBlocked[id] = true;
                // A fresh block: re-keys asked for before it no longer count.
                if (prev != IDeviceRegistry.Status.Blocked) delete rekeyAfterBlock[id];
            } else if (s == IDeviceRegistry.Status.Active && needsRekey[id]) {
                blockedReactivations++;
                needsRekey[id] = false;
            }
            // A new approval round starts when a device is suspended or blocked: forget approvers
            // independently of the registry's own round counter.
            if (s != prev && (s == IDeviceRegistry.Status.Suspended || s == IDeviceRegistry.Status.Blocked)) {
                delete _approvers[id];
            }
            lastStatus[id] = s;
        }
    }

    /// @dev `c` approves `id`; returns `id` when this approval completed a re-key that k distinct
    /// coordinators (as counted by the handler) approved and that the owner requested after the
    /// device was last blocked, NONE otherwise.
    function _approveAs(DeviceId c, DeviceId id, DeviceId serving) internal returns (DeviceId rekeyed) {
        IDeviceRegistry.DeviceView memory before = registry.getDevice(id);
        if (_approversRound[id] != before.round) {
            delete _approvers[id];
            delete _approverTerms[id];
            _approversRound[id] = before.round;
        }
        DeviceId[] storage approvers = _approvers[id];
        for (uint256 i; i < approvers.length; ++i) {
            if (approvers[i] == c) duplicateApprovalsAccepted++; // the handler never asks twice
        }
        vm.prank(registry.keyOf(c));
        registry.approve(c, id, serving);
        approvers.push(c);
        _approverTerms[id].push(appointments[c]);

        IDeviceRegistry.DeviceView memory afterwards = registry.getDevice(id);
        if (afterwards.round != before.round) {
            // The round closed (threshold met): by approvers still in office, in their term.
            bool lightAdmission =
                before.label == IDeviceRegistry.Label.Lightweight &&
                    before.status == IDeviceRegistry.Status.Pending &&
                    before.pendingKey == address(0);
            if (_inOffice(approvers, _approverTerms[id]) < (lightAdmission ? 1 : K)) staleVotesCounted++;
            if (before.pendingKey != address(0)) {
                _eq(uint160(afterwards.key), uint160(before.pendingKey), "key after re-key");
                rekeysCompleted++;
                if (approvers.length >= K && before.pendingKey == rekeyAfterBlock[id]) rekeyed = id;
            }
            delete _approvers[id];
            delete _approverTerms[id];
        }
    }

    /// @dev Registers a new UUID of LAYER as its operator (the handler), then hands the device to
    /// one of the three owners. Full and coordination nodes get any kind (Device included, so that
    /// some active nodes are not valid gateways); lightweight ones are devices.
    function _registerNew(IDeviceRegistry.Label label, uint256 seed) internal returns (DeviceId id) {
        uint256 pk = _pk(++keyNonce);
        IDeviceRegistry.Registration memory req = _request(
            bytes32(++localNonce),
            vm.addr(pk),
            label,
            uint64(block.timestamp + 1 hours)
        );
        if (label != IDeviceRegistry.Label.Lightweight) req.kind = uint8(((seed % 4) + localNonce) % 4);
        id = _registerSigned(registry, req, pk, address(this));
        address owner = _owners[seed % _owners.length];
        registry.transferDevice(id, owner);
        _eq(uint160(registry.ownerOf(id)), uint160(owner), "owner after registration");
        _ids.push(id);
        if (label == IDeviceRegistry.Label.Lightweight) _lights.push(id);
        else if (label == IDeviceRegistry.Label.Full) _fulls.push(id);
        else _coords.push(id);
    }

    function _newCoordinator(uint256 seed) internal {
        DeviceId c = _registerNew(IDeviceRegistry.Label.Coordination, seed);
        registry.appointCoordinator(c);
        appointments[c]++;
    }

    /// @dev How many of `voters` are still Active coordination nodes in the term they voted in.
    function _inOffice(DeviceId[] storage voters, uint256[] storage terms) internal view returns (uint256 n) {
        for (uint256 i; i < voters.length; ++i) {
            if (registry.statusOf(voters[i]) == IDeviceRegistry.Status.Active && appointments[voters[i]] == terms[i]) {
                n++;
            }
        }
    }

    /// @dev True when `id` waits for an approval in its current state (mirrors `approve`: pending,
    /// suspended, or re-keying; coordination nodes only when re-keying).
    function _awaitsApproval(DeviceId id) internal view returns (bool) {
        IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
        bool rekeying = d.pendingKey != address(0);
        if (d.label == IDeviceRegistry.Label.Coordination) {
            return rekeying && d.status != IDeviceRegistry.Status.Revoked;
        }
        return
            d.status == IDeviceRegistry.Status.Pending ||
            d.status == IDeviceRegistry.Status.Suspended ||
            (rekeying && (d.status == IDeviceRegistry.Status.Active || d.status == IDeviceRegistry.Status.Blocked));
    }

    /// @dev An active coordinator, other than `id`, that has not approved `id` in its round.
    function _freshApprover(DeviceId id, uint256 seed) internal view returns (bool, DeviceId) {
        uint32 round = registry.getDevice(id).round;
        bool sameRound = _approversRound[id] == round;
        DeviceId[] storage approvers = _approvers[id];
        uint256 n = _coords.length;
        for (uint256 i; i < n; ++i) {
            DeviceId c = _coords[_idx(seed, i, n)];
            if (c == id || registry.statusOf(c) != IDeviceRegistry.Status.Active) continue;
            bool approved;
            if (sameRound) {
                for (uint256 j; j < approvers.length; ++j) {
                    if (approvers[j] == c) approved = true;
                }
            }
            if (!approved) return (true, c);
        }
        return (false, DeviceIds.NONE);
    }

    function _activeCoordinator(uint256 seed) internal view returns (bool, DeviceId) {
        uint256 n = _coords.length;
        for (uint256 i; i < n; ++i) {
            DeviceId c = _coords[_idx(seed, i, n)];
            if (registry.statusOf(c) == IDeviceRegistry.Status.Active) return (true, c);
        }
        return (false, DeviceIds.NONE);
    }

    function _indexOf(DeviceId id) internal view returns (uint256) {
        for (uint256 i; i < _ids.length; ++i) {
            if (_ids[i] == id) return i;
        }
        return 0;
    }

    /// @dev The `i`-th index after `seed` in a ring of `n` (no overflow for any seed).
    function _idx(uint256 seed, uint256 i, uint256 n) internal pure returns (uint256) {
        return ((seed % n) + i) % n;
    }

    function _liveFull(uint256 seed) internal view returns (bool, DeviceId) {
        uint256 n = _fulls.length;
        for (uint256 i; i < n; ++i) {
            DeviceId f = _fulls[_idx(seed, i, n)];
            if (registry.isLive(f)) return (true, f);
        }
        return (false, DeviceIds.NONE);
    }
}

/// @notice Second target of the invariant fuzzer: tries to bind keys and UUIDs that the main
/// handler already bound, with valid signatures, sent by the layer's operator (the main handler);
/// and tries to register fresh UUIDs as anyone but the layer's operator (UUID squatting). The
/// registry must refuse every attempt with the exact error; `accepted` counts the attempts it did
/// not refuse as expected.
contract DeviceRegistryReplayHandler is RegistryTestBase {
    DeviceRegistry public immutable registry;
    DeviceRegistryHandler public immutable main;

    uint256 public accepted;
    uint256 public refused;
    uint256 internal _nonce;

    constructor(DeviceRegistryHandler main_) {
        main = main_;
        registry = main_.registry();
    }

    /// @notice Registers a brand-new UUID with a key that was ever bound (current, old, pending
    /// or revoked): must revert with `RegistryKeyInUse(key)`.
    function registerWithBoundKey(uint256 keySeed, uint8 label) external {
        uint256 pk = _pk(1 + (keySeed % main.keyNonce()));
        address key = vm.addr(pk);
        IDeviceRegistry.Registration memory req = _request(
            keccak256(abi.encode("replay", ++_nonce)),
            key,
            IDeviceRegistry.Label(label % 3),
            uint64(block.timestamp + 1)
        );
        _expectRefusal(req, pk, abi.encodeWithSelector(IDeviceRegistry.RegistryKeyInUse.selector, key));
    }

    /// @notice Registers an already registered UUID with a fresh key: must revert with
    /// `RegistryDeviceExists(id)`, whatever the device's status (Revoked included).
    function registerExistingUuid(uint256 uuidSeed) external {
        bytes32 localId = bytes32(1 + (uuidSeed % main.localNonce()));
        uint256 pk = _pk((1 << 128) + ++_nonce); // never bound by the main handler
        IDeviceRegistry.Registration memory req = _request(
            localId,
            vm.addr(pk),
            IDeviceRegistry.Label.Lightweight,
            uint64(block.timestamp + 1)
        );
        DeviceId id = DeviceIds.derive(LAYER, localId);
        _expectRefusal(req, pk, abi.encodeWithSelector(IDeviceRegistry.RegistryDeviceExists.selector, id));
    }

    /// @notice The owner of a re-keyable device asks for a re-key to a key that was ever bound:
    /// must revert with `RegistryKeyInUse(key)`.
    function rekeyToBoundKey(uint256 deviceSeed, uint256 keySeed) external {
        DeviceId[] memory ids = main.ids();
        DeviceId id = ids[deviceSeed % ids.length];
        IDeviceRegistry.Status s = registry.statusOf(id);
        if (
            s != IDeviceRegistry.Status.Active &&
            s != IDeviceRegistry.Status.Suspended &&
            s != IDeviceRegistry.Status.Blocked
        ) return;
        uint256 pk = _pk(1 + (keySeed % main.keyNonce()));
        address key = vm.addr(pk);
        uint64 deadline = uint64(block.timestamp + 1);
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.rekeyDigest(id, key, deadline));
        vm.prank(registry.ownerOf(id));
        try registry.requestRekey(id, key, deadline, sig) {
            accepted++;
        } catch (bytes memory reason) {
            _tally(reason, abi.encodeWithSelector(IDeviceRegistry.RegistryKeyInUse.selector, key));
        }
    }

    /// @notice Someone other than the operator registers a fresh UUID with a fresh key and a valid
    /// signature, in LAYER or in any other (usually unassigned) layer: must revert with
    /// `RegistryUnauthorizedLayer(layer, caller)`.
    function registerAsNonOperator(address caller, bytes32 layer, bool ownLayer) external {
        if (ownLayer) layer = LAYER;
        if (caller == registry.layerOperator(layer)) return;
        uint256 pk = _pk((2 << 128) + ++_nonce); // never bound by anyone
        IDeviceRegistry.Registration memory req = _request(
            keccak256(abi.encode("squat", _nonce)),
            vm.addr(pk),
            IDeviceRegistry.Label(_nonce % 3),
            uint64(block.timestamp + 1)
        );
        req.layer = layer;
        _expectRefusalFrom(
            caller,
            req,
            pk,
            abi.encodeWithSelector(IDeviceRegistry.RegistryUnauthorizedLayer.selector, layer, caller)
        );
        if (registry.statusOf(DeviceIds.derive(layer, req.localId)) != IDeviceRegistry.Status.None) accepted++;
    }

    /// @dev `req` sent by the layer's operator (the main handler) with a valid signature.
    function _expectRefusal(IDeviceRegistry.Registration memory req, uint256 pk, bytes memory expected) internal {
        _expectRefusalFrom(address(main), req, pk, expected);
    }

    function _expectRefusalFrom(
        address owner,
        IDeviceRegistry.Registration memory req,
        uint256 pk,
        bytes memory expected
    ) internal {
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, owner));
        vm.prank(owner);
        try registry.register(req, sig) {
            accepted++;
        } catch (bytes memory reason) {
            _tally(reason, expected);
        }
    }

    function _tally(bytes memory reason, bytes memory expected) internal {
        if (keccak256(reason) == keccak256(expected)) refused++;
        else accepted++;
    }
}
