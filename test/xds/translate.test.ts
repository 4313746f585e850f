import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeUrls, unpackAny } from '../../src/grpc/protos.ts';
import { translateCluster } from '../../src/xds/translate/cluster.ts';
import { translateClusterLoadAssignment } from '../../src/xds/translate/endpoints.ts';
import { re2ToJs } from '../../src/xds/translate/regex.ts';
import { translateRouteConfiguration } from '../../src/xds/translate/route.ts';
import { envoyAny } from '../helpers/envoy-json.ts';

// Table tests of the pure translators: an Envoy resource (Envoy JSON, encoded and decoded through
// the real protos like one from the wire) → the config's shape, or `path: message` errors.

type Json = Record<string, unknown>;
const wire = (url: string, r: Json) => unpackAny(envoyAny(url, r));

function route(r: Json, vh: Json = {}, rc: Json = {}) {
  return translateRouteConfiguration(wire(TypeUrls.routeConfiguration, { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [r], ...vh }], ...rc }));
}
function okRoute(r: Json, vh: Json = {}, rc: Json = {}) {
  const t = route(r, vh, rc);
  assert.ok(t.ok, t.ok ? '' : JSON.stringify(t.errors));
  return t.value.virtualHosts[0]!.routes[0]!;
}
function errorsOf(t: { ok: boolean; errors?: Array<{ path: string; message: string }> }): string[] {
  assert.equal(t.ok, false, 'expected errors');
  return t.errors!.map((e) => `${e.path}: ${e.message}`);
}
const to = (extra: Json = {}) => ({ cluster: 'c', ...extra });
const cluster = (c: Json) => translateCluster(wire(TypeUrls.cluster, { name: 'c', ...c }));
function okCluster(c: Json) {
  const t = cluster(c);
  assert.ok(t.ok, t.ok ? '' : JSON.stringify(t.errors));
  return t.value;
}
const tls = (ctx: Json) => ({ transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: { '@type': TypeUrls.upstreamTlsContext, ...ctx } } });

describe('xDS translation: routes', () => {
  it('path matchers', () => {
    assert.deepEqual(okRoute({ match: { prefix: '/api' }, route: to() }).match, { prefix: '/api' });
    assert.deepEqual(okRoute({ match: { prefix: '' }, route: to() }).match, { prefix: '/' });
    assert.deepEqual(okRoute({ match: { path: '/exact' }, route: to() }).match, { path: '/exact' });
    assert.deepEqual(okRoute({ match: { safe_regex: { regex: '/v[0-9]+/(?P<id>[a-z]+)' } }, route: to() }).match, { regex: '/v[0-9]+/(?<id>[a-z]+)' });
    assert.deepEqual(errorsOf(route({ match: { path_separated_prefix: '/api' }, route: to() })), ['virtual_hosts[0].routes[0].match.path_separated_prefix: not supported by gatehouse']);
    assert.deepEqual(errorsOf(route({ match: { prefix: '/', case_sensitive: false }, route: to() })), [
      'virtual_hosts[0].routes[0].match.case_sensitive: false is not supported (paths are matched case-sensitively)',
    ]);
  });

  it('header and query matchers, :method and :authority', () => {
    const m = okRoute({
      match: {
        prefix: '/',
        headers: [
          { name: ':method', string_match: { exact: 'post' } },
          { name: 'X-Env', string_match: { prefix: 'prod' } },
          { name: 'x-a', string_match: { exact: 'Yes', ignore_case: true } },
          { name: 'x-b', string_match: { contains: 'mid' }, invert_match: true },
          { name: 'x-c', present_match: true },
          { name: 'x-d', present_match: false },
          { name: 'x-e', safe_regex_match: { regex: '[0-9]{3}' } },
          { name: ':authority', string_match: { suffix: '.example.com' } },
        ],
        query_parameters: [{ name: 'debug', string_match: { exact: '1' } }, { name: 'p', present_match: true }, { name: 'q', string_match: { prefix: 'a.' } }],
      },
      route: to(),
    }).match;
    assert.deepEqual(m.methods, ['POST']);
    assert.deepEqual(m.headers, [
      { name: 'x-env', prefix: 'prod', invert: false },
      { name: 'x-a', regex: '[yY][eE][sS]', invert: false },
      { name: 'x-b', regex: '.*mid.*', invert: true },
      { name: 'x-c', present: true, invert: false },
      { name: 'x-d', absent: true, invert: false },
      { name: 'x-e', regex: '[0-9]{3}', invert: false },
      { name: 'host', suffix: '.example.com', invert: false },
    ]);
    assert.deepEqual(m.query, [{ name: 'debug', exact: '1' }, { name: 'p', present: true }, { name: 'q', regex: 'a\\..*' }]);
    assert.deepEqual(errorsOf(route({ match: { prefix: '/', headers: [{ name: ':path', string_match: { exact: '/' } }] }, route: to() })), [
      'virtual_hosts[0].routes[0].match.headers[0].name: pseudo-header :path is not supported',
    ]);
    assert.deepEqual(errorsOf(route({ match: { prefix: '/', headers: [{ name: 'x', range_match: { start: 1, end: 5 } }] }, route: to() })), [
      'virtual_hosts[0].routes[0].match.headers[0].range_match: not supported by gatehouse',
    ]);
  });

  it('RE2 regexes: the same meaning in JavaScript, or refused with the reason', () => {
    assert.deepEqual(re2ToJs('\\A/a\\z'), { ok: true, source: '^/a$' });
    assert.deepEqual(re2ToJs('/\\Qa.b\\E'), { ok: true, source: '/a\\.b' });
    assert.deepEqual(re2ToJs('[]a]+'), { ok: true, source: '[\\]a]+' });
    for (const [src, why] of [
      ['(?i)abc', /inline flags/],
      ['a(?=b)', /lookahead/],
      ['(a)\\1', /back-references/],
      ['\\p{Greek}', /unicode classes/],
      ['[[:alpha:]]', /POSIX/],
      ['(a+)+', /backtrack/],
      ['(unclosed', /invalid regular expression/],
    ] as const) {
      const r = re2ToJs(src);
      assert.equal(r.ok, false, src);
      if (!r.ok) assert.match(r.message, why, src);
    }
  });

  it('actions: weighted clusters, timeout, rewrites, mirror, websocket', () => {
    const r = okRoute({
      match: { prefix: '/shop' },
      route: {
        weighted_clusters: { clusters: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }] },
        timeout: '0s',
        prefix_rewrite: '/',
        host_rewrite_literal: 'shop.internal',
        request_mirror_policies: [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 5, denominator: 'HUNDRED' } } }],
        upgrade_configs: [{ upgrade_type: 'websocket' }],
        priority: 'HIGH', // ignored: one priority
      },
    });
    assert.deepEqual(r.route!.weightedClusters, [{ cluster: 'v1', weight: 90 }, { cluster: 'v2', weight: 10 }]);
    assert.equal(r.route!.timeout, 0);
    assert.equal(r.route!.prefixRewrite, '/');
    assert.equal(r.route!.hostRewrite, 'shop.internal');
    assert.deepEqual(r.route!.mirror, { cluster: 'shadow', percent: 5 });
    assert.equal(r.route!.websocket, true);
    const t = route({ match: { prefix: '/' }, route: to() });
    assert.ok(t.ok);
    if (t.ok) assert.deepEqual(t.value.clusters, ['c']);
    assert.equal(okRoute({ match: { prefix: '/' }, route: to() }).route!.timeout, 15_000, "Envoy's default route timeout");
    assert.deepEqual(errorsOf(route({ match: { safe_regex: { regex: '/a.*' } }, route: to({ prefix_rewrite: '/b' }) })), [
      'virtual_hosts[0].routes[0].route.prefix_rewrite: needs a prefix or path match (not safe_regex)',
    ]);
    assert.deepEqual(errorsOf(route({ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } } })), [
      'virtual_hosts[0].routes[0].route.weighted_clusters.clusters: total weight must be above 0',
    ]);
  });

  it('retry policies: Envoy conditions and defaults (one retry, any method)', () => {
    const r = okRoute({
      match: { prefix: '/' },
      route: to({
        retry_policy: {
          retry_on: '5xx,connect-failure,retriable-status-codes',
          retriable_status_codes: [429],
          per_try_timeout: '0.5s',
          retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
          host_selection_retry_max_attempts: 3,
        },
      }),
    });
    assert.deepEqual(r.route!.retries, { attempts: 1, retryOn: ['5xx', 'connect-failure', '429'], perTryTimeout: 500, retryNonIdempotent: true });
    // The virtual host's policy is the default of its routes.
    const v = okRoute({ match: { prefix: '/' }, route: to() }, { retry_policy: { retry_on: 'reset', num_retries: 4 } });
    assert.deepEqual(v.route!.retries, { attempts: 4, retryOn: ['reset'], retryNonIdempotent: true });
    assert.deepEqual(errorsOf(route({ match: { prefix: '/' }, route: to({ retry_policy: { retry_on: 'envoy-ratelimited' } }) })), [
      'virtual_hosts[0].routes[0].route.retry_policy.retry_on: condition "envoy-ratelimited" is not supported',
    ]);
  });

  it('header edits from route, virtual host and RouteConfiguration, Envoy value commands', () => {
    const r = okRoute(
      {
        match: { prefix: '/' },
        route: to(),
        request_headers_to_add: [
          { header: { key: 'X-Client', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-tag', value: 'a' } },
        ],
        response_headers_to_remove: ['server'],
      },
      { request_headers_to_remove: ['x-debug'], response_headers_to_add: [{ header: { key: 'x-vh', value: '100%%' }, append: false }] },
      { request_headers_to_add: [{ header: { key: 'x-client', value: 'rc-wins' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] },
    );
    assert.deepEqual(r.route!.requestHeaders, { set: { 'x-client': 'rc-wins' }, add: { 'x-tag': 'a' }, remove: ['x-debug'] });
    assert.deepEqual(r.route!.responseHeaders, { set: { 'x-vh': '100%%' }, add: {}, remove: ['server'] });
    const most = okRoute(
      { match: { prefix: '/' }, route: to(), request_headers_to_add: [{ header: { key: 'x-a', value: 'route' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] },
      {},
      { most_specific_header_mutations_wins: true, request_headers_to_add: [{ header: { key: 'x-a', value: 'rc' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] },
    );
    assert.deepEqual(most.route!.requestHeaders!.set, { 'x-a': 'route' });
    assert.deepEqual(errorsOf(route({ match: { prefix: '/' }, route: to(), request_headers_to_add: [{ header: { key: 'x', value: '%START_TIME%' } }] })), [
      'virtual_hosts[0].routes[0].request_headers_to_add[0].header.value: value command %START_TIME% is not supported (supported: %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%, %REQ(X-REQUEST-ID)%, %REQ(:AUTHORITY)%, %REQ(HOST)%, %ROUTE_NAME%, %UPSTREAM_CLUSTER%)',
    ]);
    const host = errorsOf(route({ match: { prefix: '/' }, route: to(), request_headers_to_add: [{ header: { key: 'host', value: 'x' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] }));
    assert.match(host[0]!, /header "host" is managed by the gateway/);
    assert.deepEqual(errorsOf(route({ match: { prefix: '/' }, route: to(), request_headers_to_add: [{ header: { key: 'x', value: 'y' }, append_action: 'ADD_IF_ABSENT' }] })), [
      'virtual_hosts[0].routes[0].request_headers_to_add[0].append_action: ADD_IF_ABSENT is not supported by gatehouse',
    ]);
  });

  it('redirects and direct responses', () => {
    assert.deepEqual(okRoute({ match: { path: '/old' }, redirect: { path_redirect: '/new', response_code: 'PERMANENT_REDIRECT' } }).redirect, { to: '/new', status: 308 });
    assert.deepEqual(okRoute({ match: { path: '/p' }, direct_response: { status: 204 } }).directResponse, { status: 204, body: '' });
    assert.deepEqual(okRoute({ match: { path: '/p' }, direct_response: { status: 200, body: { inline_string: 'pong' } } }).directResponse, { status: 200, body: 'pong' });
    assert.deepEqual(errorsOf(route({ match: { path: '/p' }, redirect: { https_redirect: true } })), [
      'virtual_hosts[0].routes[0].redirect.https_redirect: not supported by gatehouse',
      'virtual_hosts[0].routes[0].redirect: only path_redirect is supported',
    ]);
    assert.deepEqual(errorsOf(route({ match: { path: '/p' }, direct_response: { status: 200, body: { filename: '/etc/passwd' } } })), [
      'virtual_hosts[0].routes[0].direct_response.body.filename: not supported by gatehouse (inline bodies only)',
    ]);
  });

  it('virtual hosts: domains without ports, names, unsupported and ignored fields', () => {
    const t = translateRouteConfiguration(
      wire(TypeUrls.routeConfiguration, {
        name: 'rc',
        validate_clusters: true, // ignored: we never refuse a route for its cluster
        virtual_hosts: [
          { name: 'a', domains: ['Shop.Example.com', 'shop.example.com:443', '*.api.example.com'], routes: [{ match: { prefix: '/' }, route: to(), decorator: { operation: 'x' } }, { name: 'r', match: { prefix: '/' }, route: to() }, { name: 'r', match: { prefix: '/' }, route: to() }] },
        ],
      }),
    );
    assert.ok(t.ok, t.ok ? '' : JSON.stringify(t.errors));
    if (!t.ok) return;
    const vh = t.value.virtualHosts[0]!;
    assert.deepEqual(vh.domains, ['shop.example.com', '*.api.example.com']);
    assert.deepEqual(vh.routes.map((r) => r.name), ['route-0', 'r', 'r#2']);
    const bad = translateRouteConfiguration(
      wire(TypeUrls.routeConfiguration, {
        name: 'rc',
        virtual_hosts: [
          { name: 'a', domains: ['foo.*'], routes: [{ match: { prefix: '/' }, route: to() }] },
          { name: 'b', domains: ['x.com'], cors: { allow_credentials: true }, routes: [{ match: { prefix: '/' }, route: to({ hash_policy: [{ header: { header_name: 'x' } }] }) }] },
          { name: 'c', domains: ['x.com'], routes: [{ match: { prefix: '/' }, route: to() }] },
        ],
      }),
    );
    assert.deepEqual(errorsOf(bad), [
      'virtual_hosts[0].domains[0]: "foo.*": only exact names, "*.suffix" and "*" are supported',
      'virtual_hosts[0].domains: at least one domain is required',
      'virtual_hosts[1].cors: not supported by gatehouse',
      'virtual_hosts[1].routes[0].route.hash_policy: not supported by gatehouse',
      'virtual_hosts[2].domains: domain "x.com" is also in virtual_hosts[1]',
    ]);
  });
});

describe('xDS translation: clusters', () => {
  it('EDS, STATIC, STRICT_DNS and the gatehouse.dns_srv custom type', () => {
    assert.deepEqual(okCluster({ type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }).cluster.discovery, { type: 'eds', serviceName: 'c' });
    const named = okCluster({ type: 'EDS', eds_cluster_config: { service_name: 'svc-east' } });
    assert.deepEqual([named.cluster.discovery, named.edsName], [{ type: 'eds', serviceName: 'svc-east' }, 'svc-east']);
    const la = (addrs: Array<[string, number, number?]>) => ({
      cluster_name: 'c',
      endpoints: [{ lb_endpoints: addrs.map(([address, port_value, w]) => ({ endpoint: { address: { socket_address: { address, port_value } } }, ...(w ? { load_balancing_weight: w } : {}) })) }],
    });
    assert.deepEqual(okCluster({ type: 'STATIC', load_assignment: la([['10.0.0.1', 80], ['::1', 81]]) }).cluster.discovery, { type: 'static', endpoints: ['10.0.0.1:80', '[::1]:81'] });
    assert.deepEqual(errorsOf(cluster({ type: 'STATIC', load_assignment: la([['10.0.0.1', 80, 1], ['10.0.0.2', 80, 3]]) })), [
      'load_assignment: weights and priorities in a STATIC cluster are not supported (use EDS)',
    ]);
    assert.deepEqual(okCluster({ type: 'STRICT_DNS', load_assignment: la([['svc.internal', 8443]]) }).cluster.discovery, { type: 'dns', host: 'svc.internal', port: 8443, refresh: 5000 });
    assert.deepEqual(
      okCluster({ cluster_type: { name: 'gatehouse.dns_srv', typed_config: { '@type': TypeUrls.struct, name: '_https._tcp.x.mesh.local', refresh: '30s' } } }).cluster.discovery,
      { type: 'srv', name: '_https._tcp.x.mesh.local', refresh: 30_000 },
    );
    assert.deepEqual(errorsOf(cluster({ cluster_type: { name: 'envoy.clusters.aggregate' } })), ['cluster_type.name: "envoy.clusters.aggregate" is not supported (only gatehouse.dns_srv)']);
    assert.deepEqual(errorsOf(cluster({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' })), [
      'type: ORIGINAL_DST is not supported by gatehouse (EDS, STATIC, STRICT_DNS)',
      'lb_policy: CLUSTER_PROVIDED is not supported by gatehouse',
    ]);
  });

  it('load balancing, timeouts, circuit breakers, outlier detection, health checks, HTTP/2', () => {
    const c = okCluster({
      type: 'EDS',
      lb_policy: 'MAGLEV',
      connect_timeout: '0.25s',
      circuit_breakers: { thresholds: [{ priority: 'HIGH', max_requests: 5 }, { max_connections: 10, max_pending_requests: 20, max_requests: 30, max_retries: 0 }] },
      outlier_detection: { consecutive_5xx: 3, interval: '5s', base_ejection_time: '10s', max_ejection_percent: 50, enforcing_consecutive_gateway_failure: 100, consecutive_gateway_failure: 2 },
      health_checks: [{ timeout: '1s', interval: '2s', unhealthy_threshold: 2, healthy_threshold: 1, http_health_check: { path: '/healthz' } }],
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': TypeUrls.httpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } },
      },
      metadata: { filter_metadata: { istio: { config: 'x' } } }, // ignored
    }).cluster;
    assert.equal(c.loadBalancer.policy, 'maglev');
    assert.equal(c.connectTimeout, 250);
    assert.equal(c.http2, true);
    assert.deepEqual(c.circuitBreakers, { maxConnections: 10, maxPendingRequests: 20, maxRequests: 30, maxRetries: 0 });
    assert.deepEqual(c.outlierDetection, { consecutive5xx: 3, consecutiveGatewayErrors: 2, interval: 5000, baseEjectionTime: 10_000, maxEjectionPercent: 50 });
    assert.deepEqual(c.healthCheck, { path: '/healthz', timeout: 1000, interval: 2000, unhealthyThreshold: 2, healthyThreshold: 1 });
    const d = okCluster({ type: 'EDS', outlier_detection: {} }).cluster;
    assert.equal(d.connectTimeout, 5000, "Envoy's default connect_timeout");
    // Envoy does not enforce consecutive gateway failures unless asked: ours never trips.
    assert.equal(d.outlierDetection!.consecutiveGatewayErrors, 2 ** 31 - 1);
    assert.deepEqual(errorsOf(cluster({ type: 'EDS', outlier_detection: { enforcing_consecutive_5xx: 50 }, health_checks: [{ timeout: '1s', interval: '1s', tcp_health_check: {} }] })), [
      'outlier_detection.enforcing_consecutive_5xx: only 0 or 100 is supported (detection is on or off)',
      'health_checks[0].tcp_health_check: not supported by gatehouse',
    ]);
    assert.deepEqual(errorsOf(cluster({ type: 'EDS', lb_subset_config: { fallback_policy: 'ANY_ENDPOINT' }, typed_extension_protocol_options: { 'envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions': { '@type': TypeUrls.struct } } })), [
      'lb_subset_config: not supported by gatehouse',
      'typed_extension_protocol_options["envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions"]: not supported by gatehouse',
    ]);
  });

  it('UpstreamTlsContext: file certificates, CA, SNI, SAN matchers in their typed forms', () => {
    const c = okCluster({
      type: 'EDS',
      ...tls({
        sni: 'checkout.mesh.local',
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: 'TLSv1_3' },
          tls_certificates: [{ certificate_chain: { filename: '/certs/gatehouse.crt' }, private_key: { filename: '/certs/gatehouse.key' } }],
          combined_validation_context: {
            default_validation_context: {
              trusted_ca: { filename: '/certs/ca.crt' },
              match_typed_subject_alt_names: [
                { san_type: 'URI', matcher: { exact: 'spiffe://mesh.local/ns/shop/sa/checkout' } },
                { san_type: 'DNS', matcher: { prefix: 'checkout.' } },
              ],
            },
          },
          alpn_protocols: ['h2'], // ignored: HTTP/2 follows the protocol options
        },
      }),
    });
    assert.deepEqual(c.cluster.tls, {
      certFile: '/certs/gatehouse.crt',
      keyFile: '/certs/gatehouse.key',
      caFile: '/certs/ca.crt',
      serverName: 'checkout.mesh.local',
      matchSubjectAltNames: ['uri:spiffe://mesh.local/ns/shop/sa/checkout', 'dns-prefix:checkout.'],
      minVersion: 'TLSv1.3',
    });
    assert.deepEqual(c.files, ['/certs/gatehouse.crt', '/certs/gatehouse.key', '/certs/ca.crt']);
    // The deprecated untyped matchers match either SAN type; TLS_AUTO is Envoy's 1.2 minimum.
    const u = okCluster({ type: 'EDS', ...tls({ common_tls_context: { validation_context: { match_subject_alt_names: [{ prefix: 'spiffe://mesh.local/' }] } } }) });
    assert.deepEqual(u.cluster.tls, { matchSubjectAltNames: ['uri-prefix:spiffe://mesh.local/', 'dns-prefix:spiffe://mesh.local/'], minVersion: 'TLSv1.2' });
    assert.deepEqual(
      errorsOf(
        cluster({
          type: 'EDS',
          ...tls({
            common_tls_context: {
              tls_certificate_sds_secret_configs: [{ name: 'default' }],
              tls_certificates: [{ certificate_chain: { inline_string: 'PEM' }, private_key: { filename: '/k' } }],
              validation_context: { trust_chain_verification: 'ACCEPT_UNTRUSTED', match_typed_subject_alt_names: [{ san_type: 'EMAIL', matcher: { exact: 'a@b' } }, { san_type: 'URI', matcher: { suffix: '/x' } }] },
            },
          }),
        }),
      ),
      [
        'transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs: not supported by gatehouse',
        'transport_socket.typed_config.common_tls_context.tls_certificates[0].certificate_chain.inline_string: not supported by gatehouse (files only: the gateway reads and watches them)',
        'transport_socket.typed_config.common_tls_context.tls_certificates[0]: certificate_chain and private_key go together',
        'transport_socket.typed_config.common_tls_context.validation_context.trust_chain_verification: must be VERIFY_TRUST_CHAIN (verification is never turned off)',
        'transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type: EMAIL is not supported (URI or DNS)',
        'transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[1].matcher.suffix: not supported by gatehouse',
        'transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[1].matcher: only a non-empty exact or prefix match is supported for a SAN',
      ],
    );
  });
});

describe('xDS translation: ClusterLoadAssignment', () => {
  const sock = (address: string, port_value: number) => ({ address: { socket_address: { address, port_value } } });
  it('priorities, weights and health status', () => {
    const t = translateClusterLoadAssignment(
      wire(TypeUrls.clusterLoadAssignment, {
        cluster_name: 'svc',
        endpoints: [
          { locality: { zone: 'a' }, lb_endpoints: [{ endpoint: sock('10.0.0.1', 80), load_balancing_weight: 3 }, { endpoint: { ...sock('10.0.0.2', 80), hostname: 'b.svc' }, health_status: 'HEALTHY' }] },
          { priority: 1, lb_endpoints: [{ endpoint: sock('10.0.1.1', 80) }, { endpoint: sock('10.0.1.2', 80), health_status: 'DRAINING' }, { endpoint: sock('10.0.1.3', 80), health_status: 'UNHEALTHY' }] },
        ],
        policy: { overprovisioning_factor: 140 },
      }),
    );
    assert.ok(t.ok, t.ok ? '' : JSON.stringify(t.errors));
    if (!t.ok) return;
    assert.equal(t.value.name, 'svc');
    assert.deepEqual(t.value.endpoints, [
      { host: '10.0.0.1', port: 80, weight: 3, priority: 0 },
      { host: '10.0.0.2', port: 80, weight: 1, priority: 0, hostname: 'b.svc' },
      { host: '10.0.1.1', port: 80, weight: 1, priority: 1 },
    ]);
  });

  it('refuses what is not an IP and port', () => {
    const t = translateClusterLoadAssignment(
      wire(TypeUrls.clusterLoadAssignment, {
        cluster_name: 'svc',
        endpoints: [{ lb_endpoints: [{ endpoint: sock('db.internal', 80) }, { endpoint: { address: { socket_address: { address: '10.0.0.1', named_port: 'http' } } } }, { endpoint: { address: { pipe: { path: '/tmp/s' } } } }] }],
        policy: { drop_overloads: [{ category: 'x', drop_percentage: { numerator: 1 } }] },
      }),
    );
    assert.deepEqual(errorsOf(t), [
      'policy.drop_overloads: not supported by gatehouse',
      'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "db.internal" is not an IP address',
      'endpoints[0].lb_endpoints[1].endpoint.address.socket_address.named_port: not supported by gatehouse',
      'endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value: a port number is required (named ports are not supported)',
      'endpoints[0].lb_endpoints[2].endpoint.address: a socket_address is required (pipes and internal addresses are not supported)',
    ]);
  });
});
