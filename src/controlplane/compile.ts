/**
 * The registry → Envoy resources, as a PURE function (no I/O, no clock, deterministic output): the
 * same registry state always gives the same resources, so several control-plane replicas reading one
 * etcd serve identical snapshots under the same version.
 *
 * Quarantine (Traefik's pattern): a service the compiler cannot serve — its stored document is
 * invalid, a `dependsOn` names no service, a cluster or route it needs is already claimed by an
 * earlier service — is left out whole and reported in `problems`; every other service is served.
 * "Earlier" is etcd's create revision (then the name), so the service that was there first keeps
 * its route and the newcomer is the one reported.
 *
 * Resources are plain objects in Envoy's JSON shape (snake_case). Nested `Any`s use the JSON form
 * `{ "@type": …, …fields }`, which protobufjs packs; the ADS server encodes everything once per change.
 */
import { parseDuration } from '../config/duration.ts';
import { serviceIdentity, type ExposeEntry, type ServiceDocument, type ServiceVersion } from './registry/document.ts';
import type { RegisteredInstance, RegistryState, StoredService } from './store/types.ts';

/** The custom cluster type of an SRV version (agreed with the gateway's xDS client). */
export const SRV_CLUSTER_TYPE = 'gatehouse.dns_srv';
export const SRV_REFRESH_DEFAULT = '30s';

const TYPE = {
  upstreamTlsContext: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  struct: 'type.googleapis.com/google.protobuf.Struct',
} as const;

export interface CompileOptions {
  trustDomain: string;
  /** Paths on the gateway's machine, named in every cluster's UpstreamTlsContext. */
  clusterTls: { certFile: string; keyFile: string; caFile: string };
}

export type EnvoyResource = Record<string, unknown> & { name?: string; cluster_name?: string };

export interface CompiledResources {
  routeConfigurations: Map<string, EnvoyResource>;
  clusters: Map<string, EnvoyResource>;
  clusterLoadAssignments: Map<string, EnvoyResource>;
}

export interface ServiceOutcome {
  /** Empty when served. */
  problems: string[];
  /** The names it contributes (empty when quarantined). */
  clusters: string[];
  routes: Array<{ routeConfig: string; domain: string; prefix: string }>;
}

export interface CompileResult {
  /** The registry revision compiled: the snapshot's version. */
  revision: number;
  resources: CompiledResources;
  services: Map<string, ServiceOutcome>;
  /** What was built per service, for the next compile to reuse (see compileRegistry's `previous`). */
  memo: Map<string, ServiceMemo>;
}

/** The resources built for one served service, and the inputs they were built from. */
interface ServiceMemo {
  stored: StoredService;
  instances: ReadonlyMap<string, readonly RegisteredInstance[]> | undefined;
  options: CompileOptions;
  clusters: Array<[string, EnvoyResource]>;
  loadAssignments: Array<[string, EnvoyResource]>;
  action: Record<string, unknown>;
}

interface RouteEntry {
  name: string;
  service: string;
  prefix: string;
  action: Record<string, unknown>;
}

/**
 * `previous` (the last result) is only an optimisation: a service whose stored document and instance
 * list are the very same objects as last time (the stores copy on write) gets the same resource
 * objects back instead of new equal ones, so the snapshot does not encode them again. The output is
 * the same with or without it.
 */
export function compileRegistry(state: RegistryState, options: CompileOptions, previous?: CompileResult | null): CompileResult {
  const ordered = [...state.services.values()].sort((a, b) => a.createRevision - b.createRevision || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const clusterOwner = new Map<string, string>();
  const routeOwner = new Map<string, string>(); // "<routeConfig> <domain> <prefix>" → service
  const services = new Map<string, ServiceOutcome>();
  const memo = new Map<string, ServiceMemo>();
  const resources: CompiledResources = { routeConfigurations: new Map(), clusters: new Map(), clusterLoadAssignments: new Map() };
  /** routeConfig → domain → its routes (in service order). */
  const byDomain = new Map<string, Map<string, RouteEntry[]>>();

  for (const stored of ordered) {
    const problems = serviceProblems(stored, state, clusterOwner, routeOwner);
    const doc = stored.document;
    if (problems.length > 0 || doc === null) {
      services.set(stored.name, { problems, clusters: [], routes: [] });
      continue;
    }
    const outcome: ServiceOutcome = { problems: [], clusters: [], routes: [] };
    const instances = state.instances.get(doc.name);
    const before = previous?.memo.get(doc.name);
    const built = before && before.stored === stored && before.instances === instances && before.options === options ? before : buildService(stored, doc, instances, options);
    memo.set(doc.name, built);
    for (const [name, cluster] of built.clusters) {
      clusterOwner.set(name, doc.name);
      outcome.clusters.push(name);
      resources.clusters.set(name, cluster);
    }
    for (const [name, cla] of built.loadAssignments) resources.clusterLoadAssignments.set(name, cla);
    const action = built.action;
    doc.expose.forEach((entry, i) => {
      const routeName = `${doc.name}/${i}`;
      const perDomain = byDomain.get(entry.routeConfig) ?? new Map<string, RouteEntry[]>();
      byDomain.set(entry.routeConfig, perDomain);
      for (const domain of entry.domains.map((d) => d.toLowerCase())) {
        routeOwner.set(routeKey(entry.routeConfig, domain, entry.prefix), doc.name);
        outcome.routes.push({ routeConfig: entry.routeConfig, domain, prefix: entry.prefix });
        const list = perDomain.get(domain) ?? [];
        perDomain.set(domain, list);
        list.push({ name: routeName, service: doc.name, prefix: entry.prefix, action: { ...action, ...entryAction(entry) } });
      }
    });
    services.set(stored.name, outcome);
  }

  for (const [routeConfig, perDomain] of [...byDomain].sort(([a], [b]) => (a < b ? -1 : 1))) {
    resources.routeConfigurations.set(routeConfig, buildRouteConfiguration(routeConfig, perDomain));
  }
  return { revision: state.revision, resources, services, memo };
}

function buildService(stored: StoredService, doc: ServiceDocument, instances: ServiceMemo['instances'], options: CompileOptions): ServiceMemo {
  const identity = serviceIdentity(doc, options.trustDomain);
  const clusters: ServiceMemo['clusters'] = [];
  const loadAssignments: ServiceMemo['loadAssignments'] = [];
  for (const version of doc.versions) {
    const name = clusterName(doc.name, version.name);
    clusters.push([name, buildCluster(name, version, identity, options)]);
    if (version.srv === undefined) {
      const registered = instances?.get(version.name)?.map((i) => i.address) ?? [];
      loadAssignments.push([name, buildLoadAssignment(name, [...(version.endpoints ?? []), ...registered])]);
    }
  }
  return { stored, instances, options, clusters, loadAssignments, action: routeAction(doc) };
}

export function clusterName(service: string, version: string): string {
  return `${service}-${version}`;
}

function routeKey(routeConfig: string, domain: string, prefix: string): string {
  return `${routeConfig} ${domain} ${prefix}`;
}

/** Everything that keeps a service out of the snapshot, given what earlier services claimed. */
function serviceProblems(stored: StoredService, state: RegistryState, clusterOwner: Map<string, string>, routeOwner: Map<string, string>): string[] {
  const doc = stored.document;
  if (doc === null) return (stored.invalid ?? ['the stored document is not valid']).map((e) => `stored document: ${e}`);
  const problems: string[] = [];
  doc.dependsOn.forEach((dep, i) => {
    if (!state.services.has(dep)) problems.push(`dependsOn[${i}]: no service named ${dep}`);
  });
  doc.versions.forEach((v, i) => {
    const owner = clusterOwner.get(clusterName(doc.name, v.name));
    if (owner !== undefined) problems.push(`versions[${i}]: cluster ${clusterName(doc.name, v.name)} is already served for service ${owner}`);
  });
  doc.expose.forEach((e, i) => {
    for (const domain of e.domains) {
      const owner = routeOwner.get(routeKey(e.routeConfig, domain.toLowerCase(), e.prefix));
      if (owner !== undefined) problems.push(`expose[${i}]: ${domain}${e.prefix} is already exposed by service ${owner}`);
    }
  });
  return problems;
}

function buildCluster(name: string, version: ServiceVersion, identity: string, options: CompileOptions): EnvoyResource {
  const discovery =
    version.srv === undefined
      ? { type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name } }
      : {
          cluster_type: {
            name: SRV_CLUSTER_TYPE,
            typed_config: {
              '@type': TYPE.struct,
              // protobufjs's built-in google.protobuf.Value names its fields in camelCase (the wire is the same).
              fields: { name: { stringValue: version.srv }, refresh: { stringValue: version.srvRefresh ?? SRV_REFRESH_DEFAULT } },
            },
          },
        };
  return {
    name,
    ...discovery,
    lb_policy: 'ROUND_ROBIN',
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TYPE.upstreamTlsContext,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: options.clusterTls.certFile }, private_key: { filename: options.clusterTls.keyFile } }],
          validation_context: {
            trusted_ca: { filename: options.clusterTls.caFile },
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: identity } }],
          },
        },
      },
    },
  };
}

function buildLoadAssignment(name: string, addresses: string[]): EnvoyResource {
  const unique = [...new Set(addresses)].sort();
  return {
    cluster_name: name,
    endpoints: unique.length === 0 ? [] : [{ lb_endpoints: unique.map((a) => ({ endpoint: { address: socketAddress(a) } })) }],
  };
}

function socketAddress(hostPort: string): Record<string, unknown> {
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { socket_address: { address: host, port_value: Number(hostPort.slice(colon + 1)) } };
}

/** The service-wide part of its routes: one cluster, or the weighted split of its versions. */
function routeAction(doc: ServiceDocument): Record<string, unknown> {
  if (doc.versions.length === 1) return { cluster: clusterName(doc.name, doc.versions[0]!.name) };
  const weights = integerWeights(doc.versions.map((v) => v.weight));
  return {
    weighted_clusters: {
      // Weight-0 versions stay listed: their clusters stay warm, so a later shift needs no new cluster.
      clusters: doc.versions.map((v, i) => ({ name: clusterName(doc.name, v.name), weight: { value: weights[i] } })),
    },
  };
}

/** Envoy weights are whole numbers: kept as given when they are, else scaled to basis points. */
export function integerWeights(weights: number[]): number[] {
  if (weights.every(Number.isInteger)) return weights;
  const total = weights.reduce((a, b) => a + b, 0);
  // Shares of 10,000: they add up to ~10,000, so at least one is above 0.
  return weights.map((w) => Math.round((w / total) * 10_000));
}

function entryAction(entry: ExposeEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (entry.timeout !== undefined) out.timeout = protoDuration(entry.timeout);
  if (entry.prefixRewrite !== undefined) out.prefix_rewrite = entry.prefixRewrite;
  if (entry.retries !== undefined) {
    const on = (entry.retries.retryOn ?? ['connect-failure', 'refused-stream', '503']).map(String);
    const codes = on.filter((c) => /^\d{3}$/.test(c)).map(Number);
    const named = on.filter((c) => !/^\d{3}$/.test(c));
    if (codes.length > 0) named.push('retriable-status-codes');
    out.retry_policy = {
      retry_on: named.join(','),
      num_retries: { value: entry.retries.attempts },
      ...(codes.length > 0 ? { retriable_status_codes: codes } : {}),
      ...(entry.retries.perTryTimeout !== undefined ? { per_try_timeout: protoDuration(entry.retries.perTryTimeout) } : {}),
    };
  }
  return out;
}

function protoDuration(text: string): { seconds: number; nanos: number } {
  const ms = parseDuration(text) ?? 0;
  return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) };
}

/**
 * One virtual host per set of domains that get the same routes. Domains of one `expose` entry stay
 * together unless another service adds routes to some of them; Envoy refuses a domain in two virtual
 * hosts, so overlapping sets are split this way. Within a host, longer prefixes come first (first
 * match wins), then the registry order.
 */
function buildRouteConfiguration(name: string, perDomain: Map<string, RouteEntry[]>): EnvoyResource {
  const groups = new Map<string, { domains: string[]; routes: RouteEntry[] }>();
  for (const [domain, entries] of perDomain) {
    const routes = entries
      .map((r, i) => ({ r, i }))
      .sort((a, b) => b.r.prefix.length - a.r.prefix.length || a.i - b.i)
      .map(({ r }) => r);
    const key = routes.map((r) => `${r.name} ${r.prefix}`).join('\n');
    const group = groups.get(key) ?? { domains: [], routes };
    group.domains.push(domain);
    groups.set(key, group);
  }
  const virtualHosts = [...groups.values()]
    .map((g) => ({ ...g, domains: g.domains.sort(domainOrder) }))
    .sort((a, b) => domainOrder(a.domains[0]!, b.domains[0]!))
    .map((g) => ({
      name: g.domains[0]!,
      domains: g.domains,
      routes: g.routes.map((r) => ({ name: r.name, match: { prefix: r.prefix }, route: r.action })),
    }));
  return { name, virtual_hosts: virtualHosts };
}

function domainOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
