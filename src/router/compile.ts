import type { VirtualHostConfig } from '../config/schema.ts';
import type { ConfigError } from '../config/load.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { RequestFilter } from '../filters/filter.ts';
import { compileRateLimitFilters } from '../filters/ratelimit/filter.ts';
import { RateLimits } from '../filters/ratelimit/runtime.ts';
import type { AuthnRuntime } from '../filters/authn/runtime.ts';
import { compileAuthz } from '../filters/authz/filter.ts';
import type { CompiledRoute, CompiledVirtualHost, RouteAction, RouteRequest } from './types.ts';

// Compiles a virtual host's routes into predicate closures and actions, once per generation.

type RouteConfig = VirtualHostConfig['routes'][number];

function compilePathPredicate(match: RouteConfig['match']): (r: RouteRequest) => boolean {
  if (match.path !== undefined) {
    const exact = match.path;
    return (r) => r.path === exact;
  }
  const prefix = match.prefix ?? '/';
  if (prefix === '/') return () => true;
  return (r) => r.path.startsWith(prefix);
}

function compileAction(
  route: RouteConfig,
  path: string,
  clusters: ReadonlyMap<string, Cluster>,
  defaultTimeoutMs: number,
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
  const a = route.route!;
  const cluster = a.cluster !== undefined ? clusters.get(a.cluster) : undefined;
  if (!cluster) {
    errors.push({ path: `${path}.route.cluster`, message: `unknown cluster "${a.cluster}"` });
    return null;
  }
  return { kind: 'forward', cluster, timeoutMs: a.timeout ?? defaultTimeoutMs };
}

/**
 * The route's filter chain, in the order the SPEC implies: IP-keyed rate limits (cheap, before any
 * token work) → authn → authz → claim-keyed rate limits. Each concern adds its filter here.
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
  if (limits.afterAuthn) filters.push(limits.afterAuthn); // claim keys: need the verified claims
  if (deps.authn?.internalTokenFilter) filters.push(deps.authn.internalTokenFilter); // minted last: only for admitted requests
  return filters.length > 0 ? filters : null;
}

/** Compiled per-generation objects route filters are built from. */
/** The per-generation runtimes a route's filters are built from. */
export interface FilterDeps {
  readonly authn?: AuthnRuntime;
  readonly rateLimits?: RateLimits;
}

export function compileVirtualHost(
  vh: VirtualHostConfig,
  path: string,
  clusters: ReadonlyMap<string, Cluster>,
  defaultTimeoutMs: number,
  errors: ConfigError[],
  deps: FilterDeps = {},
): CompiledVirtualHost {
  const routes: CompiledRoute[] = [];
  for (const [i, r] of vh.routes.entries()) {
    const action = compileAction(r, `${path}.routes[${i}]`, clusters, defaultTimeoutMs, errors);
    if (!action) continue;
    const filters = compileRouteFilters(vh, r, deps);
    routes.push(Object.freeze({ name: r.name, virtualHost: vh.name, matches: compilePathPredicate(r.match), filters, action }));
  }
  return Object.freeze({ name: vh.name, routes: Object.freeze(routes) });
}
