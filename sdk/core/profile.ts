/**
 * A device's profile (seed 003 §III identity information; seed 002 device
 * description): the keys other than the device key, its class, and where its
 * descriptions and format documents live. The chain keeps `profileHash`, which
 * the device key signs at registration; the profile itself travels off chain
 * (metadata store, edge-layer object database) and anyone checks it against
 * the hash.
 */
import { p256 } from "@noble/curves/nist.js";
import { AbiCoder, keccak256 } from "ethers";

import { InvalidInputError } from "../errors.ts";
import { fromHex, type Hex, toHex } from "./bytes.ts";

export interface Profile {
  /** Identity for pairing cryptography, e.g. a compressed BLS12-381 public key (0-192 bytes). */
  readonly identity: Uint8Array;
  /** Optional P-256 public key, uncompressed without prefix (x ‖ y, 64 bytes), or empty. */
  readonly p256PublicKey: Uint8Array;
  /** Class path, most general first: `Device/Meter/Electric`. */
  readonly classPath: string;
  /** Where the descriptions and format documents are (may be empty). */
  readonly metadataURI: string;
  /** keccak256 of the metadata document (zero when there is none). */
  readonly metadataHash: Hex;
}

const CLASS_PATH = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
const ZERO32: Hex = `0x${"00".repeat(32)}`;

/** Throws an `InvalidInputError` naming the first field that is malformed. */
export function checkProfile(profile: Profile): void {
  if (!(profile.identity instanceof Uint8Array) || profile.identity.length > 192) {
    throw new InvalidInputError("profile.identity must be a Uint8Array of at most 192 bytes");
  }
  const p = profile.p256PublicKey;
  if (!(p instanceof Uint8Array) || (p.length !== 0 && p.length !== 64)) {
    throw new InvalidInputError("profile.p256PublicKey must be empty or 64 bytes (x ‖ y)");
  }
  if (p.length === 64) {
    try {
      p256.Point.fromBytes(Uint8Array.of(0x04, ...p)).assertValidity();
    } catch (cause) {
      throw new InvalidInputError("profile.p256PublicKey is not a point on P-256", { key: toHex(p) }, { cause });
    }
  }
  if (typeof profile.classPath !== "string" || !CLASS_PATH.test(profile.classPath) || profile.classPath.length > 256) {
    throw new InvalidInputError("profile.classPath must look like Device/Meter/Electric", {
      classPath: profile.classPath,
    });
  }
  if (typeof profile.metadataURI !== "string" || profile.metadataURI.length > 2048 || /\s/.test(profile.metadataURI)) {
    throw new InvalidInputError("profile.metadataURI must be a URI without spaces (at most 2048 chars)", {
      metadataURI: profile.metadataURI,
    });
  }
  fromHex(profile.metadataHash, "profile.metadataHash", 32);
}

/** The canonical ABI encoding of a profile. */
export function encodeProfile(profile: Profile): Hex {
  checkProfile(profile);
  return AbiCoder.defaultAbiCoder().encode(
    ["bytes", "bytes", "string", "string", "bytes32"],
    [profile.identity, profile.p256PublicKey, profile.classPath, profile.metadataURI, profile.metadataHash],
  ) as Hex;
}

/**
 * Decodes and checks an encoded profile. Anything that is not a canonical
 * profile (bytes an owner published to the registry are not checked on chain)
 * throws `InvalidInputError`, never a raw decoding error: ethers decodes the
 * fields lazily, so a bad offset, length or UTF-8 string surfaces only when a
 * field is read, and is caught here too.
 */
export function decodeProfile(encoded: Hex): Profile {
  let profile: Profile;
  try {
    const fields = AbiCoder.defaultAbiCoder().decode(["bytes", "bytes", "string", "string", "bytes32"], encoded);
    profile = {
      identity: fromHex(fields[0] as string, "identity"),
      p256PublicKey: fromHex(fields[1] as string, "p256PublicKey"),
      classPath: fields[2] as string,
      metadataURI: fields[3] as string,
      metadataHash: fields[4] as Hex,
    };
  } catch (cause) {
    throw new InvalidInputError("not an encoded profile", { encoded }, { cause });
  }
  checkProfile(profile);
  return profile;
}

/** The commitment the device signs and the chain records. */
export function profileHash(profile: Profile): Hex {
  return keccak256(encodeProfile(profile)) as Hex;
}

/** A profile with nothing but a class path. */
export function minimalProfile(classPath: string): Profile {
  return {
    identity: new Uint8Array(),
    p256PublicKey: new Uint8Array(),
    classPath,
    metadataURI: "",
    metadataHash: ZERO32,
  };
}

/** True when `classPath` is `ancestor` or below it (`Device/Meter/Electric` is under `Device/Meter`). */
export function isUnderClass(classPath: string, ancestor: string): boolean {
  return classPath === ancestor || classPath.startsWith(`${ancestor}/`);
}
