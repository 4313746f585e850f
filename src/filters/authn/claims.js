// Reading claims out of a verified JWT payload, shared by claimsToHeaders, authz and the internal token.
/**
 * A claim by name: the literal key first (namespaced claims such as `https://example.com/roles`
 * contain dots), else a dotted path into nested objects (`realm_access.roles`).
 */
export function compileClaimPath(name) {
    const parts = name.split('.');
    if (parts.length === 1)
        return (c) => c[name];
    return (c) => {
        const literal = c[name];
        if (literal !== undefined)
            return literal;
        let v = c;
        for (const p of parts) {
            if (typeof v !== 'object' || v === null || Array.isArray(v))
                return undefined;
            v = v[p];
        }
        return v;
    };
}
// Visible ASCII, space, tab and obs-text: what a header value may hold (no CR/LF, no NUL).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * A claim as a request header value: strings as they are, numbers/booleans as text, arrays joined
 * with ",", objects as JSON. null when there is nothing to send or the value could not be a header.
 */
export function claimHeaderValue(v) {
    let s;
    if (typeof v === 'string')
        s = v;
    else if (typeof v === 'number' || typeof v === 'boolean')
        s = String(v);
    else if (Array.isArray(v))
        s = v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(',');
    else if (typeof v === 'object' && v !== null)
        s = JSON.stringify(v);
    else
        return null;
    return s.length <= 8192 && HEADER_VALUE.test(s) ? s : null;
}
