import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';

// Reading the admin /metrics of a test gateway with a real Prometheus text-format parser
// (parse-prometheus-text-format). That parser folds every series of a histogram into one (it keeps
// labelled buckets only for unlabelled histograms), so histogram series are read from a second
// parse of the same text with the histograms' TYPE lines left out: their _bucket, _sum and _count
// samples then come back with their labels, and are grouped here by labels (minus `le`).

export interface HistogramSeries {
  labels: Record<string, string>;
  /** Cumulative count by `le` ("0.00025" … "+Inf"). */
  buckets: Record<string, number>;
  count: number;
  sum: number;
}

export class Metrics {
  readonly families: Map<string, PromFamily>;
  private readonly histograms = new Map<string, HistogramSeries[]>();

  constructor(text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    const histogramNames = [...this.families.values()].filter((f) => f.type === 'HISTOGRAM').map((f) => f.name);
    const untyped = text
      .split('\n')
      .filter((l) => !histogramNames.some((n) => l === `# TYPE ${n} histogram`))
      .join('\n');
    // Untyped, a histogram's lines come back as one family per run of _bucket, _sum, _count: gather them.
    const samples = new Map<string, PromSample[]>();
    for (const f of parsePrometheusTextFormat(untyped)) samples.set(f.name, [...(samples.get(f.name) ?? []), ...f.metrics]);
    for (const name of histogramNames) {
      const byKey = new Map<string, HistogramSeries>();
      const at = (labels: Record<string, string> = {}) => {
        const { le: _le, ...rest } = labels;
        const key = JSON.stringify(Object.entries(rest).sort());
        let s = byKey.get(key);
        if (!s) byKey.set(key, (s = { labels: rest, buckets: {}, count: 0, sum: 0 }));
        return s;
      };
      for (const b of samples.get(`${name}_bucket`) ?? []) at(b.labels).buckets[b.labels!.le] = Number(b.value);
      for (const c of samples.get(`${name}_count`) ?? []) at(c.labels).count = Number(c.value);
      for (const s of samples.get(`${name}_sum`) ?? []) at(s.labels).sum = Number(s.value);
      this.histograms.set(name, [...byKey.values()]);
    }
  }

  type(name: string): string | undefined {
    return this.families.get(name)?.type;
  }

  /** The counter or gauge series of `name` whose labels include `labels` (at most one expected). */
  series(name: string, labels: Record<string, string> = {}): PromSample | undefined {
    const hits = (this.families.get(name)?.metrics ?? []).filter((s) => includes(s.labels, labels));
    if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} series match`);
    return hits[0];
  }

  /** Its value (0 when the series is absent). */
  value(name: string, labels: Record<string, string> = {}): number {
    const v = this.series(name, labels)?.value;
    return v === undefined ? 0 : Number(v);
  }

  /** The sum over every series of `name` whose labels include `labels`. */
  total(name: string, labels: Record<string, string> = {}): number {
    return (this.families.get(name)?.metrics ?? []).filter((s) => includes(s.labels, labels)).reduce((a, s) => a + Number(s.value ?? 0), 0);
  }

  /** The histogram series of `name` whose labels include `labels` (at most one expected). */
  histogram(name: string, labels: Record<string, string> = {}): HistogramSeries | undefined {
    const hits = (this.histograms.get(name) ?? []).filter((s) => includes(s.labels, labels));
    if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} series match`);
    return hits[0];
  }

  /** Every label value of every series (counters, gauges and histograms). */
  *labelValues(): Iterable<[string, string]> {
    for (const f of this.families.values()) for (const s of f.metrics) for (const v of Object.values(s.labels ?? {})) yield [f.name, v];
    for (const [name, list] of this.histograms) for (const s of list) for (const v of Object.values(s.labels)) yield [name, v];
  }
}

function includes(have: Record<string, string> | undefined, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => (have ?? {})[k] === v);
}

export async function scrape(adminPort: number): Promise<Metrics> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return new Metrics(await res.text());
}
