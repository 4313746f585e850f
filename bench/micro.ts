/**
 * Micro-benchmarks of pure functions (balancer pick(), path normalisation, route matching…):
 * ops/s measured with process.hrtime.bigint() over calibrated batches, median of several samples.
 *
 *   node --import tsx bench/micro.ts [FILTER…]      runs bench/micro/*.micro.ts (case names containing FILTER)
 *   BENCH_QUICK=1 …                                 shorter samples (smoke run)
 *
 * A suite file exports `suite: MicroSuite`. Results: bench/results/micro-latest.json and micro-latest.md
 * (+ a timestamped JSON copy; with BENCH_QUICK=1 only micro-quick-latest.{json,md}). A run with a
 * FILTER replaces them too: they hold what that run measured.
 * Pin it for steadier numbers: `taskset -c 1 node --import tsx bench/micro.ts`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface MicroCase {
  name: string;
  /** The operation; its return value is kept alive so it cannot be optimised away. */
  fn: () => unknown;
}

export interface MicroSuite {
  name: string;
  cases: MicroCase[];
}

export interface MicroOptions {
  /** Time spent calling fn before measuring (JIT warm-up). */
  warmupMs?: number;
  /** Each sample runs a batch lasting at least this long. */
  sampleMs?: number;
  samples?: number;
}

export interface MicroResult {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
  /** ops/s of every sample. */
  samples: number[];
  /** (max − min) / median of the samples, in %. */
  spreadPct: number;
  batch: number;
}

let sink: unknown;

function runBatch(fn: () => unknown, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink = fn();
  return Number(process.hrtime.bigint() - t0);
}

export function microBench(c: MicroCase, o: MicroOptions = {}): MicroResult {
  const quick = !!process.env.BENCH_QUICK && process.env.BENCH_QUICK !== '0';
  const warmupMs = o.warmupMs ?? (quick ? 50 : 300);
  const sampleMs = o.sampleMs ?? (quick ? 20 : 100);
  const sampleCount = o.samples ?? (quick ? 5 : 15);

  // Warm up and calibrate: grow the batch until one batch lasts sampleMs.
  let batch = 1;
  const warmUntil = performance.now() + warmupMs;
  for (;;) {
    const ns = runBatch(c.fn, batch);
    if (ns >= sampleMs * 1e6 && performance.now() >= warmUntil) break;
    if (ns < sampleMs * 1e6) batch = Math.min(batch * 2, 2 ** 30);
  }
  const samples: number[] = [];
  for (let s = 0; s < sampleCount; s++) samples.push(batch / (runBatch(c.fn, batch) / 1e9));
  const sorted = [...samples].sort((a, b) => a - b);
  const med = sorted[sorted.length >> 1]!;
  if (sink === Symbol.for('never')) process.stdout.write(''); // keeps `sink` observable
  return {
    name: c.name,
    opsPerSec: med,
    nsPerOp: 1e9 / med,
    samples,
    spreadPct: ((sorted.at(-1)! - sorted[0]!) / med) * 100,
    batch,
  };
}

export function formatMicro(suite: string, results: MicroResult[]): string {
  const lines = [`### ${suite}`, '', '| case | ops/s | ns/op | spread |', '|---|--:|--:|--:|'];
  for (const r of results) {
    lines.push(`| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.nsPerOp.toFixed(1)} | ±${(r.spreadPct / 2).toFixed(1)}% |`);
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const filters = process.argv.slice(2);
  const files = readdirSync(join(here, 'micro')).filter((f) => f.endsWith('.micro.ts')).sort();
  const all: { suite: string; results: MicroResult[] }[] = [];
  const mdParts: string[] = [];
  for (const f of files) {
    const { suite } = (await import(pathToFileURL(join(here, 'micro', f)).href)) as { suite: MicroSuite };
    const cases = suite.cases.filter((c) => filters.length === 0 || filters.some((x) => `${suite.name} ${c.name}`.includes(x)));
    if (cases.length === 0) continue;
    const results = cases.map((c) => microBench(c));
    all.push({ suite: suite.name, results });
    const md = formatMicro(suite.name, results);
    mdParts.push(md);
    process.stdout.write(md + '\n');
  }
  const out = {
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    suites: all,
  };
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(out, null, 2) + '\n';
  const quick = !!process.env.BENCH_QUICK && process.env.BENCH_QUICK !== '0';
  const md =
    `## gatehouse micro-benchmarks — ${out.startedAt}${quick ? ' (BENCH_QUICK smoke run: numbers are not meaningful)' : ''}\n\n` +
    `${out.machine.cpus} × ${out.machine.cpuModel}, node ${out.machine.node}${filters.length ? `, filter: ${filters.join(' ')}` : ''}. ` +
    `Median of ${quick ? 5 : 15} samples, each a batch calibrated to ~${quick ? 20 : 100} ms after a warm-up; spread = ±half of (max − min) / median.\n\n` +
    mdParts.join('\n');
  if (quick) {
    // a smoke run never replaces real results
    writeFileSync(join(dir, 'micro-quick-latest.json'), json);
    writeFileSync(join(dir, 'micro-quick-latest.md'), md);
  } else {
    writeFileSync(join(dir, `micro-${out.startedAt.replaceAll(':', '-')}.json`), json);
    writeFileSync(join(dir, 'micro-latest.json'), json);
    writeFileSync(join(dir, 'micro-latest.md'), md);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
