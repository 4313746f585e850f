import type { IncomingHttpHeaders } from 'node:http';
import type { Cluster } from '../upstream/cluster.ts';
import type { RequestFilter } from '../filters/filter.ts';
import type { HeaderMutation } from '../proxy/header-mutations.ts';
import type { RetryPolicy } from '../proxy/retry-policy.ts';
import type { ConfigOrigin } from '../config/merge.ts';
import type { RouteStats } from '../observability/request-stats.ts';
import type { RouteCondition } from './match.ts';
import type { RouteMatchConfig } from '../config/schema.ts';

// Compiled routing objects: built once per generation by router/compile.ts, read per request.

/** What a split reads to find a sticky key; the Exchange fits it. */
export interface StickySource {
  readonly req: { readonly headers: IncomingHttpHeaders };
  readonly claims: Record<string, unknown> | null;
  readonly clientIp: string;
}

/** Chooses the route's cluster (one cluster, or a weighted split). Choosing an endpoint is upstream/'s job. */
export interface ClusterChoice {
  choose(src: StickySource): Cluster;
  /** Every cluster this choice can return (for the admin view and tests). */
  readonly clusters: readonly Cluster[];
  /** The weight of each of `clusters` (1 for a single cluster). */
  readonly weights: readonly number[];
  /** What a sticky split hashes on (`cookie session`, …), or null. */
  readonly sticky: string | null;
}

export interface MirrorPolicy {
  readonly cluster: Cluster;
  /** 0–100. */
  readonly percent: number;
}

export interface ForwardAction {
  readonly kind: 'forward';
  readonly split: ClusterChoice;
  /** Whole-request timeout across every try (0: none). */
  readonly timeoutMs: number;
  /** The upstream path for a normalised request path (prefixRewrite), or null when unchanged. */
  readonly rewritePath: ((path: string) => string) | null;
  readonly hostRewrite: string | null;
  readonly retry: RetryPolicy | null;
  readonly requestHeaders: HeaderMutation | null;
  readonly responseHeaders: HeaderMutation | null;
  readonly websocket: boolean;
  readonly mirror: MirrorPolicy | null;
}

export type RouteAction =
  | ForwardAction
  | { readonly kind: 'direct'; readonly status: number; readonly body: Buffer; readonly contentType: string }
  | {
      readonly kind: 'redirect';
      readonly status: number;
      /** A path (starts with '/'): replaces the path, keeps query/scheme/host. Else an absolute URL. */
      readonly to: string;
      readonly absolute: boolean;
    };

/** What a route predicate reads of a request. */
export interface RouteRequest {
  /** Normalised path, without the query. */
  readonly path: string;
  readonly method: string;
  /** Request headers, names lower-case (node's parsed headers). */
  readonly headers: IncomingHttpHeaders;
  /** Value of the first query parameter `name` (percent-decoded), or undefined when absent. */
  queryParam(name: string): string | undefined;
}

export interface CompiledRoute {
  readonly name: string;
  /** The name as a JSON string's bytes, for the access log (observability/access-line.ts). */
  readonly nameJson: Uint8Array;
  readonly virtualHost: string;
  /** Where the route came from: the YAML file or an xDS RouteConfiguration. */
  readonly origin: ConfigOrigin;
  /** Position in the virtual host: first match wins, so lower wins. */
  readonly order: number;
  /** The `match` it was compiled from (a reload with an equal one keeps `matches` and `conditions`). */
  readonly matchConfig: RouteMatchConfig;
  /** Every predicate of the route's `match` (path, methods, headers, query). */
  matches(r: RouteRequest): boolean;
  /** The same predicates one by one, named: what `explain` walks (router/explain.ts). */
  readonly conditions: readonly RouteCondition[];
  /** The route's request counters and duration histogram (observability/request-stats.ts). */
  readonly stats: RouteStats;
  /** Filters run before the action, in order (rate limit by IP → authn → authz → ext_authz → other limits → fault); null when none. */
  readonly filters: readonly RequestFilter[] | null;
  readonly action: RouteAction;
}

export interface CompiledVirtualHost {
  readonly name: string;
  /** Its domains as configured (exact, `*.suffix`, `*`). */
  readonly domains: readonly string[];
  readonly routes: readonly CompiledRoute[];
  /** The first route that matches, or null. Indexed: does not scan every route of a large host. */
  match(r: RouteRequest): CompiledRoute | null;
}
