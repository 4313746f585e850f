// The hash key of ring_hash / maglev, compiled once per cluster from `loadBalancer.hashOn`:
// a header, a cookie or the client address. Without `hashOn` the client address is used.
// A request without the key gets `undefined` and the balancer makes a weighted random pick.
export function compileHashKey(hashOn) {
    if (hashOn?.header !== undefined) {
        const name = hashOn.header.toLowerCase();
        return (src) => {
            const v = src.req.headers[name];
            return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : v;
        };
    }
    if (hashOn?.cookie !== undefined) {
        const name = hashOn.cookie;
        return (src) => {
            const c = src.req.headers.cookie;
            return c === undefined ? undefined : cookieValue(Array.isArray(c) ? c.join('; ') : c, name);
        };
    }
    return (src) => (src.clientIp === '' ? undefined : src.clientIp);
}
/** The value of cookie `name` in a Cookie header, without allocating a parsed map. */
export function cookieValue(header, name) {
    let i = 0;
    while (i < header.length) {
        while (header.charCodeAt(i) === 0x20 /* ' ' */)
            i++;
        const end = header.indexOf(';', i);
        const stop = end === -1 ? header.length : end;
        const eq = header.indexOf('=', i);
        if (eq !== -1 && eq < stop && eq - i === name.length && header.startsWith(name, i)) {
            return header.slice(eq + 1, stop).trim();
        }
        i = stop + 1;
    }
    return undefined;
}
