import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { onLines, which, cpuSeconds, type Processes } from './procs.ts';
import type { BenchOptions } from './options.ts';
import type { LoadResult, Protocol } from './types.ts';

// Load generators, each in its own process pinned to the load-generator core:
//   HTTP/1.1: autocannon (bench/workers/autocannon.ts), or wrk when installed;
//   HTTP/2:   h2load when installed, else a node:http2 loop (bench/workers/h2-loop.ts).
// Every engine runs a warm-up first and calls `onMeasureStart` right before the measured window, so
// the harness can sample the server's CPU time over exactly that window.

export const WRK = which('wrk');
export const H2LOAD = which('h2load');

export type EngineName = 'autocannon' | 'wrk' | 'node-h2' | 'h2load';

export function engineFor(protocol: Protocol, o: BenchOptions): EngineName {
  if (protocol === 'http1') {
    if (o.http1Engine === 'wrk' && !WRK) throw new Error('BENCH_HTTP1=wrk but wrk is not installed');
    return o.http1Engine === 'wrk' || (o.http1Engine === 'auto' && WRK) ? 'wrk' : 'autocannon';
  }
  if (o.h2Engine === 'h2load' && !H2LOAD) throw new Error('BENCH_H2=h2load but h2load is not installed (Debian: nghttp2-client)');
  return o.h2Engine === 'h2load' || (o.h2Engine === 'auto' && H2LOAD) ? 'h2load' : 'node-h2';
}

export function engineVersion(engine: EngineName, root: string): string {
  switch (engine) {
    case 'autocannon':
      return `autocannon ${JSON.parse(readFileSync(join(root, 'node_modules/autocannon/package.json'), 'utf8')).version}`;
    case 'node-h2':
      return `node:http2 loop (node ${process.version})`;
    case 'wrk':
      return (spawnSync(WRK!, ['-v'], { encoding: 'utf8' }).stdout || 'wrk').split('\n')[0]!.trim();
    case 'h2load':
      return (spawnSync(H2LOAD!, ['--version'], { encoding: 'utf8' }).stdout || 'h2load').split('\n')[0]!.trim();
  }
}

export interface LoadSpec {
  engine: EngineName;
  origin: string;
  path: string;
  tls: boolean;
  caFile: string | null;
  durationS: number;
  warmupS: number;
  connections: number;
  h2Sessions: number;
  h2Streams: number;
  cpu: number | null;
  root: string;
  logFile: string;
  /** Sent with every request. */
  headers: Record<string, string>;
  /** One header cycled through the lines of `file`, starting at line `start` (autocannon, node-h2). */
  vary: { name: string; prefix: string; file: string; start: number } | null;
}

export async function runLoad(procs: Processes, s: LoadSpec, onMeasureStart: () => void): Promise<LoadResult> {
  const limitMs = (s.warmupS + s.durationS) * 1000 + 60_000;
  switch (s.engine) {
    case 'autocannon':
      return runWorker(procs, s, 'bench/workers/autocannon.ts', {
        url: new URL(s.path, s.origin).href,
        connections: s.connections,
        durationS: s.durationS,
        warmupS: s.warmupS,
        caFile: s.caFile,
        headers: s.headers,
        vary: s.vary,
      }, onMeasureStart, limitMs);
    case 'node-h2':
      return runWorker(procs, s, 'bench/workers/h2-loop.ts', {
        origin: s.origin,
        path: s.path,
        sessions: s.h2Sessions,
        streams: s.h2Streams,
        durationS: s.durationS,
        warmupS: s.warmupS,
        caFile: s.caFile,
        headers: s.headers,
        vary: s.vary,
      }, onMeasureStart, limitMs);
    case 'wrk':
      if (s.vary) throw new Error('wrk cannot vary a header per request: use autocannon');
      return runWrk(procs, s, onMeasureStart, limitMs);
    case 'h2load':
      if (s.vary) throw new Error('h2load cannot vary a header per request: use the node:http2 loop');
      return runH2load(procs, s, onMeasureStart, limitMs);
  }
}

function runWorker(procs: Processes, s: LoadSpec, file: string, args: object, onMeasureStart: () => void, limitMs: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = procs.spawnTs('loadgen', file, [JSON.stringify(args)], { cwd: s.root, cpu: s.cpu, logFile: s.logFile, pipeStdout: true });
    let result: LoadResult | null = null;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`load generator did not finish within ${limitMs} ms (log: ${s.logFile})`));
    }, limitMs);
    onLines(child, (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.event === 'measure-start') onMeasureStart();
      else if (msg.event === 'result') {
        const { event: _e, ...rest } = msg;
        result = rest as LoadResult;
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`load generator exited (${sig ?? code}) without a result (log: ${s.logFile})`));
    });
  });
}

/** Runs a native tool to completion; samples its CPU time while it runs (it is gone from /proc after). */
function runNative(procs: Processes, s: LoadSpec, cmd: string, args: string[], limitMs: number): Promise<{ out: string; cpuPct: number | null }> {
  return new Promise((resolve, reject) => {
    const child = procs.spawn('loadgen', cmd, args, { cwd: s.root, cpu: s.cpu, logFile: s.logFile, pipeStdout: true });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (out += d));
    const t0 = performance.now();
    let lastCpu: number | null = null;
    let lastAt = t0;
    const sampler = setInterval(() => {
      const c = cpuSeconds(child.pid!);
      if (c !== null) {
        lastCpu = c;
        lastAt = performance.now();
      }
    }, 200);
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', (code, sig) => {
      clearInterval(sampler);
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${cmd} exited (${sig ?? code}): ${out.slice(-500)} (log: ${s.logFile})`));
      const cpuPct = lastCpu !== null && lastAt > t0 ? (lastCpu / ((lastAt - t0) / 1000)) * 100 : null;
      resolve({ out, cpuPct });
    });
  });
}

function headerArgs(s: LoadSpec): string[] {
  return Object.entries(s.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
}

function wrkArgs(s: LoadSpec, durationS: number): string[] {
  return ['-t1', `-c${s.connections}`, `-d${Math.max(1, Math.round(durationS))}s`, '--latency', ...headerArgs(s), new URL(s.path, s.origin).href];
}

async function runWrk(procs: Processes, s: LoadSpec, onMeasureStart: () => void, limitMs: number): Promise<LoadResult> {
  if (s.warmupS > 0) await runNative(procs, s, WRK!, wrkArgs(s, s.warmupS), limitMs);
  onMeasureStart();
  const { out, cpuPct } = await runNative(procs, s, WRK!, wrkArgs(s, s.durationS), limitMs);
  return { ...parseWrk(out), engine: 'wrk', loadgenCpuPct: cpuPct };
}

/** Parses `wrk --latency` output. */
export function parseWrk(out: string): Omit<LoadResult, 'engine' | 'loadgenCpuPct'> {
  const ms = (v: string, unit: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit]!;
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? ms(m[1]!, m[2]!) : null;
  };
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  const requests = total ? Number(total[1]) : 0;
  const durationS = total ? ms(total[2]!, total[3]!) / 1000 : 0;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1, 5).reduce((n, v) => n + Number(v), 0) : 0;
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const non2xx = bad ? Number(bad[1]) : 0;
  const rpsLine = /Requests\/sec:\s+([\d.]+)/.exec(out);
  return {
    durationS,
    requests: requests - non2xx,
    rps: rpsLine && non2xx === 0 ? Number(rpsLine[1]) : durationS > 0 ? (requests - non2xx) / durationS : 0,
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    errors,
    non2xx,
    statusCodes: non2xx ? { 'non-2xx/3xx': non2xx } : {},
    errorSamples: sock && errors ? [sock[0]] : [],
  };
}

function h2loadArgs(s: LoadSpec, durationS: number, logFile: string | null): string[] {
  return [
    '-c', String(s.h2Sessions), '-m', String(s.h2Streams), '-t', '1',
    '-D', String(Math.max(1, Math.round(durationS))),
    ...(logFile ? ['--log-file', logFile] : []),
    ...headerArgs(s).map((a) => (a.toLowerCase().startsWith('host: ') ? `:authority: ${a.slice(6)}` : a)),
    new URL(s.path, s.origin).href,
  ];
}

async function runH2load(procs: Processes, s: LoadSpec, onMeasureStart: () => void, limitMs: number): Promise<LoadResult> {
  if (s.warmupS > 0) await runNative(procs, s, H2LOAD!, h2loadArgs(s, s.warmupS, null), limitMs);
  const reqLog = `${s.logFile}.requests.tsv`;
  onMeasureStart();
  const { out, cpuPct } = await runNative(procs, s, H2LOAD!, h2loadArgs(s, s.durationS, reqLog), limitMs);
  let log = '';
  try {
    log = readFileSync(reqLog, 'utf8');
  } catch {
    /* percentiles stay null */
  }
  return { ...parseH2load(out, log), engine: 'h2load', loadgenCpuPct: cpuPct };
}

/**
 * Parses h2load's summary, and its --log-file (tab-separated: start time µs, status, duration µs)
 * for the percentiles.
 */
export function parseH2load(out: string, requestLog: string): Omit<LoadResult, 'engine' | 'loadgenCpuPct'> {
  const fin = /finished in ([\d.]+)(us|ms|s),\s*([\d.]+) req\/s/.exec(out);
  const durationS = fin ? Number(fin[1]) * ({ us: 1e-6, ms: 1e-3, s: 1 } as Record<string, number>)[fin[2]!]! : 0;
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const ok = codes ? Number(codes[1]) : 0;
  const non2xx = codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0;
  const errors = req ? Number(req[6]) + Number(req[7]) : 0;
  const lat: number[] = [];
  for (const line of requestLog.split('\n')) {
    const cols = line.split('\t');
    if (cols.length >= 3 && cols[1]!.startsWith('2')) lat.push(Number(cols[2]) / 1000);
  }
  lat.sort((x, y) => x - y);
  const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]! : null);
  return {
    durationS,
    requests: ok,
    rps: durationS > 0 ? ok / durationS : 0,
    p50Ms: pct(50),
    p99Ms: pct(99),
    errors,
    non2xx,
    statusCodes: codes ? { '2xx': ok, '3xx': Number(codes[2]), '4xx': Number(codes[3]), '5xx': Number(codes[4]) } : {},
    errorSamples: req && errors ? [req[0]] : [],
  };
}
