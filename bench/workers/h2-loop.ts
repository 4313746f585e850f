import http2, { type ClientHttp2Session } from 'node:http2';
import { readFileSync } from 'node:fs';
import { createHistogram } from 'node:perf_hooks';
import { argJson, emit, exitWithParent, HeaderCycler, type VarySpec } from './common.ts';

// HTTP/2 load with node:http2 (used when h2load is not installed): `sessions` TLS sessions, each
// keeping `streams` GET streams in flight, for a fixed time. Warm-up on the same sessions, then
// `measure-start`, then the measured window, then one `result` line. Latency is recorded in ns
// with node's HDR histogram.

interface Args {
  origin: string;
  path: string;
  sessions: number;
  streams: number;
  durationS: number;
  warmupS: number;
  caFile: string | null;
  headers?: Record<string, string>;
  vary?: VarySpec | null;
}

const a = argJson<Args>();
const vary = a.vary ? new HeaderCycler(a.vary) : null;
const ca = a.caFile ? readFileSync(a.caFile) : undefined;
const sessions: ClientHttp2Session[] = [];
exitWithParent(() => sessions.forEach((s) => s.destroy()));

let counting = false;
let running = true;
let inflight = 0;
let ok = 0;
let non2xx = 0;
let errors = 0;
const statusCodes: Record<string, number> = {};
const errorSamples: string[] = [];
const hist = createHistogram();
// `host` becomes :authority (HTTP/2 has no Host header).
const headers: Record<string, string> = { ':method': 'GET', ':path': a.path };
for (const [k, v] of Object.entries(a.headers ?? {})) headers[k.toLowerCase() === 'host' ? ':authority' : k.toLowerCase()] = v;

function requestHeaders(): Record<string, string> {
  if (!vary) return headers;
  return { ...headers, [a.vary!.name.toLowerCase()]: vary.value() };
}

function noteError(err: Error): void {
  if (!counting) return;
  errors++;
  if (errorSamples.length < 5) errorSamples.push(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim());
}

function fire(session: ClientHttp2Session): void {
  if (!running || session.closed || session.destroyed) return;
  inflight++;
  const t0 = process.hrtime.bigint();
  const req = session.request(requestHeaders(), { endStream: true });
  let status = 0;
  let done = false;
  const finish = (err: Error | null) => {
    if (done) return;
    done = true;
    inflight--;
    if (err) noteError(err);
    else if (counting) {
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        ok++;
        hist.record(Math.max(1, Number(process.hrtime.bigint() - t0)));
      } else non2xx++;
    }
    if (err === null) fire(session);
    else setTimeout(() => fire(session), 10); // no hot loop on a failing session
  };
  req.on('response', (h) => (status = Number(h[':status'])));
  req.on('data', () => undefined);
  req.on('end', () => finish(null));
  req.on('error', (err) => finish(err));
  req.on('close', () => finish(req.rstCode ? new Error(`stream closed with RST code ${req.rstCode}`) : null));
}

function connect(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(a.origin, { ca, servername: 'localhost', rejectUnauthorized: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    s.on('error', (err) => noteError(err));
    s.on('goaway', () => noteError(new Error('GOAWAY from server')));
  });
}

for (let i = 0; i < a.sessions; i++) sessions.push(await connect());
for (const s of sessions) for (let j = 0; j < a.streams; j++) fire(s);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
if (a.warmupS > 0) await sleep(a.warmupS * 1000);

emit('measure-start');
hist.reset();
counting = true;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await sleep(a.durationS * 1000);
counting = false;
const wallS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
running = false;

const until = Date.now() + 2000;
while (inflight > 0 && Date.now() < until) await sleep(10);
for (const s of sessions) s.close();

emit('result', {
  engine: `node:http2 loop (${a.sessions} sessions × ${a.streams} streams)`,
  durationS: wallS,
  requests: ok,
  rps: ok / wallS,
  p50Ms: ok > 0 ? hist.percentile(50) / 1e6 : null,
  p99Ms: ok > 0 ? hist.percentile(99) / 1e6 : null,
  errors,
  non2xx,
  statusCodes,
  errorSamples,
  loadgenCpuPct: ((cpu.user + cpu.system) / 1e6 / wallS) * 100,
  ...(vary ? vary.report() : {}),
});
process.exit(0);
