import { Endpoint } from "./endpoint.js";
import { CircuitBreaker } from "./circuit-breaker.js";
import { OutlierDetector } from "./outlier.js";
import { clusterMetrics } from "./metrics.js";
const UNLIMITED = { maxConnections: Infinity, maxPendingRequests: Infinity, maxRequests: Infinity };
export class Cluster {
    name;
    /** Config + TLS material hash: equal fingerprints mean the cluster can be reused as it is. */
    fingerprint;
    https;
    hashKey;
    breaker;
    outlier;
    metrics;
    /** True while ejection would leave nothing to serve and every healthy endpoint serves. */
    panic = false;
    endpointList = [];
    serving = [];
    balancer;
    /** Pool settings (TLS, connect timeout): read by the WebSocket proxy, which opens its own connections. */
    poolOptions;
    policy;
    discoveryKind;
    parts = [];
    watchers = new Set();
    wasServing = false;
    closed = false;
    constructor(name, fingerprint, o) {
        this.name = name;
        this.fingerprint = fingerprint;
        this.balancer = o.balancer;
        this.policy = o.policy ?? 'round_robin';
        this.discoveryKind = o.discovery ?? 'static';
        this.https = o.pool.tls !== null;
        this.hashKey = o.hashKey ?? null;
        this.breaker = new CircuitBreaker(o.circuitBreakers ?? UNLIMITED);
        const maxConnections = o.circuitBreakers ? o.circuitBreakers.maxConnections : null;
        this.poolOptions = { ...o.pool, maxConnections: o.pool.maxConnections ?? maxConnections };
        this.metrics = clusterMetrics(name);
        this.outlier = o.outlierDetection ? new OutlierDetector(o.outlierDetection, this, this.metrics) : null;
    }
    get endpoints() {
        return this.endpointList;
    }
    /** The endpoints the balancer currently chooses from. */
    get servingEndpoints() {
        return this.serving;
    }
    /** Attaches a discovery or health checker: closed with the cluster, told of endpoint changes. */
    attach(part) {
        if (this.closed) {
            part.close();
            return;
        }
        this.parts.push(part);
        part.endpointsChanged?.(this.endpointList);
    }
    /**
     * Replaces the endpoint set: the one entry point for every discovery kind (static, DNS, SRV, and
     * EDS from xDS). Endpoints that stay keep their pools, health and ejection state.
     */
    setEndpoints(addresses) {
        if (this.closed)
            return;
        const previous = new Map(this.endpointList.map((e) => [e.address, e]));
        const byAddress = new Map();
        for (const a of addresses) {
            const key = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
            const dup = byAddress.get(key);
            if (dup) {
                dup.weight += a.weight; // the same address twice (two SRV targets, say): one endpoint, both weights
                continue;
            }
            const kept = previous.get(key);
            if (kept) {
                kept.weight = a.weight;
                kept.priority = a.priority ?? 0;
                previous.delete(key);
                byAddress.set(key, kept);
            }
            else {
                byAddress.set(key, new Endpoint(a.host, a.port, a.weight, this.poolOptions, a.priority ?? 0, a.hostname));
            }
        }
        this.endpointList = [...byAddress.values()];
        this.refresh();
        for (const p of this.parts)
            p.endpointsChanged?.(this.endpointList);
        for (const gone of previous.values())
            void gone.close();
    }
    /** Recomputes the serving set (see the header comment) and hands it to the balancer. */
    refresh() {
        const all = this.endpointList;
        let best = Infinity;
        for (const e of all)
            if (e.healthy && !e.ejected && e.weight > 0 && e.priority < best)
                best = e.priority;
        let serving;
        if (best !== Infinity) {
            this.panic = false;
            serving = all.filter((e) => e.healthy && !e.ejected && e.weight > 0 && e.priority === best);
        }
        else {
            serving = all.filter((e) => e.healthy && e.weight > 0);
            this.panic = serving.length > 0;
            if (this.panic) {
                let low = Infinity;
                for (const e of serving)
                    low = Math.min(low, e.priority);
                serving = serving.filter((e) => e.priority === low);
            }
        }
        this.serving = serving;
        this.balancer.update(serving);
        const now = serving.length > 0;
        if (now !== this.wasServing) {
            this.wasServing = now;
            for (const w of this.watchers)
                w(now);
        }
    }
    /** True while some endpoint can take traffic (gRPC health `cluster:<name>` reads it). */
    get hasServingEndpoint() {
        return this.serving.length > 0;
    }
    /** Calls `fn` whenever hasServingEndpoint flips; returns the unsubscribe function. */
    watch(fn) {
        this.watchers.add(fn);
        return () => this.watchers.delete(fn);
    }
    pick(ctx, exclude) {
        return this.balancer.pick(ctx, exclude);
    }
    summary() {
        const serving = new Set(this.serving);
        return {
            name: this.name,
            discovery: this.discoveryKind,
            policy: this.policy,
            panic: this.panic,
            inflight: this.breaker.inflight,
            pending: this.breaker.pending,
            endpoints: this.endpointList.map((e) => ({
                address: e.address,
                weight: e.weight,
                priority: e.priority,
                healthy: e.healthy,
                ejected: e.ejected,
                serving: serving.has(e),
                active: e.active,
                timesEjected: e.timesEjected,
            })),
        };
    }
    /** Stops discovery, health checks and outlier timers, then lets in-flight requests finish. */
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        this.watchers.clear();
        for (const p of this.parts)
            p.close();
        this.outlier?.close();
        await Promise.all(this.endpointList.map((e) => e.close()));
    }
}
/** Parses "host:port" or "[v6]:port". */
export function parseHostPort(s) {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s);
    if (!m)
        return null;
    const port = Number(m[3]);
    if (port < 1 || port > 65535)
        return null;
    return { host: m[1] ?? m[2], port };
}
