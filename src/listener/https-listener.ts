import http2, { constants as h2constants, type Http2SecureServer, type Http2Session, type ServerHttp2Session } from 'node:http2';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Errors, type GatewayErrorSpec } from '../errors.ts';
import { answerAndClose, onConnectMethod } from './raw-answer.ts';
import type { CompiledListener } from '../runtime/generation.ts';
import type { ListenerSlot } from '../proxy/handler.ts';
import { interceptProxyProtocol } from './proxy-protocol-accept.ts';
import { setProxySource } from './client-address.ts';
import { guardRapidReset } from './h2-rapid-reset.ts';
import { guardControlFlood } from './h2-control-flood.ts';
import type { ConnectionBudget } from '../overload/connection-budget.ts';
import { H1, H2, type ListenerStats } from '../observability/request-stats.ts';
import { tagHttp2Session, tagTlsSocket } from './tls-version.ts';
import { streamListener } from './h2-stream.ts';
import { oneRequestAtATime } from './h1-pipeline.ts';

// One public TLS listener: TLS 1.2/1.3, SNI from the current generation, ALPN h2 + http/1.1 on one
// port (node's HTTP/2 server with its HTTP/1.1 fallback), and every client-controlled size and time
// bounded. Certificates come from the generation, so a rotated file reaches the next handshake while
// established connections keep the context they started with. With `proxyProtocol`, each connection's
// PROXY header is read before the handshake (proxy-protocol-accept.ts).
//
// Drain (runtime/gateway.ts drives it): `beginDrain` keeps serving and accepting but answers HTTP/1.1
// with `connection: close`, so keep-alive clients reconnect (through the LB, elsewhere) one by one
// instead of all finding a closed connection at once; `stopAccepting` then closes the port, closes
// idle HTTP/1.1 connections, marks in-flight HTTP/1.1 responses `connection: close`, and sends
// HTTP/2 sessions a graceful GOAWAY.

export type RequestListener = (req: any, res: any) => void;
/** HTTP/1.1 Upgrade requests (WebSocket): the request, its socket and the bytes read past the head. */
export type UpgradeListener = (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void;

export interface HttpsListener {
  readonly server: Http2SecureServer | https.Server;
  /** Applies a new generation's settings (certificates, limits) without a restart. */
  apply(listener: CompiledListener): void;
  /** Keeps serving, but HTTP/1.1 responses from now on (and those not yet started) close their connection. */
  beginDrain(): void;
  /**
   * Stops accepting; closes idle keep-alive connections, closes HTTP/1.1 connections after their
   * in-flight response and sends GOAWAY on HTTP/2 sessions. Resolves when every connection is gone.
   */
  stopAccepting(): Promise<void>;
  /** Destroys whatever is still open. */
  destroyAll(): void;
  readonly port: number;
}

const CONNECTIONS_CHECK_MS = 1000; // how often node enforces headersTimeout/requestTimeout (default 30 s)

/** Answer for HTTP/1.1 requests node's parser refused: 431, 400 or 408, as JSON, then close. */
function clientErrorResponse(err: NodeJS.ErrnoException): GatewayErrorSpec {
  if (err.code === 'HPE_HEADER_OVERFLOW') return Errors.headersTooLarge;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return Errors.requestTimeout;
  return Errors.badRequest;
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || (socket as any)._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  answerAndClose(socket, clientErrorResponse(err));
}

/** The most a graceful GOAWAY waits for the client's PING answer before the final GOAWAY. */
const GOAWAY_PING_WAIT_MS = 1000;

/**
 * RFC 9113 §6.8 graceful shutdown: a GOAWAY with the largest stream id tells the client to open no
 * more streams while every stream already on the wire is still served; one round trip later (a PING)
 * close() sends the final GOAWAY with the last stream id actually processed and lets those finish.
 */
function gracefulGoaway(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  const finish = () => {
    clearTimeout(timer);
    if (!session.closed && !session.destroyed) session.close();
  };
  const timer = setTimeout(finish, GOAWAY_PING_WAIT_MS);
  timer.unref();
  try {
    session.goaway(h2constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
    if (!session.ping(finish)) finish();
  } catch {
    finish();
  }
}

/** HTTP/1.1: the response that has not sent its head yet will say `connection: close` and close after. */
function closeAfterResponse(res: any): void {
  if (res && !res.headersSent) res.shouldKeepAlive = false;
}

export function createHttpsListener(
  initial: CompiledListener,
  slot: ListenerSlot,
  onRequest: RequestListener,
  onUpgrade?: UpgradeListener,
  /** Counts open connections by negotiated protocol (gatehouse_active_connections). */
  stats?: ListenerStats,
  budget?: ConnectionBudget,
): Promise<HttpsListener> {
  const sni = initial.sni!;
  /** The SNI table whose default context the server holds. */
  let appliedSni: CompiledListener['sni'] = sni;
  const h2Sessions = new Set<Http2Session>();
  const sockets = new Set<TLSSocket>();
  const limits = initial.limits;
  let draining = false;
  // HTTP/1.x only (HTTP/2 streams come through streamListener): a connection's pipelined requests
  // are served one at a time (h1-pipeline.ts).
  const serve: RequestListener = oneRequestAtATime((req, res) => {
    if (draining) res.shouldKeepAlive = false;
    onRequest(req, res);
  });

  const tlsOptions = {
    ...sni.defaultOptions,
    // SNI reads the *current* generation, so rotation and new names apply to the next handshake.
    SNICallback: (servername: string, cb: (err: Error | null, ctx?: any) => void) => {
      const s = slot.current.listener.sni;
      cb(null, s ? s.lookup(servername) : undefined);
    },
    handshakeTimeout: limits.headersTimeoutMs,
  };

  let server: Http2SecureServer | https.Server;
  if (initial.http2) {
    server = http2.createSecureServer(
      {
        ...tlsOptions,
        allowHTTP1: true,
        maxSessionMemory: 32, // MB per session, bounds HPACK and stream state
        settings: {
          maxConcurrentStreams: limits.http2MaxConcurrentStreams,
          maxHeaderListSize: limits.maxHeaderBytes,
          initialWindowSize: 1 << 20, // 1 MiB per stream: enough for throughput, bounded per client
        },
        // Refused streams beyond the limit, and a bound on queued outbound control frames.
        maxOutstandingPings: 10,
        peerMaxConcurrentStreams: limits.http2MaxConcurrentStreams,
        // node's defaults, written out because the hostile-input suite relies on them: a session
        // that sends 1000 invalid frames (empty DATA frames count) or has 100 streams refused is closed
        maxSessionInvalidFrames: 1000,
        maxSessionRejectedStreams: 100,
      },
      serve, // HTTP/1.1 through the fallback
    );
    // HTTP/2 on the core stream API (h2-stream.ts): adding a 'request' listener made node install its
    // compat layer as the 'stream' listener; ours replaces it.
    server.removeAllListeners('stream');
    server.on('stream', streamListener(onRequest));
    server.on('session', (session: ServerHttp2Session) => {
      h2Sessions.add(session);
      if (closed) gracefulGoaway(session); // a connection accepted just before the port closed
      tagHttp2Session(session);
      guardRapidReset(session);
      guardControlFlood(session);
      // Idle: GOAWAY, and the streams in flight may finish. Idle for another period after that (a
      // header block never finished, a stream that never moves): the connection is closed.
      // (setTimeout's callback is a once-listener: the second period needs 'on')
      session.setTimeout(slot.current.listener.limits.idleTimeoutMs);
      session.on('timeout', () => (session.closed ? session.destroy() : session.close()));
      session.once('close', () => h2Sessions.delete(session));
      session.on('error', () => undefined); // session errors end that session, never the process
    });
    server.on('sessionError', () => undefined);
  } else {
    server = https.createServer({ ...tlsOptions, ALPNProtocols: ['http/1.1'] }, serve);
  }
  let closed = false;
  server.on('clientError', onClientError as any);
  server.on('connect', onConnectMethod);
  // HTTP/1.1 requests with `Connection: upgrade` come here instead of the request listener (the HTTP/2
  // server's HTTP/1.1 fallback emits it too).
  if (onUpgrade) server.on('upgrade', onUpgrade);
  server.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
  // Installed after the TLS server's own connection handling, which it then runs per connection.
  const proxyIntake = interceptProxyProtocol(server, initial.name, {
    enabled: () => slot.current.listener.proxyProtocol,
    timeoutMs: () => slot.current.listener.limits.headersTimeoutMs,
  });
  // before the PROXY header and TLS: a connection over the process-wide cap costs neither
  if (budget) server.prependListener('connection', (socket: Socket) => void budget.admit(socket));
  server.on('secureConnection', (socket: TLSSocket) => {
    // A client-initiated TLS 1.2 renegotiation costs the server a full handshake for a few bytes
    // (CVE-2011-1473) and is forbidden under HTTP/2 (RFC 9113 §9.2.1): refuse it; the attempt
    // becomes a socket error and the connection is closed.
    socket.disableRenegotiation();
    const source = proxyIntake.takeSource(socket);
    if (source !== null) setProxySource(socket, source.address);
    sockets.add(socket);
    tagTlsSocket(socket);
    const p = socket.alpnProtocol === 'h2' ? H2 : H1;
    if (stats) stats.connections[p]++;
    socket.once('close', () => {
      sockets.delete(socket);
      if (stats) stats.connections[p]--;
    });
    // an errored connection (a refused renegotiation among others) is closed, never left hanging
    socket.on('error', () => socket.destroy());
  });

  function applyLimits(l: CompiledListener): void {
    const s = server as any;
    // HTTP/1.1 parser limits (node reads these properties per connection; the HTTP/2 server's
    // HTTP/1.1 fallback ignores maxHeaderSize passed as an option, so set the property).
    s.maxHeaderSize = l.limits.maxHeaderBytes;
    s.headersTimeout = l.limits.headersTimeoutMs;
    s.requestTimeout = l.limits.requestTimeoutMs;
    s.keepAliveTimeout = l.limits.idleTimeoutMs;
    s.connectionsCheckingInterval = CONNECTIONS_CHECK_MS;
    s.maxConnections = l.limits.maxConnections;
  }
  applyLimits(initial);

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: initial.host, port: initial.port }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : initial.port;
      resolve({
        server,
        port,
        apply(l: CompiledListener) {
          applyLimits(l);
          // A new SNI table (a file reload re-reads the certificates) replaces the default context;
          // the same one (an xDS update keeps the listeners as they were) needs nothing: rebuilding
          // the context held the event loop ~6 ms at every push.
          if (l.sni && l.sni !== appliedSni) server.setSecureContext(l.sni.defaultOptions);
          appliedSni = l.sni;
        },
        beginDrain() {
          draining = true;
          for (const s of sockets) closeAfterResponse((s as any)._httpMessage);
        },
        stopAccepting() {
          draining = true;
          closed = true;
          return new Promise<void>((done) => {
            server.close(() => done());
            // node's HTTP/1.1 connection list is kept by both server kinds; close its idle members
            http.Server.prototype.closeIdleConnections.call(server);
            for (const s of sockets) closeAfterResponse((s as any)._httpMessage);
            for (const s of h2Sessions) gracefulGoaway(s);
          });
        },
        destroyAll() {
          for (const s of h2Sessions) s.destroy();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}
