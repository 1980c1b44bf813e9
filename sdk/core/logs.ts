/**
 * Pure rules of the chunked log reader (`sdk/contracts/logs.ts`): which node
 * errors mean "this block range is too large", and how the span of the next
 * `eth_getLogs` query follows from the last outcome (halve on a range error,
 * double back after successes, never above a learned ceiling for long).
 */

/** JSON-RPC codes nodes answer an over-large `eth_getLogs` with (Infura/Alchemy -32005, geth/erigon -32602, …). */
const RANGE_CODES = new Set([-32005, -32602]);

const RANGE_MESSAGE =
  /query returned more than|block range|range (is )?too (large|wide|big)|exceed|too many (blocks|results|logs)|limit(ed)? to \d|response size/i;

/**
 * True when `error` (or an error it wraps: ethers' `error`, `info.error`,
 * `cause`, a JSON-RPC `payload`) is a node refusing a log query for its range
 * or result size, e.g. -32005 "query returned more than 10000 results" that
 * ethers reports as "could not coalesce error".
 */
export function isRangeLimitError(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 6) return false;
  const e = error as Record<string, unknown>;
  if (typeof e.code === "number" && RANGE_CODES.has(e.code)) return true;
  if (typeof e.message === "string" && RANGE_MESSAGE.test(e.message)) return true;
  for (const key of ["error", "info", "cause", "payload"]) {
    if (isRangeLimitError(e[key], depth + 1)) return true;
  }
  return false;
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
