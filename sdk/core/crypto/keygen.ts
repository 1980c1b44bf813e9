/**
 * BLS secret-key generation, KeyGen of draft-irtf-cfrg-bls-signature-05 §2.3
 * (HKDF-SHA256 "mod r" with salt "BLS-SIG-KEYGEN-SALT-"), the same algorithm
 * blst's `SecretKey.fromKeygen` runs, so keys derived from one IKM agree
 * across implementations.
 */
import { extract, expand } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { InvalidInputError } from "../../errors.ts";
import { R } from "./scalar.ts";

/** A secret scalar derived from at least 32 bytes of input key material. */
export function keygen(ikm: Uint8Array, keyInfo: Uint8Array = new Uint8Array()): bigint {
  if (!(ikm instanceof Uint8Array) || ikm.length < 32) {
    throw new InvalidInputError("KeyGen needs at least 32 bytes of input key material");
  }
  let salt = utf8ToBytes("BLS-SIG-KEYGEN-SALT-");
  const L = 48;
  for (;;) {
    salt = sha256(salt);
    const prk = extract(sha256, Uint8Array.of(...ikm, 0), salt);
    const okm = expand(sha256, prk, Uint8Array.of(...keyInfo, 0, L), L);
    let sk = 0n;
    for (const b of okm) sk = (sk << 8n) | BigInt(b);
    sk %= R;
    if (sk !== 0n) return sk;
  }
}
