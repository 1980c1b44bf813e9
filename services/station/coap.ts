/**
 * The base station's device side over CoAP on UDP (RFC 7252; seed 000's sensing layer reaching
 * the transport layer): three POST resources carry the SDK's binary messages as they are —
 * `/auth` (authentication request → signed response with the IBE-sealed session key), `/frames`
 * (a data frame → its receipt) and `/renew` (renewal request → response). A payload is size-checked
 * and then handed to `BaseStation`, whose decoders refuse anything malformed before any
 * cryptography. A refusal is a CoAP error code with a small JSON payload naming the typed error:
 * 4.00 (refused: malformed, bad signature, replay, …), 4.04/4.05 (no such resource or method),
 * 4.13 (too large), 5.03 (busy or a dependency down: retry), 5.00 (a bug).
 *
 * No DTLS: every message is already authenticated and encrypted end to end (docs/services.md,
 * "Base station"). Frames arriving in one turn of the event loop are ingested in one call, so
 * their blocks are stored in one SQLite transaction.
 */
import type { Socket } from "node:dgram";
import type { AddressInfo } from "node:net";

import { createServer, type IncomingMessage, type OutgoingMessage, type Server } from "coap";
import type { Logger } from "pino";

import type { BaseStation, IngestResult } from "../../sdk/nbiot/base-station.ts";
import { ProtocolError } from "../../sdk/errors.ts";
import { answerOf, type ErrorAnswer, NotFoundError, PayloadTooLargeError } from "../runtime/errors.ts";

/** Most bytes of one CoAP payload (an authentication request is ~300 bytes, a frame ~100 + the reading). */
export const MAX_COAP_PAYLOAD = 1024;

/** Most frames waiting to be ingested: more are refused as `busy` (5.03). */
export const MAX_QUEUED_FRAMES = 20_000;

export interface CoapMetrics {
  /** A request answered, by resource and CoAP code. */
  answered(resource: string, code: string): void;
  /** A reading refused, by reason. */
  refused(reason: string): void;
  /** Readings accepted (new blocks) and duplicates answered again. */
  ingested(fresh: number, duplicates: number): void;
  queueDepth(depth: number): void;
  /** Requests being handled (authentications waiting on the worker pool, frames on the queue). */
  inFlight(count: number): void;
}

export interface CoapServiceOptions {
  readonly station: BaseStation;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: CoapMetrics;
  /** Told of the readings each ingest call stored (starts an early seal). */
  readonly onReadings: (count: number) => void;
  readonly maxPayload?: number;
}

interface Waiting {
  readonly frame: Uint8Array;
  readonly done: (result: IngestResult) => void;
  readonly fail: (error: unknown) => void;
}

/** The parts of a parsed CoAP message (the `coap` library's `coap-packet`) read here. */
interface ParsedPacket {
  readonly code?: string;
  readonly confirmable?: boolean;
  readonly messageId: number;
  readonly token: Buffer;
  readonly options: readonly { readonly name: string | number }[];
}

/**
 * An error answer to `request` (RFC 7252 §3): piggybacked on the ACK of a confirmable request,
 * a non-confirmable message otherwise; the same token; a JSON payload.
 */
function errorDatagram(request: ParsedPacket, code: string, payload: string): Buffer {
  const [cls, detail] = code.split(".").map(Number) as [number, number];
  const confirmable = request.confirmable === true;
  const token = request.token.subarray(0, 8);
  const messageId = confirmable ? request.messageId : Math.floor(Math.random() * 65536);
  const header = Buffer.from([
    (1 << 6) | ((confirmable ? 2 : 1) << 4) | token.length, // version 1, ACK or NON, token length
    (cls << 5) | detail,
    messageId >> 8,
    messageId & 0xff,
  ]);
  return Buffer.concat([header, token, Buffer.from([0xff]), Buffer.from(payload)]);
}

/** CoAP codes of the HTTP statuses the typed errors map to (RFC 7252 §12.1.2 has no 4.09). */
const COAP_CODE: Record<number, string> = {
  400: "4.00",
  401: "4.01",
  403: "4.03",
  404: "4.04",
  409: "4.00",
  413: "4.13",
  503: "5.03",
};

/** The CoAP code and typed error payload of a refusal (a station that is `busy`: 5.03, retry). */
export function coapError(e: unknown): { code: string; body: ErrorAnswer } {
  const { status, body } = answerOf(e);
  if (body.error.reason === "busy") return { code: "5.03", body };
  return { code: COAP_CODE[status] ?? "5.00", body };
}

export class CoapService {
  readonly server: Server;
  readonly #o: CoapServiceOptions;
  readonly #maxPayload: number;
  #queue: Waiting[] = [];
  #flushing = false;
  #accepting = true;
  /** Requests being handled: `stop()` waits for them. */
  readonly #handling = new Set<Promise<void>>();

  constructor(options: CoapServiceOptions) {
    this.#o = options;
    this.#maxPayload = options.maxPayload ?? MAX_COAP_PAYLOAD;
    this.server = createServer({ type: "udp4" });
    this.#refuseBlockwise();
    this.server.on("request", (req: IncomingMessage, res: OutgoingMessage) => {
      const handling = this.#handle(req, res);
      this.#handling.add(handling);
      this.#o.metrics.inFlight(this.#handling.size);
      void handling.finally(() => {
        this.#handling.delete(handling);
        this.#o.metrics.inFlight(this.#handling.size);
      });
    });
  }

  /**
   * Refuses block-wise transfers (RFC 7959) before the CoAP library sees them: every message of
   * this station fits one datagram, and the library reassembles Block1 bodies without a bound —
   * one datagram naming a late block number makes it allocate up to a GiB, and blocks kept for
   * minutes fill memory. Such a request is answered 4.13 with the typed error, and nothing is kept.
   */
  #refuseBlockwise(): void {
    const server = this.server as unknown as {
      _handle(packet: ParsedPacket, rsinfo: AddressInfo): void;
      _sock: Socket | null;
    };
    const handle = server._handle.bind(this.server);
    server._handle = (packet, rsinfo) => {
      const blockwise = packet.options.some((o) => o.name === "Block1" || o.name === "Block2" || o.name === "Size1");
      if (!blockwise || packet.code === undefined || !packet.code.startsWith("0.")) {
        handle(packet, rsinfo);
        return;
      }
      const { body } = coapError(
        new PayloadTooLargeError(
          `a message fits one datagram of at most ${this.#maxPayload} bytes: no block-wise transfer`,
        ),
      );
      server._sock?.send(errorDatagram(packet, "4.13", JSON.stringify(body)), rsinfo.port, rsinfo.address);
      this.#o.metrics.refused("blockwise");
      this.#o.metrics.answered("other", "4.13");
    };
  }

  listen(host: string, port: number): Promise<{ url: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const sock = (this.server as unknown as { _sock: Socket })._sock;
        widenReceiveBuffer(sock);
        const address = sock.address();
        resolve({ url: `coap://${host}:${address.port}`, port: address.port });
      });
    });
  }

  /**
   * Stops taking new requests (they get 5.03 "busy", retryable), then waits for every request
   * being handled (authentications and renewals on the worker pool, frames queued) to be
   * answered, so nothing in flight is cut off by the pool or the socket closing after.
   */
  async stop(): Promise<void> {
    this.#accepting = false;
    while (this.#handling.size > 0 || this.#queue.length > 0 || this.#flushing) {
      if (this.#handling.size > 0) await Promise.allSettled([...this.#handling]);
      else await new Promise((r) => setImmediate(r));
    }
    // the CoAP library sends an answer on a later turn: let the last ones reach the socket
    await new Promise((r) => setImmediate(r));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #answer(res: OutgoingMessage, resource: string, code: string, payload: Uint8Array | string): void {
    res.code = code;
    if (typeof payload === "string") res.setOption("Content-Format", "application/json");
    else res.setOption("Content-Format", "application/octet-stream");
    res.end(typeof payload === "string" ? payload : Buffer.from(payload));
    this.#o.metrics.answered(resource, code);
  }

  #refuse(res: OutgoingMessage, resource: string, e: unknown): void {
    const { code, body } = coapError(e);
    if (code === "5.00") this.#o.logger.error({ err: e, resource }, "request failed");
    this.#o.metrics.refused(body.error.reason ?? body.error.name);
    this.#answer(res, resource, code, JSON.stringify(body));
  }

  async #handle(req: IncomingMessage, res: OutgoingMessage): Promise<void> {
    let resource = "other";
    try {
      resource = new URL(req.url, "coap://station").pathname;
    } catch {
      // an unparsable path is answered as an unknown resource
    }
    const known = resource === "/auth" || resource === "/frames" || resource === "/renew";
    try {
      if (!known) throw new NotFoundError("no such resource: POST /auth, /frames or /renew");
      if (req.method !== "POST") {
        const body: ErrorAnswer = { error: { name: "InvalidInputError", message: `${resource} takes POST only` } };
        this.#answer(res, resource, "4.05", JSON.stringify(body));
        this.#o.metrics.refused("method");
        return;
      }
      const payload = new Uint8Array(req.payload);
      if (payload.length > this.#maxPayload) {
        throw new PayloadTooLargeError(`a payload holds at most ${this.#maxPayload} bytes`, {
          limit: this.#maxPayload,
          size: payload.length,
        });
      }
      if (!this.#accepting) throw new ProtocolError("busy", "the station is shutting down", { retryable: true });
      const now = this.#o.clock();
      if (resource === "/auth") {
        this.#answer(res, resource, "2.04", await this.#o.station.authenticate(payload, now));
      } else if (resource === "/renew") {
        this.#answer(res, resource, "2.04", await this.#o.station.renew(payload, now));
      } else {
        const result = await this.#ingest(payload);
        if (!result.ok) throw result.error;
        this.#answer(res, resource, "2.04", result.receipt);
      }
    } catch (e) {
      this.#refuse(res, known ? resource : "other", e);
    }
  }

  #ingest(frame: Uint8Array): Promise<IngestResult> {
    if (this.#queue.length >= MAX_QUEUED_FRAMES) {
      return Promise.reject(
        new ProtocolError("busy", "too many frames waiting: try again shortly", { retryable: true }),
      );
    }
    return new Promise((done, fail) => {
      this.#queue.push({ frame, done, fail });
      this.#o.metrics.queueDepth(this.#queue.length);
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    this.#o.metrics.queueDepth(0);
    if (batch.length === 0) return;
    this.#flushing = true;
    try {
      const results = this.#o.station.ingest(
        batch.map((w) => w.frame),
        this.#o.clock(),
      );
      let fresh = 0;
      let duplicates = 0;
      results.forEach((r, i) => {
        if (r.ok && r.duplicate) duplicates++;
        else if (r.ok) fresh++;
        batch[i]!.done(r);
      });
      this.#o.metrics.ingested(fresh, duplicates);
      if (fresh > 0) this.#o.onReadings(fresh);
    } catch (e) {
      for (const w of batch) w.fail(e);
    } finally {
      this.#flushing = false;
    }
  }
}

/**
 * The station's UDP receive buffer (bytes). Devices send in bursts (a thousand devices waking on
 * one interval): with the kernel's default (about 200 KiB) datagrams are dropped when the buffer is
 * full, and each drop costs the device a CoAP retransmission of two seconds or more.
 */
export const COAP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** Asks for a `COAP_RECEIVE_BUFFER_BYTES` receive buffer; the kernel caps it at its own limit (net.core.rmem_max). */
export function widenReceiveBuffer(sock: Socket, bytes = COAP_RECEIVE_BUFFER_BYTES): number {
  try {
    if (sock.getRecvBufferSize() < bytes) sock.setRecvBufferSize(bytes);
  } catch {
    // a platform that refuses the size keeps its default
  }
  return sock.getRecvBufferSize();
}
