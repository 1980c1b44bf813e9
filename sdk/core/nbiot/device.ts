/**
 * The NB-IoT node (seed 000's sensing layer) as a pure state machine: it
 * returns the bytes to send and consumes the bytes it receives; the radio is
 * someone else's job. Per base-station entry it performs exactly three
 * asymmetric operations (sign the request, verify the response, open the
 * encapsulation), counted in `ops`; every reading afterwards costs two
 * AES-GCM seals. It keeps unacknowledged readings (by sequence number) and
 * re-sends them, byte-identical at the primary layer, after a re-entry, so a
 * BS restart or a lost receipt loses and duplicates nothing.
 */
import { type Hex } from "../bytes.ts";
import { AeadKey } from "../crypto/aead.ts";
import { InvalidInputError, ProtocolError } from "../../errors.ts";
import {
  acceptAuthResponse,
  type AuthRequest,
  type ChainTip,
  equalBytes,
  makeAuthRequest,
  NONCE_BYTES,
  type OpCounter,
} from "./handshake.ts";
import { type NbiotParams, type NodeKeys } from "./params.ts";
import { blockHash, ciphertextDigest, ZERO_HASH } from "./block.ts";
import {
  openReceipt,
  openRenewResponse,
  type Receipt,
  sealFrame,
  sealPrimary,
  sealRenewRequest,
  Session,
} from "./session.ts";

export interface NodeState {
  /** The last block the node knows was confirmed, if any. */
  readonly tip?: ChainTip;
  /** Sealed primary ciphertexts not yet confirmed, by sequence number. */
  readonly unconfirmed?: ReadonlyMap<number, Uint8Array>;
}

export class NbiotNode {
  readonly params: NbiotParams;
  readonly keys: NodeKeys;
  readonly ops: OpCounter = { asymmetricOps: 0 };
  readonly #primary: AeadKey;
  #session: Session | undefined;
  #pending: AuthRequest | undefined;
  #renewal: { counter: number; nonce: Uint8Array } | undefined;
  #counter = 0;
  #tip: ChainTip | undefined;
  /** The station that last accepted the flow (it holds it even when it made no block). */
  #holder: Hex | undefined;
  /** Unconfirmed primaries by sequence number; a Map keeps them in the (rising) order they were sealed. */
  readonly #outbox = new Map<number, Uint8Array>();
  /** The highest sequence number sealed or confirmed: the next reading takes the one after (O(1) per send). */
  #lastSeq: number;
  readonly #receipts: Receipt[] = [];

  constructor(params: NbiotParams, keys: NodeKeys, primaryKey: Uint8Array, state: NodeState = {}) {
    this.params = params;
    this.keys = keys;
    this.#primary = new AeadKey(primaryKey);
    this.#tip = state.tip;
    this.#lastSeq = state.tip?.seq ?? 0;
    for (const [seq, ct] of [...(state.unconfirmed ?? [])].sort(([a], [b]) => a - b)) {
      this.#outbox.set(seq, ct);
      this.#lastSeq = Math.max(this.#lastSeq, seq);
    }
  }

  get id(): Hex {
    return this.keys.id;
  }

  get tip(): ChainTip | undefined {
    return this.#tip;
  }

  /** The base station of the current session, if any. */
  get station(): Hex | undefined {
    return this.#session?.bs;
  }

  get sessionExpiresAt(): number | undefined {
    return this.#session?.expiresAt;
  }

  /** Sequence numbers sent but not yet confirmed. */
  get unconfirmed(): number[] {
    return [...this.#outbox.keys()];
  }

  /** The highest sequence number sealed or confirmed (the next reading takes the one after). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /**
   * The sealed primary ciphertext of unconfirmed reading `seq`: what a device keeps durably before
   * the frame leaves, so a restart resumes with it (`NodeState.unconfirmed`) and never seals
   * another reading under a sequence number the station may already hold.
   */
  sealed(seq: number): Uint8Array | undefined {
    return this.#outbox.get(seq);
  }

  /** Every receipt received, oldest first (what a light node checks its readings with). */
  get receipts(): readonly Receipt[] {
    return this.#receipts;
  }

  /** Entering `bs`'s area: the signed authentication request (asymmetric op 1). */
  enter(bs: Hex, now: number): Uint8Array {
    this.#session = undefined;
    this.#renewal = undefined;
    const tip = this.#tip === undefined ? undefined : { ...this.#tip, holder: this.#holder ?? this.#tip.bs };
    this.#pending = makeAuthRequest(this.params, this.keys, bs, now, tip, this.ops);
    return this.#pending.bytes;
  }

  /**
   * The BS's response: verified (op 2), the session key opened (op 3). A
   * request takes one verification attempt: after a response fails its
   * signature or key check the node must enter again, so forged responses
   * cannot make it spend more than 3 asymmetric operations per entry.
   */
  accept(response: Uint8Array, now: number): void {
    if (this.#pending === undefined) throw new ProtocolError("replay", "no authentication request is pending");
    const before = this.ops.asymmetricOps;
    let accepted: ReturnType<typeof acceptAuthResponse>;
    try {
      accepted = acceptAuthResponse(this.params, this.keys, this.#pending, response, now, this.ops);
    } catch (e) {
      if (this.ops.asymmetricOps > before) this.#pending = undefined;
      throw e;
    }
    const { response: res, secret } = accepted;
    const known = this.#tip;
    const offered = res.tip;
    if (known !== undefined) {
      if (offered === undefined || offered.seq < known.seq) {
        throw new ProtocolError("forged-tip", "the station would chain to a tip older than our last receipt", {
          known: known.seq,
          offered: offered?.seq ?? 0,
        });
      }
      if (offered.seq === known.seq && !equalBytes(offered.hash, known.hash)) {
        throw new ProtocolError("forged-tip", "the station's tip differs from our last receipt", { seq: known.seq });
      }
    }
    // Readings up to the station's tip reached the chain even if their receipts were lost (the
    // station signed that tip in its response, so a false one is evidence against it).
    if (offered !== undefined) {
      // the outbox rises in sequence order: drop from its head only what the tip covers
      for (const seq of this.#outbox.keys()) {
        if (seq > offered.seq) break;
        this.#outbox.delete(seq);
      }
      this.#tip = { bs: offered.bs, seq: offered.seq, hash: offered.hash };
      this.#lastSeq = Math.max(this.#lastSeq, offered.seq);
    }
    this.#pending = undefined;
    this.#session = new Session(secret);
    this.#holder = res.bs;
    this.#counter = 0;
  }

  #live(now: number): Session {
    if (this.#session === undefined) throw new ProtocolError("unknown-session", "no session: enter a station first");
    this.#session.checkLive(now);
    return this.#session;
  }

  /** Seals a reading twice (primary, then session) and returns the frame to send. */
  send(reading: Uint8Array, now: number): Uint8Array {
    if (!(reading instanceof Uint8Array)) throw new InvalidInputError("a reading is bytes");
    const session = this.#live(now);
    const seq = this.#lastSeq + 1;
    const primary = sealPrimary(this.#primary, this.keys.id, seq, reading);
    this.#outbox.set(seq, primary);
    this.#lastSeq = seq;
    return sealFrame(session, ++this.#counter, seq, primary);
  }

  /** The unconfirmed readings, re-sealed under the current session (same primary ciphertext). */
  resend(now: number): Uint8Array[] {
    const session = this.#live(now);
    return [...this.#outbox.entries()].map(([seq, primary]) => sealFrame(session, ++this.#counter, seq, primary));
  }

  /**
   * A receipt from the station: the reading is in the chain. The node rebuilds
   * the block it expects — its id, the station, the sequence number, the
   * receipt's time, the digest of the ciphertext it sent, its previous tip — and
   * accepts the receipt only if the hash matches, so a station cannot confirm
   * a reading while chaining something else. Receipts are taken in order.
   */
  onReceipt(bytes: Uint8Array): Receipt {
    if (this.#session === undefined) throw new ProtocolError("unknown-session", "no session");
    const receipt = openReceipt(this.#session, bytes);
    if (receipt.bs !== this.#session.bs) throw new ProtocolError("wrong-peer", "a receipt from another station");
    const tipSeq = this.#tip?.seq ?? 0;
    if (receipt.seq <= tipSeq) return receipt; // a duplicate confirmation
    const primary = this.#outbox.get(receipt.seq);
    if (primary === undefined) {
      throw new ProtocolError("conflict", "a receipt for a reading we did not send", { seq: receipt.seq });
    }
    if (receipt.seq !== tipSeq + 1) {
      throw new ProtocolError("out-of-order", `a receipt for block ${receipt.seq} before block ${tipSeq + 1}`, {
        seq: receipt.seq,
      });
    }
    const expected = blockHash({
      node: this.keys.id,
      bs: receipt.bs,
      seq: receipt.seq,
      time: receipt.time,
      digest: ciphertextDigest(primary),
      prev: this.#tip?.hash ?? ZERO_HASH,
    });
    if (!equalBytes(expected, receipt.hash)) {
      throw new ProtocolError(
        "tampered",
        `the receipt for block ${receipt.seq} names a block that is not our reading`,
        {
          seq: receipt.seq,
        },
      );
    }
    this.#outbox.delete(receipt.seq);
    this.#tip = { bs: receipt.bs, seq: receipt.seq, hash: receipt.hash };
    this.#receipts.push(receipt);
    return receipt;
  }

  /** Whether the session ends within `margin` of its lifetime (time to renew). */
  shouldRenew(now: number, margin = 0.1): boolean {
    const s = this.#session;
    return s !== undefined && now >= s.expiresAt - this.params.timing.sessionLifetimeMs * margin;
  }

  /** Asks for the next session key (symmetric only). */
  renew(now: number): Uint8Array {
    const session = this.#live(now);
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const counter = ++this.#counter;
    this.#renewal = { counter, nonce };
    return sealRenewRequest(session, counter, nonce);
  }

  onRenewal(bytes: Uint8Array, now: number): void {
    const session = this.#live(now);
    if (this.#renewal === undefined) throw new ProtocolError("replay", "no renewal is pending");
    const offer = openRenewResponse(session, bytes, this.#renewal.counter);
    if (offer.expiresAt <= now) throw new ProtocolError("stale-session", "the renewed session has already expired");
    this.#session = new Session(session.renewed(this.#renewal.nonce, offer.bsNonce, offer.nextId, offer.expiresAt));
    this.#renewal = undefined;
    this.#counter = 0;
  }
}
