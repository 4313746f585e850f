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
