/**
 * Every EIP-712 digest of `sdk/core/eip712.ts` against the contracts' own
 * digest views on the in-process network: the registry's registration and
 * re-key, `DataAnchor`'s fog batch and cluster approval, and the ledger's join,
 * invalidate, open, takeover, re-attach, link and superior-lost digests, each
 * for random messages (fast-check, fixed seed). The two messages no contract
 * hashes (an access request, a peer challenge) are checked against an
 * independent encoding (type hash, ABI encoding, `\x19\x01`) written here.
 * Known answers: changing any one field, the chain or the contract changes the
 * digest; a value that does not fit its type is an `InvalidInputError`.
 */
import { expect } from "chai";
import { AbiCoder, concat, getAddress, hexlify, keccak256, type TypedDataDomain, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import { network } from "hardhat";

import { DataAnchorClient } from "../../../sdk/contracts/anchor.ts";
import { deployStrata, deploySummaryLedger } from "../../../sdk/contracts/deploy.ts";
import { SummaryLedgerClient } from "../../../sdk/contracts/ledger.ts";
import { DeviceRegistryClient } from "../../../sdk/contracts/registry.ts";
import type { Hex } from "../../../sdk/core/bytes.ts";
import { mclBackend } from "../../../sdk/core/crypto/backend.ts";
import { minSig } from "../../../sdk/core/crypto/bls.ts";
import {
  ACCESS_REQUEST_TYPES,
  accessDomain,
  accessRequestTypedDigest,
  anchorDomain,
  anchorFogBatchDigest,
  anchorFogClusterDigest,
  FOG_BATCH_TYPES,
  FOG_CLUSTER_TYPES,
  LEDGER_INVALIDATE_TYPES,
  LEDGER_JOIN_TYPES,
  LEDGER_LINK_TYPES,
  LEDGER_OPEN_TYPES,
  LEDGER_REATTACH_TYPES,
  LEDGER_SUPERIOR_LOST_TYPES,
  LEDGER_TAKE_OVER_TYPES,
  ledgerDomain,
  ledgerInvalidateDigest,
  ledgerJoinDigest,
  ledgerLinkDigest,
  ledgerOpenDigest,
  ledgerReattachDigest,
  ledgerSuperiorLostDigest,
  ledgerTakeOverDigest,
  PEER_CHALLENGE_TYPES,
  peerChallengeDigest,
  REGISTRATION_TYPES,
  registrationDigest,
  registryDomain,
  REKEY_TYPES,
  rekeyDigest,
  type TypedDataTypes,
} from "../../../sdk/core/eip712.ts";
import { fogBatchDigest } from "../../../sdk/core/fogBatch.ts";
import { memberKeyMaterial } from "../../../sdk/core/layers/attestation.ts";
import { InvalidInputError } from "../../../sdk/errors.ts";

const { ethers } = await network.create();

const RUNS = 12;
const SEED = 712;
const abi = AbiCoder.defaultAbiCoder();

// ------------------------------------------------------------- arbitraries

const word = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b) as Hex);
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b)));
const uint = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const int = (max: number) => fc.integer({ min: 0, max });

const registration = fc.record({
  layer: word,
  localId: word,
  key: address,
  kind: int(255),
  label: int(255),
  permissions: int(2 ** 32 - 1),
  profileHash: word,
  deadline: uint(64),
});
const fogBatch = fc.record({ cluster: word, sequence: uint(64), root: word, leafCount: uint(64) });
const fogCluster = fc.record({
  cluster: word,
  groupKey: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => hexlify(b) as Hex),
  threshold: int(255),
  members: fc.array(word, { maxLength: 8 }),
  epoch: int(2 ** 32 - 1),
});
const link = fc.record({ layerId: word, ledger: address, chainId: uint(256) });
const openRequest = fc.record({
  summary: word,
  sourceLayer: word,
  route: word,
  responsible: address,
  expiry: uint(40),
  deadline: uint(40),
});

// ---------------------------------------------- an independent encoding

/** The type string of `types`' primary type, e.g. `Rekey(bytes32 id,address newKey,…)`. */
function typeString(types: TypedDataTypes): string {
  const [name, fields] = Object.entries(types)[0]!;
  return `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
}

/** EIP-712 by hand: `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)`, atomic and `bytes`/`bytes32[]` fields. */
function independentDigest(domain: TypedDataDomain, types: TypedDataTypes, value: Record<string, unknown>): Hex {
  const fields = Object.values(types)[0]!;
  const encoded = fields.map((f) => {
    const v = value[f.name];
    if (f.type === "bytes") return { type: "bytes32", value: keccak256(v as Hex) };
    if (f.type === "bytes32[]") return { type: "bytes32", value: keccak256(concat(v as Hex[])) };
    return { type: f.type, value: v };
  });
  const structHash = keccak256(
    abi.encode(
      ["bytes32", ...encoded.map((e) => e.type)],
      [keccak256(toUtf8Bytes(typeString(types))), ...encoded.map((e) => e.value)],
    ),
  );
  const domainHash = keccak256(
    abi.encode(
      ["bytes32", "bytes32", "bytes32", "uint256", "address"],
      [
        keccak256(toUtf8Bytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
        keccak256(toUtf8Bytes(domain.name!)),
        keccak256(toUtf8Bytes(domain.version!)),
        domain.chainId,
        domain.verifyingContract,
      ],
    ),
  );
  return keccak256(concat(["0x1901", domainHash, structHash])) as Hex;
}

/** Every digest changes when any one field of `value` changes (`tweak` gives a different value of its type). */
function expectEveryFieldBound<T extends object>(types: TypedDataTypes, value: T, digest: (value: T) => Hex): void {
  const base = digest(value);
  for (const field of Object.values(types)[0]!) {
    const tampered = { ...value, [field.name]: tweak(field.type, (value as Record<string, unknown>)[field.name]) };
    expect(digest(tampered), `${field.name} changed`).to.not.equal(base);
  }
}

function tweak(type: string, v: unknown): unknown {
  if (type === "address") return getAddress(`0x${(BigInt(v as string) ^ 1n).toString(16).padStart(40, "0")}`);
  if (type === "bytes32") return `0x${(BigInt(v as string) ^ 1n).toString(16).padStart(64, "0")}`;
  if (type === "bytes") return `${v as string}00`;
  if (type === "bytes32[]") return [...(v as Hex[]), `0x${"00".repeat(32)}`];
  if (typeof v === "bigint") return v ^ 1n;
  return (v as number) ^ 1;
}

/** The domain with another chain and another contract each change `digest`. */
function expectDomainBound(domain: TypedDataDomain, digest: (domain: TypedDataDomain) => Hex): void {
  const base = digest(domain);
  expect(digest({ ...domain, chainId: BigInt(domain.chainId!) + 1n }), "chainId changed").to.not.equal(base);
  const other = tweak("address", domain.verifyingContract) as string;
  expect(digest({ ...domain, verifyingContract: other }), "verifyingContract changed").to.not.equal(base);
}

// ---------------------------------------------------------- the contracts

async function deployAll() {
  const [deployer] = await ethers.getSigners();
  const deployment = await deployStrata(deployer!, { contracts: ["DeviceRegistry", "DataAnchor"] });
  const backend = await mclBackend();
  const bls = minSig(backend);
  const member = memberKeyMaterial(backend, bls.keygen(new Uint8Array(32).fill(7)));
  const superior = { layerId: keccak256(toUtf8Bytes("L2")) as Hex, ledger: deployer!.address, chainId: 31337n };
  const ledger = await deploySummaryLedger(deployer!, {
    layerId: keccak256(toUtf8Bytes("L1")) as Hex,
    consensus: "PBFT",
    members: [
      {
        node: deployer!.address,
        publicKey: hexlify(member.publicKey) as Hex,
        proofOfPossession: hexlify(member.proofOfPossession) as Hex,
      },
    ],
    subordinates: [],
    superior,
  });
  const registry = new DeviceRegistryClient(deployment.contracts.DeviceRegistry!.address, deployer!);
  const anchor = new DataAnchorClient(deployment.contracts.DataAnchor!.address, deployer!);
  const ledgerClient = new SummaryLedgerClient(ledger.address, deployer!);
  return { chainId: deployment.chainId, registry, anchor, ledger: ledgerClient, superior };
}

describe("EIP-712 digests (sdk/core/eip712.ts)", function () {
  let ctx: Awaited<ReturnType<typeof deployAll>>;
  before(async function () {
    ctx = await deployAll();
  });

  /** Runs `check` on `RUNS` random messages of `arb`, seeded. */
  const forAll = <T>(arb: fc.Arbitrary<T>, check: (value: T) => Promise<void>) =>
    fc.assert(fc.asyncProperty(arb, check), { numRuns: RUNS, seed: SEED });

  describe("DeviceRegistry", function () {
    it("registrationDigest equals the contract's registrationDigest for random registrations", async function () {
      const domain = registryDomain(ctx.chainId, ctx.registry.address);
      expect(await ctx.registry.domain()).to.deep.equal(domain);
      await forAll(fc.tuple(registration, address), async ([req, owner]) => {
        const onChain = await ctx.registry.contract.registrationDigest(req, owner);
        expect(registrationDigest(domain, req, owner)).to.equal(onChain);
        expect(independentDigest(domain, REGISTRATION_TYPES, { ...req, owner })).to.equal(onChain);
      });
    });

    it("rekeyDigest equals the contract's rekeyDigest at the device's nonce (0 before registration)", async function () {
      const domain = registryDomain(ctx.chainId, ctx.registry.address);
      await forAll(fc.tuple(word, address, uint(64)), async ([id, newKey, deadline]) => {
        const onChain = await ctx.registry.contract.rekeyDigest(id, newKey, deadline);
        expect(rekeyDigest(domain, id, newKey, 0, deadline)).to.equal(onChain);
      });
    });

    it("binds every field, the chain and the contract; refuses a value out of its type", function () {
      const domain = registryDomain(31337n, getAddress(`0x${"11".repeat(20)}`));
      const req = {
        layer: `0x${"01".repeat(32)}` as Hex,
        localId: `0x${"02".repeat(32)}` as Hex,
        key: getAddress(`0x${"03".repeat(20)}`),
        kind: 1,
        label: 2,
        permissions: 7,
        profileHash: `0x${"04".repeat(32)}` as Hex,
        deadline: 1_900_000_000n,
      };
      const owner = getAddress(`0x${"05".repeat(20)}`);
      expectEveryFieldBound(REGISTRATION_TYPES, { ...req, owner }, (v) =>
        registrationDigest(domain, v as typeof req, v.owner as string),
      );
      expectDomainBound(domain, (d) => registrationDigest(d, req, owner));
      const rekey = { id: req.layer, newKey: owner, nonce: 3, deadline: 9n };
      expectEveryFieldBound(REKEY_TYPES, rekey, (v) =>
        rekeyDigest(domain, v.id as Hex, v.newKey as string, v.nonce as number, v.deadline as bigint),
      );
      expectDomainBound(domain, (d) => rekeyDigest(d, rekey.id, rekey.newKey, rekey.nonce, rekey.deadline));
      expect(() => rekeyDigest(domain, rekey.id, rekey.newKey, 1 << 16, 9n)).to.throw(InvalidInputError);
      expect(() => registrationDigest(domain, { ...req, deadline: 1n << 64n }, owner)).to.throw(InvalidInputError);
    });

    it("peerChallengeDigest equals an independent encoding and binds every field (no contract hashes it)", async function () {
      const domain = registryDomain(ctx.chainId, ctx.registry.address);
      const challenge = fc.record({ prover: word, verifier: word, nonce: word, issuedAt: uint(64) });
      await forAll(challenge, async (c) => {
        expect(peerChallengeDigest(domain, c)).to.equal(independentDigest(domain, PEER_CHALLENGE_TYPES, c));
      });
      const fixed = { prover: `0x${"0a".repeat(32)}`, verifier: `0x${"0b".repeat(32)}`, nonce: `0x${"0c".repeat(32)}` };
      const c = { ...fixed, issuedAt: 5n } as Parameters<typeof peerChallengeDigest>[1];
      expectEveryFieldBound(PEER_CHALLENGE_TYPES, { ...c }, (v) => peerChallengeDigest(domain, v as typeof c));
      expectDomainBound(domain, (d) => peerChallengeDigest(d, c));
    });
  });

  describe("AccessTokens", function () {
    it("accessRequestTypedDigest equals an independent encoding and binds every field (no contract hashes it)", async function () {
      const domain = accessDomain(ctx.chainId, ctx.registry.address);
      const request = fc.record({
        token: uint(256),
        resource: word,
        requester: address,
        nonce: word,
        issuedAt: uint(64),
        expiresAt: uint(64),
        scope: word,
      });
      await forAll(request, async (r) => {
        expect(accessRequestTypedDigest(domain, r)).to.equal(independentDigest(domain, ACCESS_REQUEST_TYPES, r));
      });
      const fixed = {
        token: 1n,
        resource: `0x${"0d".repeat(32)}` as Hex,
        requester: getAddress(`0x${"0e".repeat(20)}`),
        nonce: `0x${"0f".repeat(32)}` as Hex,
        issuedAt: 100n,
        expiresAt: 200n,
        scope: `0x${"10".repeat(32)}` as Hex,
      };
      expectEveryFieldBound(ACCESS_REQUEST_TYPES, fixed, (v) => accessRequestTypedDigest(domain, v as typeof fixed));
      expectDomainBound(domain, (d) => accessRequestTypedDigest(d, fixed));
      expect(() => accessRequestTypedDigest(domain, { ...fixed, issuedAt: -1n })).to.throw(InvalidInputError);
    });
  });

  describe("DataAnchor", function () {
    it("anchorFogBatchDigest equals the contract's fogBatchDigest (and core/fogBatch's) for random batches", async function () {
      const domain = anchorDomain(ctx.chainId, ctx.anchor.address);
      expect(await ctx.anchor.domain()).to.deep.equal(domain);
      await forAll(fogBatch, async (b) => {
        const onChain = await ctx.anchor.contract.fogBatchDigest(b.cluster, b.sequence, b.root, b.leafCount);
        expect(anchorFogBatchDigest(domain, b)).to.equal(onChain);
        expect(independentDigest(domain, FOG_BATCH_TYPES, b)).to.equal(onChain);
        if (b.sequence > 0n && BigInt(b.root) !== 0n && b.leafCount > 0n) {
          const checked = fogBatchDigest({ chainId: ctx.chainId, anchor: ctx.anchor.address, ...b });
          expect(checked).to.equal(onChain);
        }
      });
    });

    it("anchorFogClusterDigest equals the contract's fogClusterDigest for random approvals", async function () {
      const domain = anchorDomain(ctx.chainId, ctx.anchor.address);
      await forAll(fogCluster, async (k) => {
        const onChain = await ctx.anchor.contract.fogClusterDigest(
          k.cluster,
          k.groupKey,
          k.threshold,
          k.members,
          k.epoch,
        );
        expect(anchorFogClusterDigest(domain, k)).to.equal(onChain);
        expect(independentDigest(domain, FOG_CLUSTER_TYPES, k)).to.equal(onChain);
      });
    });

    it("binds every field, the chain and the contract", function () {
      const domain = anchorDomain(31337n, `0x${"12".repeat(20)}`);
      const batch = {
        cluster: `0x${"13".repeat(32)}` as Hex,
        sequence: 4n,
        root: `0x${"14".repeat(32)}` as Hex,
        leafCount: 9n,
      };
      expectEveryFieldBound(FOG_BATCH_TYPES, batch, (v) => anchorFogBatchDigest(domain, v as typeof batch));
      expectDomainBound(domain, (d) => anchorFogBatchDigest(d, batch));
      const key = {
        cluster: batch.cluster,
        groupKey: `0x${"15".repeat(256)}` as Hex,
        threshold: 2,
        members: [batch.root, batch.cluster],
        epoch: 1,
      };
      expectEveryFieldBound(FOG_CLUSTER_TYPES, key, (v) => anchorFogClusterDigest(domain, v as typeof key));
      expectDomainBound(domain, (d) => anchorFogClusterDigest(d, key));
      // the members' order is signed
      expect(anchorFogClusterDigest(domain, { ...key, members: [...key.members].reverse() })).to.not.equal(
        anchorFogClusterDigest(domain, key),
      );
      expect(() => anchorFogClusterDigest(domain, { ...key, threshold: 256 })).to.throw(InvalidInputError);
    });
  });

  describe("SummaryLedger", function () {
    const domainOf = () => ledgerDomain(ctx.chainId, ctx.ledger.address);

    it("join, invalidate and open digests equal the contract's views for random messages", async function () {
      const domain = domainOf();
      expect(await ctx.ledger.domain()).to.deep.equal(domain);
      await forAll(fc.tuple(address, word, uint(256), openRequest), async ([node, publicKeyHash, index, open]) => {
        const join = await ctx.ledger.contract.joinDigest(node, publicKeyHash);
        expect(ledgerJoinDigest(domain, { node, publicKeyHash })).to.equal(join);
        const invalidate = await ctx.ledger.contract.invalidateDigest(index);
        expect(ledgerInvalidateDigest(domain, { index })).to.equal(invalidate);
        const opened = await ctx.ledger.contract.openDigest(open);
        expect(ledgerOpenDigest(domain, open)).to.equal(opened);
        expect(independentDigest(domain, LEDGER_OPEN_TYPES, open)).to.equal(opened);
      });
    });

    it("takeover, link, re-attach and superior-lost digests equal the contract's views at the ledger's counters (0 on a new ledger)", async function () {
      const domain = domainOf();
      await forAll(fc.tuple(word, address, link), async ([blockId, responsible, l]) => {
        const takeOver = await ctx.ledger.contract.takeOverDigest(blockId, responsible);
        expect(ledgerTakeOverDigest(domain, { blockId, responsible, nonce: 0n })).to.equal(takeOver);
        const linked = await ctx.ledger.contract.linkDigest(l);
        expect(ledgerLinkDigest(domain, { ...l, nonce: 0n })).to.equal(linked);
        const reattach = await ctx.ledger.contract.reattachDigest(l);
        expect(ledgerReattachDigest(domain, { ...l, epoch: 0n })).to.equal(reattach);
      });
      const lost = await ctx.ledger.contract.superiorLostDigest();
      expect(ledgerSuperiorLostDigest(domain, { ...ctx.superior, epoch: 0n })).to.equal(lost);
      // the client's digests agree with the pure ones
      const [node, publicKeyHash] = [ctx.superior.ledger, keccak256(new Uint8Array(256)) as Hex];
      expect(await ctx.ledger.joinDigest(node, new Uint8Array(256))).to.equal(
        ledgerJoinDigest(domain, { node, publicKeyHash }),
      );
    });

    it("binds every field, the counter, the chain and the contract", function () {
      const domain = ledgerDomain(31337n, getAddress(`0x${"16".repeat(20)}`));
      const node = getAddress(`0x${"17".repeat(20)}`);
      const w = (b: string) => `0x${b.repeat(32)}` as Hex;
      const join = { node, publicKeyHash: w("18") };
      expectEveryFieldBound(LEDGER_JOIN_TYPES, join, (v) => ledgerJoinDigest(domain, v as typeof join));
      expectDomainBound(domain, (d) => ledgerJoinDigest(d, join));
      expectEveryFieldBound(LEDGER_INVALIDATE_TYPES, { index: 3n }, (v) =>
        ledgerInvalidateDigest(domain, v as { index: bigint }),
      );
      const open = {
        summary: w("19"),
        sourceLayer: w("1a"),
        route: w("1b"),
        responsible: node,
        expiry: 5n,
        deadline: 6n,
      };
      expectEveryFieldBound(LEDGER_OPEN_TYPES, open, (v) => ledgerOpenDigest(domain, v as typeof open));
      expectDomainBound(domain, (d) => ledgerOpenDigest(d, open));
      const takeOver = { blockId: w("1c"), responsible: node, nonce: 1n };
      expectEveryFieldBound(LEDGER_TAKE_OVER_TYPES, takeOver, (v) =>
        ledgerTakeOverDigest(domain, v as typeof takeOver),
      );
      const l = { layerId: w("1d"), ledger: node, chainId: 1n };
      expectEveryFieldBound(LEDGER_LINK_TYPES, { ...l, nonce: 2n }, (v) =>
        ledgerLinkDigest(domain, v as typeof l & { nonce: bigint }),
      );
      expectEveryFieldBound(LEDGER_REATTACH_TYPES, { ...l, epoch: 2n }, (v) =>
        ledgerReattachDigest(domain, v as typeof l & { epoch: bigint }),
      );
      expectEveryFieldBound(LEDGER_SUPERIOR_LOST_TYPES, { ...l, epoch: 2n }, (v) =>
        ledgerSuperiorLostDigest(domain, v as typeof l & { epoch: bigint }),
      );
      // the same link signed for another purpose is another digest
      expect(ledgerReattachDigest(domain, { ...l, epoch: 2n })).to.not.equal(
        ledgerSuperiorLostDigest(domain, { ...l, epoch: 2n }),
      );
      expect(() => ledgerOpenDigest(domain, { ...open, expiry: 1n << 40n })).to.throw(InvalidInputError);
    });
  });
});
