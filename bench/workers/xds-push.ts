import { readFileSync } from 'node:fs';
import { checkServerIdentity } from 'node:tls';
import { Pool } from 'undici';
import { argJson, emit, exitWithParent } from './common.ts';

// The xDS benchmarks' client side, in its own process: a steady open-loop load (`rate` requests per
// second over keep-alive TLS connections) to one route of gatehouse, and for each push: POST it to
// the control worker, then time until the first response that shows it (push-to-effect), and the
// latency of every request started from `windowBeforeMs` before the push until `windowAfterMs` after
// the effect (max and p99: did any request stall while the update was applied?).

interface Push {
  /** Control endpoint name (xds-control.ts). */
  name: string;
  /** The effect: a response header with this value. */
  expect: { header: string; value: string };
}

interface Args {
  origin: string;
  caFile: string;
  host: string;
  path: string;
  controlUrl: string;
  rate: number;
  pushes: Push[];
  settleMs: number;
  windowBeforeMs: number;
  windowAfterMs: number;
  timeoutMs: number;
}

const a = argJson<Args>();
exitWithParent();
// The Host header names the virtual host; the certificate is still verified, for localhost.
const pool = new Pool(a.origin, {
  connections: 32,
  pipelining: 1,
  connect: { ca: readFileSync(a.caFile), servername: 'localhost', rejectUnauthorized: true, checkServerIdentity: (_host, cert) => checkServerIdentity('localhost', cert) },
});

interface Sample {
  start: number;
  end: number;
  status: number;
  headers: Record<string, string | string[] | undefined>;
}
const samples: Sample[] = [];
let errors = 0;
const errorSamples: string[] = [];

function fire(): void {
  const start = performance.now();
  pool
    .request({ path: a.path, method: 'GET', headers: { host: a.host, 'x-env': 'prod' } })
    .then(async (r) => {
      await r.body.dump();
      samples.push({ start, end: performance.now(), status: r.statusCode, headers: r.headers });
    })
    .catch((err: Error) => {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(err.message);
    });
}

// Open loop: `rate` per second in 10 ms ticks, whatever the answers do.
const perTick = a.rate / 100;
let owed = 0;
const ticker = setInterval(() => {
  owed += perTick;
  while (owed >= 1) {
    owed--;
    fire();
  }
}, 10);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const latencies = (window: Sample[]) => window.map((s) => s.end - s.start).sort((x, y) => x - y);
const results = [];

// The baseline: the same load and window length with no push, for comparison.
await sleep(a.settleMs);
{
  const t0 = performance.now();
  await sleep(a.windowBeforeMs + a.windowAfterMs + 200);
  const lat = latencies(samples.filter((s) => s.start >= t0 && s.start <= t0 + a.windowBeforeMs + a.windowAfterMs));
  results.push({ push: 'baseline', pushToEffectMs: null, requests: lat.length, maxLatencyMs: lat.at(-1) ?? null, p99LatencyMs: lat[Math.floor(lat.length * 0.99)] ?? null });
}

for (const push of a.pushes) {
  await sleep(a.settleMs);
  const t0 = performance.now();
  const res = await fetch(`${a.controlUrl}/push/${push.name}`, { method: 'POST' });
  if (!res.ok) throw new Error(`push ${push.name}: ${res.status}`);
  const shows = (s: Sample) => s.start >= t0 && String(s.headers[push.expect.header]) === push.expect.value;
  let effect: Sample | undefined;
  while (!(effect = samples.find(shows)) && performance.now() - t0 < a.timeoutMs) await sleep(5);
  if (!effect) {
    results.push({ push: push.name, pushToEffectMs: null, error: `no response showed ${push.expect.header}: ${push.expect.value} within ${a.timeoutMs} ms` });
    continue;
  }
  const effectAt = effect.end;
  await sleep(a.windowAfterMs + 200);
  const window = samples.filter((s) => s.start >= t0 - a.windowBeforeMs && s.start <= effectAt + a.windowAfterMs);
  const lat = latencies(window);
  results.push({
    push: push.name,
    pushToEffectMs: effectAt - t0,
    requests: window.length,
    non200: window.filter((s) => s.status !== 200).length,
    maxLatencyMs: lat.at(-1) ?? null,
    p99LatencyMs: lat[Math.floor(lat.length * 0.99)] ?? null,
    p50LatencyMs: lat[Math.floor(lat.length * 0.5)] ?? null,
  });
}
clearInterval(ticker);
await sleep(500);
emit('result', { results, errors, errorSamples, sent: samples.length });
await pool.close();
process.exit(0);
