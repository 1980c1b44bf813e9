/**
 * Seed 003's peers over HTTP: `HttpLayerPeer` is the SDK's `LayerPeer` (the
 * seam "for an RPC") reaching a member in another process, so a `LayerNode`
 * collects partials, challenges and hands over to remote peers exactly as it
 * does in process; `HttpLayerMember` and `HttpEdge` are what the SDK's one
 * `LayerRouter` hands P to (a layer's entry member, the receiving edge's
 * central node). Every answer that is a signature is checked by the caller
 * against the key the ledger registered (the SDK does that), so an HTTP peer
 * gains nothing by lying about its identity. A peer whose process does not
 * take the connection is silent: `LayerError("stopped")`, which lets the
 * router try the next member and the block's other members take it over.
 */
import type { Hex } from "../../sdk/core/bytes.ts";
import type { LedgerLayerLink, LedgerOpenRequest } from "../../sdk/contracts/ledger.ts";
import { LayerError, StrataError, TimeoutError, TransportError } from "../../sdk/errors.ts";
import type { Challenge, ContractEnds, Hop, JoinCandidate, LayerPeer, Transmission } from "../../sdk/layers/network.ts";
import type { RoutedEdge, RoutedMember } from "../../sdk/layers/router.ts";
import { requestJson } from "../runtime/http-client.ts";
import {
  bytesFromJson,
  type DeliveryJson,
  type HopJson,
  hopFromJson,
  linkToJson,
  openRequestToJson,
  transmissionToJson,
} from "./wire.ts";
import { toHex } from "../../sdk/core/bytes.ts";

/** Told of every failed call to another node (the RPC errors metric). */
export type RpcErrorListener = (method: string, error: unknown) => void;

/** A connection the other process did not take (refused, reset, no route): it is not running. */
function silent(error: unknown, url: string): unknown {
  // Only this side's own failure to connect: an error the peer answered (`details.remote`) is the peer speaking.
  const connection =
    error instanceof TransportError &&
    !(error instanceof TimeoutError) &&
    error.name === "TransportError" &&
    error.details.remote === undefined;
  if (connection) {
    return new LayerError("stopped", "the node does not take connections", { url }, { cause: error });
  }
  return error;
}

async function call<T>(
  base: string,
  path: string,
  body: unknown,
  timeoutMs: number,
  onError: RpcErrorListener | undefined,
): Promise<T> {
  const url = `${base}${path}`;
  try {
    return await requestJson<T>(url, { method: "POST", body, timeoutMs });
  } catch (e) {
    const error = silent(e, url);
    // A refusal (a typed answer) is the peer's decision, not an RPC fault.
    const fault =
      !(error instanceof StrataError) ||
      error instanceof TransportError ||
      (error instanceof LayerError && error.reason === "stopped");
    if (fault) {
      onError?.(path, error);
    }
    throw error;
  }
}

export interface HttpPeerIdentity {
  readonly layerId: Hex;
  readonly index: number;
  /** The member's account. */
  readonly node: string;
  /** Its registered BLS key (G2, compressed). */
  readonly publicKey: Uint8Array;
  /** Its service's base URL, e.g. `http://127.0.0.1:7301`. */
  readonly url: string;
}

export interface HttpOptions {
  /** Deadline of one call (the SDK bounds each peer answer with its own timeout as well). */
  readonly timeoutMs?: number;
  readonly onError?: RpcErrorListener;
}

const DEFAULT_TIMEOUT_MS = 10_000;

interface Signature {
  readonly signature: Hex;
}

/** A member of a high-level layer in another process, as its peers and examiners reach it. */
export class HttpLayerPeer implements LayerPeer {
  readonly layerId: Hex;
  readonly index: number;
  readonly node: string;
  readonly publicKey: Uint8Array;
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #onError: RpcErrorListener | undefined;

  constructor(identity: HttpPeerIdentity, options: HttpOptions = {}) {
    this.layerId = identity.layerId;
    this.index = identity.index;
    this.node = identity.node;
    this.publicKey = identity.publicKey;
    this.url = identity.url.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#onError = options.onError;
  }

  #post<T>(path: string, body: unknown): Promise<T> {
    return call<T>(this.url, path, body, this.#timeoutMs, this.#onError);
  }

  async #signature(path: string, body: unknown): Promise<Uint8Array> {
    const answer = await this.#post<Signature>(path, body);
    if (typeof answer?.signature !== "string") {
      throw new TransportError(`${this.url}${path} answered without a signature`, { url: this.url });
    }
    return bytesFromJson(answer.signature, "signature");
  }

  /** @inheritdoc */
  answer(challenge: Challenge): Promise<Uint8Array> {
    return this.#signature("/peer/answer", { nonce: toHex(challenge.nonce) });
  }

  /** @inheritdoc */
  reviewOpen(t: Transmission, request: LedgerOpenRequest): Promise<Uint8Array> {
    return this.#signature("/peer/review-open", {
      transmission: transmissionToJson(t),
      request: openRequestToJson(request),
    });
  }

  /** @inheritdoc */
  async handleFollowing(t: Transmission): Promise<Hop> {
    const answer = await this.#post<{ hop: HopJson }>("/peer/handle-following", {
      transmission: transmissionToJson(t),
    });
    return hopFromJson(answer.hop);
  }

  /** @inheritdoc */
  reviewTakeOver(blockId: Hex, candidate: string, digest: Hex): Promise<Uint8Array> {
    return this.#signature("/peer/review-take-over", { blockId, candidate, digest });
  }

  /** @inheritdoc */
  judgeMember(index: number, digest: Hex): Promise<Uint8Array> {
    return this.#signature("/peer/judge-member", { index, digest });
  }

  /** @inheritdoc */
  judgeSuperior(digest: Hex): Promise<Uint8Array> {
    return this.#signature("/peer/judge-superior", { digest });
  }

  /** @inheritdoc */
  reviewAttachment(kind: "superior" | "subordinate", link: LedgerLayerLink, digest: Hex): Promise<Uint8Array> {
    return this.#signature("/peer/review-attachment", { kind, link: linkToJson(link), digest });
  }

  /**
   * Not offered over HTTP: a candidate is called back (challenged, asked to
   * submit its join), which needs the candidate's own service. Admitting a
   * node stays an operator's step in process (`LayerNode.admit`).
   */
  reviewJoin(candidate: JoinCandidate, _digest: Hex): Promise<Uint8Array> {
    return Promise.reject(
      new LayerError("unreachable", "joining is not offered over HTTP: admit the node in process", {
        node: candidate.node,
      }),
    );
  }

  /** @inheritdoc */
  async contractOf(blockId: Hex): Promise<ContractEnds | undefined> {
    const answer = await this.#post<{ ends: ContractEnds | null }>("/peer/contract-of", { blockId });
    return answer.ends ?? undefined;
  }
}

/** A layer's member in another process, as the router hands it P (it enters the layer there). */
export class HttpLayerMember implements RoutedMember {
  readonly layerId: Hex;
  readonly url: string;
  readonly running = true;
  readonly #timeoutMs: number;
  readonly #onError: RpcErrorListener | undefined;

  constructor(layerId: Hex, url: string, options: HttpOptions = {}) {
    this.layerId = layerId;
    this.url = url.replace(/\/+$/, "");
    // Entering a layer may take a quorum, a ledger write and its receipt: a longer deadline than a peer call.
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#onError = options.onError;
  }

  async receive(t: Transmission): Promise<Hop> {
    const answer = await call<{ hop: HopJson }>(
      this.url,
      "/packets",
      { transmission: transmissionToJson(t) },
      this.#timeoutMs,
      this.#onError,
    );
    return hopFromJson(answer.hop);
  }
}

/** An edge layer's central node in another process, as the router delivers P to it. */
export class HttpEdge implements RoutedEdge<DeliveryJson> {
  readonly layerId: Hex;
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #onError: RpcErrorListener | undefined;

  constructor(layerId: Hex, url: string, options: HttpOptions = {}) {
    this.layerId = layerId;
    this.url = url.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#onError = options.onError;
  }

  async deliver(t: Transmission): Promise<DeliveryJson> {
    const answer = await call<{ delivery: DeliveryJson }>(
      this.url,
      "/packets",
      { transmission: transmissionToJson(t) },
      this.#timeoutMs,
      this.#onError,
    );
    return answer.delivery;
  }
}
