import type { ClusterConfig } from '../../config/schema.ts';
import { parseHostPort, type EndpointAddress } from '../cluster.ts';
import type { Discovery, DiscoveryContext } from './discovery.ts';
import { StaticDiscovery } from './static.ts';
import { DnsDiscovery } from './dns.ts';
import { SrvDiscovery } from './srv.ts';

// The discovery registry: one line per kind. `eds` is fed by the xDS client through
// Cluster.setEndpoints() and has no entry here yet (config refuses it with `not supported yet`).

type DiscoveryConfig = ClusterConfig['discovery'];

export type DiscoveryBuild = { ok: true; discovery: Discovery } | { ok: false; path: string; message: string };

type Factory<T extends DiscoveryConfig['type']> = (cfg: Extract<DiscoveryConfig, { type: T }>, ctx: DiscoveryContext) => DiscoveryBuild;

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
};

/** Builds the discovery of a cluster; errors carry a path relative to `discovery`. */
export function buildDiscovery(cfg: DiscoveryConfig, ctx: DiscoveryContext): DiscoveryBuild {
  const f = factories[cfg.type] as Factory<typeof cfg.type> | undefined;
  if (!f) return { ok: false, path: 'type', message: 'not supported yet' };
  return f(cfg as never, ctx);
}

/** Discovery kinds that use DNS (their cluster fingerprint includes the resolver config). */
export const DNS_KINDS: ReadonlySet<string> = new Set(['dns', 'srv']);

export type { Discovery, DiscoveryContext, EndpointSink } from './discovery.ts';
