/**
 * One sender per account for a layer member's ledger writes (issue 15: "one
 * sender per account with its own nonce tracking and fee bumping for a stuck
 * transaction; nothing is anchored twice, nothing is lost"), the way seed 001's
 * base station keeps its anchor transactions (`DataAnchorClient.signAnchor`,
 * `BaseStation.anchorPending`), for any contract call:
 *
 * - sends are one at a time; each takes the next nonce of the account (the
 *   chain's count of mined transactions, never below what this sender kept);
 * - each transaction is signed and kept in an SQLite file before it is sent,
 *   so a restart finds it and finishes it before sending anything new;
 * - it is re-sent until mined, and replaced by the same call at the same nonce
 *   with fees a quarter higher when it is not mined within `bumpAfterMs`
 *   (never above `maxFeePerGas`: then the last one is re-sent as it is); one
 *   the node refuses outright (insufficient funds…) is forgotten, so its nonce
 *   is free again (`TxRejectedError`);
 * - while the chain does not answer, every step is retried with back-off
 *   (doubling up to `backoffCapMs`); a send waiting for the chain to come back
 *   gives up after `waitMs` (a `TransportError`, nothing signed), while a
 *   transaction already kept is finished in the background whatever happens.
 */
import {
  type JsonRpcProvider,
  type Provider,
  Transaction,
  type TransactionRequest,
  type TransactionResponse,
  Wallet,
} from "ethers";
import type { DatabaseSync } from "node:sqlite";

import type { Hex } from "../../sdk/core/bytes.ts";
import { BENIGN_REFUSAL, bumpFees, capFees, nodeReason } from "../../sdk/contracts/replacement.ts";
import { FeeCapError, TimeoutError, TransportError, TxRejectedError } from "../../sdk/errors.ts";
import { openStore } from "../../sdk/store/sqlite.ts";

export interface SenderOptions {
  /** The SQLite file the signed transactions are kept in. */
  readonly store: string;
  readonly chainId: bigint;
  /** How long a transaction may stay unmined before it is replaced with higher fees (default 30 s). */
  readonly bumpAfterMs?: number;
  /** The most wei per gas a transaction may pay (default: no cap). */
  readonly maxFeePerGas?: bigint;
  /** First wait between retries while the chain does not answer (default 250 ms), doubled each time… */
  readonly backoffMs?: number;
  /** …up to this (default 8 s). */
  readonly backoffCapMs?: number;
  /** How long a new send waits for a chain that does not answer before it gives up (default 60 s). */
  readonly waitMs?: number;
  /** How often a sent transaction's receipt is looked for (default 250 ms). */
  readonly pollMs?: number;
  /** What the sender reports: a retry (the chain did not answer), a fee bump, a kept transaction mined. */
  readonly onEvent?: (event: SenderEvent) => void;
}

export type SenderEvent =
  | { readonly kind: "retry"; readonly step: string; readonly error: unknown }
  | { readonly kind: "bump"; readonly nonce: number; readonly hash: Hex; readonly replaced: Hex }
  | { readonly kind: "capped"; readonly nonce: number; readonly hash: Hex }
  | { readonly kind: "mined"; readonly nonce: number; readonly hash: Hex; readonly sends: number };

const SCHEMA = {
  version: 1,
  ddl: `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS sent (
    hash TEXT PRIMARY KEY,
    nonce INTEGER NOT NULL,
    raw TEXT NOT NULL,
    signed_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'mined', 'replaced', 'dropped'))
  );
  CREATE INDEX IF NOT EXISTS sent_nonce ON sent (nonce);`,
};

interface SentRow {
  readonly hash: Hex;
  readonly nonce: number;
  readonly raw: Hex;
}

/** A wallet whose `sendTransaction` is the durable sender the module header describes. */
export class TrackedWallet extends Wallet {
  readonly #db: DatabaseSync;
  readonly #options: Required<Omit<SenderOptions, "maxFeePerGas" | "onEvent" | "store" | "chainId">> &
    Pick<SenderOptions, "maxFeePerGas" | "onEvent">;
  #queue: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #closed = false;
  /** The last time the chain did not answer one of this sender's calls, cleared by its next answer. */
  #down: unknown = undefined;

  constructor(privateKey: string, provider: JsonRpcProvider, options: SenderOptions) {
    super(privateKey, provider);
    this.#db = openStore(
      options.store,
      { kind: "sender", owner: `${options.chainId}/${this.address.toLowerCase()}` },
      SCHEMA,
      "auto",
    );
    this.#options = {
      bumpAfterMs: options.bumpAfterMs ?? 30_000,
      backoffMs: options.backoffMs ?? 250,
      backoffCapMs: options.backoffCapMs ?? 8_000,
      waitMs: options.waitMs ?? 60_000,
      pollMs: options.pollMs ?? 250,
      ...(options.maxFeePerGas === undefined ? {} : { maxFeePerGas: options.maxFeePerGas }),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    };
    // A transaction kept before a restart is finished first (nothing new is sent before it).
    if (this.#pendingNonces().length > 0) this.#queue = this.#finishKept().catch(() => undefined);
  }

  /** Transactions kept and not yet mined, and sends waiting their turn (the queue depth). */
  get depth(): number {
    return this.#pendingNonces().length + this.#waiting;
  }

  /** Whether the chain failed this sender's last call (it is retrying). */
  get chainDown(): boolean {
    return this.#down !== undefined;
  }

  /** The kept transactions, oldest first (for tests and inspection). */
  kept(): { hash: Hex; nonce: number; state: string }[] {
    return this.#db.prepare("SELECT hash, nonce, state FROM sent ORDER BY nonce, signed_at").all() as never;
  }

  /** Stops retrying (sends in progress end with a `TransportError`) and closes the store. */
  close(): void {
    this.#closed = true;
    this.#db.close();
  }

  override connect(provider: Provider | null): Wallet {
    // A copy would be a second sender for the account, with its own nonces: refused.
    if (provider === this.provider) return this;
    throw new TransportError("a tracked wallet keeps its provider (one sender per account)");
  }

  override sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    this.#waiting++;
    const turn = this.#queue.then(async () => {
      this.#waiting--;
      await this.#finishKept();
      return this.#send(tx);
    });
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #send(tx: TransactionRequest): Promise<TransactionResponse> {
    const giveUp = Date.now() + this.#options.waitMs;
    const request = await this.#retry("populate", giveUp, async () => {
      const latest = await this.getNonce("latest");
      const nonce = Math.max(latest, this.#nextKeptNonce());
      return this.populateTransaction({ ...tx, nonce });
    });
    if (this.#options.maxFeePerGas !== undefined) capFees(request, this.#options.maxFeePerGas, false);
    const signed = await this.#keep(request);
    const mined = await this.#drive(signed);
    return this.#retry("read", undefined, async () => {
      const response = await this.provider!.getTransaction(mined);
      if (response === null) throw new TransportError(`the node does not know mined transaction ${mined}`);
      return response;
    });
  }

  /** Finishes every kept transaction not known to be mined, lowest nonce first. */
  async #finishKept(): Promise<void> {
    for (const nonce of this.#pendingNonces()) {
      const rows = this.#rowsOf(nonce);
      await this.#drive(rows[rows.length - 1]!);
    }
  }

  /**
   * Sends `tx` (and its replacements) until one of the transactions kept at its nonce is
   * mined; returns that one's hash. A nonce taken by another transaction of the account (none
   * of ours mined) is a `TxRejectedError`.
   */
  async #drive(first: SentRow): Promise<Hex> {
    let current = first;
    let sends = 0;
    for (;;) {
      const refused = await this.#retry("broadcast", undefined, async () => {
        try {
          await this.provider!.broadcastTransaction(current.raw);
          return undefined;
        } catch (e) {
          const reason = nodeReason(e);
          if (reason === undefined) throw e; // no answer: retried
          // Known already, or a fee too low (below the base fee…): a replacement with higher fees may pass.
          if (BENIGN_REFUSAL.test(reason) || /underpriced|fee|base/i.test(reason)) return undefined;
          return reason;
        }
      });
      if (refused !== undefined) {
        // Refused outright (insufficient funds…): no mempool holds it. It is forgotten; an earlier
        // transaction at its nonce, if any, is followed again, otherwise the nonce is free and the send fails.
        this.#forget(current.hash);
        const rows = this.#rowsOf(current.nonce);
        if (rows.length === 0) {
          throw new TxRejectedError(`the node refused transaction ${current.hash}: ${refused}`, {
            hash: current.hash,
            reason: refused,
          });
        }
        current = rows[rows.length - 1]!;
        continue;
      }
      sends++;
      const deadline = Date.now() + this.#options.bumpAfterMs;
      for (;;) {
        const found = await this.#retry("receipt", undefined, () => this.#minedAt(current.nonce));
        if (found === "taken") {
          this.#mark(current.nonce, undefined, "dropped");
          throw new TxRejectedError(`nonce ${current.nonce} was taken by another transaction of the account`, {
            nonce: current.nonce,
          });
        }
        if (found !== undefined) {
          this.#mark(current.nonce, found, "mined");
          this.#options.onEvent?.({ kind: "mined", nonce: current.nonce, hash: found, sends });
          return found;
        }
        if (Date.now() >= deadline) break;
        await sleep(this.#options.pollMs);
        this.#check();
      }
      current = await this.#bump(current);
    }
  }

  /** A replacement of `previous` with higher fees, kept; `previous` itself when the cap forbids one. */
  async #bump(previous: SentRow): Promise<SentRow> {
    const before = Transaction.from(previous.raw);
    const request = await this.#retry("populate", undefined, () =>
      this.populateTransaction({
        to: before.to,
        data: before.data,
        value: before.value,
        nonce: before.nonce,
        gasLimit: before.gasLimit,
        chainId: before.chainId,
      }),
    );
    bumpFees(request, before);
    if (this.#options.maxFeePerGas !== undefined) {
      try {
        capFees(request, this.#options.maxFeePerGas, true);
      } catch (e) {
        if (!(e instanceof FeeCapError)) throw e;
        this.#options.onEvent?.({ kind: "capped", nonce: previous.nonce, hash: previous.hash });
        return previous;
      }
    }
    const next = await this.#keep(request);
    this.#options.onEvent?.({ kind: "bump", nonce: next.nonce, hash: next.hash, replaced: previous.hash });
    return next;
  }

  /** Signs `request` and keeps it (pending) before anything sends it. */
  async #keep(request: TransactionRequest): Promise<SentRow> {
    const raw = (await this.signTransaction(request)) as Hex;
    const tx = Transaction.from(raw);
    const row = { hash: tx.hash!.toLowerCase() as Hex, nonce: tx.nonce, raw };
    this.#check();
    this.#db
      .prepare("INSERT OR IGNORE INTO sent (hash, nonce, raw, signed_at, state) VALUES (?, ?, ?, ?, 'pending')")
      .run(row.hash, row.nonce, row.raw, Date.now());
    return row;
  }

  #forget(hash: Hex): void {
    if (!this.#closed) this.#db.prepare("DELETE FROM sent WHERE hash = ?").run(hash);
  }

  /** Which of the transactions kept at `nonce` is mined; `taken` when the nonce is used by none of them. */
  async #minedAt(nonce: number): Promise<Hex | "taken" | undefined> {
    for (const row of this.#rowsOf(nonce)) {
      const receipt = await this.provider!.getTransactionReceipt(row.hash);
      if (receipt !== null) return row.hash;
    }
    const latest = await this.getNonce("latest");
    if (latest <= nonce) return undefined;
    // The nonce is used: one of ours may have been mined just after its receipt was looked for.
    for (const row of this.#rowsOf(nonce)) {
      if ((await this.provider!.getTransactionReceipt(row.hash)) !== null) return row.hash;
    }
    return "taken";
  }

  /** `work`, retried with back-off while the chain does not answer (until `giveUp`, if given). */
  async #retry<T>(step: string, giveUp: number | undefined, work: () => Promise<T>): Promise<T> {
    let wait = this.#options.backoffMs;
    for (;;) {
      this.#check();
      try {
        const result = await work();
        this.#down = undefined;
        return result;
      } catch (e) {
        if (!isChainDown(e)) throw e;
        this.#down = e;
        this.#options.onEvent?.({ kind: "retry", step, error: e });
        if (giveUp !== undefined && Date.now() + wait > giveUp) {
          throw new TransportError(`the chain did not answer for ${this.#options.waitMs} ms`, { step }, { cause: e });
        }
        await sleep(wait);
        wait = Math.min(wait * 2, this.#options.backoffCapMs);
      }
    }
  }

  #check(): void {
    if (this.#closed) throw new TransportError("the sender is closed");
  }

  #pendingNonces(): number[] {
    if (this.#closed) return [];
    const rows = this.#db.prepare("SELECT DISTINCT nonce FROM sent WHERE state = 'pending' ORDER BY nonce").all();
    return rows.map((r) => Number(r.nonce));
  }

  #rowsOf(nonce: number): SentRow[] {
    return this.#db
      .prepare("SELECT hash, nonce, raw FROM sent WHERE nonce = ? ORDER BY signed_at, rowid")
      .all(nonce) as unknown as SentRow[];
  }

  #nextKeptNonce(): number {
    const row = this.#db.prepare("SELECT MAX(nonce) AS n FROM sent WHERE state != 'dropped'").get();
    return row?.n === null || row?.n === undefined ? 0 : Number(row.n) + 1;
  }

  /** Marks every transaction at `nonce`: `mined` the one that was, `replaced` the others (or all `dropped`). */
  #mark(nonce: number, mined: Hex | undefined, state: "mined" | "dropped"): void {
    if (this.#closed) return;
    if (state === "dropped") {
      this.#db.prepare("UPDATE sent SET state = 'dropped' WHERE nonce = ?").run(nonce);
      return;
    }
    this.#db
      .prepare("UPDATE sent SET state = CASE WHEN hash = ? THEN 'mined' ELSE 'replaced' END WHERE nonce = ?")
      .run(mined!, nonce);
  }
}

/** Codes of a call the chain did not answer (a refused or dropped connection, a deadline). */
const DOWN_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "NETWORK_ERROR",
  "SERVER_ERROR",
  "TIMEOUT",
]);

/** Whether `e` says the chain did not answer (no JSON-RPC answer at all), rather than refusing the call. */
export function isChainDown(e: unknown): boolean {
  if (nodeReason(e) !== undefined) return false;
  for (let at = e; at instanceof Error; at = at.cause) {
    if (at.message.startsWith("the sender is closed")) return false;
    if (at instanceof TimeoutError || at.name === "TransportError") return true;
    const code = (at as { code?: unknown }).code;
    if (typeof code === "string" && DOWN_CODES.has(code)) return true;
    if (/ECONNREFUSED|ECONNRESET|socket hang up|fetch failed/.test(at.message)) return true;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
