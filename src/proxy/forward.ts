import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Errors, type GatewayErrorSpec } from '../errors.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Endpoint } from '../upstream/endpoint.ts';
import type { ForwardAction } from '../router/types.ts';
import { admitUpstream, pickContext, upstreamConnected, upstreamFinished, upstreamResponded } from '../upstream/outcome.ts';
import type { Exchange } from '../exchange.ts';
import { addFilterResponseHeaders, sendError } from './respond.ts';
import { buildUpstreamHeaders, stripResponseHopByHop } from './upstream-headers.ts';
import { mutateResponseHeaders, type HeaderMutation } from './header-mutations.ts';
import {
  backoffMs,
  methodRetriable,
  recordRetry,
  retriableFailure,
  retriableStatus,
  RETRY_BODY_LIMIT,
  type FailureKind,
  type RetryPolicy,
} from './retry-policy.ts';
import { BodyLimit, BodyTooLargeError, keepSmallBody, requestHasBody } from '../request-body.ts';
import { mirrorSelected, sendMirror } from './mirror.ts';
import { FlagBit } from '../observability/response-flags.ts';
import type { TrySpan } from '../observability/tracing/request-span.ts';

// Forwarding one request through undici's dispatch API: the request body is streamed from the client
// socket (or replayed from a small kept copy when the route retries or mirrors), the response is
// streamed back with backpressure, nothing large is buffered. Each try goes to an endpoint picked by
// the cluster's balancer (a retry avoids the endpoint that just failed when there is another).
// A try is retried only before anything of the response reached the client; failures that are not
// retried map to 502/503/504.

export { BodyTooLargeError };

type Controller = Dispatcher.DispatchController;

class ClientClosedError extends Error {
  readonly code = 'GATEHOUSE_CLIENT_CLOSED';
}

/** A try that ran past perTryTimeout (classified like undici's headers timeout). */
class PerTryTimeoutError extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/** The reason a try is cut when its response is thrown away for a retry. */
class DiscardedForRetry extends Error {
  readonly code = 'GATEHOUSE_RETRY_DISCARD';
}

const CONNECT_FAILURE_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'EPROTO', 'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Maps an upstream failure to the gateway error it is answered with. */
export function classifyUpstreamError(err: unknown): GatewayErrorSpec {
  const e = err as { code?: string; cause?: { code?: string } };
  const code = e?.code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return Errors.upstreamTimeout;
  if (code === 'GATEHOUSE_BODY_TOO_LARGE') return Errors.bodyTooLarge;
  if (CONNECT_FAILURE_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return Errors.upstreamConnectFailure;
  }
  const cause = e?.cause?.code ?? '';
  if (CONNECT_FAILURE_CODES.has(cause) || cause.startsWith('ERR_SSL') || cause.startsWith('ERR_TLS')) {
    return Errors.upstreamConnectFailure;
  }
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
    return Errors.upstreamProtocolError;
  }
  return Errors.upstreamReset;
}

/** Which retryOn class a failure (before any response) belongs to; null: never retried. */
function failureKind(err: unknown, spec: GatewayErrorSpec, perTryBound: boolean): FailureKind | null {
  if (spec === Errors.upstreamConnectFailure) return 'connect';
  if (spec === Errors.upstreamTimeout) return perTryBound ? 'timeout' : null; // the route deadline is final
  if (spec === Errors.upstreamReset || spec === Errors.upstreamProtocolError) {
    return /REFUSED_STREAM/.test(String((err as Error)?.message)) ? 'refused-stream' : 'reset';
  }
  return null;
}


export interface ForwardOptions {
  readonly upstreamPath: string;
  readonly timeoutMs: number;
  readonly bodyIdleTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly trustedPeer: boolean;
  /** The route's forward action (retries, header edits, host rewrite, mirror); absent: one plain try. */
  readonly action?: ForwardAction;
}

/** One request's tries against one cluster. */
class ForwardRun {
  private tries = 0;
  private last: Endpoint | null = null;
  private body: Buffer | Readable | null = null;
  private readonly deadline: number;

  constructor(
    readonly ex: Exchange,
    readonly cluster: Cluster,
    private readonly o: ForwardOptions,
    readonly headers: string[],
    private retry: RetryPolicy | null,
    readonly responseHeaders: HeaderMutation | null,
  ) {
    this.deadline = o.timeoutMs > 0 ? performance.now() + o.timeoutMs : 0;
  }

  start(body: Buffer | Readable | null): void {
    this.body = body;
    // A streamed body can be sent once only.
    if (body !== null && !Buffer.isBuffer(body)) this.retry = null;
    this.attempt();
  }

  private attempt(): void {
    const ex = this.ex;
    if (ex.clientClosed) return;
    const endpoint = this.cluster.pick(pickContext(this.cluster, ex), this.last ?? undefined);
    if (endpoint === null) {
      sendError(ex, Errors.noHealthyUpstream);
      return;
    }
    if (!admitUpstream(this.cluster, endpoint)) {
      sendError(ex, Errors.circuitOpen);
      return;
    }
    // Each try waits at most perTryTimeout for response headers, and never past the route deadline.
    // The deadline rides on undici's (coarse, cheap) headersTimeout; a per-try timeout shorter than
    // what is left gets its own precise timer, since undici's timers tick only about every 0.5 s.
    let headersTimeout = 0;
    if (this.deadline > 0) {
      headersTimeout = Math.ceil(this.deadline - performance.now());
      if (headersTimeout <= 0) {
        sendError(ex, Errors.upstreamTimeout);
        return;
      }
    }
    const perTry = this.retry?.perTryTimeoutMs ?? 0;
    const perTryBound = perTry > 0 && (headersTimeout === 0 || perTry < headersTimeout);
    this.tries++;
    this.last = endpoint;
    ex.endpoint = endpoint;
    const isRetry = this.tries > 1;
    if (isRetry) this.cluster.breaker.retries++;
    // With span export, each try is a client span and the upstream's parent; the headers' last pair
    // is the traceparent (upstream-headers.ts). Without it, the gateway's span stays the parent.
    const span = ex.span === null ? null : ex.span.startTry(ex, endpoint, this.o.upstreamPath, this.tries - 1);
    if (span !== null) this.headers[this.headers.length - 1] = span.traceparent;
    const handler = new UpstreamAttempt(this, endpoint, perTryBound, isRetry, span);
    if (perTryBound) handler.startTryTimer(perTry);
    ex.abortUpstream = (reason) => handler.abort(reason);
    ex.upstreamStartedAt = performance.now();
    endpoint.pool.dispatch(
      {
        path: this.o.upstreamPath,
        servername: endpoint.servername, // else undici would take the client's Host as the SNI
        method: ex.req.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body: this.body as unknown as Dispatcher.DispatchOptions['body'],
        headersTimeout,
        bodyTimeout: this.o.bodyIdleTimeoutMs,
      } as Dispatcher.DispatchOptions, // `servername` is read by undici but missing from its types
      handler,
    );
  }

  private canRetry(): RetryPolicy | null {
    const p = this.retry;
    if (p === null || this.tries > p.attempts || this.ex.clientClosed) return null;
    const b = this.cluster.breaker;
    if (b.retries >= (b.limits.maxRetries ?? Number.POSITIVE_INFINITY)) {
      this.cluster.metrics.overflowRetries.inc();
      return null;
    }
    if (this.deadline > 0 && performance.now() >= this.deadline) return null;
    return p;
  }

  private scheduleRetry(): void {
    const ex = this.ex;
    ex.retries++;
    recordRetry(this.cluster.name);
    const timer = setTimeout(() => {
      ex.abortUpstream = null;
      this.attempt();
    }, backoffMs(this.tries - 1));
    ex.abortUpstream = () => clearTimeout(timer);
  }

  /** A response with `status` arrived: true when it is thrown away and the request retried. */
  retryOnStatus(status: number): boolean {
    const p = this.canRetry();
    if (p === null || !retriableStatus(p, status)) {
      if (p === null) this.noteExhausted(this.retry !== null && retriableStatus(this.retry, status));
      return false;
    }
    this.scheduleRetry();
    return true;
  }

  /** A try failed before its response started: true when the request is retried. */
  retryOnFailure(kind: FailureKind | null): boolean {
    const p = this.canRetry();
    if (p === null || kind === null || !retriableFailure(p, kind)) {
      if (p === null) this.noteExhausted(this.retry !== null && kind !== null && retriableFailure(this.retry, kind));
      return false;
    }
    this.scheduleRetry();
    return true;
  }

  /** URX (access log): the last try failed in a retriable way and the retries were used up. */
  private noteExhausted(retriable: boolean): void {
    if (retriable && this.retry !== null && this.tries > this.retry.attempts) this.ex.flags |= FlagBit.retriesExhausted;
  }
}

class UpstreamAttempt implements Dispatcher.DispatchHandler {
  private controller: Controller | null = null;
  private resumeUpstream: (() => void) | null = null;
  /** The response was thrown away for a retry: ignore whatever undici still reports. */
  private discarded = false;
  private released = false;
  /** Got a connection (no longer pending for the circuit breaker). */
  private connected = false;
  private tryTimer: NodeJS.Timeout | null = null;
  /** The per-try timeout fired before undici handed us a controller: abort as soon as it does. */
  private timedOutEarly = false;

  /** The upstream's status once its response head arrived (0 before). */
  private status = 0;
  private readonly startedAt = performance.now();

  constructor(
    private readonly run: ForwardRun,
    private readonly endpoint: Endpoint,
    private readonly perTryBound: boolean,
    private readonly isRetry: boolean,
    private readonly span: TrySpan | null,
  ) {}

  /** Ends this try's accounting once: circuit-breaker counters, outlier detection on a failure, its stats and span. */
  private release(failure: GatewayErrorSpec | null): void {
    if (this.tryTimer !== null) {
      clearTimeout(this.tryTimer);
      this.tryTimer = null;
    }
    if (this.released) return;
    this.released = true;
    upstreamFinished(this.run.cluster, this.endpoint, this.connected, failure);
    if (this.isRetry) this.run.cluster.breaker.retries--;
    // A try that got no response head is counted here, with the time until it failed.
    if (this.status === 0) this.run.cluster.stats.recordTry(0, (performance.now() - this.startedAt) / 1000);
    this.span?.end(this.status, failure === null ? null : failure.code);
  }

  startTryTimer(ms: number): void {
    this.tryTimer = setTimeout(() => {
      this.tryTimer = null;
      if (this.controller === null) this.timedOutEarly = true;
      else this.controller.abort(new PerTryTimeoutError('per-try timeout'));
    }, ms);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (!this.connected) {
      this.connected = true;
      upstreamConnected(this.run.cluster);
    }
    if (this.run.ex.clientClosed) controller.abort(new ClientClosedError('client closed'));
    else if (this.timedOutEarly) controller.abort(new PerTryTimeoutError('per-try timeout'));
  }

  onResponseStart(c: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200 || this.discarded) return; // 1xx informational: not relayed
    if (this.tryTimer !== null) {
      clearTimeout(this.tryTimer); // the per-try timeout bounds the wait for response headers only
      this.tryTimer = null;
    }
    const ex = this.run.ex;
    ex.upstreamDurationMs = performance.now() - ex.upstreamStartedAt;
    this.status = statusCode;
    this.run.cluster.stats.recordTry(statusCode, ex.upstreamDurationMs / 1000);
    upstreamResponded(this.run.cluster, this.endpoint, statusCode);
    if (this.run.retryOnStatus(statusCode)) {
      // Nothing was sent to the client yet: drop this response (and its connection) and try again.
      this.discarded = true;
      this.release(null);
      c.abort(new DiscardedForRetry('retrying'));
      return;
    }
    stripResponseHopByHop(headers);
    addFilterResponseHeaders(ex, headers);
    if (this.run.responseHeaders !== null) mutateResponseHeaders(this.run.responseHeaders, headers, ex);
    try {
      ex.res.writeHead(statusCode, headers as Record<string, string | string[]>);
    } catch {
      // a header Node refuses to send on (e.g. invalid for HTTP/2): the response is not relayable
      this.controller?.abort(new Error('unrelayable upstream response'));
      sendError(ex, Errors.upstreamProtocolError);
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.discarded) return;
    const ex = this.run.ex;
    ex.bytesOut += chunk.length;
    const res = ex.res;
    if (!res.write(chunk)) {
      controller.pause();
      this.resumeUpstream ??= () => controller.resume();
      res.once('drain', this.resumeUpstream);
    }
  }

  onResponseEnd(): void {
    if (this.discarded) return;
    this.release(null);
    this.run.ex.abortUpstream = null;
    this.run.ex.res.end();
  }

  onResponseError(_c: Controller, err: Error): void {
    if (this.discarded) return;
    const ex = this.run.ex;
    // Nobody to tell when the client left or the gateway already answered (e.g. a request timeout).
    const spec = ex.clientClosed || ex.res.writableEnded ? null : classifyUpstreamError(err);
    this.release(spec);
    ex.abortUpstream = null;
    if (spec === null) return;
    if (!ex.res.headersSent && this.run.retryOnFailure(failureKind(err, spec, this.perTryBound))) return;
    sendError(ex, spec);
  }

  abort(reason: Error): void {
    this.controller?.abort(reason);
  }
}

/** Forwards the exchange to `cluster` (retrying per the route's policy). */
export function forward(ex: Exchange, cluster: Cluster, o: ForwardOptions): void {
  ex.cluster = cluster;
  const a = o.action ?? null;
  const headers = buildUpstreamHeaders(ex, o.trustedPeer, a?.requestHeaders ?? null, a?.hostRewrite ?? null);
  const method = ex.req.method ?? 'GET';
  const retry = a !== null && a.retry !== null && methodRetriable(a.retry, method) ? a.retry : null;
  const mirror = a !== null && mirrorSelected(a.mirror) ? a.mirror : null;
  const run = new ForwardRun(ex, cluster, o, headers, retry, a?.responseHeaders ?? null);

  const prefetched = ex.prefetchedBody;
  if (prefetched !== null) {
    // A filter (ext_authz withRequestBody) already read the body: kept whole (replayable) or one stream.
    if (Buffer.isBuffer(prefetched)) ex.bytesIn = prefetched.length;
    if (mirror !== null && Buffer.isBuffer(prefetched)) sendMirror(mirror, method, o.upstreamPath, headers, prefetched, o.timeoutMs);
    run.start(prefetched);
    return;
  }
  if (!requestHasBody(ex)) {
    if (mirror !== null) sendMirror(mirror, method, o.upstreamPath, headers, null, o.timeoutMs);
    run.start(null);
    return;
  }
  const req = ex.req as Readable;
  const cl = ex.req.headers['content-length'];
  if (retry === null && mirror === null) {
    // With a Content-Length the limit was checked up front; without one, count as it streams.
    run.start(cl !== undefined ? req : req.pipe(new BodyLimit(o.maxBodyBytes, 0, (n) => (ex.bytesIn = n))));
    return;
  }
  // Keep a small body so it can be replayed; a large one is streamed once (no retry, no mirror).
  keepSmallBody(req, cl !== undefined ? Number(cl) : null, RETRY_BODY_LIMIT, o.maxBodyBytes, (r) => {
    if (ex.clientClosed) return;
    if (r.kind === 'error') {
      if (r.error instanceof BodyTooLargeError) sendError(ex, Errors.bodyTooLarge, undefined, true);
      else sendError(ex, Errors.badRequest);
      return;
    }
    if (r.kind === 'kept') {
      ex.bytesIn = r.body.length;
      if (mirror !== null) sendMirror(mirror, method, o.upstreamPath, headers, r.body, o.timeoutMs);
    }
    run.start(r.body);
  });
}
