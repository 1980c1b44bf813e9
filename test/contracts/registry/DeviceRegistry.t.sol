// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

// Fuzz and unit tests for DeviceRegistry, covering the seed 001 rules (labels, joins through
// coordination nodes with k approvals, serving-node assignment and bounded reassignment,
// misbehaviour reports lowering trust with suspension / blocking thresholds, Blocked -> re-key,
// fake and duplicate IDs refused), the edge layers' operators (only a layer's operator registers
// its UUIDs), the reporters' eligibility, gateways, and the registry's signature, deadline,
// key-binding and configuration checks. Every revert is matched against the exact custom error and arguments.
// Signatures are real EIP-712 signatures made with `vm.sign`, sent in compact EIP-2098 form.

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {DeviceRegistry} from "../../../contracts/registry/DeviceRegistry.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DeviceId, DeviceIds} from "../../../contracts/libraries/DeviceIds.sol";
import {RegistryTestBase, SECP256K1_N} from "./DeviceRegistryHandler.sol";

contract DeviceRegistryTest is RegistryTestBase {
    uint256 internal constant START = 1_700_000_000;
    uint16 internal constant MAX_TRUST = 1000;
    address internal constant OWNER = address(0xA11CE);
    address internal constant STRANGER = address(0x5757);

    DeviceRegistry internal registry;
    uint256 internal _keySeed;
    uint256 internal _localSeed;

    DeviceId internal c1;
    DeviceId internal c2;
    DeviceId internal c3;
    DeviceId internal f1;
    DeviceId internal l1;

    /// OWNER operates LAYER; three coordinators, a live full node admitted by two of them (k = 2)
    /// and a lightweight device it serves.
    function setUp() public {
        vm.warp(START);
        registry = new DeviceRegistry(address(this), _config());
        registry.setLayerOperator(LAYER, OWNER);
        c1 = _coordinator();
        c2 = _coordinator();
        c3 = _coordinator();
        f1 = _activeFull();
        l1 = _activeLight(f1);
    }

    // ================================================================ register

    function testFuzz_register_rejectsSignatureFromAnyOtherKey(uint256 signerSeed) public {
        (uint256 pk, address key) = _newKey();
        uint256 otherPk = _bound(signerSeed, 1, SECP256K1_N - 1);
        vm.assume(otherPk != pk);
        IDeviceRegistry.Registration memory req = _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, _later());
        IDeviceRegistry.Signature memory sig = _sign(otherPk, registry.registrationDigest(req, OWNER));

        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidSignature.selector, key, vm.addr(otherPk))
        );
        registry.register(req, sig);
    }

    /// The signature binds the owner: a request signed for OWNER and sent by anyone else fails,
    /// the recovered signer being whatever the other owner's digest yields (even when the sender
    /// is the layer's operator, as it is made here so that the signature is what is checked).
    function testFuzz_register_rejectsSignatureForAnotherOwner(address sender) public {
        vm.assume(sender != OWNER && sender != address(0));
        registry.setLayerOperator(LAYER, sender);
        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, _later());
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, registry.registrationDigest(req, OWNER));
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, OWNER));
        address recovered = ecrecover(registry.registrationDigest(req, sender), v, r, s);

        _expectRevertFrom(
            sender,
            abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidSignature.selector, key, recovered)
        );
        registry.register(req, sig);
    }

    function testFuzz_register_rejectsUnknownKind(uint8 kind, uint8 label) public {
        kind = uint8(_bound(kind, uint8(type(IDeviceRegistry.Kind).max) + 1, type(uint8).max));
        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, _later());
        req.kind = kind;
        req.label = label; // the kind is checked first
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, OWNER));

        _expectRevertFrom(OWNER, abi.encodeWithSelector(IDeviceRegistry.RegistryUnknownKind.selector, kind));
        registry.register(req, sig);
    }

    function testFuzz_register_rejectsUnknownLabel(uint8 kind, uint8 label) public {
        kind = uint8(_bound(kind, 0, uint8(type(IDeviceRegistry.Kind).max)));
        label = uint8(_bound(label, uint8(type(IDeviceRegistry.Label).max) + 1, type(uint8).max));
        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, _later());
        req.kind = kind;
        req.label = label;
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, OWNER));

        _expectRevertFrom(OWNER, abi.encodeWithSelector(IDeviceRegistry.RegistryUnknownLabel.selector, label));
        registry.register(req, sig);
    }

    function testFuzz_register_storesPendingRecordForEveryKnownKindAndLabel(
        bytes32 layer,
        bytes32 localId,
        uint8 kind,
        uint8 label,
        uint32 permissions
    ) public {
        vm.assume(DeviceIds.derive(layer, localId) != DeviceIds.NONE);
        registry.setLayerOperator(layer, OWNER);
        kind = uint8(_bound(kind, 0, 3));
        label = uint8(_bound(label, 0, 2));
        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(localId, key, IDeviceRegistry.Label.Full, _later());
        req.layer = layer;
        req.kind = kind;
        req.label = label;
        req.permissions = permissions;
        vm.assume(registry.statusOf(registry.deviceId(layer, localId)) == IDeviceRegistry.Status.None);

        DeviceId id = _registerSigned(registry, req, pk, OWNER);

        _check(id == DeviceIds.derive(layer, localId), "id is keccak256(layer, localId)");
        IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
        _check(d.status == IDeviceRegistry.Status.Pending, "pending");
        _eq(uint8(d.kind), kind, "kind");
        _eq(uint8(d.label), label, "label");
        _eq(d.permissions, permissions, "permissions");
        _eq(d.trust, MAX_TRUST, "fresh trust");
        _check(d.key == key && d.owner == OWNER, "key and owner");
        _eq(d.keyBoundAt, START, "keyBoundAt");
        _check(d.gateway == DeviceIds.NONE && d.servingNode == DeviceIds.NONE, "no gateway, no serving node");
        _check(d.pendingKey == address(0) && d.approvals == 0, "no re-key, no approval");
    }

    /// A registered UUID never registers again, whatever its status (Revoked included) and
    /// whoever signs the new request, even for a new operator of the layer.
    function testFuzz_register_rejectsRegisteredUuid(bytes32 localId, uint8 statusSeed) public {
        (uint256 pk, address key) = _newKey();
        vm.assume(registry.statusOf(registry.deviceId(LAYER, localId)) == IDeviceRegistry.Status.None);
        DeviceId id = _registerSigned(
            registry,
            _request(localId, key, IDeviceRegistry.Label.Lightweight, _later()),
            pk,
            OWNER
        );
        uint8 mode = statusSeed % 4;
        if (mode >= 1) _approveAs(c1, id, f1); // Active
        if (mode == 2) _blockByReports(id); // Blocked
        if (mode == 3) {
            vm.prank(OWNER);
            registry.revoke(id); // Revoked
        }

        registry.setLayerOperator(LAYER, STRANGER);
        (uint256 pk2, address key2) = _newKey();
        IDeviceRegistry.Registration memory again = _request(localId, key2, IDeviceRegistry.Label.Full, _later());
        IDeviceRegistry.Signature memory sig = _sign(pk2, registry.registrationDigest(again, STRANGER));
        _expectRevertFrom(STRANGER, abi.encodeWithSelector(IDeviceRegistry.RegistryDeviceExists.selector, id));
        registry.register(again, sig);
    }

    /// A key, once bound, never binds again: not while its device is registered, not after the
    /// device is revoked, not after it was re-keyed away, not while it is a pending re-key key,
    /// not after a block cleared the re-key it was pending for; not even for a new operator.
    function testFuzz_register_rejectsKeyEverBound(uint8 history, bytes32 localId) public {
        (uint256 pk, address key) = _keyWithHistory(history);
        registry.setLayerOperator(LAYER, STRANGER);
        vm.assume(registry.statusOf(registry.deviceId(LAYER, localId)) == IDeviceRegistry.Status.None);
        IDeviceRegistry.Registration memory req = _request(localId, key, IDeviceRegistry.Label.Lightweight, _later());
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, STRANGER));

        _expectRevertFrom(STRANGER, abi.encodeWithSelector(IDeviceRegistry.RegistryKeyInUse.selector, key));
        registry.register(req, sig);
    }

    function testFuzz_register_rejectsExpiredDeadline(uint64 deadline, uint256 timestamp) public {
        timestamp = _bound(timestamp, START, START + 100 * 365 days);
        deadline = uint64(_bound(deadline, 0, timestamp - 1));
        vm.warp(timestamp);
        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, deadline);
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, OWNER));

        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryExpiredSignature.selector, deadline, timestamp)
        );
        registry.register(req, sig);
    }

    function testFuzz_register_acceptsDeadlineNotYetPassed(uint64 deadline) public {
        deadline = uint64(_bound(deadline, block.timestamp, type(uint64).max));
        (uint256 pk, address key) = _newKey();
        DeviceId id = _registerSigned(
            registry,
            _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, deadline),
            pk,
            OWNER
        );
        _check(registry.statusOf(id) == IDeviceRegistry.Status.Pending, "registered up to the deadline");
    }

    function testFuzz_registerBatch_revertsWithInvalidBatch_whenLengthsDiffer(uint8 n, uint8 m) public {
        n = uint8(_bound(n, 0, 4));
        m = uint8(_bound(m, 0, 4));
        vm.assume(n != m || n == 0);
        IDeviceRegistry.Registration[] memory reqs = new IDeviceRegistry.Registration[](n);
        IDeviceRegistry.Signature[] memory sigs = new IDeviceRegistry.Signature[](m);
        _expectRevertFrom(OWNER, abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidBatch.selector, n, m));
        registry.registerBatch(reqs, sigs);
    }

    // ========================================================== layer operators

    /// Only the operator of the request's edge layer registers: any other caller is refused, even
    /// with a valid signature for itself, in LAYER (operated by OWNER), in a layer operated by
    /// someone else, in a layer never assigned, and in a layer whose operator (the caller) was
    /// removed; the UUID stays free, through `register` and `registerBatch` alike.
    function testFuzz_register_revertsWithUnauthorizedLayer_whenCallerIsNotTheLayerOperator(
        address caller,
        bytes32 layer,
        address operator,
        uint8 mode,
        bool batch
    ) public {
        mode = mode % 4;
        if (mode == 0) {
            layer = LAYER;
        } else if (mode == 1) {
            registry.setLayerOperator(layer, operator);
        } else if (mode == 2) {
            vm.assume(layer != LAYER); // never assigned
        } else {
            registry.setLayerOperator(layer, caller); // the caller operated the layer once...
            registry.setLayerOperator(layer, address(0)); // ...then the admin closed it
        }
        vm.assume(caller != registry.layerOperator(layer));
        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(
            _nextLocalId(),
            key,
            IDeviceRegistry.Label.Lightweight,
            _later()
        );
        req.layer = layer;
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, caller));
        DeviceId id = registry.deviceId(layer, req.localId);
        bytes memory err = abi.encodeWithSelector(IDeviceRegistry.RegistryUnauthorizedLayer.selector, layer, caller);

        if (batch) {
            IDeviceRegistry.Registration[] memory reqs = new IDeviceRegistry.Registration[](1);
            IDeviceRegistry.Signature[] memory sigs = new IDeviceRegistry.Signature[](1);
            reqs[0] = req;
            sigs[0] = sig;
            _expectRevertFrom(caller, err);
            registry.registerBatch(reqs, sigs);
        } else {
            _expectRevertFrom(caller, err);
            registry.register(req, sig);
        }
        _check(registry.statusOf(id) == IDeviceRegistry.Status.None, "UUID still free");
        _check(registry.ownerOf(id) == address(0), "no owner");
    }

    /// A batch is all or nothing: one request of a layer the caller does not operate undoes the
    /// requests of its own layer before it.
    function test_registerBatch_revertsWithUnauthorizedLayer_whenOneRequestIsOfAnotherLayer() public {
        bytes32 other = keccak256("strata://city/d7/edge-4");
        registry.setLayerOperator(other, STRANGER);
        IDeviceRegistry.Registration[] memory reqs = new IDeviceRegistry.Registration[](2);
        IDeviceRegistry.Signature[] memory sigs = new IDeviceRegistry.Signature[](2);
        for (uint256 i; i < 2; ++i) {
            (uint256 pk, address key) = _newKey();
            reqs[i] = _request(_nextLocalId(), key, IDeviceRegistry.Label.Lightweight, _later());
            if (i == 1) reqs[i].layer = other;
            sigs[i] = _sign(pk, registry.registrationDigest(reqs[i], OWNER));
        }
        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryUnauthorizedLayer.selector, other, OWNER)
        );
        registry.registerBatch(reqs, sigs);
        _check(
            registry.statusOf(registry.deviceId(LAYER, reqs[0].localId)) == IDeviceRegistry.Status.None,
            "first request undone"
        );
    }

    /// Only the admin appoints a layer's operator (not the operator itself, not a would-be one);
    /// a refused call changes nothing.
    function testFuzz_setLayerOperator_revertsWithOwnableUnauthorized_whenCallerIsNotAdmin(
        address caller,
        bytes32 layer,
        address operator,
        bool ownLayer
    ) public {
        if (ownLayer) layer = LAYER;
        vm.assume(caller != address(this));
        address before = registry.layerOperator(layer);
        _expectRevertFrom(caller, abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        registry.setLayerOperator(layer, operator);
        _check(registry.layerOperator(layer) == before, "operator unchanged");
    }

    /// The admin hands a layer to a new operator: it is logged, the new operator registers the
    /// layer's UUIDs (as their owner) and the previous one no longer does.
    function testFuzz_setLayerOperator_handsTheLayerToTheNewOperator(bytes32 layer, address operator) public {
        vm.assume(operator != address(0) && operator != OWNER);
        registry.setLayerOperator(layer, OWNER);
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDeviceRegistry.LayerOperatorSet(layer, operator);
        registry.setLayerOperator(layer, operator);
        _check(registry.layerOperator(layer) == operator, "operator stored");

        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, _later());
        req.layer = layer;
        DeviceId id = _registerSigned(registry, req, pk, operator);
        _check(registry.ownerOf(id) == operator, "registered by the new operator");

        (pk, key) = _newKey();
        req = _request(_nextLocalId(), key, IDeviceRegistry.Label.Full, _later());
        req.layer = layer;
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.registrationDigest(req, OWNER));
        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryUnauthorizedLayer.selector, layer, OWNER)
        );
        registry.register(req, sig);
    }

    // ============================================================== requestRekey

    function testFuzz_requestRekey_rejectsSignatureFromAnyOtherKey(uint256 signerSeed) public {
        (uint256 pk, address newKey) = _newKey();
        uint256 otherPk = _bound(signerSeed, 1, SECP256K1_N - 1);
        vm.assume(otherPk != pk);
        uint64 deadline = _later();
        IDeviceRegistry.Signature memory sig = _sign(otherPk, registry.rekeyDigest(l1, newKey, deadline));

        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidSignature.selector, newKey, vm.addr(otherPk))
        );
        registry.requestRekey(l1, newKey, deadline, sig);
    }

    function testFuzz_requestRekey_rejectsKeyEverBound(uint8 history) public {
        (uint256 pk, address key) = _keyWithHistory(history);
        uint64 deadline = _later();
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.rekeyDigest(f1, key, deadline));

        _expectRevertFrom(OWNER, abi.encodeWithSelector(IDeviceRegistry.RegistryKeyInUse.selector, key));
        registry.requestRekey(f1, key, deadline, sig);
    }

    function testFuzz_requestRekey_rejectsExpiredDeadline(uint64 deadline, uint256 timestamp) public {
        timestamp = _bound(timestamp, START, START + 100 * 365 days);
        deadline = uint64(_bound(deadline, 0, timestamp - 1));
        vm.warp(timestamp);
        (uint256 pk, address newKey) = _newKey();
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.rekeyDigest(l1, newKey, deadline));

        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryExpiredSignature.selector, deadline, timestamp)
        );
        registry.requestRekey(l1, newKey, deadline, sig);
    }

    /// A re-key signature is good for one request: a signature made at nonce 0 for another key
    /// no longer verifies once a re-key request moved the nonce on.
    function testFuzz_requestRekey_rejectsSignatureOfAnEarlierNonce(uint64 deadline) public {
        deadline = uint64(_bound(deadline, block.timestamp, type(uint64).max));
        (uint256 pkA, address keyA) = _newKey();
        (uint256 pkB, address keyB) = _newKey();
        IDeviceRegistry.Signature memory sigA = _sign(pkA, registry.rekeyDigest(l1, keyA, deadline));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pkB, registry.rekeyDigest(l1, keyB, deadline));
        IDeviceRegistry.Signature memory sigB = _sign(pkB, registry.rekeyDigest(l1, keyB, deadline));
        vm.prank(OWNER);
        registry.requestRekey(l1, keyA, deadline, sigA);
        _eq(registry.getDevice(l1).nonce, 1, "nonce");

        address recovered = ecrecover(registry.rekeyDigest(l1, keyB, deadline), v, r, s);
        _check(recovered != keyB, "digest moved with the nonce");
        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidSignature.selector, keyB, recovered)
        );
        registry.requestRekey(l1, keyB, deadline, sigB);
    }

    // ================================================================= approve

    /// A full node needs k distinct approvals: k - 1 leave it Pending, a repeated approval is
    /// refused, the k-th admits it and makes it live.
    function testFuzz_approve_admitsFullNodeOnlyAtKDistinctApprovals(uint8 k) public {
        k = uint8(_bound(k, 1, 6));
        DeviceId[] memory coords = _coordinators(k);
        IDeviceRegistry.Config memory cfg = _config();
        cfg.fullNodeApprovals = k;
        registry.setConfig(cfg);
        (DeviceId full, ) = _register(IDeviceRegistry.Label.Full);

        for (uint256 i; i + 1 < k; ++i) {
            _approveAs(coords[i], full, DeviceIds.NONE);
            _check(registry.statusOf(full) == IDeviceRegistry.Status.Pending, "pending below k");
            _eq(registry.getDevice(full).approvals, i + 1, "approvals");
            _expectRevertFrom(
                registry.keyOf(coords[i]),
                abi.encodeWithSelector(IDeviceRegistry.RegistryAlreadyApproved.selector, full, coords[i], uint32(0))
            );
            registry.approve(coords[i], full, DeviceIds.NONE);
        }
        _check(!registry.isLive(full), "not live before admission");
        _approveAs(coords[k - 1], full, DeviceIds.NONE);
        _check(registry.statusOf(full) == IDeviceRegistry.Status.Active, "active at k");
        _check(registry.isLive(full), "live at admission");
        _eq(registry.getDevice(full).liveUntil, block.timestamp + _config().heartbeatTimeout, "liveUntil");
    }

    /// A Blocked device waits for no approval until its owner asks for a re-key; it comes back
    /// only when k distinct coordinators approved the re-key, with the new key and trust at the
    /// suspension threshold.
    function testFuzz_approve_reactivatesBlockedDeviceOnlyAfterKApprovedRekey(uint8 k, bool light) public {
        k = uint8(_bound(k, 1, 5));
        DeviceId[] memory coords = _coordinators(k);
        DeviceId id = light ? l1 : f1;
        DeviceId serving = light ? _activeFull() : DeviceIds.NONE;
        IDeviceRegistry.Config memory cfg = _config();
        cfg.fullNodeApprovals = k;
        registry.setConfig(cfg);
        _blockByReports(id);
        _check(registry.statusOf(id) == IDeviceRegistry.Status.Blocked, "blocked");
        if (light) {
            vm.prank(registry.keyOf(serving));
            registry.heartbeat(serving); // reports took epochs: the serving node proves it is up
        }

        _expectRevertFrom(
            registry.keyOf(coords[0]),
            abi.encodeWithSelector(
                IDeviceRegistry.RegistryApprovalNotExpected.selector,
                id,
                IDeviceRegistry.Status.Blocked
            )
        );
        registry.approve(coords[0], id, serving);

        (uint256 pk, address newKey) = _newKey();
        address oldKey = registry.keyOf(id);
        _requestRekey(id, pk, newKey);
        for (uint256 i; i + 1 < k; ++i) {
            _approveAs(coords[i], id, serving);
            _check(registry.statusOf(id) == IDeviceRegistry.Status.Blocked, "blocked below k");
            _check(registry.keyOf(id) == oldKey, "old key below k");
        }
        _approveAs(coords[k - 1], id, serving);
        IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
        _check(d.status == IDeviceRegistry.Status.Active, "active after k-approved re-key");
        _check(d.key == newKey && d.pendingKey == address(0), "new key");
        _eq(d.trust, cfg.suspendBelow, "trust restored to the suspension threshold");
        _check(d.servingNode == serving, "serving node");
    }

    /// A re-key requested before the device was blocked is void: the block clears it (and its
    /// approvals), every approval is refused with `RegistryApprovalNotExpected(id, Blocked)`, the
    /// cleared key stays bound; a re-key requested after the block, approved by k, unblocks.
    function test_approve_revertsWithApprovalNotExpected_whenRekeyWasRequestedBeforeTheBlock() public {
        DeviceId f2 = _activeFull();
        _checkRekeyBeforeBlockIsVoid(l1, f2);
        _checkRekeyBeforeBlockIsVoid(f1, DeviceIds.NONE);
    }

    function testFuzz_approve_revertsWithFullNodeNotLive_whenServingNodeIsNotLive(uint256 dt, uint8 which) public {
        (DeviceId light, ) = _register(IDeviceRegistry.Label.Lightweight);
        DeviceId serving;
        uint8 mode = which % 4;
        if (mode == 0) {
            dt = _bound(dt, _config().heartbeatTimeout + 1, 365 days);
            vm.warp(block.timestamp + dt); // heartbeat expired
            serving = f1;
        } else if (mode == 1) {
            (serving, ) = _register(IDeviceRegistry.Label.Full); // pending full node
        } else if (mode == 2) {
            serving = c1; // a coordinator is not a full node
        } else {
            serving = DeviceId.wrap(bytes32(dt | 1)); // unknown id
        }
        _expectRevertFrom(
            registry.keyOf(c1),
            abi.encodeWithSelector(IDeviceRegistry.RegistryFullNodeNotLive.selector, serving)
        );
        registry.approve(c1, light, serving);
    }

    // ============================================================ heartbeat

    function testFuzz_heartbeat_keepsFullNodeLiveExactlyForTimeout(uint32 timeout, uint256 dt) public {
        timeout = uint32(_bound(timeout, 1, 30 days));
        IDeviceRegistry.Config memory cfg = _config();
        cfg.heartbeatTimeout = timeout;
        registry.setConfig(cfg);
        vm.prank(registry.keyOf(f1));
        registry.heartbeat(f1);
        dt = _bound(dt, 0, 2 * uint256(timeout));
        vm.warp(block.timestamp + dt);
        _check(registry.isLive(f1) == (dt <= timeout), "live iff within the heartbeat timeout");
    }

    // ================================================================= report

    /// With blocking disabled (blockBelow = 0), trust after n accepted reports (of n independent
    /// reporters, in one trust case) is
    /// max(0, 1000 - n * penalty).
    function testFuzz_report_lowersTrustToMaxOfZeroAndPenaltyTimesReports(uint16 penalty, uint8 n) public {
        penalty = uint16(_bound(penalty, 1, MAX_TRUST - 1));
        n = uint8(_bound(n, 0, 40));
        IDeviceRegistry.Config memory cfg = _config();
        cfg.reportPenalty = penalty;
        cfg.suspendBelow = 1;
        cfg.blockBelow = 0;
        registry.setConfig(cfg);

        for (uint256 i; i < n; ++i) _report(_freshReporter(), l1); // n independent reporters
        uint256 lost = uint256(n) * penalty;
        _eq(registry.getDevice(l1).trust, lost >= MAX_TRUST ? 0 : MAX_TRUST - lost, "trust");
    }

    /// Each accepted report lowers trust by the penalty; below suspendBelow a Pending or Active
    /// device is suspended (an Active one leaves its serving node's list), below blockBelow it is
    /// blocked, and a Blocked device takes no more reports.
    function testFuzz_report_followsConfiguredThresholds(
        uint16 penalty,
        uint16 suspendBelow,
        uint16 blockBelow,
        uint8 n,
        bool light
    ) public {
        IDeviceRegistry.Config memory cfg = _config();
        cfg.suspendBelow = uint16(_bound(suspendBelow, 1, MAX_TRUST - 1));
        cfg.reportPenalty = uint16(_bound(penalty, 1, MAX_TRUST - cfg.suspendBelow));
        cfg.blockBelow = uint16(_bound(blockBelow, 0, cfg.suspendBelow - 1));
        registry.setConfig(cfg);
        n = uint8(_bound(n, 1, 24));
        DeviceId id = light ? l1 : f1;

        uint256 trust = MAX_TRUST;
        IDeviceRegistry.Status status = IDeviceRegistry.Status.Active;
        for (uint256 i; i < n; ++i) {
            if (status == IDeviceRegistry.Status.Blocked) {
                _expectRevertFrom(
                    registry.keyOf(c1),
                    abi.encodeWithSelector(
                        IDeviceRegistry.RegistryInvalidStatus.selector,
                        id,
                        IDeviceRegistry.Status.Blocked
                    )
                );
                registry.report(c1, id, bytes32(i));
                break;
            }
            _report(_freshReporter(), id); // an independent reporter each time
            trust = trust > cfg.reportPenalty ? trust - cfg.reportPenalty : 0;
            if (trust < cfg.blockBelow) status = IDeviceRegistry.Status.Blocked;
            else if (trust < cfg.suspendBelow && status != IDeviceRegistry.Status.Suspended) {
                status = IDeviceRegistry.Status.Suspended;
            }
            IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
            _eq(d.trust, trust, "trust");
            _eq(uint8(d.status), uint8(status), "status");
            if (light) {
                bool active = status == IDeviceRegistry.Status.Active;
                _check((d.servingNode == f1) == active, "served only while active");
                _eq(registry.servedCount(f1), active ? 1 : 0, "served list");
            }
        }
    }

    /// A Pending device whose trust falls under suspendBelow is suspended (blocked under
    /// blockBelow) in a new approval round; it then needs k approvals like any suspended device
    /// (a lightweight one too, which needed one while Pending), and a coordination node needs the
    /// admin again.
    function testFuzz_report_suspendsPendingDevice_whenTrustFallsUnderSuspendBelow(
        uint16 penalty,
        uint16 suspendBelow,
        uint16 blockBelow,
        uint8 labelSeed
    ) public {
        IDeviceRegistry.Config memory cfg = _config();
        cfg.suspendBelow = uint16(_bound(suspendBelow, 1, MAX_TRUST - 32));
        cfg.reportPenalty = uint16(_bound(penalty, 32, MAX_TRUST - cfg.suspendBelow)); // at most 32 reports
        cfg.blockBelow = uint16(_bound(blockBelow, 0, cfg.suspendBelow - 1));
        registry.setConfig(cfg);
        IDeviceRegistry.Label label = IDeviceRegistry.Label(labelSeed % 3);
        (DeviceId id, ) = _register(label);

        uint256 trust = MAX_TRUST;
        IDeviceRegistry.Status status = IDeviceRegistry.Status.Pending;
        while (status == IDeviceRegistry.Status.Pending) {
            _report(_freshReporter(), id); // a coordination node may report every label
            trust = trust > cfg.reportPenalty ? trust - cfg.reportPenalty : 0;
            if (trust < cfg.blockBelow) status = IDeviceRegistry.Status.Blocked;
            else if (trust < cfg.suspendBelow) status = IDeviceRegistry.Status.Suspended;
            IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
            _eq(d.trust, trust, "trust");
            _eq(uint8(d.status), uint8(status), "status");
        }
        IDeviceRegistry.DeviceView memory v = registry.getDevice(id);
        _eq(v.round, 1, "a new approval round");
        _eq(v.approvals, 0, "no approval yet");
        _check(v.servingNode == DeviceIds.NONE, "not served");

        DeviceId serving = label == IDeviceRegistry.Label.Lightweight ? f1 : DeviceIds.NONE;
        vm.prank(registry.keyOf(f1));
        registry.heartbeat(f1);
        if (status == IDeviceRegistry.Status.Blocked || label == IDeviceRegistry.Label.Coordination) {
            _expectRevertFrom(
                registry.keyOf(c2),
                abi.encodeWithSelector(IDeviceRegistry.RegistryApprovalNotExpected.selector, id, status)
            );
            registry.approve(c2, id, serving);
            if (status == IDeviceRegistry.Status.Suspended) {
                registry.appointCoordinator(id);
                _check(registry.statusOf(id) == IDeviceRegistry.Status.Active, "appointed by the admin");
            }
            return;
        }
        _approveAs(c1, id, serving);
        _check(registry.statusOf(id) == IDeviceRegistry.Status.Suspended, "one approval is not enough");
        _eq(registry.getDevice(id).approvals, 1, "approvals");
        _approveAs(c2, id, serving);
        v = registry.getDevice(id);
        _check(v.status == IDeviceRegistry.Status.Active, "active at k");
        _eq(v.trust, cfg.suspendBelow, "trust restored to the suspension threshold");
        _check(v.servingNode == serving, "serving node");
        _check(registry.isLive(id) == (label == IDeviceRegistry.Label.Full), "a full node is live at admission");
    }

    /// A lightweight node may report lightweight nodes only: its reports of a full or a
    /// coordination node (Active or Pending) are refused and change nothing, while full nodes may
    /// report coordination nodes.
    function test_report_revertsWithReporterNotEligible_whenLightweightReportsFullOrCoordination() public {
        (DeviceId pendingFull, ) = _register(IDeviceRegistry.Label.Full);
        DeviceId[3] memory targets = [f1, c1, pendingFull];
        for (uint256 i; i < targets.length; ++i) {
            IDeviceRegistry.DeviceView memory before = registry.getDevice(targets[i]);
            _expectRevertFrom(
                registry.keyOf(l1),
                abi.encodeWithSelector(
                    IDeviceRegistry.RegistryReporterNotEligible.selector,
                    l1,
                    IDeviceRegistry.Label.Lightweight,
                    before.label
                )
            );
            registry.report(l1, targets[i], bytes32(i));
            IDeviceRegistry.DeviceView memory afterwards = registry.getDevice(targets[i]);
            _eq(afterwards.trust, before.trust, "trust unchanged");
            _eq(uint8(afterwards.status), uint8(before.status), "status unchanged");
            _check(!registry.hasReported(targets[i], l1), "not recorded");
        }
        _check(registry.getDevice(c1).label == IDeviceRegistry.Label.Coordination, "coordination target");

        DeviceId l2 = _activeLight(f1);
        _report(l1, l2);
        _eq(registry.getDevice(l2).trust, MAX_TRUST - _config().reportPenalty, "lightweight peer reported");
        _report(f1, c1);
        _eq(registry.getDevice(c1).trust, MAX_TRUST - _config().reportPenalty, "full node reports coordinator");
    }

    /// One report per cohort and trust case; another reporter may report in the same case. After
    /// an epoch without a report the case closes: trust is back to 1000 and the same reporter
    /// may report again.
    function testFuzz_report_acceptsOneReportPerCohortPerCase(uint32 epochLength, uint256 dt) public {
        IDeviceRegistry.Config memory cfg = _config();
        cfg.epochLength = uint32(_bound(epochLength, 1, 30 days));
        registry.setConfig(cfg);
        _report(c1, l1);
        _check(registry.hasReported(l1, c1), "recorded");
        _eq(registry.trustCaseOf(l1).votes, 1, "one vote");

        dt = _bound(dt, 0, 3 * uint256(cfg.epochLength));
        vm.warp(block.timestamp + dt);
        bool closed = dt >= cfg.epochLength;
        _check(registry.hasReported(l1, c1) == !closed, "the vote lasts as long as the case");
        if (!closed) {
            _expectRevertFrom(
                registry.keyOf(c1),
                abi.encodeWithSelector(IDeviceRegistry.RegistryAlreadyReported.selector, l1, c1, c1)
            );
            registry.report(c1, l1, bytes32(0));
        } else {
            vm.expectEmit(true, true, true, true, address(registry));
            emit IDeviceRegistry.TrustRestored(l1, MAX_TRUST);
            _report(c1, l1);
            _check(registry.hasReported(l1, c1), "recorded in the new case");
            _eq(registry.trustCaseOf(l1).startedAt, block.timestamp, "a new case");
        }
        _report(c2, l1); // a different reporter, same case
        _eq(registry.getDevice(l1).trust, MAX_TRUST - 2 * cfg.reportPenalty, "trust");
        _eq(registry.trustCaseOf(l1).votes, 2, "two votes");
    }

    function test_report_revertsWithSelfAction_whenReporterIsTarget() public {
        _expectRevertFrom(registry.keyOf(f1), abi.encodeWithSelector(IDeviceRegistry.RegistrySelfAction.selector, f1));
        registry.report(f1, f1, bytes32(0));
    }

    // ================================================================ reassign

    /// From a full node that is not live, reassign moves exactly min(maxCount, served) devices,
    /// every moved device is served by the target, the others stay, and the return value is
    /// what remains.
    function testFuzz_reassign_movesMinOfMaxCountAndServed(
        uint8 extra,
        uint256 maxCount,
        bool huge,
        bool viaOffline
    ) public {
        extra = uint8(_bound(extra, 0, 10));
        for (uint256 i; i < extra; ++i) _activeLight(f1);
        uint256 served = registry.servedCount(f1);
        _eq(served, uint256(extra) + 1, "served before");
        if (!huge) maxCount = maxCount % (served + 3);
        DeviceId f2 = _activeFull();
        if (viaOffline) {
            _takeOffline(f1);
        } else {
            vm.warp(block.timestamp + _config().heartbeatTimeout + 1);
            vm.prank(registry.keyOf(f2));
            registry.heartbeat(f2);
        }
        _check(!registry.isLive(f1) && registry.isLive(f2), "f1 down, f2 live");
        DeviceId[] memory before = registry.servedDevices(f1, 0, served);

        vm.prank(registry.keyOf(c1));
        uint256 remaining = registry.reassign(c1, f1, f2, maxCount);

        uint256 moves = maxCount < served ? maxCount : served;
        _eq(remaining, served - moves, "remaining");
        _eq(registry.servedCount(f1), served - moves, "left on f1");
        _eq(registry.servedCount(f2), moves, "moved to f2");
        uint256 moved;
        for (uint256 i; i < before.length; ++i) {
            IDeviceRegistry.DeviceView memory d = registry.getDevice(before[i]);
            _check(d.status == IDeviceRegistry.Status.Active, "still active");
            if (d.servingNode == f2) moved++;
            else _check(d.servingNode == f1, "unmoved device stays on f1");
        }
        _eq(moved, moves, "devices now served by f2");
        DeviceId[] memory onF2 = registry.servedDevices(f2, 0, moves);
        for (uint256 i; i < onF2.length; ++i) {
            _check(registry.getDevice(onF2[i]).servingNode == f2, "listed on f2 and served by f2");
        }
    }

    function test_reassign_revertsWithFullNodeLive_whenSourceIsLive() public {
        DeviceId f2 = _activeFull();
        _expectRevertFrom(
            registry.keyOf(c1),
            abi.encodeWithSelector(IDeviceRegistry.RegistryFullNodeLive.selector, f1)
        );
        registry.reassign(c1, f1, f2, 10);
    }

    function test_reassign_revertsWithFullNodeNotLive_whenTargetIsNotLive() public {
        (DeviceId f2, ) = _register(IDeviceRegistry.Label.Full);
        _takeOffline(f1);
        _expectRevertFrom(
            registry.keyOf(c1),
            abi.encodeWithSelector(IDeviceRegistry.RegistryFullNodeNotLive.selector, f2)
        );
        registry.reassign(c1, f1, f2, 10);
    }

    function testFuzz_reassign_revertsWithNotCoordinator_whenCallerIsNotAnActiveCoordinator(uint8 which) public {
        DeviceId f2 = _activeFull();
        _takeOffline(f1);
        DeviceId caller = which % 3 == 0 ? f2 : (which % 3 == 1 ? l1 : c3);
        if (which % 3 == 2) registry.dismissCoordinator(c3);
        _expectRevertFrom(
            registry.keyOf(caller),
            abi.encodeWithSelector(IDeviceRegistry.RegistryNotCoordinator.selector, caller)
        );
        registry.reassign(caller, f1, f2, 10);
    }

    // ============================================================ setGateway

    /// The owner attaches a device to a gateway only if the gateway is Active and not of kind
    /// Device (whatever its label); anything else (unknown, Pending, Suspended, Blocked, Revoked,
    /// a Device) is refused with `RegistryInvalidGateway`. The zero id always detaches.
    function testFuzz_setGateway_acceptsOnlyActiveNonDeviceGateways(
        uint8 kindSeed,
        uint8 labelSeed,
        uint8 statusSeed,
        bool onFull
    ) public {
        IDeviceRegistry.Kind kind = IDeviceRegistry.Kind(kindSeed % 4);
        IDeviceRegistry.Status status = IDeviceRegistry.Status(statusSeed % 6);
        DeviceId gateway = _entity(kind, IDeviceRegistry.Label(labelSeed % 3), status);
        _eq(uint8(registry.statusOf(gateway)), uint8(status), "gateway status");
        DeviceId id = onFull ? f1 : l1;

        if (status == IDeviceRegistry.Status.Active && kind != IDeviceRegistry.Kind.Device) {
            vm.expectEmit(true, true, true, true, address(registry));
            emit IDeviceRegistry.GatewayAssigned(id, gateway);
            vm.prank(OWNER);
            registry.setGateway(id, gateway);
            _check(registry.getDevice(id).gateway == gateway, "attached");
        } else {
            _expectRevertFrom(OWNER, abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidGateway.selector, gateway));
            registry.setGateway(id, gateway);
            _check(registry.getDevice(id).gateway == DeviceIds.NONE, "not attached");
        }

        vm.expectEmit(true, true, true, true, address(registry));
        emit IDeviceRegistry.GatewayAssigned(id, DeviceIds.NONE);
        vm.prank(OWNER);
        registry.setGateway(id, DeviceIds.NONE);
        _check(registry.getDevice(id).gateway == DeviceIds.NONE, "detached");
    }

    function testFuzz_setGateway_revertsWithUnauthorizedOwner_whenCallerIsNotOwner(address caller) public {
        vm.assume(caller != OWNER);
        _expectRevertFrom(
            caller,
            abi.encodeWithSelector(IDeviceRegistry.RegistryUnauthorizedOwner.selector, l1, caller)
        );
        registry.setGateway(l1, DeviceIds.NONE);
    }

    function test_setGateway_revertsWithInvalidStatus_whenDeviceIsRevoked() public {
        DeviceId gateway = _entity(
            IDeviceRegistry.Kind.BaseStation,
            IDeviceRegistry.Label.Full,
            IDeviceRegistry.Status.Active
        );
        vm.prank(OWNER);
        registry.revoke(l1);
        _expectRevertFrom(
            OWNER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidStatus.selector, l1, IDeviceRegistry.Status.Revoked)
        );
        registry.setGateway(l1, gateway);
    }

    // ========================================================== updateProfile

    /// The owner publishes the profile itself; the log carries it with its keccak256.
    function testFuzz_updateProfile_logsProfileWithItsHash(bytes calldata profile) public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit IDeviceRegistry.ProfileUpdated(l1, keccak256(profile), profile);
        vm.prank(OWNER);
        registry.updateProfile(l1, profile);

        _expectRevertFrom(
            STRANGER,
            abi.encodeWithSelector(IDeviceRegistry.RegistryUnauthorizedOwner.selector, l1, STRANGER)
        );
        registry.updateProfile(l1, profile);
    }

    // =============================================================== setConfig

    function testFuzz_setConfig_rejectsEveryOutOfRangeField(uint8 field, uint256 value) public {
        IDeviceRegistry.Config memory cfg = _config();
        string memory name;
        field = field % 6;
        if (field == 0) {
            cfg.fullNodeApprovals = 0;
            name = "fullNodeApprovals";
        } else if (field == 1) {
            cfg.reportPenalty = _outOfTrustRange(value);
            name = "reportPenalty";
        } else if (field == 2) {
            cfg.suspendBelow = _outOfTrustRange(value);
            name = "suspendBelow";
        } else if (field == 3) {
            // blockBelow must stay under suspendBelow: equal (the boundary) half of the time.
            cfg.blockBelow =
                value % 2 == 0 ? cfg.suspendBelow : uint16(_bound(value, cfg.suspendBelow, type(uint16).max));
            name = "blockBelow";
        } else if (field == 4) {
            cfg.epochLength = 0;
            name = "epochLength";
        } else {
            cfg.heartbeatTimeout = 0;
            name = "heartbeatTimeout";
        }
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidConfig.selector, name));
        registry.setConfig(cfg);
    }

    /// One report must never suspend: a penalty above 1000 - suspendBelow is refused.
    function testFuzz_setConfig_revertsWithInvalidConfig_whenOneReportWouldSuspend(
        uint16 suspendBelow,
        uint16 penalty
    ) public {
        IDeviceRegistry.Config memory cfg = _config();
        cfg.suspendBelow = uint16(_bound(suspendBelow, 1, MAX_TRUST));
        cfg.blockBelow = 0;
        cfg.reportPenalty = uint16(_bound(penalty, MAX_TRUST - cfg.suspendBelow + 1, MAX_TRUST));
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.RegistryInvalidConfig.selector, "reportPenalty"));
        registry.setConfig(cfg);
    }

    function testFuzz_setConfig_storesEveryInRangeConfig(IDeviceRegistry.Config memory cfg) public {
        cfg.fullNodeApprovals = uint8(_bound(cfg.fullNodeApprovals, 1, type(uint8).max));
        // The upper boundaries (MAX_TRUST - 1 for suspendBelow, then the largest penalty that
        // leaves one report short of a suspension) a quarter of the time each.
        cfg.suspendBelow =
            cfg.suspendBelow % 4 == 0 ? MAX_TRUST - 1 : uint16(_bound(cfg.suspendBelow, 1, MAX_TRUST - 1));
        uint16 maxPenalty = MAX_TRUST - cfg.suspendBelow;
        cfg.reportPenalty = cfg.reportPenalty % 4 == 0 ? maxPenalty : uint16(_bound(cfg.reportPenalty, 1, maxPenalty));
        cfg.blockBelow = uint16(_bound(cfg.blockBelow, 0, cfg.suspendBelow - 1));
        cfg.epochLength = uint32(_bound(cfg.epochLength, 1, type(uint32).max));
        cfg.heartbeatTimeout = uint32(_bound(cfg.heartbeatTimeout, 1, type(uint32).max));
        registry.setConfig(cfg);
        _check(keccak256(abi.encode(registry.config())) == keccak256(abi.encode(cfg)), "config stored");
    }

    function testFuzz_setConfig_revertsWithOwnableUnauthorized_whenCallerIsNotAdmin(address caller) public {
        vm.assume(caller != address(this));
        _expectRevertFrom(caller, abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        registry.setConfig(_config());
    }

    // ======================================================== independent trust

    /// A coordination node blocked by reports, re-keyed (back to Suspended) and re-appointed comes
    /// back at the suspension threshold like any reinstated node: one more report (of a reporter
    /// that has not reported it yet) suspends it again, it does not block it.
    function test_appointCoordinator_restoresTrustToSuspendBelow_whenReappointedAfterABlock() public {
        (DeviceId cx, ) = _register(IDeviceRegistry.Label.Coordination);
        registry.appointCoordinator(cx);
        _blockByReports(cx);
        _check(registry.statusOf(cx) == IDeviceRegistry.Status.Blocked, "blocked");
        (uint256 pk, address newKey) = _newKey();
        _requestRekey(cx, pk, newKey);
        _approveAs(c1, cx, DeviceIds.NONE);
        _approveAs(c2, cx, DeviceIds.NONE);
        _check(registry.statusOf(cx) == IDeviceRegistry.Status.Suspended, "re-keyed back to Suspended");

        registry.appointCoordinator(cx);
        IDeviceRegistry.DeviceView memory d = registry.getDevice(cx);
        _check(d.status == IDeviceRegistry.Status.Active, "re-appointed");
        _eq(d.trust, _config().suspendBelow, "re-appointment restores trust to the suspension threshold");

        _report(_activeFull(), cx);
        d = registry.getDevice(cx);
        _eq(d.trust, _config().suspendBelow - _config().reportPenalty, "one report's penalty");
        _check(d.status == IDeviceRegistry.Status.Suspended, "one report suspends, it does not block");
    }

    /// An approval counts only while its coordinator is still the coordinator that gave it: a
    /// dismissed coordinator's approval (even after a re-appointment) no longer counts towards k.
    function test_approve_countsOnlyApprovalsOfCoordinatorsStillInOffice() public {
        (DeviceId full, ) = _register(IDeviceRegistry.Label.Full);
        _approveAs(c1, full, DeviceIds.NONE);
        registry.dismissCoordinator(c1);
        _approveAs(c2, full, DeviceIds.NONE);
        _check(registry.statusOf(full) == IDeviceRegistry.Status.Pending, "a dismissed approver does not count");
        _eq(registry.getDevice(full).approvals, 1, "one live approval");

        registry.appointCoordinator(c1); // a new term: the approval of the old one stays void
        (DeviceId other, ) = _register(IDeviceRegistry.Label.Full);
        _approveAs(c3, other, DeviceIds.NONE);
        registry.dismissCoordinator(c3);
        registry.appointCoordinator(c3);
        _approveAs(c2, other, DeviceIds.NONE);
        _check(registry.statusOf(other) == IDeviceRegistry.Status.Pending, "an approval of a past term does not count");
        _approveAs(c3, other, DeviceIds.NONE); // c3 may approve again in its new term
        _check(registry.statusOf(other) == IDeviceRegistry.Status.Active, "k approvals in office");

        _approveAs(c3, full, DeviceIds.NONE);
        _check(registry.statusOf(full) == IDeviceRegistry.Status.Active, "k live approvals admit");
    }

    /// One reporter, however long it keeps reporting, lowers a device's trust by one penalty.
    function testFuzz_report_oneReporterNeverSuspends(uint8 epochs, uint8 which) public {
        epochs = uint8(_bound(epochs, 1, 20));
        DeviceId target = which % 3 == 0 ? l1 : (which % 3 == 1 ? f1 : c3);
        for (uint256 i; i < epochs; ++i) {
            vm.prank(registry.keyOf(c1));
            try registry.report(c1, target, bytes32(i)) {} catch {}
            vm.warp(block.timestamp + _config().epochLength / 2);
        }
        IDeviceRegistry.DeviceView memory d = registry.getDevice(target);
        _check(d.status == IDeviceRegistry.Status.Active, "one reporter cannot suspend");
        _eq(d.trust, MAX_TRUST - _config().reportPenalty, "one penalty");
    }

    /// Lightweight nodes a coordination node admitted are one cohort with it: however many of them
    /// a layer operator and that coordinator mint, they lower a device's trust by one penalty.
    function testFuzz_report_lightweightNodesOfOneSponsorCountOnce(uint8 minted) public {
        minted = uint8(_bound(minted, 1, 8));
        for (uint256 i; i < minted; ++i) {
            DeviceId sybil = _activeLight(f1);
            vm.prank(registry.keyOf(sybil));
            try registry.report(sybil, l1, bytes32(i)) {} catch {}
        }
        vm.prank(registry.keyOf(c1));
        try registry.report(c1, l1, bytes32(0)) {} catch {}
        IDeviceRegistry.DeviceView memory d = registry.getDevice(l1);
        _check(d.status == IDeviceRegistry.Status.Active, "one sponsor's cohort cannot suspend");
        _eq(d.trust, MAX_TRUST - _config().reportPenalty, "one penalty for the whole cohort");
    }

    /// With k = 2, one coordination node's offline report does not take a beating full node
    /// offline; a second coordinator's does, and only then may its devices be reassigned. A
    /// heartbeat in between voids the first report.
    function test_reportOffline_needsKCoordinators_whenTheNodeStillBeats() public {
        DeviceId f2 = _activeFull();
        vm.prank(registry.keyOf(c1));
        registry.reportOffline(c1, f1);
        _check(registry.isLive(f1), "one report is not enough");
        _expectRevertFrom(
            registry.keyOf(c1),
            abi.encodeWithSelector(IDeviceRegistry.RegistryFullNodeLive.selector, f1)
        );
        registry.reassign(c1, f1, f2, 10);

        vm.warp(block.timestamp + 1);
        vm.prank(registry.keyOf(f1));
        registry.heartbeat(f1); // proves it is up: the earlier report no longer counts
        vm.prank(registry.keyOf(c2));
        registry.reportOffline(c2, f1);
        _check(registry.isLive(f1), "a report from before the heartbeat does not count");

        vm.prank(registry.keyOf(c3));
        registry.reportOffline(c3, f1);
        _check(!registry.isLive(f1), "k reports take it offline");
        vm.prank(registry.keyOf(c1));
        registry.reassign(c1, f1, f2, 10);
        _eq(registry.servedCount(f2), 1, "reassigned");
    }

    // ================================================================= helpers

    function _config() internal pure returns (IDeviceRegistry.Config memory) {
        return
            IDeviceRegistry.Config({
                fullNodeApprovals: 2,
                reportPenalty: 150,
                suspendBelow: 600,
                blockBelow: 300,
                epochLength: 1 hours,
                heartbeatTimeout: 15 minutes
            });
    }

    /// @dev A trust-range field out of [1, MAX_TRUST]: 0, MAX_TRUST + 1 (the boundaries) or above.
    function _outOfTrustRange(uint256 value) internal pure returns (uint16) {
        uint256 pick = value % 3;
        if (pick == 0) return 0;
        if (pick == 1) return MAX_TRUST + 1;
        return uint16(_bound(value, MAX_TRUST + 1, type(uint16).max));
    }

    function _later() internal view returns (uint64) {
        return uint64(block.timestamp + 1 hours);
    }

    function _newKey() internal returns (uint256 pk, address key) {
        pk = _pk(++_keySeed);
        key = vm.addr(pk);
    }

    function _nextLocalId() internal returns (bytes32) {
        return keccak256(abi.encode("local", ++_localSeed));
    }

    function _register(IDeviceRegistry.Label label) internal returns (DeviceId id, uint256 pk) {
        address key;
        (pk, key) = _newKey();
        id = _registerSigned(registry, _request(_nextLocalId(), key, label, _later()), pk, OWNER);
    }

    function _coordinator() internal returns (DeviceId c) {
        (c, ) = _register(IDeviceRegistry.Label.Coordination);
        registry.appointCoordinator(c);
    }

    /// @dev `n` active coordinators: c1, c2, c3, then new ones.
    function _coordinators(uint256 n) internal returns (DeviceId[] memory coords) {
        coords = new DeviceId[](n);
        for (uint256 i; i < n; ++i) {
            coords[i] = i == 0 ? c1 : (i == 1 ? c2 : (i == 2 ? c3 : _coordinator()));
        }
    }

    /// @dev A full node admitted by c1 and c2 (the configuration's k must be at most 2).
    function _activeFull() internal returns (DeviceId f) {
        (f, ) = _register(IDeviceRegistry.Label.Full);
        _approveAs(c1, f, DeviceIds.NONE);
        if (registry.statusOf(f) != IDeviceRegistry.Status.Active) _approveAs(c2, f, DeviceIds.NONE);
    }

    function _activeLight(DeviceId serving) internal returns (DeviceId d) {
        (d, ) = _register(IDeviceRegistry.Label.Lightweight);
        _approveAs(c1, d, serving);
    }

    /// @dev The next call, sent by `sender`, must revert with exactly `err`. (All arguments are
    /// evaluated before the cheatcodes run, so no view call slips in between.)
    function _expectRevertFrom(address sender, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(sender);
    }

    function _approveAs(DeviceId c, DeviceId id, DeviceId serving) internal {
        vm.prank(registry.keyOf(c));
        registry.approve(c, id, serving);
    }

    function _report(DeviceId reporter, DeviceId id) internal {
        vm.prank(registry.keyOf(reporter));
        registry.report(reporter, id, keccak256(abi.encode(block.timestamp)));
    }

    /// @dev Reports `id` from fresh independent reporters until it is Blocked.
    function _blockByReports(DeviceId id) internal {
        for (uint256 i; i < 64 && registry.statusOf(id) != IDeviceRegistry.Status.Blocked; ++i) {
            _report(_freshReporter(), id);
        }
    }

    /// @dev A new independent reporter: a coordination node (it may report every label, and
    /// needs no approvals whatever k is).
    function _freshReporter() internal returns (DeviceId r) {
        (r, ) = _register(IDeviceRegistry.Label.Coordination);
        registry.appointCoordinator(r);
    }

    /// @dev k = 2 coordination nodes (c1, c2) report `fullNode` offline.
    function _takeOffline(DeviceId fullNode) internal {
        vm.prank(registry.keyOf(c1));
        registry.reportOffline(c1, fullNode);
        vm.prank(registry.keyOf(c2));
        registry.reportOffline(c2, fullNode);
    }

    function _requestRekey(DeviceId id, uint256 pk, address newKey) internal {
        uint64 deadline = _later();
        IDeviceRegistry.Signature memory sig = _sign(pk, registry.rekeyDigest(id, newKey, deadline));
        vm.prank(registry.ownerOf(id));
        registry.requestRekey(id, newKey, deadline, sig);
    }

    /// @dev An entity of `kind` and `label` in `status` (None: an unregistered UUID).
    function _entity(
        IDeviceRegistry.Kind kind,
        IDeviceRegistry.Label label,
        IDeviceRegistry.Status status
    ) internal returns (DeviceId id) {
        if (status == IDeviceRegistry.Status.None) return registry.deviceId(LAYER, _nextLocalId());
        (uint256 pk, address key) = _newKey();
        IDeviceRegistry.Registration memory req = _request(_nextLocalId(), key, label, _later());
        req.kind = uint8(kind);
        id = _registerSigned(registry, req, pk, OWNER);
        if (status == IDeviceRegistry.Status.Pending) return id;
        if (status == IDeviceRegistry.Status.Revoked) {
            vm.prank(OWNER);
            registry.revoke(id);
            return id;
        }
        if (label == IDeviceRegistry.Label.Lightweight) {
            _approveAs(c1, id, f1);
        } else if (label == IDeviceRegistry.Label.Full) {
            _approveAs(c1, id, DeviceIds.NONE);
            _approveAs(c2, id, DeviceIds.NONE);
        } else {
            registry.appointCoordinator(id);
        }
        if (status == IDeviceRegistry.Status.Suspended) {
            if (label == IDeviceRegistry.Label.Coordination) {
                registry.dismissCoordinator(id);
            } else {
                while (registry.statusOf(id) == IDeviceRegistry.Status.Active) {
                    _report(_freshReporter(), id);
                }
            }
        } else if (status == IDeviceRegistry.Status.Blocked) {
            _blockByReports(id);
        }
    }

    /// @dev `id` (Active) gets a re-key request and one of its k approvals, then is blocked: the
    /// re-key is gone, no approval is expected, the cleared key cannot be asked for again; a new
    /// request and k approvals bring `id` back (served by `serving` when lightweight).
    function _checkRekeyBeforeBlockIsVoid(DeviceId id, DeviceId serving) internal {
        address oldKey = registry.keyOf(id);
        (uint256 pkA, address keyA) = _newKey();
        _requestRekey(id, pkA, keyA);
        _approveAs(c1, id, DeviceIds.NONE);
        _eq(registry.getDevice(id).approvals, 1, "one approval of the re-key before the block");
        _blockByReports(id);
        IDeviceRegistry.DeviceView memory d = registry.getDevice(id);
        _check(d.status == IDeviceRegistry.Status.Blocked, "blocked");
        _check(d.pendingKey == address(0) && d.approvals == 0, "the block cleared the re-key and its approvals");
        if (serving != DeviceIds.NONE) {
            vm.prank(registry.keyOf(serving));
            registry.heartbeat(serving);
        }

        DeviceId[3] memory coords = [c1, c2, c3];
        for (uint256 i; i < coords.length; ++i) {
            _expectRevertFrom(
                registry.keyOf(coords[i]),
                abi.encodeWithSelector(
                    IDeviceRegistry.RegistryApprovalNotExpected.selector,
                    id,
                    IDeviceRegistry.Status.Blocked
                )
            );
            registry.approve(coords[i], id, serving);
        }
        _check(registry.keyOf(id) == oldKey, "old key kept");

        uint64 deadline = _later();
        IDeviceRegistry.Signature memory sigA = _sign(pkA, registry.rekeyDigest(id, keyA, deadline));
        _expectRevertFrom(OWNER, abi.encodeWithSelector(IDeviceRegistry.RegistryKeyInUse.selector, keyA));
        registry.requestRekey(id, keyA, deadline, sigA);

        (uint256 pkB, address keyB) = _newKey();
        _requestRekey(id, pkB, keyB);
        _approveAs(c1, id, serving);
        _check(registry.statusOf(id) == IDeviceRegistry.Status.Blocked, "blocked below k");
        _approveAs(c2, id, serving);
        d = registry.getDevice(id);
        _check(d.status == IDeviceRegistry.Status.Active, "active after the new re-key");
        _check(d.key == keyB && d.pendingKey == address(0), "new key");
        _check(d.servingNode == serving, "serving node");
    }

    /// @dev A key (with its private key) that was bound once: 0 the current key of an active
    /// device, 1 the key of a revoked device, 2 a key re-keyed away, 3 a pending re-key key, 4 the
    /// key of a re-key that a block cleared.
    function _keyWithHistory(uint8 history) internal returns (uint256 pk, address key) {
        uint8 mode = history % 5;
        DeviceId id;
        (id, pk) = _register(IDeviceRegistry.Label.Lightweight);
        key = vm.addr(pk);
        if (mode == 0) {
            _approveAs(c1, id, f1);
        } else if (mode == 1) {
            vm.prank(OWNER);
            registry.revoke(id);
        } else {
            _approveAs(c1, id, f1);
            (uint256 newPk, address newKey) = _newKey();
            _requestRekey(id, newPk, newKey);
            if (mode == 2) {
                _approveAs(c1, id, DeviceIds.NONE);
                _approveAs(c2, id, DeviceIds.NONE);
                _check(registry.keyOf(id) == newKey, "re-keyed away");
            } else {
                (pk, key) = (newPk, newKey);
                if (mode == 4) {
                    _blockByReports(id);
                    _check(registry.getDevice(id).pendingKey == address(0), "re-key cleared by the block");
                }
            }
        }
    }
}
