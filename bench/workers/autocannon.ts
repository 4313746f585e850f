import { readFileSync } from 'node:fs';
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { argJson, emit, exitWithParent, HeaderCycler, type VarySpec } from './common.ts';

// HTTP/1.1 load in its own process (so the load generator never shares an event loop with a server):
// a warm-up run, then `measure-start`, then the measured run, then one `result` line.
// autocannon always connects with rejectUnauthorized: false; we still pass the dev CA and SNI.
// Latency percentiles come from autocannon's per-response durations recorded in ns here (its own
// histogram has 1 ms resolution, too coarse for loopback).

interface Args {
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  caFile: string | null;
  headers?: Record<string, string>;
  /** One header cycled through the lines of `file` from line `start` (e.g. distinct tokens). */
  vary?: VarySpec | null;
}

const a = argJson<Args>();
const vary = a.vary ? new HeaderCycler(a.vary) : null;
const varyRequests = vary
  ? [
      {
        setupRequest: (req: { headers: Record<string, string> }) => {
          req.headers[a.vary!.name] = vary.value();
          return req;
        },
      },
    ]
  : undefined;
exitWithParent();

const tlsOptions = a.caFile ? { ca: readFileSync(a.caFile) } : undefined;

const latency = createHistogram();

function run(durationS: number, samples: string[] | null): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: a.url,
        connections: a.connections,
        pipelining: 1,
        duration: durationS,
        servername: 'localhost',
        ...(a.headers && Object.keys(a.headers).length ? { headers: a.headers } : {}),
        ...(varyRequests ? { requests: varyRequests } : {}),
        ...(tlsOptions ? { tlsOptions } : {}),
      } as autocannon.Options,
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (samples) {
      inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latency.record(Math.max(1, Math.round(ms * 1e6)));
      });
      inst.on('reqError', (err: Error) => {
        if (samples.length < 5) samples.push(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim());
      });
    }
  });
}

if (a.warmupS > 0) await run(a.warmupS, null);
emit('measure-start');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const samples: string[] = [];
const r = await run(a.durationS, samples);
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);

const statusCodes: Record<string, number> = {};
for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = (v as { count: number }).count;
const ok = r['2xx'];
emit('result', {
  engine: `autocannon ${autocannonVersion()}`,
  durationS: r.duration,
  requests: ok,
  rps: r.duration > 0 ? ok / r.duration : 0,
  p50Ms: latency.count > 0 ? latency.percentile(50) / 1e6 : null,
  p99Ms: latency.count > 0 ? latency.percentile(99) / 1e6 : null,
  errors: r.errors + r.timeouts + (r.resets ?? 0),
  non2xx: r.non2xx,
  statusCodes,
  errorSamples: samples,
  loadgenCpuPct: ((cpu.user + cpu.system) / 1e6 / wallS) * 100,
  ...(vary ? vary.report() : {}),
});
process.exit(0);

function autocannonVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../node_modules/autocannon/package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return '?';
  }
}
