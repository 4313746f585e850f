import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.ts';
import { formatConfigError } from '../../src/config/errors.ts';
import { testPki, type TestPki } from '../helpers/pki.ts';

let pki: TestPki;
before(async () => {
  pki = await testPki();
});

// The rate-limit part of the config: shapes accepted and refused with their paths.

function yaml(rateLimit: string, hostLimits = '[per-ip]'): string {
  return `
listeners:
  - name: public
    address: 127.0.0.1:8443
    tls:
      certificates: [{ certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')} }]
rateLimit:
${rateLimit}
virtualHosts:
  - name: api
    domains: ["*"]
    rateLimits: ${hostLimits}
    routes:
      - { name: ping, match: { path: /ping }, rateLimits: [], directResponse: { status: 200 } }
`;
}

async function errors(text: string): Promise<string[]> {
  const r = await loadConfigText(text);
  return r.ok ? [] : r.errors.map(formatConfigError);
}

test('policies with composite keys, blockFor and burst are accepted (no longer "not supported yet")', async () => {
  const r = await loadConfigText(
    yaml(`
  store: memory
  policies:
    - { name: per-ip, key: clientIp, limit: 100, window: 1s }
    - { name: per-user, key: "claim:sub", limit: 1000, window: 1m }
    - { name: per-key, key: "header:x-api-key", limit: 50, window: 1s, blockFor: 10s }
    - { name: combo, key: [clientIp, route, "claim:org.id"], limit: 5, window: 250ms, burst: { limit: 10, window: 1m } }`),
  );
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  const combo = r.config.rateLimit!.policies[3];
  assert.deepEqual(combo.key, ['clientIp', 'route', 'claim:org.id']);
  assert.equal(combo.window, 250);
  assert.deepEqual(combo.burst, { limit: 10, window: 60_000 });
  assert.equal(r.config.rateLimit!.policies[2].blockFor, 10_000);
});

test('bad keys, repeated key parts and unknown policy names are refused with their paths', async () => {
  const errs = await errors(
    yaml(
      `
  policies:
    - { name: per-ip, key: ip, limit: 1, window: 1s }
    - { name: dup, key: [clientIp, clientIp], limit: 1, window: 1s }`,
      '[per-ip, nope]',
    ),
  );
  assert.ok(errs.some((e) => e.startsWith('rateLimit.policies[0].key')), errs.join('\n'));
  assert.ok(errs.some((e) => e.startsWith('rateLimit.policies[1].key') && e.includes('twice')), errs.join('\n'));
});

test('store: redis needs whole-second windows and a redis block; fallbackDivisor defaults to 1', async () => {
  const errs = await errors(
    yaml(`
  store: redis
  redis: { url: "redis://127.0.0.1:6379" }
  policies:
    - { name: per-ip, key: clientIp, limit: 1, window: 1500ms, blockFor: 250ms, burst: { limit: 1, window: 2s } }`),
  );
  assert.ok(errs.includes('rateLimit.policies[0].window: must be whole seconds with store: redis'), errs.join('\n'));
  assert.ok(errs.includes('rateLimit.policies[0].blockFor: must be whole seconds with store: redis'), errs.join('\n'));
  assert.equal(errs.length, 2, errs.join('\n'));
  const noRedis = await errors(yaml(`
  store: redis
  policies:
    - { name: per-ip, key: clientIp, limit: 1, window: 1s }`));
  assert.deepEqual(noRedis, ['rateLimit.redis: required when store is redis']);
  const ok = await loadConfigText(yaml(`
  store: redis
  redis: { url: "redis://127.0.0.1:6379" }
  policies:
    - { name: per-ip, key: clientIp, limit: 1, window: 2s }`));
  assert.ok(ok.ok);
  assert.equal(ok.config.rateLimit!.redis!.fallbackDivisor, 1);
  assert.equal(ok.config.rateLimit!.redis!.keyPrefix, 'gatehouse:');
});
