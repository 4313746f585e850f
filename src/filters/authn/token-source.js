function headerValue(headers, name) {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
}
function compileHeader(name, prefix) {
    const header = name.toLowerCase();
    if (!prefix) {
        return {
            header,
            cookie: null,
            read(h) {
                const v = headerValue(h, header);
                return v ? v.trim() || null : null;
            },
        };
    }
    const lowerPrefix = prefix.toLowerCase();
    const n = prefix.length;
    return {
        header,
        cookie: null,
        read(h) {
            const v = headerValue(h, header);
            if (v === undefined || v.length <= n || v.slice(0, n).toLowerCase() !== lowerPrefix)
                return null;
            return v.slice(n).trim() || null;
        },
    };
}
/** The value of cookie `name` in a Cookie header ("a=1; b=2"), without parsing the others. */
export function findCookie(cookieHeader, name) {
    let from = 0;
    while (from < cookieHeader.length) {
        const semi = cookieHeader.indexOf(';', from);
        const end = semi === -1 ? cookieHeader.length : semi;
        const eq = cookieHeader.indexOf('=', from);
        if (eq !== -1 && eq < end && cookieHeader.slice(from, eq).trim() === name) {
            let v = cookieHeader.slice(eq + 1, end).trim();
            if (v.length >= 2 && v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22)
                v = v.slice(1, -1);
            return v || null;
        }
        from = end + 1;
    }
    return null;
}
/** The Cookie header without cookie `name` (other cookies stay, in order); '' when none is left. */
export function withoutCookie(cookieHeader, name) {
    const kept = [];
    for (const part of cookieHeader.split(';')) {
        const p = part.trim();
        if (p === '')
            continue;
        const eq = p.indexOf('=');
        if ((eq === -1 ? p : p.slice(0, eq).trim()) === name)
            continue;
        kept.push(p);
    }
    return kept.join('; ');
}
function compileCookie(name) {
    return {
        header: 'cookie',
        cookie: name,
        read(h) {
            const v = h.cookie;
            return v ? findCookie(v, name) : null;
        },
    };
}
export function compileTokenSources(cfg) {
    return cfg.map((s) => (s.cookie !== undefined ? compileCookie(s.cookie) : compileHeader(s.header, s.prefix)));
}
/** The first source present, in order. */
export function findToken(sources, headers) {
    for (let i = 0; i < sources.length; i++) {
        const token = sources[i].read(headers);
        if (token !== null)
            return { token, source: sources[i] };
    }
    return null;
}
