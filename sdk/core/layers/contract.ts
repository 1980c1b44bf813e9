/**
 * What travels inside a contract communication of seed 003 and what its
 * carriers sign, pure:
 * - M, as an edge layer's central node frames it: the sending and the
 *   receiving object's on-chain ids (`deviceId(uuid)`, the UUID's hash) and the
 *   objects' own body, opaque to every layer;
 * - the digest an edge layer's central node signs for a packet it sends up
 *   (statement 1 for a packet from Layer 0: its superior checks the signature
 *   against the central node's account in the subordinate link);
 * - the digest of a self-examination challenge, answered with the member's BLS
 *   key (liveness and key validity in one answer).
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";

import { InvalidInputError } from "../../errors.ts";
import { concat, fromHex, type Hex, toHex, uint256 } from "../bytes.ts";
import { encodePacket, type Packet } from "./packet.ts";

/** M between two objects: from and to are on-chain object ids (32-byte words). */
export interface ContractMessage {
  readonly from: Hex;
  readonly to: Hex;
  readonly body: Uint8Array;
}

const MESSAGE_TAG = utf8ToBytes("strata.layers.message.v1");
const PACKET_TAG = utf8ToBytes("strata.layers.packet.v1");
const CHALLENGE_TAG = utf8ToBytes("strata.layers.challenge.v1");

/** tag ‖ from ‖ to ‖ body. */
export function encodeContractMessage(m: ContractMessage): Uint8Array {
  if (typeof m !== "object" || m === null) throw new InvalidInputError("message must be an object");
  if (!(m.body instanceof Uint8Array)) throw new InvalidInputError("message.body must be a Uint8Array");
  return concat(MESSAGE_TAG, fromHex(m.from, "message.from", 32), fromHex(m.to, "message.to", 32), m.body);
}

/** The inverse of `encodeContractMessage`; refuses bytes another framing wrote. */
export function decodeContractMessage(bytes: Uint8Array): ContractMessage {
  const head = MESSAGE_TAG.length;
  if (!(bytes instanceof Uint8Array) || bytes.length < head + 64) {
    throw new InvalidInputError("a contract message holds a tag and two 32-byte ids");
  }
  if (!MESSAGE_TAG.every((b, i) => bytes[i] === b)) throw new InvalidInputError("not a contract message (tag)");
  return {
    from: toHex(bytes.subarray(head, head + 32)),
    to: toHex(bytes.subarray(head + 32, head + 64)),
    body: bytes.slice(head + 64),
  };
}

/** keccak256(tag ‖ chain id ‖ encodePacket(p)): what an edge layer's central node signs (EIP-191) for P. */
export function packetDigest(p: Packet, chainId: bigint): Hex {
  return toHex(keccak_256(concat(PACKET_TAG, uint256(chainId, "chainId"), encodePacket(p))));
}

/**
 * keccak256(tag ‖ layer ‖ ledger address ‖ chain id ‖ member index ‖ nonce):
 * the challenge member `index` of the layer answers by signing with its BLS
 * key. Bound to the ledger so an answer cannot be replayed for another layer
 * or member; `nonce` is the examiner's fresh 32 bytes.
 */
export function challengeDigest(
  layerId: Hex,
  ledger: string,
  chainId: bigint,
  index: number,
  nonce: Uint8Array,
): Uint8Array {
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32) {
    throw new InvalidInputError("a challenge nonce must be 32 bytes");
  }
  if (!Number.isInteger(index) || index < 0 || index > 63) {
    throw new InvalidInputError("index must be an integer in [0, 63]", { index });
  }
  return keccak_256(
    concat(
      CHALLENGE_TAG,
      fromHex(layerId, "layerId", 32),
      fromHex(ledger as Hex, "ledger", 20),
      uint256(chainId, "chainId"),
      Uint8Array.of(index),
      nonce,
    ),
  );
}
