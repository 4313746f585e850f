import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { burst, limitConfig, statuses } from './setup.ts';

// The memory store end to end: real TLS clients against an in-process gateway.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;

const RATE_LIMIT = `
  policies:
    - { name: host-ip, key: clientIp, limit: 1000, window: 1m }
    - { name: per-ip-10, key: clientIp, limit: 10, window: 1m }
    - { name: proxied, key: clientIp, limit: 5, window: 1m }
    - { name: short-window, key: clientIp, limit: 3, window: 1s }
    - { name: blocky, key: clientIp, limit: 2, window: 2s, blockFor: 30s }
    - { name: per-key, key: "header:x-api-key", limit: 3, window: 1m }
    - { name: loose, key: clientIp, limit: 50, window: 1m }
    - { name: tight, key: "header:x-api-key", limit: 2, window: 1m }
    - { name: per-route, key: route, limit: 2, window: 1m }
    - { name: composite, key: ["header:x-api-key", route], limit: 1, window: 1m }
    - { name: bursty, key: clientIp, limit: 2, window: 1m, burst: { limit: 2, window: 1m } }
    - { name: per-user, key: "claim:sub", limit: 1, window: 1m }`;

const ROUTES = `
      - { name: count, match: { path: /count }, rateLimits: [per-ip-10], directResponse: { status: 200, body: "ok" } }
      - { name: proxied, match: { prefix: /proxied }, rateLimits: [proxied], route: { cluster: backend } }
      - { name: window, match: { path: /window }, rateLimits: [short-window], directResponse: { status: 200, body: "ok" } }
      - { name: block, match: { path: /block }, rateLimits: [blocky], directResponse: { status: 200, body: "ok" } }
      - { name: hdr, match: { path: /hdr }, rateLimits: [per-key], directResponse: { status: 200, body: "ok" } }
      - { name: multi, match: { path: /multi }, rateLimits: [loose, tight], directResponse: { status: 200, body: "ok" } }
      - { name: route-a, match: { path: /route-a }, rateLimits: [per-route], directResponse: { status: 200, body: "ok" } }
      - { name: route-b, match: { path: /route-b }, rateLimits: [per-route], directResponse: { status: 200, body: "ok" } }
      - { name: comp-a, match: { path: /comp-a }, rateLimits: [composite], directResponse: { status: 200, body: "ok" } }
      - { name: comp-b, match: { path: /comp-b }, rateLimits: [composite], directResponse: { status: 200, body: "ok" } }
      - { name: bursty, match: { path: /bursty }, rateLimits: [bursty], directResponse: { status: 200, body: "ok" } }
      - { name: anon, match: { path: /anon }, rateLimits: [per-user], directResponse: { status: 200, body: "ok" } }
`;

function config(extraRoute = ''): string {
  return limitConfig(pki, { rateLimit: RATE_LIMIT, hostLimits: '[host-ip]', routes: ROUTES + extraRoute, upstream: up.address });
}

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  gw = await startGateway(config());
});
after(async () => {
  await gw.close();
  await up.close();
});

test('limit 10: ten pass with counting RateLimit headers, the 11th is 429 with Retry-After and the JSON body', async () => {
  const replies = await burst(pki, gw.httpsPort, '/count', 11);
  assert.deepEqual(statuses(replies), [...Array(10).fill(200), 429]);
  replies.slice(0, 10).forEach((r, i) => {
    assert.equal(r.headers['ratelimit-limit'], '10');
    assert.equal(r.headers['ratelimit-remaining'], String(9 - i));
    assert.equal(r.headers['ratelimit-policy'], '10;w=60');
    const reset = Number(r.headers['ratelimit-reset']);
    assert.ok(reset >= 1 && reset <= 60, `reset ${reset}`);
  });
  const refused = replies[10];
  const retry = Number(refused.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `retry-after ${retry}`);
  assert.equal(refused.headers['ratelimit-remaining'], '0');
  assert.equal(refused.headers['ratelimit-limit'], '10');
  assert.equal(refused.headers['ratelimit-reset'], String(retry));
  assert.equal(refused.headers['content-type'], 'application/json');
  const body = JSON.parse(refused.body);
  assert.equal(body.error, 'rate_limited');
  assert.equal(body.requestId, refused.headers['x-request-id']);
});

test('HTTP/2 answers carry the same headers; the 429 too', async () => {
  const r = await h2(pki, gw.httpsPort, '/count');
  assert.equal(r.status, 429, 'the same client address is already over the limit');
  assert.ok(Number(r.headers['retry-after']) >= 1);
  const ok = await h2(pki, gw.httpsPort, '/ping');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['ratelimit-limit'], '1000', 'the virtual host policy applies to routes without their own');
});

test('proxied responses carry the RateLimit headers; rateLimits: [] turns limits off', async () => {
  const r = await h1(pki, gw.httpsPort, '/proxied/x');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).url, '/proxied/x');
  assert.equal(r.headers['ratelimit-limit'], '5');
  assert.equal(r.headers['ratelimit-remaining'], '4');
  const open = await burst(pki, gw.httpsPort, '/open', 3);
  assert.deepEqual(statuses(open), [200, 200, 200]);
  assert.equal(open[0].headers['ratelimit-limit'], undefined);
});

test('the window resets: refused, then allowed again once the window has passed', async () => {
  // Hammer until refused (on a slow machine the first window may pass before 4 requests are done).
  await eventually(async () => (await h1(pki, gw.httpsPort, '/window')).status === 429, 'over the limit of 3 per 1s');
  await eventually(async () => (await h1(pki, gw.httpsPort, '/window')).status === 200, 'a new window');
});

test('blockFor keeps refusing after the window ended', async () => {
  const replies = await burst(pki, gw.httpsPort, '/block', 3);
  assert.deepEqual(statuses(replies), [200, 200, 429]);
  assert.equal(replies[2].headers['retry-after'], '30', 'the block, not the 2s window');
  await new Promise((r) => setTimeout(r, 2500)); // past the 2s window (the block lasts 30s)
  const later = await h1(pki, gw.httpsPort, '/block');
  assert.equal(later.status, 429);
  const retry = Number(later.headers['retry-after']);
  assert.ok(retry > 2 && retry <= 30, `retry-after ${retry}`);
});

test('header keys: each value has its own bucket; requests without the header share one', async () => {
  const a = await burst(pki, gw.httpsPort, '/hdr', 4, { 'x-api-key': 'alpha' });
  assert.deepEqual(statuses(a), [200, 200, 200, 429]);
  const b = await burst(pki, gw.httpsPort, '/hdr', 3, { 'x-api-key': 'beta' });
  assert.deepEqual(statuses(b), [200, 200, 200]);
  const none = await burst(pki, gw.httpsPort, '/hdr', 4);
  assert.deepEqual(statuses(none), [200, 200, 200, 429], 'no header: one shared bucket');
  assert.equal((await h1(pki, gw.httpsPort, '/hdr', { headers: { 'x-api-key': 'gamma' } })).status, 200);
});

test('several policies: the one closest to its limit is reported, and any refusal refuses', async () => {
  const h = { 'x-api-key': 'multi-1' };
  const first = await h1(pki, gw.httpsPort, '/multi', { headers: h });
  assert.equal(first.headers['ratelimit-limit'], '2');
  assert.equal(first.headers['ratelimit-remaining'], '1');
  assert.equal(first.headers['ratelimit-policy'], '2;w=60');
  const rest = await burst(pki, gw.httpsPort, '/multi', 2, h);
  assert.deepEqual(statuses(rest), [200, 429]);
  assert.equal(rest[1].headers['ratelimit-limit'], '2');
  const other = await h1(pki, gw.httpsPort, '/multi', { headers: { 'x-api-key': 'multi-2' } });
  assert.equal(other.status, 200);
  assert.equal(other.headers['ratelimit-limit'], '2', 'a fresh key: 1 of 2 left is still closer than 46 of 50');
});

test('route keys count per route; composite keys per (header, route)', async () => {
  assert.deepEqual(statuses(await burst(pki, gw.httpsPort, '/route-a', 3)), [200, 200, 429]);
  assert.deepEqual(statuses(await burst(pki, gw.httpsPort, '/route-b', 2)), [200, 200], 'route-b has its own bucket');
  assert.deepEqual(statuses(await burst(pki, gw.httpsPort, '/comp-a', 2, { 'x-api-key': 'k1' })), [200, 429]);
  assert.equal((await h1(pki, gw.httpsPort, '/comp-b', { headers: { 'x-api-key': 'k1' } })).status, 200);
  assert.equal((await h1(pki, gw.httpsPort, '/comp-a', { headers: { 'x-api-key': 'k2' } })).status, 200);
});

test('burst: extra requests on top of the sustained limit', async () => {
  const replies = await burst(pki, gw.httpsPort, '/bursty', 5);
  assert.deepEqual(statuses(replies), [200, 200, 200, 200, 429]);
  assert.equal(replies[2].headers['ratelimit-remaining'], '0', 'within the burst the sustained budget reads 0');
});

test('a claim-keyed policy skips anonymous requests (no claims) instead of failing', async () => {
  const replies = await burst(pki, gw.httpsPort, '/anon', 3);
  assert.deepEqual(statuses(replies), [200, 200, 200]);
  assert.equal(replies[0].headers['ratelimit-limit'], undefined);
});

test('a reload keeps the counters of unchanged policies', async () => {
  const before = await burst(pki, gw.httpsPort, '/route-b', 1);
  assert.equal(before[0].status, 429, 'route-b used its 2 above');
  gw.rewrite(config('      - { name: extra, match: { path: /extra }, directResponse: { status: 200, body: "x" } }\n'));
  const r = await gw.gw.reload('test');
  assert.equal(r.ok, true);
  assert.equal((await h1(pki, gw.httpsPort, '/extra')).status, 200, 'the new config serves');
  assert.equal((await h1(pki, gw.httpsPort, '/route-b')).status, 429, 'still counted after the reload');
  assert.equal((await h1(pki, gw.httpsPort, '/count')).status, 429);
});

test('metrics count allowed and limited requests by policy', async () => {
  const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
  const limited = /gatehouse_ratelimit_limited_total\{policy="per-ip-10"\} (\d+)/.exec(text);
  const allowed = /gatehouse_ratelimit_allowed_total\{policy="per-ip-10"\} (\d+)/.exec(text);
  assert.ok(limited && Number(limited[1]) >= 2, text);
  assert.ok(allowed && Number(allowed[1]) === 10, text);
});
