import type { Cluster } from '../upstream/cluster.ts';
import type { RequestFilter } from '../filters/filter.ts';

// Compiled routing objects: built once per generation by router/compile.ts, read per request.

export type RouteAction =
  | { readonly kind: 'forward'; readonly cluster: Cluster; readonly timeoutMs: number }
  | { readonly kind: 'direct'; readonly status: number; readonly body: Buffer; readonly contentType: string }
  | {
      readonly kind: 'redirect';
      readonly status: number;
      /** A path (starts with '/'): replaces the path, keeps query/scheme/host. Else an absolute URL. */
      readonly to: string;
      readonly absolute: boolean;
    };

export interface RouteRequest {
  /** Normalised path, without the query. */
  readonly path: string;
  readonly method: string;
}

export interface CompiledRoute {
  readonly name: string;
  readonly virtualHost: string;
  /** Path predicate; the other predicates (methods, headers, query) come with the routing issue. */
  matches(r: RouteRequest): boolean;
  /** Filters run before the action, in order (rate limit by IP → authn → authz → other limits); null when none. */
  readonly filters: readonly RequestFilter[] | null;
  readonly action: RouteAction;
}

export interface CompiledVirtualHost {
  readonly name: string;
  readonly routes: readonly CompiledRoute[];
}
