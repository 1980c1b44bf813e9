/**
 * Seed 000's primary key: shared by a node and its application only. The
 * application makes it and sends it sealed to the node's encryption identity
 * (Boneh–Franklin, bound to both ids), so provisioning needs no channel but the
 * PKG's public key; the node opens it once, at set-up — not per station.
 */
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { concat, fromHex, type Hex } from "../bytes.ts";
import { KEY_BYTES } from "../crypto/aead.ts";
import { BonehFranklinKem } from "../crypto/ibe.ts";
import { ProtocolError } from "../../errors.ts";
import { encryptionIdentity, type IdentityKeys, type NbiotParams } from "./params.ts";

const AD = utf8ToBytes("STRATA-NBIOT-v1 primary key");

function ad(application: Hex, node: Hex): Uint8Array {
  return concat(AD, fromHex(application, "application", 32), fromHex(node, "node", 32));
}

/** Application: a fresh primary key for `node` and its sealed form to send. */
export function sealPrimaryKey(
  params: NbiotParams,
  application: Hex,
  node: Hex,
): { readonly key: Uint8Array; readonly sealed: Uint8Array } {
  const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const sealed = new BonehFranklinKem(params.backend).encrypt(
    params.masterPublic,
    encryptionIdentity(node),
    key,
    ad(application, node),
  );
  return { key, sealed };
}

/** Node: opens the primary key its application sent. */
export function openPrimaryKey(
  params: NbiotParams,
  keys: IdentityKeys,
  application: Hex,
  sealed: Uint8Array,
): Uint8Array {
  try {
    const key = new BonehFranklinKem(params.backend).decrypt(
      encryptionIdentity(keys.id),
      keys.decryptKey,
      sealed,
      ad(application, keys.id),
    );
    if (key.length !== KEY_BYTES) throw new Error("wrong length");
    return key;
  } catch (cause) {
    throw new ProtocolError("tampered", "the sealed primary key does not open for this node and application", {
      cause: String(cause),
    });
  }
}
