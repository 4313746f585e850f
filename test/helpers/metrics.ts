import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';

// Reading the admin /metrics of a test gateway with a real Prometheus text-format parser.

export type Families = Map<string, PromFamily>;

export async function scrape(adminPort: number): Promise<Families> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

function labelsMatch(s: PromSample, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => (s.labels ?? {})[k] === v);
}

/** The series of `name` whose labels include `labels` (exactly one expected), or undefined. */
export function series(f: Families, name: string, labels: Record<string, string> = {}): PromSample | undefined {
  const hits = (f.get(name)?.metrics ?? []).filter((s) => labelsMatch(s, labels));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} series match`);
  return hits[0];
}

/** The value of a counter or gauge series (0 when the series is absent). */
export function value(f: Families, name: string, labels: Record<string, string> = {}): number {
  const s = series(f, name, labels);
  return s?.value === undefined ? 0 : Number(s.value);
}

/** The sum of every series of `name` whose labels include `labels`. */
export function total(f: Families, name: string, labels: Record<string, string> = {}): number {
  return (f.get(name)?.metrics ?? []).filter((s) => labelsMatch(s, labels)).reduce((a, s) => a + Number(s.value ?? 0), 0);
}
