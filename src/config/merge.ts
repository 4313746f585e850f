/**
 * YAML config + what the xDS client delivered → one effective config (SPEC "xDS"): RDS virtual hosts
 * are served beside the YAML ones, and a virtual host or cluster name that comes from xDS replaces the
 * YAML one of the same name. The result is validated and compiled like a loaded file.
 *
 * Decisions the SPEC leaves open, taken here so that one xDS resource can never make the whole
 * config invalid:
 * - a domain is served by one virtual host: an xDS virtual host takes its domains from a YAML one
 *   (and, between RouteConfigurations, the first in `xds.routeConfigs` order keeps it); a virtual
 *   host left without domains is dropped;
 * - two RouteConfigurations with a virtual host of the same name: the later one is renamed
 *   `<routeConfig>/<name>`;
 * - a cluster that an xDS route names but neither CDS nor the YAML has (yet) becomes an empty
 *   cluster: its routes answer 503, as Envoy's do for an unknown cluster.
 * So the merged config needs no second validation: the YAML was validated when loaded, each xDS
 * resource when translated, and the rules above keep names, domains and references consistent.
 * The xDS fragments arrive frozen (the client freezes them as they come in): freezing here touches
 * only the few new objects, not every route again.
 */
import { clusterSchema, type ClusterConfig, type GatewayConfig, type VirtualHostConfig } from './schema.ts';

export type ConfigOrigin = 'yaml' | 'xds';

export interface XdsVirtualHost {
  /** The RouteConfiguration it came from. */
  readonly routeConfig: string;
  readonly host: VirtualHostConfig;
}

/** What the xDS client contributes, already in the config's shapes. */
export interface XdsFragments {
  /** In `xds.routeConfigs` order, each RouteConfiguration's virtual hosts in their order. */
  readonly virtualHosts: readonly XdsVirtualHost[];
  readonly clusters: readonly ClusterConfig[];
}

/** The names that came from xDS (everything else came from the YAML file). */
export interface ConfigOrigins {
  readonly virtualHosts: ReadonlySet<string>;
  readonly clusters: ReadonlySet<string>;
}

export const YAML_ONLY: ConfigOrigins = Object.freeze({ virtualHosts: new Set<string>(), clusters: new Set<string>() });

export interface MergedConfig {
  readonly config: GatewayConfig;
  readonly origins: ConfigOrigins;
  /** What the merge decided on the way (a domain taken over, a cluster missing): worth a log line. */
  readonly notes: readonly string[];
}

export function mergeXds(yaml: GatewayConfig, xds: XdsFragments): MergedConfig {
  const notes: string[] = [];
  const taken = new Map<string, string>(); // domain → virtual host name that serves it
  const xdsHosts: VirtualHostConfig[] = [];
  const names = new Set<string>();
  for (const { routeConfig, host } of xds.virtualHosts) {
    let name = host.name;
    if (names.has(name)) {
      name = `${routeConfig}/${host.name}`;
      notes.push(`virtual host "${host.name}" of RouteConfiguration ${routeConfig} is also in an earlier one: served as "${name}"`);
    }
    const domains = host.domains.filter((d) => {
      const owner = taken.get(d.toLowerCase());
      if (owner !== undefined) notes.push(`domain "${d}" of virtual host "${name}" is already served by "${owner}" (an earlier RouteConfiguration)`);
      return owner === undefined;
    });
    if (domains.length === 0) {
      notes.push(`virtual host "${name}" has no domain left and is not served`);
      continue;
    }
    for (const d of domains) taken.set(d.toLowerCase(), name);
    names.add(name);
    xdsHosts.push(name === host.name && domains.length === host.domains.length ? host : { ...host, name, domains });
  }

  const yamlHosts: VirtualHostConfig[] = [];
  for (const vh of yaml.virtualHosts) {
    if (names.has(vh.name)) continue; // replaced by the xDS virtual host of the same name
    const domains = vh.domains.filter((d) => !taken.has(d.toLowerCase()));
    if (domains.length < vh.domains.length) {
      const lost = vh.domains.filter((d) => taken.has(d.toLowerCase()));
      notes.push(`YAML virtual host "${vh.name}": domain(s) ${lost.map((d) => `"${d}"`).join(', ')} served by xDS instead`);
    }
    if (domains.length === 0) continue;
    yamlHosts.push(domains.length === vh.domains.length ? vh : { ...vh, domains });
  }

  const xdsClusters = new Map(xds.clusters.map((c) => [c.name, c]));
  const clusters: ClusterConfig[] = [...yaml.clusters.filter((c) => !xdsClusters.has(c.name)), ...xdsClusters.values()];
  const known = new Set(clusters.map((c) => c.name));
  const clusterOrigin = new Set(xdsClusters.keys());
  for (const vh of xdsHosts) {
    for (const name of referencedClusters(vh)) {
      if (known.has(name)) continue;
      notes.push(`cluster "${name}" (named by virtual host "${vh.name}") is not known yet: its routes answer 503`);
      clusters.push(missingCluster(name));
      known.add(name);
      clusterOrigin.add(name);
    }
  }

  const config: GatewayConfig = { ...yaml, virtualHosts: [...xdsHosts, ...yamlHosts], clusters };
  return {
    config: deepFreeze(config),
    origins: { virtualHosts: names, clusters: clusterOrigin },
    notes,
  };
}

/** Every cluster the routes of a virtual host forward or mirror to. */
export function referencedClusters(vh: VirtualHostConfig): Set<string> {
  const out = new Set<string>();
  for (const r of vh.routes) {
    const a = r.route;
    if (!a) continue;
    if (a.cluster !== undefined) out.add(a.cluster);
    for (const w of a.weightedClusters ?? []) out.add(w.cluster);
    if (a.mirror) out.add(a.mirror.cluster);
  }
  return out;
}

/** An EDS cluster nobody feeds: no endpoints, so its routes answer 503 until CDS sends the real one. */
function missingCluster(name: string): ClusterConfig {
  return clusterSchema.parse({ name, discovery: { type: 'eds', serviceName: name } });
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
