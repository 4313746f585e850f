import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { runCli } from '../helpers/process.ts';
import type { Explanation } from '../../src/admin/explain.ts';

// explain (CLI and admin GET /explain) against where requests really go: a table of requests is
// explained and then sent; the route explain names must be the route that served each one (the
// route tells itself in a response header). Also: the reasons (virtual host kind, failed
// conditions), the split and endpoints, GET /routes with origins, and the CLI's text and exit codes.

let pki: TestPki;
let a: TestUpstream;
let b: TestUpstream;
let gw: TestGateway;

/** A forward route that names itself in the response (x-route). */
function fwd(name: string, match: string, cluster: string, extra = ''): string {
  return `      - { name: ${name}, match: ${match}, route: { cluster: ${cluster}, responseHeaders: { set: { x-route: "%ROUTE_NAME%" } }${extra} } }`;
}

before(async () => {
  pki = await testPki();
  a = await startUpstream();
  b = await startUpstream();
  // More than 8 routes in "api": requests go through the segment index, explain walks every route.
  const fillers = Array.from({ length: 10 }, (_, i) => fwd(`filler-${i}`, `{ prefix: /filler${i}/ }`, 'a')).join('\n');
  gw = await startGateway(`
${gatewayPreamble(pki)}
virtualHosts:
  - name: api
    domains: ["api.example.com", "localhost"]
    routes:
      - name: canary
        match: { prefix: /checkout, headers: [{ name: x-canary, exact: "true" }] }
        route: { cluster: b, responseHeaders: { set: { x-route: "%ROUTE_NAME%" } } }
${fwd('checkout', '{ prefix: /checkout, methods: [GET, POST] }', 'a')}
${fwd('versioned', '{ regex: "/v[0-9]+/items/.*" }', 'a')}
${fwd('search', '{ path: /search, query: [{ name: q, present: true }] }', 'b')}
${fwd('internal', '{ prefix: /admin, headers: [{ name: x-internal, present: true, invert: true }] }', 'b')}
${fillers}
      - name: split
        match: { prefix: /split }
        route: { weightedClusters: [{ cluster: a, weight: 75 }, { cluster: b, weight: 25 }], responseHeaders: { set: { x-route: "%ROUTE_NAME%" } } }
  - name: wild
    domains: ["*.example.com"]
    routes:
${fwd('wild-all', '{ prefix: / }', 'b')}
  - name: fallback
    domains: ["*"]
    routes:
${fwd('only-ping', '{ path: /ping }', 'a')}
clusters:
  - { name: a, discovery: { type: static, endpoints: ["${a.address}"] } }
  - { name: b, discovery: { type: static, endpoints: ["${b.address}"] } }
`);
});
after(async () => {
  await gw.close();
  await a.close();
  await b.close();
});

async function explain(method: string, url: string, headers: Record<string, string> = {}): Promise<Explanation> {
  const q = new URLSearchParams({ method, url });
  for (const [k, v] of Object.entries(headers)) q.append('header', `${k}: ${v}`);
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/explain?${q}`);
  assert.equal(res.status, 200);
  return (await res.json()) as Explanation;
}

const TABLE: Array<{ method?: string; host: string; path: string; headers?: Record<string, string> }> = [
  { host: 'api.example.com', path: '/checkout/cart', headers: { 'x-canary': 'true' } },
  { host: 'api.example.com', path: '/checkout/cart', headers: { 'x-canary': 'false' } },
  { host: 'API.EXAMPLE.COM:8443', path: '/checkout' },
  { method: 'DELETE', host: 'api.example.com', path: '/checkout/cart' },
  { host: 'api.example.com', path: '/v2/items/42' },
  { host: 'api.example.com', path: '/vx/items/42' },
  { host: 'api.example.com', path: '/search?q=shoes' },
  { host: 'api.example.com', path: '/search?p=1' },
  { host: 'api.example.com', path: '/admin/users' },
  { host: 'api.example.com', path: '/admin/users', headers: { 'x-internal': '1' } },
  { host: 'api.example.com', path: '/filler7/x' },
  { host: 'api.example.com', path: '/filler7' },
  { host: 'api.example.com', path: '/public/../checkout/x' },
  { host: 'api.example.com', path: '/split/x' },
  { host: 'shop.example.com', path: '/anything' },
  { host: 'deep.shop.example.com', path: '/x' },
  { host: 'other.test', path: '/ping' },
  { host: 'other.test', path: '/nope' },
];

test('explain names the route each request of a table really takes', async () => {
  for (const row of TABLE) {
    const method = row.method ?? 'GET';
    const e = await explain(method, `https://${row.host}${row.path}`, row.headers);
    const real = await h1(pki, gw.httpsPort, row.path, { method, headers: { host: row.host, ...(row.headers ?? {}) } });
    const served = real.status === 404 ? null : String(real.headers['x-route']);
    const what = `${method} ${row.host}${row.path} ${JSON.stringify(row.headers ?? {})}`;
    assert.equal(e.route?.name ?? null, served, what);
    assert.equal(e.matched, served !== null, what);
    // The walk ends on the route taken (or covers every route when none matches).
    if (served !== null) assert.deepEqual(e.routes.at(-1), { name: served, origin: 'yaml', matched: true }, what);
  }
});

test('explain says why: virtual host by exact, suffix or wildcard domain; the first failed condition of each earlier route', async () => {
  const e = await explain('GET', 'https://api.example.com/checkout/cart', { 'x-canary': 'false' });
  assert.deepEqual(e.virtualHost, { name: 'api', matchedBy: 'exact', domain: 'api.example.com', domains: ['api.example.com', 'localhost'] });
  assert.deepEqual(e.routes[0], { name: 'canary', origin: 'yaml', matched: false, failed: 'header x-canary exact "true"', observed: '"false"' });
  assert.equal(e.routes[1].name, 'checkout');
  assert.equal(e.answer, 'forward to a');
  assert.equal((await explain('GET', 'https://deep.shop.example.com/x')).virtualHost?.matchedBy, 'suffix');
  assert.equal((await explain('GET', 'https://deep.shop.example.com/x')).virtualHost?.domain, '*.example.com');
  const none = await explain('GET', 'https://other.test/nope');
  assert.equal(none.virtualHost?.matchedBy, 'wildcard');
  assert.deepEqual(none.routes, [{ name: 'only-ping', origin: 'yaml', matched: false, failed: 'path /ping', observed: '/nope' }]);
  assert.equal(none.answer, '404 route_not_found (no route of "fallback" matches)');
  const del = await explain('DELETE', 'https://api.example.com/checkout/cart');
  assert.equal(del.routes.find((r) => r.name === 'checkout')?.failed, 'methods GET,POST');
  assert.equal(del.routes.find((r) => r.name === 'checkout')?.observed, 'DELETE');
  assert.equal((await explain('GET', 'https://api.example.com/a/../../checkout')).request.path, '/checkout');
});

test('explain answers 400 for an authority the listeners refuse, as they do', async () => {
  for (const host of ['user@api.example.com', 'api.example.com:8x']) {
    const e = await explain('GET', `https://${host}/checkout`);
    assert.equal(e.answer, `400 bad_request (the authority "${host}" is not host[:port])`);
    assert.equal(e.route, null);
    assert.equal((await h1(pki, gw.httpsPort, '/checkout', { headers: { host } })).status, 400, host);
  }
  const viaHeader = await explain('GET', 'https://api.example.com/checkout', { host: 'a b' });
  assert.match(viaHeader.answer, /^400 bad_request/);
});

test('explain shows the split weights and each cluster\'s endpoints with health', async () => {
  const e = await explain('GET', 'https://api.example.com/split/x?y=1');
  assert.equal(e.answer, 'forward to a (75%) or b (25%)');
  assert.deepEqual(
    e.clusters.map((c) => ({ name: c.name, percent: c.percent, endpoints: c.endpoints.map((x) => [x.address, x.healthy, x.ejected]) })),
    [
      { name: 'a', percent: 75, endpoints: [[a.address, true, false]] },
      { name: 'b', percent: 25, endpoints: [[b.address, true, false]] },
    ],
  );
  assert.equal(e.action?.upstreamPath, '/split/x?y=1');
  assert.equal(e.listener?.name, 'public');
});

test('GET /explain refuses a request without url; GET /routes lists compiled routes with their origin', async () => {
  assert.equal((await fetch(`http://127.0.0.1:${gw.adminPort}/explain?method=GET`)).status, 400);
  assert.equal((await fetch(`http://127.0.0.1:${gw.adminPort}/explain?url=ftp://x/`)).status, 400);
  const routes = (await (await fetch(`http://127.0.0.1:${gw.adminPort}/routes`)).json()) as {
    virtualHosts: Array<{ name: string; routes: Array<{ name: string; origin: string; match: string[]; action: { kind: string } }> }>;
  };
  const api = routes.virtualHosts.find((v) => v.name === 'api')!;
  assert.deepEqual(api.routes.slice(0, 2).map((r) => [r.name, r.origin, r.match]), [
    ['canary', 'yaml', ['prefix /checkout', 'header x-canary exact "true"']],
    ['checkout', 'yaml', ['prefix /checkout', 'methods GET,POST']],
  ]);
  assert.equal(routes.virtualHosts.flatMap((v) => v.routes).length, 18);
});

test('gatehouse explain prints the same answer as text, exit 0 on a match and 1 on none', async () => {
  const hit = await runCli(['explain', '--config', gw.configFile, '-H', 'x-canary: true', 'https://api.example.com/checkout/cart']);
  assert.equal(hit.code, 0, hit.stderr);
  assert.match(hit.stdout, /virtual host\s+api — exact domain "api\.example\.com"/);
  assert.match(hit.stdout, /MATCH canary/);
  assert.match(hit.stdout, /answer\s+forward to b/);
  const miss = await runCli(['explain', '--config', gw.configFile, '-X', 'POST', 'https://other.test/nope']);
  assert.equal(miss.code, 1, miss.stderr);
  assert.match(miss.stdout, /no\s+only-ping\s+path \/ping: got \/nope/);
  assert.match(miss.stdout, /404 route_not_found/);
  const json = await runCli(['explain', '--config', gw.configFile, '--json', 'https://api.example.com/split/x']);
  assert.equal(json.code, 0);
  assert.equal((JSON.parse(json.stdout) as Explanation).answer, 'forward to a (75%) or b (25%)');
  assert.equal((await runCli(['explain', '--config', gw.configFile])).code, 2, 'usage error without a URL');
});
