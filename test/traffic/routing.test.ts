import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { testPki, type TestPki } from '../helpers/pki.ts';
import type { TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { idUpstream, keepAliveRequest, staticCluster, trafficConfig } from '../helpers/traffic.ts';

// Matching, splits, rewrites, header edits and path normalisation through the real gateway.

let pki: TestPki;
let v1: TestUpstream;
let v2: TestUpstream;
let gw: TestGateway;
let agent: https.Agent;

const routes = `
      - name: canary-by-header
        match: { prefix: /checkout, headers: [{ name: x-canary, exact: "true" }] }
        route: { cluster: v2, prefixRewrite: / }
      - name: checkout
        match: { prefix: /checkout }
        route:
          weightedClusters: [{ cluster: v1, weight: 90 }, { cluster: v2, weight: 10 }]
          stickyOn: { cookie: session }
          prefixRewrite: /
      - name: rw
        match: { prefix: /rw/ }
        route:
          cluster: v1
          prefixRewrite: /v2
          hostRewrite: internal.example
          requestHeaders:
            set: { x-set: "fixed", x-vars: "ip=%CLIENT_IP% id=%REQUEST_ID% route=%ROUTE_NAME% pct=100%%" }
            add: { x-add: "added" }
            remove: [x-remove-me]
          responseHeaders:
            set: { x-resp-set: "%ROUTE_NAME%" }
            add: { x-multi: "two" }
            remove: [x-upstream-secret]
      - { name: by-method, match: { prefix: /m, methods: [POST] }, route: { cluster: v2 } }
      - { name: by-query, match: { prefix: /q, query: [{ name: debug, exact: "1" }] }, route: { cluster: v2 } }
      - { name: by-regex, match: { regex: "/items/[0-9]+" }, route: { cluster: v2 } }
      - { name: by-header-regex, match: { prefix: /h, headers: [{ name: x-env, regex: "prod-[a-z]+" }] }, route: { cluster: v2 } }
      - { name: public, match: { prefix: /public }, route: { cluster: v1 } }
      - { name: admin, match: { prefix: /admin }, route: { cluster: v2 } }
      - { name: rest, match: { prefix: / }, route: { cluster: v1 } }`;

before(async () => {
  pki = await testPki();
  [v1, v2] = await Promise.all([idUpstream('v1'), idUpstream('v2')]);
  gw = await startGateway(trafficConfig(pki, { routes, clusters: staticCluster('v1', [v1.address]) + staticCluster('v2', [v2.address]) }));
  agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
});
after(async () => {
  agent.destroy();
  await gw.close();
  await Promise.all([v1.close(), v2.close()]);
});

async function get(path: string, o: { method?: string; headers?: Record<string, string> } = {}) {
  const r = await keepAliveRequest(pki, agent, gw.httpsPort, path, o);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return { r, body: JSON.parse(r.body) as { id: string; url: string; headers: Record<string, string> } };
}

test('matchers through the gateway: method, query, whole-path regex, header regex', async () => {
  assert.equal((await get('/m', { method: 'POST' })).body.id, 'v2');
  assert.equal((await get('/m')).body.id, 'v1', 'GET falls through to the catch-all');
  assert.equal((await get('/q?x=1&debug=1')).body.id, 'v2');
  assert.equal((await get('/q?debug=0')).body.id, 'v1');
  assert.equal((await get('/items/42')).body.id, 'v2');
  assert.equal((await get('/items/42/x')).body.id, 'v1', 'the regex must match the whole path');
  assert.equal((await get('/h', { headers: { 'X-Env': 'prod-eu' } })).body.id, 'v2');
  assert.equal((await get('/h', { headers: { 'x-env': 'prod-EU' } })).body.id, 'v1');
});

test('header override by route order: x-canary: true always reaches v2', async () => {
  for (let i = 0; i < 10; i++) {
    const { body } = await get(`/checkout/cart`, { headers: { 'x-canary': 'true', cookie: `session=u${i}` } });
    assert.equal(body.id, 'v2');
    assert.equal(body.url, '/cart');
  }
});

test('90/10 split end to end; a session cookie sticks to one version', async () => {
  const counts = { v1: 0, v2: 0 } as Record<string, number>;
  for (let i = 0; i < 200; i++) counts[(await get('/checkout')).body.id]++;
  // p = 0.1, n = 200: mean 20, σ ≈ 4.2; [3, 50] is beyond ±6σ, and both versions must appear.
  assert.ok(counts.v2 >= 3 && counts.v2 <= 50, JSON.stringify(counts));

  const byUser = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let u = 0; u < 40; u++) {
      const { body } = await get('/checkout/x', { headers: { cookie: `a=b; session=user-${u}` } });
      const prev = byUser.get(`user-${u}`);
      if (prev !== undefined) assert.equal(body.id, prev, `user-${u} must stay on ${prev}`);
      byUser.set(`user-${u}`, body.id);
    }
  }
  assert.ok([...byUser.values()].includes('v1'));
});

test('prefixRewrite, hostRewrite and request/response header operations are seen at a real upstream', async () => {
  const { r, body } = await get('/rw/x/y?q=1', {
    headers: { 'x-request-id': 'req-123', 'x-set': 'from-client', 'x-add': 'from-client', 'x-remove-me': 'secret' },
  });
  const h = body.headers;
  assert.equal(body.url, '/v2/x/y?q=1');
  assert.equal(h.host, 'internal.example');
  assert.equal(h['x-forwarded-host'], `localhost:${gw.httpsPort}`, 'the original authority is kept in x-forwarded-host');
  assert.equal(h['x-set'], 'fixed', 'set replaces the client value');
  assert.equal(h['x-add'], 'from-client, added', 'add appends');
  assert.equal(h['x-remove-me'], undefined);
  assert.equal(h['x-vars'], 'ip=127.0.0.1 id=req-123 route=rw pct=100%');
  assert.equal(r.headers['x-resp-set'], 'rw');
  assert.equal(r.headers['x-upstream-secret'], undefined);
  assert.equal(r.headers['x-multi'], 'one, two');

  // prefixRewrite on the canary route: /checkout → /
  const root = await get('/checkout', { headers: { 'x-canary': 'true' } });
  assert.equal(root.body.url, '/');
});

test('path normalisation: dot segments, encoded dots and double slashes cannot escape a prefix route', async () => {
  for (const raw of ['/public/../admin/x', '/public/%2e%2e/admin/x', '/public/%2E%2E/admin/x', '/public//..//admin/x']) {
    const { body } = await get(raw);
    assert.equal(body.id, 'v2', `${raw} is /admin/x, routed to admin`);
    assert.equal(body.url, '/admin/x', `${raw} reaches the upstream normalised`);
  }
  const dbl = await get('//public///a');
  assert.equal(dbl.body.url, '/public/a');
  // An encoded slash stays encoded and opaque: it is part of a segment, not a separator.
  const enc = await get('/public%2F..%2Fadmin');
  assert.equal(enc.body.id, 'v1');
  assert.equal(enc.body.url, '/public%2F..%2Fadmin');
  const bad = await h1(pki, gw.httpsPort, '/a%zz');
  assert.equal(bad.status, 400);
});

test('HTTP/2 requests are routed the same way', async () => {
  const r = await h2(pki, gw.httpsPort, '/checkout/z', { headers: { 'x-canary': 'true' } });
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).id, 'v2');
  const nr = await h2(pki, gw.httpsPort, '/public/../admin', {});
  assert.equal(JSON.parse(nr.body).url, '/admin');
});
