import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { GatewayConfig } from '../config/schema.ts';
import type { ConfigError } from '../config/load.ts';
import { sliceYielder } from '../util/slice-yielder.ts';
import { buildSniTable, type CertificateMaterial } from '../listener/sni.ts';
import { effectiveCiphers } from '../listener/tls-profile.ts';
import { compileTrust } from '../listener/client-address.ts';
import { HostTable } from '../router/host-table.ts';
import { compileVirtualHost, type FilterDeps } from '../router/compile.ts';
import { RateLimits } from '../filters/ratelimit/runtime.ts';
import { Cluster, parseHostPort } from '../upstream/cluster.ts';
import { balancers, HASH_POLICIES } from '../upstream/balancers/index.ts';
import { loadOriginationTls, OriginationMaterials } from '../upstream/tls-origination.ts';
import { compileHashKey } from '../upstream/hash-key.ts';
import { endpointConnector } from '../upstream/endpoint.ts';
import { buildDiscovery, DNS_KINDS } from '../upstream/discovery/index.ts';
import { createResolver, type HostResolver } from '../upstream/discovery/resolver.ts';
import { ActiveHealthChecker } from '../health/active-check.ts';
import { log } from '../observability/logger.ts';
import { GenerationUsage, type CompiledListener, type Generation } from './generation.ts';
import { compileAuthn, type Closeable, type Warmup } from '../filters/authn/runtime.ts';
import { YAML_ONLY, type ConfigOrigins } from '../config/merge.ts';
import type { EndpointSource } from '../upstream/discovery/index.ts';
import type { CompiledRoute, CompiledVirtualHost } from '../router/types.ts';
import { leafExpiry } from '../observability/cert-expiry.ts';
import type { CertificateExpiry } from '../observability/request-stats.ts';
import { compileExtAuthz } from '../filters/ext-authz/runtime.ts';

// compile(snapshot, previous): builds every runtime object once — TLS contexts, SNI tables, route
// tables, clusters with their pools and balancers. Clusters whose config and TLS material did not
// change are taken over from the previous generation so their connections and state survive.
// Anything that cannot be built (a key that does not match its certificate, say) fails the whole
// compile with `path: message` errors, and the previous generation keeps serving.

export class CompileError extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  }
}

export interface CompileResult {
  readonly generation: Generation;
  /** Clusters of the previous generation that the new one does not use: close them after the swap. */
  readonly retired: Cluster[];
  /** Other resources of the previous generation it no longer uses (authn providers, minter, ext_authz services): close after the swap. */
  readonly retiredResources: Closeable[];
  /** Background work the gateway's readiness waits for, bounded (first JWKS fetches, Redis). */
  readonly warming: Warmup[];
  /**
   * The generation will never serve (its listeners could not bind): closes everything this compile
   * created — clusters, Redis connections, JWKS key sets — and nothing it took over from `previous`.
   */
  discard(): void;
}

const DEFAULT_ROUTE_TIMEOUT_MS = 15_000; // Envoy's default route timeout

/** What a compile needs besides the config when xDS is on. */
export interface CompileInputs {
  /** Which virtual hosts and clusters came from xDS (the rest from the YAML file). */
  readonly origins?: ConfigOrigins;
  /** Where `eds` clusters read their endpoints (the xDS client's store). */
  readonly endpoints?: EndpointSource;
}

async function compileListener(
  cfg: GatewayConfig['listeners'][number],
  index: number,
  httpsPort: number,
  errors: ConfigError[],
  certificates: CertificateExpiry[],
): Promise<CompiledListener | null> {
  const addr = parseHostPort(cfg.address);
  if (!addr) {
    errors.push({ path: `listeners[${index}].address`, message: 'expected host:port' });
    return null;
  }
  let sni = null;
  if (cfg.tls) {
    const material: CertificateMaterial[] = [];
    for (const [i, c] of cfg.tls.certificates.entries()) {
      try {
        const [cert, key] = await Promise.all([readFile(c.certFile), readFile(c.keyFile)]);
        material.push({ cert, key, serverNames: c.serverNames ?? [] });
        const expiresAt = leafExpiry(cert);
        if (expiresAt !== null) certificates.push({ kind: 'listener', name: cfg.name, file: c.certFile, expiresAt });
      } catch (err) {
        errors.push({ path: `listeners[${index}].tls.certificates[${i}]`, message: `cannot read: ${(err as Error).message}` });
      }
    }
    if (material.length !== cfg.tls.certificates.length) return null;
    try {
      sni = buildSniTable(material, {
        minVersion: cfg.tls.minVersion,
        ciphers: effectiveCiphers(cfg.tls.ciphers),
        ecdhCurve: cfg.tls.ecdhCurves,
      });
    } catch (err) {
      errors.push({ path: `listeners[${index}].tls.certificates`, message: `invalid certificate or key: ${(err as Error).message}` });
      return null;
    }
  }
  const l = cfg.limits;
  return {
    name: cfg.name,
    host: addr.host,
    port: addr.port,
    sni,
    http2: cfg.tls?.http2 ?? true,
    limits: {
      maxHeaderBytes: l.maxHeaderBytes,
      maxBodyBytes: l.maxBodyBytes,
      headersTimeoutMs: l.headersTimeout,
      requestTimeoutMs: l.requestTimeout,
      idleTimeoutMs: l.idleTimeout,
      http2MaxConcurrentStreams: l.http2MaxConcurrentStreams,
      maxConnections: l.maxConnections,
      headersWithUnderscores: l.headersWithUnderscores,
    },
    trust: compileTrust(cfg.trustedProxies?.cidrs),
    proxyProtocol: cfg.proxyProtocol,
    httpsPort,
  };
}

/** How long a compile waits for a cluster's first DNS answer before going on with it empty. */
const FIRST_RESOLUTION_WAIT_MS = 5_000;

async function compileCluster(
  cfg: GatewayConfig['clusters'][number],
  index: number,
  previous: ReadonlyMap<string, Cluster> | undefined,
  dns: { servers: readonly string[] | undefined; resolver: () => HostResolver },
  inputs: CompileInputs,
  errors: ConfigError[],
  certificates: CertificateExpiry[],
  materials: OriginationMaterials,
): Promise<Cluster | null> {
  const origin = inputs.origins?.clusters.has(cfg.name) ? 'xds' : 'yaml';
  let tls = null;
  if (cfg.tls) {
    try {
      tls = await loadOriginationTls(cfg.tls, materials);
    } catch (err) {
      errors.push({ path: `clusters[${index}].tls`, message: (err as Error).message });
      return null;
    }
    const cert = cfg.tls.certFile ? tls.certExpiresAt : null;
    if (cert !== null) certificates.push({ kind: 'cluster', name: cfg.name, file: cfg.tls.certFile!, expiresAt: cert });
    const ca = cfg.tls.caFile ? tls.caExpiresAt : null;
    if (ca !== null) certificates.push({ kind: 'cluster_ca', name: cfg.name, file: cfg.tls.caFile!, expiresAt: ca });
  }
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(cfg))
    .update(tls?.fingerprint ?? 'plain')
    // A DNS-discovered cluster also depends on the resolver it asks.
    .update(DNS_KINDS.has(cfg.discovery.type) ? JSON.stringify(dns.servers ?? null) : '')
    .update(origin)
    .digest('hex');
  const reusable = previous?.get(cfg.name);
  if (reusable && reusable.fingerprint === fingerprint) return reusable;

  const policy = cfg.loadBalancer?.policy ?? 'round_robin';
  const factory = balancers.get(policy);
  if (!factory) {
    errors.push({ path: `clusters[${index}].loadBalancer.policy`, message: 'unknown policy' });
    return null;
  }
  const pool = {
    tls: tls?.options ?? null,
    connectTimeoutMs: cfg.connectTimeout,
    maxConnections: null,
    http2: cfg.http2,
    ...(cfg.tls?.serverName ? { serverName: cfg.tls.serverName } : {}),
  };
  const cluster = new Cluster(cfg.name, fingerprint, {
    balancer: factory(),
    policy,
    discovery: cfg.discovery.type,
    pool,
    hashKey: HASH_POLICIES.has(policy) ? compileHashKey(cfg.loadBalancer?.hashOn) : null,
    circuitBreakers: cfg.circuitBreakers,
    ...(cfg.outlierDetection ? { outlierDetection: cfg.outlierDetection } : {}),
    origin,
    ...(reusable ? { stats: reusable.stats } : {}),
  });
  if (cfg.healthCheck) {
    const hc = cfg.healthCheck;
    const connect = hc.grpc ? endpointConnector({ ...pool, http2: true }) : undefined;
    cluster.attach(new ActiveHealthChecker(hc, cluster, connect));
  }
  const built = buildDiscovery(cfg.discovery, {
    resolver: DNS_KINDS.has(cfg.discovery.type) ? dns.resolver() : NO_RESOLVER,
    ...(inputs.endpoints ? { endpoints: inputs.endpoints } : {}),
    onFailure: (err, inARow) => {
      cluster.metrics.dnsFailures.inc();
      // Log the start of an outage, not every retry of it (the metric counts them all).
      if (inARow === 1) log.warn({ cluster: cfg.name, err: (err as Error)?.message }, 'discovery failed; keeping the last good endpoints');
    },
  }, cfg.name);
  if (!built.ok) {
    errors.push({ path: `clusters[${index}].discovery.${built.path}`, message: built.message });
    return cluster;
  }
  cluster.attach(built.discovery);
  // Wait for the first answer (bounded): a new DNS cluster should not start by answering 503.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    built.discovery.start((addrs) => cluster.setEndpoints(addrs)),
    new Promise<void>((r) => {
      timer = setTimeout(r, FIRST_RESOLUTION_WAIT_MS);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  return cluster;
}

const NO_RESOLVER: HostResolver = {
  addresses: () => Promise.reject(new Error('no resolver')),
  srv: () => Promise.reject(new Error('no resolver')),
};

export async function compile(
  config: GatewayConfig,
  configFile: string,
  version: number,
  previous?: Generation,
  inputs: CompileInputs = {},
): Promise<CompileResult> {
  const errors: ConfigError[] = [];

  const clusters = new Map<string, Cluster>();
  let resolver: HostResolver | null = null; // one per compile, shared by its DNS clusters
  const dns = { servers: config.dns?.servers, resolver: () => (resolver ??= createResolver(config.dns?.servers)) };
  const certificates: CertificateExpiry[] = [];
  const materials = new OriginationMaterials(); // TLS files read once per compile, shared by the clusters that name them
  const built = await Promise.all(config.clusters.map((c, i) => compileCluster(c, i, previous?.clusters, dns, inputs, errors, certificates, materials)));
  for (const c of built) if (c) clusters.set(c.name, c);

  const firstTls = config.listeners.find((l) => l.tls);
  const httpsPort = firstTls ? (parseHostPort(firstTls.address)?.port ?? 443) : 443;
  // A rebuild for an xDS update keeps the YAML parts of the config as the very same (frozen) objects:
  // what was compiled from them is taken over as it is. A file change re-reads the YAML (new objects),
  // so certificates, keys and JWKS files are always re-read then.
  const same = (k: keyof GatewayConfig) => previous !== undefined && previous.config[k] === config[k];
  let listeners: ReadonlyMap<string, CompiledListener>;
  if (same('listeners')) {
    listeners = previous!.listeners;
    for (const c of previous!.certificates) if (c.kind === 'listener') certificates.push(c);
  } else {
    const map = new Map<string, CompiledListener>();
    const compiled = await Promise.all(config.listeners.map((l, i) => compileListener(l, i, httpsPort, errors, certificates)));
    for (const l of compiled) if (l) map.set(l.name, l);
    listeners = map;
  }

  const rateLimits = same('rateLimit') ? previous!.rateLimits : await RateLimits.build(config.rateLimit, previous?.rateLimits ?? null);
  const authn =
    same('authn') && same('rateLimit')
      ? { runtime: previous!.authn, created: [], retired: [], warming: [] }
      : await compileAuthn(config.authn, config.rateLimit?.redis, previous?.authn, errors);
  const extAuthz =
    previous && sameObjects(extAuthzConfigs(config), extAuthzConfigs(previous.config))
      ? { runtime: previous.extAuthz, created: [], retired: [] }
      : await compileExtAuthz(config, previous?.extAuthz, errors);

  const reusable =
    previous && authn.runtime === previous.authn && rateLimits === previous.rateLimits && extAuthz.runtime === previous.extAuthz ? compiledByConfig(previous) : null;
  const origins = inputs.origins ?? YAML_ONLY;
  const { hosts, virtualHosts } = await compileVirtualHosts(config.virtualHosts, clusters, errors, reusable, origins, {
    authn: authn.runtime,
    rateLimits,
    extAuthz: extAuthz.runtime,
    previousRoute: previousRoutes(previous),
  });

  // Span export: the previous exporter is kept while `tracing` is unchanged (its queue and connection).
  // The OpenTelemetry SDK is loaded only when tracing is configured (memory, start-up).
  const tracingKey = config.tracing ? JSON.stringify(config.tracing) : null;
  const tracing =
    tracingKey === null
      ? null
      : previous?.tracing?.key === tracingKey
        ? previous.tracing
        : new (await import('../observability/tracing/span-export.ts')).SpanExport(config.tracing!);

  // Close what this compile created; never touch what it borrowed from `previous`.
  const discard = () => {
    for (const c of clusters.values()) if (previous?.clusters.get(c.name) !== c) void c.close();
    rateLimits.discard(previous?.rateLimits);
    for (const r of authn.created) r.close();
    for (const r of extAuthz.created) r.close();
    if (tracing !== null && tracing !== previous?.tracing) tracing.close();
  };
  if (errors.length > 0) {
    discard();
    throw new CompileError(errors);
  }

  const retired: Cluster[] = [];
  if (previous) for (const c of previous.clusters.values()) if (clusters.get(c.name) !== c) retired.push(c);
  const retiredResources = [...authn.retired, ...extAuthz.retired];
  const oldTracing = previous?.tracing ?? null;
  if (oldTracing !== null && oldTracing !== tracing) retiredResources.push(oldTracing);

  return {
    generation: Object.freeze({
      version,
      config,
      origins,
      listeners,
      hosts,
      virtualHosts: Object.freeze(virtualHosts),
      clusters,
      rateLimits,
      authn: authn.runtime,
      extAuthz: extAuthz.runtime,
      files: collectFiles(config, configFile),
      tracing,
      certificates: Object.freeze(certificates),
      usage: new GenerationUsage(),
    }),
    retired,
    retiredResources,
    warming: authn.warming,
    discard,
  };
}

/** The previous generation's compiled virtual hosts by the config object they were compiled from. */
function compiledByConfig(previous: Generation): Map<GatewayConfig['virtualHosts'][number], CompiledVirtualHost> {
  const out = new Map<GatewayConfig['virtualHosts'][number], CompiledVirtualHost>();
  previous.config.virtualHosts.forEach((vh, i) => {
    const c = previous.virtualHosts[i];
    if (c) out.set(vh, c);
  });
  return out;
}

/** Every extAuthz config object of the config (virtual hosts and routes), in order. */
function extAuthzConfigs(config: GatewayConfig): unknown[] {
  const out: unknown[] = [];
  for (const vh of config.virtualHosts) {
    if (vh.extAuthz) out.push(vh.extAuthz);
    for (const r of vh.routes) if (r.extAuthz) out.push(r.extAuthz);
  }
  return out;
}

function sameObjects(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Every cluster the virtual host's routes forward or mirror to is the very object `clusters` has under its name. */
function usesOnly(vh: CompiledVirtualHost, clusters: ReadonlyMap<string, Cluster>): boolean {
  for (const r of vh.routes) {
    if (r.action.kind !== 'forward') continue;
    for (const c of r.action.split.clusters) if (clusters.get(c.name) !== c) return false;
    if (r.action.mirror && clusters.get(r.action.mirror.cluster.name) !== r.action.mirror.cluster) return false;
  }
  return true;
}

/**
 * The previous generation's routes by virtual host and route name. Virtual hosts are compiled one
 * after the other, so only the one being compiled has its routes in a map: nothing the size of the
 * whole table lives through the compile (it would be copied through the young generation).
 */
function previousRoutes(previous: Generation | undefined): (virtualHost: string, route: string) => CompiledRoute | undefined {
  if (!previous) return () => undefined;
  const hosts = new Map<string, CompiledVirtualHost>();
  for (const vh of previous.virtualHosts) hosts.set(vh.name, vh);
  let current: string | null = null;
  const routes = new Map<string, CompiledRoute>();
  return (virtualHost, route) => {
    if (virtualHost !== current) {
      current = virtualHost;
      routes.clear();
      const vh = hosts.get(virtualHost);
      if (vh !== undefined) for (let i = 0; i < vh.routes.length; i++) routes.set(vh.routes[i]!.name, vh.routes[i]!);
    }
    return routes.get(route);
  };
}

/** The config file and every certificate, key and CA it names: a change to any of them reloads. */
/**
 * Every virtual host, in slices that leave the event loop to the requests (the current generation
 * serves meanwhile). Its own small function: the loop resumes after each slice, and inside
 * compile() those resumptions made the whole of compile() hot — V8 then optimised it on a
 * background thread for ~70 ms, which on a gateway pinned to one core is 70 ms taken from serving.
 */
async function compileVirtualHosts(
  list: GatewayConfig['virtualHosts'],
  clusters: ReadonlyMap<string, Cluster>,
  errors: ConfigError[],
  reusable: ReadonlyMap<unknown, CompiledVirtualHost> | null,
  origins: ConfigOrigins,
  shared: Omit<FilterDeps, 'origin'>,
): Promise<{ hosts: HostTable; virtualHosts: CompiledVirtualHost[] }> {
  const hosts = new HostTable();
  const virtualHosts: CompiledVirtualHost[] = [];
  const yielder = sliceYielder();
  const fromYaml = { ...shared, origin: 'yaml' } as const;
  const fromXds = { ...shared, origin: 'xds' } as const;
  for (let i = 0; i < list.length; i++) {
    const pause = yielder(); // a large table must not hold the event loop
    if (pause !== undefined) await pause;
    const vh = list[i]!;
    const deps = origins.virtualHosts.has(vh.name) ? fromXds : fromYaml;
    // The same virtual host object (an xDS virtual host that did not change) over the same clusters
    // and filter runtimes compiles to the same thing: take it over (its route stats carry on with it).
    const prev = reusable?.get(vh);
    const compiledHost =
      prev && prev.routes[0]?.origin === deps.origin && usesOnly(prev, clusters)
        ? prev
        : compileVirtualHost(vh, `virtualHosts[${i}]`, clusters, DEFAULT_ROUTE_TIMEOUT_MS, errors, deps);
    for (const d of vh.domains) hosts.add(d, compiledHost);
    virtualHosts.push(compiledHost);
  }
  return { hosts, virtualHosts };
}

export function collectFiles(config: GatewayConfig, configFile: string): string[] {
  const files = new Set<string>([configFile]);
  for (const l of config.listeners) for (const c of l.tls?.certificates ?? []) files.add(c.certFile).add(c.keyFile);
  for (const c of config.clusters) {
    if (c.tls?.certFile) files.add(c.tls.certFile);
    if (c.tls?.keyFile) files.add(c.tls.keyFile);
    if (c.tls?.caFile) files.add(c.tls.caFile);
  }
  for (const p of config.authn?.providers ?? []) {
    if (p.jwksFile) files.add(p.jwksFile);
    if (p.jwksCaFile) files.add(p.jwksCaFile);
  }
  if (config.authn?.internalToken) files.add(config.authn.internalToken.signingKeyFile);
  const x = config.xds?.tls;
  for (const f of [x?.caFile, x?.certFile, x?.keyFile]) if (f) files.add(f);
  for (const vh of config.virtualHosts) {
    for (const ea of [vh.extAuthz, ...vh.routes.map((r) => r.extAuthz)]) {
      const t = ea?.grpc?.tls;
      for (const f of [t?.caFile, t?.certFile, t?.keyFile]) if (f) files.add(f);
    }
  }
  return [...files];
}
