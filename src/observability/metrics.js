import { Counter, Registry } from 'prom-client';
// The gateway's Prometheus registry (served at admin GET /metrics). Metrics are created here, once,
// and incremented through their handles: never looked up by name on the request path.
export const registry = new Registry();
export const authnFailures = new Counter({
    name: 'gatehouse_authn_failures_total',
    help: 'Edge token validations that failed, by reason',
    labelNames: ['reason'],
    registers: [registry],
});
