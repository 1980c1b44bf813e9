/**
 * Building a registration (seed 001 join request, seed 003 UUID and class):
 * from a UUID, a device key and a profile to the exact message the device key
 * signs and the registry checks.
 */
import { InvalidInputError } from "../errors.ts";
import { checkInteger, type Hex } from "./bytes.ts";
import type { RegistrationMessage } from "./eip712.ts";
import { layerHash, localIdWord, type Uuid } from "./ids.ts";
import type { Label } from "./labels.ts";
import { type Profile, profileHash } from "./profile.ts";
import type { Kind } from "./registry.ts";

export interface RegistrationInput {
  readonly uuid: Uuid;
  /** The device key's address (a secp256k1 account). */
  readonly key: string;
  readonly kind: Kind;
  readonly label: Label;
  /** Permissions bitmap, 32 bits. */
  readonly permissions: number;
  readonly profile: Profile;
  /** Last second the signature is accepted. */
  readonly deadline: bigint;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The registration message for `input` (checks every field). */
export function buildRegistration(input: RegistrationInput): RegistrationMessage {
  if (typeof input.key !== "string" || !ADDRESS.test(input.key) || /^0x0{40}$/.test(input.key)) {
    throw new InvalidInputError("key must be a non-zero 20-byte address", { key: input.key });
  }
  checkInteger(input.kind, 0, 3, "kind");
  checkInteger(input.label, 0, 2, "label");
  checkInteger(input.permissions, 0, 2 ** 32 - 1, "permissions");
  if (typeof input.deadline !== "bigint" || input.deadline < 0n || input.deadline >= 1n << 64n) {
    throw new InvalidInputError("deadline must be a uint64 bigint (seconds)", { deadline: String(input.deadline) });
  }
  return {
    layer: layerHash(input.uuid.layer),
    localId: localIdWord(input.uuid.localId),
    key: input.key,
    kind: input.kind,
    label: input.label,
    permissions: input.permissions,
    profileHash: profileHash(input.profile) as Hex,
    deadline: input.deadline,
  };
}
