import { PollingDiscovery, ttlDelay } from "./polling.js";
// `dns`: every A and AAAA address of `host` is an endpoint on `port` (weight 1), refreshed on the
// records' TTL or `refresh`, whichever comes first. The host name is the default SNI.
export class DnsDiscovery extends PollingDiscovery {
    host;
    port;
    constructor(ctx, host, port, refreshMs) {
        super(ctx, refreshMs);
        this.host = host;
        this.port = port;
    }
    async resolve() {
        const found = await this.ctx.resolver.addresses(this.host);
        return {
            addresses: found.map((a) => ({ host: a.address, port: this.port, weight: 1, hostname: this.host })),
            nextMs: ttlDelay(found.map((a) => a.ttl), this.refreshMs),
        };
    }
}
