import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { freePort, eventually } from '../helpers/net.ts';
import { h1, type Reply } from '../helpers/clients.ts';
import { burst, limitConfig, statuses, writeConfig } from './setup.ts';
import { metric, spawnGateway, untilReady, type GatewayProcess } from '../helpers/process.ts';

// The Redis store: a real redis-server on a free port, one gateway in this process (A) and one in
// a child process (B), both counting in the same Redis.

let pki: TestPki;
let redis: TestRedis;
let probe: Redis;
let a: TestGateway;
let b: GatewayProcess;
let bPort: number;
let bAdmin: number;

const PREFIX = 'gh-test:';

function config(ports?: { https: number; admin: number }): string {
  return limitConfig(pki, {
    ports,
    rateLimit: `
  store: redis
  redis: { url: "${redis.url}", keyPrefix: "${PREFIX}", fallbackDivisor: 2 }
  policies:
    - { name: shared, key: "header:x-k", limit: 10, window: 1m }
    - { name: short, key: "header:x-k", limit: 2, window: 1s }`,
    routes: `
      - { name: shared, match: { path: /shared }, rateLimits: [shared], directResponse: { status: 200, body: "ok" } }
      - { name: short, match: { path: /short }, rateLimits: [short], directResponse: { status: 200, body: "ok" } }
`,
  });
}

before(async () => {
  pki = await testPki();
  redis = await startRedis();
  probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  probe.on('error', () => undefined);
  a = await startGateway(config());
  [bPort, bAdmin] = await Promise.all([freePort(), freePort()]);
  b = await spawnGateway(writeConfig(config({ https: bPort, admin: bAdmin })));
  await untilReady(bAdmin);
});
after(async () => {
  await b?.kill();
  await a?.close();
  probe?.disconnect();
  await redis?.stop();
});

test('limit 10 in Redis: the 11th is 429, and the count lives in Redis', async () => {
  const replies = await burst(pki, a.httpsPort, '/shared', 11, { 'x-k': 'solo' });
  assert.deepEqual(statuses(replies), [...Array(10).fill(200), 429]);
  assert.equal(replies[9].headers['ratelimit-remaining'], '0');
  assert.ok(Number(replies[10].headers['retry-after']) >= 1);
  assert.equal(await probe.get(`${PREFIX}rl:shared:s:solo`), '11');
});

test('two gateway processes sharing one Redis enforce one combined limit', async () => {
  const replies: Reply[] = [];
  for (let i = 0; i < 12; i++) replies.push(await h1(pki, i % 2 === 0 ? a.httpsPort : bPort, '/shared', { headers: { 'x-k': 'both' } }));
  assert.deepEqual(statuses(replies), [...Array(10).fill(200), 429, 429]);
  assert.equal(replies[9].headers['ratelimit-remaining'], '0', 'the 10th (on B) saw the 9 counted before it, from both');
});

test('the Redis window resets', async () => {
  await eventually(async () => (await h1(pki, a.httpsPort, '/short', { headers: { 'x-k': 'w' } })).status === 429, 'over 2 per 1s');
  await eventually(async () => (await h1(pki, bPort, '/short', { headers: { 'x-k': 'w' } })).status === 200, 'a new Redis window');
});

test('a reload keeps the Redis connection and the limiters', async () => {
  const before = a.gw.current!.rateLimits;
  assert.deepEqual(statuses(await burst(pki, a.httpsPort, '/shared', 3, { 'x-k': 'reload' })), [200, 200, 200]);
  a.rewrite(config().replace('- { name: ping,', '- { name: added, match: { path: /added }, directResponse: { status: 204 } }\n      - { name: ping,'));
  assert.equal((await a.gw.reload('test')).ok, true);
  const after = a.gw.current!.rateLimits;
  assert.notEqual(after, before, 'a new generation');
  assert.equal(after.redis, before.redis, 'the same Redis connection');
  assert.equal(after.policy('shared'), before.policy('shared'), 'the same limiter');
  assert.equal((await h1(pki, a.httpsPort, '/added')).status, 204);
  const r = await h1(pki, a.httpsPort, '/shared', { headers: { 'x-k': 'reload' } });
  assert.equal(r.headers['ratelimit-remaining'], '6', 'counting went on');
});

test('Redis killed: limiting goes on from each process memory share, no 5xx, one log line; it recovers by itself', async () => {
  await redis.stop();
  // fallbackDivisor 2: each process enforces ceil(10 / 2) = 5 on its own.
  const duringA = await burst(pki, a.httpsPort, '/shared', 7, { 'x-k': 'outage' });
  assert.deepEqual(statuses(duringA), [200, 200, 200, 200, 200, 429, 429]);
  const duringB = await burst(pki, bPort, '/shared', 7, { 'x-k': 'outage' });
  assert.deepEqual(statuses(duringB), [200, 200, 200, 200, 200, 429, 429]);
  assert.equal(await metric(bAdmin, 'gatehouse_ratelimit_redis_up'), 0);
  assert.ok(((await metric(bAdmin, 'gatehouse_ratelimit_fallback_total{policy="shared"}')) ?? 0) >= 7);
  // the child's log reaches us through a pipe: wait for it, then count
  const unreachable = () => b.stderr().split('\n').filter((l) => l.includes('rate-limit Redis unreachable'));
  await eventually(() => unreachable().length > 0, 'the outage is logged');
  assert.equal(unreachable().length, 1, 'one log line per outage, not one per request');

  await redis.restart();
  await eventually(async () => (await metric(bAdmin, 'gatehouse_ratelimit_redis_up')) === 1, 'B reconnected');
  await eventually(async () => (await h1(pki, a.httpsPort, '/shared', { headers: { 'x-k': 'after' } })).status === 200 && (await probe.get(`${PREFIX}rl:shared:s:after`)) !== null, 'A counts in Redis again');
  const r = await h1(pki, bPort, '/shared', { headers: { 'x-k': 'after-b' } });
  assert.equal(r.status, 200);
  assert.equal(await probe.get(`${PREFIX}rl:shared:s:after-b`), '1', 'B counts in Redis again');
  await eventually(() => b.stderr().includes('rate-limit Redis reachable again'), 'the recovery is logged');
});
