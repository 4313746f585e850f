import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { collected, collectedHistogram, type Labels, type Sample } from './collect.ts';
import { CODE_CLASSES, PROTOCOLS, statsSources, UNROUTED, type RouteStats } from './request-stats.ts';

// The gateway's Prometheus registry (served at admin GET /metrics). Two patterns, written down in
// docs/observability.md: per-request numbers live on compiled objects and are collected at scrape
// time (collect.ts, request-stats.ts); rare events use prom-client counters whose children are
// resolved once, never looked up by labels on the request path.

export const registry = new Registry();

// Process and event-loop metrics (prom-client's defaults, under their standard names: process_*,
// nodejs_*), so the usual Node.js dashboards work unchanged.
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

export const authnFailures = new Counter({
  name: 'gatehouse_authn_failures_total',
  help: 'Edge token validations that failed, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});
const authnFailureChildren = new Map<string, Counter.Internal>();
/** The counter child of one failure reason (a small closed set), resolved once. */
export function authnFailure(reason: string): Counter.Internal {
  let c = authnFailureChildren.get(reason);
  if (c === undefined) authnFailureChildren.set(reason, (c = authnFailures.labels({ reason })));
  return c;
}

// ── config ──
const configReloads = new Counter({
  name: 'gatehouse_config_reloads_total',
  help: 'Config loads (the first one included), by result: success, or rejected (the last good config kept serving)',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const reloadSucceeded = configReloads.labels({ result: 'success' });
export const reloadRejected = configReloads.labels({ result: 'rejected' });

collected(registry, {
  name: 'gatehouse_config_version',
  help: 'Version (generation number) of the config being served',
  type: 'gauge',
  aggregator: 'max',
  *read() {
    for (const s of statsSources) yield [{}, s.configVersion()];
  },
});
collected(registry, {
  name: 'gatehouse_config_last_reload_successful',
  help: '1 when the last config reload was accepted, 0 when it was rejected',
  type: 'gauge',
  aggregator: 'min',
  *read() {
    for (const s of statsSources) yield [{}, s.lastReloadOk() ? 1 : 0];
  },
});

// ── requests ──
function* liveRoutes(): Iterable<RouteStats> {
  yield UNROUTED;
  for (const s of statsSources) yield* s.routes();
}

const routeLabels = (r: RouteStats): Labels => ({ virtual_host: r.virtualHost, route: r.route });

collected(registry, {
  name: 'gatehouse_requests_total',
  help: 'Requests answered, by virtual host, route, cluster and status class ("" route/cluster: the gateway answered itself; code_class "none": the client left first)',
  type: 'counter',
  *read(): Iterable<Sample> {
    for (const r of liveRoutes()) {
      for (const d of r.byDestination) {
        for (let c = 0; c < CODE_CLASSES.length; c++) {
          const n = d.byClass[c];
          if (n > 0) yield [{ ...routeLabels(r), cluster: d.cluster, code_class: CODE_CLASSES[c] }, n];
        }
      }
    }
  },
});

collectedHistogram(registry, {
  name: 'gatehouse_request_duration_seconds',
  help: 'Time from the request head to the end of the response, by virtual host and route',
  *read() {
    for (const r of liveRoutes()) if (r.duration.count > 0) yield [routeLabels(r), r.duration];
  },
});

collected(registry, {
  name: 'gatehouse_upstream_requests_total',
  help: 'Upstream tries (retries included), by cluster and status class ("none": no response: connect failure, reset, timeout)',
  type: 'counter',
  *read(): Iterable<Sample> {
    for (const s of statsSources) {
      for (const c of s.clusters()) {
        for (let i = 0; i < CODE_CLASSES.length; i++) {
          const n = c.stats.triesByClass[i];
          if (n > 0) yield [{ cluster: c.name, code_class: CODE_CLASSES[i] }, n];
        }
      }
    }
  },
});

collectedHistogram(registry, {
  name: 'gatehouse_upstream_request_duration_seconds',
  help: 'Time from sending an upstream try to its response headers (or its failure), by cluster',
  *read() {
    for (const s of statsSources) for (const c of s.clusters()) if (c.stats.upstreamDuration.count > 0) yield [{ cluster: c.name }, c.stats.upstreamDuration];
  },
});

// ── listeners ──
function listenerSeries(pick: (l: { connections: Float64Array; activeRequests: Float64Array; requests: Float64Array }) => Float64Array) {
  return function* (): Iterable<Sample> {
    for (const s of statsSources) {
      for (const l of s.listenerStats()) {
        const v = pick(l);
        for (let p = 0; p < PROTOCOLS.length; p++) yield [{ listener: l.name, protocol: PROTOCOLS[p] }, v[p]];
      }
    }
  };
}
collected(registry, {
  name: 'gatehouse_active_connections',
  help: 'Open client connections, by listener and negotiated protocol',
  type: 'gauge',
  read: listenerSeries((l) => l.connections),
});
collected(registry, {
  name: 'gatehouse_active_requests',
  help: 'Requests being served, by listener and protocol',
  type: 'gauge',
  read: listenerSeries((l) => l.activeRequests),
});
collected(registry, {
  name: 'gatehouse_listener_requests_total',
  help: 'Requests received, by listener and protocol',
  type: 'counter',
  read: listenerSeries((l) => l.requests),
});

// ── TLS ──
collected(registry, {
  name: 'gatehouse_certificate_expiry_timestamp_seconds',
  help: 'notAfter of each certificate in use (seconds since the epoch), by kind (listener, cluster client certificate, cluster_ca), owner and file',
  type: 'gauge',
  aggregator: 'first',
  *read(): Iterable<Sample> {
    for (const s of statsSources) for (const c of s.certificates()) yield [{ kind: c.kind, name: c.name, file: c.file }, c.expiresAt];
  },
});
