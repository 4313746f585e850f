import { createSecureContext } from 'node:tls';
export function buildSniTable(certs, minVersion) {
    const exact = new Map();
    const wildcard = new Map(); // key: ".example.com"
    let defaultContext;
    for (const c of certs) {
        // createSecureContext throws when the key does not match the certificate: the caller reports it.
        const ctx = createSecureContext({ cert: c.cert, key: c.key, minVersion });
        defaultContext ??= ctx;
        for (const raw of c.serverNames) {
            const name = raw.toLowerCase();
            if (name.startsWith('*.')) {
                if (!wildcard.has(name.slice(1)))
                    wildcard.set(name.slice(1), ctx);
            }
            else if (!exact.has(name)) {
                exact.set(name, ctx);
            }
        }
    }
    if (!defaultContext)
        throw new Error('at least one certificate is required');
    const fallback = defaultContext;
    const first = certs[0];
    return {
        defaultContext: fallback,
        defaultOptions: { cert: first.cert, key: first.key, minVersion },
        lookup(serverName) {
            const name = serverName.toLowerCase();
            const hit = exact.get(name);
            if (hit)
                return hit;
            if (wildcard.size > 0) {
                const dot = name.indexOf('.');
                if (dot > 0) {
                    const w = wildcard.get(name.slice(dot));
                    if (w)
                        return w;
                }
            }
            return fallback;
        },
    };
}
