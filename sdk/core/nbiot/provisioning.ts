/**
 * Seed 000's primary key: shared by a node and its application only. The
 * application makes it, seals it to the node's encryption identity
 * (Boneh–Franklin, bound to both ids) and signs the sealed key with its own
 * identity key, so provisioning needs no channel but the PKG's public key and
 * nobody relaying it can substitute a key of their own. The node checks the
 * signature and opens the key once, at set-up — not per station.
 */
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, fromHex, type Hex } from "../bytes.ts";
import { KEY_BYTES } from "../crypto/aead.ts";
import { BonehFranklinKem } from "../crypto/ibe.ts";
import { InvalidInputError, ProtocolError } from "../../errors.ts";
import { Reader, Writer } from "../codec.ts";
import { type OpCounter } from "./handshake.ts";
import { type ApplicationKeys, encryptionIdentity, type NbiotParams, type NodeKeys } from "./params.ts";
import { SIGNATURE_BYTES, signBody, verifyBody } from "./signing.ts";

const AD = utf8ToBytes("STRATA-NBIOT-v1 primary key");
const DOMAIN = utf8ToBytes("STRATA-NBIOT-v1 primary key provisioning");

function ad(application: Hex, node: Hex): Uint8Array {
  return concat(AD, fromHex(application, "application", 32), fromHex(node, "node", 32));
}

/** Application: a fresh primary key for `node` and the signed, sealed form to send it. */
export function sealPrimaryKey(
  params: NbiotParams,
  application: ApplicationKeys,
  node: Hex,
  now: number,
): { readonly key: Uint8Array; readonly sealed: Uint8Array } {
  const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const box = new BonehFranklinKem(params.backend).encrypt(
    params.masterPublic,
    encryptionIdentity(node),
    key,
    ad(application.id, node),
  );
  const body = new Writer(box.length + 80)
    .fixed(fromHex(application.id, "application", 32), 32)
    .fixed(fromHex(node, "node", 32), 32)
    .u64(now)
    .bytes(box)
    .finish();
  return { key, sealed: concat(body, signBody(params, application, now, DOMAIN, body)) };
}

/**
 * Node: checks that `application` signed the sealed key for this node (one
 * asymmetric operation) and opens it (one more), once at set-up.
 */
export function openPrimaryKey(
  params: NbiotParams,
  keys: NodeKeys,
  application: Hex,
  sealed: Uint8Array,
  counter: OpCounter = { asymmetricOps: 0 },
): Uint8Array {
  const r = new Reader(sealed, "sealed primary key");
  const app = r.fixed(32, "application");
  const node = r.fixed(32, "node");
  const time = r.u64("time");
  const box = r.bytes("sealed key", 4096);
  const body = r.consumed();
  const sig = r.fixed(SIGNATURE_BYTES, "signature");
  r.end();
  const appId = application.toLowerCase();
  if (`0x${Buffer.from(app).toString("hex")}` !== appId || `0x${Buffer.from(node).toString("hex")}` !== keys.id) {
    throw new ProtocolError("wrong-peer", "the primary key was sealed for another node or by another application");
  }
  counter.asymmetricOps++;
  verifyBody(params, "application", application, time, DOMAIN, body, sig, "the primary key");
  counter.asymmetricOps++;
  try {
    const key = new BonehFranklinKem(params.backend).decrypt(
      encryptionIdentity(keys.id),
      keys.decryptKey,
      box,
      ad(application, keys.id),
    );
    if (key.length !== KEY_BYTES)
      throw new InvalidInputError(`the primary key is ${key.length} bytes, not ${KEY_BYTES}`);
    return key;
  } catch (cause) {
    throw new ProtocolError("tampered", "the sealed primary key does not open for this node and application", {
      cause: String(cause),
    });
  }
}
