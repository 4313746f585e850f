import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { healthClient, type TestHealthClient } from '../helpers/grpc-health.ts';
import { h1 } from '../helpers/clients.ts';
import { HealthStatuses } from '../../src/health/health-statuses.ts';

// grpc.health.v1 on `grpcHealth.address`, called by a real @grpc/grpc-js client: "" follows
// readiness, `cluster:<name>` follows the cluster's active health checks, unknown names are
// NOT_FOUND / SERVICE_UNKNOWN, the set follows reloads, and a drain turns everything NOT_SERVING.

let pki: TestPki;
let up: TestUpstream;
let healthy = true;
let gw: TestGateway;
let grpcPort: number;
let client: TestHealthClient;

function config(clusters: string[]): string {
  return `
grpcHealth: { address: "127.0.0.1:${grpcPort}" }
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: ${clusters[0]} } }
clusters:
${clusters
  .map(
    (name) => `  - name: ${name}
    discovery: { type: static, endpoints: ["${up.address}"] }
    connectTimeout: 1s
    healthCheck: { path: /healthz, interval: 100ms, timeout: 1s, unhealthyThreshold: 1, healthyThreshold: 1 }`,
  )
  .join('\n')}
`;
}

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      if (req.url === '/healthz') res.writeHead(healthy ? 200 : 503);
      res.end('ok');
    },
  });
  grpcPort = await freePort();
  gw = await startGateway(config(['alpha', 'beta']));
  client = healthClient(grpcPort);
});
after(async () => {
  client.close();
  await gw.close();
  await up.close();
});

test('Check: "" follows readiness, cluster:<name> each cluster, an unknown service is NOT_FOUND', async () => {
  assert.deepEqual(await client.check(''), { status: 'SERVING' });
  assert.deepEqual(await client.check('cluster:alpha'), { status: 'SERVING' });
  assert.deepEqual(await client.check('cluster:beta'), { status: 'SERVING' });
  assert.deepEqual(await client.check('cluster:nope'), { code: grpc.status.NOT_FOUND });
  assert.deepEqual(await client.check('alpha'), { code: grpc.status.NOT_FOUND });
  assert.deepEqual(await client.list(), { '': 'SERVING', 'cluster:alpha': 'SERVING', 'cluster:beta': 'SERVING' });
});

test('Watch: a cluster goes NOT_SERVING when its endpoint fails health checks, and SERVING again', async () => {
  const w = client.watch('cluster:alpha');
  await eventually(() => w.seen.length === 1, 'the current status at once');
  assert.equal(w.seen[0], 'SERVING');
  healthy = false;
  await eventually(() => w.seen.at(-1) === 'NOT_SERVING', 'NOT_SERVING after failed checks');
  assert.deepEqual(await client.check('cluster:alpha'), { status: 'NOT_SERVING' });
  assert.deepEqual(await client.check(''), { status: 'SERVING' }, 'the gateway itself stays ready');
  healthy = true;
  await eventually(() => w.seen.at(-1) === 'SERVING', 'SERVING after passing checks');
  assert.deepEqual(w.seen, ['SERVING', 'NOT_SERVING', 'SERVING'], 'one message per change, no repeats');
  assert.equal(w.ended(), null, 'the stream stays open');
  w.cancel();
});

test('the set follows reloads: an unknown service becomes known, a removed one unknown', async () => {
  // Every cluster checks the one upstream the previous test turned unhealthy and back: beta may still
  // be catching up (a full run once saw it report NOT_SERVING, then SERVING, to the watch below).
  await eventually(async () => (await client.check('cluster:beta')).status === 'SERVING', 'beta SERVING again before the watches');
  const gamma = client.watch('cluster:gamma');
  const beta = client.watch('cluster:beta');
  await eventually(() => gamma.seen.length === 1 && beta.seen.length === 1, 'first statuses').catch((err: Error) => {
    throw new Error(`${err.message}; gamma saw ${JSON.stringify(gamma.seen)}, ended ${gamma.ended()}; beta saw ${JSON.stringify(beta.seen)}, ended ${beta.ended()}`);
  });
  assert.deepEqual(gamma.seen, ['SERVICE_UNKNOWN']);
  assert.deepEqual(beta.seen, ['SERVING']);

  gw.rewrite(config(['alpha', 'gamma']));
  assert.equal((await gw.gw.reload('test')).ok, true);
  await eventually(() => gamma.seen.at(-1) === 'SERVING' && beta.seen.at(-1) === 'SERVICE_UNKNOWN', 'watchers told of the new set');
  assert.equal(gamma.ended(), null, 'a Watch on an unknown service stays open until it becomes known');
  assert.deepEqual(await client.check('cluster:beta'), { code: grpc.status.NOT_FOUND });
  assert.deepEqual(await client.list(), { '': 'SERVING', 'cluster:alpha': 'SERVING', 'cluster:gamma': 'SERVING' });
  gamma.cancel();
  beta.cancel();
});

test('HealthStatuses: replace notifies only changes, removal is SERVICE_UNKNOWN, unwatch is idempotent', () => {
  const s = new HealthStatuses();
  const seen: string[] = [];
  const stop = s.watch('x', (v) => seen.push(v));
  s.replace(new Map([['x', 'SERVING']]));
  s.replace(new Map([['x', 'SERVING'], ['y', 'NOT_SERVING']]));
  s.replace(new Map([['y', 'NOT_SERVING']]));
  s.replace(new Map([['x', 'NOT_SERVING']]));
  assert.deepEqual(seen, ['SERVICE_UNKNOWN', 'SERVING', 'SERVICE_UNKNOWN', 'NOT_SERVING']);
  assert.equal(s.watching, 1);
  stop();
  stop();
  assert.equal(s.watching, 0);
  s.replace(new Map([['x', 'SERVING']]));
  assert.equal(seen.length, 4);
});

test('the set follows xDS: a cluster pushed over CDS appears, EDS empties and refills it, a removed one is unknown', async () => {
  const { startXdsServer } = await import('../helpers/xds-server.ts');
  const { CDS, EDS, RDS, edsCluster, loadAssignment, routeConfig, routeTo, xdsGatewayConfig } = await import('../helpers/xds-resources.ts');
  const x = await startXdsServer();
  const port = await freePort();
  x.set(CDS, [edsCluster('svc')]);
  x.set(EDS, [loadAssignment('svc', [up.address])]);
  x.set(RDS, [routeConfig('edge', [routeTo('/', 'svc')])]);
  const xgw = await startGateway(`grpcHealth: { address: "127.0.0.1:${port}" }\n${xdsGatewayConfig(pki, x.address)}`);
  const c = healthClient(port);
  try {
    await eventually(async () => (await c.check('')).status === 'SERVING', 'ready once the xDS routes serve');
    const svc = c.watch('cluster:svc');
    const other = c.watch('cluster:other');
    await eventually(() => svc.seen.at(-1) === 'SERVING' && other.seen.at(-1) === 'SERVICE_UNKNOWN', 'first statuses');

    x.set(EDS, [loadAssignment('svc', []), loadAssignment('other', [up.address])]);
    x.set(CDS, [edsCluster('svc'), edsCluster('other')]);
    x.set(RDS, [routeConfig('edge', [routeTo('/a', 'svc'), routeTo('/', 'other')])]);
    await eventually(() => svc.seen.at(-1) === 'NOT_SERVING' && other.seen.at(-1) === 'SERVING', 'EDS emptied svc; CDS added other');

    x.set(RDS, [routeConfig('edge', [routeTo('/', 'other')])]);
    x.set(CDS, [edsCluster('other')]);
    await eventually(() => svc.seen.at(-1) === 'SERVICE_UNKNOWN', 'svc left the set');
    assert.deepEqual(await c.check('cluster:svc'), { code: grpc.status.NOT_FOUND });
    svc.cancel();
    other.cancel();
  } finally {
    c.close();
    await xgw.close();
    await x.close();
  }
});

test('drain: every service turns NOT_SERVING at once, while the listeners still serve', async () => {
  const overall = client.watch('');
  const alpha = client.watch('cluster:alpha');
  await eventually(() => overall.seen.length === 1 && alpha.seen.length === 1, 'first statuses');
  const stopped = gw.gw.stop(1500, 1000); // the last test: the gateway drains for good
  await eventually(() => overall.seen.at(-1) === 'NOT_SERVING' && alpha.seen.at(-1) === 'NOT_SERVING', 'NOT_SERVING on drain');
  assert.deepEqual(overall.seen, ['SERVING', 'NOT_SERVING']);
  assert.deepEqual(await client.check(''), { status: 'NOT_SERVING' });
  const served = await h1(pki, gw.httpsPort, '/during-drain');
  assert.equal(served.status, 200, 'drain.delay: still serving');
  assert.equal(served.headers.connection, 'close', 'HTTP/1.1 keep-alive clients are told to reconnect');
  overall.cancel();
  alpha.cancel();
  await stopped;
});
