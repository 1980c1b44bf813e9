/**
 * Every signature of the NB-IoT path is a Cha–Cheon IBS by a role's signing
 * identity (role-separated; a station's of the key epoch of the message's
 * time) over a domain tag and the message body, so a signature made for one
 * message type, role or epoch can never pass as another.
 */
import { type Hex } from "../bytes.ts";
import { concat } from "../bytes.ts";
import { ChaCheonIbs } from "../crypto/ibs.ts";
import { ProtocolError } from "../../errors.ts";
import { type IdentityKeys, type NbiotParams, type Role, signerIdentityAt, signingKeyAt } from "./params.ts";

/** 96 bytes: U ‖ V. */
export const SIGNATURE_BYTES = 96;

/** Signs `domain ‖ body`, a message dated `time`, with `keys`' signing key for that time. */
export function signBody(
  params: NbiotParams,
  keys: IdentityKeys,
  time: number,
  domain: Uint8Array,
  body: Uint8Array,
): Uint8Array {
  const ibs = new ChaCheonIbs(params.backend);
  const identity = signerIdentityAt(params, keys.role, keys.id, time);
  return ibs.encode(ibs.sign(identity, signingKeyAt(params, keys, time), concat(domain, body)));
}

/** Throws `ProtocolError("bad-signature")` unless `sig` is (`role`, `signer`)'s over `domain ‖ body`, dated `time`. */
export function verifyBody(
  params: NbiotParams,
  role: Role,
  signer: Hex,
  time: number,
  domain: Uint8Array,
  body: Uint8Array,
  sig: Uint8Array,
  what: string,
): void {
  const ibs = new ChaCheonIbs(params.backend);
  let ok: boolean;
  try {
    const identity = signerIdentityAt(params, role, signer, time);
    ok = ibs.verify(params.masterPublic, identity, concat(domain, body), ibs.decode(sig));
  } catch {
    ok = false;
  }
  if (!ok) throw new ProtocolError("bad-signature", `${what} is not signed by ${role} ${signer}`, { signer, role });
}
