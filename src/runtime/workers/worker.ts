import { AggregatorRegistry } from 'prom-client';
import type { Gateway } from '../gateway.ts';
import { registry } from '../../observability/metrics.ts';
import { log } from '../../observability/logger.ts';
import { isGatehouseMessage, type AdminResponseMessage, type ToWorker, type WorkerHealthMessage } from './messages.ts';

// A `--workers` worker's side of the group: it serves the listeners (node:cluster shares their ports)
// while the primary listens on the admin and gRPC health addresses for everyone. So the worker
//   - reports its health (readiness and cluster statuses) to the primary on every change and once a
//     second (the messages are whole states, so a lost or late one is corrected by the next);
//   - answers the admin requests the primary hands it, with its own admin API (fastify inject);
//   - answers prom-client's metric requests with the whole registry, for the primary to aggregate;
//   - drains or reloads when the primary says so (its own signals still work as well).
// Call before gateway.start(), so nothing the primary asks goes unanswered while the worker starts.

const HEARTBEAT_MS = 1000;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export function attachToPrimary(gateway: Gateway): void {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // installs the worker's answer to the primary's metric requests

  const send = (m: WorkerHealthMessage | AdminResponseMessage) => {
    if (process.connected) process.send!(m, undefined, undefined, () => undefined);
  };
  const report = () => {
    const drain = gateway.current?.config.drain ?? { delay: 0, timeout: 0 };
    send({
      gatehouse: 'health',
      services: [...gateway.health.snapshot],
      version: gateway.current?.version ?? null,
      draining: gateway.draining,
      drain: { delay: drain.delay, timeout: drain.timeout },
    });
  };
  gateway.health.subscribe(report);
  setInterval(report, HEARTBEAT_MS).unref();

  process.on('message', (m: unknown) => {
    if (!isGatehouseMessage<ToWorker>(m)) return;
    switch (m.gatehouse) {
      case 'admin-request':
        void answerAdmin(gateway, m).then(send);
        return;
      case 'drain':
        void gateway.drainAndExit(m.signal);
        return;
      case 'reload':
        void gateway.hangup('SIGHUP (primary)');
        return;
    }
  });
}

async function answerAdmin(gateway: Gateway, m: Extract<ToWorker, { gatehouse: 'admin-request' }>): Promise<AdminResponseMessage> {
  const app = gateway.adminApp;
  if (!app) return { gatehouse: 'admin-response', id: m.id, status: 503, headers: {}, body: '' };
  try {
    const res = await app.inject({
      method: m.method as 'GET',
      url: m.url,
      headers: m.headers,
      remoteAddress: m.remoteAddress,
      ...(m.body ? { payload: Buffer.from(m.body, 'base64') } : {}),
    });
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = Array.isArray(v) ? v : String(v);
    return { gatehouse: 'admin-response', id: m.id, status: res.statusCode, headers, body: res.rawPayload.toString('base64') };
  } catch (err) {
    log.error({ err: { message: (err as Error).message } }, 'admin request from the primary failed');
    return { gatehouse: 'admin-response', id: m.id, status: 500, headers: {}, body: '' };
  }
}
