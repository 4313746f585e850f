import { pickContext } from '../upstream/outcome.ts';
import http, { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Errors } from '../errors.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { ForwardAction } from '../router/types.ts';
import type { Exchange, GatewayResponse } from '../exchange.ts';
import { sendError } from './respond.ts';
import { buildUpstreamHeaders, stripResponseHopByHop } from './upstream-headers.ts';
import { mutateResponseHeaders } from './header-mutations.ts';
import { classifyUpstreamError } from './forward.ts';

// WebSocket over HTTP/1.1 Upgrade, for routes with `websocket: true`. The client's Upgrade request
// went through the same routing and filters as any request; here it is sent to an endpoint of the
// route's cluster (with the cluster's TLS), and on a 101 both sockets are joined byte for byte until
// either side closes: a clean close (FIN) is passed on as a clean close, an error destroys both.
// An upstream that refuses the upgrade (any non-101 answer) has its answer relayed and the
// connection closed. Upgrade on a route without `websocket: true`, or to another protocol than
// websocket, gets 403 `upgrade_not_allowed`. An open tunnel through which nothing moved, either
// way, for the listener's idleTimeout is closed (applications keep theirs alive with pings).

/** A GatewayResponse over the raw client socket of an Upgrade request (for the gateway's own answers). */
export class SocketResponse implements GatewayResponse {
  headersSent = false;
  writableFinished = false;
  writableEnded = false;
  statusCode = 0;

  constructor(private readonly socket: Duplex) {
    socket.on('error', () => undefined);
  }

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): this {
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || (name === 'connection' && status !== 101)) continue;
      for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${String(v).replace(/[\r\n]/g, '')}\r\n`;
    }
    // After a gateway answer on an Upgrade request the connection is not reused.
    if (status !== 101) head += 'connection: close\r\n';
    this.socket.write(`${head}\r\n`);
    this.headersSent = true;
    this.statusCode = status;
    return this;
  }

  write(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  end(data?: string | Buffer): this {
    this.writableEnded = true;
    this.writableFinished = true;
    if (data !== undefined) this.socket.end(data);
    else this.socket.end();
    return this;
  }

  destroy(): this {
    this.socket.destroy();
    return this;
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    this.socket.once(event, listener);
    return this;
  }
}

function isWebSocketUpgrade(ex: Exchange): boolean {
  const u = ex.req.headers.upgrade;
  return typeof u === 'string' && u.toLowerCase() === 'websocket';
}

/**
 * Joins two sockets; a clean end is passed on, an error or abrupt close tears both down, and so
 * does `idleMs` without a byte either way (every byte crosses both sockets, so either one going
 * idle means the tunnel is).
 */
function join(a: Duplex, b: Duplex, idleMs: number): void {
  a.pipe(b);
  b.pipe(a);
  const onError = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', onError);
  b.on('error', onError);
  for (const s of [a, b] as Array<Duplex & { setTimeout?: (ms: number, cb: () => void) => unknown }>) s.setTimeout?.(idleMs, onError);
  // One side gone: finish the other cleanly, and cut it if its peer does not close within a grace period.
  const closeOther = (s: Duplex) => {
    if (s.destroyed) return;
    if (s.writableEnded) s.destroy();
    else {
      s.end();
      setTimeout(() => s.destroy(), 5_000).unref();
    }
  };
  a.once('close', () => closeOther(b));
  b.once('close', () => closeOther(a));
}

export function proxyWebSocket(
  ex: Exchange,
  cluster: Cluster,
  upstreamPath: string,
  action: ForwardAction,
  trustedPeer: boolean,
  idleTimeoutMs: number,
): void {
  const upgrade = ex.upgrade!;
  if (!action.websocket || !isWebSocketUpgrade(ex)) {
    sendError(ex, Errors.upgradeNotAllowed);
    return;
  }
  ex.cluster = cluster;
  const endpoint = cluster.pick(pickContext(cluster, ex));
  if (endpoint === null) {
    sendError(ex, Errors.noHealthyUpstream);
    return;
  }
  ex.endpoint = endpoint;
  const headers = buildUpstreamHeaders(ex, trustedPeer, action.requestHeaders, action.hostRewrite);
  headers.push('connection', 'Upgrade', 'upgrade', 'websocket');
  const po = cluster.poolOptions;
  const base = { host: endpoint.host, port: endpoint.port, method: 'GET', path: upstreamPath, headers, agent: false as const };
  const up = po.tls
    ? https.request({
        ...base,
        ...po.tls,
        // SNI/verification name: the cluster's serverName, else the endpoint's DNS name (none for an IP).
        servername: isIP(endpoint.servername) ? '' : endpoint.servername,
        rejectUnauthorized: true,
      })
    : http.request(base);
  ex.upstreamStartedAt = performance.now();
  // The upstream must answer the upgrade within the route timeout (15 s when the route has none).
  const connectTimer = setTimeout(
    () => up.destroy(Object.assign(new Error('upgrade answer timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' })),
    action.timeoutMs > 0 ? action.timeoutMs : 15_000,
  );
  ex.abortUpstream = () => up.destroy();

  up.once('upgrade', (res, upSocket: Socket, upHead: Buffer) => {
    clearTimeout(connectTimer);
    ex.upstreamDurationMs = performance.now() - ex.upstreamStartedAt;
    const client = upgrade.socket;
    if (ex.clientClosed || client.destroyed) {
      upSocket.destroy();
      return;
    }
    const h = { ...res.headers } as Record<string, string | string[] | undefined>;
    if (action.responseHeaders !== null) mutateResponseHeaders(action.responseHeaders, h, ex);
    ex.res.writeHead(101, h as OutgoingHttpHeaders);
    // From here on the HTTP exchange is complete; the tunnel lives until either side closes.
    (ex.res as SocketResponse).writableFinished = true;
    ex.abortUpstream = null;
    if (upHead.length > 0) client.write(upHead);
    if (upgrade.head.length > 0) upSocket.write(upgrade.head);
    upSocket.setNoDelay(true);
    join(client, upSocket, idleTimeoutMs);
  });

  up.once('response', (res) => {
    // The upstream refused the upgrade: relay its answer, then close.
    clearTimeout(connectTimer);
    ex.upstreamDurationMs = performance.now() - ex.upstreamStartedAt;
    const h = { ...res.headers } as Record<string, string | string[] | undefined>;
    stripResponseHopByHop(h);
    delete h['content-length'];
    if (action.responseHeaders !== null) mutateResponseHeaders(action.responseHeaders, h, ex);
    ex.res.writeHead(res.statusCode ?? 502, h as OutgoingHttpHeaders);
    res.on('data', (c: Buffer) => ex.res.write(c));
    res.once('end', () => ex.res.end());
    res.on('error', () => ex.res.destroy());
  });

  // `on`, not `once`: a request can report more than one error, and an unhandled one would crash.
  up.on('error', (err) => {
    clearTimeout(connectTimer);
    ex.abortUpstream = null;
    if (!ex.clientClosed && !ex.res.headersSent) sendError(ex, classifyUpstreamError(err));
    else if (!ex.res.writableFinished) ex.res.destroy();
  });
  up.end();
}
