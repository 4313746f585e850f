import { Registry } from 'prom-client';

// The one Prometheus registry of the process (served at admin GET /metrics). Each concern registers
// its own metrics here from its own module; hot paths bump plain numbers that `collect()` reads.
export const registry = new Registry();
