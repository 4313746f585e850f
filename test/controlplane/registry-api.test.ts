import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import http from 'node:http';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { etcdSource, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { eventually } from '../helpers/net.ts';
import { call, exposedService, get, put } from './rest.ts';

// The registry's REST API against a real etcd: compare-and-swap, validation, quarantine,
// instance leases.

let etcd: TestEtcd;
let cp: TestControlPlane;

before(async () => {
  etcd = await startEtcd();
  cp = await startControlPlane({ source: etcdSource(etcd.endpoint) });
});

after(async () => {
  await cp?.close();
  await etcd?.close();
});

const resources = async () => (await get(cp.registry, '/resources')).body;
const clusterNames = async () => (await resources()).clusters.map((c: any) => c.name).sort();
const endpointsOf = async (cluster: string) =>
  ((await resources()).clusterLoadAssignments.find((c: any) => c.cluster_name === cluster)?.endpoints[0]?.lb_endpoints ?? []).map(
    (e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
  );

test('create, read with ETag, replace; If-None-Match: * only creates', async () => {
  const created = await put(cp.registry, 'cart', exposedService('cart', 'cart.test', [{ name: 'v1', endpoints: ['10.1.0.1:443'] }]));
  assert.equal(created.status, 201);
  assert.match(created.etag!, /^"\d+"$/);
  assert.deepEqual(created.body.problems, []);
  const read = await get(cp.registry, '/services/cart');
  assert.equal(read.status, 200);
  assert.equal(read.etag, created.etag);
  assert.equal(read.body.revision, Number(created.etag!.replaceAll('"', '')));
  assert.deepEqual(read.body.versions, [{ name: 'v1', weight: 0, endpoints: ['10.1.0.1:443'] }]);
  // what GET returned can be sent back as it is (read-only keys are dropped)
  const replaced = await put(cp.registry, 'cart', { ...read.body, owners: ['team-cart'] });
  assert.equal(replaced.status, 200);
  assert.notEqual(replaced.etag, created.etag);
  assert.deepEqual((await get(cp.registry, '/services/cart')).body.owners, ['team-cart']);
  const again = await put(cp.registry, 'cart', read.body, { 'if-none-match': '*' });
  assert.equal(again.status, 409);
  assert.deepEqual(again.body.current.owners, ['team-cart']);
  assert.ok((await clusterNames()).includes('cart-v1'));
});

test('two engineers edit one service at once: exactly one wins, the other gets 409 with the current document', async () => {
  await put(cp.registry, 'profile', { versions: [{ name: 'v1', endpoints: ['10.2.0.1:443'] }] });
  const seen = await get(cp.registry, '/services/profile');
  const [a, b] = await Promise.all([
    put(cp.registry, 'profile', { ...seen.body, owners: ['alice'] }, { 'if-match': seen.etag! }),
    put(cp.registry, 'profile', { ...seen.body, owners: ['bob'] }, { 'if-match': seen.etag! }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [200, 409]);
  const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
  assert.deepEqual(loser.body.current.owners, winner.body.owners, 'the 409 carries the winner\'s document');
  assert.equal(loser.etag, winner.etag, 'and its revision as the ETag, to retry with');
  assert.match(loser.body.message, /changed by someone else/);
  const retried = await put(cp.registry, 'profile', { ...loser.body.current, owners: ['alice', 'bob'] }, { 'if-match': loser.etag! });
  assert.equal(retried.status, 200);
  // a malformed If-Match is a 400, not a silent overwrite
  assert.equal((await put(cp.registry, 'profile', seen.body, { 'if-match': 'yesterday' })).status, 400);
});

test('an invalid document answers 400 with every error and stores nothing', async () => {
  const bad = await put(cp.registry, 'broken', { versions: [{ name: 'v1', weight: -5 }, { name: 'V 2' }], expose: [{ domains: [] }], extra: true });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.errors, [
    'versions[0].weight: must be a number ≥ 0',
    'versions[1].name: expected lower-case letters, digits and -, starting and ending with a letter or digit (max 63)',
    'expose[0].domains: must not be empty',
    'extra: unknown key',
  ]);
  assert.equal((await get(cp.registry, '/services/broken')).status, 404);
  const notJson = await call(cp.registry, 'PUT', '/services/broken', '{"versions": [', {});
  assert.equal(notJson.status, 400);
  assert.match(notJson.body.errors[0], /^\(root\): not valid JSON/);
  assert.equal((await call(cp.registry, 'PUT', '/services/broken', '<versions/>', { 'content-type': 'application/xml' })).status, 415);
  assert.equal((await call(cp.registry, 'PUT', '/services/broken', { versions: [{ name: 'v1', endpoints: Array(30000).fill('10.0.0.1:1') }] })).status, 413);
  assert.equal((await put(cp.registry, 'Not_A_Name', { versions: [{ name: 'v1' }] })).status, 400);
  assert.equal((await get(cp.registry, '/services/broken')).status, 404);
});

test('a service the compiler cannot serve is stored and reported; the others are still served', async () => {
  const r = await put(cp.registry, 'orders', exposedService('orders', 'orders.test', [{ name: 'v1', endpoints: ['10.3.0.1:443'] }], { dependsOn: ['cart', 'billing'] }));
  assert.equal(r.status, 201, 'stored');
  assert.deepEqual(r.body.problems, ['dependsOn[1]: no service named billing']);
  assert.deepEqual((await get(cp.registry, '/services/orders')).body.problems, ['dependsOn[1]: no service named billing']);
  assert.ok(!(await clusterNames()).includes('orders-v1'), 'left out of the snapshot');
  assert.ok((await clusterNames()).includes('cart-v1'), 'the rest is served');

  // the missing dependency appears: orders is served
  await put(cp.registry, 'billing', { versions: [{ name: 'v1', endpoints: ['10.3.0.9:443'] }] });
  await eventually(async () => (await clusterNames()).includes('orders-v1'), 'orders served once billing exists');
  assert.deepEqual((await get(cp.registry, '/services/orders')).body.problems, []);

  // a later service claiming orders.test/ is the one left out
  const clash = await put(cp.registry, 'thief', exposedService('thief', 'orders.test', [{ name: 'v1', endpoints: ['10.3.0.2:443'] }]));
  assert.deepEqual(clash.body.problems, ['expose[0]: orders.test/ is already exposed by service orders']);
  const rc = (await resources()).routeConfigurations.find((x: any) => x.name === 'gatehouse');
  const route = rc.virtual_hosts.find((v: any) => v.domains.includes('orders.test')).routes[0];
  assert.equal(route.route.cluster, 'orders-v1');
  assert.equal((await call(cp.registry, 'DELETE', '/services/thief')).status, 204);

  const topology = (await get(cp.registry, '/topology')).body;
  assert.ok(topology.services.includes('orders'));
  assert.deepEqual(topology.edges.filter((e: any) => e.from === 'orders'), [{ from: 'orders', to: 'cart' }, { from: 'orders', to: 'billing' }]);
  const svg = await get(cp.registry, '/topology.svg');
  assert.match(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  assert.match(svg.body, /data-service="orders"/);
});

test('instances: register with a lease, keep alive, leave the endpoint set when the lease lapses', async () => {
  const created = await put(cp.registry, 'search', exposedService('search', 'search.test', [{ name: 'v1', weight: 100 }, { name: 'v2', weight: 0, srv: '_h._tcp.search.mesh.local' }]));
  assert.equal(created.status, 201);
  const base = '/services/search/versions/v1/instances';
  // input is checked
  assert.deepEqual((await call(cp.registry, 'POST', base, { address: 'search.internal:80', ttl: '1h1s' })).body.errors, [
    'address: expected an IP address, not a host name (use srv: for DNS names)',
    'ttl: must be between 2s and 60m',
  ]);
  assert.equal((await call(cp.registry, 'POST', '/services/search/versions/v9/instances', { address: '10.4.0.1:80' })).status, 404);
  assert.equal((await call(cp.registry, 'POST', '/services/nope/versions/v1/instances', { address: '10.4.0.1:80' })).status, 404);
  assert.equal((await call(cp.registry, 'POST', '/services/search/versions/v2/instances', { address: '10.4.0.1:80' })).status, 409, 'an SRV version takes no instances');

  const kept = await call(cp.registry, 'POST', base, { address: '10.4.0.1:80', ttl: '2s' });
  assert.equal(kept.status, 201);
  assert.match(kept.body.lease, /^[0-9a-f]+$/);
  const lapsing = await call(cp.registry, 'POST', base, { address: '10.4.0.2:80', ttl: '2s' });
  assert.equal(lapsing.status, 201);
  assert.deepEqual(await endpointsOf('search-v1'), ['10.4.0.1:80', '10.4.0.2:80']);
  assert.deepEqual(
    (await get(cp.registry, '/services/search')).body.instances.v1.map((i: any) => i.address),
    ['10.4.0.1:80', '10.4.0.2:80'],
  );

  // one instance keeps its lease alive, the other stops (as if killed); the latter leaves within its TTL
  let keeping = true;
  const keepalive = (async () => {
    while (keeping) {
      // sent as many clients do: a JSON content type and no body
      const r = await call(cp.registry, 'POST', `${base}/10.4.0.1:80/keepalive`, undefined, { 'content-type': 'application/json' });
      assert.equal(r.status, 200);
      assert.equal(r.body.lease, kept.body.lease);
      await new Promise((res) => setTimeout(res, 400));
    }
  })();
  await eventually(async () => (await endpointsOf('search-v1')).join() === '10.4.0.1:80', 'the lapsed instance leaves the endpoint set', 15_000);
  assert.equal((await call(cp.registry, 'POST', `${base}/10.4.0.2:80/keepalive`)).status, 404, 'a lapsed lease cannot be renewed: register again');
  keeping = false;
  await keepalive;
  // deregistering removes it at once
  assert.equal((await call(cp.registry, 'DELETE', `${base}/10.4.0.1:80`)).status, 204);
  await eventually(async () => (await endpointsOf('search-v1')).length === 0, 'deregistered instance gone');
  assert.equal((await call(cp.registry, 'DELETE', `${base}/10.4.0.1:80`)).status, 404);
});

test('delete: a stale If-Match is refused; a delete takes the instances along', async () => {
  await put(cp.registry, 'tmp', { versions: [{ name: 'v1' }] });
  const seen = await get(cp.registry, '/services/tmp');
  await call(cp.registry, 'POST', '/services/tmp/versions/v1/instances', { address: '10.5.0.1:80', ttl: '60s' });
  await put(cp.registry, 'tmp', { ...seen.body, owners: ['x'] });
  const stale = await call(cp.registry, 'DELETE', '/services/tmp', undefined, { 'if-match': seen.etag! });
  assert.equal(stale.status, 409);
  assert.deepEqual(stale.body.current.owners, ['x']);
  assert.equal((await call(cp.registry, 'DELETE', '/services/tmp')).status, 204);
  assert.equal((await get(cp.registry, '/services/tmp')).status, 404);
  assert.equal((await call(cp.registry, 'DELETE', '/services/tmp')).status, 404);
  // recreated: no instance of the old one comes back
  await put(cp.registry, 'tmp', { versions: [{ name: 'v1' }] });
  assert.deepEqual((await get(cp.registry, '/services/tmp')).body.instances, {});
});

test('browsers are kept from acting for other sites (DNS rebinding, cross-site forms)', async () => {
  // fetch() will not send another Host: a plain node request does
  const rebound = await new Promise<number>((resolve, reject) => {
    const url = new URL(cp.registry);
    http.get({ host: url.hostname, port: url.port, path: '/services', headers: { host: 'evil.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  assert.equal(rebound, 421);
  const cross = await call(cp.registry, 'POST', '/ui/services', 'name=x&v0.name=v1', { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' });
  assert.equal(cross.status, 403);
  assert.equal((await get(cp.registry, '/services/x')).status, 404);
});

function nonLoopbackAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

test('a registry bound beyond loopback requires its token from other hosts (bearer or login cookie)', async (t) => {
  const ip = nonLoopbackAddress();
  if (!ip) return t.skip('this machine has no non-loopback IPv4 address to test from');
  const open = await startControlPlane({ source: etcdSource(etcd.endpoint, '/auth-test/'), registryHost: '0.0.0.0', token: 'registry-secret-1' });
  try {
    const remote = open.registry.replace('0.0.0.0', ip);
    const local = open.registry.replace('0.0.0.0', '127.0.0.1');
    const denied = await get(remote, '/services');
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await put(remote, 'x', { versions: [{ name: 'v1' }] })).status, 401);
    assert.equal((await get(remote, '/services', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(remote, '/services', { authorization: 'Bearer registry-secret-1' })).status, 200);
    assert.equal((await get(local, '/services')).status, 200, 'loopback needs no token');
    // a browser: the login form sets a session cookie (not the token itself)
    const page = await get(remote, '/', { accept: 'text/html' });
    assert.equal(page.status, 401);
    assert.match(page.body, /Registry token/);
    const bad = await call(remote, 'POST', '/login', 'token=nope', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(bad.status, 401);
    const login = await fetch(`${remote}/login`, { method: 'POST', body: 'token=registry-secret-1', headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    assert.equal(login.status, 303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    assert.ok(!cookie.includes('registry-secret-1'));
    assert.equal((await get(remote, '/', { cookie })).status, 200);
  } finally {
    await open.close();
  }
});
