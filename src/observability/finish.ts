import type { Exchange } from '../exchange.ts';
import type { AccessLog } from './access-log.ts';
import { UNROUTED } from './request-stats.ts';

// The end of every exchange, once, when its response closed: the route's counters and duration
// histogram, the server span (when spans are exported), the access-log line.

/** The status the client got: 0 when it left before any response head was sent. */
export function finalStatus(ex: Exchange): number {
  return ex.clientClosed && !ex.res.headersSent ? 0 : ex.res.statusCode;
}

export function finishExchange(ex: Exchange, accessLog: AccessLog): void {
  const status = finalStatus(ex);
  const ms = performance.now() - ex.startedAt;
  const route = ex.route;
  if (route === null) UNROUTED.record('', status, ms / 1000);
  else route.stats.record(ex.cluster === null ? '' : ex.cluster.name, status, ms / 1000);
  if (ex.span !== null) ex.span.end(ex, status);
  accessLog.write(ex, status, ms);
}
