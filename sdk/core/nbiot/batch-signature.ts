/**
 * A station's signature of one batch of its block hashes (seed 000, see `block.ts`): the
 * Cha–Cheon IBS of the station's signing identity of the key epoch of the batch's time over
 * `batchMessage`. `verifyAcquisition` checks many at once; `verifyBatchSignature` checks one (a
 * reading's proof bundle). No `node:crypto` on this path: a browser checks it too.
 */
import type { Hex } from "../bytes.ts";
import { ChaCheonIbs } from "../crypto/ibs.ts";
import { ProtocolError } from "../../errors.ts";
import { batchMessage } from "./block.ts";
import { type NbiotParams, signerIdentityAt } from "./params.ts";

/** A station's signed batch header (`SignedBatch` of `acquisition.ts`). */
export interface SignedBatchHeader {
  readonly number: number;
  readonly root: Hex;
  readonly leafCount: number;
  /** When the station sealed it (ms); names the key epoch of the signature. */
  readonly time: number;
  readonly signature: Uint8Array;
}

/**
 * What a station's batch signature is checked against: the signed message (`batchMessage` of the
 * station, batch number, root, leaf count and time) and the station's signing identity of the key
 * epoch of the batch's time. A malformed signature is a `ProtocolError("bad-signature")`.
 */
export function batchItem(params: NbiotParams, ibs: ChaCheonIbs, station: Hex, batch: SignedBatchHeader) {
  const message = batchMessage({
    bs: station,
    number: batch.number,
    root: batch.root,
    leafCount: batch.leafCount,
    time: batch.time,
  });
  let signature;
  try {
    signature = ibs.decode(batch.signature);
  } catch {
    throw new ProtocolError("bad-signature", `batch ${batch.number} of ${station} has a malformed signature`, {
      station,
      batch: batch.number,
    });
  }
  return {
    id: signerIdentityAt(params, "station", station, batch.time),
    message,
    signature,
    station,
    number: batch.number,
  };
}

/**
 * Whether `batch` carries `station`'s Cha–Cheon signature under the PKG's master key of `params`
 * (one batch; `verifyAcquisition` checks many at once). A malformed signature is a
 * `ProtocolError("bad-signature")`.
 */
export function verifyBatchSignature(params: NbiotParams, station: Hex, batch: SignedBatchHeader): boolean {
  const ibs = new ChaCheonIbs(params.backend);
  const item = batchItem(params, ibs, station.toLowerCase() as Hex, batch);
  return ibs.verify(params.masterPublic, item.id, item.message, item.signature);
}
