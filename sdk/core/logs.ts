/**
 * Pure rules of the chunked log reader (`sdk/contracts/logs.ts`): which node
 * errors mean "this block range is too large", and how the span of the next
 * `eth_getLogs` query follows from the last outcome (halve on a range error,
 * double back after successes, never above a learned ceiling for long).
 */

/**
 * What a node means by refusing a log query: its range or result size is too
 * large (`range`: query a smaller span), it is rate-limiting the caller
 * (`rate-limit`: wait and ask again; the span is not at fault), or anything
 * else (`other`: not the reader's to handle). Codes alone do not tell: -32005
 * is Infura's code for both "query returned more than 10000 results" and
 * "project ID request rate exceeded", and -32602 is also a genuine "invalid
 * params"; only the message says which.
 */
export type LogErrorKind = "range" | "rate-limit" | "other";

/** Messages of rate limits (Infura, Alchemy's 429 "exceeded its compute units", QuickNode, Ankr, Cloudflare …). */
const RATE_MESSAGE =
  /rate.?limit|too many requests|compute units|request limit|requests? per second|throughput|credits? (quota|limit)|daily request count|request rate/i;

/** Messages of a refused range or result size (geth, erigon, Besu, Infura, Alchemy, QuickNode, Ankr …). */
const RANGE_MESSAGE =
  /query returned more than|more than \d[\d,]* (results|logs|blocks)|(block|log) range|range (is )?too (large|wide|big)|(exceeds?|exceeded) (the )?(max(imum)?|allowed) (block )?range|range limit|limited to (a )?\d[\d,]* (block )?range|is limited to \d|too many (blocks|results|logs)|(blocks?|results?|logs?) limit exceeded|limit exceeded.*(blocks?|results?|logs?)|response size|result set too large/i;

/** Messages that name a range but mean a malformed query (geth's from > to), not a size. */
const INVALID_RANGE = /invalid block range|fromBlock.{0,20}(after|greater than|>).{0,20}toBlock/i;

/** Every (code, message, HTTP status) found in `error` and the errors it wraps (ethers' `error`, `info`, `cause`, `payload`, `response`). */
function collect(error: unknown, out: { codes: number[]; messages: string[] }, depth = 0): void {
  if (typeof error !== "object" || error === null || depth > 6) return;
  const e = error as Record<string, unknown>;
  if (typeof e.code === "number") out.codes.push(e.code);
  if (typeof e.status === "number") out.codes.push(e.status);
  if (typeof e.statusCode === "number") out.codes.push(e.statusCode);
  if (typeof e.message === "string") out.messages.push(e.message);
  if (typeof e.shortMessage === "string") out.messages.push(e.shortMessage);
  if (typeof e.body === "string") out.messages.push(e.body);
  for (const key of ["error", "info", "cause", "payload", "response"]) collect(e[key], out, depth + 1);
}

/** Which kind of refusal `error` is (see `LogErrorKind`): rate limits first, since their messages may also say "exceeded". */
export function classifyLogError(error: unknown): LogErrorKind {
  const found = { codes: [] as number[], messages: [] as string[] };
  collect(error, found);
  const text = found.messages.join("\n");
  if (found.codes.includes(429) || RATE_MESSAGE.test(text)) return "rate-limit";
  if (RANGE_MESSAGE.test(text) && !INVALID_RANGE.test(text)) return "range";
  // -32005 is EIP-1474's "limit exceeded": without a range message it is a rate limit
  if (found.codes.includes(-32005)) return "rate-limit";
  return "other";
}

/**
 * True when `error` (or an error it wraps) is a node refusing a log query for
 * its range or result size, e.g. -32005 "query returned more than 10000
 * results" that ethers reports as "could not coalesce error".
 */
export function isRangeLimitError(error: unknown): boolean {
  return classifyLogError(error) === "range";
}

/** True when `error` (or an error it wraps) is a node rate-limiting the caller. */
export function isRateLimitError(error: unknown): boolean {
  return classifyLogError(error) === "rate-limit";
}

/** Tries after a rate limit before the reader gives up with a `TransportError`. */
export const RATE_LIMIT_RETRIES = 4;

/** The wait before retry `attempt` (1, 2, …) after a rate limit: `base` doubled each time, at most 30 s. */
export function rateLimitBackoff(attempt: number, base: number): number {
  return Math.min(base * 2 ** (attempt - 1), 30_000);
}

/** How many blocks the next log query spans, and what the reader has learned of the node's cap. */
export interface SpanState {
  readonly span: number;
  /** The largest span known to pass after a range error (undefined: none seen). */
  readonly ceiling: number | undefined;
  /** Successes in a row since the last change. */
  readonly streak: number;
}

/** Successes at a learned ceiling before the reader probes twice that span again (the cap may be by result size). */
export const PROBE_AFTER = 16;

/** The starting state: `span` blocks, nothing learned. */
export function initialSpan(span: number): SpanState {
  return { span, ceiling: undefined, streak: 0 };
}

/** After a range error at `failed` blocks: half of it, remembered as the ceiling; `undefined` when 1 block already failed. */
export function shrinkSpan(failed: number): SpanState | undefined {
  if (failed <= 1) return undefined;
  const span = Math.floor(failed / 2);
  return { span, ceiling: span, streak: 0 };
}

/** After a success: double up to `max` (and to the ceiling, until `PROBE_AFTER` successes at it). */
export function growSpan(state: SpanState, max: number): SpanState {
  const streak = state.streak + 1;
  if (state.ceiling === undefined) return { span: Math.min(state.span * 2, max), ceiling: undefined, streak: 0 };
  if (state.span < state.ceiling)
    return { span: Math.min(state.span * 2, state.ceiling, max), ceiling: state.ceiling, streak };
  if (streak >= PROBE_AFTER) return { span: Math.min(state.ceiling * 2, max), ceiling: undefined, streak: 0 };
  return { span: Math.min(state.span, max), ceiling: state.ceiling, streak };
}
