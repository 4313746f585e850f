import { Errors } from "../../errors.js";
// The answers, after the IETF "RateLimit header fields for HTTP" draft (the RateLimit-Limit /
// -Remaining / -Reset / -Policy form): Reset and Retry-After are delta-seconds, rounded up.
// When several policies apply, the one with the fewest remaining requests is reported.
export function seconds(ms) {
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
}
/** Adds (or, if a closer policy wins, overwrites) the RateLimit-* headers of an allowed request. */
export function reportAllowed(ex, p, remaining, msBeforeNext) {
    const h = ex.responseHeadersAdd;
    if (h === null) {
        ex.responseHeadersAdd = [
            'ratelimit-limit', p.limitHeader,
            'ratelimit-remaining', String(remaining),
            'ratelimit-reset', String(seconds(msBeforeNext)),
            'ratelimit-policy', p.policyHeader,
        ];
        return;
    }
    for (let i = 0; i < h.length; i += 2) {
        if (h[i] !== 'ratelimit-limit')
            continue;
        // Written together by this function: limit, remaining, reset, policy.
        if (remaining < Number(h[i + 3])) {
            h[i + 1] = p.limitHeader;
            h[i + 3] = String(remaining);
            h[i + 5] = String(seconds(msBeforeNext));
            h[i + 7] = p.policyHeader;
        }
        return;
    }
    h.push('ratelimit-limit', p.limitHeader, 'ratelimit-remaining', String(remaining), 'ratelimit-reset', String(seconds(msBeforeNext)), 'ratelimit-policy', p.policyHeader);
}
/** 429 with Retry-After and the refusing policy's RateLimit-* headers. */
export function refusal(p, msBeforeNext) {
    const wait = String(Math.max(1, seconds(msBeforeNext)));
    return {
        error: Errors.rateLimited,
        headers: {
            'retry-after': wait,
            'ratelimit-limit': p.limitHeader,
            'ratelimit-remaining': '0',
            'ratelimit-reset': wait,
            'ratelimit-policy': p.policyHeader,
        },
    };
}
