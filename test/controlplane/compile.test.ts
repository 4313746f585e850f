import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegistry, integerWeights, type CompileResult } from '../../src/controlplane/compile.ts';
import { packAny, unpackAny, TypeUrls } from '../../src/grpc/protos.ts';
import { doc, OPTIONS, registry } from './fixtures.ts';

// The compiler is pure: registry state in, Envoy resources and per-service problems out.

const checkout = (extra: Record<string, unknown> = {}) =>
  doc({
    name: 'checkout',
    namespace: 'shop',
    versions: [{ name: 'v1', weight: 90, endpoints: ['10.0.0.1:9443'] }, { name: 'v2', weight: 10 }],
    expose: [{ domains: ['shop.example.com'], prefix: '/checkout', timeout: '10s', retries: { attempts: 2 } }],
    ...extra,
  });

type Rc = { name: string; virtual_hosts: Array<{ name: string; domains: string[]; routes: Array<{ name: string; match: { prefix: string }; route: Record<string, any> }> }> };

function rc(result: CompileResult, name = 'gatehouse'): Rc {
  const r = result.resources.routeConfigurations.get(name);
  assert.ok(r, `route configuration ${name} compiled`);
  return r as unknown as Rc;
}

test('a service becomes weighted routes, one mTLS EDS cluster per version and its endpoints', () => {
  const result = compileRegistry(registry([checkout()], { 'checkout/v2': ['10.0.0.7:9443'] }, 42), OPTIONS);
  assert.equal(result.revision, 42);
  assert.deepEqual(result.services.get('checkout'), {
    problems: [],
    clusters: ['checkout-v1', 'checkout-v2'],
    routes: [{ routeConfig: 'gatehouse', domain: 'shop.example.com', prefix: '/checkout' }],
  });
  assert.deepEqual(rc(result), {
    name: 'gatehouse',
    virtual_hosts: [
      {
        name: 'shop.example.com',
        domains: ['shop.example.com'],
        routes: [
          {
            name: 'checkout/0',
            match: { prefix: '/checkout' },
            route: {
              weighted_clusters: { clusters: [{ name: 'checkout-v1', weight: { value: 90 } }, { name: 'checkout-v2', weight: { value: 10 } }] },
              timeout: { seconds: 10, nanos: 0 },
              retry_policy: { retry_on: 'connect-failure,refused-stream,retriable-status-codes', num_retries: { value: 2 }, retriable_status_codes: [503] },
            },
          },
        ],
      },
    ],
  });
  assert.deepEqual(result.resources.clusters.get('checkout-v1'), {
    name: 'checkout-v1',
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'checkout-v1' },
    lb_policy: 'ROUND_ROBIN',
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': TypeUrls.upstreamTlsContext,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: '/etc/gatehouse/gatehouse.crt' }, private_key: { filename: '/etc/gatehouse/gatehouse.key' } }],
          validation_context: {
            trusted_ca: { filename: '/etc/gatehouse/ca.crt' },
            // no identity given: the trust domain's default for the service
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://mesh.local/ns/shop/sa/checkout' } }],
          },
        },
      },
    },
  });
  assert.deepEqual(result.resources.clusterLoadAssignments.get('checkout-v1'), {
    cluster_name: 'checkout-v1',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9443 } } } }] }],
  });
  assert.deepEqual(result.resources.clusterLoadAssignments.get('checkout-v2'), {
    cluster_name: 'checkout-v2',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.7', port_value: 9443 } } } }] }],
  });
});

test('table: route actions from versions and expose entries', () => {
  const cases: Array<{ what: string; service: Record<string, unknown>; route: Record<string, unknown> }> = [
    {
      what: 'one version: a plain cluster, whatever its weight',
      service: { name: 'a', versions: [{ name: 'v1' }], expose: [{ domains: ['a.test'] }] },
      route: { cluster: 'a-v1' },
    },
    {
      what: 'weight 0 stays listed (its cluster stays warm for the next shift)',
      service: { name: 'a', versions: [{ name: 'v1', weight: 0 }, { name: 'v2', weight: 100 }], expose: [{ domains: ['a.test'] }] },
      route: { weighted_clusters: { clusters: [{ name: 'a-v1', weight: { value: 0 } }, { name: 'a-v2', weight: { value: 100 } }] } },
    },
    {
      what: 'fractional weights become basis points',
      service: { name: 'a', versions: [{ name: 'v1', weight: 0.5 }, { name: 'v2', weight: 1.5 }], expose: [{ domains: ['a.test'] }] },
      route: { weighted_clusters: { clusters: [{ name: 'a-v1', weight: { value: 2500 } }, { name: 'a-v2', weight: { value: 7500 } }] } },
    },
    {
      what: 'retries with named conditions, a status and a per-try timeout; prefix rewrite; sub-second timeout',
      service: {
        name: 'a',
        versions: [{ name: 'v1' }],
        expose: [{ domains: ['a.test'], prefix: '/a', prefixRewrite: '/', timeout: '1.5s', retries: { attempts: 3, perTryTimeout: '250ms', retryOn: ['reset', 'gateway-error', 429] } }],
      },
      route: {
        cluster: 'a-v1',
        timeout: { seconds: 1, nanos: 500_000_000 },
        prefix_rewrite: '/',
        retry_policy: { retry_on: 'reset,gateway-error,retriable-status-codes', num_retries: { value: 3 }, retriable_status_codes: [429], per_try_timeout: { seconds: 0, nanos: 250_000_000 } },
      },
    },
  ];
  for (const c of cases) {
    const result = compileRegistry(registry([doc(c.service)]), OPTIONS);
    assert.deepEqual(rc(result).virtual_hosts[0]!.routes[0]!.route, c.route, c.what);
  }
});

test('integer weights are kept; fractional ones are scaled to shares of 10,000', () => {
  assert.deepEqual(integerWeights([90, 10]), [90, 10]);
  assert.deepEqual(integerWeights([1 / 3, 2 / 3]), [3333, 6667]);
  assert.deepEqual(integerWeights([0.00001, 0]), [10000, 0]);
});

test('static endpoints and registered instances together, sorted, without duplicates; an SRV version passes its name through', () => {
  const svc = doc({
    name: 'inv',
    identity: 'spiffe://other.domain/ns/x/sa/inventory',
    versions: [
      { name: 'v1', endpoints: ['10.0.0.2:80', '10.0.0.1:80'] },
      { name: 'v2', srv: '_https._tcp.inv-v2.mesh.local', srvRefresh: '10s' },
      { name: 'v3' },
    ],
  });
  const result = compileRegistry(registry([svc], { 'inv/v1': ['10.0.0.1:80', '10.0.0.3:80'], 'inv/v3': ['[::1]:8443'] }), OPTIONS);
  const addresses = (name: string) =>
    ((result.resources.clusterLoadAssignments.get(name)!.endpoints as any[])[0]?.lb_endpoints ?? []).map(
      (e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
    );
  assert.deepEqual(addresses('inv-v1'), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  assert.deepEqual(addresses('inv-v3'), ['::1:8443']);
  assert.equal(result.resources.clusterLoadAssignments.has('inv-v2'), false, 'no EDS for an SRV version');
  const srv = result.resources.clusters.get('inv-v2') as any;
  assert.equal(srv.type, undefined);
  assert.deepEqual(srv.cluster_type, {
    name: 'gatehouse.dns_srv',
    typed_config: {
      '@type': 'type.googleapis.com/google.protobuf.Struct',
      fields: { name: { stringValue: '_https._tcp.inv-v2.mesh.local' }, refresh: { stringValue: '10s' } },
    },
  });
  assert.equal(srv.transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].matcher.exact, 'spiffe://other.domain/ns/x/sa/inventory');
  assert.equal(result.resources.routeConfigurations.size, 0, 'not exposed: no route configuration');
});

test('quarantine: a service naming an unknown dependency is left out, the others are served', () => {
  const payments = doc({ name: 'payments', versions: [{ name: 'v1', endpoints: ['10.0.0.9:1'] }], expose: [{ domains: ['pay.test'] }] });
  const broken = checkout({ dependsOn: ['payments', 'inventory'] });
  const result = compileRegistry(registry([broken, payments]), OPTIONS);
  assert.deepEqual(result.services.get('checkout')!.problems, ['dependsOn[1]: no service named inventory']);
  assert.deepEqual([...result.resources.clusters.keys()], ['payments-v1']);
  assert.deepEqual(rc(result).virtual_hosts.map((v) => v.domains), [['pay.test']]);
  assert.deepEqual(result.services.get('payments')!.problems, []);
});

test('quarantine: an expose clash leaves out the service created later, whatever the names', () => {
  const first = doc({ name: 'zeta', versions: [{ name: 'v1' }], expose: [{ domains: ['shop.example.com'], prefix: '/checkout' }] });
  const later = doc({ name: 'alpha', versions: [{ name: 'v1' }], expose: [{ domains: ['other.test', 'SHOP.example.com'], prefix: '/checkout' }] });
  const result = compileRegistry(registry([first, later]), OPTIONS);
  assert.deepEqual(result.services.get('alpha')!.problems, ['expose[0]: SHOP.example.com/checkout is already exposed by service zeta']);
  assert.deepEqual(result.services.get('alpha')!.clusters, []);
  assert.deepEqual(rc(result).virtual_hosts, [
    { name: 'shop.example.com', domains: ['shop.example.com'], routes: [{ name: 'zeta/0', match: { prefix: '/checkout' }, route: { cluster: 'zeta-v1' } }] },
  ]);
  // the same prefix in another route configuration is no clash
  const elsewhere = doc({ name: 'alpha', versions: [{ name: 'v1' }], expose: [{ domains: ['shop.example.com'], prefix: '/checkout', routeConfig: 'internal' }] });
  const r2 = compileRegistry(registry([first, elsewhere]), OPTIONS);
  assert.deepEqual(r2.services.get('alpha')!.problems, []);
  assert.deepEqual([...r2.resources.routeConfigurations.keys()], ['gatehouse', 'internal']);
});

test('quarantine: two services whose cluster names collide (a-b/c and a/b-c)', () => {
  const ab = doc({ name: 'a-b', versions: [{ name: 'c' }] });
  const a = doc({ name: 'a', versions: [{ name: 'b-c' }, { name: 'v1' }] });
  const result = compileRegistry(registry([ab, a]), OPTIONS);
  assert.deepEqual(result.services.get('a')!.problems, ['versions[0]: cluster a-b-c is already served for service a-b']);
  assert.deepEqual([...result.resources.clusters.keys()], ['a-b-c']);
});

test('quarantine: a stored document that is not valid (written around the API)', () => {
  const result = compileRegistry(
    registry([{ name: 'weird', document: null, invalid: ['versions: required'], revision: 5, createRevision: 5 }, checkout()]),
    OPTIONS,
  );
  assert.deepEqual(result.services.get('weird')!.problems, ['stored document: versions: required']);
  assert.equal(result.resources.clusters.size, 2);
});

test('virtual hosts: one per set of domains with the same routes; overlapping sets are split; longer prefixes first', () => {
  const web = doc({ name: 'web', versions: [{ name: 'v1' }], expose: [{ domains: ['shop.example.com', 'www.example.com'], prefix: '/' }] });
  const api = doc({ name: 'api', versions: [{ name: 'v1' }], expose: [{ domains: ['shop.example.com'], prefix: '/api' }] });
  const other = doc({ name: 'other', versions: [{ name: 'v1' }], expose: [{ domains: ['*.example.org', '*'], prefix: '/' }] });
  const result = compileRegistry(registry([web, api, other]), OPTIONS);
  const hosts = rc(result).virtual_hosts.map((v) => ({ domains: v.domains, routes: v.routes.map((r) => `${r.name} ${r.match.prefix}`) }));
  assert.deepEqual(hosts, [
    { domains: ['*', '*.example.org'], routes: ['other/0 /'] },
    { domains: ['shop.example.com'], routes: ['api/0 /api', 'web/0 /'] },
    { domains: ['www.example.com'], routes: ['web/0 /'] },
  ]);
  const all = rc(result).virtual_hosts.flatMap((v) => v.domains);
  assert.equal(new Set(all).size, all.length, 'no domain in two virtual hosts (Envoy refuses that)');
});

test('deterministic: the same registry gives byte-identical resources, whatever the map order', () => {
  const a = doc({ name: 'a', versions: [{ name: 'v1' }], expose: [{ domains: ['a.test'] }] });
  const b = doc({ name: 'b', dependsOn: ['a'], versions: [{ name: 'v1' }], expose: [{ domains: ['b.test'] }] });
  const s1 = registry([a, b]);
  const s2 = { ...s1, services: new Map([...s1.services].reverse()) };
  const dump = (r: CompileResult) => JSON.stringify([...r.resources.routeConfigurations, ...r.resources.clusters, ...r.resources.clusterLoadAssignments]);
  assert.equal(dump(compileRegistry(s1, OPTIONS)), dump(compileRegistry(s2, OPTIONS)));
});

test('every compiled resource encodes with the shared proto loader and decodes to what was meant', () => {
  const svc = doc({
    name: 'inv',
    versions: [{ name: 'v1', weight: 3, endpoints: ['10.0.0.1:80'] }, { name: 'v2', weight: 1, srv: '_x._tcp.inv.mesh.local' }],
    expose: [{ domains: ['inv.test'], prefix: '/inv', timeout: '2s', retries: { attempts: 1, perTryTimeout: '1s', retryOn: ['5xx', 503] }, prefixRewrite: '/' }],
  });
  const result = compileRegistry(registry([svc]), OPTIONS);
  const cluster = unpackAny<any>(packAny(TypeUrls.cluster, result.resources.clusters.get('inv-v1')!));
  assert.equal(cluster.type, 'EDS');
  assert.equal(cluster.eds_cluster_config.eds_config.config_source_specifier, 'ads');
  const tls = unpackAny<any>(cluster.transport_socket.typed_config);
  assert.equal(tls.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type, 'URI');
  assert.equal(tls.common_tls_context.validation_context.trusted_ca.filename, '/etc/gatehouse/ca.crt');
  const srv = unpackAny<any>(packAny(TypeUrls.cluster, result.resources.clusters.get('inv-v2')!));
  assert.equal(srv.cluster_type.name, 'gatehouse.dns_srv');
  assert.deepEqual(unpackAny<any>(srv.cluster_type.typed_config).fields.name.stringValue, '_x._tcp.inv.mesh.local');
  const route = unpackAny<any>(packAny(TypeUrls.routeConfiguration, result.resources.routeConfigurations.get('gatehouse')!)).virtual_hosts[0].routes[0];
  assert.equal(route.match.prefix, '/inv');
  assert.deepEqual(route.route.weighted_clusters.clusters.map((c: any) => [c.name, c.weight.value]), [['inv-v1', 3], ['inv-v2', 1]]);
  assert.equal(route.route.retry_policy.retry_on, '5xx,retriable-status-codes');
  assert.equal(route.route.prefix_rewrite, '/');
  const cla = unpackAny<any>(packAny(TypeUrls.clusterLoadAssignment, result.resources.clusterLoadAssignments.get('inv-v1')!));
  assert.equal(cla.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 80);
});

test('the previous result is only reused where the inputs are the same objects; the output equals a fresh compile', () => {
  const a = doc({ name: 'a', versions: [{ name: 'v1', endpoints: ['10.0.0.1:1'] }], expose: [{ domains: ['a.test'] }] });
  const b = doc({ name: 'b', versions: [{ name: 'v1' }], expose: [{ domains: ['b.test'] }] });
  const s1 = registry([a, b], { 'b/v1': ['10.0.0.2:1'] });
  const first = compileRegistry(s1, OPTIONS);
  // b gets another instance: a's stored document and instance map are the same objects
  const s2 = { ...s1, revision: 101, instances: new Map([['b', new Map([['v1', [{ address: '10.0.0.3:1', lease: 'x', registeredAt: '' }]]])]]) };
  const second = compileRegistry(s2, OPTIONS, first);
  assert.equal(second.resources.clusters.get('a-v1'), first.resources.clusters.get('a-v1'), 'unchanged service: same object');
  assert.notEqual(second.resources.clusterLoadAssignments.get('b-v1'), first.resources.clusterLoadAssignments.get('b-v1'));
  const dump = (r: CompileResult) => JSON.stringify([...r.resources.routeConfigurations, ...r.resources.clusters, ...r.resources.clusterLoadAssignments]);
  assert.equal(dump(second), dump(compileRegistry(s2, OPTIONS)));
  // other options: nothing is reused
  const third = compileRegistry(s2, { ...OPTIONS, trustDomain: 'other.local' }, second);
  assert.notEqual(third.resources.clusters.get('a-v1'), second.resources.clusters.get('a-v1'));
});
