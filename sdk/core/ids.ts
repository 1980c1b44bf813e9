/**
 * Universal identifiers (seed 003 §III, seed 002's one ID namespace).
 *
 * A UUID is the edge layer's address (the cross-layer address of all its
 * superior layers and itself, e.g. `strata://city/district-7/edge-3`) plus the
 * local id its central node gave the object. On chain a device is known by
 * `keccak256(keccak256(layer) ‖ uint256(localId))`, which `DeviceIds.derive`
 * computes the same way.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { InvalidInputError } from "../errors.ts";
import { concat, type Hex, toHex, uint256 } from "./bytes.ts";

export interface Uuid {
  /** The edge layer's address, e.g. `strata://city/district-7/edge-3`. */
  readonly layer: string;
  /** The object's id inside that layer. */
  readonly localId: bigint;
}

const LAYER_PATTERN = /^[a-z][a-z0-9+.-]*:\/\/[^\s#]+$/;

/** Checks a layer address: a URL-like `scheme://path` with no spaces and no `#`. */
export function checkLayer(layer: string): void {
  if (typeof layer !== "string" || !LAYER_PATTERN.test(layer) || layer.length > 512) {
    throw new InvalidInputError("layer must look like scheme://path (no spaces or '#', at most 512 chars)", {
      layer,
    });
  }
}

/** keccak256 of the layer address: the `layer` field of a registration. */
export function layerHash(layer: string): Hex {
  checkLayer(layer);
  return toHex(keccak_256(utf8ToBytes(layer)));
}

/** The local id as the `localId` word of a registration. */
export function localIdWord(localId: bigint): Hex {
  return toHex(uint256(localId, "localId"));
}

/** The on-chain identifier of a UUID. */
export function deviceId(uuid: Uuid): Hex {
  checkLayer(uuid.layer);
  return toHex(keccak_256(concat(keccak_256(utf8ToBytes(uuid.layer)), uint256(uuid.localId, "localId"))));
}

/** The text form `layer#localId`. */
export function formatUuid(uuid: Uuid): string {
  checkLayer(uuid.layer);
  uint256(uuid.localId, "localId");
  return `${uuid.layer}#${uuid.localId}`;
}

/** Parses `layer#localId` (the local id in decimal). */
export function parseUuid(text: string): Uuid {
  const at = typeof text === "string" ? text.lastIndexOf("#") : -1;
  if (at <= 0 || !/^(0|[1-9][0-9]*)$/.test(text.slice(at + 1))) {
    throw new InvalidInputError("UUID must be 'layer#localId' with a decimal local id", { text });
  }
  const uuid = { layer: text.slice(0, at), localId: BigInt(text.slice(at + 1)) };
  checkLayer(uuid.layer);
  uint256(uuid.localId, "localId");
  return uuid;
}
