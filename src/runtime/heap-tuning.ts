import { setFlagsFromString } from 'node:v8';

// V8 flags for a proxy's allocation pattern, set before any other module is loaded (imported first
// by main.ts). Allocation-site pretenuring watches how many objects of each allocation site survive
// a scavenge; a burst (connections opening at once, the first requests before the JIT warms up)
// makes the sites of per-request objects (parsed headers, header arrays, the exchange) look
// long-lived, and from then on V8 allocates them straight in the old generation: every request's
// garbage then waits for a full mark-compact. Measured with bench:peers (2 cores, wrk -c50): ~30 %
// less CPU per request and ~70 MB less RSS after load with it off; nothing else changes.
setFlagsFromString('--no-allocation-site-pretenuring');
