/**
 * The benchmark harness (`npm run bench`): runs every metric group, merges
 * their metrics, prints a table and writes `bench/results.json`.
 * Add a group by writing `bench/<group>.ts` and listing it in `GROUPS`.
 *
 * `BENCH_GROUPS=anchor,merkle npm run bench` runs only the named groups; their
 * metrics then replace the same names in the existing `results.json` and every
 * other metric there is kept.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { accessMetrics } from "./access.ts";
import { anchorMetrics } from "./anchor.ts";
import { cliMetrics } from "./cli.ts";
import { chainCryptoMetrics, cryptoMetrics } from "./crypto.ts";
import { fogMetrics } from "./fog.ts";
import { ledgerMetrics } from "./ledger.ts";
import { logsMetrics } from "./logs.ts";
import { formatTable, type MetricGroup, type Metrics, mergeMetrics, writeResults } from "./metrics.ts";
import { merkleMetrics } from "./merkle.ts";
import { nbiotMetrics } from "./nbiot.ts";
import { registryMetrics } from "./registry.ts";
import { servicesMetrics } from "./services.ts";

const GROUPS: readonly MetricGroup[] = [
  { name: "registry", run: registryMetrics },
  { name: "crypto", run: cryptoMetrics },
  { name: "chain-crypto", run: chainCryptoMetrics },
  { name: "merkle", run: merkleMetrics },
  { name: "anchor", run: anchorMetrics },
  { name: "nbiot", run: nbiotMetrics },
  { name: "fog", run: fogMetrics },
  { name: "access", run: accessMetrics },
  { name: "ledger", run: ledgerMetrics },
  { name: "logs", run: logsMetrics },
  { name: "cli", run: cliMetrics },
  { name: "services", run: servicesMetrics },
];

const RESULTS = fileURLToPath(new URL("./results.json", import.meta.url));

/** The groups named in `BENCH_GROUPS` (comma-separated), or all of them. */
function selectedGroups(): readonly MetricGroup[] {
  const names = process.env.BENCH_GROUPS?.split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (names === undefined || names.length === 0) return GROUPS;
  const unknown = names.filter((n) => !GROUPS.some((g) => g.name === n));
  if (unknown.length > 0) {
    throw new Error(`bench: unknown group(s) ${unknown.join(", ")}; groups: ${GROUPS.map((g) => g.name).join(", ")}`);
  }
  return GROUPS.filter((g) => names.includes(g.name));
}

/** The metrics of an earlier run (none when there is no results file). */
async function previousResults(): Promise<Metrics> {
  try {
    return JSON.parse(await readFile(RESULTS, "utf8")) as Metrics;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
}

const groups = selectedGroups();
const measured: Metrics[] = [];
for (const group of groups) {
  const started = performance.now();
  measured.push(await group.run());
  console.log(`bench: ${group.name} measured in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const metrics = mergeMetrics(measured);
const all = groups === GROUPS ? metrics : { ...(await previousResults()), ...metrics };
await writeResults(all, RESULTS);
console.log(`\n${formatTable(metrics)}\n`);
console.log(`bench: results written to ${RESULTS}`);
