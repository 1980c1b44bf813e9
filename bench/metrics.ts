/**
 * Shared shapes and output of the benchmark harness: a metric group returns
 * `Metrics`; `bench/run.ts` merges the groups, prints `formatTable` and writes
 * the merged object with `writeResults` (`bench/results.json`).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export type Unit = "gas" | "ops/s" | "s" | "ms" | "us" | "x" | "requests" | "bytes";

/** The reference a metric is compared with, measured in the same run. */
export interface Baseline {
  readonly name: string;
  readonly value: number;
}

/** The figure a metric must meet. */
export interface Target {
  readonly op: "<=" | ">=";
  readonly value: number;
}

export interface Metric {
  readonly value: number;
  readonly unit: Unit;
  readonly baseline?: Baseline;
  readonly target?: Target;
}

export type Metrics = Record<string, Metric>;

/** One module of the harness: a name and the function measuring its metrics. */
export interface MetricGroup {
  readonly name: string;
  readonly run: () => Promise<Metrics>;
}

/** The median of a non-empty list (mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** value / baseline (undefined without a baseline). */
export function baselineRatio(metric: Metric): number | undefined {
  return metric.baseline === undefined ? undefined : metric.value / metric.baseline.value;
}

/** Whether the metric meets its target (undefined without a target). */
export function meetsTarget(metric: Metric): boolean | undefined {
  const t = metric.target;
  if (t === undefined) return undefined;
  return t.op === "<=" ? metric.value <= t.value : metric.value >= t.value;
}

/** Merges the groups' metrics; a name measured twice is a harness bug. */
export function mergeMetrics(groups: readonly Metrics[]): Metrics {
  const merged: Metrics = {};
  for (const group of groups) {
    for (const [name, metric] of Object.entries(group)) {
      if (name in merged) throw new Error(`metric ${name} reported twice`);
      merged[name] = metric;
    }
  }
  return merged;
}

function formatNumber(value: number, unit: Unit): string {
  const digits = unit === "gas" ? (Number.isInteger(value) ? 0 : 2) : unit === "x" ? 3 : 2;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A plain-text table: metric, value, unit, baseline, ratio to baseline, target. */
export function formatTable(metrics: Metrics): string {
  const header = ["metric", "value", "unit", "baseline", "ratio", "target"];
  const rows = Object.entries(metrics).map(([name, m]) => {
    const ratio = baselineRatio(m);
    const met = meetsTarget(m);
    return [
      name,
      formatNumber(m.value, m.unit),
      m.unit,
      m.baseline === undefined ? "-" : `${m.baseline.name} ${formatNumber(m.baseline.value, m.unit)}`,
      ratio === undefined ? "-" : `${ratio.toFixed(3)}x`,
      m.target === undefined ? "-" : `${m.target.op} ${formatNumber(m.target.value, m.unit)} ${met ? "ok" : "MISSED"}`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([1, 4]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Writes the metrics as pretty JSON (creating the directory). */
export async function writeResults(metrics: Metrics, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(metrics, null, 2)}\n`);
}
