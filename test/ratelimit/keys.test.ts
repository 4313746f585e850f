import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Exchange, type GatewayRequest, type GatewayResponse } from '../../src/exchange.ts';
import type { ListenerView } from '../../src/runtime/generation.ts';
import { compileKey, MISSING, usesClaims } from '../../src/filters/ratelimit/keys.ts';
import { compileRateLimitFilters } from '../../src/filters/ratelimit/filter.ts';
import { RateLimits } from '../../src/filters/ratelimit/runtime.ts';
import type { Rejection } from '../../src/filters/filter.ts';
import type { RateLimitConfig, RouteConfig, VirtualHostConfig } from '../../src/config/schema.ts';

// Key builders and the claim-keyed phase, on Exchange objects built directly (claims are set by the
// authn filter in the real chain; here they are set by hand).

function exchange(o: { ip?: string; headers?: Record<string, string>; claims?: Record<string, unknown> | null }): Exchange {
  const req = { headers: o.headers ?? {}, method: 'GET', url: '/' } as unknown as GatewayRequest;
  const ex = new Exchange(req, {} as GatewayResponse, {} as ListenerView, 0);
  ex.clientIp = o.ip ?? '192.0.2.1';
  ex.claims = o.claims ?? null;
  return ex;
}

const route = { virtualHost: 'api', route: 'checkout' };

test('clientIp, header, route and claim parts', () => {
  assert.equal(compileKey('clientIp', route)(exchange({ ip: '198.51.100.7' })), '198.51.100.7');
  const hdr = compileKey('header:X-Api-Key', route);
  assert.equal(hdr(exchange({ headers: { 'x-api-key': 'k1' } })), 'k1', 'header names are matched lower-case');
  assert.equal(hdr(exchange({})), MISSING, 'a missing header is one shared bucket');
  assert.equal(compileKey('route', route)(exchange({})), 'api/checkout');
  const sub = compileKey('claim:sub', route);
  assert.equal(sub(exchange({ claims: { sub: 'alice' } })), 'alice');
  assert.equal(sub(exchange({ claims: { sub: 42 } })), '42');
  assert.equal(sub(exchange({ claims: null })), null, 'anonymous: skipped');
  assert.equal(sub(exchange({ claims: { email: 'x' } })), null, 'claim absent: skipped');
  const nested = compileKey('claim:org.id', route);
  assert.equal(nested(exchange({ claims: { org: { id: 'o-1' } } })), 'o-1');
  assert.equal(nested(exchange({ claims: { org: 'flat' } })), null);
  assert.equal(compileKey('claim:groups', route)(exchange({ claims: { groups: ['a', 'b'] } })), '["a","b"]');
});

test('composite keys are unambiguous and skip when a claim is missing', () => {
  const k = compileKey(['header:x-a', 'header:x-b'], route);
  const one = k(exchange({ headers: { 'x-a': 'a:b', 'x-b': 'c' } }));
  const two = k(exchange({ headers: { 'x-a': 'a', 'x-b': 'b:c' } }));
  assert.notEqual(one, two);
  const withClaim = compileKey(['clientIp', 'claim:sub'], route);
  assert.equal(withClaim(exchange({ claims: null })), null);
  assert.notEqual(withClaim(exchange({ claims: { sub: 'u' } })), withClaim(exchange({ ip: '192.0.2.9', claims: { sub: 'u' } })));
  assert.equal(usesClaims(['clientIp', 'claim:sub']), true);
  assert.equal(usesClaims('header:x'), false);
});

test('long values are hashed to a short key', () => {
  const k = compileKey('header:x-big', route);
  const a = k(exchange({ headers: { 'x-big': 'a'.repeat(10_000) } }))!;
  const b = k(exchange({ headers: { 'x-big': `${'a'.repeat(9_999)}b` } }))!;
  assert.ok(a.length < 100);
  assert.notEqual(a, b);
});

test('claim-keyed policies run after authn, the others before; users and header values are isolated', async () => {
  const cfg: RateLimitConfig = {
    store: 'memory',
    policies: [
      { name: 'per-user', key: 'claim:sub', limit: 1, window: 60_000, blockFor: 0 },
      { name: 'per-key', key: 'header:x-api-key', limit: 1, window: 60_000, blockFor: 0 },
    ],
  };
  const limits = await RateLimits.build(cfg, null);
  const vh = { name: 'api', domains: ['*'], routes: [] } as unknown as VirtualHostConfig;
  const r = { name: 'r', rateLimits: ['per-user', 'per-key'] } as unknown as RouteConfig;
  const { beforeAuthn, afterAuthn } = compileRateLimitFilters(limits, vh, r);
  assert.ok(beforeAuthn && afterAuthn);

  const run = async (f: typeof afterAuthn, ex: Exchange) => (await f.onRequest(ex)) as Rejection | undefined;
  // The same user is limited whatever header it sends; another user is not.
  assert.equal(await run(afterAuthn, exchange({ claims: { sub: 'alice' }, headers: { 'x-api-key': 'alice' } })), undefined);
  const refused = await run(afterAuthn, exchange({ claims: { sub: 'alice' } }));
  assert.equal(refused?.error.status, 429);
  assert.equal(refused?.headers?.['ratelimit-limit'], '1');
  assert.equal(await run(afterAuthn, exchange({ claims: { sub: 'bob' } })), undefined);
  // A header value equal to a user name has its own bucket in its own policy.
  assert.equal(await run(beforeAuthn, exchange({ headers: { 'x-api-key': 'alice' } })), undefined);
  assert.equal((await run(beforeAuthn, exchange({ headers: { 'x-api-key': 'alice' } })))?.error.status, 429);
  assert.equal(await run(beforeAuthn, exchange({ headers: { 'x-api-key': 'bob' } })), undefined);
  // Anonymous requests pass the claim phase without touching any bucket.
  assert.equal(afterAuthn.onRequest(exchange({ claims: null })), undefined, 'skipped synchronously, no promise');
});

test('a route without policies (or with rateLimits: []) gets no filter', async () => {
  const limits = await RateLimits.build({ store: 'memory', policies: [{ name: 'p', key: 'clientIp', limit: 1, window: 1000, blockFor: 0 }] }, null);
  const vh = { name: 'api', domains: ['*'], routes: [], rateLimits: ['p'] } as unknown as VirtualHostConfig;
  const off = compileRateLimitFilters(limits, vh, { name: 'r', rateLimits: [] } as unknown as RouteConfig);
  assert.equal(off.beforeAuthn, null);
  assert.equal(off.afterAuthn, null);
  const inherited = compileRateLimitFilters(limits, vh, { name: 'r' } as unknown as RouteConfig);
  assert.ok(inherited.beforeAuthn);
});
