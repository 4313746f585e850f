import type { BenchOptions } from './options.ts';
import type { Processes } from './procs.ts';

// The pluggable parts of the harness. A later benchmark adds a ServiceDef (a server process, e.g. a
// gatehouse with 10,000 routes) and a Scenario (which service to load, over which protocol), in a
// file under bench/scenarios/, and lists it in bench/scenarios/index.ts.

export type Protocol = 'http1' | 'h2';

export interface BenchContext {
  readonly opts: BenchOptions;
  /** Repository root (the cwd of every child process). */
  readonly root: string;
  /** Temporary directory of this run: certs/, configs, one log file per process. */
  readonly tmp: string;
  /** Dev certificates (`gatehouse certs init`): ca.crt, edge.*, gatehouse.*, upstream.*. */
  readonly certDir: string;
  /** certDir/ca.crt, read once. */
  readonly caPem: Buffer;
  readonly procs: Processes;
}

/** A running server process. */
export interface ServiceHandle {
  readonly id: string;
  readonly pid: number;
  /** What a client connects to, e.g. `https://127.0.0.1:40123`. Always loopback. */
  readonly origin: string;
  readonly tls: boolean;
  readonly logFile: string;
  /** Anything worth recording in the results (runtime, config file, upstream…). */
  readonly info: Record<string, unknown>;
}

/** A server process the harness can start. Started once per run, only if a selected scenario needs it. */
export interface ServiceDef {
  readonly id: string;
  readonly title: string;
  /** Services that must run first (their handles are passed to start()). */
  readonly needs: readonly string[];
  start(ctx: BenchContext, deps: Readonly<Record<string, ServiceHandle>>): Promise<ServiceHandle>;
}

export interface Scenario {
  /** Stable id, used in results, ratios and `--only`. */
  readonly id: string;
  readonly title: string;
  /** Column "system": direct | fastify | gatehouse | … */
  readonly system: string;
  readonly protocol: Protocol;
  /** The service under test: its CPU time and memory are measured; it gets the SUT core. */
  readonly sut: string;
  /** Request path (default `/`). */
  readonly path?: string;
  /** Measure in at most this many rounds (for expensive extras). */
  readonly maxRounds?: number;
  /**
   * Seconds measured per round for this scenario when BENCH_DURATION is not set (and not a
   * BENCH_QUICK run); default BENCH_DURATION's default (10).
   */
  readonly durationS?: number;
  /**
   * Rounds for this scenario when BENCH_ROUNDS is not set (and not a BENCH_QUICK run). The run has as
   * many rounds as its scenario with the most; a scenario sits out the rounds beyond its own.
   */
  readonly rounds?: number;
  /**
   * Restart the service under test before every round but the first. Two identical gatehouse
   * processes on this VM differ by 10–30 % for their whole life (JIT decisions, memory layout), so a
   * ratio between two long-lived processes measures their luck as much as the feature; with a
   * fresh process per round that luck falls into the per-round spread and the median evens it out.
   */
  readonly freshProcessEachRound?: boolean;
  /**
   * Request headers sent with every request (and the probe), e.g. `{ host: 'vh-7.bench.test' }` or an
   * `authorization` header. A function is called once the services are running (it may read files
   * they wrote).
   */
  readonly headers?: Record<string, string> | ((ctx: BenchContext) => Record<string, string>);
  /**
   * One header whose value changes on every request: the lines of `file(ctx)` (written by a
   * service), cycled in order, each prefixed by `prefix`. The position carries over from one
   * measurement of the scenario to the next, so a list longer than a server-side cache keeps every
   * request a cache miss across warm-ups and rounds. HTTP/1.1 runs with autocannon (also when wrk
   * is installed); h2 with the node:http2 loop.
   */
  readonly varyHeader?: { readonly name: string; readonly prefix?: string; readonly file: (ctx: BenchContext) => string };
  readonly notes?: string;
}

/** Resolved request headers of a scenario. */
export function scenarioHeaders(sc: Scenario, ctx: BenchContext): Record<string, string> {
  return typeof sc.headers === 'function' ? sc.headers(ctx) : { ...(sc.headers ?? {}) };
}

/**
 * A measurement that is not load (compile time, say): run once per bench run, after the services
 * are up and before the load rounds: the process measured on the server-under-test core (`cpu`), its
 * peers (load, upstreams, control servers) on the load generator's (`loadgen`), as in the load rounds.
 * Reported in its own table.
 */
export interface ExtraWhere {
  readonly cpu: number | null;
  readonly loadgen: number | null;
}

export interface ExtraDef {
  readonly id: string;
  readonly title: string;
  run(ctx: BenchContext, where: ExtraWhere): Promise<ExtraRow[]>;
}

export interface ExtraRow {
  /** Stable id within the results (`<extra id>.<row>`). */
  readonly id: string;
  readonly title: string;
  /** The reported value (a median when there are samples); null when it could not be measured. */
  readonly value: number | null;
  readonly unit: string;
  readonly samples?: readonly number[];
  /** A goal for `value` (shown, never fails the run). */
  readonly target?: { readonly max?: number; readonly min?: number; readonly source: string };
  readonly notes?: string;
}

/** numerator vs denominator, computed per round (same run) and reported as the median. */
export interface RatioDef {
  readonly id: string;
  readonly title: string;
  readonly numerator: string;
  readonly denominator: string;
  /** A goal for the req/s ratio (shown, never fails the run). */
  readonly target?: { readonly min: number; readonly source: string };
}

export interface LoadResult {
  engine: string;
  durationS: number;
  requests: number;
  rps: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Socket/protocol errors and timeouts. */
  errors: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errorSamples: string[];
  /** CPU used by the load generator during the measured window, % of one core (null: unknown). */
  loadgenCpuPct: number | null;
  /** With Scenario.varyHeader: the position in the value list where the next measurement starts. */
  varyNext?: number;
}

export interface Measurement extends LoadResult {
  scenario: string;
  round: number;
  startedAt: string;
  /** Wall time of the measured window as seen by the harness. */
  windowS: number;
  sut: { pid: number; cpuPct: number; cpuUsPerReq: number | null; rssMB: number | null; hwmMB: number | null };
  /** CPU of the other services the scenario needs (upstreams), % of one core. */
  depsCpuPct: number | null;
  /**
   * CPU the rest of the machine used during the window (busy time of all CPUs minus the SUT, its
   * upstreams, the load generator and the harness), % of one core. Above ~10%: a noisy measurement.
   */
  otherCpuPct: number | null;
  pinning: { loadgen: number | null; sut: number | null; deps: number | null };
  ok: boolean;
  failure?: string;
}
