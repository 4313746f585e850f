import { Client } from 'undici';
import { httpProbe } from "./active-check-http.js";
import { grpcProbe } from "./active-check-grpc.js";
export class ActiveHealthChecker {
    cfg;
    host;
    connect;
    states = new Map();
    timer;
    /** The first probe of new endpoints: on the next turn, so a compile that is thrown away (validate, a failed reload) probes nothing. */
    soon = null;
    probe;
    closed = false;
    constructor(cfg, host, 
    /** gRPC probes need HTTP/2: a connector like the endpoints' but offering h2 (or h2c). */
    connect) {
        this.cfg = cfg;
        this.host = host;
        this.connect = connect;
        this.probe = cfg.grpc ? grpcProbe(cfg.grpc.service) : httpProbe(cfg.path ?? '/');
        this.timer = setInterval(() => this.round(), cfg.interval);
        this.timer.unref();
    }
    endpointsChanged(endpoints) {
        const keep = new Set(endpoints);
        for (const [e, s] of this.states) {
            if (!keep.has(e)) {
                this.states.delete(e);
                void s.client.close().catch(() => undefined);
            }
        }
        for (const e of endpoints) {
            if (this.states.has(e))
                continue;
            const client = new Client(e.origin, {
                connect: this.connect ?? e.connect,
                pipelining: 1,
                allowH2: this.cfg.grpc !== undefined,
                keepAliveTimeout: 60_000,
            });
            this.states.set(e, { client, successes: 0, failures: 0, running: false });
            this.soon ??= setTimeout(() => {
                this.soon = null;
                this.round();
            }, 0).unref();
        }
    }
    round() {
        for (const [e, s] of this.states)
            if (!s.running)
                void this.check(e, s);
    }
    async check(e, s) {
        s.running = true;
        let ok = false;
        try {
            ok = await this.probe(s.client, e, this.cfg.timeout);
        }
        catch {
            ok = false;
        }
        s.running = false;
        if (this.closed || this.states.get(e) !== s)
            return;
        if (ok) {
            s.failures = 0;
            s.successes++;
            if (!e.healthy && s.successes >= this.cfg.healthyThreshold) {
                e.healthy = true;
                this.host.refresh();
            }
        }
        else {
            this.host.metrics.healthCheckFailures.inc();
            s.successes = 0;
            s.failures++;
            if (e.healthy && s.failures >= this.cfg.unhealthyThreshold) {
                e.healthy = false;
                this.host.refresh();
            }
        }
    }
    close() {
        this.closed = true;
        clearInterval(this.timer);
        if (this.soon)
            clearTimeout(this.soon);
        for (const s of this.states.values())
            void s.client.close().catch(() => undefined);
        this.states.clear();
    }
}
