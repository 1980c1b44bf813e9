/**
 * Public-key encryption with keyword search (Boneh, Di Crescenzo, Ostrovsky,
 * Persiano, EUROCRYPT 2004) — how a Secuchain fog node tells "sensitive" or
 * "alarm" readings from the rest without decrypting anything (seed 004).
 *
 * Asymmetric-pairing form, arranged so the fog node's side is the cheap one:
 *   receiver (data owner): α ∈ Fr, A_pub = α·G1
 *   PEKS(A_pub, W):   r random; A = r·G1; B = H2(e(r·A_pub, H1(W)))      (48 + 32 bytes)
 *   trapdoor T_W:     α·H1(W) in G2 (issued by the owner to fog nodes)
 *   test(T_W, A, B):  H2(e(A, T_W)) == B
 * Because T_W is fixed per keyword, the fog node precomputes its Miller-loop
 * lines once (`pairingWith`). H1 hashes keywords to G2 with its own DST; H2 is
 * SHA-256 of the pairing value with a domain prefix. PEKS hides the keyword
 * from anyone without a trapdoor (BDH); a trapdoor reveals which ciphertexts
 * carry its keyword — nothing else, not the reading.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat } from "../bytes.ts";
import { InvalidInputError } from "../../errors.ts";
import type { G1, G2, PairingBackend } from "./backend.ts";
import { checkScalar, randomScalar } from "./scalar.ts";

export const DST_PEKS_H1 = "STRATA-V01-CS01-PEKS-with-BLS12381G2_XMD:SHA-256_SSWU_RO_KW_";
const H2_PREFIX = utf8ToBytes("STRATA-V01 PEKS H2");
/** A keyword ciphertext: A (48) ‖ B (32). */
export const PEKS_BYTES = 80;

function keywordBytes(keyword: string): Uint8Array {
  if (typeof keyword !== "string" || keyword.length === 0 || keyword.length > 256) {
    throw new InvalidInputError("a keyword is a non-empty string of at most 256 characters", { keyword });
  }
  return utf8ToBytes(keyword);
}

/** A keyword test the fog node holds, with its pairing precomputation. */
export interface Trapdoor {
  readonly point: G2;
  test(ciphertext: Uint8Array): boolean;
}

export class Peks {
  readonly backend: PairingBackend;

  constructor(backend: PairingBackend) {
    this.backend = backend;
  }

  /** A receiver key pair: α and A_pub = α·G1. */
  keygen(secret: bigint = randomScalar()): { secret: bigint; publicKey: G1 } {
    checkScalar(secret, "PEKS secret");
    return { secret, publicKey: this.backend.g1.mul(this.backend.g1.generator, secret) };
  }

  #h1(keyword: string): G2 {
    return this.backend.g2.hash(keywordBytes(keyword), DST_PEKS_H1);
  }

  #h2(gt: Uint8Array): Uint8Array {
    return sha256(concat(H2_PREFIX, gt));
  }

  /** A keyword ciphertext of `keyword` for the holder of `publicKey`. */
  encrypt(publicKey: G1, keyword: string): Uint8Array {
    const { g1 } = this.backend;
    const r = randomScalar();
    const a = g1.toBytes(g1.mul(g1.generator, r));
    const b = this.#h2(this.backend.pairing(g1.mul(publicKey, r), this.#h1(keyword)));
    return concat(a, b);
  }

  /** The trapdoor of `keyword`, made by the receiver. */
  trapdoor(secret: bigint, keyword: string): Trapdoor {
    checkScalar(secret, "PEKS secret");
    return this.trapdoorFromPoint(this.backend.g2.mul(this.#h1(keyword), secret));
  }

  /** A trapdoor received as bytes (96, compressed G2). */
  trapdoorFromBytes(bytes: Uint8Array): Trapdoor {
    return this.trapdoorFromPoint(this.backend.g2.fromBytes(bytes));
  }

  trapdoorFromPoint(point: G2): Trapdoor {
    const pair = this.backend.pairingWith(point);
    const g1 = this.backend.g1;
    const h2 = (gt: Uint8Array): Uint8Array => this.#h2(gt);
    return {
      point,
      test(ciphertext: Uint8Array): boolean {
        if (!(ciphertext instanceof Uint8Array) || ciphertext.length !== PEKS_BYTES) {
          throw new InvalidInputError(`a PEKS ciphertext is ${PEKS_BYTES} bytes`);
        }
        const a = g1.fromBytes(ciphertext.subarray(0, 48));
        const expected = h2(pair(a));
        const b = ciphertext.subarray(48);
        let diff = 0;
        for (let i = 0; i < 32; i++) diff |= expected[i]! ^ b[i]!;
        return diff === 0;
      },
    };
  }
}
