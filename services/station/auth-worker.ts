/**
 * A worker thread of the base station's pool (seed 000, "Authentication"): checks a node's
 * authentication request (`checkAuthRequest`: addressed to the station, fresh, its Cha–Cheon
 * signature — two pairings) off the main thread, so a station's event loop keeps taking frames
 * while entries are checked on every core. A refusal comes back as data (a thrown error loses
 * its class crossing threads) and the station throws it as the `ProtocolError` it was.
 */
import { fromHex, type Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { checkAuthRequest } from "../../sdk/core/nbiot/handshake.ts";
import { type NbiotParams, nbiotParams, type Timing } from "../../sdk/core/nbiot/params.ts";
import { ProtocolError } from "../../sdk/errors.ts";

export interface AuthTask {
  /** The PKG's master public key (G2, compressed, hex). */
  readonly masterPublic: Hex;
  readonly timing: Timing;
  readonly station: Hex;
  readonly request: Uint8Array;
  readonly now: number;
}

export type AuthVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string; readonly message: string; readonly details: unknown };

const backend = await mclBackend();
let cached: { key: string; params: NbiotParams } | undefined;

function paramsFor(task: AuthTask): NbiotParams {
  const key = `${task.masterPublic}/${JSON.stringify(task.timing)}`;
  if (cached?.key !== key) {
    const masterPublic = backend.g2.fromBytes(fromHex(task.masterPublic, "masterPublic"));
    cached = { key, params: nbiotParams(backend, masterPublic, task.timing) };
  }
  return cached.params;
}

export default function checkAuth(task: AuthTask): AuthVerdict {
  try {
    checkAuthRequest(paramsFor(task), task.station, task.request, task.now);
    return { ok: true };
  } catch (e) {
    if (e instanceof ProtocolError) {
      return { ok: false, reason: e.reason, message: e.shortMessage, details: JSON.parse(JSON.stringify(e.details)) };
    }
    throw e;
  }
}
