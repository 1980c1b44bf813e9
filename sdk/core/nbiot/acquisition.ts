/**
 * Seed 000, "Data acquisition" and "Accountability", the verifying half: an
 * application receives a node's blocks from one or more base stations, each
 * block with its primary ciphertext, the station's signed batch and a Merkle
 * proof, plus the handover records that carried the flow between stations. It
 * trusts none of it until every block's hash, ciphertext digest, batch
 * signature and inclusion proof check (the proofs of one batch together, each
 * inner node hashed once: `verifyProofsInTree`), consecutive blocks link (sequence and
 * previous hash), each change of station is covered by the previous station's
 * signed handover record, and no two blocks claim one sequence number. The
 * returned roots are then checked against `DataAnchor` on chain (the runtime's
 * job) before anything is decrypted.
 */
import { type Hex } from "../bytes.ts";
import { ChaCheonIbs } from "../crypto/ibs.ts";
import { type IndexedProof, verifyProofsInTree } from "../merkle.ts";
import { toHex } from "../bytes.ts";
import { ProtocolError } from "../../errors.ts";
import { batchItem } from "./batch-signature.ts";
import { type Block, blockHash, blockLeaf, checkLink, ciphertextDigest, decodeBlock, ZERO_HASH } from "./block.ts";
import { equalBytes } from "./handshake.ts";
import { type HandoverRecord, verifyHandoverRecord } from "./handover.ts";
import { type NbiotParams } from "./params.ts";

/** A station's signed batch, as served. */
export interface SignedBatch {
  readonly number: number;
  readonly root: Hex;
  readonly leafCount: number;
  /** When the station sealed it (ms); names the key epoch of the signature. */
  readonly time: number;
  readonly signature: Uint8Array;
}

/** A block of a node with what proves it: for a light node checking its own reading. */
export interface ReadingProof {
  /** `encodeBlock` bytes. */
  readonly block: Uint8Array;
  readonly hash: Uint8Array;
  readonly batch: SignedBatch;
  readonly leafIndex: number;
  readonly proof: readonly Hex[];
}

/** One block as served, with what proves it. */
export interface ProvenBlock {
  /** `encodeBlock` bytes. */
  readonly block: Uint8Array;
  readonly primary: Uint8Array;
  readonly batch: number;
  readonly leafIndex: number;
  readonly proof: readonly Hex[];
}

/** A station's answer to "node's blocks between `from` and `to`". */
export interface AcquisitionResponse {
  readonly station: Hex;
  readonly node: Hex;
  readonly blocks: readonly ProvenBlock[];
  readonly batches: readonly SignedBatch[];
  /** Handover records that brought the flow to this station (encoded). */
  readonly handovers: readonly Uint8Array[];
  /** True when the station stopped at its page size: ask again after the last block served. */
  readonly more: boolean;
}

export interface VerifiedBlock {
  readonly block: Block;
  /** The block as served (`encodeBlock` bytes). */
  readonly encoded: Uint8Array;
  readonly hash: Uint8Array;
  readonly primary: Uint8Array;
  readonly root: Hex;
  readonly leaf: Hex;
  readonly proof: readonly Hex[];
  readonly batch: number;
  /** The station's signed batch the block is in. */
  readonly signed: SignedBatch;
}

export interface VerifiedAcquisition {
  /** In sequence order, without gaps. */
  readonly blocks: readonly VerifiedBlock[];
  /** Each root to find anchored on chain, with the station that must have anchored it. */
  readonly roots: ReadonlyMap<Hex, Hex>;
  readonly handovers: readonly HandoverRecord[];
}

function checkBatchSignatures(params: NbiotParams, batches: { station: Hex; batch: SignedBatch }[]): void {
  if (batches.length === 0) return;
  const ibs = new ChaCheonIbs(params.backend);
  const items = batches.map(({ station, batch }) => batchItem(params, ibs, station, batch));
  if (ibs.batchVerify(params.masterPublic, items)) return;
  for (const item of items) {
    if (!ibs.verify(params.masterPublic, item.id, item.message, item.signature)) {
      throw new ProtocolError("bad-signature", `batch ${item.number} is not signed by ${item.station}`, {
        station: item.station,
        batch: item.number,
      });
    }
  }
}

/**
 * Verifies what stations served about `node` (see the module comment). Any
 * failure, malformed input included, is a `ProtocolError`.
 */
/**
 * Where a served page ends: the sequence number of its last block, or undefined for an empty
 * page. An application pages on it before anything is verified, so a malformed page is refused
 * here (`ProtocolError("malformed")`), never with a raw error.
 */
export function pageEnd(page: AcquisitionResponse): number | undefined {
  if (typeof page !== "object" || page === null || !Array.isArray(page.blocks)) {
    throw new ProtocolError("malformed", "a served page must carry a list of blocks");
  }
  const last: unknown = page.blocks.at(-1);
  if (last === undefined) return undefined;
  if (typeof last !== "object" || last === null)
    throw new ProtocolError("malformed", "a served block must be an object");
  return decodeBlock((last as ProvenBlock).block).seq;
}

export function verifyAcquisition(
  params: NbiotParams,
  node: Hex,
  responses: readonly AcquisitionResponse[],
): VerifiedAcquisition {
  try {
    return verifyServed(params, node, responses);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError("malformed", "the served data is malformed", { cause: String(e) });
  }
}

function verifyServed(params: NbiotParams, node: Hex, responses: readonly AcquisitionResponse[]): VerifiedAcquisition {
  const want = node.toLowerCase() as Hex;
  const bySeq = new Map<number, VerifiedBlock>();
  const roots = new Map<Hex, Hex>();
  const handovers: HandoverRecord[] = [];
  const toCheck: { station: Hex; batch: SignedBatch }[] = [];

  for (const res of responses) {
    const station = res.station.toLowerCase() as Hex;
    const batches = new Map<number, SignedBatch>();
    /** This response's blocks by batch, their proofs checked together once the blocks are read. */
    const inBatch = new Map<number, { seq: number; proof: IndexedProof }[]>();
    for (const b of res.batches) {
      batches.set(b.number, b);
      toCheck.push({ station, batch: b });
    }
    for (const bytes of res.handovers) {
      const rec = verifyHandoverRecord(params, bytes);
      if (rec.node !== want || rec.to !== station) {
        throw new ProtocolError("wrong-peer", "a handover record for another node or station", {
          node: rec.node,
          to: rec.to,
        });
      }
      handovers.push(rec);
    }
    for (const served of res.blocks) {
      const block = decodeBlock(served.block);
      if (block.node !== want) throw new ProtocolError("wrong-peer", "a block of another node", { node: block.node });
      if (block.bs !== station) {
        throw new ProtocolError("wrong-peer", "a station served a block made by another", { station, bs: block.bs });
      }
      if (!equalBytes(ciphertextDigest(served.primary), block.digest)) {
        throw new ProtocolError("tampered", `block ${block.seq}: the ciphertext does not match its digest`, {
          seq: block.seq,
        });
      }
      const hash = blockHash(block);
      const batch = batches.get(served.batch);
      if (batch === undefined) {
        throw new ProtocolError("bad-proof", `block ${block.seq}: its batch ${served.batch} was not served`, {
          seq: block.seq,
        });
      }
      const leaf = blockLeaf(hash);
      let group = inBatch.get(batch.number);
      if (group === undefined) inBatch.set(batch.number, (group = []));
      group.push({ seq: block.seq, proof: { index: served.leafIndex, leaf, proof: served.proof } });
      const verified: VerifiedBlock = {
        block,
        encoded: served.block,
        hash,
        primary: served.primary,
        root: batch.root,
        leaf: toHex(leaf),
        proof: served.proof,
        batch: batch.number,
        signed: batch,
      };
      const seen = bySeq.get(block.seq);
      if (seen !== undefined && !equalBytes(seen.hash, hash)) {
        throw new ProtocolError("fork", `two different blocks claim sequence number ${block.seq}`, {
          seq: block.seq,
          a: seen.block.bs,
          b: block.bs,
        });
      }
      bySeq.set(block.seq, verified);
      roots.set(batch.root, station);
    }
    for (const [number, group] of inBatch) {
      const batch = batches.get(number)!;
      if (!Number.isSafeInteger(batch.leafCount) || batch.leafCount < 1) {
        throw new ProtocolError("bad-proof", `batch ${number} has no leaves to prove blocks in`, { batch: number });
      }
      const failed = verifyProofsInTree(
        batch.root,
        batch.leafCount,
        group.map((g) => g.proof),
      );
      if (failed >= 0) {
        const seq = group[failed]!.seq;
        throw new ProtocolError("bad-proof", `block ${seq} is not in batch ${number}'s tree`, {
          seq,
          root: batch.root,
        });
      }
    }
  }

  checkBatchSignatures(params, toCheck);

  const blocks = [...bySeq.values()].sort((a, b) => a.block.seq - b.block.seq);
  const first = blocks[0];
  if (first !== undefined && first.block.seq === 1 && !equalBytes(first.block.prev, ZERO_HASH)) {
    throw new ProtocolError("broken-link", "the foundation block has a previous hash");
  }
  for (let i = 1; i < blocks.length; i++) {
    const a = blocks[i - 1]!;
    const b = blocks[i]!;
    checkLink(a.block, a.hash, b.block);
    if (b.block.time < a.block.time) {
      throw new ProtocolError("broken-link", `block ${b.block.seq} is dated before block ${a.block.seq}`, {
        seq: b.block.seq,
      });
    }
    if (a.block.bs !== b.block.bs) {
      // a record to b's station for exactly block a, leading back (through its prior records) to a's station
      const covered = handovers.some(
        (h) =>
          h.to === b.block.bs &&
          h.origin === a.block.bs &&
          h.tipSeq === a.block.seq &&
          h.tipTime === a.block.time &&
          equalBytes(h.tipHash, a.hash),
      );
      if (!covered) {
        throw new ProtocolError("broken-link", `no handover record from ${a.block.bs} covers block ${b.block.seq}`, {
          seq: b.block.seq,
        });
      }
    }
  }
  return { blocks, roots, handovers };
}
