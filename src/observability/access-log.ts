import pino from 'pino';
import type { Exchange } from '../proxy/exchange.ts';

// One JSON line per request (SPEC Observability). Only fields we choose are written — never request
// headers — so tokens and cookies cannot leak into it.

export type AccessLogger = (ex: Exchange) => void;

export function createAccessLog(path: string | undefined): { write: AccessLogger; close(): void } {
  if (!path) return { write: () => undefined, close: () => undefined };
  const dest =
    path === 'stdout' || path === 'stderr'
      ? pino.destination({ dest: path === 'stdout' ? 1 : 2, sync: false })
      : pino.destination({ dest: path, sync: false, mkdir: true });
  const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, dest);
  return {
    write(ex: Exchange): void {
      const res = ex.res;
      logger.info({
        requestId: ex.requestId,
        method: ex.req.method,
        path: ex.path || undefined,
        authority: ex.authority || undefined,
        protocol: ex.req.httpVersion,
        client: ex.clientIp,
        status: ex.clientClosed && !res.headersSent ? 0 : res.statusCode,
        route: ex.route?.name ?? null,
        cluster: ex.cluster?.name ?? null,
        endpoint: ex.endpoint?.address ?? null,
        error: ex.errorCode,
        durationMs: Math.round((performance.now() - ex.startedAt) * 1000) / 1000,
        upstreamMs: ex.upstreamDurationMs >= 0 ? Math.round(ex.upstreamDurationMs * 1000) / 1000 : null,
        clientClosed: ex.clientClosed || undefined,
      });
    },
    close(): void {
      try {
        dest.flushSync();
      } catch {
        /* nothing left to flush */
      }
    },
  };
}
