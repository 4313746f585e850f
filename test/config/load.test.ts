/** Good configs: the SPEC example, defaults, env substitution, durations, frozen output, absolute paths. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { formatConfigError, loadConfigFile, loadConfigText, type LoadResult } from '../../src/config/load.ts';
import { gatewayConfigSchema, type GatewayConfig } from '../../src/config/schema.ts';
import { baseConfig, dir, F, toYaml } from './fixtures.ts';

function ok(r: LoadResult): GatewayConfig {
  if (!r.ok) assert.fail(`expected ok, got:\n${r.errors.map(formatConfigError).join('\n')}`);
  return r.config;
}

/** The SPEC's YAML sketch, with file paths pointing at real temp files and the clusters it names added. */
const SPEC_EXAMPLE = `
admin:        { address: 127.0.0.1:9901 }
accessLog:    { path: stdout }
tracing:      { otlp: { endpoint: "http://127.0.0.1:4318" } }
grpcHealth:   { address: 127.0.0.1:9902 }
drain:        { delay: 5s, timeout: 30s }

listeners:
  - name: public
    address: 0.0.0.0:8443
    tls:
      certificates:
        - { certFile: ${F.edgeCrt}, keyFile: ${F.edgeKey}, serverNames: ["*.example.com"] }
      minVersion: TLSv1.2
      http2: true
    proxyProtocol: false
    trustedProxies: { cidrs: ["10.0.0.0/8"] }
    limits: { maxHeaderBytes: 16384, maxBodyBytes: 10485760, headersTimeout: 10s,
              requestTimeout: 60s, idleTimeout: 60s, http2MaxConcurrentStreams: 100,
              maxConnections: 10000 }
  - name: plain
    address: 0.0.0.0:8080
    redirectToHttps: true

authn:
  providers:
    - name: cf-access
      issuer: https://team.cloudflareaccess.com
      audiences: ["aud-tag"]
      jwksUri: https://team.cloudflareaccess.com/cdn-cgi/access/certs
      jwksCaFile: ${F.jwksCa}
      algorithms: [RS256, ES256]
      tokenFrom:
        - { header: Cf-Access-Jwt-Assertion }
        - { cookie: CF_Authorization }
        - { header: Authorization, prefix: "Bearer " }
      clockSkew: 30s
      claimsToHeaders: { sub: x-auth-sub, email: x-auth-email }
      forwardToken: false
  internalToken:
    issuer: https://gatehouse.internal
    audience: mesh
    signingKeyFile: ${F.signingKey}
    ttl: 15m
    header: x-mesh-authorization
    cache: memory

rateLimit:
  store: memory
  redis: { url: "redis://127.0.0.1:6379", keyPrefix: "gatehouse:" }
  policies:
    - { name: per-ip,   key: clientIp,          limit: 100, window: 1s }
    - { name: per-user, key: "claim:sub",       limit: 1000, window: 1m }
    - { name: per-key,  key: "header:x-api-key", limit: 50, window: 1s, blockFor: 10s }

virtualHosts:
  - name: api
    domains: ["api.example.com", "localhost", "*"]
    authn: { providers: [cf-access] }
    rateLimits: [per-ip]
    routes:
      - name: checkout-canary-by-header
        match: { prefix: /checkout, headers: [{ name: x-canary, exact: "true" }] }
        route: { cluster: checkout-v2 }
      - name: checkout
        match:
          prefix: /checkout
          methods: [GET, POST]
          headers: [{ name: x-env, prefix: "prod", invert: false }]
          query:   [{ name: debug, exact: "1" }]
        authz:
          allow:
            - { claims: { groups: ["shop"] }, methods: [GET, POST] }
          deny:
            - { sourceCidrs: ["203.0.113.0/24"] }
        rateLimits: [per-ip, per-user]
        route:
          weightedClusters:
            - { cluster: checkout-v1, weight: 90 }
            - { cluster: checkout-v2, weight: 10 }
          stickyOn: { cookie: session }
          prefixRewrite: /
          hostRewrite: checkout.internal
          timeout: 10s
          retries: { attempts: 3, perTryTimeout: 3s, retryOn: [connect-failure, reset, "503", gateway-error], retryNonIdempotent: false }
          requestHeaders:  { set: { x-edge: gatehouse }, remove: [x-debug] }
          responseHeaders: { set: { strict-transport-security: "max-age=31536000" }, remove: [server] }
          websocket: true
          mirror: { cluster: checkout-shadow, percent: 5 }
          fault: { delay: { fixed: 2s, percent: 1 }, abort: { status: 503, percent: 0.5 } }
      - { name: moved, match: { prefix: /old }, redirect: { to: /new, status: 301 } }
      - { name: ping,  match: { path: /ping }, directResponse: { status: 200, body: "pong\\n" } }

clusters:
  - name: checkout-v1
    discovery:
      type: srv
      name: _https._tcp.checkout-v1.mesh.local
      refresh: 30s
    loadBalancer:
      policy: round_robin
      hashOn: { header: x-user }
    tls:
      certFile: ${F.clientCrt}
      keyFile: ${F.clientKey}
      caFile: ${F.ca}
      serverName: checkout.mesh.local
      matchSubjectAltNames: ["spiffe://mesh.local/ns/shop/sa/checkout"]
      minVersion: TLSv1.3
    http2: false
    connectTimeout: 2s
    circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 }
    outlierDetection: { consecutive5xx: 5, consecutiveGatewayErrors: 5, interval: 10s,
                        baseEjectionTime: 30s, maxEjectionPercent: 50 }
    healthCheck: { path: /healthz, interval: 5s, timeout: 1s, unhealthyThreshold: 3, healthyThreshold: 2 }
  - name: checkout-v2
    discovery: { type: static, endpoints: ["127.0.0.1:9443", "10.1.2.3:9443"] }
  - name: checkout-shadow
    discovery: { type: dns, host: checkout.internal, port: 9443 }

dns: { servers: ["127.0.0.1:5353"] }

xds:
  server: 127.0.0.1:18000
  tls: { caFile: ${F.ca}, certFile: ${F.clientCrt}, keyFile: ${F.clientKey} }
  node: { id: gatehouse-1, cluster: edge }
  routeConfigs: [edge-routes]
  initialFetchTimeout: 15s
`;

/** The SPEC example with every key whose behaviour is not built yet taken out. */
const BUILT_EXAMPLE = `
admin:     { address: 127.0.0.1:9901, token: "\${ADMIN_TOKEN}" }
accessLog: { path: stdout }
drain:     { delay: 5s, timeout: 30s }
listeners:
  - name: public
    address: 0.0.0.0:8443
    tls:
      certificates:
        - { certFile: ${F.edgeCrt}, keyFile: ${F.edgeKey}, serverNames: ["*.example.com"] }
      minVersion: TLSv1.2
      http2: true
    proxyProtocol: false
    trustedProxies: { cidrs: ["10.0.0.0/8"] }
    limits: { maxHeaderBytes: 16384, maxBodyBytes: 10485760, headersTimeout: 10s,
              requestTimeout: 60s, idleTimeout: 60s, http2MaxConcurrentStreams: 100,
              maxConnections: 10000 }
  - name: plain
    address: 0.0.0.0:8080
    redirectToHttps: true
virtualHosts:
  - name: api
    domains: ["api.example.com", "localhost", "*"]
    routes:
      - name: checkout
        match: { prefix: /checkout }
        route: { cluster: checkout-v1, timeout: 1m30s, websocket: false }
      - { name: moved, match: { prefix: /old }, redirect: { to: /new, status: 301 } }
      - { name: away,  match: { path: /away }, redirect: { to: "https://example.org/x" } }
      - { name: ping,  match: { path: /ping }, directResponse: { status: 200, body: "pong\\n" } }
clusters:
  - name: checkout-v1
    discovery: { type: static, endpoints: ["127.0.0.1:9443", "[::1]:9443"] }
    loadBalancer: { policy: round_robin }
    tls:
      certFile: ${F.clientCrt}
      keyFile: ${F.clientKey}
      caFile: ${F.ca}
      serverName: checkout.mesh.local
      minVersion: TLSv1.3
    http2: false
    connectTimeout: 2s
`;

describe('good configs', () => {
  it('the whole SPEC sketch fits the schema', () => {
    // Only the schema: a shape check of every key the SPEC names.
    const r = gatewayConfigSchema.safeParse(YAML.parse(SPEC_EXAMPLE));
    assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues, null, 1));
  });

  it('the whole SPEC sketch is refused only for what is not built yet', async () => {
    const r = await loadConfigText(SPEC_EXAMPLE, {});
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map(formatConfigError), [
      'clusters[0].loadBalancer.hashOn: only applies to ring_hash and maglev',
      ...[
        'grpcHealth',
      ].map((p) => `${p}: not supported yet`),
    ]);
  });

  it('the SPEC example minus unsupported keys loads', async () => {
    const cfg = ok(await loadConfigText(BUILT_EXAMPLE, { ADMIN_TOKEN: 'tok' }));
    assert.equal(cfg.admin.token, 'tok');
    assert.equal(cfg.listeners[0]!.tls!.certificates[0]!.certFile, F.edgeCrt);
    assert.deepEqual(cfg.listeners[0]!.trustedProxies.cidrs, ['10.0.0.0/8']);
    assert.equal(cfg.virtualHosts[0]!.routes[0]!.route!.timeout, 90_000);
    assert.deepEqual(cfg.virtualHosts[0]!.routes[2]!.redirect, { to: 'https://example.org/x', status: 301 });
    assert.deepEqual(cfg.virtualHosts[0]!.routes[3]!.directResponse, { status: 200, body: 'pong\n' });
    assert.deepEqual(cfg.clusters[0]!.discovery, { type: 'static', endpoints: ['127.0.0.1:9443', '[::1]:9443'] });
    assert.equal(cfg.clusters[0]!.tls!.serverName, 'checkout.mesh.local');
  });

  it('fills in the defaults', async () => {
    const cfg = ok(await loadConfigText(toYaml(baseConfig()), {}));
    assert.deepEqual(cfg.admin, { address: '127.0.0.1:9901' });
    assert.deepEqual(cfg.accessLog, { path: 'stdout', sample2xx: 1 });
    assert.deepEqual(cfg.drain, { delay: 5_000, timeout: 30_000 });
    const l = cfg.listeners[0]!;
    assert.deepEqual(l.limits, {
      maxHeaderBytes: 16384,
      maxBodyBytes: 10485760,
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      idleTimeout: 60_000,
      http2MaxConcurrentStreams: 100,
      maxConnections: 10000,
      headersWithUnderscores: 'reject',
    });
    assert.equal(l.tls!.minVersion, 'TLSv1.2');
    assert.equal(l.tls!.http2, true);
    assert.deepEqual(l.tls!.certificates[0]!.serverNames, []);
    assert.equal(l.proxyProtocol, false);
    assert.equal(l.redirectToHttps, false);
    assert.equal(cfg.listeners[1]!.redirectToHttps, true);
    const c = cfg.clusters[1]!;
    assert.equal(c.connectTimeout, 2_000);
    assert.deepEqual(c.loadBalancer, { policy: 'round_robin' });
    assert.equal(c.tls!.minVersion, 'TLSv1.3');
    assert.equal(c.http2, false);
    assert.equal(cfg.virtualHosts[0]!.routes[0]!.route!.timeout, 15_000);
    assert.equal(cfg.tracing, undefined);
    assert.equal(cfg.xds, undefined);
  });

  it('applies the defaults of a redirect', async () => {
    const c = baseConfig();
    c.virtualHosts[0].routes[0] = { name: 'r0', match: { prefix: '/old' }, redirect: { to: '/new' } };
    const cfg = ok(await loadConfigText(toYaml(c), {}));
    assert.deepEqual(cfg.virtualHosts[0]!.routes[0]!.redirect, { to: '/new', status: 301 });
  });

  it('substitutes environment variables in values, typing unquoted ones', async () => {
    const text = `
admin:
  address: "127.0.0.1:\${ADMIN_PORT}"
  token: "\${ADMIN_TOKEN}"
listeners:
  - name: public
    address: \${LISTEN_HOST}:8443
    tls:
      certificates: [{ certFile: "\${CERT_DIR}/edge.crt", keyFile: "\${CERT_DIR}/edge.key" }]
      http2: \${H2}
    limits:
      maxConnections: \${MAX_CONN}
virtualHosts:
  - name: api
    domains: ["*"]
    routes:
      - name: lit
        match: { path: /lit }
        directResponse: { status: 200, body: "cost: $\${PRICE}" }
      - name: r0
        match: { prefix: / }
        route: { cluster: c0 }
clusters:
  - name: c0
    discovery: { type: static, endpoints: ["\${UPSTREAM}"] }
`;
    const cfg = ok(
      await loadConfigText(text, {
        ADMIN_PORT: '9911',
        ADMIN_TOKEN: 'secret-token',
        LISTEN_HOST: '0.0.0.0',
        CERT_DIR: dir,
        H2: 'false',
        MAX_CONN: '500',
        UPSTREAM: '10.0.0.7:9443',
      }),
    );
    assert.equal(cfg.admin.address, '127.0.0.1:9911');
    assert.equal(cfg.admin.token, 'secret-token');
    assert.equal(cfg.listeners[0]!.address, '0.0.0.0:8443');
    assert.equal(cfg.listeners[0]!.tls!.certificates[0]!.certFile, F.edgeCrt);
    assert.equal(cfg.listeners[0]!.tls!.http2, false);
    assert.equal(cfg.listeners[0]!.limits.maxConnections, 500);
    assert.equal(cfg.virtualHosts[0]!.routes[0]!.directResponse!.body, 'cost: ${PRICE}');
    assert.deepEqual(cfg.clusters[0]!.discovery, { type: 'static', endpoints: ['10.0.0.7:9443'] });
  });

  it('never substitutes in keys', async () => {
    const r = await loadConfigText('${KEY}: 1\n', { KEY: 'admin' });
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.errors.map(formatConfigError).includes('["${KEY}"]: unknown key'));
  });

  it('parses durations, including compound ones', async () => {
    const c = baseConfig();
    c.drain = { delay: '0s', timeout: '1m30s' };
    c.listeners[0].limits = { headersTimeout: '250ms', requestTimeout: '1.5s', idleTimeout: '1h' };
    const cfg = ok(await loadConfigText(toYaml(c), {}));
    assert.deepEqual(cfg.drain, { delay: 0, timeout: 90_000 });
    assert.equal(cfg.listeners[0]!.limits.headersTimeout, 250);
    assert.equal(cfg.listeners[0]!.limits.requestTimeout, 1_500);
    assert.equal(cfg.listeners[0]!.limits.idleTimeout, 3_600_000);
  });

  it('returns a deep-frozen snapshot', async () => {
    const cfg = ok(await loadConfigText(toYaml(baseConfig()), {}));
    const stack: unknown[] = [cfg];
    let count = 0;
    while (stack.length > 0) {
      const v = stack.pop();
      if (typeof v === 'object' && v !== null) {
        assert.ok(Object.isFrozen(v), 'every object and array is frozen');
        count++;
        stack.push(...Object.values(v));
      }
    }
    assert.ok(count > 20);
    assert.throws(() => {
      (cfg.listeners as unknown[]).push({});
    }, TypeError);
    assert.throws(() => {
      (cfg.listeners[0]!.limits as { maxBodyBytes: number }).maxBodyBytes = 1;
    }, TypeError);
  });

  it('does not share default objects between loads', async () => {
    const a = ok(await loadConfigText(toYaml(baseConfig()), {}));
    const b = ok(await loadConfigText(toYaml(baseConfig()), {}));
    assert.notEqual(a.listeners[0]!.trustedProxies.cidrs, b.listeners[0]!.trustedProxies.cidrs);
    assert.notEqual(a.admin, b.admin);
  });

  it('makes relative file paths absolute against the working directory', async () => {
    const sub = path.join(dir, 'relative');
    mkdirSync(path.join(sub, 'certs'), { recursive: true });
    for (const f of ['edge.crt', 'edge.key', 'ca.crt']) writeFileSync(path.join(sub, 'certs', f), 'x');
    const c = baseConfig();
    c.listeners[0].tls.certificates[0] = { certFile: 'certs/edge.crt', keyFile: './certs/edge.key' };
    c.clusters[1].tls = { caFile: 'certs/ca.crt' };
    c.accessLog = { path: 'access.log' };
    const before = process.cwd();
    process.chdir(sub);
    try {
      const cfg = ok(await loadConfigText(toYaml(c), {}));
      assert.equal(cfg.listeners[0]!.tls!.certificates[0]!.certFile, path.join(sub, 'certs/edge.crt'));
      assert.equal(cfg.listeners[0]!.tls!.certificates[0]!.keyFile, path.join(sub, 'certs/edge.key'));
      assert.equal(cfg.clusters[1]!.tls!.caFile, path.join(sub, 'certs/ca.crt'));
      assert.equal(cfg.accessLog.path, path.join(sub, 'access.log'));
    } finally {
      process.chdir(before);
    }
  });

  it('loads from a file and returns its text', async () => {
    const file = path.join(dir, 'gateway.yaml');
    const text = toYaml(baseConfig());
    writeFileSync(file, text);
    const r = await loadConfigFile(file, {});
    ok(r);
    assert.equal(r.ok && r.text, text);
  });

  it('accepts every built key without a "not supported yet"', async () => {
    const c = baseConfig();
    c.admin = { address: '[::1]:9901', token: 't' };
    c.accessLog = { path: 'stderr' };
    c.listeners[0].proxyProtocol = false;
    c.virtualHosts[0].routes[0].route.websocket = false;
    c.clusters[1].http2 = false;
    c.clusters[1].loadBalancer = { policy: 'round_robin' };
    ok(await loadConfigText(toYaml(c), {}));
  });
});
