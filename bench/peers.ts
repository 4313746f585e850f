// `npm run bench:peers` — gatehouse against the proxies a user would pick instead, in one interleaved
// run (issue 15). Every process is pinned: the proxy under test alone on CPU 1; the load generator
// and the nginx upstream on CPU 0. Behind every proxy the same nginx upstream answers 150 bytes over
// mutual TLS (`ssl_verify_client on`); in front, TLS 1.3 with the dev edge certificate.
//
// Targets: direct (the upstream's plain port: the harness ceiling), nginx (1 worker), HAProxy
// (1 thread), a bare fastify + @fastify/http-proxy app, a raw node `https` + undici Pool forwarder,
// gatehouse (a) routing only and (b) every edge feature on. All Node targets run compiled JavaScript.
//
// Per target and round: req/s and p50/p99 at saturation (wrk -t1 -c50), p50/p99/p99.9 at a moderate
// fixed load (h2load --h1 --rps), h2 req/s (h2load), the proxy's CPU µs per request; RSS idle and after
// load. Ratios are per round, then the median. Results: bench/results/peers-<date>.json and
// peers-latest.md. Every process started is stopped by PID at the end, on error and on Ctrl-C.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { encodedKeyPair } from '../src/certs/key-pair.ts';
import { Processes, cpuSeconds, memoryMB, waitForEvent, which, machineBusySeconds, tail } from './lib/procs.ts';
import { freePort, probe, sleep } from './lib/net.ts';
import { parseWrk } from './lib/loadgen.ts';
import { median } from './lib/report.ts';
import { nodeArgs } from './services/gatehouse.ts';
import {
  BODY,
  gatehouseFullFeatures,
  gatehouseRoutingOnly,
  haproxyConf,
  nginxProxyConf,
  nginxUpstreamConf,
  type Paths,
} from './peers/configs.ts';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const QUICK = process.env.BENCH_QUICK === '1';
const opts = {
  rounds: env('BENCH_ROUNDS', QUICK ? 1 : 3),
  durationS: env('BENCH_DURATION', QUICK ? 2 : 8),
  warmupS: env('BENCH_WARMUP', QUICK ? 1 : 2),
  connections: env('BENCH_CONNECTIONS', 50),
  moderateRps: env('BENCH_MODERATE_RPS', 2000),
  h2Clients: env('BENCH_H2_SESSIONS', 5),
  h2Streams: env('BENCH_H2_STREAMS', 10),
  only: (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean),
  /** Extra node flags for every Node target (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them). */
  nodeArgs: nodeArgs(),
  /** Saturation (wrk) only: no moderate-load or h2 phase (e.g. to compare profiles request for request). */
  saturationOnly: process.env.BENCH_SATURATION_ONLY === '1',
};
const CPU_LOAD = 0;
const CPU_SUT = cpus().length > 1 ? 1 : 0;

const WRK = which('wrk');
const H2LOAD = which('h2load');
const NGINX = which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);
const HAPROXY = which('haproxy') ?? (existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : null);
for (const [name, bin, pkg] of [['wrk', WRK, 'wrk'], ['h2load', H2LOAD, 'nghttp2-client'], ['nginx', NGINX, 'nginx'], ['haproxy', HAPROXY, 'haproxy']] as const) {
  if (!bin) {
    process.stderr.write(`bench:peers needs ${name} (Debian package ${pkg}); .ci/run installs it\n`);
    process.exit(2);
  }
}

interface Target {
  id: string;
  title: string;
  pid: number;
  origin: string;
  h2: boolean;
  /** The process whose CPU and memory are the target's (the upstream itself for `direct`). */
  headers: Record<string, string>;
}

interface Sample {
  round: number;
  rps: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  cpuUsPerReq: number | null;
  cpuPct: number | null;
  otherCpuPct: number | null;
  moderate: { rps: number; p50Ms: number | null; p99Ms: number | null; p999Ms: number | null; errors: number } | null;
  h2Rps: number | null;
  h2Errors: number;
}

const procs = new Processes();
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-peers-'));
const paths: Paths = { tmp, certs: join(tmp, 'certs') };
const log = (s: string) => process.stderr.write(`${s}\n`);

let stopping = false;
async function cleanup(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await procs.stopAll();
    if (process.env.BENCH_KEEP !== '1' && code === 0) rmSync(tmp, { recursive: true, force: true });
    else log(`kept ${tmp}`);
  }
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void cleanup(130));
process.on('exit', () => procs.killAllNow());

function pin(pid: number, cpu: number): void {
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

async function waitFor200(origin: string, headers: Record<string, string>, h2: boolean, what: string, logFile: string): Promise<void> {
  const ca = readFileSync(join(paths.certs, 'ca.crt'));
  const until = Date.now() + 30_000;
  let last = '';
  while (Date.now() < until) {
    try {
      const p = await probe(origin, '/', 'http1', origin.startsWith('https') ? ca : undefined, 2000, headers);
      if (p.status === 200 && p.body === BODY) {
        if (h2) {
          const p2 = await probe(origin, '/', 'h2', ca, 2000, headers);
          if (p2.status !== 200 || p2.protocol !== 'h2') throw new Error(`h2 probe: ${p2.status} ${p2.protocol}`);
        }
        return;
      }
      last = `status ${p.status}: ${p.body.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${what} did not answer 200 with the upstream's body on ${origin} (last: ${last})\n${tail(logFile)}`);
}

async function startNative(id: string, cmd: string, args: string[], cpu: number): Promise<number> {
  const logFile = join(tmp, `${id}.log`);
  const child = procs.spawn(id, cmd, args, { cwd: root, cpu, logFile });
  await sleep(300);
  if (child.exitCode !== null) throw new Error(`${id} exited at start:\n${tail(logFile)}`);
  return child.pid!;
}

async function startNodeWorker(id: string, file: string, args: object): Promise<{ pid: number; port: number }> {
  const logFile = join(tmp, `${id}.log`);
  const child = procs.spawn(id, process.execPath, [...opts.nodeArgs, file, JSON.stringify(args)], { cwd: root, cpu: CPU_SUT, logFile, pipeStdout: true });
  const { port } = await waitForEvent<{ port: number }>(child, 'listening', 30_000, id);
  return { pid: child.pid!, port };
}

/** gatehouse as production runs it (compiled JavaScript), or through tsx (`viaTsx`) to show what that costs. */
async function startGatehouse(id: string, yaml: string, viaTsx = false): Promise<number> {
  const configFile = join(tmp, `${id}.yaml`);
  writeFileSync(configFile, yaml);
  const logFile = join(tmp, `${id}.log`);
  const entry = viaTsx ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'];
  const child = procs.spawn(id, process.execPath, [...opts.nodeArgs, ...entry, '--config', configFile], { cwd: root, cpu: CPU_SUT, logFile });
  return child.pid!;
}

// ───────────────────────────── load ─────────────────────────────

function runTool(cmd: string, args: string[], limitS: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const logFile = join(tmp, 'loadgen.log');
    const child = procs.spawn('loadgen', cmd, args, { cwd: root, cpu: CPU_LOAD, logFile, pipeStdout: true });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (limitS + 60) * 1000);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited (${sig ?? code}): ${out.slice(-400)} ${tail(logFile, 5)}`));
    });
  });
}

const headerArgs = (h: Record<string, string>) => Object.entries(h).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);

function percentiles(logText: string): { p50: number | null; p99: number | null; p999: number | null; ok: number } {
  const lat: number[] = [];
  for (const line of logText.split('\n')) {
    const c = line.split('\t');
    if (c.length >= 3 && c[1]!.startsWith('2')) lat.push(Number(c[2]) / 1000);
  }
  lat.sort((a, b) => a - b);
  const at = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : null);
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999), ok: lat.length };
}

async function saturation(t: Target): Promise<Pick<Sample, 'rps' | 'p50Ms' | 'p99Ms' | 'errors' | 'cpuUsPerReq' | 'cpuPct' | 'otherCpuPct'>> {
  const url = `${t.origin}/`;
  const base = ['-t1', `-c${opts.connections}`, '--latency', ...headerArgs(t.headers)];
  if (opts.warmupS > 0) await runTool(WRK!, [...base, `-d${opts.warmupS}s`, url], opts.warmupS);
  const c0 = cpuSeconds(t.pid);
  const busy0 = machineBusySeconds();
  const l0 = performance.now();
  const out = await runTool(WRK!, [...base, `-d${opts.durationS}s`, url], opts.durationS);
  const wall = (performance.now() - l0) / 1000;
  const c1 = cpuSeconds(t.pid);
  const busy1 = machineBusySeconds();
  const r = parseWrk(out);
  const cpu = c0 !== null && c1 !== null ? c1 - c0 : null;
  return {
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors + r.non2xx,
    cpuUsPerReq: cpu !== null && r.requests > 0 ? (cpu / r.requests) * 1e6 : null,
    cpuPct: cpu !== null ? (cpu / wall) * 100 : null,
    // what the whole machine did beyond the SUT and one full load-generator core
    otherCpuPct: busy0 !== null && busy1 !== null && cpu !== null ? Math.max(0, ((busy1 - busy0 - cpu) / wall) * 100 - 100) : null,
  };
}

async function moderate(t: Target): Promise<NonNullable<Sample['moderate']>> {
  const clients = 10;
  const logFile = join(tmp, `moderate-${t.id}.tsv`);
  rmSync(logFile, { force: true });
  const out = await runTool(
    H2LOAD!,
    ['--h1', '-c', String(clients), '-t', '1', `--rps=${Math.max(1, Math.round(opts.moderateRps / clients))}`, '-D', String(opts.durationS), '--log-file', logFile, ...headerArgs(t.headers), `${t.origin}/`],
    opts.durationS,
  );
  const p = percentiles(existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const fail = /(\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const errors = (fail ? Number(fail[2]) + Number(fail[3]) : 0) + (codes ? Number(codes[3]) + Number(codes[4]) : 0);
  return { rps: p.ok / opts.durationS, p50Ms: p.p50, p99Ms: p.p99, p999Ms: p.p999, errors };
}

async function h2saturation(t: Target): Promise<{ rps: number; errors: number }> {
  const args = ['-c', String(opts.h2Clients), '-m', String(opts.h2Streams), '-t', '1', ...headerArgs(t.headers), `${t.origin}/`];
  if (opts.warmupS > 0) await runTool(H2LOAD!, ['-D', String(opts.warmupS), ...args], opts.warmupS);
  const out = await runTool(H2LOAD!, ['-D', String(opts.durationS), ...args], opts.durationS);
  const fin = /finished in ([\d.]+)(us|ms|s)/.exec(out);
  const secs = fin ? Number(fin[1]) * ({ us: 1e-6, ms: 1e-3, s: 1 } as Record<string, number>)[fin[2]!]! : opts.durationS;
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const req = /(\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const ok = codes ? Number(codes[1]) : 0;
  const errors = (codes ? Number(codes[3]) + Number(codes[4]) : 0) + (req ? Number(req[2]) + Number(req[3]) : 0);
  return { rps: secs > 0 ? ok / secs : 0, errors };
}

// ───────────────────────────── setup ─────────────────────────────

async function setup(): Promise<{ targets: Target[]; upstreamPid: number }> {
  log(`building compiled JavaScript (dist/, bench/.build/)…`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  rmSync(join(root, 'bench/.build'), { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.bench.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, ['dist/main.js', 'certs', 'init', '--dir', paths.certs], { cwd: root, stdio: 'ignore' });
  const pem = (a: string, b: string) => readFileSync(join(paths.certs, a), 'utf8') + readFileSync(join(paths.certs, b), 'utf8');
  writeFileSync(join(tmp, 'edge.pem'), pem('edge.crt', 'edge.key'), { mode: 0o600 });
  writeFileSync(join(tmp, 'gatehouse.pem'), pem('gatehouse.crt', 'gatehouse.key'), { mode: 0o600 });
  for (const d of ['nginx-upstream', 'nginx-proxy']) mkdirSync(join(tmp, d), { recursive: true });

  // the edge token of the full-feature gatehouse, sent to every target so the requests are the same
  const privateKey = createPrivateKey(encodedKeyPair('rsa').privateKey); // PEM first: src/certs/key-pair.ts says why
  const publicKey = createPublicKey(privateKey);
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const jwksFile = join(tmp, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  const token = await new SignJWT({ groups: ['bench'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer('https://issuer.bench.test')
    .setAudience('bench')
    .setSubject('bench-user')
    .setExpirationTime('365d')
    .sign(privateKey);
  const headers = { authorization: `Bearer ${token}` };

  const [upMtls, upPlain, nginxPort, haproxyPort, ghA, ghAadmin, ghB, ghBadmin, ghT, ghTadmin] = await Promise.all(Array.from({ length: 10 }, () => freePort()));
  const upConf = join(tmp, 'nginx-upstream.conf');
  writeFileSync(upConf, nginxUpstreamConf(paths, { mtls: upMtls, plain: upPlain }));
  const upstreamPid = await startNative('upstream', NGINX!, ['-p', join(tmp, 'nginx-upstream'), '-c', upConf, '-e', join(tmp, 'nginx-upstream/error.log')], CPU_LOAD);

  const proxyConf = join(tmp, 'nginx-proxy.conf');
  writeFileSync(proxyConf, nginxProxyConf(paths, nginxPort, upMtls));
  const nginxPid = await startNative('nginx', NGINX!, ['-p', join(tmp, 'nginx-proxy'), '-c', proxyConf, '-e', join(tmp, 'nginx-proxy/error.log')], CPU_SUT);
  const haConf = join(tmp, 'haproxy.cfg');
  writeFileSync(haConf, haproxyConf(paths, haproxyPort, upMtls));
  const haproxyPid = await startNative('haproxy', HAPROXY!, ['-db', '-f', haConf], CPU_SUT);
  const upstream = `https://127.0.0.1:${upMtls}`;
  const fastify = await startNodeWorker('fastify', 'bench/.build/workers/fastify-proxy.js', { certDir: paths.certs, upstream });
  const raw = await startNodeWorker('raw-undici', 'bench/.build/workers/raw-undici.js', { certDir: paths.certs, upstream });
  const aPid = await startGatehouse('gatehouse-routing', gatehouseRoutingOnly(paths, ghA, ghAadmin, upMtls, 'off'));
  const bPid = await startGatehouse('gatehouse-full', gatehouseFullFeatures(paths, ghB, ghBadmin, upMtls, { jwksFile, token }));
  const tPid = await startGatehouse('gatehouse-routing-tsx', gatehouseRoutingOnly(paths, ghT, ghTadmin, upMtls, 'off'), true);

  const targets: Target[] = [
    { id: 'direct', title: 'direct to the upstream (plain HTTP, the harness ceiling)', pid: upstreamPid, origin: `http://127.0.0.1:${upPlain}`, h2: false, headers },
    { id: 'nginx', title: 'nginx 1 worker', pid: nginxPid, origin: `https://127.0.0.1:${nginxPort}`, h2: true, headers },
    { id: 'haproxy', title: 'HAProxy 1 thread', pid: haproxyPid, origin: `https://127.0.0.1:${haproxyPort}`, h2: true, headers },
    { id: 'raw-undici', title: 'raw node https + undici Pool', pid: raw.pid, origin: `https://127.0.0.1:${raw.port}`, h2: false, headers },
    { id: 'fastify', title: 'bare fastify + @fastify/http-proxy', pid: fastify.pid, origin: `https://127.0.0.1:${fastify.port}`, h2: true, headers },
    { id: 'gatehouse-routing', title: 'gatehouse (a) routing only', pid: aPid, origin: `https://127.0.0.1:${ghA}`, h2: true, headers },
    { id: 'gatehouse-full', title: 'gatehouse (b) every edge feature on', pid: bPid, origin: `https://127.0.0.1:${ghB}`, h2: true, headers },
    { id: 'gatehouse-routing-tsx', title: 'gatehouse (a) run through tsx instead of compiled', pid: tPid, origin: `https://127.0.0.1:${ghT}`, h2: false, headers },
  ].filter((t) => opts.only.length === 0 || opts.only.includes(t.id) || t.id === 'direct');
  for (const t of targets) await waitFor200(t.origin, t.headers, t.h2, t.title, join(tmp, `${t.id === 'direct' ? 'upstream' : t.id}.log`));
  return { targets, upstreamPid };
}

// ───────────────────────────── run ─────────────────────────────

async function main(): Promise<void> {
  const { targets, upstreamPid } = await setup();
  await sleep(1000); // let every process settle before reading idle memory
  const idleRss = Object.fromEntries(targets.map((t) => [t.id, memoryMB(t.pid).rssMB]));
  const samples: Record<string, Sample[]> = Object.fromEntries(targets.map((t) => [t.id, []]));
  for (let round = 1; round <= opts.rounds; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const t of order) {
      // `direct` measures the upstream itself: it gets the SUT core for that measurement only
      if (t.id === 'direct') pin(upstreamPid, CPU_SUT);
      log(`round ${round}/${opts.rounds}: ${t.title}`);
      try {
        const sat = await saturation(t);
        const mod = opts.saturationOnly ? null : await moderate(t);
        const h2 = t.h2 && !opts.saturationOnly ? await h2saturation(t) : null;
        samples[t.id]!.push({ round, ...sat, moderate: mod, h2Rps: h2?.rps ?? null, h2Errors: h2?.errors ?? 0 });
      } finally {
        if (t.id === 'direct') pin(upstreamPid, CPU_LOAD);
      }
    }
  }
  const afterRss = Object.fromEntries(targets.map((t) => [t.id, memoryMB(t.pid)]));
  const report = summarize(targets, samples, idleRss, afterRss);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  // A quick, partial or profiled run is not a result: it never replaces the last full run's files.
  const partial = QUICK || opts.only.length > 0 || opts.saturationOnly || opts.nodeArgs.length > 0;
  if (!partial) writeFileSync(join(root, `bench/results/peers-${stamp}.json`), JSON.stringify(report, null, 2));
  const md = markdownReport(report);
  writeFileSync(join(root, `bench/results/${partial ? 'peers-partial-latest' : 'peers-latest'}.md`), md);
  if (!partial) writeFileSync(join(root, 'bench/results/peers-latest.json'), JSON.stringify(report, null, 2));
  process.stdout.write(md);
  const failed = Object.values(samples).flat().some((s) => s.errors > 0 || (s.moderate?.errors ?? 0) > 0 || s.h2Errors > 0);
  if (failed) log('some measurements saw errors (see the table): the run is marked failed');
  await cleanup(failed ? 1 : 0);
}

// ───────────────────────────── report ─────────────────────────────

type Report = ReturnType<typeof summarize>;

function summarize(targets: Target[], samples: Record<string, Sample[]>, idleRss: Record<string, number | null>, afterRss: Record<string, { rssMB: number | null; hwmMB: number | null }>) {
  const med = (xs: Array<number | null | undefined>) => median(xs.filter((x): x is number => typeof x === 'number'));
  const rows = targets.map((t) => {
    const s = samples[t.id]!;
    const rps = s.map((x) => x.rps);
    return {
      id: t.id,
      title: t.title,
      rps: med(rps),
      rpsMin: Math.min(...rps),
      rpsMax: Math.max(...rps),
      p50Ms: med(s.map((x) => x.p50Ms)),
      p99Ms: med(s.map((x) => x.p99Ms)),
      cpuUsPerReq: med(s.map((x) => x.cpuUsPerReq)),
      moderate: {
        p50Ms: med(s.map((x) => x.moderate?.p50Ms)),
        p99Ms: med(s.map((x) => x.moderate?.p99Ms)),
        p999Ms: med(s.map((x) => x.moderate?.p999Ms)),
      },
      h2Rps: t.h2 ? med(s.map((x) => x.h2Rps)) : null,
      rssIdleMB: idleRss[t.id] ?? null,
      rssAfterMB: afterRss[t.id]?.rssMB ?? null,
      peakRssMB: afterRss[t.id]?.hwmMB ?? null,
      errors: s.reduce((n, x) => n + x.errors + (x.moderate?.errors ?? 0) + x.h2Errors, 0),
      otherCpuPct: med(s.map((x) => x.otherCpuPct)),
      samples: s,
    };
  });
  const perRound = (num: string, den: string, pick: (s: Sample) => number | null) => {
    const a = samples[num];
    const b = samples[den];
    if (!a || !b) return null;
    const rs: number[] = [];
    for (const x of a) {
      const y = b.find((z) => z.round === x.round);
      const vx = pick(x);
      const vy = y ? pick(y) : null;
      if (vx !== null && vy !== null && vy > 0) rs.push(vx / vy);
    }
    return rs.length ? { median: median(rs), rounds: rs } : null;
  };
  const rpsOf = (s: Sample) => s.rps;
  const ratios = [
    { id: 'full/raw', title: 'every feature on ÷ raw undici forwarder (req/s)', target: 0.9, ...perRound('gatehouse-full', 'raw-undici', rpsOf) },
    { id: 'full/fastify', title: 'every feature on ÷ bare fastify proxy (req/s)', target: 1.5, ...perRound('gatehouse-full', 'fastify', rpsOf) },
    { id: 'routing/raw', title: 'routing only ÷ raw undici forwarder (req/s)', target: 1.0, ...perRound('gatehouse-routing', 'raw-undici', rpsOf) },
    { id: 'routing/fastify', title: 'routing only ÷ bare fastify proxy (req/s)', target: null, ...perRound('gatehouse-routing', 'fastify', rpsOf) },
    { id: 'full-h2/fastify-h2', title: 'every feature on ÷ bare fastify proxy, h2 (req/s)', target: 1.5, ...perRound('gatehouse-full', 'fastify', (s) => s.h2Rps) },
    { id: 'full/nginx', title: 'every feature on ÷ nginx 1 worker (req/s)', target: null, ...perRound('gatehouse-full', 'nginx', rpsOf) },
    { id: 'full/haproxy', title: 'every feature on ÷ HAProxy 1 thread (req/s)', target: null, ...perRound('gatehouse-full', 'haproxy', rpsOf) },
    { id: 'tsx/compiled', title: 'routing only through tsx ÷ compiled (req/s)', target: null, ...perRound('gatehouse-routing-tsx', 'gatehouse-routing', rpsOf) },
  ].filter((r): r is typeof r & { median: number | null; rounds: number[] } => r.median !== undefined);
  const direct = rows.find((r) => r.id === 'direct');
  const full = rows.find((r) => r.id === 'gatehouse-full');
  const addedP99 = direct?.moderate.p99Ms != null && full?.moderate.p99Ms != null ? full.moderate.p99Ms - direct.moderate.p99Ms : null;
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    tools: {
      wrk: spawnSync(WRK!, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0],
      h2load: spawnSync(H2LOAD!, ['--version'], { encoding: 'utf8' }).stdout.trim(),
      nginx: spawnSync(NGINX!, ['-v'], { encoding: 'utf8' }).stderr.trim(),
      haproxy: spawnSync(HAPROXY!, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0],
    },
    options: { ...opts, pinning: { loadgenAndUpstream: CPU_LOAD, proxy: CPU_SUT } },
    rows,
    ratios,
    addedP99AtModerateMs: addedP99,
    targets: { addedP99Ms: 1.5, rssAfterMB: 100 },
  };
}

function markdownReport(r: Report): string {
  const f = (v: number | null | undefined, d = 0) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const lines = [
    `# bench:peers — ${r.date}`,
    '',
    `${r.machine.cpus} × ${r.machine.model}, node ${r.machine.node}; ${r.tools.wrk}; ${r.tools.h2load}; ${r.tools.nginx}; ${r.tools.haproxy}.`,
    `Proxy pinned alone on CPU ${r.options.pinning.proxy}; load generator and the nginx mTLS upstream on CPU ${r.options.pinning.loadgenAndUpstream}. ` +
      `${r.options.rounds} rounds × ${r.options.durationS} s (after ${r.options.warmupS} s warm-up), wrk -t1 -c${r.options.connections}; moderate load ${r.options.moderateRps} req/s (h2load --h1, 10 clients); h2: h2load -c${r.options.h2Clients} -m${r.options.h2Streams}.`,
    '',
    '| target | req/s (median, min–max) | CPU µs/req | p50 / p99 ms at saturation | p50 / p99 / p99.9 ms at moderate load | h2 req/s | RSS idle → after load (peak) MB | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${x.title} | ${f(x.rps)} (${f(x.rpsMin)}–${f(x.rpsMax)}) | ${f(x.cpuUsPerReq, 1)} | ${f(x.p50Ms, 2)} / ${f(x.p99Ms, 2)} | ${f(x.moderate.p50Ms, 2)} / ${f(x.moderate.p99Ms, 2)} / ${f(x.moderate.p999Ms, 2)} | ${f(x.h2Rps)} | ${f(x.rssIdleMB)} → ${f(x.rssAfterMB)} (${f(x.peakRssMB)}) | ${x.errors} |`,
    ),
    '',
    '| ratio (median of per-round ratios) | value | per round | target |',
    '| --- | ---: | --- | --- |',
    ...r.ratios.map((x) => {
      const met = x.target === null || x.median === null ? '' : x.median >= x.target ? ` ✅` : ` ❌`;
      return `| ${x.title} | ${f(x.median, 2)}× | ${(x.rounds ?? []).map((v) => v.toFixed(2)).join(', ')} | ${x.target === null ? 'reported' : `≥ ${x.target}×${met}`} |`;
    }),
    `| added p99 at moderate load, every feature on − direct | ${f(r.addedP99AtModerateMs, 2)} ms | | ≤ 1.5 ms${r.addedP99AtModerateMs === null ? '' : r.addedP99AtModerateMs <= 1.5 ? ' ✅' : ' ❌'} |`,
    (() => {
      const full = r.rows.find((x) => x.id === 'gatehouse-full');
      const v = full?.rssAfterMB ?? null;
      return `| RSS after load, every feature on | ${f(v)} MB | | ≤ 100 MB${v === null ? '' : v <= 100 ? ' ✅' : ' ❌'} |`;
    })(),
    '',
  ];
  return lines.join('\n');
}

main().catch(async (err) => {
  log(`bench:peers failed: ${(err as Error).stack ?? err}`);
  await cleanup(1);
});
