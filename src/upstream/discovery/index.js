import { parseHostPort } from "../cluster.js";
import { StaticDiscovery } from "./static.js";
import { DnsDiscovery } from "./dns.js";
import { SrvDiscovery } from "./srv.js";
const factories = {
    static: (cfg) => {
        const addrs = [];
        for (const [i, e] of cfg.endpoints.entries()) {
            const hp = parseHostPort(e);
            if (!hp)
                return { ok: false, path: `endpoints[${i}]`, message: 'expected host:port' };
            addrs.push({ ...hp, weight: 1 });
        }
        return { ok: true, discovery: new StaticDiscovery(addrs) };
    },
    dns: (cfg, ctx) => ({ ok: true, discovery: new DnsDiscovery(ctx, cfg.host, cfg.port, cfg.refresh) }),
    srv: (cfg, ctx) => ({ ok: true, discovery: new SrvDiscovery(ctx, cfg.name, cfg.refresh) }),
};
/** Builds the discovery of a cluster; errors carry a path relative to `discovery`. */
export function buildDiscovery(cfg, ctx) {
    const f = factories[cfg.type];
    if (!f)
        return { ok: false, path: 'type', message: 'not supported yet' };
    return f(cfg, ctx);
}
/** Discovery kinds that use DNS (their cluster fingerprint includes the resolver config). */
export const DNS_KINDS = new Set(['dns', 'srv']);
