import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { H2Request } from './listener/h2-stream.ts';
import type { Duplex, Readable } from 'node:stream';
import type { CompiledRoute } from './router/types.ts';
import type { Cluster } from './upstream/cluster.ts';
import type { Endpoint } from './upstream/endpoint.ts';
import type { ListenerView } from './runtime/generation.ts';
import type { RequestSpan } from './observability/tracing/request-span.ts';

/** node's HTTP/1.1 request, or an HTTP/2 stream's (listener/h2-stream.ts). */
export type GatewayRequest = IncomingMessage | H2Request;
/** What the gateway uses of a response; node's HTTP/1.1 response and H2Response both fit it. */
export interface GatewayResponse {
  readonly headersSent: boolean;
  readonly writableFinished: boolean;
  /** end() was called (the response may still be flushing). */
  readonly writableEnded: boolean;
  readonly statusCode: number;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  end(data?: string | Buffer): unknown;
  destroy(err?: Error): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
}

/**
 * Everything one request carries through the gateway: created once per request with a fixed shape,
 * filled as the request moves listener → router → upstream, read by the access log at the end.
 * `view` is the generation the request started on; it never changes under a request.
 */
export class Exchange {
  readonly req: GatewayRequest;
  readonly res: GatewayResponse;
  readonly view: ListenerView;
  readonly startedAt: number;
  requestId = '';
  /** The connection's peer: its PROXY-protocol source when it had one, else the socket's peer. */
  peer = '';
  /** The client address every consumer uses (see listener/client-address.ts). */
  clientIp = '';
  authority = '';
  /** Normalised path without the query, and the query with its leading '?' (or ''). */
  path = '';
  query = '';
  route: CompiledRoute | null = null;
  cluster: Cluster | null = null;
  endpoint: Endpoint | null = null;
  /** The gateway's own error code when it answered itself, for the access log. */
  errorCode: string | null = null;
  upstreamStartedAt = 0;
  upstreamDurationMs = -1;
  /** Set when the client went away before the response finished. */
  clientClosed = false;
  /** Verified token claims (set by authn), or null for an anonymous request. */
  claims: Record<string, unknown> | null = null;
  /** Header edits toward the upstream added by filters: flat [name, value, …] pairs, names lower-case. */
  upstreamHeadersAdd: string[] | null = null;
  /** Header names (lower-case) filters want removed before the upstream (spoofable claim headers, tokens). */
  upstreamHeadersRemove: Set<string> | null = null;
  /** Extra headers for the response to the client (RateLimit-*, …): flat [name, value, …] pairs. */
  responseHeadersAdd: string[] | null = null;
  /** Extra headers appended to the response to the client (ext_authz `append`): flat [name, value, …] pairs. */
  responseHeadersAppend: string[] | null = null;
  /**
   * The request body when a filter already started reading it (ext_authz `withRequestBody`): the whole
   * body (small: replayable), or one stream of what was read joined with the rest (sent once). null:
   * the body, if any, is still unread in `req`.
   */
  prefetchedBody: Buffer | Readable | null = null;
  /** Delay injected by the route's fault filter, in ms (0: none). */
  faultDelayMs = 0;
  /** Retries made after the first try (router retries). */
  retries = 0;
  /** An HTTP/1.1 Upgrade request (WebSocket): the client socket and the bytes read past the head. */
  upgrade: { readonly socket: Duplex; readonly head: Buffer } | null = null;
  /** Aborts the upstream exchange in flight, if any. */
  abortUpstream: ((reason: Error) => void) | null = null;
  /** W3C trace context (observability/trace-context.ts): the trace and the gateway's span in it. */
  traceId = '';
  /** The gateway's span id: the upstream's parent (the server span's id when spans are exported). */
  spanId = '';
  sampled = false;
  /** The client's tracestate, passed on with a valid traceparent (else null). */
  traceState: string | null = null;
  /** The server span when span export is configured; null otherwise (the one check the request path makes). */
  span: RequestSpan | null = null;
  /** TLS version of the client connection (listener/tls-version.ts). */
  tlsVersion: string | null = null;
  /** Request body bytes received (-1: not counted; the access log then uses Content-Length). */
  bytesIn = -1;
  /** Response body bytes sent to the client. */
  bytesOut = 0;
  /** Response-flag bits set along the way (observability/response-flags.ts); the rest derive from errorCode. */
  flags = 0;

  constructor(req: GatewayRequest, res: GatewayResponse, view: ListenerView, startedAt: number) {
    this.req = req;
    this.res = res;
    this.view = view;
    this.startedAt = startedAt;
  }
}
