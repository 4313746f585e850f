import { Errors } from '../errors.ts';
import { normalizePath, withoutFragment } from '../router/normalize-path.ts';
import { connectionPeer, resolveClientAddress, TRUST_NONE } from '../listener/client-address.ts';
import { framingError } from '../listener/request-framing.ts';
import { ensureOriginForm, isValidAuthority } from '../listener/request-target.ts';
import { dropUnderscoreHeaders, firstUnderscoreHeader } from '../listener/header-names.ts';
import type { CompiledListener, ListenerView } from '../runtime/generation.ts';
import { runFilters } from '../filters/filter.ts';
import type { CompiledRoute } from '../router/types.ts';
import { RouteInput } from '../router/match.ts';
import { Exchange, type GatewayRequest, type GatewayResponse } from '../exchange.ts';
import { acceptOrCreateRequestId } from './request-id.ts';
import { sendDirect, sendError, sendRedirect, sendRejection } from './respond.ts';
import { forward } from './forward.ts';
import { proxyWebSocket, SocketResponse } from './websocket.ts';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { H2Request } from '../listener/h2-stream.ts';
import { startTrace } from '../observability/trace-context.ts';
import { tlsVersionOf } from '../listener/tls-version.ts';
import './metrics.ts'; // registers the retry/mirror/fault counters with /metrics
import type { OverloadSignal } from '../overload/monitor.ts';

// The request path of a TLS listener: read the generation once, then
// client address → path normalisation → virtual host → route (router/) → filters → action
// (direct | redirect | forward | WebSocket tunnel for Upgrade requests).

export type ExchangeObserver = (ex: Exchange) => void;

export interface ListenerSlot {
  /** Swapped by the listener manager on every new generation; read once per request. */
  current: ListenerView;
}

/** Never overloaded: for callers that do not configure overload protection. */
export const NEVER_OVERLOADED: OverloadSignal = Object.freeze({ active: false });

export function createRequestHandler(slot: ListenerSlot, onDone: ExchangeObserver, overload: OverloadSignal = NEVER_OVERLOADED) {
  return function handleRequest(req: GatewayRequest, res: GatewayResponse): void {
    serve(slot, onDone, req, res, null, overload);
  };
}

/** HTTP/1.1 Upgrade requests (WebSocket): same routing and filters, answered on the raw socket. */
export function createUpgradeHandler(slot: ListenerSlot, onDone: ExchangeObserver, overload: OverloadSignal = NEVER_OVERLOADED) {
  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    serve(slot, onDone, req, new SocketResponse(socket), { socket, head }, overload);
  };
}

/** Sent with every 503 `overloaded`: the sampler looks again well within a second. */
const RETRY_AFTER = Object.freeze({ 'retry-after': '1' });

function serve(
  slot: ListenerSlot,
  onDone: ExchangeObserver,
  req: GatewayRequest,
  res: GatewayResponse,
  upgrade: Exchange['upgrade'],
  overload: OverloadSignal,
): void {
  const view = slot.current;
  const ex = new Exchange(req, res, view, performance.now());
  view.gen.usage.enter();
  ex.upgrade = upgrade;
  res.once('close', () => {
    // HTTP/2: a stream the client reset counts as "finished" (node ends its writable side when it
    // closes), so its RST_STREAM code tells; forwarding on would leave an upstream response nobody
    // reads, its connection paused forever.
    if (!res.writableFinished || (req instanceof H2Request && req.stream.rstCode !== 0)) {
      ex.clientClosed = true;
      ex.abortUpstream?.(new Error('client closed the connection'));
    }
    view.gen.usage.leave();
    onDone(ex);
  });
  try {
    if (overload.active) {
      // shed before any work: no routing, no token check, no upstream
      ex.requestId = acceptOrCreateRequestId(req.headers['x-request-id']);
      ex.peer = connectionPeer(req.socket);
      ex.clientIp = ex.peer;
      sendError(ex, Errors.overloaded, RETRY_AFTER);
      return;
    }
    route(ex, view);
  } catch {
    // Defensive: a bug must cost one request, never the process.
    sendError(ex, Errors.internal);
  }
}

function route(ex: Exchange, view: ListenerView): void {
  const req = ex.req;
  const listener = view.listener;
  const headers = req.headers;
  ex.requestId = acceptOrCreateRequestId(headers['x-request-id']);
  startTrace(ex, view.gen.tracing);
  ex.peer = connectionPeer(req.socket);
  ex.tlsVersion = tlsVersionOf(req);
  const trusted = listener.trust !== TRUST_NONE && listener.trust(ex.peer, 0);
  ex.clientIp = trusted
    ? resolveClientAddress(ex.peer, headers['x-forwarded-for'] as string | undefined, listener.trust)
    : ex.peer;

  // A request line of another major version ("GET / HTTP/2.0") on an HTTP/1.x connection: llhttp
  // parses it, but HTTP/2 is only what ALPN negotiated (RFC 9112 §2.3 lets a server refuse with 505).
  if (req.httpVersionMajor !== 1 && !(req instanceof H2Request)) {
    sendError(ex, Errors.httpVersionNotSupported);
    return;
  }
  // HTTP/1.x absolute-form (`GET https://host/path`) becomes origin-form with its authority as Host.
  if (req.httpVersionMajor === 1 && !ensureOriginForm(req as IncomingMessage)) {
    sendError(ex, Errors.badRequest);
    return;
  }
  const authority = (headers[':authority'] as string | undefined) ?? headers.host;
  const target = req.url === undefined ? undefined : withoutFragment(req.url);
  if (!authority || !target || target.charCodeAt(0) !== 0x2f /* '/' */ || !isValidAuthority(authority)) {
    sendError(ex, Errors.badRequest);
    return;
  }
  ex.authority = authority;
  const framing = framingError(req);
  if (framing !== null) {
    sendError(ex, framing, undefined, true);
    return;
  }

  // HTTP/1.1's parser enforces maxHeaderBytes itself (431 from the listener); nghttp2 treats the
  // advertised SETTINGS_MAX_HEADER_LIST_SIZE as advisory, so HTTP/2 is measured here, the way
  // RFC 9113 §6.5.2 counts it (name + value + 32 per field).
  if (req.httpVersionMajor === 2 && headerListSize(req.rawHeaders) > listener.limits.maxHeaderBytes) {
    sendError(ex, Errors.headersTooLarge);
    return;
  }

  const underscore = firstUnderscoreHeader(req.rawHeaders);
  if (underscore !== -1) {
    if (listener.limits.headersWithUnderscores === 'reject') {
      sendError(ex, Errors.underscoreHeader);
      return;
    }
    dropUnderscoreHeaders(ex, req.rawHeaders, underscore);
  }

  // node enforces requestTimeout on HTTP/1.1 only: bound an HTTP/2 request body the same way, so a
  // stream that trickles its body forever cannot hold an upstream connection.
  if (req instanceof H2Request && !req.stream.endAfterHeaders) {
    armRequestDeadline(ex, req, listener.limits.requestTimeoutMs);
  }

  const cl = headers['content-length'];
  if (cl !== undefined && Number(cl) > listener.limits.maxBodyBytes) {
    sendError(ex, Errors.bodyTooLarge);
    return;
  }

  const q = target.indexOf('?');
  const path = normalizePath(q === -1 ? target : target.slice(0, q));
  if (path === null) {
    sendError(ex, Errors.badRequest);
    return;
  }
  ex.path = path;
  ex.query = q === -1 ? '' : target.slice(q);

  const vhost = view.gen.hosts.lookup(authority);
  if (vhost === null) {
    sendError(ex, Errors.noVirtualHost);
    return;
  }
  const matched = vhost.match(new RouteInput(path, req.method ?? 'GET', headers, ex.query));
  if (matched === null) {
    sendError(ex, Errors.noRoute);
    return;
  }
  ex.route = matched;
  if (matched.filters === null) runAction(ex, matched, listener, trusted);
  else runFilters(ex, matched.filters, 0, () => runAction(ex, matched!, listener, trusted), (r) => sendRejection(ex, r), () => sendError(ex, Errors.internal));
}

/** 408 (or, once the response started, a reset) when the request body is not complete in time. */
function armRequestDeadline(ex: Exchange, req: H2Request, ms: number): void {
  const timer = setTimeout(() => {
    if (req.complete || ex.clientClosed) return;
    sendError(ex, Errors.requestTimeout); // first: the upstream abort below then finds the exchange answered
    ex.abortUpstream?.(new Error('request timeout'));
  }, ms);
  const clear = () => clearTimeout(timer);
  req.stream.once('end', clear);
  ex.res.once('close', clear);
}

function headerListSize(raw: string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i++) size += raw[i].length;
  return size + (raw.length / 2) * 32;
}

function runAction(ex: Exchange, matched: CompiledRoute, listener: CompiledListener, trusted: boolean): void {
  const action = matched.action;
  switch (action.kind) {
    case 'direct':
      sendDirect(ex, action.status, action.body, action.contentType);
      return;
    case 'redirect': {
      const location = action.absolute ? action.to : `https://${ex.authority}${action.to}${ex.query}`;
      sendRedirect(ex, action.status, location);
      return;
    }
    case 'forward': {
      const cluster = action.split.choose(ex);
      const upstreamPath = (action.rewritePath === null ? ex.path : action.rewritePath(ex.path)) + ex.query;
      if (ex.upgrade !== null) {
        proxyWebSocket(ex, cluster, upstreamPath, action, trusted, listener.limits.idleTimeoutMs);
        return;
      }
      forward(ex, cluster, {
        upstreamPath,
        timeoutMs: action.timeoutMs,
        bodyIdleTimeoutMs: listener.limits.idleTimeoutMs,
        maxBodyBytes: listener.limits.maxBodyBytes,
        trustedPeer: trusted,
        action,
      });
      return;
    }
  }
}
