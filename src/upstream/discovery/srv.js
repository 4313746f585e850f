import { PollingDiscovery, ttlDelay } from "./polling.js";
// `srv` (RFC 2782): each SRV record's target is resolved (A/AAAA, same resolver) and becomes
// endpoints on the record's port with its priority and weight. The cluster serves the lowest
// priority that has live endpoints and balances by weight within it (cluster.ts). A target with
// several addresses shares its weight among them. Weights of 0: when every record of a priority has
// weight 0 they count as equal (1 each); otherwise a weight-0 target gets no traffic.
// A target that does not resolve is skipped; when none resolves the refresh counts as failed.
export class SrvDiscovery extends PollingDiscovery {
    name;
    constructor(ctx, name, refreshMs) {
        super(ctx, refreshMs);
        this.name = name;
    }
    async resolve() {
        const records = await this.ctx.resolver.srv(this.name);
        if (records.length === 0)
            throw new Error(`no SRV records for ${this.name}`);
        const allZero = new Map();
        for (const r of records)
            allZero.set(r.priority, (allZero.get(r.priority) ?? true) && r.weight === 0);
        const resolved = await Promise.allSettled(records.map((r) => this.ctx.resolver.addresses(r.name)));
        const addresses = [];
        const ttls = [];
        resolved.forEach((res, i) => {
            if (res.status !== 'fulfilled')
                return;
            const r = records[i];
            const weight = (allZero.get(r.priority) ? 1 : r.weight) / res.value.length;
            for (const a of res.value) {
                addresses.push({ host: a.address, port: r.port, weight, priority: r.priority, hostname: r.name });
                ttls.push(a.ttl);
            }
        });
        if (addresses.length === 0)
            throw new Error(`no SRV target of ${this.name} resolved`);
        // Stable order, so an unchanged answer in another order is not a change.
        addresses.sort((a, b) => a.priority - b.priority || (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
        return { addresses, nextMs: ttlDelay(ttls, this.refreshMs) };
    }
}
