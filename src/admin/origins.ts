import type { ConfigOrigins } from '../config/merge.ts';
import type { Generation } from '../runtime/generation.ts';

// Where each virtual host, route and cluster of the running generation came from (the YAML file or
// the xDS server), for GET /config and GET /routes.

/** The redacted config with `origin: yaml | xds` on every virtual host and cluster. */
export function withOrigins(redacted: unknown, origins: ConfigOrigins): unknown {
  if (typeof redacted !== 'object' || redacted === null) return redacted;
  const cfg = redacted as { virtualHosts?: Array<{ name: string }>; clusters?: Array<{ name: string }> };
  return {
    ...cfg,
    virtualHosts: (cfg.virtualHosts ?? []).map((vh) => ({ ...vh, origin: origins.virtualHosts.has(vh.name) ? 'xds' : 'yaml' })),
    clusters: (cfg.clusters ?? []).map((c) => ({ ...c, origin: origins.clusters.has(c.name) ? 'xds' : 'yaml' })),
  };
}

export interface RouteView {
  readonly virtualHost: string;
  readonly name: string;
  readonly origin: string;
  readonly action: string;
  readonly clusters: readonly string[];
}

export function routesView(gen: Generation): RouteView[] {
  const out: RouteView[] = [];
  for (const vh of gen.virtualHosts) {
    for (const r of vh.routes) {
      out.push({
        virtualHost: vh.name,
        name: r.name,
        origin: r.origin,
        action: r.action.kind,
        clusters: r.action.kind === 'forward' ? r.action.split.clusters.map((c) => c.name) : [],
      });
    }
  }
  return out;
}
