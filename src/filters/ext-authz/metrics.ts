import { Counter, Histogram } from 'prom-client';
import { registry } from '../../observability/metrics.ts';

// ext_authz metrics. Decisions are plain numbers bumped on the request path and read by prom-client
// when /metrics is scraped; the call-latency histogram has no labels (one series, no lookup per call).

export type DecisionResult = 'allowed' | 'denied' | 'error' | 'failure_mode_allowed';

export const decisionCounts: Record<DecisionResult, number> = { allowed: 0, denied: 0, error: 0, failure_mode_allowed: 0 };

new Counter({
  name: 'gatehouse_ext_authz_decisions_total',
  help: 'External authorization decisions, by result (error: the service failed and the request was refused)',
  labelNames: ['result'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [result, n] of Object.entries(decisionCounts)) this.inc({ result }, n);
  },
});

export const checkDuration = new Histogram({
  name: 'gatehouse_ext_authz_duration_seconds',
  help: 'Time from sending a Check to its answer (or failure), in seconds',
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});
