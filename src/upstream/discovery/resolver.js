import { Resolver } from 'node:dns/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
const QUERY_TIMEOUT_MS = 1000;
const QUERY_TRIES = 2;
export function createResolver(servers) {
    const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
    if (servers && servers.length > 0) {
        resolver.setServers([...servers]);
        return {
            async addresses(host) {
                if (isIP(host) !== 0)
                    return [{ address: host }];
                const [v4, v6] = await Promise.allSettled([resolver.resolve4(host, { ttl: true }), resolver.resolve6(host, { ttl: true })]);
                const out = [];
                if (v4.status === 'fulfilled')
                    out.push(...v4.value);
                if (v6.status === 'fulfilled')
                    out.push(...v6.value);
                if (out.length === 0) {
                    throw v4.status === 'rejected' ? v4.reason : new Error(`no address for ${host}`);
                }
                return out;
            },
            srv: (name) => resolver.resolveSrv(name),
        };
    }
    return {
        async addresses(host) {
            if (isIP(host) !== 0)
                return [{ address: host }];
            const found = await lookup(host, { all: true });
            if (found.length === 0)
                throw new Error(`no address for ${host}`);
            return found.map((a) => ({ address: a.address }));
        },
        srv: (name) => resolver.resolveSrv(name),
    };
}
