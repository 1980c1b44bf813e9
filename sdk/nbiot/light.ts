/**
 * Seed 002's light node on seed 000's data path: a constrained node keeps no
 * copy of any chain, only its receipts, and checks that a reading of its own
 * is in the chain with the station's proof alone: the served block must be the
 * one its receipt names, the Merkle proof must take it to the batch root, and
 * `DataAnchor.verifyReading` (one view call) must accept the same proof
 * against the root as anchored by the station that signed the receipt
 * (records are kept per gateway: another gateway's anchor of it does not count).
 */
import { type Hex, toHex } from "../core/bytes.ts";
import type { ReadingProof } from "../core/nbiot/acquisition.ts";
import { blockHash, blockLeaf, decodeBlock } from "../core/nbiot/block.ts";
import { equalBytes } from "../core/nbiot/handshake.ts";
import type { Receipt } from "../core/nbiot/session.ts";
import { bytes32ValuesHash, verifyProof } from "../core/merkle.ts";
import { ProtocolError } from "../errors.ts";
import type { AnchorReader } from "./ports.ts";

/** Checks `proof` against `receipt` off chain, then on chain; returns the anchored root. */
export async function verifyOwnReading(
  node: Hex,
  receipt: Receipt,
  proof: ReadingProof,
  anchors: AnchorReader,
): Promise<Hex> {
  let root: Hex;
  let valuesHash: Hex;
  try {
    ({ root, valuesHash } = checkProof(node, receipt, proof));
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError("malformed", "the served proof is malformed", { cause: String(e) });
  }
  if (!(await anchors.verifyReading(receipt.bs, root, valuesHash, proof.proof))) {
    throw new ProtocolError(
      "not-anchored",
      `the batch root of block ${receipt.seq} is not anchored by station ${receipt.bs}`,
      { root, station: receipt.bs },
    );
  }
  return root;
}

/** The off-chain half: the served block is the receipt's, and the proof takes it to the served root. */
function checkProof(node: Hex, receipt: Receipt, proof: ReadingProof): { root: Hex; valuesHash: Hex } {
  const block = decodeBlock(proof.block);
  const hash = blockHash(block);
  if (
    block.node !== node.toLowerCase() ||
    block.seq !== receipt.seq ||
    block.bs !== receipt.bs ||
    !equalBytes(hash, receipt.hash)
  ) {
    throw new ProtocolError("tampered", `the served block ${block.seq} is not the one our receipt names`, {
      seq: receipt.seq,
    });
  }
  const leaf = toHex(blockLeaf(hash));
  if (!verifyProof(proof.batch.root, leaf, proof.proof)) {
    throw new ProtocolError("bad-proof", `block ${block.seq} is not in the served batch's tree`, { seq: block.seq });
  }
  // the chain takes the once-hashed leaf and hashes the leaf itself (no inner node passes as a reading)
  return { root: proof.batch.root, valuesHash: toHex(bytes32ValuesHash(hash)) };
}
