import type { RetryPolicyConfig } from '../config/schema.ts';

// A route's retry policy, compiled once: which failures are retried, how often, how long each try may
// wait for response headers, and the backoff between tries.
//
// `attempts` counts retries after the first try (Istio): attempts 3 → up to 4 tries.
// retryOn:
//   connect-failure  the connection to the endpoint could not be made (refused, TLS failure, connect timeout)
//   reset            the upstream reset/closed the connection or sent garbage before a response, or a
//                    try ran past perTryTimeout
//   refused-stream   HTTP/2 REFUSED_STREAM
//   5xx              any 5xx response, plus all of the above (the gateway would answer 502/504 for them)
//   gateway-error    502, 503 or 504 responses, plus all of the above
//   retriable-4xx    409 responses
//   "503", 429 …     responses with that exact status
// Only idempotent methods are retried unless `retryNonIdempotent: true`.
// Backoff: full jitter, random in [0, min(BASE·2^n, CAP)] before retry n (n = 0, 1, …).

export const RETRY_BACKOFF_BASE_MS = 25;
export const RETRY_BACKOFF_CAP_MS = 250;
/** Request bodies up to this size are kept in memory so a retry (or mirror) can replay them. */
export const RETRY_BODY_LIMIT = 64 * 1024;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export type FailureKind = 'connect' | 'reset' | 'refused-stream' | 'timeout';

export interface RetryPolicy {
  readonly attempts: number;
  /** 0: no per-try limit (only the route timeout). */
  readonly perTryTimeoutMs: number;
  readonly retryNonIdempotent: boolean;
  readonly failures: ReadonlySet<FailureKind>;
  readonly statuses: ReadonlySet<number>;
  readonly any5xx: boolean;
}

export function compileRetryPolicy(cfg: RetryPolicyConfig | undefined): RetryPolicy | null {
  if (!cfg || cfg.attempts === 0) return null;
  const failures = new Set<FailureKind>();
  const statuses = new Set<number>();
  let any5xx = false;
  for (const on of cfg.retryOn) {
    switch (on) {
      case 'connect-failure':
        failures.add('connect');
        break;
      case 'reset':
        failures.add('reset').add('timeout');
        break;
      case 'refused-stream':
        failures.add('refused-stream');
        break;
      case '5xx':
        any5xx = true;
        failures.add('connect').add('reset').add('refused-stream').add('timeout');
        break;
      case 'gateway-error':
        statuses.add(502).add(503).add(504);
        failures.add('connect').add('reset').add('refused-stream').add('timeout');
        break;
      case 'retriable-4xx':
        statuses.add(409);
        break;
      default:
        statuses.add(Number(on));
    }
  }
  return Object.freeze({
    attempts: cfg.attempts,
    perTryTimeoutMs: cfg.perTryTimeout ?? 0,
    retryNonIdempotent: cfg.retryNonIdempotent,
    failures,
    statuses,
    any5xx,
  });
}

export function methodRetriable(p: RetryPolicy, method: string): boolean {
  return p.retryNonIdempotent || IDEMPOTENT.has(method);
}

export function retriableStatus(p: RetryPolicy, status: number): boolean {
  return (p.any5xx && status >= 500 && status <= 599) || p.statuses.has(status);
}

export function retriableFailure(p: RetryPolicy, kind: FailureKind): boolean {
  return p.failures.has(kind);
}

/** Delay before retry number `n` (0 = the first retry). */
export function backoffMs(n: number): number {
  const ceiling = Math.min(RETRY_BACKOFF_BASE_MS * 2 ** n, RETRY_BACKOFF_CAP_MS);
  return Math.floor(Math.random() * (ceiling + 1));
}

const retriesByCluster = new Map<string, number>();

/** Counts one retry toward `cluster` (only on the retry path, never per request). */
export function recordRetry(cluster: string): void {
  retriesByCluster.set(cluster, (retriesByCluster.get(cluster) ?? 0) + 1);
}

/** Retries so far by cluster name (for metrics and tests). */
export function retryStats(): ReadonlyMap<string, number> {
  return retriesByCluster;
}

/** A cluster left the config: its retry count (and so its series) goes with it. */
export function forgetRetries(cluster: string): void {
  retriesByCluster.delete(cluster);
}
