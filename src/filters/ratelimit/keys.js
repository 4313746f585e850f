import { createHash } from 'node:crypto';
/** Stands for "header absent"; cannot collide with a real value (header values never contain NUL). */
export const MISSING = '\u0000';
const MAX_KEY_LENGTH = 256;
/** Whether a key (one part or a list) reads claims, i.e. must run after authn. */
export function usesClaims(key) {
    return typeof key === 'string' ? key.startsWith('claim:') : key.some((k) => k.startsWith('claim:'));
}
function bounded(v) {
    return v.length <= MAX_KEY_LENGTH ? v : `#${createHash('sha256').update(v).digest('base64url')}`;
}
function claimValue(v) {
    if (v === undefined || v === null)
        return null;
    if (typeof v === 'string')
        return bounded(v);
    if (typeof v === 'number' || typeof v === 'boolean')
        return String(v);
    return bounded(JSON.stringify(v));
}
function compilePart(part, route) {
    if (part === 'clientIp')
        return (ex) => ex.clientIp;
    if (part === 'route') {
        const k = bounded(`${route.virtualHost}/${route.route}`);
        return () => k;
    }
    if (part.startsWith('header:')) {
        const name = part.slice(7).toLowerCase();
        return (ex) => {
            const v = ex.req.headers[name];
            if (v === undefined)
                return MISSING;
            return bounded(typeof v === 'string' ? v : v.join(', '));
        };
    }
    if (part.startsWith('claim:')) {
        const path = part.slice(6).split('.');
        if (path.length === 1) {
            const claim = path[0];
            return (ex) => (ex.claims === null ? null : claimValue(ex.claims[claim]));
        }
        return (ex) => {
            let v = ex.claims;
            for (let i = 0; i < path.length; i++) {
                if (typeof v !== 'object' || v === null)
                    return null;
                v = v[path[i]];
            }
            return claimValue(v);
        };
    }
    throw new Error(`unknown rate-limit key part ${part}`); // the schema refuses these
}
/** Compiles a policy's key for one route. */
export function compileKey(key, route) {
    if (typeof key === 'string')
        return compilePart(key, route);
    if (key.length === 1)
        return compilePart(key[0], route);
    const parts = key.map((k) => compilePart(k, route));
    // Length-prefixed parts: no choice of values can make two different tuples read the same.
    return (ex) => {
        let out = '';
        for (let i = 0; i < parts.length; i++) {
            const v = parts[i](ex);
            if (v === null)
                return null;
            out += `${v.length}:${v}`;
        }
        return out;
    };
}
