/**
 * Typed errors on the wire: a `StrataError` thrown in a service becomes an error answer
 * `{ "error": { "name", "message", "reason"?, "details"? } }` with a fitting status, and a
 * client rebuilds the same error class from it, so a caller across the network branches on
 * `instanceof` and `reason` as it would in process.
 */
import * as errors from "../../sdk/errors.ts";
import { InvalidInputError, RejectionError, StrataError, TransportError } from "../../sdk/errors.ts";

/** The body of every error answer. */
export interface ErrorAnswer {
  readonly error: {
    readonly name: string;
    readonly message: string;
    readonly reason?: string;
    readonly details?: Record<string, unknown>;
  };
}

/** A request was refused because the service is at capacity or shutting down (503, retryable). */
export class ServiceUnavailableError extends TransportError {
  override name = "ServiceUnavailableError" as const;
}

/** A request body over the service's size limit. */
export class PayloadTooLargeError extends InvalidInputError {
  constructor(shortMessage: string, details: errors.ErrorDetails = {}) {
    super(shortMessage, details);
    Object.defineProperty(this, "name", { value: "PayloadTooLargeError", enumerable: false, writable: true });
  }
}

/** A resource the request names does not exist. */
export class NotFoundError extends StrataError {
  override name = "NotFoundError" as const;
}

/** The HTTP status an error is answered with. */
export function statusOf(error: StrataError): number {
  const reason = error instanceof RejectionError ? String(error.reason) : "";
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof NotFoundError || reason === "not-found" || reason === "unknown") return 404;
  if (error instanceof errors.PeerAuthenticationError) return 401;
  if (error instanceof errors.AccessDeniedError) return 403;
  // a key server's refusal: who is asking could not be established (401), or may not have the keys (403)
  if (error instanceof errors.KeyRequestRefusedError) {
    return ["unknown-device", "not-active", "wrong-role", "bad-epoch"].includes(reason) ? 403 : 401;
  }
  if (error instanceof TransportError) return 503;
  if (reason === "duplicate" || reason === "conflict" || reason === "stale-version") return 409;
  if (
    error instanceof InvalidInputError ||
    error instanceof RejectionError ||
    error instanceof errors.DecryptionError ||
    error instanceof errors.ThresholdError
  )
    return 400;
  return 500;
}

/** JSON-safe details (bigint and bytes as strings). */
function plain(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
    ),
  ) as Record<string, unknown>;
}

/** The error answer of `error` (a non-Strata error is an internal error and its text is not sent). */
export function answerOf(error: unknown): { status: number; body: ErrorAnswer } {
  if (!(error instanceof StrataError)) {
    return { status: 500, body: { error: { name: "InternalError", message: "internal error" } } };
  }
  const reason = error instanceof RejectionError ? String(error.reason) : undefined;
  const details = Object.keys(error.details).length > 0 ? plain(error.details) : undefined;
  return {
    status: statusOf(error),
    body: {
      error: {
        name: error.name,
        message: error.shortMessage,
        ...(reason === undefined ? {} : { reason }),
        ...(details === undefined ? {} : { details }),
      },
    },
  };
}

const LOCAL: Record<string, new (message: string, details?: errors.ErrorDetails) => StrataError> = {
  ServiceUnavailableError,
  PayloadTooLargeError,
  NotFoundError,
};

/**
 * Rebuilds the error an answer carries: the same `StrataError` subclass (with its `reason` for a
 * rejection), or a `TransportError` when the answer is not an error answer.
 */
export function errorFromAnswer(status: number, body: unknown, what: string): StrataError {
  const e = (body as Partial<ErrorAnswer> | undefined)?.error;
  if (e === undefined || typeof e.name !== "string" || typeof e.message !== "string") {
    return new TransportError(`${what} answered HTTP ${status} without an error answer`, { status });
  }
  const details = { ...(e.details ?? {}), remote: what };
  const Local = LOCAL[e.name];
  if (Local !== undefined) return new Local(e.message, details);
  const Class = (errors as Record<string, unknown>)[e.name];
  if (typeof Class === "function" && Class.prototype instanceof StrataError) {
    // Built through the base constructors (subclasses take other arguments), with the class's prototype.
    const rebuilt =
      Class.prototype instanceof RejectionError && e.reason !== undefined
        ? (Reflect.construct(RejectionError, [e.reason, e.message, details], Class) as StrataError)
        : (Reflect.construct(StrataError, [e.message, details], Class) as StrataError);
    rebuilt.name = e.name;
    return rebuilt;
  }
  const generic = new StrataError(e.message, details);
  Object.defineProperty(generic, "name", { value: e.name });
  return generic;
}
