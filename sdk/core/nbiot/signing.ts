/**
 * Every signature of the NB-IoT path is a Cha–Cheon IBS by a role's signing
 * identity over a domain tag and the message body, so a signature made for one
 * message type can never pass as another.
 */
import { type Hex } from "../bytes.ts";
import { concat } from "../bytes.ts";
import { ChaCheonIbs } from "../crypto/ibs.ts";
import { ProtocolError } from "../../errors.ts";
import { type IdentityKeys, type NbiotParams, signingIdentity } from "./params.ts";

/** 96 bytes: U ‖ V. */
export const SIGNATURE_BYTES = 96;

/** Signs `domain ‖ body` with `keys`' signing key. */
export function signBody(params: NbiotParams, keys: IdentityKeys, domain: Uint8Array, body: Uint8Array): Uint8Array {
  const ibs = new ChaCheonIbs(params.backend);
  return ibs.encode(ibs.sign(signingIdentity(keys.id), keys.signKey, concat(domain, body)));
}

/** Throws `ProtocolError("bad-signature")` unless `sig` is `signer`'s over `domain ‖ body`. */
export function verifyBody(
  params: NbiotParams,
  signer: Hex,
  domain: Uint8Array,
  body: Uint8Array,
  sig: Uint8Array,
  what: string,
): void {
  const ibs = new ChaCheonIbs(params.backend);
  let ok: boolean;
  try {
    ok = ibs.verify(params.masterPublic, signingIdentity(signer), concat(domain, body), ibs.decode(sig));
  } catch {
    ok = false;
  }
  if (!ok) throw new ProtocolError("bad-signature", `${what} is not signed by ${signer}`, { signer });
}
