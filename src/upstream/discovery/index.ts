import type { ClusterConfig } from '../../config/schema.ts';
import { parseHostPort, type EndpointAddress } from '../cluster.ts';
import type { Discovery, DiscoveryContext } from './discovery.ts';
import { StaticDiscovery } from './static.ts';
import { DnsDiscovery } from './dns.ts';
import { SrvDiscovery } from './srv.ts';
import { EdsDiscovery } from './eds.ts';

// The discovery registry: one line per kind. `eds` watches the xDS client's endpoint store
// (DiscoveryContext.endpoints), which feeds Cluster.setEndpoints() directly.

type DiscoveryConfig = ClusterConfig['discovery'];

export type DiscoveryBuild = { ok: true; discovery: Discovery } | { ok: false; path: string; message: string };

type Factory<T extends DiscoveryConfig['type']> = (cfg: Extract<DiscoveryConfig, { type: T }>, ctx: DiscoveryContext, clusterName: string) => DiscoveryBuild;

const factories: { [T in DiscoveryConfig['type']]?: Factory<T> } = {
  static: (cfg) => {
    const addrs: EndpointAddress[] = [];
    for (const [i, e] of cfg.endpoints.entries()) {
      const hp = parseHostPort(e);
      if (!hp) return { ok: false, path: `endpoints[${i}]`, message: 'expected host:port' };
      addrs.push({ ...hp, weight: 1 });
    }
    return { ok: true, discovery: new StaticDiscovery(addrs) };
  },
  dns: (cfg, ctx) => ({ ok: true, discovery: new DnsDiscovery(ctx, cfg.host, cfg.port, cfg.refresh) }),
  srv: (cfg, ctx) => ({ ok: true, discovery: new SrvDiscovery(ctx, cfg.name, cfg.refresh) }),
  eds: (cfg, ctx, name) =>
    ctx.endpoints
      ? { ok: true, discovery: new EdsDiscovery(ctx.endpoints, cfg.serviceName ?? name) }
      : { ok: false, path: 'type', message: 'eds needs xds (the endpoints come from the xDS server)' },
};

/** Builds the discovery of a cluster; errors carry a path relative to `discovery`. */
export function buildDiscovery(cfg: DiscoveryConfig, ctx: DiscoveryContext, clusterName: string): DiscoveryBuild {
  const f = factories[cfg.type] as Factory<typeof cfg.type> | undefined;
  if (!f) return { ok: false, path: 'type', message: 'not supported yet' };
  return f(cfg as never, ctx, clusterName);
}

/** Discovery kinds that use DNS (their cluster fingerprint includes the resolver config). */
export const DNS_KINDS: ReadonlySet<string> = new Set(['dns', 'srv']);

export type { Discovery, DiscoveryContext, EndpointSink } from './discovery.ts';
export type { EndpointSource } from './eds.ts';
