import type { IncomingHttpHeaders } from 'node:http';
import type { HostTable } from './host-table.ts';
import { firstFailure, RouteInput } from './match.ts';
import { normalizePath, withoutFragment } from './normalize-path.ts';
import type { CompiledRoute, CompiledVirtualHost } from './types.ts';

// The routing half of `explain`: for a request (authority, target, method, headers), the virtual
// host and why, each route tried in order with the first condition it failed, and the route taken.
// It runs the live generation's own objects — the host table's lookup in tracing mode, each route's
// own compiled conditions, and the indexed matcher requests really use — so it cannot drift from
// where requests go. (The index only skips routes that cannot match; the walk here shows them all.)

export interface RouteAttempt {
  readonly route: CompiledRoute;
  /** null when the route matched; else the first condition that failed and what it saw. */
  readonly failed: { readonly condition: string; readonly observed: string } | null;
}

export interface RoutingExplanation {
  /** The path as routing sees it (normalised), or null when the target is refused (400). */
  readonly path: string | null;
  readonly query: string;
  readonly virtualHost: { readonly vhost: CompiledVirtualHost; readonly how: 'exact' | 'suffix' | 'wildcard'; readonly domain: string } | null;
  /** Routes in order, up to and including the one taken. */
  readonly tried: readonly RouteAttempt[];
  /** The route requests with this head take (the real, indexed matcher's answer). */
  readonly route: CompiledRoute | null;
}

export function explainRouting(hosts: HostTable, authority: string, rawTarget: string, method: string, headers: IncomingHttpHeaders): RoutingExplanation {
  const target = withoutFragment(rawTarget);
  const q = target.indexOf('?');
  const query = q === -1 ? '' : target.slice(q);
  const path = target.startsWith('/') ? normalizePath(q === -1 ? target : target.slice(0, q)) : null;
  if (path === null) return { path: null, query, virtualHost: null, tried: [], route: null };
  const choice = hosts.explain(authority);
  if (choice === null) return { path, query, virtualHost: null, tried: [], route: null };
  const input = new RouteInput(path, method, headers, query);
  const route = choice.vhost.match(input);
  const tried: RouteAttempt[] = [];
  for (const r of choice.vhost.routes) {
    const failed = firstFailure(r.conditions, input);
    tried.push({ route: r, failed: failed === null ? null : { condition: failed.describe, observed: failed.observed(input) } });
    if (failed === null || r === route) break;
  }
  return { path, query, virtualHost: choice, tried, route };
}
