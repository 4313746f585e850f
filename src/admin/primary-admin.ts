import http from 'node:http';
import { AggregatorRegistry, Registry } from 'prom-client';
import { parseHostPort } from '../upstream/cluster.ts';
import { adminAllowed, pathOf } from './auth.ts';
import type { AdminServer } from './server.ts';
import type { AdminAnswer, WorkerSummary } from '../runtime/workers/worker-group.ts';
import type { AdminRequestMessage } from '../runtime/workers/messages.ts';
import { mergeStats } from './stats-merge.ts';

// The admin address under --workers, served by the primary for the whole group:
//   GET /healthz  200 while the primary runs;
//   GET /readyz   200 only when every worker is ready and the group is not draining (with each
//                 worker's pid, readiness, config version and restarts);
//   GET /metrics  every worker's registry aggregated by prom-client's AggregatorRegistry (counters and
//                 histograms summed; a metric can choose another aggregator), then the primary's own;
//   GET /stats    every worker's /stats merged (stats-merge.ts): the dashboard draws the whole group;
//   anything else (config, clusters, routes, dashboard, JWKS…) is handed to one ready worker, which
//                 answers with its own admin API: every worker compiles the same config.
// The admin token rule is the same as a single process's (auth.ts), checked here before anything.

export interface GroupView {
  readonly ready: boolean;
  readonly isDraining: boolean;
  summary(): WorkerSummary[];
  adminRequest(req: AdminRequest): Promise<AdminAnswer>;
  /** The same request to every worker that is up. */
  adminRequestAll(req: AdminRequest): Promise<AdminAnswer[]>;
}

type AdminRequest = Omit<AdminRequestMessage, 'gatehouse' | 'id'>;

const MAX_BODY_BYTES = 64 * 1024;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host']);

export async function startPrimaryAdmin(
  cfg: { address: string; token?: string },
  group: GroupView,
  primaryRegistry: Registry,
): Promise<AdminServer> {
  const aggregator = new AggregatorRegistry();
  const server = http.createServer((req, res) => void handle(req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 1024;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    if (!adminAllowed(path, req.socket.remoteAddress, req.headers.authorization, cfg.token)) {
      return json(res, 401, { error: 'unauthenticated' }, { 'www-authenticate': 'Bearer realm="gatehouse-admin"' });
    }
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const ready = group.ready;
      return json(res, ready ? 200 : 503, { ready, draining: group.isDraining, workers: group.summary() });
    }
    if (req.method === 'GET' && path === '/metrics') {
      try {
        const workers = await aggregator.clusterMetrics();
        const own = await primaryRegistry.metrics();
        res.writeHead(200, { 'content-type': aggregator.contentType });
        res.end(`${workers}${workers.endsWith('\n') || workers === '' ? '' : '\n'}${own}`);
      } catch (err) {
        json(res, 503, { error: 'metrics_unavailable', message: (err as Error).message });
      }
      return;
    }
    const body = await readBody(req);
    if (body === null) return json(res, 413, { error: 'body_too_large' });
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    const forwarded: AdminRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers,
      remoteAddress: req.socket.remoteAddress ?? '',
      body: body.toString('base64'),
    };
    if (req.method === 'GET' && path === '/stats') return groupStats(res, forwarded);
    const answer = await group.adminRequest(forwarded);
    res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
    res.end(answer.body);
  }

  async function groupStats(res: http.ServerResponse, req: AdminRequest): Promise<void> {
    const parts: Record<string, unknown>[] = [];
    for (const a of await group.adminRequestAll(req)) {
      if (a.status !== 200) continue; // a worker that timed out or is starting: the others still count
      try {
        parts.push(JSON.parse(a.body.toString('utf8')) as Record<string, unknown>);
      } catch {
        /* not JSON: left out */
      }
    }
    if (parts.length === 0) return json(res, 503, { error: 'no_worker', message: 'no worker is up to answer' });
    json(res, 200, mergeStats(parts));
  }

  const hp = parseHostPort(cfg.address) ?? { host: '127.0.0.1', port: 9901 };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: hp.host, port: hp.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : hp.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
  });
}
