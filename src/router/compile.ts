import { sameData } from '../util/same-data.ts';
import type { VirtualHostConfig } from '../config/schema.ts';
import type { ConfigError } from '../config/load.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { RequestFilter } from '../filters/filter.ts';
import { compileRateLimitFilters } from '../filters/ratelimit/filter.ts';
import { RateLimits } from '../filters/ratelimit/runtime.ts';
import type { AuthnRuntime } from '../filters/authn/runtime.ts';
import type { ExtAuthzRuntime } from '../filters/ext-authz/runtime.ts';
import { compileAuthz } from '../filters/authz/filter.ts';
import { compileFaultFilter } from '../filters/fault/fault-filter.ts';
import { compileHeaderMutation } from '../proxy/header-mutations.ts';
import { compileRetryPolicy } from '../proxy/retry-policy.ts';
import type { ConfigOrigin } from '../config/merge.ts';
import type { ClusterChoice, CompiledRoute, CompiledVirtualHost, ForwardAction, RouteAction, RouteRequest } from './types.ts';
import { allOf, compileConditions } from './match.ts';
import { RouteStats } from '../observability/request-stats.ts';
import { RouteIndex } from './route-index.ts';
import { jsonStringBytes } from '../util/json-ascii.ts';
import { compilePrefixRewrite } from './rewrite.ts';
import { compileStickyKey, describeSticky, SingleCluster, WeightedSplit } from './split.ts';

// Compiles a virtual host's routes once per generation: predicates into closures, the route list into
// an index, actions into ready objects (split tables, rewrites, header edits, retry policy), filters
// into a chain. Nothing here runs per request.

type RouteConfig = VirtualHostConfig['routes'][number];

function compileSplit(
  a: NonNullable<RouteConfig['route']>,
  path: string,
  clusters: ReadonlyMap<string, Cluster>,
  errors: ConfigError[],
): ClusterChoice | null {
  if (a.cluster !== undefined) {
    const cluster = clusters.get(a.cluster);
    if (!cluster) {
      errors.push({ path: `${path}.cluster`, message: `unknown cluster "${a.cluster}"` });
      return null;
    }
    return SingleCluster.of(cluster);
  }
  const entries: Array<{ cluster: Cluster; weight: number }> = [];
  let ok = true;
  (a.weightedClusters ?? []).forEach((w, i) => {
    const cluster = clusters.get(w.cluster);
    if (!cluster) {
      errors.push({ path: `${path}.weightedClusters[${i}].cluster`, message: `unknown cluster "${w.cluster}"` });
      ok = false;
    } else entries.push({ cluster, weight: w.weight });
  });
  if (!ok) return null;
  if (entries.reduce((s, e) => s + e.weight, 0) <= 0) {
    errors.push({ path: `${path}.weightedClusters`, message: 'total weight must be above 0' });
    return null;
  }
  return new WeightedSplit(entries, a.stickyOn ? compileStickyKey(a.stickyOn) : null, a.stickyOn ? describeSticky(a.stickyOn) : null);
}

function compileForward(
  route: RouteConfig,
  path: string,
  clusters: ReadonlyMap<string, Cluster>,
  errors: ConfigError[],
): ForwardAction | null {
  const a = route.route!;
  const ap = `${path}.route`;
  const before = errors.length;
  const split = compileSplit(a, ap, clusters, errors);
  let mirror = null;
  if (a.mirror) {
    const cluster = clusters.get(a.mirror.cluster);
    if (!cluster) errors.push({ path: `${ap}.mirror.cluster`, message: `unknown cluster "${a.mirror.cluster}"` });
    else mirror = Object.freeze({ cluster, percent: a.mirror.percent });
  }
  let rewritePath = null;
  if (a.prefixRewrite !== undefined) {
    const matched = route.match.prefix ?? route.match.path;
    if (matched === undefined) errors.push({ path: `${ap}.prefixRewrite`, message: 'needs a prefix or path match (not regex)' });
    else rewritePath = compilePrefixRewrite(matched, a.prefixRewrite);
  }
  const requestHeaders = compileHeaderMutation(a.requestHeaders, `${ap}.requestHeaders`, 'request', errors);
  const responseHeaders = compileHeaderMutation(a.responseHeaders, `${ap}.responseHeaders`, 'response', errors);
  if (errors.length > before || split === null) return null;
  return Object.freeze({
    kind: 'forward',
    split,
    timeoutMs: a.timeout,
    rewritePath,
    hostRewrite: a.hostRewrite ?? null,
    retry: compileRetryPolicy(a.retries),
    requestHeaders,
    responseHeaders,
    websocket: a.websocket,
    mirror,
  });
}

function compileAction(
  route: RouteConfig,
  path: string,
  clusters: ReadonlyMap<string, Cluster>,
  errors: ConfigError[],
): RouteAction | null {
  if (route.directResponse) {
    const d = route.directResponse;
    return { kind: 'direct', status: d.status, body: Buffer.from(d.body ?? ''), contentType: 'text/plain; charset=utf-8' };
  }
  if (route.redirect) {
    const r = route.redirect;
    return { kind: 'redirect', status: r.status, to: r.to, absolute: !r.to.startsWith('/') };
  }
  return compileForward(route, path, clusters, errors);
}

/**
 * The route's filter chain, in the order the SPEC implies: IP-keyed rate limits (cheap, before any
 * token work) → authn → authz → ext_authz → claim-keyed rate limits → internal token → fault injection.
 * Each concern adds its filter here.
 */
function compileRouteFilters(vh: VirtualHostConfig, r: RouteConfig, deps: FilterDeps): RequestFilter[] | null {
  const filters: RequestFilter[] = [];
  const limits = compileRateLimitFilters(deps.rateLimits ?? RateLimits.NONE, vh, r);
  if (limits.beforeAuthn) filters.push(limits.beforeAuthn); // clientIp / header / route keys: before any token work
  // A route's authn/authz, when given, replaces its virtual host's (SPEC "Precise semantics").
  const authn = r.authn ?? vh.authn;
  if (authn && deps.authn) filters.push(deps.authn.filterFor(authn));
  else if (deps.authn?.guard) filters.push(deps.authn.guard); // no authn: still drop spoofed identity headers
  const authz = compileAuthz(r.authz ?? vh.authz);
  if (authz) filters.push(authz);
  // External authorization: the route's (null turns the host's off), else the host's.
  const extAuthz = r.extAuthz === null ? undefined : (r.extAuthz ?? vh.extAuthz);
  const ext = extAuthz && deps.extAuthz ? deps.extAuthz.filterFor(extAuthz, vh.name, r.name) : null;
  if (ext) filters.push(ext);
  if (limits.afterAuthn) filters.push(limits.afterAuthn); // claim keys: need the verified claims
  if (deps.authn?.internalTokenFilter) filters.push(deps.authn.internalTokenFilter); // minted last: only for admitted requests
  // Fault injection last: only traffic that would have been forwarded is delayed or aborted.
  const fault = compileFaultFilter(r.route?.fault);
  if (fault) filters.push(fault);
  return filters.length > 0 ? filters : null;
}

/** The per-generation runtimes a route's filters are built from. */
export interface FilterDeps {
  readonly authn?: AuthnRuntime;
  readonly rateLimits?: RateLimits;
  /** Where the virtual host came from (default yaml): shown by the admin API on each route. */
  readonly origin?: ConfigOrigin;
  readonly extAuthz?: ExtAuthzRuntime;
  /**
   * The route of the same virtual host and name in the previous generation: its counters carry on
   * across a reload (default: fresh stats), and its compiled match when the match did not change.
   */
  readonly previousRoute?: (virtualHost: string, route: string) => CompiledRoute | undefined;
}

const NO_DESTINATIONS: readonly Cluster[] = Object.freeze([]);

/** Clusters a route's action can send to (for its stats cells). */
function destinations(action: RouteAction): readonly Cluster[] {
  return action.kind === 'forward' ? action.split.clusters : NO_DESTINATIONS;
}

export function compileVirtualHost(
  vh: VirtualHostConfig,
  path: string,
  clusters: ReadonlyMap<string, Cluster>,
  // The route timeout default lives in the schema (15s); kept for the caller's signature.
  _defaultTimeoutMs: number,
  errors: ConfigError[],
  deps: FilterDeps = {},
): CompiledVirtualHost {
  const routes: CompiledRoute[] = [];
  const matches: RouteConfig['match'][] = [];
  const origin = deps.origin ?? 'yaml';
  const list = vh.routes;
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    const action = compileAction(r, `${path}.routes[${i}]`, clusters, errors);
    if (!action) continue;
    const filters = compileRouteFilters(vh, r, deps);
    // The route of the same name in the previous generation: its stats carry on, and when its match
    // is the same (a push that changed weights, timeouts or headers) so do its compiled predicates.
    const prev = deps.previousRoute?.(vh.name, r.name);
    const sameMatch = prev !== undefined && (prev.matchConfig === r.match || sameData(prev.matchConfig, r.match));
    const conditions = sameMatch ? prev.conditions : Object.freeze(compileConditions(r.match));
    const stats = (prev?.stats ?? new RouteStats(vh.name, r.name)).expect(destinations(action));
    routes.push(
      Object.freeze({
        name: r.name,
        nameJson: prev?.name === r.name ? prev.nameJson : jsonStringBytes(r.name),
        virtualHost: vh.name,
        origin,
        order: routes.length,
        matchConfig: sameMatch ? prev.matchConfig : r.match,
        matches: sameMatch ? prev.matches : allOf(conditions),
        conditions,
        stats,
        filters,
        action,
      }),
    );
    matches.push(r.match);
  }
  const index = RouteIndex.build(routes, matches);
  return Object.freeze({
    name: vh.name,
    domains: Object.freeze([...vh.domains]),
    routes: Object.freeze(routes),
    match: (r: RouteRequest) => index.match(r),
  });
}
