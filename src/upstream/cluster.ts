import { Endpoint, type EndpointPoolOptions } from './endpoint.ts';
import type { Balancer, PickContext } from './balancers/index.ts';
import { CircuitBreaker, type CircuitBreakerLimits } from './circuit-breaker.ts';
import { OutlierDetector, type OutlierConfig } from './outlier.ts';
import { clusterMetrics, type ClusterMetrics } from './metrics.ts';
import type { HashKeyFn } from './hash-key.ts';
import type { ConfigOrigin } from '../config/merge.ts';
import { ClusterStats } from '../observability/request-stats.ts';
import { sliceYielder } from '../util/slice-yielder.ts';
import { jsonStringBytes } from '../util/json-ascii.ts';

// A cluster at run time: its endpoints (with their pools), its balancer, circuit breaker, outlier
// detector, and the discovery and health checker that feed it. Built by compile() and reused by the
// next generation when its config and TLS material are unchanged, so connections and endpoint state
// survive a reload. `close()` (a retired cluster) stops every timer it owns and drains its pools.
//
// The serving set handed to the balancer is recomputed only when something changes (endpoints,
// health, ejection), never per request:
//   live = passing health checks, not ejected, weight > 0;
//   serve the lowest priority (RFC 2782) that has a live endpoint;
//   no live endpoint but some healthy ones → panic mode: serve every healthy endpoint, ejected or not;
//   nothing healthy → empty (503 no_healthy_upstream).

export interface EndpointAddress {
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** Lower is preferred; default 0. */
  readonly priority?: number;
  /** The DNS name the address came from: the default SNI when the cluster sets no serverName. */
  readonly hostname?: string;
}

export interface ClusterSummary {
  name: string;
  /** Where the cluster's config came from: the YAML file or the xDS server. */
  origin: ConfigOrigin;
  discovery: string;
  policy: string;
  panic: boolean;
  inflight: number;
  pending: number;
  endpoints: {
    address: string;
    weight: number;
    priority: number;
    healthy: boolean;
    ejected: boolean;
    serving: boolean;
    active: number;
    timesEjected: number;
  }[];
}

/** Something a cluster owns that runs timers: discovery, active health checks. */
export interface ClusterPart {
  /** Called after every change of the endpoint set. */
  endpointsChanged?(endpoints: readonly Endpoint[]): void;
  close(): void;
}

export interface ClusterOptions {
  readonly balancer: Balancer;
  readonly policy?: string;
  readonly discovery?: string;
  readonly pool: EndpointPoolOptions;
  /** Only for hash policies (ring_hash, maglev); null otherwise so the forward path skips it. */
  readonly hashKey?: HashKeyFn | null;
  readonly circuitBreakers?: CircuitBreakerLimits;
  readonly outlierDetection?: OutlierConfig;
  /** Where the cluster's config came from (default yaml). */
  readonly origin?: ConfigOrigin;
  /** The stats of the cluster this one replaces (same name), so its counters carry on. */
  readonly stats?: ClusterStats;
}

const UNLIMITED: CircuitBreakerLimits = { maxConnections: Infinity, maxPendingRequests: Infinity, maxRequests: Infinity };

export class Cluster {
  readonly name: string;
  /** The name as a JSON string's bytes, for the access log (observability/access-line.ts). */
  readonly nameJson: Uint8Array;
  /** Config + TLS material hash: equal fingerprints mean the cluster can be reused as it is. */
  readonly fingerprint: string;
  readonly https: boolean;
  readonly hashKey: HashKeyFn | null;
  readonly breaker: CircuitBreaker;
  readonly outlier: OutlierDetector | null;
  readonly metrics: ClusterMetrics;
  readonly origin: ConfigOrigin;
  /** Upstream tries by status class and their durations (collected at scrape time). */
  readonly stats: ClusterStats;
  /** True while ejection would leave nothing to serve and every healthy endpoint serves. */
  panic = false;
  private endpointList: Endpoint[] = [];
  private serving: readonly Endpoint[] = [];
  private readonly balancer: Balancer;
  /** Pool settings (TLS, connect timeout): read by the WebSocket proxy, which opens its own connections. */
  readonly poolOptions: EndpointPoolOptions;
  private readonly policy: string;
  private readonly discoveryKind: string;
  private readonly parts: ClusterPart[] = [];
  private readonly watchers = new Set<(serving: boolean) => void>();
  private wasServing = false;
  private closed = false;
  /** Left the current generation: its timers are stopped, its pools wait for the generations that hold it. */
  private retired = false;
  /** Generations that include this cluster and may still have an exchange using it. */
  private holders = 0;

  constructor(name: string, fingerprint: string, o: ClusterOptions) {
    this.name = name;
    this.nameJson = jsonStringBytes(name);
    this.fingerprint = fingerprint;
    this.balancer = o.balancer;
    this.policy = o.policy ?? 'round_robin';
    this.discoveryKind = o.discovery ?? 'static';
    this.https = o.pool.tls !== null;
    this.hashKey = o.hashKey ?? null;
    this.origin = o.origin ?? 'yaml';
    this.breaker = new CircuitBreaker(o.circuitBreakers ?? UNLIMITED);
    const maxConnections = o.circuitBreakers ? o.circuitBreakers.maxConnections : null;
    this.poolOptions = { ...o.pool, maxConnections: o.pool.maxConnections ?? maxConnections };
    this.metrics = clusterMetrics(name);
    this.stats = o.stats ?? new ClusterStats();
    this.outlier = o.outlierDetection ? new OutlierDetector(o.outlierDetection, this, this.metrics) : null;
  }

  get endpoints(): readonly Endpoint[] {
    return this.endpointList;
  }

  /** The endpoints the balancer currently chooses from. */
  get servingEndpoints(): readonly Endpoint[] {
    return this.serving;
  }

  /** Attaches a discovery or health checker: closed with the cluster, told of endpoint changes. */
  attach(part: ClusterPart): void {
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
  setEndpoints(addresses: readonly EndpointAddress[]): void {
    if (this.closed) return;
    const previous = new Map(this.endpointList.map((e) => [e.address, e]));
    const byAddress = new Map<string, Endpoint>();
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
      } else {
        byAddress.set(key, new Endpoint(a.host, a.port, a.weight, this.poolOptions, a.priority ?? 0, a.hostname));
      }
    }
    this.endpointList = [...byAddress.values()];
    this.refresh();
    for (const p of this.parts) p.endpointsChanged?.(this.endpointList);
    if (previous.size > 0) void closeGradually([...previous.values()]);
  }

  /** Recomputes the serving set (see the header comment) and hands it to the balancer. */
  refresh(): void {
    const all = this.endpointList;
    let best = Infinity;
    for (const e of all) if (e.healthy && !e.ejected && e.weight > 0 && e.priority < best) best = e.priority;
    let serving: Endpoint[];
    if (best !== Infinity) {
      this.panic = false;
      serving = all.filter((e) => e.healthy && !e.ejected && e.weight > 0 && e.priority === best);
    } else {
      serving = all.filter((e) => e.healthy && e.weight > 0);
      this.panic = serving.length > 0;
      if (this.panic) {
        let low = Infinity;
        for (const e of serving) low = Math.min(low, e.priority);
        serving = serving.filter((e) => e.priority === low);
      }
    }
    this.serving = serving;
    this.balancer.update(serving);
    const now = serving.length > 0;
    if (now !== this.wasServing) {
      this.wasServing = now;
      for (const w of this.watchers) w(now);
    }
  }

  /** True while some endpoint can take traffic (gRPC health `cluster:<name>` reads it). */
  get hasServingEndpoint(): boolean {
    return this.serving.length > 0;
  }

  /** Calls `fn` whenever hasServingEndpoint flips; returns the unsubscribe function. */
  watch(fn: (serving: boolean) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  pick(ctx: PickContext, exclude?: Endpoint): Endpoint | null {
    return this.balancer.pick(ctx, exclude);
  }

  summary(): ClusterSummary {
    const serving = new Set(this.serving);
    return {
      name: this.name,
      origin: this.origin,
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

  /** A generation that includes this cluster went live. */
  hold(): void {
    this.holders++;
  }

  /** A generation that included it was replaced and its last exchange ended: the last one closes the pools. */
  release(): void {
    if (--this.holders === 0 && this.retired) void this.close();
  }

  /**
   * The cluster left the current generation: discovery, health checks and outlier timers stop now.
   * Its pools stay open while an older generation may still send a try through them (an exchange
   * that started before the reload, waiting on ext_authz or retrying); release() closes them.
   */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.stopParts();
    if (this.holders === 0) void this.close();
  }

  private stopParts(): void {
    this.watchers.clear();
    for (const p of this.parts) p.close();
    this.outlier?.close();
  }

  /** Stops every timer now, then lets in-flight requests finish and closes the pools. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopParts();
    await Promise.all(this.endpointList.map((e) => e.close()));
  }
}

/** Parses "host:port" or "[v6]:port". */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

/**
 * Closes endpoints that left the cluster a few per event-loop turn: an EDS update that replaces 500
 * endpoints would otherwise close 500 pools in one turn (~40 ms without serving anyone).
 */
async function closeGradually(gone: readonly Endpoint[]): Promise<void> {
  const yielder = sliceYielder();
  for (const e of gone) {
    await yielder();
    void e.close();
  }
}
