/**
 * A batch of device registrations from a CSV or JSON file: one row per device, its key's name in
 * the keystore and its registration fields. Parsing is pure and names the row and column at fault.
 * CSV is RFC 4180 (quoted fields may hold commas, doubled quotes and line breaks); JSON numbers
 * that lost precision are refused; two rows for the same `local_id` are refused.
 */
import { InvalidInputError } from "../sdk/index.ts";

export interface BatchRow {
  /** Where the row is: the line it starts on (CSV, the header being row 1) or its place (JSON, from 1). */
  readonly row: number;
  readonly key: string;
  readonly localId: bigint;
  readonly kind: string;
  readonly label: string;
  readonly class: string;
  readonly permissions: number;
}

/** One CSV record: the line it starts on (from 1) and its fields, unquoted. */
export interface CsvRecord {
  readonly line: number;
  readonly cells: readonly string[];
}

const COLUMNS = ["key", "local_id", "kind", "label", "class", "permissions"] as const;

const MAX_UINT32 = 2n ** 32n - 1n;
const MAX_UINT256 = 2n ** 256n - 1n;

/**
 * The records of an RFC 4180 CSV text: fields separated by commas, records by CRLF or LF; a field
 * in double quotes may hold commas, line breaks and `""` for a quote. A quote anywhere else, text
 * after a closing quote, or a quote never closed is an `InvalidInputError` naming the line. A
 * leading byte order mark is skipped; blank lines are left out.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.startsWith("\uFEFF") ? 1 : 0;
  let line = 1;
  const lineEnd = (at: number): number => (text[at] === "\n" ? 1 : text[at] === "\r" && text[at + 1] === "\n" ? 2 : 0);
  while (i < text.length) {
    const start = line;
    const cells: string[] = [];
    let quotedRecord = false;
    for (;;) {
      let value = "";
      if (text[i] === '"') {
        quotedRecord = true;
        i += 1;
        for (;;) {
          if (i >= text.length) throw new InvalidInputError(`${file} row ${start}: a quoted field is never closed`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i += 1;
            break;
          }
          if (c === "\n") line += 1;
          value += c;
          i += 1;
        }
        if (i < text.length && text[i] !== "," && lineEnd(i) === 0) {
          throw new InvalidInputError(`${file} row ${line}: text after a closing quote (quote the whole field)`);
        }
      } else {
        while (i < text.length && text[i] !== "," && lineEnd(i) === 0) {
          if (text[i] === '"') {
            throw new InvalidInputError(
              `${file} row ${line}: a quote inside an unquoted field (quote the whole field and double the quote: "")`,
            );
          }
          value += text[i];
          i += 1;
        }
      }
      cells.push(value);
      if (text[i] === ",") {
        i += 1;
        continue;
      }
      const end = lineEnd(i);
      if (end > 0) {
        i += end;
        line += 1;
      }
      break;
    }
    if (!quotedRecord && cells.length === 1 && cells[0]!.trim() === "") continue;
    records.push({ line: start, cells });
  }
  return records;
}

/** A field's text: a string, or (JSON) an integer JSON holds exactly. */
function cellText(value: unknown, at: string, row: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value.trim();
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new InvalidInputError(`${at}: expected an integer, got ${value}`, { row });
    if (!Number.isSafeInteger(value)) {
      throw new InvalidInputError(
        `${at}: a JSON number beyond 2^53 - 1 loses precision (read as ${value}): write it as a string`,
        { row },
      );
    }
    return String(value);
  }
  throw new InvalidInputError(`${at}: expected a string or an integer, got ${typeof value}`, { row });
}

function rowOf(row: number, fields: Record<string, unknown>, file: string): BatchRow {
  const at = (column: string) => `${file} row ${row}, ${column}`;
  const str = (column: string, fallback?: string): string => {
    const camel = column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    const text = cellText(fields[column] ?? fields[camel], at(column), row);
    const v = text === undefined || text === "" ? fallback : text;
    if (v === undefined) throw new InvalidInputError(`${at(column)}: missing`, { row });
    return v;
  };
  const localId = str("local_id");
  if (!/^[0-9]+$/.test(localId) || BigInt(localId) > MAX_UINT256) {
    throw new InvalidInputError(`${at("local_id")}: expected an integer from 0 to 2^256 - 1, got ${localId}`, { row });
  }
  const permissions = str("permissions", "1");
  if (!/^[0-9]+$/.test(permissions) || BigInt(permissions) > MAX_UINT32) {
    throw new InvalidInputError(
      `${at("permissions")}: expected an integer from 0 to ${MAX_UINT32}, got ${permissions}`,
      {
        row,
      },
    );
  }
  return {
    row,
    key: str("key"),
    localId: BigInt(localId),
    kind: str("kind", "device"),
    label: str("label", "lightweight"),
    class: str("class", "device"),
    permissions: Number(permissions),
  };
}

/** Two rows registering the same `local_id` would collide: both are named. */
function checkUnique(rows: readonly BatchRow[], file: string): void {
  const seen = new Map<bigint, number>();
  for (const r of rows) {
    const first = seen.get(r.localId);
    if (first !== undefined) {
      throw new InvalidInputError(`${file} rows ${first} and ${r.row}: the same local_id ${r.localId}`, {
        rows: [first, r.row],
        localId: r.localId,
      });
    }
    seen.set(r.localId, r.row);
  }
}

function csvRows(text: string, file: string): BatchRow[] {
  const [head, ...body] = parseCsv(text, file);
  const header = head?.cells.map((h) => h.trim().toLowerCase()) ?? [];
  for (const required of ["key", "local_id"]) {
    if (!header.includes(required)) throw new InvalidInputError(`${file}: the header needs a ${required} column`);
  }
  for (const [j, h] of header.entries()) {
    if (!(COLUMNS as readonly string[]).includes(h)) throw new InvalidInputError(`${file}: unknown column ${h}`);
    if (header.indexOf(h) !== j) throw new InvalidInputError(`${file}: column ${h} appears twice in the header`);
  }
  return body.map((record) => {
    if (record.cells.length !== header.length) {
      throw new InvalidInputError(
        `${file} row ${record.line}: ${record.cells.length} cells, the header has ${header.length}`,
        { row: record.line },
      );
    }
    return rowOf(record.line, Object.fromEntries(header.map((h, j) => [h, record.cells[j]!])), file);
  });
}

function jsonRows(text: string, file: string): BatchRow[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file}: not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new InvalidInputError(`${file}: expected an array of devices`);
  return raw.map((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      throw new InvalidInputError(`${file} row ${i + 1}: expected an object`, { row: i + 1 });
    }
    return rowOf(i + 1, r as Record<string, unknown>, file);
  });
}

/** The rows of a `.csv` (header: key,local_id[,kind,label,class,permissions]) or `.json` (an array of objects). */
export function parseBatch(text: string, file: string): BatchRow[] {
  const rows = file.endsWith(".json") ? jsonRows(text, file) : csvRows(text, file);
  if (rows.length === 0) throw new InvalidInputError(`${file}: no devices`);
  checkUnique(rows, file);
  return rows;
}
