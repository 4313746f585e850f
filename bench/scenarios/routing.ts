import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../lib/report.ts';
import { waitForEvent } from '../lib/procs.ts';
import { TARGET_PATH, TARGET_VHOST, vhostDomain, vhostsYaml, ROUTES_PER_VHOST } from '../lib/route-table.ts';
import { gatehouseConfig, gatehouseService, type GatehouseVariant } from '../services/gatehouse.ts';
import type { BenchContext, ExtraDef, ExtraRow, RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// Issue 3, "Benchmark": route-matching cost at 10 routes vs 10,000 routes across 1,000 virtual
// hosts — throughput at 10,000 routes ≥ 90% of throughput at 10 routes; compile time for 10,000
// routes reported (goal < 300 ms).
//
// Both gatehouse configs answer the benchmark request from the same 10-route list (bench/lib/
// route-table.ts): Host vh-777.bench.test picks the virtual host, and GET /api/v3/catalog/42 only
// matches the host's 10th (last) route, after ~8 other /api candidates were tested. The small
// config has that one virtual host (10 routes); the large one has 1,000 such hosts (10,000 routes).
// Both also keep the harness's catch-all `*` host (1 route) for the readiness probe.

const VHOSTS_LARGE = 1000;
const host = { host: vhostDomain(TARGET_VHOST) };

const variant = (id: string, title: string, vhosts: number): GatehouseVariant => ({
  id,
  title,
  upstream: 'upstream-plain',
  mtls: false,
  extraVirtualHosts: () => vhostsYaml(vhosts),
});

const small = variant('gatehouse-routes-10', `gatehouse, 1 virtual host × ${ROUTES_PER_VHOST} routes → plain upstream`, 1);
const large = variant('gatehouse-routes-10k', `gatehouse, ${VHOSTS_LARGE} virtual hosts × ${ROUTES_PER_VHOST} routes → plain upstream`, VHOSTS_LARGE);

export const services: ServiceDef[] = [gatehouseService(small), gatehouseService(large)];

const common = {
  system: 'gatehouse',
  protocol: 'http1' as const,
  path: TARGET_PATH,
  headers: host,
  rounds: 3,
  durationS: 5,
  notes: `Host ${host.host}, GET ${TARGET_PATH}: the last of its virtual host's ${ROUTES_PER_VHOST} routes`,
};

export const scenarios: Scenario[] = [
  { id: 'routes-10', title: `gatehouse, ${ROUTES_PER_VHOST} routes (1 vhost), TLS → plain`, sut: small.id, ...common },
  { id: 'routes-10k', title: `gatehouse, 10,000 routes (${VHOSTS_LARGE} vhosts), TLS → plain`, sut: large.id, ...common },
];

export const ratios: RatioDef[] = [
  {
    id: 'routes-10k-vs-10',
    title: '10,000 routes / 1,000 vhosts ÷ 10 routes (route late in its vhost, vhost by Host)',
    numerator: 'routes-10k',
    denominator: 'routes-10',
    target: { min: 0.9, source: 'issue 3' },
  },
];

// ───────────────────────────── compile time ─────────────────────────────

const RUNS = 7;

function writeConfig(ctx: BenchContext, v: GatehouseVariant): string {
  const file = join(ctx.tmp, `compile-${v.id}.yaml`);
  // Same YAML as the running service; ports and the upstream address are never used by a compile.
  writeFileSync(file, gatehouseConfig(ctx, v, { https: 18443, admin: 19901 }, { origin: 'http://127.0.0.1:9' }));
  return file;
}

interface CompileSamples {
  routes: number;
  vhosts: number;
  load: number[];
  compile: number[];
  routesOnly: number[];
}

export const extras: ExtraDef[] = [
  {
    id: 'routes-compile',
    title: 'config load + compile time',
    async run(ctx, where): Promise<ExtraRow[]> {
      const configs = [
        { id: 'large', file: writeConfig(ctx, large) },
        { id: 'small', file: writeConfig(ctx, small) },
      ];
      const logFile = join(ctx.tmp, 'compile-time.log');
      const child = ctx.procs.spawnTs('compile-time', 'bench/workers/compile-time.ts', [JSON.stringify({ configs, runs: RUNS })], {
        cwd: ctx.root,
        cpu: where.cpu,
        logFile,
        pipeStdout: true,
      });
      const { configs: r } = await waitForEvent<{ configs: Record<string, CompileSamples> }>(child, 'result', 180_000, 'compile-time worker');
      const big = r.large!;
      const little = r.small!;
      const warm = (xs: number[]) => median(xs.slice(1));
      const n = `${big.routes.toLocaleString('en-US')} routes / ${big.vhosts.toLocaleString('en-US')} vhosts`;
      return [
        {
          id: 'compile-10k-warm',
          title: `compile(), ${n} (median of runs 2–${RUNS}, warm process: a reload)`,
          value: warm(big.compile),
          unit: 'ms',
          samples: big.compile.slice(1),
          target: { max: 300, source: 'issue 3' },
        },
        {
          id: 'compile-10k-cold',
          title: `compile(), ${n}, first run in a fresh process (startup)`,
          value: big.compile[0] ?? null,
          unit: 'ms',
          target: { max: 300, source: 'issue 3' },
        },
        { id: 'routes-only-10k-warm', title: `of which routes: compileVirtualHost() × ${big.vhosts} + host table (median, warm)`, value: warm(big.routesOnly), unit: 'ms', samples: big.routesOnly.slice(1) },
        { id: 'load-10k-warm', title: `loadConfigText() (YAML, schema, checks), ${n} (median, warm)`, value: warm(big.load), unit: 'ms', samples: big.load.slice(1) },
        { id: 'load-10k-cold', title: `loadConfigText(), ${n}, first run (startup)`, value: big.load[0] ?? null, unit: 'ms' },
        {
          id: 'compile-10-warm',
          title: `compile(), ${little.routes} routes / ${little.vhosts} vhosts (median, warm; for scale)`,
          value: warm(little.compile),
          unit: 'ms',
          samples: little.compile.slice(1),
        },
      ];
    },
  },
];
