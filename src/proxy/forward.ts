import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Errors, type GatewayErrorSpec } from '../errors.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Endpoint } from '../upstream/endpoint.ts';
import type { ForwardAction } from '../router/types.ts';
import { admitUpstream, pickContext, upstreamConnected, upstreamFinished, upstreamResponded } from '../upstream/outcome.ts';
import type { Exchange } from '../exchange.ts';
import { addFilterResponseHeaders, endWithHeadersOnly, sendError } from './respond.ts';
import { buildUpstreamHeaders, dropUnframedTrailerHeader, relayableTrailers, stripResponseHopByHop } from './upstream-headers.ts';
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
import { BodyLimit, BodyTooLargeError, keepSmallBody, requestBody, requestHasBody } from '../request-body.ts';
import { mirrorSelected, sendMirror } from './mirror.ts';
import { FlagBit } from '../observability/response-flags.ts';
import { isChunkedOnly } from '../listener/request-framing.ts';
import type { TrySpan } from '../observability/tracing/request-span.ts';

// Forwarding one request through undici's dispatch API: the request body is streamed from the client
// socket (or replayed from a small kept copy when the route retries or mirrors), the response is
// streamed back with backpressure, nothing large is buffered. Each try goes to an endpoint picked by
// the cluster's balancer (a retry avoids the endpoint that just failed when there is another).
// A try is retried only before anything of the response reached the client; failures that are not
// retried map to 502/503/504.
// Response trailers are relayed (HTTP/2, and HTTP/1.1 chunked): gRPC's status travels in them. A
// response whose head already carries `grpc-status` is gRPC's trailers-only form: its head is held
// back and sent with the end of the stream, in one HEADERS frame, as gRPC clients need.
// A client that stops reading is bounded too: undici suspends its bodyTimeout while backpressure
// pauses the body, so the attempt arms its own timer whenever the client side stops draining; after
// the listener's idleTimeout without progress the response is abandoned (the client's connection or
// stream is cut) and the upstream dispatch aborted, which releases its pool connection.

export { BodyTooLargeError };

type Controller = Dispatcher.DispatchController;

class ClientClosedError extends Error {
  readonly code = 'GATEHOUSE_CLIENT_CLOSED';
}

/** The client read nothing of its response for idleTimeout. */
class ClientStalledError extends Error {
  readonly code = 'GATEHOUSE_CLIENT_STALLED';
}

/** A try that ran past perTryTimeout (classified like undici's headers timeout). */
class PerTryTimeoutError extends Error {
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
}

/**
 * An upstream response framed with a transfer coding other than `chunked` (`gzip, chunked`,
 * `identity`). undici removes only the chunking: relayed, the body would reach the client still
 * coded with nothing left to say so (HTTP/2 has no transfer codings at all). Refused as Envoy does:
 * 502 upstream_protocol_error (the HPE_ code classifies it with the parser's own errors).
 */
class UnsupportedTransferCodingError extends Error {
  readonly code = 'HPE_UNSUPPORTED_TRANSFER_CODING';
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
  // undici's HTTPParserError (a malformed status line or header from the upstream) carries no code;
  // a 101 to a request that asked for no upgrade is a socket error "bad upgrade"
  if (
    code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
    (err as Error)?.name === 'HTTPParserError' || (code === 'UND_ERR_SOCKET' && (err as Error).message === 'bad upgrade')
  ) {
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

  /** How long the client may leave its response undrained (the listener's idleTimeout). */
  get clientIdleMs(): number {
    return this.o.bodyIdleTimeoutMs;
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
  /** Armed while the client is not draining its response (see the header comment). */
  private stallTimer: NodeJS.Timeout | null = null;
  /** The per-try timeout fired before undici handed us a controller: abort as soon as it does. */
  private timedOutEarly = false;
  /** A trailers-only response's head (status, headers), sent at its end or before its first byte. */
  private heldHead: { status: number; headers: Record<string, string | string[]> } | null = null;

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
    const te = headers['transfer-encoding'];
    if (te !== undefined && !isChunkedOnly(te)) {
      c.abort(new UnsupportedTransferCodingError(`upstream transfer coding ${String(te).slice(0, 100)}`));
      return;
    }
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
    dropUnframedTrailerHeader(headers, ex.req, statusCode);
    addFilterResponseHeaders(ex, headers);
    if (this.run.responseHeaders !== null) mutateResponseHeaders(this.run.responseHeaders, headers, ex);
    if (headers['grpc-status'] !== undefined) {
      this.heldHead = { status: statusCode, headers: headers as Record<string, string | string[]> };
      return;
    }
    this.writeHead(statusCode, headers as Record<string, string | string[]>);
  }

  /** false when Node refused the head (e.g. a header invalid for HTTP/2): the response was answered 502. */
  private writeHead(status: number, headers: Record<string, string | string[]>): boolean {
    try {
      this.run.ex.res.writeHead(status, headers);
      return true;
    } catch {
      this.controller?.abort(new Error('unrelayable upstream response'));
      sendError(this.run.ex, Errors.upstreamProtocolError);
      return false;
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.discarded) return;
    const held = this.heldHead;
    if (held !== null) {
      this.heldHead = null;
      if (!this.writeHead(held.status, held.headers)) return;
    }
    const ex = this.run.ex;
    ex.bytesOut += chunk.length;
    const res = ex.res;
    if (!res.write(chunk)) {
      controller.pause();
      this.resumeUpstream ??= () => {
        this.clearStallTimer();
        controller.resume();
      };
      res.once('drain', this.resumeUpstream);
      // A timer per stall, not per chunk: armed when the client stops draining, cleared on 'drain'.
      this.stallTimer ??= setTimeout(this.onClientStalled, this.run.clientIdleMs);
    }
  }

  private clearStallTimer(): void {
    if (this.stallTimer !== null) {
      clearTimeout(this.stallTimer);
      this.stallTimer = null;
    }
  }

  /** No progress for idleTimeout: abandon the response and free the upstream connection. */
  private readonly onClientStalled = (): void => {
    this.stallTimer = null;
    const ex = this.run.ex;
    if (ex.res.writableFinished) return;
    ex.clientClosed = true; // nobody left to answer: the upstream abort below is not the endpoint's failure
    ex.errorCode = 'client_stalled';
    this.controller?.abort(new ClientStalledError('the client did not read its response'));
    ex.res.destroy();
  };

  onResponseEnd(controller: Controller, trailers: Record<string, string | string[] | undefined>): void {
    if (this.discarded) return;
    this.release(null);
    const ex = this.run.ex;
    ex.abortUpstream = null;
    const held = this.heldHead;
    if (held !== null) {
      this.heldHead = null;
      endWithHeadersOnly(ex, held.status, held.headers);
      return;
    }
    // undici reads HTTP/2 trailers (node's object) as if they were a raw list and passes {}: take
    // them from the controller as they arrived.
    const raw = (controller as { rawTrailers?: unknown }).rawTrailers;
    const t = relayableTrailers(raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : trailers);
    if (t !== null) {
      try {
        (ex.res as { addTrailers?: (h: Record<string, string | string[]>) => void }).addTrailers?.(t);
      } catch {
        // a trailer Node refuses (invalid name or value): the body is complete, end without them
      }
    }
    ex.res.end();
  }

  onResponseError(_c: Controller, err: Error): void {
    this.clearStallTimer();
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
    this.clearStallTimer();
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
    ex.bytesIn = 0; // known now: the access log need not look at the request's headers again when it ends
    if (mirror !== null) sendMirror(mirror, method, o.upstreamPath, headers, null, o.timeoutMs);
    run.start(null);
    return;
  }
  const req = requestBody(ex);
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
      if (r.error instanceof BodyTooLargeError) sendError(ex, Errors.bodyTooLarge);
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
