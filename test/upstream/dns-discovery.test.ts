import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startDnsmasq, type TestDnsmasq } from '../helpers/dnsmasq.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { clusterState, get, meshConfig, metricValue, named } from './setup.ts';

// DNS discovery against a real dnsmasq on a loopback port (custom resolver `dns.servers` with a
// port): SRV priorities and weights, A records, and the last good endpoints kept while DNS is down.

let pki: TestPki;
let a: TestUpstream;
let b: TestUpstream;
let c: TestUpstream;
let dns: TestDnsmasq;
let gw: TestGateway;
let closedPort: number;

before(async () => {
  pki = await testPki();
  [a, b, c] = await Promise.all([startUpstream({ handler: named('a') }), startUpstream({ handler: named('b') }), startUpstream({ handler: named('c') })]);
  closedPort = await freePort();
  dns = await startDnsmasq({
    srv: [
      { name: '_http._tcp.weights.test', target: 'a.mesh.test', port: a.port, priority: 0, weight: 3 },
      { name: '_http._tcp.weights.test', target: 'b.mesh.test', port: b.port, priority: 0, weight: 1 },
      { name: '_http._tcp.failover.test', target: 'down.mesh.test', port: closedPort, priority: 0, weight: 1 },
      { name: '_http._tcp.failover.test', target: 'c.mesh.test', port: c.port, priority: 1, weight: 1 },
    ],
    hosts: ['a', 'b', 'c', 'down'].map((n) => ({ name: `${n}.mesh.test`, address: '127.0.0.1' })).concat([{ name: 'web.mesh.test', address: '127.0.0.1' }]),
  });
  gw = await startGateway(config(true));
});

function config(withWeb: boolean): string {
  return meshConfig(
      pki,
      `  - name: weights
    discovery: { type: srv, name: _http._tcp.weights.test, refresh: 300ms }
  - name: weights-random
    discovery: { type: srv, name: _http._tcp.weights.test, refresh: 300ms }
    loadBalancer: { policy: random }
  - name: failover
    discovery: { type: srv, name: _http._tcp.failover.test, refresh: 300ms }
    connectTimeout: 1s
    outlierDetection: { consecutiveGatewayErrors: 1, interval: 1s, baseEjectionTime: 60s }
${withWeb ? `  - name: web
    discovery: { type: dns, host: web.mesh.test, port: ${a.port}, refresh: 300ms }` : ''}`,
      {
        routes: [
          { prefix: '/weights-random', cluster: 'weights-random' },
          { prefix: '/weights', cluster: 'weights' },
          { prefix: '/failover', cluster: 'failover' },
          ...(withWeb ? [{ prefix: '/web', cluster: 'web' }] : []),
        ],
        top: `dns: { servers: ["${dns.server}"] }`,
      },
    );
}
after(async () => {
  await gw?.close();
  await dns?.stop();
  await Promise.all([a, b, c].map((u) => u?.close()));
});

async function shares(path: string, n: number): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(pki, gw, path);
    assert.equal(r.status, 200);
    const who = String(r.headers['x-upstream']);
    m.set(who, (m.get(who) ?? 0) + 1);
  }
  return m;
}

test('SRV weights 3:1 → traffic 3:1 (round_robin: a gets 65–85% of 200; random: 60–90% of 400)', async () => {
  const s = await clusterState(gw, 'weights');
  assert.deepEqual(
    s.endpoints.map((e) => [e.address, e.weight, e.priority]).sort(),
    [[a.address, 3, 0], [b.address, 1, 0]].sort(),
    'endpoints from the SRV records: target addresses, record ports, weights',
  );
  const rr = await shares('/weights/x', 200);
  const rrShare = (rr.get('a') ?? 0) / 200;
  assert.ok(rrShare >= 0.65 && rrShare <= 0.85, `round_robin share of a: ${rrShare}`);
  assert.ok((rr.get('b') ?? 0) > 0);
  const rnd = await shares('/weights-random/x', 400);
  const rndShare = (rnd.get('a') ?? 0) / 400;
  assert.ok(rndShare >= 0.6 && rndShare <= 0.9, `random share of a: ${rndShare}`);
});

test('dns discovery: the A record of the host on the configured port', async () => {
  const s = await clusterState(gw, 'web');
  assert.deepEqual(s.endpoints.map((e) => e.address), [a.address]);
  const r = await get(pki, gw, '/web/x');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'a');
});

test('the priority-0 target down (port closed) → ejected on connect failure, priority 1 serves', async () => {
  const before = await clusterState(gw, 'failover');
  assert.equal(before.endpoints.find((e) => e.priority === 0)?.address, `127.0.0.1:${closedPort}`);
  assert.ok(before.endpoints.find((e) => e.priority === 1)?.serving === false, 'priority 1 is idle while priority 0 is live');
  await eventually(async () => (await get(pki, gw, '/failover/x')).headers['x-upstream'] === 'c', 'priority 1 serves');
  for (let i = 0; i < 10; i++) {
    const r = await get(pki, gw, '/failover/x');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-upstream'], 'c');
  }
  const after = await clusterState(gw, 'failover');
  assert.equal(after.endpoints.find((e) => e.priority === 0)?.ejected, true);
  assert.equal(after.endpoints.find((e) => e.priority === 1)?.serving, true);
  assert.equal(after.panic, false);
});

test('DNS server stopped → failures are counted and the last good endpoints keep serving', async () => {
  const failuresBefore = await metricValue(gw, 'gatehouse_dns_resolution_failures_total', 'cluster="weights"');
  await dns.stop();
  await eventually(
    async () => (await metricValue(gw, 'gatehouse_dns_resolution_failures_total', 'cluster="weights"')) > failuresBefore,
    'a failed refresh is counted',
  );
  const s = await clusterState(gw, 'weights');
  assert.equal(s.endpoints.length, 2, 'last good endpoints kept');
  const m = await shares('/weights/y', 8);
  assert.equal((m.get('a') ?? 0) + (m.get('b') ?? 0), 8);
  assert.equal((await get(pki, gw, '/web/y')).status, 200);
});

test('DNS back with a new answer → the endpoint set follows (a removed, b re-weighted)', async () => {
  dns = await startDnsmasq({
    port: dns.port,
    srv: [{ name: '_http._tcp.weights.test', target: 'b.mesh.test', port: b.port, priority: 0, weight: 5 }],
    hosts: [{ name: 'b.mesh.test', address: '127.0.0.1' }],
    logQueries: true,
  });
  await eventually(async () => {
    const s = await clusterState(gw, 'weights');
    return s.endpoints.length === 1 && s.endpoints[0].address === b.address && s.endpoints[0].weight === 5;
  }, 'the new SRV answer is applied');
  const m = await shares('/weights/z', 6);
  assert.equal(m.get('b'), 6);
});

test('a cluster retired by a reload stops its DNS refreshes; the others go on', async () => {
  await eventually(() => dns.queries('web.mesh.test') > 0, 'the web cluster refreshes (its host no longer resolves: last good kept)');
  assert.equal((await clusterState(gw, 'web')).endpoints.length, 1);
  gw.rewrite(config(false));
  assert.equal((await gw.gw.reload('test')).ok, true);
  const web = dns.queries('web.mesh.test');
  const weights = dns.queries('_http._tcp.weights.test');
  await eventually(() => dns.queries('_http._tcp.weights.test') >= weights + 6, 'the kept SRV clusters keep refreshing');
  assert.ok(dns.queries('web.mesh.test') <= web + 2, `the retired cluster kept querying (${web} → ${dns.queries('web.mesh.test')})`);
});
