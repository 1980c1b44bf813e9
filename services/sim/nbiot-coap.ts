/**
 * A device's side of the base station's CoAP resources (RFC 7252 over UDP): one confirmable POST
 * carrying a binary message, its answer's bytes back, or the station's typed error rebuilt from
 * the CoAP error code and its JSON payload (`errorFromAnswer`), so a device branches on the error
 * class and `reason` as it would in process. A confirmable request is retransmitted by the CoAP
 * layer (same message id: the station answers a retransmission from its cache, never twice).
 */
import { type Agent, request } from "coap";

import { type StrataError, TimeoutError, TransportError } from "../../sdk/errors.ts";
import { errorFromAnswer } from "../runtime/errors.ts";

/** Deadline of one exchange when not given (ms). */
export const DEFAULT_COAP_TIMEOUT_MS = 15_000;

/** Where a station listens for devices: `coap://host:port`. */
export interface CoapTarget {
  readonly hostname: string;
  readonly port: number;
}

export function coapTarget(url: string): CoapTarget {
  const u = new URL(url);
  if (u.protocol !== "coap:") throw new TransportError("a station's device URL is coap://host:port", { url });
  return { hostname: u.hostname, port: u.port === "" ? 5683 : Number(u.port) };
}

/** The HTTP status a CoAP error code stands for (4.13 → 413). */
function statusOf(code: string): number {
  const [cls, detail] = code.split(".").map(Number) as [number, number];
  return cls * 100 + detail;
}

/** POSTs `payload` to `path` on `target`; the answer's bytes, or the typed error it carries. */
export function coapPost(
  target: CoapTarget,
  path: string,
  payload: Uint8Array,
  options: { readonly timeoutMs?: number; readonly agent?: Agent } = {},
): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COAP_TIMEOUT_MS;
  const what = `coap://${target.hostname}:${target.port}${path}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const req = request({
      hostname: target.hostname,
      port: target.port,
      pathname: path,
      method: "POST",
      confirmable: true,
      ...(options.agent === undefined ? {} : { agent: options.agent }),
    });
    const timer = setTimeout(
      () => settle(() => reject(new TimeoutError(`${what} did not answer within ${timeoutMs} ms`, { timeoutMs }))),
      timeoutMs,
    );
    req.on("response", (res: { code: string; payload: Buffer }) => {
      settle(() => {
        if (res.code.startsWith("2.")) {
          resolve(new Uint8Array(res.payload));
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(res.payload.toString("utf8"));
        } catch {
          body = undefined;
        }
        const e: StrataError = errorFromAnswer(statusOf(res.code), body, what);
        reject(e);
      });
    });
    req.on("timeout", () => settle(() => reject(new TimeoutError(`${what} did not answer`, {}))));
    req.on("error", (e: unknown) =>
      settle(() => reject(new TransportError(`${what} could not be reached`, {}, { cause: e }))),
    );
    req.end(Buffer.from(payload));
  });
}
