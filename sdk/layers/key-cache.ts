/**
 * Membership's key cache: the BLS keys members registered in a ledger (this
 * layer's or another's), read once per member index, and the EIP-2537 forms of
 * the compressed keys peers present, so a challenge's answer or a partial
 * signature is checked against the key the ledger holds, not the one claimed.
 */
import { type Hex, toHex } from "../core/bytes.ts";
import type { PairingBackend } from "../core/crypto/backend.ts";
import { g2ToEip2537 } from "../core/crypto/eip2537.ts";
import type { SummaryLedgerClient } from "../contracts/ledger.ts";

export class RegisteredKeys {
  readonly #backend: PairingBackend;
  /** Registered member keys (EIP-2537) by chain, ledger and index. */
  readonly #registered = new Map<string, Hex>();
  /** Compressed keys' EIP-2537 forms. */
  readonly #encoded = new Map<Hex, Hex>();

  constructor(backend: PairingBackend) {
    this.#backend = backend;
  }

  /** Whether `publicKey` (compressed) is member `index`'s registered key in `ledger` (on `chainId`). */
  async isRegistered(
    ledger: SummaryLedgerClient,
    chainId: bigint,
    index: number,
    publicKey: Uint8Array,
  ): Promise<boolean> {
    // A member index's key never changes (validity does, and callers read it from the valid mask).
    const slot = `${chainId}:${ledger.address}:${index}`;
    let registered = this.#registered.get(slot);
    if (registered === undefined) {
      registered = (await ledger.member(index)).publicKey.toLowerCase() as Hex;
      this.#registered.set(slot, registered);
    }
    const given = toHex(publicKey);
    let encoded = this.#encoded.get(given);
    if (encoded === undefined) {
      encoded = toHex(g2ToEip2537(this.#backend, this.#backend.g2.fromBytes(publicKey)));
      this.#encoded.set(given, encoded);
    }
    return encoded === registered;
  }
}
