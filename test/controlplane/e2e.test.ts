import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { etcdSource, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { keepAliveRequest } from '../helpers/traffic.ts';
import { gatewayPreamble } from '../helpers/gateway.ts';
import { spawnGateway, writeConfig, type GatewayProcess } from '../helpers/process.ts';
import { startLoad } from '../helpers/load.ts';
import { eventually } from '../helpers/net.ts';
import { call, get, put } from './rest.ts';

// End to end: real etcd, the control plane, mTLS mesh services, and two real gatehouse processes that
// take every route and cluster from the control plane (xds: routeConfigs [gatehouse]).

const IDENTITY = 'spiffe://mesh.local/ns/demo/sa/echo'; // the SAN of the test PKI's upstream certificate

let etcd: TestEtcd;
let cp: TestControlPlane;
let pki: TestPki;
const upstreams: Record<string, TestUpstream> = {};
const gateways: Array<{ proc: GatewayProcess; port: number; adminPort: number; agent: https.Agent }> = [];

/** An mTLS mesh service (client certificate required, SAN = IDENTITY) that answers with its id. */
function meshService(id: string): Promise<TestUpstream> {
  return startUpstream({
    tls: { pki },
    handler: (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream-id': id });
        res.end(id);
      });
    },
  });
}

async function startReplica(node: string): Promise<void> {
  const cfg = await writeConfig(`${gatewayPreamble(pki)}
accessLog: { path: off }
xds:
  server: "${cp.xdsAddress}"
  node: { id: ${node}, cluster: edge }
  routeConfigs: [gatehouse]
  initialFetchTimeout: 2s
`);
  const proc = await spawnGateway(cfg.file, [], { GATEHOUSE_LOG_LEVEL: 'info' });
  gateways.push({ proc, port: cfg.httpsPort, adminPort: cfg.adminPort, agent: new https.Agent({ keepAlive: true, maxSockets: 4 }) });
}

async function ask(g: (typeof gateways)[number], path: string): Promise<{ status: number; id: string }> {
  try {
    const r = await keepAliveRequest(pki, g.agent, g.port, path);
    return { status: r.status, id: String(r.headers['x-upstream-id'] ?? '') };
  } catch (err) {
    return { status: 0, id: (err as Error).message };
  }
}

/** True when `n` answers in a row for `path` all came from `id`. */
async function onlyFrom(g: (typeof gateways)[number], path: string, id: string, n = 20): Promise<boolean> {
  for (let i = 0; i < n; i++) if ((await ask(g, path)).id !== id) return false;
  return true;
}

const service = (versions: Array<{ name: string; weight: number; endpoints?: string[] }>, prefix: string, extra: Record<string, unknown> = {}) => ({
  namespace: 'demo',
  identity: IDENTITY,
  versions,
  expose: [{ domains: ['*'], prefix }],
  ...extra,
});

before(async () => {
  [etcd, pki] = await Promise.all([startEtcd(), testPki()]);
  cp = await startControlPlane({
    source: etcdSource(etcd.endpoint),
    extra: `clusterTls: { certFile: "${pki.file('gatehouse.crt')}", keyFile: "${pki.file('gatehouse.key')}", caFile: "${pki.file('ca.crt')}" }`,
  });
  for (const id of ['shop-v1', 'shop-v2', 'pay-a', 'pay-b', 'late-v1']) upstreams[id] = await meshService(id);
  await startReplica('gw-a');
  await startReplica('gw-b');
});

after(async () => {
  for (const g of gateways) {
    g.agent.destroy();
    await g.proc.kill('SIGTERM');
  }
  for (const u of Object.values(upstreams)) await u.close();
  await cp?.close();
  await etcd?.close();
});

test('a service registered through the REST API is routed by both replicas', async (t) => {
  const started = Date.now();
  const r = await put(cp.registry, 'shop', service([{ name: 'v1', weight: 100, endpoints: [upstreams['shop-v1']!.address] }, { name: 'v2', weight: 0, endpoints: [upstreams['shop-v2']!.address] }], '/shop'));
  assert.equal(r.status, 201);
  for (const g of gateways) await eventually(async () => (await ask(g, '/shop/cart')).id === 'shop-v1', 'routed to shop v1');
  t.diagnostic(`registered → routed by both replicas after ${Date.now() - started} ms (the SPEC asks for 2 s; not asserted)`);
  assert.deepEqual(await ask(gateways[0]!, '/nothing-here'), { status: 404, id: '' });
});

test('weights shift 90/10 → 0/100 under load: no request fails and the traffic follows', async () => {
  const g = gateways[0]!;
  const load = startLoad({ port: g.port, pki, path: '/shop/item', concurrency: 4 });
  try {
    await load.waitForMore(50);
    let current = await get(cp.registry, '/services/shop');
    const shift = async (w1: number, w2: number) => {
      const r = await put(cp.registry, 'shop', { ...current.body, versions: [{ name: 'v1', weight: w1, endpoints: [upstreams['shop-v1']!.address] }, { name: 'v2', weight: w2, endpoints: [upstreams['shop-v2']!.address] }] }, { 'if-match': current.etag! });
      assert.equal(r.status, 200);
      current = await get(cp.registry, '/services/shop');
    };
    await shift(90, 10);
    await eventually(async () => {
      for (let i = 0; i < 60; i++) if ((await ask(g, '/shop/x')).id === 'shop-v2') return true;
      return false;
    }, 'the canary gets some traffic at 90/10');
    await load.waitForMore(100);
    await shift(0, 100);
    await eventually(() => onlyFrom(g, '/shop/x', 'shop-v2'), 'all traffic on v2 at 0/100');
    await load.waitForMore(100);
  } finally {
    const report = await load.stop();
    assert.equal(report.failed, 0, `failed requests during the shifts: ${JSON.stringify(report.failures)}`);
    assert.ok(report.ok > 250);
  }
  assert.ok(await onlyFrom(gateways[1]!, '/shop/x', 'shop-v2'), 'the second replica followed too');
});

test('an instance whose lease lapses (killed: no keepalive) leaves the gateway\'s endpoints', async () => {
  assert.equal((await put(cp.registry, 'pay', service([{ name: 'v1', weight: 100 }], '/pay'))).status, 201);
  const base = '/services/pay/versions/v1/instances';
  for (const id of ['pay-a', 'pay-b']) assert.equal((await call(cp.registry, 'POST', base, { address: upstreams[id]!.address, ttl: '2s' })).status, 201);
  let keeping = true;
  const keepalive = (async () => {
    while (keeping) {
      await call(cp.registry, 'POST', `${base}/${upstreams['pay-a']!.address}/keepalive`);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    const g = gateways[0]!;
    await eventually(async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add((await ask(g, '/pay')).id);
      return seen.has('pay-a') && seen.has('pay-b');
    }, 'both instances serve');
    // pay-b "dies": no more keepalives, and its server goes away
    await upstreams['pay-b']!.close();
    await eventually(async () => {
      const clusters = (await (await fetch(`http://127.0.0.1:${g.adminPort}/clusters`)).json()) as { clusters: Array<{ name: string; endpoints: Array<{ address: string }> }> };
      const pay = clusters.clusters.find((c) => c.name === 'pay-v1');
      return pay?.endpoints.map((e) => e.address).join() === upstreams['pay-a']!.address;
    }, 'the lapsed instance left the gateway\'s endpoint set', 20_000);
    assert.ok(await onlyFrom(g, '/pay', 'pay-a'));
  } finally {
    keeping = false;
    await keepalive;
  }
});

test('a service with a bad expose is reported; every other service keeps being served', async () => {
  const clash = await put(cp.registry, 'thief', service([{ name: 'v1', weight: 100, endpoints: [upstreams['late-v1']!.address] }], '/shop'));
  assert.deepEqual(clash.body.problems, ['expose[0]: */shop is already exposed by service shop']);
  const page = await get(cp.registry, '/');
  assert.match(page.body, /already exposed by service shop/);
  for (const g of gateways) assert.ok(await onlyFrom(g, '/shop/x', 'shop-v2', 10), 'shop still served by its own service');
  assert.equal((await call(cp.registry, 'DELETE', '/services/thief')).status, 204);
});

test('etcd stopped: gateways keep the last routes and the outage is reported; restarted: changes flow', async () => {
  await etcd.stop();
  await eventually(async () => (await get(cp.registry, '/status')).body.store.state === 'unreachable', 'outage reported');
  for (const g of gateways) assert.ok(await onlyFrom(g, '/shop/x', 'shop-v2', 10), 'still served during the outage');
  assert.equal((await put(cp.registry, 'late', service([{ name: 'v1', weight: 100 }], '/late'))).status, 503);
  await etcd.restart();
  await eventually(async () => (await get(cp.registry, '/status')).body.store.state === 'connected', 'etcd back', 30_000);
  assert.equal((await put(cp.registry, 'late', service([{ name: 'v1', weight: 100, endpoints: [upstreams['late-v1']!.address] }], '/late'))).status, 201);
  for (const g of gateways) await eventually(async () => (await ask(g, '/late')).id === 'late-v1', 'a change after the outage reaches the gateways');
});
