import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { h1 } from '../helpers/clients.ts';
import { idUpstream } from '../helpers/traffic.ts';
import { startLoad } from '../helpers/load.ts';
import type { TestUpstream } from '../helpers/upstream.ts';
import { startXdsServer, type TestXdsServer } from '../helpers/xds-server.ts';
import { CDS, EDS, edsCluster, loadAssignment, RDS, routeConfig, routeTo, xdsGatewayConfig } from '../helpers/xds-resources.ts';

// xDS driving real traffic: pushes take effect with no failed request, EDS changes reach the
// balancer without a new generation, the server can go away and come back, readiness waits for the
// first routes, and a route only goes live once its cluster is warm.

const admin = async (gw: TestGateway, path: string) => (await fetch(`http://127.0.0.1:${gw.adminPort}${path}`)).json() as Promise<any>;
const readyz = async (gw: TestGateway) => (await fetch(`http://127.0.0.1:${gw.adminPort}/readyz`)).status;

describe('xDS and traffic', () => {
  let pki: TestPki;
  const cleanup: Array<() => Promise<void>> = [];
  const upstream = async (id: string) => {
    const u = await idUpstream(id);
    cleanup.push(() => u.close());
    return u;
  };
  const server = async () => {
    const x = await startXdsServer();
    cleanup.push(() => x.close());
    return x;
  };
  const gateway = async (yaml: string) => {
    const g = await startGateway(yaml);
    cleanup.push(() => g.close());
    return g;
  };
  /**
   * GET `path` from `workers` loops back to back until stop(), keeping every answer in order with the
   * upstream that served it (`x-upstream-id`) and every transport error: traffic across a push or a restart.
   */
  const steadyLoad = (gw: TestGateway, path: string, workers = 4) => {
    const results: Array<{ status: number; upstream: string | undefined }> = [];
    const errors: string[] = [];
    const run = startLoad({
      pki,
      port: gw.httpsPort,
      path,
      concurrency: workers,
      pauseMs: 0,
      onAnswer: (a) => {
        if ('error' in a) return void errors.push(a.error);
        const id = a.headers['x-upstream-id'];
        results.push({ status: a.status, upstream: Array.isArray(id) ? id[0] : id });
      },
    });
    cleanup.push(async () => void (await run.stop()));
    return { results, errors, stop: run.stop };
  };
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  after(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  /** RDS `edge` → `routes`, CDS/EDS for each named upstream. */
  function serve(x: TestXdsServer, routes: Array<Record<string, unknown>>, clusters: Record<string, TestUpstream[]>): void {
    x.set(CDS, Object.keys(clusters).map((c) => edsCluster(c)));
    x.set(EDS, Object.entries(clusters).map(([c, us]) => loadAssignment(c, us.map((u) => u.address))));
    x.set(RDS, [routeConfig('edge', routes)]);
  }

  it('a canary weight pushed over RDS takes effect with zero failed requests under load', async () => {
    pki = await testPki();
    const [v1, v2] = [await upstream('v1'), await upstream('v2')];
    const x = await server();
    serve(x, [routeTo('/', { v1: 100, v2: 0 })], { v1: [v1], v2: [v2] });
    const gw = await gateway(xdsGatewayConfig(pki, x.address));
    await eventually(() => gw.gw.ready, 'ready');
    const load = steadyLoad(gw, '/checkout');
    await eventually(() => load.results.length >= 50, 'load running');
    assert.ok(load.results.every((r) => r.upstream === 'v1'), 'all traffic on v1 before the push');

    const pushedAt = Date.now();
    const pushedIndex = load.results.length;
    x.set(RDS, [routeConfig('edge', [routeTo('/', { v1: 0, v2: 100 })])]);
    // The split moved when a run of answers all come from v2.
    await eventually(() => {
      const tail = load.results.slice(-30);
      return tail.length === 30 && load.results.length - pushedIndex > 30 && tail.every((r) => r.upstream === 'v2');
    }, 'traffic on v2');
    const tookMs = Date.now() - pushedAt;
    await load.stop();
    assert.deepEqual(load.errors, []);
    assert.deepEqual([...new Set(load.results.map((r) => r.status))], [200], 'every request answered 200 during the push');
    // Reported, not asserted (no timing assertions in tests; the bench measures push-to-effect).
    console.log(`canary push took effect within ${tookMs} ms (${load.results.length} requests, 0 failed)`);
  });

  it('an EDS update reaches the balancer without a new generation: a removed endpoint gets no more traffic', async () => {
    pki = await testPki();
    const [a, b] = [await upstream('a'), await upstream('b')];
    const x = await server();
    serve(x, [routeTo('/', 'svc')], { svc: [a, b] });
    const gw = await gateway(xdsGatewayConfig(pki, x.address));
    await eventually(() => gw.gw.ready, 'ready');
    const seen = new Set<string>();
    await eventually(async () => {
      seen.add(String((await h1(pki, gw.httpsPort, '/')).headers['x-upstream-id']));
      return seen.size === 2;
    }, 'both endpoints serve');

    const generation = gw.gw.current!.version;
    const served = b.seen.length;
    x.set(EDS, [loadAssignment('svc', [a.address])]);
    await eventually(async () => (await admin(gw, '/clusters')).clusters.find((c: any) => c.name === 'svc').endpoints.length === 1, 'one endpoint left');
    for (let i = 0; i < 20; i++) assert.equal((await h1(pki, gw.httpsPort, '/')).headers['x-upstream-id'], 'a');
    assert.equal(b.seen.length, served, 'the removed endpoint received nothing');
    assert.equal(gw.gw.current!.version, generation, 'no recompile for an EDS update');

    // Weights and health status from EDS: an UNHEALTHY endpoint gets nothing either.
    x.set(EDS, [loadAssignment('svc', [a.address, { address: b.address, health: 'UNHEALTHY' }])]);
    const c = await upstream('c');
    x.set(EDS, [loadAssignment('svc', [{ address: c.address, weight: 5 }, { address: b.address, health: 'DRAINING' }])]);
    await eventually(async () => (await h1(pki, gw.httpsPort, '/')).headers['x-upstream-id'] === 'c', 'the new endpoint serves');
    const summary = (await admin(gw, '/clusters')).clusters.find((cl: any) => cl.name === 'svc');
    assert.deepEqual(summary.endpoints.map((e: any) => [e.address, e.weight]), [[c.address, 5]]);
    assert.equal(summary.origin, 'xds');
  });

  it('an RDS update recompiles only the virtual hosts that changed', async () => {
    pki = await testPki();
    const a = await upstream('a');
    const x = await server();
    const rc = (tag: string) => ({
      name: 'edge',
      virtual_hosts: [
        { name: 'steady', domains: ['steady.local'], routes: [routeTo('/', 'svc')] },
        { name: 'moving', domains: ['*'], routes: [routeTo('/', 'svc', { host_rewrite_literal: `${tag}.internal` })] },
      ],
    });
    x.set(CDS, [edsCluster('svc')]);
    x.set(EDS, [loadAssignment('svc', [a.address])]);
    x.set(RDS, [rc('one')]);
    const gw = await gateway(xdsGatewayConfig(pki, x.address));
    await eventually(() => gw.gw.ready, 'ready');
    const compiled = (name: string) => gw.gw.current!.virtualHosts.find((v) => v.name === name)!;
    const [steady, moving, version] = [compiled('steady'), compiled('moving'), gw.gw.current!.version];
    x.set(RDS, [rc('two')]);
    await eventually(() => gw.gw.current!.version > version, 'the update applied');
    assert.equal(compiled('steady'), steady, 'the unchanged virtual host kept its compiled form');
    assert.notEqual(compiled('moving'), moving);
    assert.equal(JSON.parse((await h1(pki, gw.httpsPort, '/')).body).headers.host, 'two.internal');
  });

  it('the server killed and restarted: serving and ready throughout, then re-subscribed and ACKing', async () => {
    pki = await testPki();
    const a = await upstream('a');
    const x = await server();
    serve(x, [routeTo('/', 'svc')], { svc: [a] });
    const gw = await gateway(xdsGatewayConfig(pki, x.address));
    await eventually(() => gw.gw.ready, 'ready');
    const load = steadyLoad(gw, '/', 2);
    await eventually(() => load.results.length >= 20, 'load running');

    await x.kill();
    await eventually(async () => (await admin(gw, '/config')).xds.connected === false, 'the client noticed');
    const during = load.results.length;
    await eventually(() => load.results.length >= during + 50, 'serving while the server is away');
    assert.equal(await readyz(gw), 200, 'readiness stays up while the server is away');
    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    assert.match(metrics, /gatehouse_xds_connected 0/);

    const before = x.requests.length;
    await x.start(); // same port
    await eventually(() => x.requestsOf(EDS, before).some((r) => r.response_nonce !== ''), 'ACKs on the new stream', 30_000);
    assert.ok(x.requestsOf(RDS, before).some((r) => r.version_info === '1' && r.response_nonce === ''), 're-subscribed with the last version');
    // The new stream carries updates.
    const b = await upstream('b');
    x.set(EDS, [loadAssignment('svc', [b.address])]);
    await eventually(() => load.results.slice(-10).every((r) => r.upstream === 'b') && load.results.at(-1)?.upstream === 'b', 'the update after the restart applies');
    await load.stop();
    assert.deepEqual(load.errors, []);
    assert.deepEqual([...new Set(load.results.map((r) => r.status))], [200]);
    assert.equal((await admin(gw, '/config')).xds.connected, true);
  });

  it('readiness waits for the first routes', async () => {
    pki = await testPki();
    const a = await upstream('a');
    const x = await server();
    x.mute(RDS);
    serve(x, [routeTo('/', 'svc')], { svc: [a] });
    const gw = await gateway(xdsGatewayConfig(pki, x.address, { initialFetchTimeout: '60s' }));
    await eventually(() => x.requestsOf(RDS).length > 0, 'subscribed');
    assert.equal(await readyz(gw), 503);
    assert.equal((await h1(pki, gw.httpsPort, '/')).status, 404, 'no routes yet');
    x.mute(RDS, false);
    await eventually(async () => (await readyz(gw)) === 200, 'ready once routes arrived');
    assert.equal((await h1(pki, gw.httpsPort, '/')).headers['x-upstream-id'], 'a');
  });

  it('initialFetchTimeout: ready with what it has when the routes do not come', async () => {
    pki = await testPki();
    const x = await server();
    x.mute(RDS);
    const gw = await gateway(xdsGatewayConfig(pki, x.address, { initialFetchTimeout: '1s' }));
    assert.equal(await readyz(gw), 503);
    await eventually(async () => (await readyz(gw)) === 200, 'ready after the timeout');
    assert.equal(x.requestsOf(RDS).filter((r) => r.response_nonce !== '').length, 0, 'the routes never came');
  });

  it('a route goes live only once its new cluster is warm (make before break)', async () => {
    pki = await testPki();
    const [old, fresh] = [await upstream('old'), await upstream('fresh')];
    const x = await server();
    serve(x, [routeTo('/', 'old')], { old: [old] });
    const gw = await gateway(xdsGatewayConfig(pki, x.address));
    await eventually(() => gw.gw.ready, 'ready');

    // The new cluster's endpoints are held back: the route to it must wait.
    x.mute(EDS);
    x.set(EDS, [loadAssignment('old', [old.address]), loadAssignment('fresh', [fresh.address])]);
    x.set(CDS, [edsCluster('old'), edsCluster('fresh')]);
    x.set(RDS, [routeConfig('edge', [routeTo('/', 'fresh')])]);
    await eventually(async () => ((await admin(gw, '/config')).xds.warming as string[]).some((w) => w.includes('fresh')), 'warming shown');
    for (let i = 0; i < 10; i++) assert.equal((await h1(pki, gw.httpsPort, '/')).headers['x-upstream-id'], 'old', 'the old route serves while the cluster warms');

    x.mute(EDS, false);
    await eventually(async () => (await h1(pki, gw.httpsPort, '/')).headers['x-upstream-id'] === 'fresh', 'the new route serves once warm');
    await eventually(() => x.requestsOf(CDS).at(-1)!.resource_names.join() === 'fresh', 'the old cluster unsubscribed');
  });

  it('a route to a cluster the server never sends answers 503 once initialFetchTimeout passed', async () => {
    pki = await testPki();
    const x = await server();
    x.set(CDS, []);
    x.set(RDS, [routeConfig('edge', [routeTo('/', 'ghost')])]);
    const gw = await gateway(xdsGatewayConfig(pki, x.address, { initialFetchTimeout: '1s' }));
    await eventually(async () => (await h1(pki, gw.httpsPort, '/')).status === 503, 'served as an empty cluster');
    const c = (await admin(gw, '/clusters')).clusters.find((cl: any) => cl.name === 'ghost');
    assert.deepEqual([c.origin, c.endpoints], ['xds', []]);
  });
});
