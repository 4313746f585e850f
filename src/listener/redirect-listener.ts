import http from 'node:http';
import type { CompiledListener } from '../runtime/generation.ts';
import type { ListenerSlot } from '../proxy/handler.ts';
import { newRequestId } from '../proxy/request-id.ts';
import { errorBody, Errors } from '../errors.ts';
import { hostWithoutPort } from '../router/host-table.ts';
import { interceptProxyProtocol } from './proxy-protocol-accept.ts';
import { ensureOriginForm, isValidAuthority } from './request-target.ts';
import { answerAndClose, onConnectMethod } from './raw-answer.ts';
import type { ConnectionBudget } from '../overload/connection-budget.ts';

// A plain-HTTP listener whose only job is `redirectToHttps`: 308 to
// https://<host><:port of the first TLS listener unless 443><path and query>. With `proxyProtocol`
// the header is read and dropped (a redirect has no use for the client address, but the LB sends it).

export interface RedirectListener {
  readonly server: http.Server;
  readonly port: number;
  apply(l: CompiledListener): void;
  beginDrain(): void;
  stopAccepting(): Promise<void>;
  destroyAll(): void;
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function createRedirectListener(initial: CompiledListener, slot: ListenerSlot, budget?: ConnectionBudget): Promise<RedirectListener> {
  let draining = false;
  const server = http.createServer((req, res) => {
    if (draining) res.shouldKeepAlive = false;
    const port = slot.current.listener.httpsPort;
    // the same target and Host rules as the TLS listener (request-target.ts): absolute-form is
    // taken, an invalid Host is refused rather than copied into a Location
    const host = ensureOriginForm(req) ? req.headers.host : undefined;
    const url = req.url ?? '/';
    if (!host || !isValidAuthority(host)) {
      const id = newRequestId();
      res.writeHead(400, { 'content-type': 'application/json', 'x-request-id': id, connection: 'close' });
      res.end(errorBody(Errors.badRequest, id));
      return;
    }
    const location = `https://${bracketed(hostWithoutPort(host))}${port === 443 ? '' : `:${port}`}${url}`;
    res.writeHead(308, { location, 'content-length': 0 });
    res.end();
  });
  const apply = (l: CompiledListener) => {
    server.maxHeadersCount = 200;
    (server as any).maxHeaderSize = l.limits.maxHeaderBytes;
    server.headersTimeout = l.limits.headersTimeoutMs;
    server.requestTimeout = l.limits.requestTimeoutMs;
    server.keepAliveTimeout = l.limits.idleTimeoutMs;
    (server as any).connectionsCheckingInterval = 1000;
    server.maxConnections = l.limits.maxConnections;
  };
  apply(initial);
  server.on('connect', onConnectMethod);
  // what node's parser refused gets the same JSON answer as on the TLS listener
  server.on('clientError', (_err, socket) => {
    if (socket.writable) answerAndClose(socket, Errors.badRequest);
    else socket.destroy();
  });
  interceptProxyProtocol(server, initial.name, {
    enabled: () => slot.current.listener.proxyProtocol,
    timeoutMs: () => slot.current.listener.limits.headersTimeoutMs,
  });
  // before the PROXY header: a connection over the process-wide cap costs nothing more
  if (budget) server.prependListener('connection', (socket) => void budget.admit(socket));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: initial.host, port: initial.port }, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve({
        server,
        port: typeof addr === 'object' && addr ? addr.port : initial.port,
        apply,
        beginDrain: () => {
          draining = true;
        },
        stopAccepting: () =>
          new Promise<void>((done) => {
            draining = true;
            server.close(() => done());
            server.closeIdleConnections();
          }),
        destroyAll: () => server.closeAllConnections(),
      });
    });
  });
}
