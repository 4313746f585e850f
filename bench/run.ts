/**
 * `npm run bench` — the proxy path side by side, in one run: direct to a fast upstream, a bare
 * fastify + @fastify/http-proxy app, and gatehouse (TLS terminated; HTTP/1.1 keep-alive and h2;
 * plain and mTLS upstream). Every server and load generator is its own process, pinned with taskset;
 * scenarios alternate order each round; ratios are taken per round and reported as medians.
 * Loopback only; every process started here is stopped at the end, also on error and Ctrl-C.
 *
 * Results: bench/results/<timestamp>.json, bench/results/latest.json, bench/results/latest.md
 * (a BENCH_QUICK=1 smoke run writes bench/results/quick-latest.{json,md} only).
 * Options: see bench/lib/options.ts (`npm run bench -- --help`) and bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineFor, engineVersion, runLoad } from './lib/loadgen.ts';
import { probe } from './lib/net.ts';
import { readOptions, type BenchOptions } from './lib/options.ts';
import { cpuSeconds, machineBusySeconds, memoryMB, Processes, tail, TASKSET, HAS_PROC } from './lib/procs.ts';
import { checkExtraRow, markdown, ratio, summarize, type ExtraSummary } from './lib/report.ts';
import { scenarioHeaders, type BenchContext, type Measurement, type Scenario, type ServiceDef, type ServiceHandle } from './lib/types.ts';
import * as registry from './scenarios/index.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const log = (line: string) => process.stderr.write(line + '\n');

// ───────────────────────────── pinning ─────────────────────────────

interface Pinning {
  layout: string;
  loadgen: number | null;
  sut: number | null;
  deps: number | null;
  note: string;
}

function resolvePinning(o: BenchOptions): Pinning {
  const none = (why: string): Pinning => ({ layout: 'none', loadgen: null, sut: null, deps: null, note: why });
  if (o.pin === 'none') return none('no pinning (BENCH_PIN=none)');
  if (!TASKSET) return none('no pinning: taskset not found');
  const bad = o.cpus.find((c) => c >= os.cpus().length);
  if (bad !== undefined) throw new Error(`BENCH_CPUS: CPU ${bad} does not exist (this machine has ${os.cpus().length})`);
  if (o.cpus.length < 2) return none(`no pinning: only ${o.cpus.length} CPU available`);
  const [a, b, c] = o.cpus as [number, number, number | undefined];
  if (o.pin === 'shared') {
    return { layout: 'shared', loadgen: a, sut: b, deps: b, note: `load generator on CPU ${a}; server under test and its upstream share CPU ${b}` };
  }
  if (o.pin === 'auto' && c !== undefined) {
    return { layout: 'dedicated', loadgen: a, sut: b, deps: c, note: `load generator on CPU ${a}, server under test alone on CPU ${b}, upstream on CPU ${c}` };
  }
  return {
    layout: 'split',
    loadgen: a,
    sut: b,
    deps: a,
    note: `server under test alone on CPU ${b}; load generator and upstream share CPU ${a} (in direct-* the upstream is the server under test)`,
  };
}

// ───────────────────────────── services ─────────────────────────────

function closure(ids: string[], defs: Map<string, ServiceDef>): string[] {
  const out: string[] = [];
  const visit = (id: string, path: string[]) => {
    if (out.includes(id)) return;
    if (path.includes(id)) throw new Error(`service dependency cycle: ${[...path, id].join(' → ')}`);
    const d = defs.get(id);
    if (!d) throw new Error(`unknown service "${id}"`);
    for (const n of d.needs) visit(n, [...path, id]);
    out.push(id);
  };
  for (const id of ids) visit(id, []);
  return out; // dependencies first
}

// ───────────────────────────── main ─────────────────────────────

async function main(): Promise<number> {
  const opts = readOptions(process.argv.slice(2));
  const defs = new Map(registry.services.map((s) => [s.id, s]));
  const inGroups = registry.select(opts.groups);
  // A selected group's ratio may compare scenarios of another group (upstreams → proxy): run those too.
  const wanted = new Set([...inGroups.scenarios.map((s) => s.id), ...inGroups.ratios.flatMap((r) => [r.numerator, r.denominator])]);
  const matches = (id: string) => opts.only.length === 0 || opts.only.some((f) => id.includes(f));
  const selected = registry.scenarios.filter((s) => wanted.has(s.id) && matches(s.id));
  const selectedExtras = inGroups.extras.filter((e) => matches(e.id));
  if (selected.length === 0 && selectedExtras.length === 0) {
    throw new Error(`no scenario matches ${opts.only.join(',')} (have: ${registry.scenarios.map((s) => s.id).join(', ')})`);
  }
  const pin = resolvePinning(opts);
  const procs = new Processes();
  const tmp = mkdtempSync(join(os.tmpdir(), 'gatehouse-bench-'));
  let keepTmp = opts.keep;

  // Stop everything we started, whatever happens.
  let stopping = false;
  const shutdown = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    log(`\n${why}: stopping bench processes…`);
    await procs.stopAll();
    if (!keepTmp) rmSync(tmp, { recursive: true, force: true });
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(130, sig));
  process.on('exit', () => procs.killAllNow());

  const startedAt = new Date();
  const loadStart = os.loadavg();
  const durations = [...new Set(selected.map((s) => durationOf(s, opts)))].sort((a, b) => a - b);
  const roundCounts = [...new Set(selected.map((s) => roundsOf(s, opts)))].sort((a, b) => a - b);
  const totalRounds = Math.max(1, ...roundCounts);
  log(
    `gatehouse bench: ${selected.length} scenarios × ${roundCounts.join('/')} round(s), ${durations.join('/')} s measured + ${opts.warmupS} s warm-up each` +
      (selectedExtras.length ? `; ${selectedExtras.length} other measurement(s)` : ''),
  );
  log(`pinning: ${pin.note}`);
  if (pin.loadgen !== null) procs.pin(process.pid, pin.loadgen); // the harness itself stays off the SUT core

  try {
    // Certificates, through the CLI like a user would.
    const certDir = join(tmp, 'certs');
    const certs = spawnSync(process.execPath, ['bin/gatehouse.js', 'certs', 'init', '--dir', certDir], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    if (certs.status !== 0) throw new Error(`gatehouse certs init failed (${certs.status}): ${certs.stderr}`);
    const ctx: BenchContext = { opts, root, tmp, certDir, caPem: readFileSync(join(certDir, 'ca.crt')), procs };

    // Servers, dependencies first.
    const running = new Map<string, ServiceHandle>();
    const needed = closure([...new Set(selected.map((s) => s.sut))], defs);
    for (const id of needed) {
      const def = defs.get(id)!;
      const deps = Object.fromEntries(def.needs.map((n) => [n, running.get(n)!]));
      const t0 = Date.now();
      const h = await def.start(ctx, deps);
      running.set(id, h);
      log(`started ${id} (pid ${h.pid}) on ${h.origin} in ${Date.now() - t0} ms`);
    }

    // Each scenario's whole path must answer 200 with the upstream's body before anything is measured.
    for (const sc of selected) {
      const h = running.get(sc.sut)!;
      const headers = scenarioHeaders(sc, ctx);
      if (sc.varyHeader) {
        const first = readFileSync(sc.varyHeader.file(ctx), 'utf8').split('\n', 1)[0] ?? '';
        headers[sc.varyHeader.name] = (sc.varyHeader.prefix ?? '') + first;
      }
      const p = await probe(h.origin, sc.path ?? '/', sc.protocol, ctx.caPem, 5000, headers);
      const wantProto = sc.protocol === 'h2' ? 'h2' : 'HTTP/1.1';
      if (p.status !== 200 || p.body.length !== 64 || p.protocol !== wantProto) {
        throw new Error(`${sc.id}: probe got ${p.protocol} ${p.status} with ${p.body.length} bytes (want ${wantProto} 200 with 64): ${p.body.slice(0, 300)}`);
      }
    }

    // Measurements that are not load (compile time…): once, on the server-under-test core, before the rounds.
    const extras: ExtraSummary[] = [];
    for (const e of selectedExtras) {
      const t0 = Date.now();
      try {
        const rows = await e.run(ctx, { cpu: pin.sut, loadgen: pin.loadgen });
        extras.push({ id: e.id, title: e.title, rows: rows.map(checkExtraRow) });
        log(`${e.id} (${Date.now() - t0} ms): ${rows.map((r) => `${r.title} ${r.value === null ? '–' : r.value.toFixed(1)} ${r.unit}`).join('; ')}`);
      } catch (err) {
        extras.push({ id: e.id, title: e.title, rows: [], error: (err as Error).message });
        log(`\n!!! ${e.id} FAILED: ${(err as Error).message}\n`);
      }
    }

    // A varied header cannot be sent by wrk / h2load: those scenarios use the node engines.
    const engines = new Map(
      selected.map((s) => {
        const e = engineFor(s.protocol, opts);
        return [s.id, s.varyHeader ? (e === 'wrk' ? 'autocannon' : e === 'h2load' ? 'node-h2' : e) : e] as const;
      }),
    );
    const varyCursor = new Map<string, number>();
    const measurements: Measurement[] = [];
    for (let round = 0; round < totalRounds; round++) {
      const order = round % 2 === 0 ? selected : [...selected].reverse();
      for (const sc of order) {
        if (round >= roundsOf(sc, opts)) continue;
        if (sc.maxRounds !== undefined && round >= sc.maxRounds) continue;
        if (sc.freshProcessEachRound && round > 0) await restart(ctx, sc.sut, running, defs);
        const m = await measure(ctx, sc, round, running, defs, pin, engines.get(sc.id)!, varyCursor.get(sc.id) ?? 0);
        if (stopping) return 130; // interrupted: shutdown() is stopping everything
        if (m.varyNext !== undefined) varyCursor.set(sc.id, m.varyNext);
        measurements.push(m);
        log(progressLine(m, roundsOf(sc, opts)));
        if (!m.ok) log(`\n!!! ${sc.id} FAILED in round ${round + 1}: ${m.failure}\n`);
      }
    }

    // Report.
    const finishedAt = new Date();
    const scenarios = selected.map((s) => summarize(s, measurements));
    const ratios = inGroups.ratios
      .filter((r) => selected.some((s) => s.id === r.numerator) && selected.some((s) => s.id === r.denominator))
      .map((r) => ratio(r, measurements));
    const failed = [...scenarios.filter((s) => !s.ok), ...extras.filter((e) => e.error !== undefined).map((e) => ({ id: e.id, statusCodes: {}, errors: 0, non2xx: 0, failures: [e.error!] }))];
    const engineNames = [...new Set(engines.values())].map((e) => engineVersion(e, root));
    const gh = [...running.values()].find((h) => h.id.startsWith('gatehouse'));
    const machine = {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      availableParallelism: os.availableParallelism(),
      totalMemMB: Math.round(os.totalmem() / 2 ** 20),
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      loadavgStart: loadStart,
      loadavgEnd: os.loadavg(),
    };
    const header = [
      `## gatehouse bench — ${startedAt.toISOString()}${opts.quick ? ' (BENCH_QUICK smoke run: numbers are not meaningful)' : ''}`,
      '',
      `${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, load average at start ${loadStart.map((l) => l.toFixed(2)).join(' ')}. ` +
        `${roundCounts.join('/')} round(s) × ${durations.join('/')} s per scenario (+${opts.warmupS} s warm-up), order alternating each round. ` +
        `HTTP/1.1: ${opts.connections} keep-alive connections, pipelining 1; h2: ${opts.h2Sessions} sessions × ${opts.h2Streams} streams. ` +
        `Load: ${engineNames.join('; ')}. Pinning: ${pin.note}.`,
    ];
    const notes = [
      'req/s, p50, p99, SUT CPU and CPU µs/req are medians over rounds (per-round req/s in small print); errors are summed; peak RSS is the max VmHWM.',
      'SUT CPU is the server under test\'s user+system time over the measured window (100% = one core). Below ~90% it was not the bottleneck (the load generator, the shared core or other load was): compare CPU µs/req then.',
      '"other" is CPU used by processes outside this benchmark during the window (% of one core, from /proc/stat). Above ~10% the machine was busy with something else: rerun.',
      'CPU per request ratio = the other system\'s µs/req ÷ this one\'s (> 1: this one is cheaper per request).',
      'direct-h1 is plain HTTP straight to the upstream (no TLS): the ceiling of this setup, not a like-for-like comparison.',
      `gatehouse runs as \`node bin/gatehouse.js --config …\` (${String(gh?.info.runtime ?? '?')}). Unless its row says otherwise (*-accesslog, observe-*: a file or \`off\`), gatehouse writes its access log to /dev/null, which still pays for building and serializing each line.`,
      'fastify rows: bare fastify 5 + @fastify/http-proxy 11 (reply-from undici pool defaults), same TLS listener shape as gatehouse (node http2 server, allowHTTP1); for the mTLS upstream it verifies the upstream certificate (dev CA, rejectUnauthorized: true) and presents the gatehouse client certificate.',
    ];
    if (extras.length > 0) {
      notes.push('Other measurements ran once, before the load rounds, in a separate node process pinned to the server-under-test core; the value is the median of the samples shown.');
    }
    if (roundCounts.length > 1 || durations.length > 1) {
      notes.push(
        `Rounds × measured seconds: ${selected.map((s) => `${s.id} ${roundsOf(s, opts)} × ${durationOf(s, opts)} s`).join(', ')} ` +
          '(BENCH_ROUNDS / BENCH_DURATION set one value for all). A ratio uses the rounds where both of its scenarios ran.',
      );
    }
    const md = markdown({ header, scenarios, ratios, extras, notes });

    const result = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      ok: failed.length === 0,
      machine,
      options: opts,
      pinning: pin,
      loadGenerators: engineNames,
      services: [...running.values()].map((h) => ({ id: h.id, title: defs.get(h.id)!.title, pid: h.pid, origin: h.origin, ...h.info })),
      scenarios,
      ratios,
      extras,
      measurements,
    };
    const dir = join(root, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const json = JSON.stringify(result, null, 2) + '\n';
    // A smoke run never replaces real results: it writes quick-latest.* only.
    const written = opts.quick ? ['quick-latest.json', 'quick-latest.md'] : [`${startedAt.toISOString().replaceAll(':', '-')}.json`, 'latest.json', 'latest.md'];
    for (const name of written) writeFileSync(join(dir, name), name.endsWith('.md') ? md : json);

    process.stdout.write('\n' + md);
    log(`\nresults: ${written.map((n) => `bench/results/${n}`).join(', ')}`);
    if (failed.length > 0) {
      keepTmp = true;
      log(`\n!!! ${failed.length} scenario(s) FAILED — errors or non-2xx responses under load:`);
      for (const s of failed) {
        log(`  ${s.id}: status codes ${JSON.stringify(s.statusCodes)}, errors ${s.errors}, non-2xx ${s.non2xx}`);
        for (const f of s.failures) log(`    ${f}`);
      }
      log(`  process logs and configs kept in ${tmp}`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (stopping) return 130;
    keepTmp = true;
    log(`\nbench failed: ${(err as Error).stack ?? err}`);
    log(`process logs and configs kept in ${tmp}`);
    return 1;
  } finally {
    if (!stopping) {
      stopping = true;
      await procs.stopAll();
      if (!keepTmp) rmSync(tmp, { recursive: true, force: true });
    }
  }
}

/** Stops a running service and starts it again with the same dependencies (freshProcessEachRound). */
async function restart(ctx: BenchContext, id: string, running: Map<string, ServiceHandle>, defs: Map<string, ServiceDef>): Promise<void> {
  const def = defs.get(id)!;
  await ctx.procs.stop(running.get(id)!.pid);
  const deps = Object.fromEntries(def.needs.map((n) => [n, running.get(n)!]));
  running.set(id, await def.start(ctx, deps));
}

// ───────────────────────────── one measurement ─────────────────────────────

async function measure(
  ctx: BenchContext,
  sc: Scenario,
  round: number,
  running: Map<string, ServiceHandle>,
  defs: Map<string, ServiceDef>,
  pin: Pinning,
  engine: ReturnType<typeof engineFor>,
  varyStart: number,
): Promise<Measurement> {
  const sut = running.get(sc.sut)!;
  const deps = closure([sc.sut], defs).filter((id) => id !== sc.sut).map((id) => running.get(id)!);
  // The SUT alone on its core; its upstreams and idle servers elsewhere.
  for (const h of running.values()) ctx.procs.pin(h.pid, h.id === sc.sut ? pin.sut : pin.deps);

  let t0 = 0;
  let sutCpu0: number | null = null;
  let depsCpu0: number | null = null;
  let machine0: number | null = null;
  let self0 = process.cpuUsage();
  const depsCpu = () => {
    const v = deps.map((d) => cpuSeconds(d.pid));
    return v.some((c) => c === null) ? null : v.reduce<number>((a, b) => a + b!, 0);
  };
  const startedAt = new Date().toISOString();
  const failures: string[] = [];
  let load;
  try {
    load = await runLoad(
      ctx.procs,
      {
        engine,
        origin: sut.origin,
        path: sc.path ?? '/',
        tls: sut.tls,
        caFile: sut.tls ? join(ctx.certDir, 'ca.crt') : null,
        durationS: durationOf(sc, ctx.opts),
        warmupS: ctx.opts.warmupS,
        connections: ctx.opts.connections,
        h2Sessions: ctx.opts.h2Sessions,
        h2Streams: ctx.opts.h2Streams,
        cpu: pin.loadgen,
        root: ctx.root,
        logFile: join(ctx.tmp, `loadgen-${sc.id}-r${round}.log`),
        headers: scenarioHeaders(sc, ctx),
        vary: sc.varyHeader
          ? { name: sc.varyHeader.name, prefix: sc.varyHeader.prefix ?? '', file: sc.varyHeader.file(ctx), start: varyStart }
          : null,
      },
      () => {
        t0 = performance.now();
        sutCpu0 = cpuSeconds(sut.pid);
        depsCpu0 = depsCpu();
        machine0 = machineBusySeconds();
        self0 = process.cpuUsage();
      },
    );
  } catch (err) {
    load = {
      engine,
      durationS: 0,
      requests: 0,
      rps: 0,
      p50Ms: null,
      p99Ms: null,
      errors: 0,
      non2xx: 0,
      statusCodes: {},
      errorSamples: [],
      loadgenCpuPct: null,
    };
    failures.push((err as Error).message);
  }
  const windowS = t0 > 0 ? (performance.now() - t0) / 1000 : 0;
  const sutCpu1 = cpuSeconds(sut.pid);
  const depsCpu1 = depsCpu();
  const mem = memoryMB(sut.pid);
  const machine1 = machineBusySeconds();
  const self = process.cpuUsage(self0);
  const sutCpuS = sutCpu0 !== null && sutCpu1 !== null ? sutCpu1 - sutCpu0 : null;
  const depsCpuS = depsCpu0 !== null && depsCpu1 !== null ? depsCpu1 - depsCpu0 : null;
  const ours =
    sutCpuS !== null && load.loadgenCpuPct !== null
      ? sutCpuS + (depsCpuS ?? 0) + (load.loadgenCpuPct / 100) * windowS + (self.user + self.system) / 1e6
      : null;
  const otherCpuPct =
    machine0 !== null && machine1 !== null && ours !== null && windowS > 0 ? Math.max(0, ((machine1 - machine0 - ours) / windowS) * 100) : null;

  if (!ctx.procs.isRunning(sut.pid)) failures.push(`${sut.id} (pid ${sut.pid}) is no longer running:\n${tail(sut.logFile)}`);
  if (load.errors > 0) failures.push(`${load.errors} request errors (${load.errorSamples.join('; ') || 'no sample'})`);
  if (load.non2xx > 0) failures.push(`${load.non2xx} non-2xx responses, status codes ${JSON.stringify(load.statusCodes)}`);
  if (failures.length === 0 && load.requests === 0) failures.push('no successful request');
  if (failures.length > 0) failures.push(`server log tail (${sut.logFile}):\n${tail(sut.logFile, 10)}`);

  return {
    ...load,
    scenario: sc.id,
    round,
    startedAt,
    windowS,
    sut: {
      pid: sut.pid,
      cpuPct: sutCpuS !== null && windowS > 0 ? (sutCpuS / windowS) * 100 : NaN,
      cpuUsPerReq: sutCpuS !== null && load.requests > 0 ? (sutCpuS * 1e6) / load.requests : null,
      rssMB: mem.rssMB,
      hwmMB: mem.hwmMB,
    },
    depsCpuPct: depsCpuS !== null && windowS > 0 && deps.length > 0 ? (depsCpuS / windowS) * 100 : null,
    otherCpuPct,
    pinning: { loadgen: pin.loadgen, sut: pin.sut, deps: pin.deps },
    ok: failures.length === 0,
    ...(failures.length ? { failure: failures.join('\n') } : {}),
  };
}

/** Rounds: BENCH_ROUNDS when given, else the scenario's own, else the default. */
function roundsOf(sc: Scenario, o: BenchOptions): number {
  return o.roundsFixed ? o.rounds : (sc.rounds ?? o.rounds);
}

/** Seconds measured per round: BENCH_DURATION when given, else the scenario's own, else the default. */
function durationOf(sc: Scenario, o: BenchOptions): number {
  return o.durationFixed ? o.durationS : (sc.durationS ?? o.durationS);
}

function progressLine(m: Measurement, rounds: number): string {
  const n = (v: number | null, d = 0) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));
  return (
    `[round ${m.round + 1}/${rounds}] ${m.scenario.padEnd(28)} ${n(m.rps).padStart(7)} req/s  p50 ${n(m.p50Ms, 2)} ms  p99 ${n(m.p99Ms, 2)} ms  ` +
    `SUT cpu ${n(m.sut.cpuPct)}% ${n(m.sut.cpuUsPerReq, 1)} µs/req  rss ${n(m.sut.rssMB)} MB  loadgen cpu ${n(m.loadgenCpuPct)}%  other ${n(m.otherCpuPct)}%` +
    (m.ok ? '' : '  ** FAILED **')
  );
}

if (!HAS_PROC) log('warning: /proc not found: CPU and memory columns will be empty');
process.exitCode = await main();
