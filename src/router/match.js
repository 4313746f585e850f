/** Anchored form of an operator's regex: it must match the whole value. */
export function wholeRegex(source) {
    return new RegExp(`^(?:${source})$`);
}
export function compilePathPredicate(m) {
    if (m.path !== undefined) {
        const exact = m.path;
        return (r) => r.path === exact;
    }
    if (m.regex !== undefined) {
        const re = wholeRegex(m.regex);
        return (r) => re.test(r.path);
    }
    const prefix = m.prefix ?? '/';
    if (prefix === '/')
        return () => true;
    return (r) => r.path.startsWith(prefix);
}
function headerValue(headers, name) {
    // `host` means the authority on both protocols (HTTP/2 sends `:authority`, not `host`).
    const v = name === 'host' ? (headers[':authority'] ?? headers.host) : headers[name];
    // Repeated headers are matched on their comma-joined value (as Envoy does).
    return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
}
/**
 * One header matcher, per the SPEC: on a missing header only `absent` is true; `invert` flips the
 * result. Shared by route matching and authz rules (filters/authz).
 */
export function compileHeaderTest(m) {
    const lower = m.name.toLowerCase();
    const name = lower === ':authority' ? 'host' : lower;
    let test;
    if (m.present)
        test = (v) => v !== undefined;
    else if (m.absent)
        test = (v) => v === undefined;
    else if (m.exact !== undefined) {
        const x = m.exact;
        test = (v) => v === x;
    }
    else if (m.prefix !== undefined) {
        const x = m.prefix;
        test = (v) => v !== undefined && v.startsWith(x);
    }
    else if (m.suffix !== undefined) {
        const x = m.suffix;
        test = (v) => v !== undefined && v.endsWith(x);
    }
    else {
        const re = wholeRegex(m.regex);
        test = (v) => v !== undefined && re.test(v);
    }
    return m.invert ? (h) => !test(headerValue(h, name)) : (h) => test(headerValue(h, name));
}
/** A header matcher as a route predicate. */
export function compileHeaderMatcher(m) {
    const t = compileHeaderTest(m);
    return (r) => t(r.headers);
}
export function compileQueryMatcher(m) {
    const name = m.name;
    if (m.present)
        return (r) => r.queryParam(name) !== undefined;
    if (m.exact !== undefined) {
        const x = m.exact;
        return (r) => r.queryParam(name) === x;
    }
    const re = wholeRegex(m.regex);
    return (r) => {
        const v = r.queryParam(name);
        return v !== undefined && re.test(v);
    };
}
/** The route's whole `match` as one predicate; the cheap checks (path, method) run first. */
export function compileMatch(m) {
    const preds = [compilePathPredicate(m)];
    if (m.methods && m.methods.length > 0) {
        const methods = new Set(m.methods);
        preds.push((r) => methods.has(r.method));
    }
    for (const h of m.headers ?? [])
        preds.push(compileHeaderMatcher(h));
    for (const q of m.query ?? [])
        preds.push(compileQueryMatcher(q));
    if (preds.length === 1)
        return preds[0];
    if (preds.length === 2) {
        const [a, b] = preds;
        return (r) => a(r) && b(r);
    }
    return (r) => {
        for (let i = 0; i < preds.length; i++)
            if (!preds[i](r))
                return false;
        return true;
    };
}
function decodeQueryPart(s) {
    if (s.indexOf('%') === -1 && s.indexOf('+') === -1)
        return s;
    try {
        return decodeURIComponent(s.replaceAll('+', ' '));
    }
    catch {
        return s; // a malformed escape is matched as written
    }
}
/** The request as route predicates see it; the query is parsed lazily, at most once. */
export class RouteInput {
    path;
    method;
    headers;
    query;
    params = null;
    constructor(path, method, headers, 
    /** The query with its leading '?', or ''. */
    query) {
        this.path = path;
        this.method = method;
        this.headers = headers;
        this.query = query;
    }
    queryParam(name) {
        if (this.params === null) {
            const params = new Map();
            if (this.query.length > 1) {
                for (const part of this.query.slice(1).split('&')) {
                    if (part === '')
                        continue;
                    const eq = part.indexOf('=');
                    const k = decodeQueryPart(eq === -1 ? part : part.slice(0, eq));
                    // The first occurrence of a name counts.
                    if (!params.has(k))
                        params.set(k, eq === -1 ? '' : decodeQueryPart(part.slice(eq + 1)));
                }
            }
            this.params = params;
        }
        return this.params.get(name);
    }
}
