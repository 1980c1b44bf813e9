/**
 * SHA-256 wherever the SDK runs: Node's native hash when the runtime has one (found with
 * `process.getBuiltinModule`, so nothing imports `node:crypto` and a browser bundle loads this
 * module too), else `@noble/hashes`. Both give the same digest; the native one is faster for the
 * small inputs a station or fog node hashes all day.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

type NativeHash = (algorithm: "sha256", data: Uint8Array, encoding: "buffer") => Uint8Array;

const native: NativeHash | undefined = (() => {
  const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = runtime?.getBuiltinModule?.("node:crypto") as { hash?: NativeHash } | undefined;
  return typeof crypto?.hash === "function" ? crypto.hash : undefined;
})();

/** SHA-256 of `data` (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  if (native === undefined) return nobleSha256(data);
  const out = native("sha256", data, "buffer");
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
