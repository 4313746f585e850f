import { Counter } from 'prom-client';
import { registry } from '../observability/metrics.ts';
import { retryStats } from './retry-policy.ts';
import { mirrorStats } from './mirror.ts';
import { faultStats } from '../filters/fault/fault-filter.ts';

// Retries, mirrors and faults count plain numbers on their (rare) paths; these counters read them
// when /metrics is scraped, so the request path never touches prom-client.

/** A counter fed from a running total read at scrape time; a series its source no longer yields is removed. */
function scraped(name: string, help: string, labelNames: string[], read: () => Iterable<[Record<string, string>, number]>): void {
  const seen = new Map<string, { labels: Record<string, string>; total: number }>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      const live = new Set<string>();
      for (const [labels, total] of read()) {
        const key = JSON.stringify(labels);
        live.add(key);
        const delta = total - (seen.get(key)?.total ?? 0);
        if (delta > 0) {
          this.inc(labels, delta);
          seen.set(key, { labels, total });
        }
      }
      for (const [key, s] of seen) {
        if (live.has(key)) continue;
        this.remove(s.labels);
        seen.delete(key);
      }
    },
  });
}

scraped('gatehouse_retries_total', 'Upstream retries made, by cluster', ['cluster'], function* () {
  for (const [cluster, n] of retryStats()) yield [{ cluster }, n];
});
scraped('gatehouse_mirror_requests_total', 'Mirrored (shadow) requests, by result', ['result'], function* () {
  const s = mirrorStats();
  yield [{ result: 'sent' }, s.sent];
  yield [{ result: 'failed' }, s.failed];
});
scraped('gatehouse_faults_injected_total', 'Requests delayed or aborted by fault injection', ['kind'], function* () {
  const s = faultStats();
  yield [{ kind: 'delay' }, s.delays];
  yield [{ kind: 'abort' }, s.aborts];
});
