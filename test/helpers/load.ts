import { Agent as UndiciAgent, Pool } from 'undici';
import type { TestPki } from './pki.ts';

// A bounded load generator for fault and lifecycle tests: `concurrency` loops, each sending one
// request after the other to the gateway (HTTP/1.1 keep-alive or HTTP/2, real TLS verified against the
// test CA), until stop(). It counts every answer by status and keeps samples of what went wrong, so a
// test asserts what the clients saw ("no request failed while the upstream was killed"). No timing is
// asserted: the loops only pace themselves (`pauseMs`) so two cores stay usable.

export interface LoadOptions {
  port: number;
  pki: TestPki;
  /** A path, or a function of the request number (spread requests over routes). */
  path?: string | ((n: number) => string);
  method?: string;
  headers?: Record<string, string> | ((n: number) => Record<string, string>);
  body?: string;
  protocol?: 'h1' | 'h2';
  concurrency?: number;
  /** Pause between two requests of one loop (default 2 ms). */
  pauseMs?: number;
  /** Statuses that count as success (default: 2xx). */
  ok?: (status: number) => boolean;
  /** Sees every outcome in order: the answer's status and headers, or the error of a request that got none. */
  onAnswer?: (a: { status: number; headers: Record<string, string | string[] | undefined> } | { error: string }) => void;
}

export interface LoadReport {
  sent: number;
  ok: number;
  /** Answers that were not `ok`, plus transport errors. */
  failed: number;
  byStatus: Record<string, number>;
  /** Up to 20 samples of failures: status and body, or the error message. */
  failures: string[];
  /** Latency of answered requests, ms (from a histogram with 2 % resolution). */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Latencies in log-spaced buckets (2 % wide) from 10 µs to ~30 s: bounded memory for a long soak. */
class LatencyHistogram {
  private readonly counts = new Float64Array(760);
  private n = 0;
  add(ms: number): void {
    const i = ms <= 0.01 ? 0 : Math.min(this.counts.length - 1, Math.ceil(Math.log(ms / 0.01) / Math.log(1.02)));
    this.counts[i]!++;
    this.n++;
  }
  percentile(p: number): number | null {
    if (this.n === 0) return null;
    let seen = 0;
    const want = p * this.n;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= want) return 0.01 * Math.pow(1.02, i);
    }
    return null;
  }
}

export interface LoadRun {
  /** The counts so far (a copy). */
  report(): LoadReport;
  /** Resolves when `n` more requests were answered (successfully or not) after this call. */
  waitForMore(n: number, maxMs?: number): Promise<void>;
  /** Stops every loop after its request in flight and closes the client (again: the same report). */
  stop(): Promise<LoadReport>;
}

export function startLoad(o: LoadOptions): LoadRun {
  const origin = `https://127.0.0.1:${o.port}`;
  const connect = { ca: o.pki.read('ca.crt'), servername: 'localhost', rejectUnauthorized: true };
  const h2 = o.protocol === 'h2';
  const client = h2
    ? new UndiciAgent({ allowH2: true, connect: { ...connect, ALPNProtocols: ['h2'] } as never })
    : new Pool(origin, { connections: o.concurrency ?? 4, connect });
  const isOk = o.ok ?? ((s: number) => s >= 200 && s < 300);
  const r: LoadReport = { sent: 0, ok: 0, failed: 0, byStatus: {}, failures: [], p50Ms: null, p99Ms: null };
  const latency = new LatencyHistogram();
  let answered = 0;
  let stopped = false;
  const waiters: Array<{ at: number; resolve: () => void }> = [];

  function done(status: string, good: boolean, detail: string | null): void {
    answered++;
    r.byStatus[status] = (r.byStatus[status] ?? 0) + 1;
    if (good) r.ok++;
    else {
      r.failed++;
      if (r.failures.length < 20 && detail !== null) r.failures.push(detail);
    }
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (answered >= waiters[i]!.at) {
        waiters[i]!.resolve();
        waiters.splice(i, 1);
      }
    }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const n = r.sent++;
      const path = typeof o.path === 'function' ? o.path(n) : (o.path ?? '/');
      const headers = typeof o.headers === 'function' ? o.headers(n) : (o.headers ?? {});
      const t0 = performance.now();
      try {
        const res = await client.request({
          origin,
          path,
          method: (o.method ?? 'GET') as 'GET',
          headers: { host: `localhost:${o.port}`, ...headers },
          body: o.body,
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        const text = await res.body.text();
        latency.add(performance.now() - t0);
        o.onAnswer?.({ status: res.statusCode, headers: res.headers });
        const good = isOk(res.statusCode);
        done(String(res.statusCode), good, good ? null : `${res.statusCode} ${text.slice(0, 200)}`);
      } catch (err) {
        o.onAnswer?.({ error: (err as Error).message });
        done('error', false, `error ${(err as Error & { code?: string }).code ?? ''} ${(err as Error).message}`);
      }
      if (o.pauseMs !== 0) await new Promise((res) => setTimeout(res, o.pauseMs ?? 2));
    }
  }

  const loops = Array.from({ length: o.concurrency ?? 4 }, () => loop());
  let stopping: Promise<LoadReport> | null = null;
  const snapshot = (): LoadReport => ({ ...r, byStatus: { ...r.byStatus }, failures: [...r.failures], p50Ms: latency.percentile(0.5), p99Ms: latency.percentile(0.99) });

  return {
    report: snapshot,
    waitForMore(n, maxMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const w = { at: answered + n, resolve: () => (clearTimeout(timer), resolve()) };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i !== -1) waiters.splice(i, 1);
          reject(new Error(`load: ${n} more answers did not arrive within ${maxMs} ms (${JSON.stringify(r.byStatus)})`));
        }, maxMs);
        waiters.push(w);
      });
    },
    stop() {
      // Idempotent: a test stops its load, and its cleanup may stop it again.
      stopping ??= (async () => {
        stopped = true;
        await Promise.all(loops);
        await client.close();
        return snapshot();
      })();
      return stopping;
    },
  };
}
