import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { RestartBackoff } from '../../src/runtime/workers/backoff.ts';
import { aggregateHealth } from '../../src/runtime/workers/health-aggregate.ts';
import { mergeStats } from '../../src/admin/stats-merge.ts';
import { adminAllowed } from '../../src/admin/auth.ts';
import { buildAdmin } from '../../src/admin/server.ts';
import type { AdminState } from '../../src/admin/state.ts';
import type { HealthSnapshot, ServingStatus } from '../../src/health/health-statuses.ts';

// The pure parts of --workers and admin access: restart backoff, group health, the group's /stats, the token
// rule, the admin API's lazily loaded schema compilers.

const snap = (o: Record<string, ServingStatus>): HealthSnapshot => new Map(Object.entries(o));

describe('RestartBackoff', () => {
  it('replaces a long-lived worker at once, then doubles for quick deaths up to the ceiling, and resets', () => {
    const b = new RestartBackoff({ baseMs: 100, maxMs: 1000, stableMs: 5000 });
    assert.equal(b.next(60_000), 0);
    assert.deepEqual([b.next(10), b.next(10), b.next(10), b.next(10), b.next(10), b.next(10)], [100, 200, 400, 800, 1000, 1000]);
    assert.equal(b.next(5000), 0, 'a worker that stayed up resets the count');
    assert.equal(b.next(10), 100);
  });
});

describe('aggregateHealth', () => {
  const up = snap({ '': 'SERVING', 'cluster:a': 'SERVING' });
  it('"" is SERVING only when every expected worker is', () => {
    assert.equal(aggregateHealth([up, up], 2, false).get(''), 'SERVING');
    assert.equal(aggregateHealth([up], 2, false).get(''), 'NOT_SERVING', 'a slot without a live worker');
    assert.equal(aggregateHealth([up, snap({ '': 'NOT_SERVING' })], 2, false).get(''), 'NOT_SERVING');
    assert.equal(aggregateHealth([up, up], 2, true).get(''), 'NOT_SERVING', 'draining');
  });
  it('a cluster is known when any worker knows it, SERVING when all that know it agree', () => {
    const b = snap({ '': 'SERVING', 'cluster:a': 'NOT_SERVING', 'cluster:b': 'SERVING' });
    const h = aggregateHealth([up, b], 2, false);
    assert.deepEqual(Object.fromEntries(h), { '': 'SERVING', 'cluster:a': 'NOT_SERVING', 'cluster:b': 'SERVING' });
    assert.equal(aggregateHealth([b, up], 2, false).get('cluster:a'), 'NOT_SERVING', 'order does not matter');
    assert.equal(aggregateHealth([up, up], 2, true).get('cluster:a'), 'NOT_SERVING');
  });
});

describe('admin access', () => {
  it('the token is needed from outside loopback, except for the probes', () => {
    assert.equal(adminAllowed('/config', '10.0.0.5', undefined, undefined), true, 'no token configured');
    assert.equal(adminAllowed('/config', '127.0.0.1', undefined, 't0k'), true);
    assert.equal(adminAllowed('/config', '::ffff:127.0.0.1', undefined, 't0k'), true);
    assert.equal(adminAllowed('/config', '10.0.0.5', undefined, 't0k'), false);
    assert.equal(adminAllowed('/config', '10.0.0.5', 'Bearer wrong', 't0k'), false);
    assert.equal(adminAllowed('/config', '10.0.0.5', 'Bearer t0k', 't0k'), true);
    assert.equal(adminAllowed('/readyz', '10.0.0.5', undefined, 't0k'), true);
    assert.equal(adminAllowed('/healthz', '10.0.0.5', undefined, 't0k'), true);
    assert.equal(adminAllowed('/readyz/', '10.0.0.5', undefined, 't0k'), false, 'only the exact probe paths');
  });

  const adminState = (): AdminState => ({
    current: null,
    ready: true,
    draining: false,
    inflight: 0,
    lastReloadError: null,
    routes: () => [],
    clusters: () => [],
    listenerStats: () => [],
    certificates: () => [],
    configVersion: () => 0,
    lastReloadOk: () => true,
    overloaded: false,
  });

  it('the admin API applies it (a request from 10.0.0.5, as a kubelet or a stranger would send)', async () => {
    const app = buildAdmin(adminState(), 's3cret');
    const from = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, remoteAddress: '10.0.0.5', headers });
    assert.equal((await from('/readyz')).statusCode, 200);
    assert.equal((await from('/healthz')).statusCode, 200);
    assert.equal((await from('/config')).statusCode, 401);
    assert.equal((await from('/metrics')).statusCode, 401);
    assert.equal((await from('/config', { authorization: 'Bearer s3cret' })).statusCode, 200);
    await app.close();
  });

  it('fastify\'s JSON-schema compilers (ajv) load only when a route declares a schema', async () => {
    const ajvLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/ajv/'));
    const app = buildAdmin(adminState(), undefined);
    assert.equal((await app.inject({ method: 'GET', url: '/config' })).statusCode, 200);
    assert.equal(ajvLoaded(), false, 'the admin API declares no schema: ajv stays unloaded');
    await app.close();

    const withSchema = buildAdmin(adminState(), undefined);
    withSchema.get('/probe', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } }, async () => ({ ok: true }));
    assert.equal((await withSchema.inject({ method: 'GET', url: '/probe?n=x' })).statusCode, 400, 'validated once a schema appears');
    assert.equal((await withSchema.inject({ method: 'GET', url: '/probe?n=3' })).statusCode, 200);
    assert.equal(ajvLoaded(), true);
    await withSchema.close();
  });
});

describe('mergeStats (the group /stats under --workers)', () => {
  const worker = (o: { requests: number; ejected: boolean; healthy: boolean; limited: number; version?: number }) => ({
    time: 1000 + o.requests,
    version: o.version ?? 3,
    ready: true,
    draining: false,
    inflight: 1,
    lastReloadError: null,
    listeners: [{ name: 'public', address: '127.0.0.1:8443', connections: { 'http/1.1': 2, h2: 1 }, activeRequests: { 'http/1.1': 1, h2: 0 }, requests: o.requests }],
    routes: [
      {
        virtualHost: 'main', name: 'all', action: 'forward',
        split: [{ cluster: 'v1', weight: 90, percent: 90 }, { cluster: 'v2', weight: 10, percent: 10 }],
        requests: o.requests, errors: 1, byClass: { '1xx': 0, '2xx': o.requests - 1, '3xx': 0, '4xx': 0, '5xx': 1, none: 0 },
        byCluster: [{ cluster: 'v1', requests: o.requests - 2, errors: 1 }, { cluster: 'v2', requests: 2, errors: 0 }],
      },
    ],
    unrouted: { requests: 3, errors: 0, byClass: { '4xx': 3 } },
    clusters: [
      {
        name: 'v1', policy: 'round_robin', panic: false, inflight: 1, pending: 0, requests: o.requests, errors: 1, byClass: { '2xx': o.requests - 1, '5xx': 1 },
        endpoints: [{ address: '10.0.0.1:8080', weight: 5, priority: 0, healthy: o.healthy, ejected: o.ejected, serving: !o.ejected, active: 1, timesEjected: o.ejected ? 1 : 0 }],
      },
    ],
    rateLimits: [{ policy: 'per-ip', allowed: 10, limited: o.limited }],
  });

  it('sums the counters, keeps config values, and is strict about endpoint state', () => {
    const m = mergeStats([worker({ requests: 12, ejected: false, healthy: true, limited: 1 }), worker({ requests: 8, ejected: true, healthy: true, limited: 2, version: 4 })]) as any;
    assert.equal(m.workers, 2);
    assert.equal(m.version, 3, 'the first worker\'s config version, not a sum');
    assert.equal(m.time, 1012);
    assert.equal(m.inflight, 2);
    assert.deepEqual(m.listeners[0].connections, { 'http/1.1': 4, h2: 2 });
    assert.equal(m.listeners[0].requests, 20);
    const r = m.routes[0];
    assert.equal(r.requests, 20);
    assert.equal(r.byClass['2xx'], 18);
    assert.deepEqual(r.byCluster, [{ cluster: 'v1', requests: 16, errors: 2 }, { cluster: 'v2', requests: 4, errors: 0 }]);
    assert.deepEqual(r.split.map((x: any) => x.weight), [90, 10], 'split weights are config, not counters');
    assert.equal(m.unrouted.requests, 6);
    const c = m.clusters[0];
    assert.equal(c.requests, 20);
    assert.equal(c.byClass['5xx'], 2);
    assert.equal(c.endpoints[0].weight, 5);
    assert.equal(c.endpoints[0].ejected, true, 'ejected by one worker: shown ejected');
    assert.equal(c.endpoints[0].serving, false);
    assert.equal(c.endpoints[0].timesEjected, 1);
    assert.deepEqual(m.rateLimits, [{ policy: 'per-ip', allowed: 20, limited: 3 }]);
  });

  it('one worker: its own numbers', () => {
    const one = worker({ requests: 5, ejected: false, healthy: true, limited: 0 });
    const m = mergeStats([one]) as any;
    assert.equal(m.routes[0].requests, 5);
    assert.equal(m.workers, 1);
    assert.throws(() => mergeStats([]), /no worker/);
  });
});
