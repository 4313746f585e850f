import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from '../../src/runtime/workers/backoff.ts';
import { aggregateHealth } from '../../src/runtime/workers/health-aggregate.ts';
import { adminAllowed } from '../../src/admin/auth.ts';
import { buildAdmin } from '../../src/admin/server.ts';
import type { AdminState } from '../../src/admin/state.ts';
import type { HealthSnapshot, ServingStatus } from '../../src/health/health-statuses.ts';

// The pure parts of --workers and admin access: restart backoff, group health, the token rule.

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

  it('the admin API applies it (a request from 10.0.0.5, as a kubelet or a stranger would send)', async () => {
    const state: AdminState = {
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
    };
    const app = buildAdmin(state, 's3cret');
    const from = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, remoteAddress: '10.0.0.5', headers });
    assert.equal((await from('/readyz')).statusCode, 200);
    assert.equal((await from('/healthz')).statusCode, 200);
    assert.equal((await from('/config')).statusCode, 401);
    assert.equal((await from('/metrics')).statusCode, 401);
    assert.equal((await from('/config', { authorization: 'Bearer s3cret' })).statusCode, 200);
    await app.close();
  });
});
