import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrls } from '../../src/grpc/protos.ts';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { etcdSource, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { adsClient, decode, type AdsTestClient } from '../helpers/ads-client.ts';
import { eventually } from '../helpers/net.ts';
import { call, exposedService, get, put } from './rest.ts';

// etcd as the distributed engine: an outage (the last snapshot keeps being served and the outage is
// reported), recovery (changes flow again), and two control-plane replicas serving one registry.

let etcd: TestEtcd;
let a: TestControlPlane;
let b: TestControlPlane;
const clients: AdsTestClient[] = [];

before(async () => {
  etcd = await startEtcd();
  a = await startControlPlane({ source: etcdSource(etcd.endpoint) });
  b = await startControlPlane({ source: etcdSource(etcd.endpoint) });
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([a?.close(), b?.close()]);
  await etcd?.close();
});

function client(cp: TestControlPlane, node: string): AdsTestClient {
  const c = adsClient(cp.xdsAddress, { id: node, cluster: 'edge' });
  clients.push(c);
  return c;
}

const routesOf = (res: Parameters<typeof decode>[0]) => decode(res)[0]?.virtual_hosts.map((v: any) => v.domains[0]).sort() ?? [];

test('two replicas against one etcd: a write through one is pushed by both, same version, same bytes', async () => {
  const onA = client(a, 'gw-on-a');
  const onB = client(b, 'gw-on-b');
  for (const c of [onA, onB]) c.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
  const written = await put(a.registry, 'web', exposedService('web', 'web.test', [{ name: 'v1', endpoints: ['10.9.0.1:443'] }]));
  assert.equal(written.status, 201);
  const version = written.etag!.replaceAll('"', '');
  const seen = async (c: AdsTestClient) => {
    for (;;) {
      const res = await c.next(TypeUrls.routeConfiguration);
      c.ack(res);
      if (res.version_info === version) return res;
    }
  };
  const [fromA, fromB] = await Promise.all([seen(onA), seen(onB)]);
  assert.deepEqual(routesOf(fromA), ['web.test']);
  assert.deepEqual(Buffer.from(fromA.resources[0]!.value), Buffer.from(fromB.resources[0]!.value), 'identical resources from both replicas');
  // a compare-and-swap through B sees A's write
  const stale = await put(b.registry, 'web', exposedService('web', 'web.test', [{ name: 'v1' }]), { 'if-match': '"1"' });
  assert.equal(stale.status, 409);
  assert.equal(stale.etag, written.etag);
});

test('etcd stops: the last snapshot is still served and the outage is reported; it returns: changes flow again', async () => {
  const gw = client(a, 'gw-outage');
  gw.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
  const before = await gw.next(TypeUrls.routeConfiguration);
  gw.ack(before);
  assert.deepEqual(routesOf(before), ['web.test']);

  await etcd.stop();
  await eventually(async () => (await get(a.registry, '/status')).body.store.state === 'unreachable', 'the outage reported in /status');
  const status = (await get(a.registry, '/status')).body;
  assert.equal(status.snapshotVersion, before.version_info, 'still serving the last snapshot');
  const page = await get(a.registry, '/');
  assert.match(page.body, /id="outage"/);
  assert.match(page.body, /etcd is unreachable since/);
  // a gateway that (re)connects now gets the last snapshot
  const late = client(a, 'gw-late');
  late.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
  const served = await late.next(TypeUrls.routeConfiguration);
  assert.equal(served.version_info, before.version_info);
  assert.deepEqual(routesOf(served), ['web.test']);
  // reads answer from the last state; writes cannot be made
  assert.equal((await get(a.registry, '/services/web')).status, 200);
  const refused = await put(a.registry, 'api', exposedService('api', 'api.test', [{ name: 'v1' }]));
  assert.equal(refused.status, 503);
  assert.equal(refused.body.error, 'store_unavailable');

  await etcd.restart();
  await eventually(async () => (await get(a.registry, '/status')).body.store.state === 'connected', 'etcd connected again', 30_000);
  assert.doesNotMatch((await get(a.registry, '/')).body, /id="outage"/);
  let written = await put(a.registry, 'api', exposedService('api', 'api.test', [{ name: 'v1', endpoints: ['10.9.0.2:443'] }]));
  assert.equal(written.status, 201, 'writes work again');
  for (const c of [gw, late]) {
    for (;;) {
      const res = await c.next(TypeUrls.routeConfiguration, 20_000);
      c.ack(res);
      if (routesOf(res).includes('api.test')) break;
    }
  }
  // replica B followed the same etcd through the outage: it has the change too
  await eventually(async () => (await get(b.registry, '/services/api')).status === 200, 'replica B sees the write made after the outage', 30_000);
  written = await call(b.registry, 'DELETE', '/services/api');
  assert.equal(written.status, 204);
});
