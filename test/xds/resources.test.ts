import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeXds } from '../../src/config/merge.ts';
import { clusterSchema, gatewayConfigSchema, virtualHostSchema, type ClusterConfig, type VirtualHostConfig } from '../../src/config/schema.ts';
import { Backoff } from '../../src/xds/backoff.ts';
import { EndpointStore } from '../../src/xds/endpoint-store.ts';
import { TypeSubscription } from '../../src/xds/protocol.ts';
import { XdsResources } from '../../src/xds/resources.ts';
import type { ClusterFragment } from '../../src/xds/translate/cluster.ts';
import type { RouteConfigFragment } from '../../src/xds/translate/route.ts';

// The client's decisions without a network: warming and what serves (a fake clock), the protocol
// bookkeeping of one type, the reconnect backoff, and the YAML + xDS merge.

const vh = (name: string, domains: string[], cluster: string): VirtualHostConfig =>
  virtualHostSchema.parse({ name, domains, routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster } }] });
const rc = (name: string, cluster: string): RouteConfigFragment => ({ name, virtualHosts: [vh(`${name}-vh`, ['*'], cluster)], clusters: [cluster] });
const eds = (name: string): ClusterFragment => ({
  name,
  cluster: clusterSchema.parse({ name, discovery: { type: 'eds', serviceName: name } }),
  edsName: name,
  files: [],
});

describe('xDS resources: warming and what serves', () => {
  function setup(timeoutMs = 1000) {
    let now = 1_000_000;
    const store = new EndpointStore();
    const r = new XdsResources(store, ['edge'], new Set(['yaml-cluster']), new Set(), timeoutMs, () => now);
    const subscribe = () => r.subscribed(r.cdsNames(), r.edsNames());
    return { r, store, subscribe, tick: (ms: number) => (now += ms), now: () => now };
  }

  it('a route waits for its cluster and the cluster for its endpoints', () => {
    const { r, store, subscribe } = setup();
    r.setRoute(rc('edge', 'svc'));
    subscribe();
    assert.deepEqual([...r.cdsNames()], ['svc']);
    let p = r.plan();
    assert.equal(p.fragments, null, 'nothing serves before the cluster is known');
    assert.match(p.warming[0]!, /waiting for cluster\(s\) svc/);
    r.setCluster(eds('svc'));
    subscribe();
    assert.deepEqual([...r.edsNames()], ['svc']);
    p = r.plan();
    assert.equal(p.fragments, null, 'the cluster waits for its endpoints');
    assert.ok(p.warming.some((w) => w.includes('EDS svc')));
    store.set('svc', [{ host: '10.0.0.1', port: 80, weight: 1 }]);
    p = r.plan();
    assert.ok(p.fragments);
    assert.deepEqual(p.fragments.virtualHosts.map((v) => `${v.routeConfig}/${v.host.name}`), ['edge/edge-vh']);
    assert.deepEqual(p.fragments.clusters.map((c) => c.name), ['svc']);
    assert.ok(r.allRoutesLive);
    assert.equal(r.plan().fragments, null, 'no change, no new snapshot');
  });

  it('an update keeps the previous version serving until its new cluster is warm, or the timeout passed', () => {
    const { r, store, subscribe, tick } = setup(1000);
    r.setRoute(rc('edge', 'a'));
    r.setCluster(eds('a'));
    subscribe();
    store.set('a', [{ host: '10.0.0.1', port: 80, weight: 1 }]);
    assert.ok(r.plan().fragments);
    r.setRoute(rc('edge', 'b'));
    subscribe();
    assert.deepEqual([...r.cdsNames()].sort(), ['a', 'b'], 'live and pending clusters are both subscribed');
    let p = r.plan();
    assert.equal(p.fragments, null, 'the route to a cluster not yet known waits');
    assert.equal(p.recheckAt, 1_000_000 + 1000);
    tick(999);
    assert.equal(r.plan().fragments, null);
    tick(1);
    p = r.plan();
    assert.ok(p.fragments, 'after initialFetchTimeout the route serves without its cluster (503)');
    assert.deepEqual(p.fragments.virtualHosts[0]!.host.routes[0]!.route!.cluster, 'b');
    subscribe();
    assert.deepEqual([...r.cdsNames()], ['b'], 'the old cluster is no longer asked for');
  });

  it('a YAML cluster needs no warming; a removed cluster leaves the snapshot', () => {
    const { r, store, subscribe } = setup();
    r.setRoute(rc('edge', 'yaml-cluster'));
    subscribe();
    assert.ok(r.plan().fragments, 'a route to a YAML cluster serves at once');
    r.setRoute({ ...rc('edge', 'x'), clusters: ['x'] });
    r.setCluster(eds('x'));
    subscribe();
    store.set('x', []);
    assert.deepEqual(r.plan().fragments!.clusters.map((c) => c.name), ['x']);
    r.removeCluster('x');
    assert.deepEqual(r.plan().fragments!.clusters, []);
  });
});

describe('xDS protocol bookkeeping', () => {
  it('ACK takes the version and nonce; NACK keeps the version; a new stream forgets the nonce', () => {
    const s = new TypeSubscription('t');
    assert.equal(s.setNames(['b', 'a', 'a']), true);
    assert.equal(s.setNames(['a', 'b']), false);
    assert.deepEqual(s.subscribe(), { version_info: '', resource_names: ['a', 'b'], type_url: 't', response_nonce: '' });
    const resp = { version_info: '7', resources: [], type_url: 't', nonce: 'n1' };
    assert.deepEqual(s.ack(resp), { version_info: '7', resource_names: ['a', 'b'], type_url: 't', response_nonce: 'n1' });
    assert.deepEqual(s.nack({ ...resp, version_info: '8', nonce: 'n2' }, 'bad'), {
      version_info: '7',
      resource_names: ['a', 'b'],
      type_url: 't',
      response_nonce: 'n2',
      error_detail: { code: 3, message: 'bad' },
    });
    s.newStream();
    assert.deepEqual(s.subscribe(), { version_info: '7', resource_names: ['a', 'b'], type_url: 't', response_nonce: '' });
  });

  it('backoff grows exponentially with jitter up to its cap, and resets', () => {
    const low = new Backoff(100, 1000, () => 0);
    assert.deepEqual([low.next(), low.next(), low.next(), low.next(), low.next(), low.next()], [50, 100, 200, 400, 500, 500]);
    const high = new Backoff(100, 1000, () => 1);
    assert.deepEqual([high.next(), high.next(), high.next()], [100, 200, 400]);
    high.reset();
    assert.equal(high.next(), 100);
  });
});

describe('YAML + xDS merge', () => {
  const yaml = gatewayConfigSchema.parse({
    listeners: [{ name: 'l', address: '127.0.0.1:8443', tls: { certificates: [{ certFile: '/c', keyFile: '/k' }] } }],
    virtualHosts: [
      { name: 'site', domains: ['www.example.com', 'api.example.com'], routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'backend' } }] },
      { name: 'shared', domains: ['shared.example.com'], routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'backend' } }] },
      { name: 'catchall', domains: ['*'], routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'backend' } }] },
    ],
    clusters: [
      { name: 'backend', discovery: { type: 'static', endpoints: ['127.0.0.1:1'] } },
      { name: 'overridden', discovery: { type: 'static', endpoints: ['127.0.0.1:2'] } },
    ],
  });
  const cluster = (name: string): ClusterConfig => clusterSchema.parse({ name, discovery: { type: 'eds' } });

  it('xDS names replace YAML ones; xDS takes the domains it serves; unknown clusters become empty ones', () => {
    const m = mergeXds(yaml, {
      virtualHosts: [
        { routeConfig: 'a', host: vh('shared', ['shared.example.com'], 'overridden') },
        { routeConfig: 'a', host: vh('api', ['api.example.com'], 'ghost') },
        { routeConfig: 'b', host: vh('api', ['b.example.com', 'api.example.com'], 'overridden') },
      ],
      clusters: [cluster('overridden')],
    });
    assert.deepEqual(
      m.config.virtualHosts.map((v) => [v.name, v.domains]),
      [
        ['shared', ['shared.example.com']],
        ['api', ['api.example.com']],
        ['b/api', ['b.example.com']],
        ['site', ['www.example.com']],
        ['catchall', ['*']],
      ],
    );
    assert.deepEqual(m.config.clusters.map((c) => [c.name, c.discovery.type]), [['backend', 'static'], ['overridden', 'eds'], ['ghost', 'eds']]);
    assert.deepEqual([...m.origins.virtualHosts], ['shared', 'api', 'b/api']);
    assert.deepEqual([...m.origins.clusters], ['overridden', 'ghost']);
    assert.ok(m.notes.some((n) => n.includes('"ghost"')));
    assert.ok(m.notes.some((n) => n.includes('"api.example.com"') && n.includes('site')));
    assert.ok(Object.isFrozen(m.config.virtualHosts));
  });
});
