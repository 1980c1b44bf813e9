/**
 * Clocks on the NB-IoT path: nodes, stations and the chain each keep their
 * own, and every comparison between two of them allows the same tolerated
 * skew, defined once here. A message is fresh while its timestamp is within
 * the skew of the receiver's clock, either way (`checkFresh`); a date that
 * must not lie in another clock's future may run ahead of it by the skew at
 * most (`checkNotAhead`): a station's blocks against the chain that anchors
 * them, a handed-over tip against the station taking it.
 */
import { ProtocolError } from "../errors.ts";

/**
 * How far two clocks of the data path may disagree (ms), either way: node and
 * station, station and station, station and chain. An application accepts a
 * block dated up to this much after the anchor of its batch. The default of
 * `Timing.clockSkewMs`, which every check reads.
 */
export const TOLERATED_SKEW_MS = 30_000;

/** Throws `ProtocolError("clock-skew")` unless `time` is within `skew` of `now`, either way. */
export function checkFresh(time: number, now: number, skew: number, what: string): void {
  if (Math.abs(now - time) > skew) {
    throw new ProtocolError("clock-skew", `${what} timestamp is ${now - time} ms from our clock`, { time, now, skew });
  }
}

/**
 * Throws `ProtocolError("clock-skew")` when `time` lies more than `skew` after
 * `reference` (another clock's now): such a date would be in that clock's future.
 */
export function checkNotAhead(time: number, reference: number, skew: number, what: string): void {
  if (time > reference + skew) {
    throw new ProtocolError("clock-skew", `${what} is dated ${time - reference} ms after the reference clock`, {
      time,
      reference,
      skew,
    });
  }
}
