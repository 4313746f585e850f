import { Errors } from "../../errors.js";
import { authnFailures } from "../../observability/metrics.js";
import { findToken, withoutCookie } from "./token-source.js";
// The per-route authn filter (`authn: { providers: [...] }` or `{ allowAnonymous: true }`):
// removes client-sent copies of the identity headers, finds a token for each provider in order and
// accepts the first that verifies. A cached token is handled synchronously.
const NO_TOKEN = Object.freeze({
    error: Errors.unauthenticated,
    headers: Object.freeze({ 'www-authenticate': 'Bearer realm="gatehouse"' }),
});
const BAD_TOKEN = Object.freeze({
    error: Errors.invalidToken,
    headers: Object.freeze({ 'www-authenticate': 'Bearer realm="gatehouse", error="invalid_token"' }),
});
/** Adds `names` to the request's upstream header removals. */
export function stripHeaders(ex, names) {
    if (names.length === 0)
        return;
    const set = (ex.upstreamHeadersRemove ??= new Set());
    for (let i = 0; i < names.length; i++)
        set.add(names[i]);
}
/** Removes the token from what goes to the mesh: its header, or only its cookie from Cookie. */
function stripToken(ex, found) {
    const remove = (ex.upstreamHeadersRemove ??= new Set());
    const cookieName = found.source.cookie;
    if (cookieName === null) {
        remove.add(found.source.header);
        return;
    }
    const add = (ex.upstreamHeadersAdd ??= []);
    // A cookie removed earlier in this request already rewrote Cookie: edit that copy.
    let at = -1;
    if (remove.has('cookie'))
        for (let i = 0; i < add.length; i += 2)
            if (add[i] === 'cookie')
                at = i;
    const current = at >= 0 ? add[at + 1] : String(ex.req.headers.cookie ?? '');
    const rest = withoutCookie(current, cookieName);
    remove.add('cookie');
    if (at >= 0) {
        if (rest === '')
            add.splice(at, 2);
        else
            add[at + 1] = rest;
    }
    else if (rest !== '')
        add.push('cookie', rest);
}
/** Counts the reason and returns the answer (or undefined when anonymous is allowed). */
function fail(reason, allowAnonymous) {
    if (allowAnonymous) {
        if (reason !== 'missing')
            authnFailures.inc({ reason });
        return undefined;
    }
    authnFailures.inc({ reason });
    return reason === 'missing' ? NO_TOKEN : BAD_TOKEN;
}
export class AuthnFilter {
    providers;
    allowAnonymous;
    guarded;
    name = 'authn';
    constructor(providers, allowAnonymous, 
    /** Every identity header a client must not send (all providers' claimsToHeaders, internal token). */
    guarded) {
        this.providers = providers;
        this.allowAnonymous = allowAnonymous;
        this.guarded = guarded;
    }
    onRequest(ex) {
        stripHeaders(ex, this.guarded);
        return this.tryFrom(ex, 0, null);
    }
    tryFrom(ex, from, attempt) {
        const headers = ex.req.headers;
        for (let i = from; i < this.providers.length; i++) {
            const p = this.providers[i];
            const found = findToken(p.sources, headers);
            if (found === null)
                continue;
            const r = p.verify(found.token);
            if (r instanceof Promise) {
                return r.then((v) => (v.ok ? accept(ex, p, found, v) : this.tryFrom(ex, i + 1, note(attempt, p, found, v.reason))));
            }
            if (r.ok)
                return accept(ex, p, found, r);
            attempt = note(attempt, p, found, r.reason);
        }
        return this.finish(ex, attempt);
    }
    finish(ex, attempt) {
        if (attempt === null)
            return fail('missing', this.allowAnonymous);
        if (this.allowAnonymous) {
            for (const t of attempt.refused)
                if (!t.provider.forwardToken)
                    stripToken(ex, t.found);
        }
        return fail(attempt.reason, this.allowAnonymous);
    }
}
function accept(ex, p, found, v) {
    ex.claims = v.claims;
    const pairs = v.headerPairs;
    if (pairs !== null) {
        const add = (ex.upstreamHeadersAdd ??= []);
        for (let k = 0; k < pairs.length; k++)
            add.push(pairs[k]);
    }
    if (!p.forwardToken)
        stripToken(ex, found);
    return undefined;
}
function note(attempt, provider, found, reason) {
    const a = attempt ?? { refused: [], reason };
    a.reason = reason;
    a.refused.push({ provider, found });
    return a;
}
