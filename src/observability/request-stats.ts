import { HistogramCells } from './collect.ts';

// The numbers the request path keeps: plain fields on objects built with the compiled config and
// held by what they count — a RouteStats by its CompiledRoute, a ClusterStats by its Cluster, a
// ListenerStats by its running listener. A reload hands the same object to the route, cluster or
// listener of the same name, so counters never restart; one that is retired is no longer walked
// at scrape time, so its series leave /metrics with it. metrics.ts exports them; /stats reads them.

/** Status classes, by index: 0 = no response (the client left first), then 1xx … 5xx. */
export const CODE_CLASSES = Object.freeze(['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const);

export function codeClassIndex(status: number): number {
  return status >= 100 && status < 600 ? (status / 100) | 0 : 0;
}

/** Requests of one route toward one cluster ('' for the gateway's own answers), by status class. */
export interface DestinationCounts {
  readonly cluster: string;
  readonly byClass: Float64Array;
}

export class RouteStats {
  readonly duration = new HistogramCells();
  private destinations: DestinationCounts[] = [];

  constructor(
    readonly virtualHost: string,
    readonly route: string,
    /** Clusters the route can send to: their cells exist from the start. */
    clusters: readonly { readonly name: string }[] = [],
  ) {
    this.expect(clusters);
  }

  /** Adds cells for clusters a new generation of the route can send to (kept ones stay). */
  expect(clusters: readonly { readonly name: string }[]): this {
    this.countsFor('');
    for (let i = 0; i < clusters.length; i++) this.countsFor(clusters[i]!.name);
    return this;
  }

  get byDestination(): readonly DestinationCounts[] {
    return this.destinations;
  }

  /** The cells for `cluster`: a scan of a handful of entries, created on first use. */
  countsFor(cluster: string): Float64Array {
    const d = this.destinations;
    for (let i = 0; i < d.length; i++) if (d[i].cluster === cluster) return d[i].byClass;
    const byClass = new Float64Array(CODE_CLASSES.length);
    this.destinations = [...d, { cluster, byClass }];
    return byClass;
  }

  record(cluster: string, status: number, seconds: number): void {
    this.countsFor(cluster)[codeClassIndex(status)]++;
    this.duration.observe(seconds);
  }
}

/** A cluster's upstream tries: by status class (index 0: no response) and time to response headers. */
export class ClusterStats {
  readonly triesByClass = new Float64Array(CODE_CLASSES.length);
  readonly upstreamDuration = new HistogramCells();

  recordTry(status: number, seconds: number): void {
    this.triesByClass[codeClassIndex(status)]++;
    this.upstreamDuration.observe(seconds);
  }
}

/** Protocol slots of the listener counters. */
export const PROTOCOLS = Object.freeze(['http/1.1', 'h2'] as const);
export const H1 = 0;
export const H2 = 1;

export class ListenerStats {
  /** Open TLS connections, by negotiated protocol. */
  readonly connections = new Float64Array(2);
  /** Requests being served now, by protocol. */
  readonly activeRequests = new Float64Array(2);
  /** Requests received, by protocol. */
  readonly requests = new Float64Array(2);
  constructor(readonly name: string) {}
}

/** Requests the gateway answered before any route (no virtual host or route, malformed): one set for the process. */
export const UNROUTED = new RouteStats('', '');

/** A certificate the running config uses, for the expiry gauge. */
export interface CertificateExpiry {
  /** listener | cluster (client certificate) | cluster_ca */
  readonly kind: 'listener' | 'cluster' | 'cluster_ca';
  /** The listener or cluster name. */
  readonly name: string;
  readonly file: string;
  /** notAfter, seconds since the epoch. */
  readonly expiresAt: number;
}

/** What a running gateway shows to the collectors (the Gateway implements it from its current generation). */
export interface StatsSource {
  routes(): Iterable<RouteStats>;
  clusters(): Iterable<{ readonly name: string; readonly stats: ClusterStats }>;
  listenerStats(): Iterable<ListenerStats>;
  certificates(): Iterable<CertificateExpiry>;
  /** The version of the config being served (0 before the first). */
  configVersion(): number;
  /** Whether the last reload was accepted. */
  lastReloadOk(): boolean;
}

/** Running gateways (one per process in production; tests may run several in turn). */
export const statsSources = new Set<StatsSource>();
