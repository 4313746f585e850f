/**
 * Semantic checks on a config that already fits the schema: names are unique, references resolve,
 * files exist, listener combinations make sense. Every problem is collected, none stops the others.
 *
 * File paths were made absolute by the schema (against the process working directory), so the checks
 * here and the runtime read the same files.
 */
import { reach, compile as compileWalk } from './unsupported.ts';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatPath, type ConfigError, type PathSegment } from './errors.ts';
import { ACCESS_LOG_STREAMS, type ExtAuthzConfig, type GatewayConfig } from './schema.ts';

type Collect = (path: PathSegment[], message: string) => void;

export async function validateSemantics(cfg: GatewayConfig): Promise<ConfigError[]> {
  const errors: ConfigError[] = [];
  const add: Collect = (p, message) => errors.push({ path: formatPath(p), message });

  checkUniqueNames(cfg, add);
  checkAddresses(cfg, add);
  checkListeners(cfg, add);
  checkDomains(cfg, add);
  checkReferences(cfg, add);
  checkMisc(cfg, add);
  errors.push(...(await checkFiles(cfg)));
  return errors;
}

/** Report the second and later uses of a name. */
function unique<T>(items: readonly T[], key: (t: T) => string, base: PathSegment[], field: string, add: Collect, what = 'name') {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const k = key(item);
    const prev = first.get(k);
    if (prev === undefined) first.set(k, i);
    else add([...base, i, field], `duplicate ${what} "${k}" (also ${formatPath([...base, prev])})`);
  });
}

function checkUniqueNames(cfg: GatewayConfig, add: Collect) {
  unique(cfg.listeners, (l) => l.name, ['listeners'], 'name', add);
  unique(cfg.virtualHosts, (v) => v.name, ['virtualHosts'], 'name', add);
  cfg.virtualHosts.forEach((vh, v) => unique(vh.routes, (r) => r.name, ['virtualHosts', v, 'routes'], 'name', add));
  unique(cfg.clusters, (c) => c.name, ['clusters'], 'name', add);
  if (cfg.authn) unique(cfg.authn.providers, (p) => p.name, ['authn', 'providers'], 'name', add);
  if (cfg.rateLimit) unique(cfg.rateLimit.policies, (p) => p.name, ['rateLimit', 'policies'], 'name', add);
}

/** Two sockets of this process must not bind the same address. */
function checkAddresses(cfg: GatewayConfig, add: Collect) {
  const bound: Array<{ path: PathSegment[]; address: string }> = cfg.listeners.map((l, i) => ({
    path: ['listeners', i, 'address'],
    address: l.address,
  }));
  bound.push({ path: ['admin', 'address'], address: cfg.admin.address });
  if (cfg.grpcHealth) bound.push({ path: ['grpcHealth', 'address'], address: cfg.grpcHealth.address });
  const seen = new Map<string, PathSegment[]>();
  for (const b of bound) {
    const prev = seen.get(b.address);
    if (prev) add(b.path, `address ${b.address} is already used by ${formatPath(prev)}`);
    else seen.set(b.address, b.path);
  }
}

function checkListeners(cfg: GatewayConfig, add: Collect) {
  const anyTls = cfg.listeners.some((l) => l.tls !== undefined);
  cfg.listeners.forEach((l, i) => {
    if (l.tls && l.redirectToHttps) {
      add(['listeners', i, 'redirectToHttps'], 'only applies to a listener without tls');
    } else if (!l.tls && !l.redirectToHttps) {
      // Decision: a plain listener may only redirect to HTTPS for now.
      add(['listeners', i], 'plain HTTP (no tls) is not supported yet; add tls or set redirectToHttps: true');
    } else if (!l.tls && l.redirectToHttps && !anyTls) {
      add(['listeners', i, 'redirectToHttps'], 'needs a listener with tls to redirect to');
    }
  });
}

/** A domain may appear in one virtual host only (as in Envoy); compared case-insensitively. */
function checkDomains(cfg: GatewayConfig, add: Collect) {
  const owner = new Map<string, number>();
  cfg.virtualHosts.forEach((vh, v) => {
    vh.domains.forEach((d, j) => {
      const k = d.toLowerCase();
      const prev = owner.get(k);
      if (prev === undefined) owner.set(k, v);
      else if (prev === v) add(['virtualHosts', v, 'domains', j], `duplicate domain "${d}"`);
      else add(['virtualHosts', v, 'domains', j], `domain "${d}" is already used by ${formatPath(['virtualHosts', prev])}`);
    });
  });
}

function checkReferences(cfg: GatewayConfig, add: Collect) {
  const clusters = new Set(cfg.clusters.map((c) => c.name));
  const providers = new Set((cfg.authn?.providers ?? []).map((p) => p.name));
  const policies = new Set((cfg.rateLimit?.policies ?? []).map((p) => p.name));

  const cluster = (p: PathSegment[], n: string) => {
    if (!clusters.has(n)) add(p, `unknown cluster "${n}"`);
  };
  const authn = (p: PathSegment[], a: { providers?: string[] | undefined } | undefined) =>
    a?.providers?.forEach((n, k) => {
      if (!providers.has(n)) add([...p, 'providers', k], `unknown authn provider "${n}"`);
    });
  const limits = (p: PathSegment[], names: string[] | undefined) =>
    names?.forEach((n, k) => {
      if (!policies.has(n)) add([...p, k], `unknown rate limit policy "${n}"`);
    });

  cfg.virtualHosts.forEach((vh, v) => {
    const vp: PathSegment[] = ['virtualHosts', v];
    authn([...vp, 'authn'], vh.authn);
    limits([...vp, 'rateLimits'], vh.rateLimits);
    vh.routes.forEach((r, k) => {
      const rp: PathSegment[] = [...vp, 'routes', k];
      authn([...rp, 'authn'], r.authn);
      limits([...rp, 'rateLimits'], r.rateLimits);
      const a = r.route;
      if (!a) return;
      if (a.cluster !== undefined) cluster([...rp, 'route', 'cluster'], a.cluster);
      if (a.weightedClusters) {
        a.weightedClusters.forEach((w, j) => cluster([...rp, 'route', 'weightedClusters', j, 'cluster'], w.cluster));
        if (a.weightedClusters.reduce((sum, w) => sum + w.weight, 0) <= 0) {
          add([...rp, 'route', 'weightedClusters'], 'total weight must be above 0');
        }
      }
      if (a.mirror) cluster([...rp, 'route', 'mirror', 'cluster'], a.mirror.cluster);
    });
  });
}

function checkMisc(cfg: GatewayConfig, add: Collect) {
  if (cfg.rateLimit?.store === 'redis' && !cfg.rateLimit.redis) {
    add(['rateLimit', 'redis'], 'required when store is redis');
  }
  if (cfg.authn?.internalToken?.cache === 'redis' && !cfg.rateLimit?.redis) {
    add(['authn', 'internalToken', 'cache'], 'redis needs rateLimit.redis (the shared Redis connection)');
  }
  checkExtAuthz(cfg, add);
  cfg.clusters.forEach((c, i) => {
    if (c.discovery.type === 'eds' && !cfg.xds) {
      add(['clusters', i, 'discovery', 'type'], 'eds needs xds (the endpoints come from the xDS server)');
    }
    const lb = c.loadBalancer;
    if (lb.hashOn && lb.policy !== 'ring_hash' && lb.policy !== 'maglev') {
      add(['clusters', i, 'loadBalancer', 'hashOn'], 'only applies to ring_hash and maglev');
    }
  });
}

/** Every extAuthz of the config (virtual hosts and routes) with its path. */
function extAuthzConfigs(cfg: GatewayConfig): Array<{ path: PathSegment[]; ea: ExtAuthzConfig }> {
  const out: Array<{ path: PathSegment[]; ea: ExtAuthzConfig }> = [];
  cfg.virtualHosts.forEach((vh, v) => {
    if (vh.extAuthz) out.push({ path: ['virtualHosts', v, 'extAuthz'], ea: vh.extAuthz });
    vh.routes.forEach((r, k) => {
      if (r.extAuthz) out.push({ path: ['virtualHosts', v, 'routes', k, 'extAuthz'], ea: r.extAuthz });
    });
  });
  return out;
}

/** Context-extension keys the gateway fills itself (ext-authz/check-request.ts). */
const GATEWAY_CONTEXT_KEYS = new Set(['route', 'virtualHost']);

function checkExtAuthz(cfg: GatewayConfig, add: Collect) {
  // The body sent for authorization is read before the listener's body limit would apply to it.
  const tls = cfg.listeners.map((l, i) => ({ l, i })).filter(({ l }) => l.tls !== undefined);
  for (const { path, ea } of extAuthzConfigs(cfg)) {
    const max = ea.withRequestBody?.maxBytes;
    if (max !== undefined) {
      const smaller = tls.find(({ l }) => l.limits.maxBodyBytes < max);
      if (smaller) {
        add([...path, 'withRequestBody', 'maxBytes'], `must not exceed listeners[${smaller.i}].limits.maxBodyBytes (${smaller.l.limits.maxBodyBytes})`);
      }
    }
    for (const key of Object.keys(ea.contextExtensions ?? {})) {
      if (GATEWAY_CONTEXT_KEYS.has(key) || key.startsWith('claim.')) {
        add([...path, 'contextExtensions', key], 'is set by the gateway (route, virtualHost, claim.*)');
      }
    }
  }
}

// ───────────────────────────── files ─────────────────────────────

/** Every file the config names, with its path in the config. */
function fileRefs(cfg: GatewayConfig): Array<{ path: PathSegment[]; file: string }> {
  const refs: Array<{ path: PathSegment[]; file: string }> = [];
  const ref = (p: PathSegment[], file: string | undefined) => {
    if (file !== undefined) refs.push({ path: p, file });
  };
  cfg.listeners.forEach((l, i) =>
    l.tls?.certificates.forEach((c, j) => {
      ref(['listeners', i, 'tls', 'certificates', j, 'certFile'], c.certFile);
      ref(['listeners', i, 'tls', 'certificates', j, 'keyFile'], c.keyFile);
    }),
  );
  cfg.authn?.providers.forEach((p, i) => {
    ref(['authn', 'providers', i, 'jwksFile'], p.jwksFile);
    ref(['authn', 'providers', i, 'jwksCaFile'], p.jwksCaFile);
  });
  ref(['authn', 'internalToken', 'signingKeyFile'], cfg.authn?.internalToken?.signingKeyFile);
  cfg.clusters.forEach((c, i) => {
    ref(['clusters', i, 'tls', 'certFile'], c.tls?.certFile);
    ref(['clusters', i, 'tls', 'keyFile'], c.tls?.keyFile);
    ref(['clusters', i, 'tls', 'caFile'], c.tls?.caFile);
  });
  for (const { path, ea } of extAuthzConfigs(cfg)) {
    const t = ea.grpc?.tls;
    ref([...path, 'grpc', 'tls', 'caFile'], t?.caFile);
    ref([...path, 'grpc', 'tls', 'certFile'], t?.certFile);
    ref([...path, 'grpc', 'tls', 'keyFile'], t?.keyFile);
  }
  ref(['xds', 'tls', 'caFile'], cfg.xds?.tls?.caFile);
  ref(['xds', 'tls', 'certFile'], cfg.xds?.tls?.certFile);
  ref(['xds', 'tls', 'keyFile'], cfg.xds?.tls?.keyFile);
  return refs;
}

async function fileProblem(file: string): Promise<string | null> {
  try {
    const st = await stat(file);
    if (!st.isFile()) return 'not a regular file';
    await access(file, constants.R_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'file not found';
    if (code === 'EACCES' || code === 'EPERM') return 'file not readable';
    return `cannot read file (${code ?? String(e)})`;
  }
}

/** Where file names live in the config: walked on the raw tree when the schema failed elsewhere. */
const FILE_KEYS = [
  'listeners[].tls.certificates[].certFile',
  'listeners[].tls.certificates[].keyFile',
  'authn.providers[].jwksFile',
  'authn.providers[].jwksCaFile',
  'authn.internalToken.signingKeyFile',
  'clusters[].tls.certFile',
  'clusters[].tls.keyFile',
  'clusters[].tls.caFile',
  'xds.tls.caFile',
  'xds.tls.certFile',
  'xds.tls.keyFile',
  ...['virtualHosts[].extAuthz', 'virtualHosts[].routes[].extAuthz'].flatMap((at) =>
    ['caFile', 'certFile', 'keyFile'].map((f) => `${at}.grpc.tls.${f}`),
  ),
];

/**
 * File checks on a tree the schema rejected, so `path: file not found` is reported together with
 * the schema's errors (every error at once). Only string values are looked at.
 */
export async function checkFilesRaw(tree: unknown): Promise<ConfigError[]> {
  const checks: Promise<ConfigError | null>[] = [];
  for (const pattern of FILE_KEYS) {
    for (const hit of reach(tree, compileWalk(pattern))) {
      if (typeof hit.value !== 'string' || hit.value === '') continue;
      const where = formatPath(hit.path);
      checks.push(fileProblem(path.resolve(hit.value)).then((problem) => (problem === null ? null : { path: where, message: problem })));
    }
  }
  return (await Promise.all(checks)).filter((e): e is ConfigError => e !== null);
}

async function checkFiles(cfg: GatewayConfig): Promise<ConfigError[]> {
  const checks = fileRefs(cfg).map(async (r) => {
    const problem = await fileProblem(r.file);
    return problem === null ? null : { path: formatPath(r.path), message: problem };
  });
  // The access log is written, not read: only its directory has to exist.
  const log = cfg.accessLog.path;
  if (!(ACCESS_LOG_STREAMS as readonly string[]).includes(log)) {
    checks.push(
      stat(path.dirname(log)).then(
        (st) => (st.isDirectory() ? null : { path: 'accessLog.path', message: `${path.dirname(log)} is not a directory` }),
        () => ({ path: 'accessLog.path', message: `directory ${path.dirname(log)} not found` }),
      ),
    );
  }
  return (await Promise.all(checks)).filter((e): e is ConfigError => e !== null);
}
