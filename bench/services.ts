/**
 * The `services` group (issue 15, "Tests and figures"): Strata's roles as networked service
 * processes, each figure against a baseline measured in the same run.
 *
 * - bench/services-station.ts: a base station process's readings/s over CoAP with 1,000
 *   devices (against its in-process `ingest`), its p50/p99 time to receipt (against a bare CoAP
 *   echo server) and to anchored root on a `hardhat node` process (against one anchor).
 * - the fog service's filter pool (`services/fog/filter-bench.ts`): the PEKS tests alone on 2
 *   worker threads against 1 (`services.fog.filter.2workers.readingsPerSec`, target >= 1.7x);
 *   bench/services-fog.ts: a fog node's whole filter path on that pool, as the service's intake
 *   drains (`services.fog.node.2workers.readingsPerSec`).
 * - bench/services-memory.ts: a station's store and ingest path after 100k, 500k and 1M
 *   readings, in a child process (`--expose-gc`): heap 1M against 100k, RSS 1M against 500k.
 */
import { join } from "node:path";

import { filterThroughput, filterWorkload } from "../services/fog/filter-bench.ts";
import { startProcess } from "../services/runtime/process.ts";
import { median, type Metrics } from "./metrics.ts";
import { fogPoolMetrics } from "./services-fog.ts";
import type { MemoryPoint } from "./services-memory.ts";
import { stationMetrics } from "./services-station.ts";

const CHILD = join(import.meta.dirname, "services-child.ts");
const POOL_READINGS = 500;
const POOL_RUNS = 3;

/** The fog service's filter pool alone: its PEKS tests on 2 worker threads against 1. */
async function filterPoolMetrics(): Promise<Metrics> {
  const workload = await filterWorkload(POOL_READINGS);
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < POOL_RUNS; i++) {
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

/** Heap and RSS of a station fed 1M readings, in a process of its own. */
async function memoryMetrics(): Promise<Metrics> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  let result: MemoryPoint[] | undefined;
  const child = await startProcess(process.execPath, ["--expose-gc", CHILD, "memory"], {
    env,
    name: "bench memory",
    onLine: (line) => {
      const parsed = JSON.parse(line) as { result?: MemoryPoint[]; readings?: number };
      if (parsed.result !== undefined) result = parsed.result;
      else console.log(`bench: services: memory at ${line}`);
    },
  });
  const exit = await child.exited;
  if (exit !== 0 || result === undefined)
    throw new Error(`bench: the memory child ended with ${exit}: ${child.logs()}`);
  const [p100k, p500k, p1m] = result as [MemoryPoint, MemoryPoint, MemoryPoint];
  return {
    "services.station.memory.heapAt1M.bytes": {
      value: p1m.heapUsed,
      unit: "bytes",
      baseline: { name: "heap used at 100k readings", value: p100k.heapUsed },
      target: { op: "<=", value: Math.round(p100k.heapUsed * 1.2) },
    },
    "services.station.memory.rssAt1M.bytes": {
      value: p1m.rss,
      unit: "bytes",
      baseline: { name: "RSS at 500k readings", value: p500k.rss },
      target: { op: "<=", value: Math.round(p500k.rss * 1.1) },
    },
  };
}

export async function servicesMetrics(): Promise<Metrics> {
  const timed = async (name: string, run: () => Promise<Metrics>): Promise<Metrics> => {
    const started = performance.now();
    const out = await run();
    console.log(`bench: services: ${name} measured in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return out;
  };
  return {
    ...(await timed("station", stationMetrics)),
    ...(await timed("fog filter pool", filterPoolMetrics)),
    ...(await timed("fog node on the pool", fogPoolMetrics)),
    ...(await timed("memory", memoryMetrics)),
  };
}
