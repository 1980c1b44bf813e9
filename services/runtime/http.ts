/**
 * The HTTP side of every service (fastify): a body size limit, a JSON Schema on every route's
 * body checked before any cryptography, one error handler turning thrown `StrataError`s into
 * typed error answers, `GET /metrics` (Prometheus) and `GET /healthz`.
 */
import type { ErrorObject } from "ajv";
import { fastify, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";

import { InvalidInputError, StrataError } from "../../sdk/errors.ts";
import { schemaErrorText } from "./config.ts";
import { answerOf, PayloadTooLargeError } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** What `/healthz` reports: 200 when `ok`, 503 otherwise, with the details either way. */
export interface Health {
  readonly ok: boolean;
  readonly [detail: string]: unknown;
}

export interface HttpServiceOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Largest request body in bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  readonly health: () => Health | Promise<Health>;
}

/** Default largest request body. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export function createHttpService(options: HttpServiceOptions): FastifyInstance {
  const app = fastify({
    // Requests are counted in /metrics, not logged one by one (fastify logs them at info).
    loggerInstance: options.logger.child({ part: "http" }, { level: "warn" }) as FastifyBaseLogger,
    // On close: idle keep-alive connections end at once, requests in flight are finished.
    forceCloseConnections: "idle",
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  const errorsTotal = options.metrics.counter(
    "http_errors_total",
    "HTTP requests answered with an error, by error name",
    ["route", "name"],
  );
  // Binary bodies (the NB-IoT messages) arrive as bytes.
  app.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, (_req, body, done) => {
    done(null, body);
  });
  app.setErrorHandler((error: FastifyError | StrataError, request, reply) => {
    let typed: unknown = error;
    if (!(error instanceof StrataError)) {
      const fe = error as FastifyError;
      if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        typed = new PayloadTooLargeError(`the request body is over ${app.initialConfig.bodyLimit} bytes`, {
          limit: app.initialConfig.bodyLimit,
        });
      } else if (fe.validation !== undefined) {
        const { field, problem } = schemaErrorText(fe.validation[0] as unknown as ErrorObject);
        typed = new InvalidInputError(`the request ${fe.validationContext ?? "body"} is invalid: ${field} ${problem}`, {
          field,
        });
      } else if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
        typed = new InvalidInputError(`the request is invalid: ${fe.message}`);
      } else {
        request.log.error({ err: error }, "request failed");
      }
    }
    const { status, body } = answerOf(typed);
    errorsTotal.inc({ route: request.routeOptions.url ?? "unknown", name: body.error.name });
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: { name: "NotFoundError", message: `no route ${request.method} ${request.url}` } });
  });
  app.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", options.metrics.registry.contentType);
    return options.metrics.text();
  });
  app.get("/healthz", async (_req, reply) => {
    const health = await options.health();
    void reply.code(health.ok ? 200 : 503);
    return health;
  });
  return app;
}

/** Listens on `host:port` (0: any free port) and tells the URL and the port taken. */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<{ url: string; port: number }> {
  await app.listen({ host, port });
  const address = app.server.address();
  const taken = typeof address === "object" && address !== null ? address.port : port;
  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${taken}`, port: taken };
}

/**
 * Stops `app` gracefully: no new connections, requests in flight finish; connections still open
 * after `graceMs` (a client that stopped mid-request) are cut.
 */
export async function closeHttp(app: FastifyInstance, graceMs = 5_000): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
