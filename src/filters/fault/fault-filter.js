import { faultAbort } from "../../errors.js";
// Fault injection (`route.fault`), for testing how clients and canaries behave when things go wrong:
// `delay: { fixed, percent }` holds the request before it is forwarded; `abort: { status, percent }`
// answers it with that status instead of forwarding. Both are drawn independently per request; a
// delayed request can still be aborted (delay first, as Envoy does). It runs last in the route's
// filter chain, so only authenticated, authorized and admitted traffic is faulted. A request that is
// not picked costs two random numbers and allocates nothing.
const stats = { delays: 0, aborts: 0 };
/** Injected faults so far (for tests and metrics). */
export function faultStats() {
    return { ...stats };
}
function picked(percent) {
    return percent >= 100 || (percent > 0 && Math.random() * 100 < percent);
}
export function compileFaultFilter(cfg) {
    if (!cfg)
        return null;
    const delay = cfg.delay ?? null;
    const abort = cfg.abort ? { error: faultAbort(cfg.abort.status) } : null;
    const abortPercent = cfg.abort?.percent ?? 0;
    const maybeAbort = () => {
        if (abort === null || !picked(abortPercent))
            return undefined;
        stats.aborts++;
        return abort;
    };
    return {
        name: 'fault',
        onRequest(ex) {
            if (delay === null || !picked(delay.percent))
                return maybeAbort();
            stats.delays++;
            ex.faultDelayMs = delay.fixed;
            return new Promise((resolve) => {
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
