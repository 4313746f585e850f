import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { burst, limitConfig, statuses } from './setup.ts';

// clientIp keys use the one resolved client address: X-Forwarded-For counts only from a trusted
// proxy; from anyone else it is ignored, so forging it cannot buy a fresh bucket.

let pki: TestPki;
let trusting: TestGateway;
let plain: TestGateway;

const RATE_LIMIT = `
  policies:
    - { name: per-ip, key: clientIp, limit: 2, window: 1m }`;

before(async () => {
  pki = await testPki();
  trusting = await startGateway(
    limitConfig(pki, { rateLimit: RATE_LIMIT, hostLimits: '[per-ip]', listener: '    trustedProxies: { cidrs: ["127.0.0.0/8"] }' }),
  );
  plain = await startGateway(limitConfig(pki, { rateLimit: RATE_LIMIT, hostLimits: '[per-ip]' }));
});
after(async () => {
  await trusting.close();
  await plain.close();
});

test('behind a trusted proxy each forwarded client has its own bucket', async () => {
  const one = await burst(pki, trusting.httpsPort, '/ping', 3, { 'x-forwarded-for': '203.0.113.1' });
  assert.deepEqual(statuses(one), [200, 200, 429]);
  const two = await burst(pki, trusting.httpsPort, '/ping', 2, { 'x-forwarded-for': '198.51.100.1, 203.0.113.2' });
  assert.deepEqual(statuses(two), [200, 200], 'the right-most untrusted hop is the client');
});

test('from an untrusted peer a forged X-Forwarded-For does not change the bucket', async () => {
  const forged = [];
  for (let i = 1; i <= 3; i++) forged.push(...(await burst(pki, plain.httpsPort, '/ping', 1, { 'x-forwarded-for': `203.0.113.${i}` })));
  assert.deepEqual(statuses(forged), [200, 200, 429]);
});
