import type { ConfigOrigins } from '../config/merge.ts';

// Where each virtual host and cluster of the running generation came from (the YAML file or the xDS
// server), for GET /config. (GET /routes shows each compiled route's own `origin`.)

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
