import { availableParallelism } from 'node:os';

// Every knob of `npm run bench`, from the environment (and `--only` on the command line).
// Defaults give one full run of about 3–4 minutes on a 2-core machine.

export type PinLayout = 'auto' | 'split' | 'shared' | 'none';
export type Http1Engine = 'auto' | 'autocannon' | 'wrk';
export type H2Engine = 'auto' | 'node' | 'h2load';

export interface BenchOptions {
  quick: boolean;
  /** Seconds measured per scenario and round. */
  durationS: number;
  /** Seconds of load before each measurement (not counted). */
  warmupS: number;
  rounds: number;
  /** HTTP/1.1: concurrent keep-alive connections (pipelining 1). */
  connections: number;
  /** HTTP/2: sessions × concurrent streams per session. */
  h2Sessions: number;
  h2Streams: number;
  pin: PinLayout;
  /** The CPU ids used for pinning, e.g. [0, 1]. */
  cpus: number[];
  http1Engine: Http1Engine;
  h2Engine: H2Engine;
  /** Scenario id filters (substring match); empty: all. */
  only: string[];
  /** Scenario groups (file names in bench/scenarios/, e.g. proxy, routing); empty: all. */
  groups: string[];
  /** BENCH_DURATION (or BENCH_QUICK) was given: it applies to every scenario, over Scenario.durationS. */
  durationFixed: boolean;
  /** BENCH_ROUNDS (or BENCH_QUICK) was given: it applies to every scenario, over Scenario.rounds. */
  roundsFixed: boolean;
  /** Keep the temporary directory (certs, configs, process logs). */
  keep: boolean;
}

function num(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name}: expected a number >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`${name}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

function flag(name: string): boolean {
  const raw = process.env[name];
  return raw !== undefined && raw !== '' && raw !== '0' && raw.toLowerCase() !== 'false';
}

function filtersFromArgv(argv: string[]): { only: string[]; groups: string[] } {
  const out: string[] = [];
  const groups: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only' && argv[i + 1]) out.push(...argv[++i]!.split(','));
    else if (a.startsWith('--only=')) out.push(...a.slice(7).split(','));
    else if (a === '--group' && argv[i + 1]) groups.push(...argv[++i]!.split(','));
    else if (a.startsWith('--group=')) groups.push(...a.slice(8).split(','));
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return { only: out, groups };
}

export const USAGE = `usage: npm run bench [-- --only ID[,ID…]] [-- --group NAME[,NAME…]]
  --only      scenario (and extra measurement) ids, substring match
  --group     scenario groups: proxy, routing, authn, ratelimit, upstreams (bench/scenarios/*.ts)
environment:
  BENCH_QUICK=1          smoke run: 2 s per measurement, 0.5 s warm-up, 1 round
  BENCH_DURATION=10      seconds measured per scenario and round (unset: the proxy scenarios
                         measure 10 s, the feature scenarios of issues 3-5 their own 5 s)
  BENCH_WARMUP=2         seconds of load before each measurement (not counted)
  BENCH_ROUNDS=2         rounds; scenarios alternate order each round; medians are reported (unset:
                         the proxy scenarios run 2 rounds, the feature scenarios their own 3)
  BENCH_CONNECTIONS=50   HTTP/1.1 keep-alive connections
  BENCH_H2_SESSIONS=5    HTTP/2 sessions, each with BENCH_H2_STREAMS=10 concurrent streams
  BENCH_PIN=auto         auto | split | shared | none   (see bench/README.md)
  BENCH_CPUS=0,1         CPU ids used for pinning (load generator first, server under test second)
  BENCH_HTTP1=auto       auto (wrk if installed, else autocannon) | autocannon | wrk
  BENCH_H2=auto          auto (h2load if installed, else node:http2 loop) | node | h2load
  BENCH_ONLY=a,b         scenario id filters (substring match), same as --only
  BENCH_GROUPS=a,b       scenario groups, same as --group
  BENCH_KEEP=1           keep the temporary directory (certs, configs, logs)
  BENCH_NODE_ARGS="…"    extra node flags for every gatehouse process (e.g. --cpu-prof --cpu-prof-dir=DIR)
`;

export function readOptions(argv: string[]): BenchOptions {
  const quick = flag('BENCH_QUICK');
  const cpuCount = availableParallelism();
  const cpusRaw = process.env.BENCH_CPUS;
  const cpus = cpusRaw
    ? cpusRaw.split(',').map((s) => {
        const n = Number(s.trim());
        if (!Number.isInteger(n) || n < 0) throw new Error(`BENCH_CPUS: expected CPU ids like 0,1, got ${JSON.stringify(cpusRaw)}`);
        return n;
      })
    : Array.from({ length: Math.min(cpuCount, 3) }, (_, i) => i);
  const argFilters = filtersFromArgv(argv);
  const list = (fromArgv: string[], env: string | undefined) =>
    [...fromArgv, ...(env ? env.split(',') : [])].map((s) => s.trim()).filter(Boolean);
  const only = list(argFilters.only, process.env.BENCH_ONLY);
  const groups = list(argFilters.groups, process.env.BENCH_GROUPS);
  return {
    quick,
    durationS: num('BENCH_DURATION', quick ? 2 : 10, 1),
    warmupS: num('BENCH_WARMUP', quick ? 0.5 : 2, 0),
    rounds: Math.floor(num('BENCH_ROUNDS', quick ? 1 : 2, 1)),
    connections: Math.floor(num('BENCH_CONNECTIONS', 50, 1)),
    h2Sessions: Math.floor(num('BENCH_H2_SESSIONS', 5, 1)),
    h2Streams: Math.floor(num('BENCH_H2_STREAMS', 10, 1)),
    pin: oneOf('BENCH_PIN', ['auto', 'split', 'shared', 'none'] as const, 'auto'),
    cpus,
    http1Engine: oneOf('BENCH_HTTP1', ['auto', 'autocannon', 'wrk'] as const, 'auto'),
    h2Engine: oneOf('BENCH_H2', ['auto', 'node', 'h2load'] as const, 'auto'),
    only,
    groups,
    durationFixed: quick || (process.env.BENCH_DURATION !== undefined && process.env.BENCH_DURATION !== ''),
    roundsFixed: quick || (process.env.BENCH_ROUNDS !== undefined && process.env.BENCH_ROUNDS !== ''),
    keep: flag('BENCH_KEEP'),
  };
}
