import { Counter, Gauge } from 'prom-client';
import { registry } from "../../observability/metrics.js";
const stats = new Map();
export function statsFor(policy) {
    let s = stats.get(policy);
    if (!s) {
        s = { allowed: 0, limited: 0, fallback: 0 };
        stats.set(policy, s);
    }
    return s;
}
function perPolicy(name, help, pick) {
    return new Counter({
        name,
        help,
        labelNames: ['policy'],
        registers: [registry],
        collect() {
            this.reset();
            for (const [policy, s] of stats)
                this.inc({ policy }, pick(s));
        },
    });
}
perPolicy('gatehouse_ratelimit_limited_total', 'Requests refused with 429 by a rate-limit policy', (s) => s.limited);
perPolicy('gatehouse_ratelimit_allowed_total', 'Requests a rate-limit policy let through', (s) => s.allowed);
perPolicy('gatehouse_ratelimit_fallback_total', 'Rate-limit decisions taken from per-process memory because the shared store did not answer', (s) => s.fallback);
/** 1 while the rate-limit Redis answers, 0 during an outage; absent without a Redis store. */
export const redisState = { configured: false, up: true, outages: 0 };
new Gauge({
    name: 'gatehouse_ratelimit_redis_up',
    help: '1 while the rate-limit Redis is reachable, 0 while limits fall back to per-process memory',
    registers: [registry],
    collect() {
        this.reset();
        if (redisState.configured)
            this.set(redisState.up ? 1 : 0);
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
