const RETRY_MS = 2_000;
export class PollingDiscovery {
    ctx;
    refreshMs;
    timer = null;
    closed = false;
    last = '';
    failures = 0;
    constructor(ctx, refreshMs) {
        this.ctx = ctx;
        this.refreshMs = refreshMs;
    }
    async start(sink) {
        await this.run(sink);
    }
    async run(sink) {
        let next = Math.min(this.refreshMs, RETRY_MS);
        try {
            const r = await this.resolve();
            if (this.closed)
                return;
            // Emit only on change: an unchanged answer must not rebuild balancer tables.
            const key = JSON.stringify(r.addresses);
            if (key !== this.last) {
                this.last = key;
                sink(r.addresses);
            }
            next = r.nextMs;
            this.failures = 0;
        }
        catch (err) {
            if (this.closed)
                return;
            this.ctx.onFailure(err, ++this.failures);
        }
        this.timer = setTimeout(() => void this.run(sink), Math.max(100, next));
        this.timer.unref();
    }
    close() {
        this.closed = true;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = null;
    }
}
/** Next refresh: the smallest positive TTL when it is shorter than `refresh`, else `refresh`. */
export function ttlDelay(ttls, refreshMs) {
    let min = refreshMs;
    for (const t of ttls)
        if (t !== undefined && t > 0)
            min = Math.min(min, t * 1000);
    return min;
}
