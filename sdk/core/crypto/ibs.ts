/**
 * Cha–Cheon identity-based signatures (PKC 2003), the signatures of seed 000's
 * node <-> base-station authentication. With Q = H1(ID) in G1, d = s·Q and the
 * master public P = s·G2:
 *
 *   sign:   r random; U = r·Q; h = H2(m, U); V = (r + h)·d        (96 bytes: U ‖ V)
 *   verify: e(V, G2) = e(U + h·Q, P)
 *
 * A pairing-equality check, so a contract verifies it too (EIP-2537). H2 hashes
 * m ‖ EIP-2537(U) to Fr (RFC 9380 hash_to_field, its own DST), the exact bytes
 * the Solidity verifier hashes. Batch verification of signatures under one
 * master key costs two pairings in all (random linear combination).
 */
import { checkBytes, concat } from "../bytes.ts";
import { InvalidInputError } from "../../errors.ts";
import type { G1, G2, PairingBackend } from "./backend.ts";
import { g1ToEip2537 } from "./eip2537.ts";
import { identityPoint } from "./identity.ts";
import { hashToScalar, mod, randomScalar } from "./scalar.ts";

/** H2 of Cha–Cheon: (m, U) to Fr. */
export const DST_IBS_H2 = "STRATA-V01-CS01-IBS-CHA-CHEON_XMD:SHA-256_H2_";

export interface IbsSignature {
  readonly u: G1;
  readonly v: G1;
}

export class ChaCheonIbs {
  readonly backend: PairingBackend;

  constructor(backend: PairingBackend) {
    this.backend = backend;
  }

  h2(message: Uint8Array, u: G1): bigint {
    return hashToScalar(concat(message, g1ToEip2537(this.backend, u)), DST_IBS_H2);
  }

  /** Signs with the private key `d` of identity `id`. */
  sign(id: string, d: G1, message: Uint8Array): IbsSignature {
    checkBytes(message, "message");
    const { g1 } = this.backend;
    const r = randomScalar();
    const u = g1.mul(identityPoint(this.backend, id), r);
    const h = this.h2(message, u);
    return { u, v: g1.mul(d, mod(r + h)) };
  }

  /** e(V, G2) = e(U + h·Q, P). */
  verify(masterPublic: G2, id: string, message: Uint8Array, sig: IbsSignature): boolean {
    checkBytes(message, "message");
    if (typeof sig !== "object" || sig === null) throw new InvalidInputError("an IBS signature is {u, v}");
    const { g1, g2 } = this.backend;
    if (g1.isZero(sig.u) || g1.isZero(sig.v)) return false;
    const h = this.h2(message, sig.u);
    const lhs = g1.add(sig.u, g1.mulPublic(identityPoint(this.backend, id), h));
    return this.backend.pairingCheck([
      [sig.v, g2.neg(g2.generator)],
      [lhs, masterPublic],
    ]);
  }

  /** Verifies many signatures under one master key with two pairings. */
  batchVerify(
    masterPublic: G2,
    items: ReadonlyArray<{ id: string; message: Uint8Array; signature: IbsSignature }>,
  ): boolean {
    if (items.length === 0) throw new InvalidInputError("nothing to verify");
    const { g1, g2 } = this.backend;
    const c = items.map(() => randomScalar());
    const vs: G1[] = [];
    const rhs: G1[] = [];
    for (const { id, message, signature } of items) {
      if (g1.isZero(signature.u) || g1.isZero(signature.v)) return false;
      vs.push(signature.v);
      rhs.push(g1.add(signature.u, g1.mulPublic(identityPoint(this.backend, id), this.h2(message, signature.u))));
    }
    return this.backend.pairingCheck([
      [g1.msm(vs, c), g2.neg(g2.generator)],
      [g1.msm(rhs, c), masterPublic],
    ]);
  }

  /** U ‖ V, 96 bytes. */
  encode(sig: IbsSignature): Uint8Array {
    return concat(this.backend.g1.toBytes(sig.u), this.backend.g1.toBytes(sig.v));
  }

  /** Decodes and validates both points (throws `InvalidPointError`). */
  decode(bytes: Uint8Array): IbsSignature {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 96)
      throw new InvalidInputError("an IBS signature is 96 bytes");
    return { u: this.backend.g1.fromBytes(bytes.subarray(0, 48)), v: this.backend.g1.fromBytes(bytes.subarray(48)) };
  }
}
