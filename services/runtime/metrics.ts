/**
 * Prometheus metrics of a service (prom-client), one registry per service, every name
 * prefixed `strata_` and labelled with the service, plus Node's default process metrics
 * (heap, RSS, event-loop lag).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  counter<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string = string>(
    name: string,
    help: string,
    buckets?: readonly number[],
    labelNames?: readonly L[],
  ): Histogram<L>;
  /** The Prometheus text exposition. */
  text(): Promise<string>;
}

/** Seconds buckets from 1 ms to 5 min (times to receipt, to anchor, of rounds). */
export const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Size buckets (batch sizes, queue depths). */
export const SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

export function createMetrics(service: string, options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaults !== false) collectDefaultMetrics({ register: registry, prefix: "strata_" });
  const name = (n: string) => (n.startsWith("strata_") ? n : `strata_${n}`);
  return {
    registry,
    counter: (n, help, labelNames = []) => new Counter({ name: name(n), help, labelNames, registers: [registry] }),
    gauge: (n, help, labelNames = []) => new Gauge({ name: name(n), help, labelNames, registers: [registry] }),
    histogram: (n, help, buckets = SECONDS_BUCKETS, labelNames = []) =>
      new Histogram({ name: name(n), help, buckets: [...buckets], labelNames, registers: [registry] }),
    text: () => registry.metrics(),
  };
}
