/**
 * Seed 004's "hidden data filtering": a fog node sorts a reading into
 * sensitive (to the chain) or normal (to the open store) by testing its PEKS
 * keyword ciphertexts with the trapdoors the data owner issued — without
 * decrypting anything and without learning any keyword it holds no trapdoor
 * for. Slot 0 carries the class keyword; a policy may add tags (an "alarm"
 * trapdoor for slot 1, say) that route or flag readings. One pairing per test.
 */
import { type Trapdoor } from "../crypto/peks.ts";
import { InvalidInputError, ProtocolError } from "../../errors.ts";
import type { SecuReading } from "./reading.ts";

/** The keyword that makes a reading sensitive, by convention in slot 0. */
export const SENSITIVE = "sensitive";

export interface TagRule {
  readonly name: string;
  /** Which keyword slot the trapdoor tests. */
  readonly slot: number;
  readonly trapdoor: Trapdoor;
}

/** What the data owner gave a fog cluster: the trapdoor of "sensitive" and optional tag rules. */
export interface FilterPolicy {
  readonly sensitive: Trapdoor;
  readonly tags: readonly TagRule[];
}

export interface Classification {
  readonly sensitive: boolean;
  /** The names of the tag rules the reading matched. */
  readonly tags: readonly string[];
}

export function filterPolicy(sensitive: Trapdoor, tags: readonly TagRule[] = []): FilterPolicy {
  for (const t of tags) {
    if (!Number.isInteger(t.slot) || t.slot < 1 || t.slot > 7 || typeof t.name !== "string" || t.name === "") {
      throw new InvalidInputError("a tag rule names a tag and a keyword slot in [1, 7]", {
        name: t.name,
        slot: t.slot,
      });
    }
  }
  return { sensitive, tags };
}

/** Sorts a reading (its signature is checked elsewhere). Throws `ProtocolError("malformed")` on a bad ciphertext. */
export function classify(reading: Pick<SecuReading, "keywords">, policy: FilterPolicy): Classification {
  try {
    const sensitive = policy.sensitive.test(reading.keywords[0]!);
    const tags = policy.tags
      .filter((t) => t.slot < reading.keywords.length && t.trapdoor.test(reading.keywords[t.slot]!))
      .map((t) => t.name);
    return { sensitive, tags };
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    throw new ProtocolError("malformed", "a keyword ciphertext is not a valid PEKS ciphertext", {
      cause: String(cause),
    });
  }
}
