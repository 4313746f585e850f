import type { AdminState } from './state.ts';
import type { RouteStats } from '../observability/request-stats.ts';
import { CODE_CLASSES, PROTOCOLS, UNROUTED } from '../observability/request-stats.ts';
import { statsFor } from '../filters/ratelimit/metrics.ts';

// GET /stats: the live numbers the dashboard polls, as JSON — the same counters /metrics exports
// (request-stats.ts), read straight from the running generation. Totals only: the page turns two
// readings into rates.

type ByClass = Record<(typeof CODE_CLASSES)[number], number>;

function byClass(a: ArrayLike<number>): ByClass {
  const out = {} as ByClass;
  CODE_CLASSES.forEach((c, i) => (out[c] = a[i]));
  return out;
}

function sum(a: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) n += a[i];
  return n;
}

function routeTotals(s: RouteStats): { requests: number; errors: number; byClass: ByClass } {
  const classes = new Float64Array(CODE_CLASSES.length);
  for (const d of s.byDestination) for (let i = 0; i < classes.length; i++) classes[i] += d.byClass[i];
  return { requests: sum(classes), errors: classes[5], byClass: byClass(classes) };
}

export function statsJson(state: AdminState): Record<string, unknown> {
  const gen = state.current;
  const cfg = gen?.config;
  const listeners = [...state.listenerStats()].map((l) => {
    const compiled = gen?.listeners.get(l.name);
    const per = (a: Float64Array) => Object.fromEntries(PROTOCOLS.map((p, i) => [p, a[i]]));
    return {
      name: l.name,
      address: compiled ? `${compiled.host}:${compiled.port}` : null,
      connections: per(l.connections),
      activeRequests: per(l.activeRequests),
      requests: sum(l.requests),
    };
  });
  const routes = [];
  for (const vh of gen?.hosts.virtualHosts() ?? []) {
    for (const r of vh.routes) {
      const a = r.action;
      const total = a.kind === 'forward' ? a.split.weights.reduce((x, w) => x + w, 0) : 0;
      routes.push({
        virtualHost: vh.name,
        name: r.name,
        origin: r.origin,
        action: a.kind,
        match: r.conditions.map((c) => c.describe).join(', '),
        split:
          a.kind === 'forward'
            ? a.split.clusters.map((c, i) => ({ cluster: c.name, weight: a.split.weights[i], percent: total > 0 ? Math.round((a.split.weights[i] * 1000) / total) / 10 : 0 }))
            : [],
        filters: (r.filters ?? []).map((f) => f.name),
        ...routeTotals(r.stats),
        byCluster: r.stats.byDestination.filter((d) => d.cluster !== '').map((d) => ({ cluster: d.cluster, requests: sum(d.byClass), errors: d.byClass[5] })),
      });
    }
  }
  const clusters = [...(gen?.clusters.values() ?? [])].map((c) => {
    const s = c.summary();
    const tries = c.stats.triesByClass;
    return {
      ...s,
      // upstream tries (retries included); errors: 5xx answers and tries with no answer at all
      requests: sum(tries),
      errors: tries[5] + tries[0],
      byClass: byClass(tries),
    };
  });
  const rateLimits = (cfg?.rateLimit?.policies ?? []).map((p) => {
    const s = statsFor(p.name);
    return { policy: p.name, allowed: s.allowed, limited: s.limited };
  });
  return {
    time: Date.now(),
    version: gen?.version ?? null,
    ready: state.ready,
    draining: state.draining,
    inflight: state.inflight,
    lastReloadError: state.lastReloadError,
    xds: cfg?.xds ? { server: cfg.xds.server, routeConfigs: cfg.xds.routeConfigs } : null,
    tracing: cfg?.tracing ? { sampleRatio: cfg.tracing.sampleRatio } : null, // (the endpoint URL may hold credentials)
    listeners,
    routes,
    unrouted: routeTotals(UNROUTED),
    clusters,
    rateLimits,
  };
}
