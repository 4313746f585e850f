import { gatehouseService } from '../services/gatehouse.ts';
import { redisService } from '../services/redis.ts';
import type { RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// Issue 5, "Benchmark": a route with a (never reached) memory limit ≥ 95% of the same route without;
// with the Redis store, report the ratio.
//
// Two gatehouse processes, each with two routes to the same upstream that differ only by
// `rateLimits`: /open (none) and /limited (`rateLimits: [never]`, a clientIp policy of 10⁹
// requests per second — every request is counted, none is refused; the client is always
// 127.0.0.1, so every request counts on the same key). One process uses the memory store, the other
// the Redis store on a throwaway redis-server (bench/services/redis.ts): every request is one
// round trip to Redis (rate-limiter-flexible's Lua INCR + PEXPIRE).
//   ratelimit-off     GET /open on the memory-store process (no filter)
//   ratelimit-memory  GET /limited, memory store
//   ratelimit-redis   GET /limited, Redis store

const POLICY = `  policies:
    - { name: never, key: clientIp, limit: 1000000000, window: 1s }
`;

const routes = () => `      - { name: open, match: { prefix: /open }, route: { cluster: upstream, timeout: 10s } }
      - { name: limited, match: { prefix: /limited }, rateLimits: [never], route: { cluster: upstream, timeout: 10s } }`;

export const services: ServiceDef[] = [
  redisService,
  gatehouseService({
    id: 'gatehouse-ratelimit-memory',
    title: 'gatehouse → plain upstream, /open and /limited (memory store, limit never reached)',
    upstream: 'upstream-plain',
    mtls: false,
    extraRoutes: routes,
    extraTopLevel: () => `rateLimit:\n  store: memory\n${POLICY}`,
  }),
  gatehouseService({
    id: 'gatehouse-ratelimit-redis',
    title: 'gatehouse → plain upstream, /limited with the Redis store (limit never reached)',
    upstream: 'upstream-plain',
    mtls: false,
    needs: ['redis'],
    extraRoutes: routes,
    extraTopLevel: (_ctx, deps) => `rateLimit:\n  store: redis\n  redis: { url: ${JSON.stringify(deps.redis!.origin)}, keyPrefix: "bench:" }\n${POLICY}`,
  }),
];

const common = { system: 'gatehouse', protocol: 'http1' as const, rounds: 3, durationS: 5 };

export const scenarios: Scenario[] = [
  { id: 'ratelimit-off', title: 'gatehouse, route without a rate limit (/open), TLS → plain', sut: 'gatehouse-ratelimit-memory', path: '/open', ...common },
  { id: 'ratelimit-memory', title: 'gatehouse, route with a memory rate limit (never reached)', sut: 'gatehouse-ratelimit-memory', path: '/limited', ...common },
  { id: 'ratelimit-redis', title: 'gatehouse, route with a Redis rate limit (never reached)', sut: 'gatehouse-ratelimit-redis', path: '/limited', ...common },
];

export const ratios: RatioDef[] = [
  { id: 'ratelimit-memory-vs-off', title: 'memory rate limit ÷ no rate limit', numerator: 'ratelimit-memory', denominator: 'ratelimit-off', target: { min: 0.95, source: 'issue 5' } },
  { id: 'ratelimit-redis-vs-off', title: 'Redis rate limit ÷ no rate limit', numerator: 'ratelimit-redis', denominator: 'ratelimit-off' },
];
