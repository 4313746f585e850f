import type { GatewayErrorSpec } from '../errors.ts';
import type { Exchange } from '../exchange.ts';

// The shape every per-route request filter has (authn, authz, rate limits, faults…): a config
// object built once per generation with a cheap per-request `onRequest`. A filter that needs no
// I/O answers synchronously and allocates no promise; one that does returns a promise.
// The compiled route holds its filters in order, or null when it has none (the hot path is a
// null check).

export interface Rejection {
  /** The gateway's error (its code is logged; its status and JSON body are sent unless `response` is given). */
  readonly error: GatewayErrorSpec;
  /** Extra response headers (WWW-Authenticate, Retry-After, RateLimit-*). */
  readonly headers?: Record<string, string>;
  /** Ask an HTTP/1.1 client to close (the rest of the request cannot be trusted, e.g. after a 413). */
  readonly closeConnection?: boolean;
  /** A response chosen by the filter instead of the gateway's JSON error (an ext_authz denial). */
  readonly response?: FilterResponse;
}

export interface FilterResponse {
  readonly status: number;
  /** Lower-case names; content-length and x-request-id are set by the gateway. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: Buffer;
  /** What a gRPC client is told (`grpc-message`) instead of the body's text (when the body is the gateway's own JSON). */
  readonly grpcMessage?: string;
}

/** undefined: continue with the next filter. A Rejection: answer the client with it. */
export type FilterResult = Rejection | undefined;

export interface RequestFilter {
  readonly name: string;
  onRequest(ex: Exchange): FilterResult | Promise<FilterResult>;
  /** What this instance checks, in a few words (for `explain` and GET /routes; never per request). */
  describe?(): string;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | undefined)?.then === 'function';
}

/**
 * Runs `filters` in order from index `from`. Calls `next()` when all passed, `reject(r)` on the
 * first rejection, `fail(err)` if a filter throws. Stays synchronous until a filter returns a promise.
 */
export function runFilters(
  ex: Exchange,
  filters: readonly RequestFilter[],
  from: number,
  next: () => void,
  reject: (r: Rejection) => void,
  fail: (err: unknown) => void,
): void {
  for (let i = from; i < filters.length; i++) {
    let r: FilterResult | Promise<FilterResult>;
    try {
      r = filters[i].onRequest(ex);
    } catch (err) {
      fail(err);
      return;
    }
    if (r === undefined) continue;
    if (isPromise(r)) {
      r.then(
        (v) => {
          // The client left, or the gateway already answered (a request timeout) while the filter waited.
          if (ex.clientClosed || ex.res.headersSent) return;
          if (v !== undefined) reject(v);
          else runFilters(ex, filters, i + 1, next, reject, fail);
        },
        fail,
      );
      return;
    }
    reject(r);
    return;
  }
  next();
}
