// `npm run bench:workers` (issue 15, "multi-core"): what `--workers N` buys on this machine. gatehouse
// (routing only, TLS in, mutual TLS to a fast nginx upstream — the bench:peers config) as one process and
// as `--workers 2`, measured alternately with wrk (-t2 -c100). Nothing is pinned: on a 2-core machine the
// load generator and the upstream share the cores with the gateway, so this shows what two workers take
// from a machine that also runs their load, not a clean 2× (which needs cores of its own for the load).
// Writes bench/results/workers-latest.json and .md. Every process it starts is stopped by PID.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Processes, which } from './lib/procs.ts';
import { freePort, probe, sleep } from './lib/net.ts';
import { parseWrk } from './lib/loadgen.ts';
import { median } from './lib/report.ts';
import { BODY, gatehouseRoutingOnly, nginxUpstreamConf, type Paths } from './peers/configs.ts';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const opts = { rounds: env('BENCH_ROUNDS', 3), durationS: env('BENCH_DURATION', 8), warmupS: env('BENCH_WARMUP', 2), workers: env('BENCH_WORKERS', 2) };
const WRK = which('wrk');
const NGINX = which('nginx') ?? '/usr/sbin/nginx';
if (!WRK) {
  process.stderr.write('bench:workers needs wrk (Debian package wrk); .ci/run installs it\n');
  process.exit(2);
}

const procs = new Processes();
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-workers-'));
const paths: Paths = { tmp, certs: join(tmp, 'certs') };
const log = (s: string) => process.stderr.write(`${s}\n`);
process.on('exit', () => procs.killAllNow());

async function waitFor200(origin: string): Promise<void> {
  const ca = readFileSync(join(paths.certs, 'ca.crt'));
  for (let i = 0; i < 150; i++) {
    const p = await probe(origin, '/', 'http1', ca, 2000, {}).catch(() => null);
    if (p?.status === 200 && p.body === BODY) return;
    await sleep(200);
  }
  throw new Error(`${origin} did not answer 200`);
}

function wrk(url: string, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = procs.spawn('wrk', WRK!, ['-t2', '-c100', `-d${seconds}s`, url], { cwd: root, cpu: null, logFile: join(tmp, 'wrk.log'), pipeStdout: true });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}`))));
  });
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, ['dist/main.js', 'certs', 'init', '--dir', paths.certs], { cwd: root, stdio: 'ignore' });
  mkdirSync(join(tmp, 'nginx-upstream'), { recursive: true });
  const [upMtls, upPlain, one, oneAdmin, many, manyAdmin] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  writeFileSync(join(tmp, 'nginx-upstream.conf'), nginxUpstreamConf(paths, { mtls: upMtls, plain: upPlain }));
  procs.spawn('upstream', NGINX, ['-p', join(tmp, 'nginx-upstream'), '-c', join(tmp, 'nginx-upstream.conf'), '-e', join(tmp, 'nginx-upstream/error.log')], { cwd: root, cpu: null, logFile: join(tmp, 'upstream.log') });
  const targets = [
    { id: 'one', title: 'gatehouse, one process', port: one, args: [] as string[], admin: oneAdmin },
    { id: 'workers', title: `gatehouse --workers ${opts.workers}`, port: many, args: ['--workers', String(opts.workers)], admin: manyAdmin },
  ];
  for (const t of targets) {
    const file = join(tmp, `${t.id}.yaml`);
    writeFileSync(file, gatehouseRoutingOnly(paths, t.port, t.admin, upMtls, 'off'));
    procs.spawn(t.id, process.execPath, ['dist/main.js', '--config', file, ...t.args], { cwd: root, cpu: null, logFile: join(tmp, `${t.id}.log`) });
  }
  for (const t of targets) await waitFor200(`https://127.0.0.1:${t.port}`);
  const rps: Record<string, number[]> = { one: [], workers: [] };
  let errors = 0;
  for (let round = 1; round <= opts.rounds; round++) {
    for (const t of round % 2 === 1 ? targets : [...targets].reverse()) {
      log(`round ${round}/${opts.rounds}: ${t.title}`);
      const url = `https://127.0.0.1:${t.port}/`;
      if (opts.warmupS > 0) await wrk(url, opts.warmupS);
      const r = parseWrk(await wrk(url, opts.durationS));
      rps[t.id]!.push(r.rps);
      errors += r.errors + r.non2xx;
    }
  }
  const ratios = rps.one!.map((v, i) => rps.workers![i]! / v);
  const report = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
    method: `wrk -t2 -c100, ${opts.rounds} rounds × ${opts.durationS} s (after ${opts.warmupS} s warm-up), nothing pinned: load generator, nginx mTLS upstream and gateway share the machine`,
    oneRps: median(rps.one!),
    workersRps: median(rps.workers!),
    workers: opts.workers,
    ratio: median(ratios),
    perRound: ratios,
    errors,
  };
  const md =
    `# bench:workers — ${report.date}\n\n${report.machine}. ${report.method}.\n\n` +
    `| target | req/s (median) |\n| --- | ---: |\n| gatehouse, one process | ${Math.round(report.oneRps ?? 0).toLocaleString('en-US')} |\n` +
    `| gatehouse --workers ${opts.workers} | ${Math.round(report.workersRps ?? 0).toLocaleString('en-US')} |\n\n` +
    `--workers ${opts.workers} ÷ one process: **${(report.ratio ?? 0).toFixed(2)}×** (per round ${ratios.map((r) => r.toFixed(2)).join(', ')}); errors ${errors}\n`;
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/workers-latest.json'), JSON.stringify(report, null, 2));
  writeFileSync(join(root, 'bench/results/workers-latest.md'), md);
  process.stdout.write(md);
  await procs.stopAll();
  rmSync(tmp, { recursive: true, force: true });
  process.exit(errors === 0 ? 0 : 1);
}

main().catch(async (err) => {
  log(`bench:workers failed: ${(err as Error).stack ?? err}\nkept ${tmp}`);
  await procs.stopAll();
  process.exit(1);
});
