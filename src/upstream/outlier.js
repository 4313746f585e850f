export class OutlierDetector {
    cfg;
    host;
    metrics;
    timer;
    constructor(cfg, host, metrics) {
        this.cfg = cfg;
        this.host = host;
        this.metrics = metrics;
        this.timer = setInterval(() => this.tick(), cfg.interval);
        this.timer.unref();
    }
    success(e) {
        e.consecutive5xx = 0;
        e.consecutiveGatewayErrors = 0;
    }
    /** An upstream response with status >= 500. */
    serverError(e, status) {
        e.consecutive5xx++;
        if (status === 502 || status === 503 || status === 504)
            e.consecutiveGatewayErrors++;
        else
            e.consecutiveGatewayErrors = 0;
        this.check(e);
    }
    /** A local gateway error: connect failure, reset, timeout. */
    gatewayError(e) {
        e.consecutive5xx++;
        e.consecutiveGatewayErrors++;
        this.check(e);
    }
    check(e) {
        if (e.ejected)
            return;
        if (e.consecutiveGatewayErrors >= this.cfg.consecutiveGatewayErrors)
            this.eject(e, this.metrics.ejectionsGateway);
        else if (e.consecutive5xx >= this.cfg.consecutive5xx)
            this.eject(e, this.metrics.ejections5xx);
    }
    eject(e, counter) {
        const eps = this.host.endpoints;
        if (!eps.includes(e))
            return; // an endpoint discovery already removed
        let ejected = 0;
        for (const x of eps)
            if (x.ejected)
                ejected++;
        const max = Math.max(1, Math.floor((eps.length * this.cfg.maxEjectionPercent) / 100));
        if (ejected >= max)
            return;
        e.ejected = true;
        e.timesEjected++;
        e.ejectedUntil = Date.now() + this.cfg.baseEjectionTime * e.timesEjected;
        e.consecutive5xx = 0;
        e.consecutiveGatewayErrors = 0;
        counter.inc();
        this.host.refresh();
    }
    tick(now = Date.now()) {
        let changed = false;
        for (const e of this.host.endpoints) {
            if (e.ejected) {
                if (now >= e.ejectedUntil) {
                    e.ejected = false;
                    changed = true;
                }
            }
            else if (e.timesEjected > 0) {
                e.timesEjected--;
            }
        }
        if (changed)
            this.host.refresh();
    }
    close() {
        clearInterval(this.timer);
    }
}
