import type { FaultConfig } from '../../config/schema.ts';
import { faultAbort } from '../../errors.ts';
import type { FilterResult, Rejection, RequestFilter } from '../filter.ts';
import type { Exchange } from '../../exchange.ts';

// Fault injection (`route.fault`), for testing how clients and canaries behave when things go wrong:
// `delay: { fixed, percent }` holds the request before it is forwarded; `abort: { status, percent }`
// answers it with that status instead of forwarding. Both are drawn independently per request; a
// delayed request can still be aborted (delay first, as Envoy does). It runs last in the route's
// filter chain, so only authenticated, authorized and admitted traffic is faulted. A request that is
// not picked costs two random numbers and allocates nothing.

const stats = { delays: 0, aborts: 0 };

/** Injected faults so far (for tests and metrics). */
export function faultStats(): { delays: number; aborts: number } {
  return { ...stats };
}

function picked(percent: number): boolean {
  return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}

export function compileFaultFilter(cfg: FaultConfig | undefined): RequestFilter | null {
  if (!cfg) return null;
  const delay = cfg.delay ?? null;
  const abort: Rejection | null = cfg.abort ? { error: faultAbort(cfg.abort.status) } : null;
  const abortPercent = cfg.abort?.percent ?? 0;
  const maybeAbort = (): FilterResult => {
    if (abort === null || !picked(abortPercent)) return undefined;
    stats.aborts++;
    return abort;
  };
  return {
    name: 'fault',
    describe: () =>
      [delay ? `delay ${delay.fixed}ms for ${delay.percent}%` : '', abort ? `abort ${cfg.abort!.status} for ${abortPercent}%` : ''].filter(Boolean).join(', '),
    onRequest(ex: Exchange): FilterResult | Promise<FilterResult> {
      if (delay === null || !picked(delay.percent)) return maybeAbort();
      stats.delays++;
      ex.faultDelayMs = delay.fixed;
      return new Promise<FilterResult>((resolve) => {
        const t = setTimeout(() => resolve(maybeAbort()), delay.fixed);
        // A client that leaves during the delay releases its timer.
        ex.res.once('close', () => {
          clearTimeout(t);
          resolve(undefined);
        });
      });
    },
  };
}
