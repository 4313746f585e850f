import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrls } from '../../src/grpc/protos.ts';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { etcdSource, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { adsClient, decode, type AdsTestClient } from '../helpers/ads-client.ts';
import { eventually } from '../helpers/net.ts';
import { call, get, put } from './rest.ts';

// The ADS server at the protocol level: a real etcd, the control plane in this process, and real
// @grpc/grpc-js ADS client streams (state of the world).

let etcd: TestEtcd;
let cp: TestControlPlane;
const clients: AdsTestClient[] = [];

before(async () => {
  etcd = await startEtcd();
  cp = await startControlPlane({ source: etcdSource(etcd.endpoint) });
  const r = await put(cp.registry, 'shop', {
    versions: [{ name: 'v1', weight: 90, endpoints: ['10.0.0.1:9443'] }, { name: 'v2', weight: 10 }],
    expose: [{ domains: ['shop.test'], prefix: '/' }],
  });
  assert.equal(r.status, 201);
});

after(async () => {
  for (const c of clients) c.close();
  await cp?.close();
  await etcd?.close();
});

function client(node: string): AdsTestClient {
  const c = adsClient(cp.xdsAddress, { id: node, cluster: 'edge' });
  clients.push(c);
  return c;
}

/** Subscribes like a gateway: RDS by name, CDS and EDS by the clusters it references. */
async function subscribe(c: AdsTestClient) {
  c.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'] });
  const rds = await c.next(TypeUrls.routeConfiguration);
  c.ack(rds);
  c.send({ type_url: TypeUrls.cluster, resource_names: ['shop-v1', 'shop-v2'] });
  const cds = await c.next(TypeUrls.cluster);
  c.ack(cds);
  c.send({ type_url: TypeUrls.clusterLoadAssignment, resource_names: ['shop-v1', 'shop-v2'] });
  const eds = await c.next(TypeUrls.clusterLoadAssignment);
  c.ack(eds);
  return { rds, cds, eds };
}

const weights = (rds: Parameters<typeof decode>[0]) =>
  decode(rds)[0].virtual_hosts[0].routes[0].route.weighted_clusters.clusters.map((c: any) => `${c.name}=${c.weight.value}`);

test('first responses: the current snapshot, versioned by the registry revision, for the names asked', async () => {
  const c = client('gw-first');
  const { rds, cds, eds } = await subscribe(c);
  const version = cp.cp.snapshotVersion();
  assert.ok(version !== null && Number(version) > 0);
  for (const r of [rds, cds, eds]) assert.equal(r.version_info, version);
  assert.deepEqual(weights(rds), ['shop-v1=90', 'shop-v2=10']);
  assert.deepEqual(decode(cds).map((x) => x.name).sort(), ['shop-v1', 'shop-v2']);
  assert.deepEqual(decode(eds).map((x) => [x.cluster_name, x.endpoints.length]).sort(), [['shop-v1', 1], ['shop-v2', 0]]);

  // an unknown route configuration: an empty answer, not silence
  c.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse', 'nobody'] });
  const both = await c.next(TypeUrls.routeConfiguration);
  assert.deepEqual(decode(both).map((x) => x.name), ['gatehouse']);

  // CDS with no names is the wildcard: every cluster
  const w = client('gw-wildcard');
  w.send({ type_url: TypeUrls.cluster });
  assert.deepEqual(decode(await w.next(TypeUrls.cluster)).map((x) => x.name).sort(), ['shop-v1', 'shop-v2']);
});

test('ACK: the subscriber shows the acknowledged version; a change is pushed to two subscribers, only the type that changed', async () => {
  const a = client('gw-a');
  const b = client('gw-b');
  const first = await subscribe(a);
  await subscribe(b);
  await eventually(async () => {
    const status = (await get(cp.registry, '/status')).body;
    const gwA = status.subscribers.find((s: any) => s.node === 'gw-a');
    return gwA?.types.every((t: any) => t.ackedVersion === first.rds.version_info) === true;
  }, 'gw-a ACKs shown in /status');

  // an instance registers: only EDS changes, and is pushed to both
  const reg = await call(cp.registry, 'POST', '/services/shop/versions/v2/instances', { address: '10.0.0.7:9443', ttl: '30s' });
  assert.equal(reg.status, 201);
  for (const c of [a, b]) {
    const eds = await c.next();
    assert.equal(eds.type_url, TypeUrls.clusterLoadAssignment, 'the next message is the EDS push (routes and clusters did not change)');
    const v2 = decode(eds).find((x) => x.cluster_name === 'shop-v2');
    assert.equal(v2.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, '10.0.0.7');
    c.ack(eds);
  }

  // a weight shift: only RDS changes
  const current = await get(cp.registry, '/services/shop');
  const shifted = await put(
    cp.registry,
    'shop',
    { ...current.body, versions: [{ name: 'v1', weight: 0, endpoints: ['10.0.0.1:9443'] }, { name: 'v2', weight: 100 }] },
    { 'if-match': current.etag! },
  );
  assert.equal(shifted.status, 200);
  for (const c of [a, b]) {
    const rds = await c.next();
    assert.equal(rds.type_url, TypeUrls.routeConfiguration);
    assert.equal(rds.version_info, shifted.etag!.replaceAll('"', ''), 'the version is the revision of the write');
    assert.deepEqual(weights(rds), ['shop-v1=0', 'shop-v2=100']);
    c.ack(rds);
  }
});

test('NACK: recorded and shown (status, pages), not resent; the client keeps its last good version; a stale nonce is ignored', async () => {
  const c = client('gw-nack');
  const { rds } = await subscribe(c);
  const good = rds.version_info;

  // a change the gateway rejects
  const current = await get(cp.registry, '/services/shop');
  const changed = await put(cp.registry, 'shop', { ...current.body, expose: [{ domains: ['shop.test'], prefix: '/', timeout: '3s' }] }, { 'if-match': current.etag! });
  assert.equal(changed.status, 200);
  const pushed = await c.next(TypeUrls.routeConfiguration);
  assert.notEqual(pushed.version_info, good);
  c.send({
    type_url: TypeUrls.routeConfiguration,
    resource_names: ['gatehouse'],
    version_info: good, // what the client keeps
    response_nonce: pushed.nonce,
    error_detail: { code: 3, message: 'gatehouse: route shop/0: timeout 3s is not allowed here' },
  });
  await eventually(async () => {
    const status = (await get(cp.registry, '/status')).body;
    const t = status.subscribers.find((s: any) => s.node === 'gw-nack')?.types.find((x: any) => x.typeUrl === TypeUrls.routeConfiguration);
    return t?.nack?.version === pushed.version_info && t.ackedVersion === good;
  }, 'the NACK in /status, the acked version still the last good one');
  const status = (await get(cp.registry, '/status')).body;
  assert.ok(status.recentNacks.some((n: any) => n.node === 'gw-nack' && n.message.includes('timeout 3s is not allowed')));
  const page = await get(cp.registry, '/');
  assert.match(page.body, /NACK of \d+/);
  assert.match(page.body, /timeout 3s is not allowed here/);
  const servicePage = await get(cp.registry, '/ui/services/shop');
  assert.match(servicePage.body, /timeout 3s is not allowed here/, 'the service page shows the NACK naming its route');

  // a stale nonce (an older response) is ignored: no new NACK recorded
  c.send({ type_url: TypeUrls.routeConfiguration, resource_names: ['gatehouse'], version_info: good, response_nonce: rds.nonce, error_detail: { code: 3, message: 'stale complaint' } });
  // the next registry change is pushed again (and this time accepted)
  const again = await get(cp.registry, '/services/shop');
  const fixed = await put(cp.registry, 'shop', { ...again.body, expose: [{ domains: ['shop.test'], prefix: '/' }] }, { 'if-match': again.etag! });
  const next = await c.next(TypeUrls.routeConfiguration);
  assert.equal(next.version_info, fixed.etag!.replaceAll('"', ''), 'the next message after the NACK is the next change, not a resend');
  c.ack(next);
  await eventually(async () => {
    const s = (await get(cp.registry, '/status')).body;
    const t = s.subscribers.find((x: any) => x.node === 'gw-nack')?.types.find((x: any) => x.typeUrl === TypeUrls.routeConfiguration);
    return t?.ackedVersion === next.version_info && t.nack === null;
  }, 'ACK of the fixed version clears the NACK');
  assert.ok(!(await get(cp.registry, '/status')).body.recentNacks.some((n: any) => n.message === 'stale complaint'));
});

test('a removed service disappears from a wildcard CDS subscription', async () => {
  assert.equal((await put(cp.registry, 'temp', { versions: [{ name: 'v1', endpoints: ['10.0.0.3:1'] }] })).status, 201);
  const c = client('gw-wild');
  c.send({ type_url: TypeUrls.cluster });
  const first = await c.next(TypeUrls.cluster);
  assert.ok(decode(first).some((x) => x.name === 'temp-v1'));
  c.ack(first);
  assert.equal((await call(cp.registry, 'DELETE', '/services/temp')).status, 204);
  const after = await c.next(TypeUrls.cluster);
  assert.ok(!decode(after).some((x) => x.name === 'temp-v1'));
  assert.ok(decode(after).some((x) => x.name === 'shop-v1'));
});
