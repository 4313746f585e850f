import { RateLimiterRes } from 'rate-limiter-flexible';
import { log } from "../../observability/logger.js";
import { reportAllowed, refusal } from "./headers.js";
import { compileKey } from "./keys.js";
const NONE = Object.freeze({ beforeAuthn: null, afterAuthn: null });
let lastOpenWarning = 0;
function failOpen(p, err) {
    const now = Date.now();
    if (now - lastOpenWarning > 60_000) {
        lastOpenWarning = now;
        log.warn({ policy: p.name, err: err?.message }, 'rate-limit store failed; request let through');
    }
    p.stats.allowed++;
    return undefined;
}
function allowed(ex, p, res) {
    p.stats.allowed++;
    reportAllowed(ex, p, res.remainingPoints, res.msBeforeNext);
    return undefined;
}
/** The consume promise was rejected: a verdict (RateLimiterRes) or a store error. */
function notAllowed(ex, p, key, rej) {
    if (rej instanceof RateLimiterRes) {
        p.stats.limited++;
        return refusal(p, rej.msBeforeNext);
    }
    const fb = p.fallback;
    if (fb === null)
        return failOpen(p, rej);
    p.stats.fallback++;
    return fb.consume(key).then((res) => allowed(ex, p, res), (rej2) => {
        if (!(rej2 instanceof RateLimiterRes))
            return failOpen(p, rej2);
        p.stats.limited++;
        return refusal(p, rej2.msBeforeNext);
    });
}
/** One policy: the common case, kept to one consume and one then(). */
class SinglePolicyFilter {
    check;
    name = 'ratelimit';
    constructor(check) {
        this.check = check;
    }
    onRequest(ex) {
        const key = this.check.key(ex);
        if (key === null)
            return undefined;
        const p = this.check.policy;
        return p.consumer.consume(key).then((res) => allowed(ex, p, res), (rej) => notAllowed(ex, p, key, rej));
    }
}
/** Several policies: all are consumed (in parallel); the longest wait among refusals is answered. */
class MultiPolicyFilter {
    checks;
    name = 'ratelimit';
    constructor(checks) {
        this.checks = checks;
    }
    onRequest(ex) {
        let pending = null;
        for (let i = 0; i < this.checks.length; i++) {
            const c = this.checks[i];
            const key = c.key(ex);
            if (key === null)
                continue;
            const p = c.policy;
            (pending ??= []).push(p.consumer.consume(key).then((res) => allowed(ex, p, res), (rej) => notAllowed(ex, p, key, rej)));
        }
        if (pending === null)
            return undefined;
        return Promise.all(pending).then(longestWait);
    }
}
function longestWait(results) {
    let worst;
    for (const r of results) {
        if (r !== undefined && (worst === undefined || Number(r.headers?.['retry-after']) > Number(worst.headers?.['retry-after'])))
            worst = r;
    }
    return worst;
}
/**
 * The rate-limit filters of route `r` in virtual host `vh`: the route's `rateLimits` when given
 * (`[]` = none), else the virtual host's.
 */
export function compileRateLimitFilters(limits, vh, r) {
    const names = r.rateLimits ?? vh.rateLimits;
    if (!names || names.length === 0)
        return NONE;
    const before = [];
    const after = [];
    for (const name of new Set(names)) {
        const policy = limits.policy(name);
        if (!policy)
            continue; // unknown names are refused by config validation
        const check = { policy, key: compileKey(policy.key, { virtualHost: vh.name, route: r.name }) };
        (policy.afterAuthn ? after : before).push(check);
    }
    return { beforeAuthn: phase(before), afterAuthn: phase(after) };
}
function phase(checks) {
    if (checks.length === 0)
        return null;
    return checks.length === 1 ? new SinglePolicyFilter(checks[0]) : new MultiPolicyFilter(checks);
}
