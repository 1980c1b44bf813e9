/**
 * The services' metrics (issue 15): `services.fog.filter.2workers.readingsPerSec`, a fog node's
 * PEKS filter (two keyword tests per reading, one pairing each) on a pool of 2 worker threads,
 * against the same on 1 worker in the same run (target >= 1.7x the baseline on a 2-core machine).
 */
import { filterThroughput, filterWorkload } from "../services/fog/filter-bench.ts";
import { median, type Metrics } from "./metrics.ts";

const READINGS = 500;
const RUNS = 3;

export async function servicesMetrics(): Promise<Metrics> {
  const workload = await filterWorkload(READINGS);
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    one.push(await filterThroughput(workload, 1));
    two.push(await filterThroughput(workload, 2));
  }
  const base = Math.round(median(one));
  const value = Math.round(median(two));
  return {
    "services.fog.filter.1worker.readingsPerSec": { value: base, unit: "ops/s" },
    "services.fog.filter.2workers.readingsPerSec": {
      value,
      unit: "ops/s",
      baseline: { name: "the same readings on 1 worker", value: base },
      target: { op: ">=", value: Math.round(base * 1.7) },
    },
  };
}
