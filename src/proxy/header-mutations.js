const VARIABLES = {
    CLIENT_IP: (ex) => ex.clientIp,
    REQUEST_ID: (ex) => ex.requestId,
    ROUTE_NAME: (ex) => ex.route?.name ?? '',
    VIRTUAL_HOST: (ex) => ex.route?.virtualHost ?? '',
    HOST: (ex) => ex.authority,
    UPSTREAM_CLUSTER: (ex) => ex.cluster?.name ?? '',
};
export const HEADER_VARIABLES = Object.keys(VARIABLES);
/** Headers the gateway owns toward the upstream (hop-by-hop, framing, forwarding): not editable here. */
const RESERVED_REQUEST = new Set([
    'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
    'content-length', 'expect', 'http2-settings', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id',
]);
const RESERVED_RESPONSE = new Set([
    'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'x-request-id',
]);
/** Compiles a value template; throws an Error whose message is user-facing on a bad variable. */
export function compileValue(template) {
    if (template.indexOf('%') === -1)
        return template;
    const segs = [];
    let lit = '';
    let i = 0;
    while (i < template.length) {
        const at = template.indexOf('%', i);
        if (at === -1) {
            lit += template.slice(i);
            break;
        }
        lit += template.slice(i, at);
        if (template[at + 1] === '%') {
            lit += '%';
            i = at + 2;
            continue;
        }
        const end = template.indexOf('%', at + 1);
        const name = end === -1 ? '' : template.slice(at + 1, end);
        const fn = VARIABLES[name];
        if (end === -1 || !Object.hasOwn(VARIABLES, name)) {
            throw new Error(`unknown variable ${end === -1 ? 'after %' : `%${name}%`} (known: ${HEADER_VARIABLES.map((v) => `%${v}%`).join(', ')}; %% for a literal %)`);
        }
        if (lit !== '')
            segs.push(lit);
        lit = '';
        segs.push(fn);
        i = end + 1;
    }
    if (lit !== '')
        segs.push(lit);
    if (segs.length === 1)
        return segs[0];
    return (ex) => {
        let s = '';
        for (let k = 0; k < segs.length; k++) {
            const seg = segs[k];
            s += typeof seg === 'string' ? seg : seg(ex);
        }
        return s;
    };
}
export function valueOf(v, ex) {
    return typeof v === 'string' ? v : v(ex);
}
export function compileHeaderMutation(cfg, path, side, errors) {
    if (!cfg)
        return null;
    const reserved = side === 'request' ? RESERVED_REQUEST : RESERVED_RESPONSE;
    const drop = new Set();
    const put = [];
    const check = (name, p) => {
        const n = name.toLowerCase();
        if (!reserved.has(n))
            return n;
        const hint = n === 'host' ? '; use hostRewrite' : '';
        errors.push({ path: p, message: `header "${n}" is managed by the gateway and cannot be changed here${hint}` });
        return null;
    };
    cfg.remove.forEach((name, i) => {
        const n = check(name, `${path}.remove[${i}]`);
        if (n)
            drop.add(n);
    });
    for (const [key, list] of [['set', cfg.set], ['add', cfg.add]]) {
        for (const [name, value] of Object.entries(list)) {
            const p = `${path}.${key}.${name}`;
            const n = check(name, p);
            if (!n)
                continue;
            try {
                put.push(n, compileValue(value));
            }
            catch (err) {
                errors.push({ path: p, message: err.message });
                continue;
            }
            if (key === 'set')
                drop.add(n);
        }
    }
    if (drop.size === 0 && put.length === 0)
        return null;
    return Object.freeze({ drop, put: Object.freeze(put) });
}
/** Applies a response mutation to a (mutable, freshly parsed) upstream response header object. */
export function mutateResponseHeaders(m, headers, ex) {
    for (const n of m.drop)
        if (headers[n] !== undefined)
            delete headers[n];
    const put = m.put;
    for (let i = 0; i < put.length; i += 2) {
        const name = put[i];
        const value = valueOf(put[i + 1], ex);
        const prev = headers[name];
        if (prev === undefined)
            headers[name] = value;
        else if (Array.isArray(prev))
            prev.push(value);
        else
            headers[name] = [prev, value];
    }
}
