import type { Generation } from '../runtime/generation.ts';

// GET /routes: every compiled route of the running generation, in match order per virtual host,
// with its origin (YAML or xDS), its conditions, filters and action. Read from the compiled objects,
// so it shows what is served, whichever source it came from.

export function routesJson(gen: Generation | null): Record<string, unknown> {
  const virtualHosts = (gen?.hosts.virtualHosts() ?? []).map((vh) => ({
    name: vh.name,
    domains: [...vh.domains],
    routes: vh.routes.map((r) => {
      const a = r.action;
      const action =
        a.kind === 'forward'
          ? {
              kind: 'forward',
              clusters: a.split.clusters.map((c, i) => ({ cluster: c.name, weight: a.split.weights[i] })),
              ...(a.split.sticky !== null ? { stickyOn: a.split.sticky } : {}),
              timeoutMs: a.timeoutMs,
              retries: a.retry?.attempts ?? 0,
              ...(a.mirror !== null ? { mirror: { cluster: a.mirror.cluster.name, percent: a.mirror.percent } } : {}),
              websocket: a.websocket,
            }
          : a.kind === 'direct'
            ? { kind: 'direct', status: a.status }
            : { kind: 'redirect', status: a.status, to: a.to };
      return {
        name: r.name,
        origin: r.origin,
        order: r.order,
        match: r.conditions.map((c) => c.describe),
        filters: (r.filters ?? []).map((f) => ({ name: f.name, ...(f.describe ? { detail: f.describe() } : {}) })),
        action,
      };
    }),
  }));
  return { version: gen?.version ?? null, virtualHosts };
}
