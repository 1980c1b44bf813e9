/**
 * Who may speak for an edge layer's objects (seed 003 §III.A: the central node signs P for the
 * objects of its layer). `POST /contracts/open` and `/contracts/follow` make the node sign and pay
 * for a contract message, so off the loopback interface a caller must present one of the
 * configured client tokens (`authorization: Bearer …`); the configuration holds only their
 * SHA-256, compared in constant time. On loopback, the machine's own processes are the objects'
 * gateway and no token is needed unless some are configured.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

import type { FastifyRequest } from "fastify";

import { InvalidInputError, PeerAuthenticationError } from "../../sdk/errors.ts";

/** A client allowed to speak for the layer's objects. */
export interface ObjectClient {
  readonly name: string;
  /** SHA-256 of its token, hex (64 digits). */
  readonly tokenSha256: string;
}

export const OBJECT_CLIENTS_SCHEMA = {
  type: "array",
  maxItems: 1000,
  items: {
    type: "object",
    additionalProperties: false,
    required: ["name", "tokenSha256"],
    properties: {
      name: { type: "string", minLength: 1, maxLength: 100 },
      tokenSha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
    },
  },
} as const;

/** Whether `host` is a loopback address (or name). */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/** Refuses an edge node that would serve its objects' endpoints beyond loopback without client tokens. */
export function checkObjectAccess(
  host: string,
  clients: readonly ObjectClient[] | undefined,
  configFile: string,
): void {
  if (!isLoopback(host) && (clients === undefined || clients.length === 0)) {
    throw new InvalidInputError(
      `${configFile}: /clients is missing: an edge node listening on ${host} must authenticate who speaks for its objects`,
      { file: configFile, field: "/clients", host },
    );
  }
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * A fastify pre-handler checking the bearer token of an objects' endpoint against `clients`
 * (nothing to check when there are none: loopback only, see `checkObjectAccess`). A missing or
 * unknown token is a `PeerAuthenticationError` (401) before the body is looked at.
 */
export function objectAuthHook(
  clients: readonly ObjectClient[] | undefined,
): (request: FastifyRequest) => Promise<void> {
  const hashes = (clients ?? []).map((c) => Buffer.from(c.tokenSha256, "hex"));
  return (request) => {
    if (hashes.length === 0) return Promise.resolve();
    const header = request.headers.authorization;
    const match = typeof header === "string" ? /^Bearer ([\x21-\x7e]{16,512})$/.exec(header) : null;
    if (match === null) {
      return Promise.reject(
        new PeerAuthenticationError("no-credential", "this endpoint needs a client token (authorization: Bearer …)"),
      );
    }
    const given = sha256(match[1]!);
    let known = false;
    for (const h of hashes) known = timingSafeEqual(h, given) || known;
    if (!known)
      return Promise.reject(new PeerAuthenticationError("bad-credential", "the client token is not known here"));
    return Promise.resolve();
  };
}
