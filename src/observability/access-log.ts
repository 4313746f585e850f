import pino from 'pino';
import type { Exchange } from '../exchange.ts';

// One JSON line per request (SPEC Observability). Only fields we choose are written — never request
// headers — so tokens and cookies cannot leak into it. The line is built by hand (pino's destination
// still does the buffered, asynchronous writing): a generic serializer cost ~4 % of the proxy's CPU.
// Values a client or an operator chose go through JSON.stringify; the rest are ours (numbers, ids
// checked against [A-Za-z0-9._:-], our error codes).

const str = JSON.stringify;

function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The access-log line of a finished exchange, with its newline (pino-compatible: level 30, ISO time). */
export function accessLine(ex: Exchange): string {
  const res = ex.res;
  const status = ex.clientClosed && !res.headersSent ? 0 : res.statusCode;
  return (
    `{"level":30,"time":"${new Date().toISOString()}","requestId":"${ex.requestId}","method":${str(ex.req.method ?? '')}` +
    (ex.path ? `,"path":${str(ex.path)}` : '') +
    (ex.authority ? `,"authority":${str(ex.authority)}` : '') +
    `,"protocol":"${ex.req.httpVersion}","client":${str(ex.clientIp)},"status":${status}` +
    `,"route":${ex.route ? str(ex.route.name) : 'null'},"cluster":${ex.cluster ? str(ex.cluster.name) : 'null'}` +
    `,"endpoint":${ex.endpoint ? str(ex.endpoint.address) : 'null'},"error":${ex.errorCode === null ? 'null' : `"${ex.errorCode}"`}` +
    `,"durationMs":${ms(performance.now() - ex.startedAt)},"upstreamMs":${ex.upstreamDurationMs >= 0 ? ms(ex.upstreamDurationMs) : 'null'}` +
    (ex.retries > 0 ? `,"retries":${ex.retries}` : '') +
    (ex.clientClosed ? ',"clientClosed":true' : '') +
    '}\n'
  );
}

export type AccessLogger = (ex: Exchange) => void;

export function createAccessLog(path: string | undefined): { write: AccessLogger; close(): void } {
  if (!path) return { write: () => undefined, close: () => undefined };
  const dest =
    path === 'stdout' || path === 'stderr'
      ? pino.destination({ dest: path === 'stdout' ? 1 : 2, sync: false })
      : pino.destination({ dest: path, sync: false, mkdir: true });
  return {
    write(ex: Exchange): void {
      dest.write(accessLine(ex));
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
