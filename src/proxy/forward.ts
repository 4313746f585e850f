import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Dispatcher } from 'undici';
import { Errors, type GatewayErrorSpec } from '../errors.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Endpoint } from '../upstream/endpoint.ts';
import { admitUpstream, pickContext, upstreamConnected, upstreamFinished, upstreamResponded } from '../upstream/outcome.ts';
import type { Exchange } from './exchange.ts';
import type { Http2ServerRequest } from 'node:http2';
import { sendError } from './respond.ts';
import { buildUpstreamHeaders, stripResponseHopByHop } from './upstream-headers.ts';

// Forwarding one request to one endpoint through undici's dispatch API: the request body is
// streamed from the client socket, the response is streamed back with backpressure, nothing is
// buffered whole. Upstream failures before the response started map to 502/503/504.

type Controller = Dispatcher.DispatchController;

export class BodyTooLargeError extends Error {
  readonly code = 'GATEHOUSE_BODY_TOO_LARGE';
}

class ClientClosedError extends Error {
  readonly code = 'GATEHOUSE_CLIENT_CLOSED';
}

/** Counts the bytes of a body without a Content-Length and fails the stream past the limit. */
class BodyLimit extends Transform {
  private seen = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) cb(new BodyTooLargeError('request body too large'));
    else cb(null, chunk);
  }
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

function requestHasBody(ex: Exchange): boolean {
  const req = ex.req;
  if ('stream' in req) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  const h = req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

class UpstreamResponse implements Dispatcher.DispatchHandler {
  private controller: Controller | null = null;
  private resumeUpstream: (() => void) | null = null;
  /** Got a connection (no longer pending for the circuit breaker). */
  private connected = false;

  constructor(
    private readonly ex: Exchange,
    private readonly endpoint: Endpoint,
    private readonly done: () => void,
  ) {}

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (!this.connected) {
      this.connected = true;
      upstreamConnected(this.ex.cluster as Cluster);
    }
    if (this.ex.clientClosed) controller.abort(new ClientClosedError('client closed'));
  }

  onResponseStart(_c: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return; // 1xx informational: not relayed
    const ex = this.ex;
    ex.upstreamDurationMs = performance.now() - ex.upstreamStartedAt;
    upstreamResponded(ex.cluster as Cluster, this.endpoint, statusCode);
    stripResponseHopByHop(headers);
    const extra = ex.responseHeadersAdd;
    if (extra !== null) for (let i = 0; i < extra.length; i += 2) headers[extra[i]] = extra[i + 1];
    try {
      ex.res.writeHead(statusCode, headers as Record<string, string | string[]>);
    } catch {
      // a header Node refuses to send on (e.g. invalid for HTTP/2): the response is not relayable
      this.controller?.abort(new Error('unrelayable upstream response'));
      sendError(ex, Errors.upstreamProtocolError);
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    const res = this.ex.res;
    if (!res.write(chunk)) {
      controller.pause();
      this.resumeUpstream ??= () => controller.resume();
      res.once('drain', this.resumeUpstream);
    }
  }

  onResponseEnd(): void {
    upstreamFinished(this.ex.cluster as Cluster, this.endpoint, this.connected, null);
    this.ex.abortUpstream = null;
    this.ex.res.end();
    this.done();
  }

  onResponseError(_c: Controller, err: Error): void {
    const ex = this.ex;
    ex.abortUpstream = null;
    const failure = ex.clientClosed ? null : classifyUpstreamError(err);
    upstreamFinished(ex.cluster as Cluster, this.endpoint, this.connected, failure);
    if (failure !== null) sendError(ex, failure);
    this.done();
  }

  abort(reason: Error): void {
    this.controller?.abort(reason);
  }
}

const noop = (): void => undefined;

export interface ForwardOptions {
  readonly upstreamPath: string;
  readonly timeoutMs: number;
  readonly bodyIdleTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly trustedPeer: boolean;
}

/** Picks an endpoint of `cluster` and forwards the exchange to it. */
export function forward(ex: Exchange, cluster: Cluster, o: ForwardOptions): void {
  ex.cluster = cluster;
  const endpoint = cluster.pick(pickContext(cluster, ex));
  if (endpoint === null) {
    sendError(ex, Errors.noHealthyUpstream);
    return;
  }
  if (!admitUpstream(cluster, endpoint)) {
    sendError(ex, Errors.circuitOpen);
    return;
  }
  ex.endpoint = endpoint;
  let body: Readable | null = null;
  if (requestHasBody(ex)) {
    // With a Content-Length the limit was checked up front; without one, count as it streams.
    const req = ex.req as Readable;
    body = ex.req.headers['content-length'] !== undefined ? req : req.pipe(new BodyLimit(o.maxBodyBytes));
  }
  const handler = new UpstreamResponse(ex, endpoint, noop);
  ex.abortUpstream = (reason) => handler.abort(reason);
  ex.upstreamStartedAt = performance.now();
  endpoint.pool.dispatch(
    {
      path: o.upstreamPath,
      servername: endpoint.servername, // else undici would take the client's Host as the SNI
      method: ex.req.method as Dispatcher.HttpMethod,
      headers: buildUpstreamHeaders(ex, o.trustedPeer),
      body: body as unknown as Dispatcher.DispatchOptions['body'],
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.bodyIdleTimeoutMs,
    } as Dispatcher.DispatchOptions, // `servername` is read by undici but missing from its types
    handler,
  );
}
