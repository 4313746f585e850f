import type { Aggregator, Metric, Registry } from 'prom-client';

// Metrics read at scrape time. The request path only bumps plain numbers (and histogram cells) on
// objects built with the compiled config and held by the route, cluster or listener; a collected
// metric walks the live objects when /metrics (or /stats) is read. So a request never hashes labels
// or touches prom-client, and a retired route or cluster simply stops being walked: no stale series.
//
// A collected metric is an object with prom-client's metric shape ({ name, help, type, aggregator,
// get() }), registered in the one registry: the text format and the `--workers` aggregation
// (AggregatorRegistry works on getMetricsAsJSON()) treat it like any prom-client metric.

export type Labels = Readonly<Record<string, string>>;

/** One series of a counter or gauge: its labels and current value. */
export type Sample = readonly [Labels, number];

/** Upper bounds (seconds) of the duration histograms: sub-millisecond gateway work to slow upstreams. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);

/** A histogram's cells for one series: per-bucket counts (not cumulative), sum and count. */
export class HistogramCells {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i-1]; the last cell is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = DURATION_BUCKETS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** Collected metrics must be registered once per process (tests start many gateways). */
function register(registry: Registry, metric: { readonly name: string; readonly [more: string]: unknown }): void {
  if (registry.getSingleMetric(metric.name)) return;
  registry.registerMetric(metric as unknown as Metric);
}

/**
 * A counter or gauge whose series come from `read()` at scrape time. Counters must only grow for
 * a series that stays (keep its number on an object that outlives reloads).
 */
export function collected(
  registry: Registry,
  o: {
    name: string;
    help: string;
    type: 'counter' | 'gauge';
    /** How `--workers` combine their values (default: sum). */
    aggregator?: Aggregator;
    read: () => Iterable<Sample>;
  },
): void {
  register(registry, {
    name: o.name,
    help: o.help,
    type: o.type,
    aggregator: o.aggregator ?? 'sum',
    async get() {
      const values: Value[] = [];
      for (const [labels, value] of o.read()) values.push({ labels: { ...labels }, value });
      return { name: o.name, help: o.help, type: o.type, aggregator: o.aggregator ?? 'sum', values };
    },
  });
}

/** A histogram whose series (cells) come from `read()` at scrape time. */
export function collectedHistogram(
  registry: Registry,
  o: { name: string; help: string; read: () => Iterable<readonly [Labels, HistogramCells]> },
): void {
  register(registry, {
    name: o.name,
    help: o.help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: Value[] = [];
      for (const [labels, cells] of o.read()) {
        let cumulative = 0;
        cells.bounds.forEach((le, i) => {
          cumulative += cells.counts[i];
          values.push({ metricName: `${o.name}_bucket`, labels: { ...labels, le }, value: cumulative });
        });
        cumulative += cells.counts[cells.bounds.length];
        values.push({ metricName: `${o.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
        values.push({ metricName: `${o.name}_sum`, labels: { ...labels }, value: cells.sum });
        values.push({ metricName: `${o.name}_count`, labels: { ...labels }, value: cells.count });
      }
      return { name: o.name, help: o.help, type: 'histogram', aggregator: 'sum', values };
    },
  });
}
