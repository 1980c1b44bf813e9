/**
 * The benchmark harness (`npm run bench`): runs every metric group, merges
 * their metrics, prints a table and writes `bench/results.json`.
 * Add a group by writing `bench/<group>.ts` and listing it in `GROUPS`.
 */
import { fileURLToPath } from "node:url";

import { formatTable, type MetricGroup, type Metrics, mergeMetrics, writeResults } from "./metrics.ts";
import { chainCryptoMetrics, cryptoMetrics } from "./crypto.ts";
import { merkleMetrics } from "./merkle.ts";
import { registryMetrics } from "./registry.ts";

const GROUPS: readonly MetricGroup[] = [
  { name: "registry", run: registryMetrics },
  { name: "crypto", run: cryptoMetrics },
  { name: "chain-crypto", run: chainCryptoMetrics },
  { name: "merkle", run: merkleMetrics },
];

const RESULTS = fileURLToPath(new URL("./results.json", import.meta.url));

const measured: Metrics[] = [];
for (const group of GROUPS) {
  const started = performance.now();
  measured.push(await group.run());
  console.log(`bench: ${group.name} measured in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const metrics = mergeMetrics(measured);
await writeResults(metrics, RESULTS);
console.log(`\n${formatTable(metrics)}\n`);
console.log(`bench: results written to ${RESULTS}`);
