/**
 * The checks of a proof bundle that need no chain, for each kind: the proved data hashes to the
 * leaf, the path leads from the leaf to the root, and the signature verifies — the station's IBS
 * over its batch, the cluster's group BLS over its batch, the layer's quorum attestation over the
 * block's opening. Each check reuses the SDK's own verifier (`verifyBatchSignature`,
 * `verifyGroupSignature`, `verifyAttestation`, `verifyProof`) on a pairing backend that runs in a
 * browser (`nobleBackend` unless another is given). Pure: a failing check is reported, never thrown.
 */
import { StrataError } from "../../errors.ts";
import { fromHex, type Hex, toHex } from "../bytes.ts";
import { nobleBackend, type PairingBackend } from "../crypto/backend.ts";
import { ledgerDomain, ledgerOpenDigest } from "../eip712.ts";
import { decodeReading, readingHash } from "../fog/reading-bytes.ts";
import { fogBatchMessage, verifyGroupSignature } from "../fogBatch.ts";
import { signerIndices, verifyAttestation } from "../layers/attestation.ts";
import { summaryOf } from "../layers/packet.ts";
import { bytes32ValuesHash, leafOfValuesHash, verifyProof } from "../merkle.ts";
import { verifyBatchSignature } from "../nbiot/batch-signature.ts";
import { blockHash, decodeBlock } from "../nbiot/block.ts";
import { nbiotParams } from "../nbiot/params.ts";
import type {
  BatchBundle,
  BundleCheck,
  MerklePath,
  ProofBundle,
  ReadingBundle,
  RecordBundle,
  SummaryBundle,
} from "./format.ts";

/** What a verifier may bring to the offline checks. */
export interface OfflineOptions {
  /** (`record`) The keccak-256 of the record's bytes, when the verifier holds the record. */
  readonly recordHash?: Hex;
  /**
   * (`reading`) The PKG master public key (compressed G2, hex or bytes) the verifier trusts: the
   * bundle's must be it. Without it the station's signature is checked under the bundle's key.
   */
  readonly pkgMasterPublic?: Hex | Uint8Array;
  /** The pairing backend of the signature checks (default `nobleBackend`: pure TypeScript). */
  readonly backend?: PairingBackend;
}

/**
 * The leaf of a 32-byte value (a record's, block's or reading's hash): `keccak256(keccak256(h))`,
 * OpenZeppelin's `StandardMerkleTree` leaf of one `bytes32`.
 */
export function bytes32Leaf(hash: Hex): Hex {
  return toHex(leafOfValuesHash(bytes32ValuesHash(hash)));
}

/** The leaf of a record with keccak-256 `hash`. */
export const recordLeaf = bytes32Leaf;

/**
 * The checks that need no chain, in order (see docs/cli.md). `options` may be the record's hash
 * alone (the version-1 signature of this function).
 */
export function offlineChecks(bundle: ProofBundle, options: OfflineOptions | Hex = {}): BundleCheck[] {
  const o: OfflineOptions = typeof options === "string" ? { recordHash: options } : options;
  const backend = o.backend ?? nobleBackend;
  switch (bundle.kind) {
    case "record":
      return recordChecks(bundle, o.recordHash);
    case "reading":
      return readingChecks(bundle, backend, o.pkgMasterPublic);
    case "batch":
      return batchChecks(bundle, backend);
    case "summary":
      return summaryChecks(bundle, backend);
  }
}

/** A check whose work may throw: a typed error (malformed point, bytes …) is a failed check naming it. */
function guarded(check: string, work: () => BundleCheck): BundleCheck {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof StrataError)) throw error;
    return { check, ok: false, detail: error.shortMessage };
  }
}

function leafCheck(what: string, hash: Hex, leaf: Hex): BundleCheck {
  const expected = bytes32Leaf(hash);
  const ok = expected === leaf;
  return {
    check: "leaf",
    ok,
    detail: ok ? `${what} gives the leaf` : `${what} gives the leaf ${expected}, not bundle.leaf`,
  };
}

function merkleCheck(merkle: MerklePath, leaf: Hex): BundleCheck {
  const depth = Math.ceil(Math.log2(merkle.leafCount));
  const shortEnough = merkle.proof.length <= depth;
  const reaches = verifyProof(merkle.root, leaf, merkle.proof);
  return {
    check: "merkle",
    ok: shortEnough && reaches,
    detail: !shortEnough
      ? `a path of ${merkle.proof.length} is longer than a tree of ${merkle.leafCount} leaves allows`
      : reaches
        ? `the path leads from the leaf to the root (${merkle.proof.length} steps)`
        : "the path does not lead from the leaf to the root",
  };
}

function recordChecks(bundle: RecordBundle, recordHash: Hex | undefined): BundleCheck[] {
  const checks: BundleCheck[] = [];
  if (recordHash !== undefined) {
    const same = recordHash.toLowerCase() === bundle.record.hash;
    checks.push({
      check: "record",
      ok: same,
      detail: same ? "the record's bytes hash to record.hash" : `the record hashes to ${recordHash}, not record.hash`,
    });
  }
  checks.push(leafCheck("record.hash", bundle.record.hash, bundle.leaf));
  checks.push(merkleCheck(bundle.merkle, bundle.leaf));
  return checks;
}

function readingChecks(
  bundle: ReadingBundle,
  backend: PairingBackend,
  trustedPkg: Hex | Uint8Array | undefined,
): BundleCheck[] {
  const { reading, station, anchor, merkle } = bundle;
  const checks = [
    guarded("reading", () => {
      const block = decodeBlock(fromHex(reading.block, "reading.block"));
      if (block.bs !== anchor.gateway) {
        return {
          check: "reading",
          ok: false,
          detail: `the block was confirmed by station ${block.bs}, not by anchor.gateway`,
        };
      }
      const hash = toHex(blockHash(block));
      const ok = hash === reading.hash;
      return {
        check: "reading",
        ok,
        detail: ok
          ? `block ${block.seq} of node ${block.node}, confirmed at ${dateOf(block.time)}, hashes to reading.hash`
          : `the block hashes to ${hash}, not reading.hash`,
      };
    }),
    leafCheck("reading.hash", reading.hash, bundle.leaf),
    merkleCheck(merkle, bundle.leaf),
    guarded("station signature", () => {
      const masterPublic = fromHex(station.pkg.masterPublic, "station.pkg.masterPublic", 96);
      const params = nbiotParams(backend, backend.g2.fromBytes(masterPublic), { keyEpochMs: station.pkg.keyEpochMs });
      const ok = verifyBatchSignature(params, anchor.gateway, {
        number: station.batch,
        root: merkle.root,
        leafCount: merkle.leafCount,
        time: station.time,
        signature: fromHex(station.signature, "station.signature", 96),
      });
      return {
        check: "station signature",
        ok,
        detail: ok
          ? `the station signed batch ${station.batch} (root, ${merkle.leafCount} leaves) under the bundle's PKG key${trustedPkg === undefined ? " (no trusted PKG key was given to compare it with)" : ""}`
          : "the station's Cha–Cheon signature does not verify over its batch under the bundle's PKG key",
      };
    }),
  ];
  if (trustedPkg !== undefined) {
    const trusted = typeof trustedPkg === "string" ? trustedPkg.toLowerCase() : toHex(trustedPkg);
    const ok = trusted === station.pkg.masterPublic;
    checks.push({
      check: "pkg",
      ok,
      detail: ok
        ? "the bundle's PKG key is the trusted one"
        : "the bundle's PKG key is not the one this verifier trusts",
    });
  }
  return checks;
}

function batchChecks(bundle: BatchBundle, backend: PairingBackend): BundleCheck[] {
  const { reading, cluster, anchor, merkle } = bundle;
  return [
    guarded("reading", () => {
      const decoded = decodeReading(fromHex(reading.bytes, "reading.bytes"));
      const hash = toHex(readingHash(decoded));
      const ok = hash === reading.hash;
      return {
        check: "reading",
        ok,
        detail: ok
          ? `reading ${decoded.seq} of device ${decoded.device}, made at ${dateOf(decoded.time)}, hashes to reading.hash`
          : `the reading hashes to ${hash}, not reading.hash`,
      };
    }),
    leafCheck("reading.hash", reading.hash, bundle.leaf),
    merkleCheck(merkle, bundle.leaf),
    guarded("group signature", () => {
      const message = fogBatchMessage({
        chainId: anchor.chainId,
        anchor: anchor.contract,
        cluster: anchor.gateway,
        sequence: anchor.sequence,
        root: merkle.root,
        leafCount: merkle.leafCount,
      });
      const ok = verifyGroupSignature(
        backend,
        fromHex(cluster.groupKey, "cluster.groupKey"),
        message,
        fromHex(cluster.signature, "cluster.signature"),
      );
      return {
        check: "group signature",
        ok,
        detail: ok
          ? `the cluster's group key signed batch ${anchor.sequence} (chain, contract, root, ${merkle.leafCount} leaves)`
          : "the group signature does not verify over the batch (chain, contract, cluster, sequence, root, leaf count) under the group key",
      };
    }),
  ];
}

function summaryChecks(bundle: SummaryBundle, backend: PairingBackend): BundleCheck[] {
  const { summary, layer, opening, anchor } = bundle;
  const { request } = opening;
  const checks: BundleCheck[] = [];
  if (summary.message !== undefined && summary.time !== undefined) {
    const message = summary.message;
    const time = summary.time;
    checks.push(
      guarded("summary", () => {
        const sum = summaryOf(fromHex(message, "summary.message"), time);
        const ok = sum === summary.value;
        return {
          check: "summary",
          ok,
          detail: ok ? "Sum(M) of the message and its time is summary.value" : `Sum(M) is ${sum}, not summary.value`,
        };
      }),
    );
  }
  const opener = `0x${layer.blockId.slice(2, 42)}`;
  const sequence = BigInt(`0x${layer.blockId.slice(42)}`);
  const ownBlock = opener === request.responsible.toLowerCase() && sequence > 0n;
  checks.push({
    check: "block id",
    ok: ownBlock,
    detail: ownBlock
      ? `block ${sequence} of the node the quorum made responsible (${request.responsible})`
      : "the block id is not one the opening's responsible node opens",
  });
  const first = summary.value === request.summary;
  const inOpen = anchor.transaction === opening.transaction;
  const signers = new Set(signerIndices(opening.attestation.signers));
  const keyed = new Set(opening.keys.map((k) => k.index));
  const consistent =
    first === inOpen &&
    (!inOpen || anchor.block === opening.block) &&
    request.deadline <= request.expiry &&
    signers.size > 0 &&
    signers.size === keyed.size &&
    [...signers].every((i) => keyed.has(i));
  checks.push({
    check: "opening",
    ok: consistent,
    detail: consistent
      ? `${first ? "the first summary, recorded by the attested open" : "a following summary of the attested block"}; ${signers.size} signers, each with its key`
      : first !== inOpen
        ? "the first summary enters a block with its open, and only it: summary, opening and anchor disagree"
        : "the opening is inconsistent (its block, deadline after expiry, or signers without keys)",
  });
  checks.push(
    guarded("attestation", () => {
      const digest = ledgerOpenDigest(ledgerDomain(anchor.chainId, anchor.contract), request);
      const ok = verifyAttestation(
        backend,
        digest,
        { signers: opening.attestation.signers, signature: fromHex(opening.attestation.signature, "signature") },
        opening.keys.map((k) => ({ index: k.index, publicKey: fromHex(k.publicKey, `keys[${k.index}]`) })),
      );
      return {
        check: "attestation",
        ok,
        detail: ok
          ? `the signers' aggregate signature verifies over the open request (chain, ledger, summary, source, route, responsible, expiry, deadline)`
          : "the aggregate signature does not verify over the open request under the signers' keys",
      };
    }),
  );
  return checks;
}

/** A time in ms as an ISO date, or the number itself past what a `Date` holds (±8.64e15 ms). */
function dateOf(ms: number | bigint): string {
  const n = Number(ms);
  return Number.isFinite(n) && Math.abs(n) <= 8.64e15 ? new Date(n).toISOString() : `${String(ms)} ms`;
}
