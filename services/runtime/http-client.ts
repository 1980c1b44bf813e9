/**
 * Calls between services over HTTP (Node's fetch): a deadline on every call, error answers
 * rebuilt as the `StrataError` the service threw (`errorFromAnswer`), a refused connection a
 * `TransportError`, a missed deadline a `TimeoutError`.
 */
import { StrataError, TimeoutError, TransportError } from "../../sdk/errors.ts";
import { errorFromAnswer } from "./errors.ts";

export { errorFromAnswer } from "./errors.ts";

/** Deadline of one call when not given. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface RequestOptions {
  readonly method?: "GET" | "POST" | "PUT" | "DELETE";
  /** A JSON value, or bytes sent as application/octet-stream. */
  readonly body?: unknown;
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
}

async function call(url: string, options: RequestOptions): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const bytes = options.body instanceof Uint8Array;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.body !== undefined) headers["content-type"] = bytes ? "application/octet-stream" : "application/json";
  try {
    const response = await fetch(url, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      body:
        options.body === undefined ? undefined : bytes ? (options.body as Uint8Array) : JSON.stringify(options.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      throw errorFromAnswer(response.status, body, url);
    }
    return response;
  } catch (e) {
    if (e instanceof StrataError) throw e;
    if ((e as Error).name === "TimeoutError" || (e as Error).name === "AbortError") {
      throw new TimeoutError(`${url} did not answer within ${timeoutMs} ms`, { url, timeoutMs }, { cause: e });
    }
    throw new TransportError(`${url} could not be reached`, { url }, { cause: e });
  }
}

/** A JSON call; the answer's JSON body. */
export async function requestJson<T = unknown>(url: string, options: RequestOptions = {}): Promise<T> {
  const response = await call(url, options);
  try {
    return (await response.json()) as T;
  } catch (e) {
    throw new TransportError(`${url} answered with a body that is not JSON`, { url }, { cause: e });
  }
}

/** A call whose answer is bytes. */
export async function requestBytes(url: string, options: RequestOptions = {}): Promise<Uint8Array> {
  const response = await call(url, options);
  return new Uint8Array(await response.arrayBuffer());
}
