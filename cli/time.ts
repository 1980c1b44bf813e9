/**
 * Times on the command line, in whole unix seconds, parsed strictly (no `Date.parse` guessing):
 * decimal unix seconds, `now`, `+N` seconds from now (or with a unit: `s`, `m`, `h`, `d`), or an
 * ISO 8601 date-time with `Z` or an explicit offset. Arithmetic is on bigints, never floats; the
 * result must fit the field it is for (a uint64 unless the caller names a narrower one).
 */
import { InvalidInputError } from "../sdk/index.ts";

/** The field a time goes into: its largest value, and how an error names it. */
export interface TimeField {
  readonly max: bigint;
  readonly name: string;
}

export const UINT64_TIME: TimeField = { max: 2n ** 64n - 1n, name: "a uint64 time" };

/** An access token's shift times are uint40 seconds in `AccessTokens`. */
export const SHIFT_TIME: TimeField = { max: 2n ** 40n - 1n, name: "a shift time (uint40)" };

const UNITS = { s: 1n, m: 60n, h: 3600n, d: 86_400n } as const;

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

const FORMATS = "unix seconds, an ISO 8601 date-time with Z or an offset (2026-12-07T10:00:00Z), now or +N[smhd]";

export const nowSeconds = (): bigint => BigInt(Math.floor(Date.now() / 1000));

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: bigint, month: bigint, day: bigint): bigint {
  const y = month <= 2n ? year - 1n : year;
  const era = (y >= 0n ? y : y - 399n) / 400n;
  const yoe = y - era * 400n;
  const doy = (153n * (month + (month > 2n ? -3n : 9n)) + 2n) / 5n + day - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146_097n + doe - 719_468n;
}

function daysInMonth(year: bigint, month: bigint): bigint {
  if (month === 2n) return (year % 4n === 0n && year % 100n !== 0n) || year % 400n === 0n ? 29n : 28n;
  return [4n, 6n, 9n, 11n].includes(month) ? 30n : 31n;
}

/**
 * `value` as unix seconds for option `what` (e.g. `--until`), at most `field.max`. Anything else
 * (a date without a zone, a negative or fractional number, a non-zero fraction of a second, a date
 * that does not exist) is an `InvalidInputError` naming the option and the value.
 */
export function parseTime(value: string, what: string, field: TimeField = UINT64_TIME, now = nowSeconds()): bigint {
  const bad = (why: string): never => {
    throw new InvalidInputError(`${what}: ${why}, got ${JSON.stringify(value)}`, { option: what, value });
  };
  let seconds: bigint;
  const relative = /^\+([0-9]+)([smhd])?$/.exec(value);
  const iso = ISO.exec(value);
  if (value === "now") seconds = now;
  else if (relative) seconds = now + BigInt(relative[1]!) * UNITS[(relative[2] ?? "s") as keyof typeof UNITS];
  else if (/^[0-9]+$/.test(value)) seconds = BigInt(value);
  else if (iso) {
    const [year, month, day, hour, minute, second] = iso.slice(1, 7).map((p) => BigInt(p ?? "0")) as bigint[];
    const fraction = iso[7];
    if (month! < 1n || month! > 12n) bad(`month ${month} does not exist`);
    if (day! < 1n || day! > daysInMonth(year!, month!)) bad(`day ${day} does not exist in ${iso[1]}-${iso[2]}`);
    if (hour! > 23n || minute! > 59n || second! > 59n) bad("the time of day is out of range");
    if (fraction !== undefined && /[1-9]/.test(fraction)) bad("times are whole seconds: drop the fraction");
    let offset = 0n;
    if (iso[8] === undefined) {
      const [h, m] = [BigInt(iso[10]!), BigInt(iso[11]!)];
      if (h > 23n || m > 59n) bad("the offset is out of range");
      offset = (iso[9] === "-" ? -1n : 1n) * (h * 3600n + m * 60n);
    }
    seconds = daysFromCivil(year!, month!, day!) * 86_400n + hour! * 3600n + minute! * 60n + second! - offset;
    if (seconds < 0n) bad("before 1970-01-01T00:00:00Z");
  } else {
    return bad(`expected ${FORMATS}`);
  }
  if (seconds > field.max) bad(`larger than ${field.name} holds (at most ${field.max})`);
  return seconds;
}
