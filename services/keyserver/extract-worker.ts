/**
 * A worker thread of a key server's pool (seed 000's PKG, t of n): extracts the server's parts
 * sᵢ·H1(identity) of a request's identity keys (a hash to G1 and a scalar multiplication each)
 * and seals each to the request's ephemeral key, off the main thread, so the server keeps taking
 * requests while shares are made on every core. The server has already authenticated the
 * request and checked the registry; a failure comes back as data (a thrown error loses its class
 * crossing threads).
 */
import type { Hex } from "../../sdk/core/bytes.ts";
import { mclBackend } from "../../sdk/core/crypto/backend.ts";
import { ThresholdScheme } from "../../sdk/core/crypto/threshold.ts";
import { type ExtractTask, sealedParts } from "./protocol.ts";

export type { ExtractTask } from "./protocol.ts";

export type ExtractResult =
  | { readonly ok: true; readonly shares: readonly { readonly identity: string; readonly sealed: Hex }[] }
  | { readonly ok: false; readonly message: string };

const scheme = new ThresholdScheme(await mclBackend());

export default function extract(task: ExtractTask): ExtractResult {
  try {
    return { ok: true, shares: sealedParts(scheme, task) };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message.split("\n")[0]! : String(e) };
  }
}
