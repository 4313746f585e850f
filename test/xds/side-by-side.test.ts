import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gatewayPreamble, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { idUpstream } from '../helpers/traffic.ts';
import type { TestUpstream } from '../helpers/upstream.ts';
import { startXdsServer, type TestXdsServer } from '../helpers/xds-server.ts';
import { CDS, EDS, edsCluster, loadAssignment, RDS, routeConfig, routeTo } from '../helpers/xds-resources.ts';

// YAML and xDS side by side (SPEC "xDS"): RDS virtual hosts are served beside the YAML ones; an xDS
// virtual host or cluster replaces the YAML one of the same name; a YAML cluster with
// `discovery.type: eds` takes its endpoints from EDS; the admin API says where each came from; a
// config reload changes the subscription.

describe('xDS: YAML and xDS side by side', () => {
  let pki: TestPki;
  let xds: TestXdsServer;
  let gw: TestGateway;
  const up: Record<string, TestUpstream> = {};

  const yaml = (routeConfigs: string) => `${gatewayPreamble(pki)}
xds:
  server: "${xds.address}"
  node: { id: gatehouse-test, cluster: edge }
  routeConfigs: [${routeConfigs}]
  initialFetchTimeout: 5s
virtualHosts:
  - name: yaml-site
    domains: ["yaml.local"]
    routes:
      - { name: shared, match: { prefix: /shared }, route: { cluster: shared } }
      - { name: site, match: { prefix: / }, route: { cluster: yaml-backend } }
  - name: replaced
    domains: ["replaced.local"]
    routes:
      - { name: old, match: { prefix: / }, directResponse: { status: 200, body: "from yaml" } }
  - name: fallback
    domains: ["*"]
    routes:
      - { name: eds, match: { prefix: / }, route: { cluster: yaml-eds } }
clusters:
  - { name: yaml-backend, discovery: { type: static, endpoints: ["${up.yaml!.address}"] } }
  - { name: shared, discovery: { type: static, endpoints: ["${up.yaml!.address}"] } }
  - { name: yaml-eds, discovery: { type: eds, serviceName: yaml-eds-endpoints } }
`;

  before(async () => {
    pki = await testPki();
    for (const id of ['yaml', 'xds', 'shared-xds', 'eds', 'second']) up[id] = await idUpstream(id);
    xds = await startXdsServer();
    xds.set(RDS, [
      { name: 'edge', virtual_hosts: [
        { name: 'xds-site', domains: ['xds.local'], routes: [routeTo('/', 'svc')] },
        { name: 'replaced', domains: ['replaced.local'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'from xds' } } }] },
        { name: 'uses-shared', domains: ['shared.local'], routes: [routeTo('/', 'shared')] },
      ] },
      routeConfig('second', [routeTo('/', 'second')], { vhost: 'second-site', domains: ['second.local'] }),
    ]);
    xds.set(CDS, [edsCluster('svc'), edsCluster('shared'), edsCluster('second')]);
    xds.set(EDS, [
      loadAssignment('svc', [up.xds!.address]),
      loadAssignment('shared', [up['shared-xds']!.address]),
      loadAssignment('yaml-eds-endpoints', [up.eds!.address]),
      loadAssignment('second', [up.second!.address]),
    ]);
    gw = await startGateway(yaml('edge'));
    await eventually(() => gw.gw.ready, 'ready');
  });

  after(async () => {
    await gw?.close();
    await xds?.close();
    for (const u of Object.values(up)) await u.close();
  });

  const idAt = async (host: string, path = '/') => {
    const r = await h1(pki, gw.httpsPort, path, { headers: { host } });
    return r.headers['x-upstream-id'] ?? r.body;
  };

  it('serves YAML and xDS virtual hosts together; xDS names win', async () => {
    assert.equal(await idAt('yaml.local'), 'yaml');
    assert.equal(await idAt('xds.local'), 'xds');
    assert.equal(await idAt('replaced.local'), 'from xds', 'the xDS virtual host replaced the YAML one of the same name');
    // The xDS cluster "shared" replaces the YAML one once warm (the YAML one serves until then): the
    // YAML route to it reaches the xDS endpoints.
    await eventually(async () => (await idAt('yaml.local', '/shared')) === 'shared-xds', 'the xDS cluster replaced the YAML one');
    assert.equal(await idAt('shared.local'), 'shared-xds');
    // A YAML cluster with discovery.type eds gets its endpoints from EDS.
    assert.equal(await idAt('anything.else'), 'eds');
    const r = await h2(pki, gw.httpsPort, '/', { headers: { ':authority': 'xds.local' } });
    assert.equal(r.headers['x-upstream-id'], 'xds', 'over HTTP/2 too');
  });

  it('the admin API says where routes and clusters came from', async () => {
    const get = async (p: string) => (await fetch(`http://127.0.0.1:${gw.adminPort}${p}`)).json() as Promise<any>;
    const cfg = await get('/config');
    const vhOrigin = Object.fromEntries(cfg.config.virtualHosts.map((v: any) => [v.name, v.origin]));
    assert.deepEqual(vhOrigin, { 'xds-site': 'xds', replaced: 'xds', 'uses-shared': 'xds', 'yaml-site': 'yaml', fallback: 'yaml' });
    const clOrigin = Object.fromEntries(cfg.config.clusters.map((c: any) => [c.name, c.origin]));
    assert.deepEqual(clOrigin, { 'yaml-backend': 'yaml', 'yaml-eds': 'yaml', svc: 'xds', shared: 'xds' });
    assert.equal(cfg.xds.connected, true);
    assert.deepEqual(cfg.xds.versions, { rds: '1', cds: '1', eds: '1' });
    // GET /routes (docs/observability.md): every compiled route with its origin.
    const hosts = (await get('/routes')).virtualHosts as any[];
    const routes = hosts.flatMap((vh) => vh.routes.map((r: any) => [vh.name, r.name, r.origin, r.action.clusters?.map((c: any) => c.cluster).join() ?? '']));
    assert.deepEqual(
      routes.filter(([vh]) => vh === 'yaml-site' || vh === 'xds-site'),
      [
        ['xds-site', 'to-svc_', 'xds', 'svc'],
        ['yaml-site', 'shared', 'yaml', 'shared'],
        ['yaml-site', 'site', 'yaml', 'yaml-backend'],
      ],
    );
    const clusters = (await get('/clusters')).clusters as any[];
    assert.equal(clusters.find((c) => c.name === 'svc').origin, 'xds');
    assert.equal(clusters.find((c) => c.name === 'yaml-backend').origin, 'yaml');
  });

  it('a config reload changes the subscription: another RouteConfiguration', async () => {
    const from = xds.requests.length;
    gw.rewrite(yaml('edge, second'));
    await eventually(async () => (await idAt('second.local')) === 'second', 'the second RouteConfiguration serves', 20_000);
    assert.deepEqual(xds.requestsOf(RDS, from)[0]!.resource_names, ['edge', 'second']);
    assert.equal(await idAt('xds.local'), 'xds', 'the first one still serves');
    gw.rewrite(yaml('second'));
    await eventually(async () => (await idAt('xds.local')) !== 'xds', 'the first RouteConfiguration is gone', 20_000);
    assert.equal(await idAt('second.local'), 'second');
    assert.equal(await idAt('replaced.local'), 'from yaml', 'the YAML virtual host is back');
  });
});
