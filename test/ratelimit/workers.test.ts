import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { freePort } from '../helpers/net.ts';
import { h1, type Reply } from '../helpers/clients.ts';
import { limitConfig, statuses, writeConfig } from './setup.ts';
import { metric, spawnGateway, untilReady, type GatewayProcess } from '../helpers/process.ts';

// `--workers 2` with the memory store: the two workers count in the primary, so the machine holds
// one limit. Every request is on a new connection, so both workers serve some of them.

let pki: TestPki;
let gw: GatewayProcess;
let port: number;
let admin: number;

before(async () => {
  pki = await testPki();
  [port, admin] = await Promise.all([freePort(), freePort()]);
  const file = writeConfig(
    limitConfig(pki, {
      ports: { https: port, admin },
      rateLimit: `
  policies:
    - { name: machine, key: clientIp, limit: 10, window: 1m }`,
      routes: `
      - { name: who, match: { path: /who }, rateLimits: [machine], directResponse: { status: 200, body: "ok" } }
`,
    }),
  );
  // Both workers log that they serve; /readyz (answered by the primary) is 200 only once both are ready.
  gw = await spawnGateway(file, ['--workers', '2'], {}, 2);
  await untilReady(admin);
});
after(async () => {
  await gw?.kill();
});

test('--workers 2 with the memory store holds one limit for the machine', async () => {
  const replies: Reply[] = [];
  // In parallel pairs, on fresh connections, so the kernel spreads them over both workers.
  for (let i = 0; i < 7; i++) replies.push(...(await Promise.all([h1(pki, port, '/who'), h1(pki, port, '/who')])));
  const ok = replies.filter((r) => r.status === 200).length;
  assert.equal(ok, 10, `statuses ${statuses(replies).join(',')}`);
  assert.equal(replies.filter((r) => r.status === 429).length, 4);
  const remaining = replies.filter((r) => r.status === 200).map((r) => Number(r.headers['ratelimit-remaining'])).sort((x, y) => x - y);
  assert.deepEqual(remaining, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'one count: every allowed request saw a different remaining');

  // /metrics aggregates the workers' registries (the primary answers it): the 10 allowed requests,
  // wherever they were served, are counted once each.
  assert.equal(await metric(admin, 'gatehouse_ratelimit_allowed_total{policy="machine"}'), 10);
  assert.equal(await metric(admin, 'gatehouse_ratelimit_limited_total{policy="machine"}'), 4);
});
