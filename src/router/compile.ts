import type { VirtualHostConfig } from '../config/schema.ts';
import type { ConfigError } from '../config/load.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { RequestFilter } from '../filters/filter.ts';
import { compileRateLimitFilters } from '../filters/ratelimit/filter.ts';
import { RateLimits } from '../filters/ratelimit/runtime.ts';
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
function compileRouteFilters(vh: VirtualHostConfig, r: RouteConfig, rateLimits: RateLimits): RequestFilter[] | null {
  const filters: RequestFilter[] = [];
  const limits = compileRateLimitFilters(rateLimits, vh, r);
  if (limits.beforeAuthn) filters.push(limits.beforeAuthn); // clientIp / header / route keys
  // authn → authz go here
  if (limits.afterAuthn) filters.push(limits.afterAuthn); // claim keys
  return filters.length > 0 ? filters : null;
}

export function compileVirtualHost(
  vh: VirtualHostConfig,
  path: string,
  clusters: ReadonlyMap<string, Cluster>,
  defaultTimeoutMs: number,
  errors: ConfigError[],
  rateLimits: RateLimits = RateLimits.NONE,
): CompiledVirtualHost {
  const routes: CompiledRoute[] = [];
  for (const [i, r] of vh.routes.entries()) {
    const action = compileAction(r, `${path}.routes[${i}]`, clusters, defaultTimeoutMs, errors);
    if (!action) continue;
    const filters = compileRouteFilters(vh, r, rateLimits);
    routes.push(Object.freeze({ name: r.name, virtualHost: vh.name, matches: compilePathPredicate(r.match), filters, action }));
  }
  return Object.freeze({ name: vh.name, routes: Object.freeze(routes) });
}
