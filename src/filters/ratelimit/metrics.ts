import { Counter, Gauge } from 'prom-client';
import { registry } from '../../observability/metrics.ts';

// Rate-limit metrics. The request path only bumps plain numbers on a PolicyStats object created at
// compile time (no label hashing per request); prom-client reads them when /metrics is scraped.
// Stats are kept by policy name for the life of the process, so reloads never reset a counter.

export interface PolicyStats {
  allowed: number;
  limited: number;
  /** Decisions taken from a per-process fallback (Redis unreachable, or no answer from the primary). */
  fallback: number;
}

const stats = new Map<string, PolicyStats>();

export function statsFor(policy: string): PolicyStats {
  let s = stats.get(policy);
  if (!s) {
    s = { allowed: 0, limited: 0, fallback: 0 };
    stats.set(policy, s);
  }
  return s;
}

function perPolicy(name: string, help: string, pick: (s: PolicyStats) => number): Counter<'policy'> {
  return new Counter({
    name,
    help,
    labelNames: ['policy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [policy, s] of stats) this.inc({ policy }, pick(s));
    },
  });
}

perPolicy('gatehouse_ratelimit_limited_total', 'Requests refused with 429 by a rate-limit policy', (s) => s.limited);
perPolicy('gatehouse_ratelimit_allowed_total', 'Requests a rate-limit policy let through', (s) => s.allowed);
perPolicy(
  'gatehouse_ratelimit_fallback_total',
  'Rate-limit decisions taken from per-process memory because the shared store did not answer',
  (s) => s.fallback,
);

/** 1 while the rate-limit Redis answers, 0 during an outage; absent without a Redis store. */
export const redisState = { configured: false, up: true, outages: 0 };

new Gauge({
  name: 'gatehouse_ratelimit_redis_up',
  help: '1 while the rate-limit Redis is reachable, 0 while limits fall back to per-process memory',
  registers: [registry],
  collect() {
    this.reset();
    if (redisState.configured) this.set(redisState.up ? 1 : 0);
  },
});

new Counter({
  name: 'gatehouse_ratelimit_redis_outages_total',
  help: 'Times the rate-limit Redis became unreachable',
  registers: [registry],
  collect() {
    this.reset();
    this.inc(redisState.outages);
  },
});
