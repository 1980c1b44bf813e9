/**
 * A batch of device registrations from a CSV or JSON file: one row per device, its key's name in
 * the keystore and its registration fields. Parsing is pure and names the row and column at fault.
 */
import { InvalidInputError } from "../sdk/index.ts";

export interface BatchRow {
  /** Line (CSV, from 2) or index (JSON, from 1) in the file. */
  readonly row: number;
  readonly key: string;
  readonly localId: bigint;
  readonly kind: string;
  readonly label: string;
  readonly class: string;
  readonly permissions: number;
}

const COLUMNS = ["key", "local_id", "kind", "label", "class", "permissions"] as const;

function rowOf(row: number, fields: Record<string, unknown>, file: string): BatchRow {
  const at = (column: string) => `${file} row ${row}, ${column}`;
  const str = (column: string, fallback?: string): string => {
    const v = fields[column] ?? fields[column.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())] ?? fallback;
    if (typeof v !== "string" && typeof v !== "number") throw new InvalidInputError(`${at(column)}: missing`, { row });
    return String(v).trim();
  };
  const localId = str("local_id");
  if (!/^[0-9]+$/.test(localId))
    throw new InvalidInputError(`${at("local_id")}: expected a non-negative integer`, { row });
  const permissions = str("permissions", "1");
  if (!/^[0-9]+$/.test(permissions)) throw new InvalidInputError(`${at("permissions")}: expected an integer`, { row });
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

/** The rows of a `.csv` (header: key,local_id[,kind,label,class,permissions]) or `.json` (an array of objects). */
export function parseBatch(text: string, file: string): BatchRow[] {
  if (file.endsWith(".json")) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new InvalidInputError(`${file}: not JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(raw)) throw new InvalidInputError(`${file}: expected an array of devices`);
    return raw.map((r, i) => {
      if (typeof r !== "object" || r === null) throw new InvalidInputError(`${file} row ${i + 1}: expected an object`);
      return rowOf(i + 1, r as Record<string, unknown>, file);
    });
  }
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.split(",").map((h) => h.trim().toLowerCase()) ?? [];
  for (const required of ["key", "local_id"]) {
    if (!header.includes(required)) throw new InvalidInputError(`${file}: the header needs a ${required} column`);
  }
  for (const h of header) {
    if (!(COLUMNS as readonly string[]).includes(h)) throw new InvalidInputError(`${file}: unknown column ${h}`);
  }
  const rows: BatchRow[] = [];
  for (const [i, line] of lines.entries()) {
    if (i === 0 || line.trim() === "") continue;
    const cells = line.split(",");
    if (cells.length !== header.length) {
      throw new InvalidInputError(`${file} row ${i + 1}: ${cells.length} cells, the header has ${header.length}`);
    }
    rows.push(rowOf(i + 1, Object.fromEntries(header.map((h, j) => [h, cells[j]!])), file));
  }
  if (rows.length === 0) throw new InvalidInputError(`${file}: no devices`);
  return rows;
}
