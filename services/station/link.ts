/**
 * `StationLink` over HTTP (seed 000, "Handover" and "Data acquisition" between machines): how one
 * station reaches another for a handover, and how an application reaches stations for their
 * blocks and proofs. The messages are the SDK's, unchanged: the handover request and record are
 * the signed binary messages (hex in JSON), and what is served is checked by its receiver
 * (`checkHandoverRecord`, `verifyAcquisition`, `DataAnchor`), never trusted for arriving over
 * HTTP. Errors come back as the station's typed errors (`errorFromAnswer`).
 */
import { toHex, type Hex } from "../../sdk/core/bytes.ts";
import type { AcquisitionResponse, ReadingProof } from "../../sdk/core/nbiot/acquisition.ts";
import { checkId } from "../../sdk/core/nbiot/params.ts";
import type { StationLink, StationResolver } from "../../sdk/nbiot/ports.ts";
import { InvalidInputError } from "../../sdk/errors.ts";
import { requestJson } from "../runtime/http-client.ts";
import { acquisitionFromWire, proofFromWire, recordFromWire } from "./wire.ts";

/** Deadline of one call to a station when not given (ms). */
export const DEFAULT_LINK_TIMEOUT_MS = 10_000;

export class HttpStationLink implements StationLink {
  readonly url: string;
  readonly #timeoutMs: number;

  /** `url`: the station's HTTP base URL (`http://host:port`). */
  constructor(url: string, options: { readonly timeoutMs?: number } = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidInputError("a station's URL must be an http(s) URL", { url });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new InvalidInputError("a station's URL must be an http(s) URL", { url });
    }
    this.url = url.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_LINK_TIMEOUT_MS;
  }

  async handover(request: Uint8Array): Promise<Uint8Array> {
    const answer = await requestJson(`${this.url}/nbiot/handover`, {
      method: "POST",
      body: { request: toHex(request) },
      timeoutMs: this.#timeoutMs,
    });
    return recordFromWire(answer);
  }

  async acquire(node: Hex, from: number, to: number, afterSeq = 0, limit?: number): Promise<AcquisitionResponse> {
    const query = new URLSearchParams({ from: String(from), to: String(to), afterSeq: String(afterSeq) });
    if (limit !== undefined) query.set("limit", String(limit));
    const answer = await requestJson(`${this.url}/nbiot/nodes/${checkId(node, "node")}/blocks?${query}`, {
      timeoutMs: this.#timeoutMs,
    });
    return acquisitionFromWire(answer);
  }

  async proof(node: Hex, seq: number): Promise<ReadingProof> {
    const answer = await requestJson(`${this.url}/nbiot/nodes/${checkId(node, "node")}/proofs/${seq}`, {
      timeoutMs: this.#timeoutMs,
    });
    return proofFromWire(answer);
  }
}

/**
 * A `StationResolver` over a table of station id → HTTP URL (a station's `peers`, an
 * application's list of stations); an id not in it is unreachable (`undefined`).
 */
export function httpStationResolver(
  peers: Readonly<Record<string, string>>,
  options: { readonly timeoutMs?: number } = {},
): StationResolver & { readonly links: ReadonlyMap<Hex, HttpStationLink> } {
  const links = new Map<Hex, HttpStationLink>();
  for (const [id, url] of Object.entries(peers))
    links.set(checkId(id as Hex, "peer id"), new HttpStationLink(url, options));
  const resolve = (id: Hex) => links.get(id.toLowerCase() as Hex);
  return Object.assign(resolve, { links });
}
