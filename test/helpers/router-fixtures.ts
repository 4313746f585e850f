import { virtualHostSchema } from '../../src/config/schema.ts';
import { compileVirtualHost } from '../../src/router/compile.ts';
import { RouteInput } from '../../src/router/match.ts';
import type { CompiledVirtualHost } from '../../src/router/types.ts';
import type { ConfigError } from '../../src/config/load.ts';
import { Cluster } from '../../src/upstream/cluster.ts';
import { RoundRobinBalancer } from '../../src/upstream/balancers/round-robin.ts';

// Compiles virtual hosts from plain config objects, for router unit tests (no sockets needed to test
// a pure function; the traffic tests cover the same paths through the real gateway).

export function fakeClusters(...names: string[]): Map<string, Cluster> {
  return new Map(
    names.map((n) => [n, new Cluster(n, n, { balancer: new RoundRobinBalancer(), pool: { tls: null, connectTimeoutMs: 1000, maxConnections: null, http2: false } })]),
  );
}

export function compileHost(
  routes: unknown[],
  clusters = fakeClusters('a', 'b', 'c'),
): { vhost: CompiledVirtualHost; errors: ConfigError[] } {
  const vh = virtualHostSchema.parse({ name: 'test', domains: ['*'], routes });
  const errors: ConfigError[] = [];
  return { vhost: compileVirtualHost(vh, 'virtualHosts[0]', clusters, 15_000, errors), errors };
}

export interface Req {
  path: string;
  method?: string;
  headers?: Record<string, string>;
  query?: string;
}

export function routeFor(vhost: CompiledVirtualHost, r: Req): string | null {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  return vhost.match(new RouteInput(r.path, r.method ?? 'GET', headers, r.query ?? ''))?.name ?? null;
}
