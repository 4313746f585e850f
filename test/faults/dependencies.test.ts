import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { closedAfterTests } from '../helpers/fixture.ts';
import { gatewayPreamble } from '../helpers/gateway.ts';
import { startLoad, type LoadReport } from '../helpers/load.ts';
import { startRedis } from '../helpers/redis.ts';
import { startDnsmasq } from '../helpers/dnsmasq.ts';
import { makeKey, sign, startJwksServer } from '../helpers/authn-jwks.ts';
import { eventually } from '../helpers/net.ts';
import { startGrpcAuthz } from '../helpers/ext-authz.ts';
import { named } from '../upstream/setup.ts';

// A dependency goes down under steady load (issue 15): Redis (limits keep holding from memory, no
// 5xx), the DNS server (last good endpoints), the JWKS server (cached keys), the ext_authz service
// (the configured failure mode and nothing else). What the clients saw is asserted; nothing about
// time. (The xDS server killed and restarted under load is in test/xds/traffic.test.ts.)

let pki: TestPki;
before(async () => {
  pki = await testPki();
});
const { defer, gateway, upstream } = closedAfterTests();

/** What happened between two reports of the same load run. */
function delta(later: LoadReport, earlier: LoadReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(later.byStatus)) out[k] = v - (earlier.byStatus[k] ?? 0);
  return out;
}

test('Redis killed and restarted under load: the limit keeps holding (memory fallback), never a 5xx', async () => {
  const redis = await startRedis();
  defer(() => redis.stop());
  const gw = await gateway(`
${gatewayPreamble(pki)}
rateLimit:
  store: redis
  redis: { url: "${redis.url}", keyPrefix: "faults:" }
  policies:
    - { name: per-key, key: "header:x-k", limit: 20, window: 1s }
virtualHosts:
  - name: main
    domains: ["*"]
    rateLimits: [per-key]
    routes:
      - { name: all, match: { prefix: / }, directResponse: { status: 200, body: "ok" } }
`);
  const limited = (s: number) => s === 200 || s === 429;
  const load = startLoad({ port: gw.httpsPort, pki, concurrency: 3, headers: { 'x-k': 'one-client' }, ok: limited });
  let r: LoadReport;
  try {
    await load.waitForMore(200);
    const before = load.report();
    assert.ok((before.byStatus['429'] ?? 0) > 0, 'the limit holds with Redis up');
    await redis.stop();
    await load.waitForMore(300);
    const down = load.report();
    const during = delta(down, before);
    assert.ok((during['429'] ?? 0) > 0, `the limit holds while Redis is down: ${JSON.stringify(during)}`);
    await redis.restart();
    await load.waitForMore(300);
    const back = delta(load.report(), down);
    assert.ok((back['429'] ?? 0) > 0, `the limit holds after Redis is back: ${JSON.stringify(back)}`);
  } finally {
    r = await load.stop();
  }
  assert.equal(r.failed, 0, `only 200 and 429, no 5xx and no error: ${JSON.stringify(r.byStatus)} ${r.failures.join(' | ')}`);
});

test('the DNS server stopped under load: the last good endpoints keep serving', async () => {
  const up = await upstream(named('dns-backend'));
  const dns = await startDnsmasq({ hosts: [{ name: 'backend.faults.test', address: '127.0.0.1' }], ttl: 1 });
  defer(() => dns.stop());
  const gw = await gateway(`
${gatewayPreamble(pki)}
dns: { servers: ["${dns.server}"] }
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend, timeout: 5s } }
clusters:
  - name: backend
    discovery: { type: dns, host: backend.faults.test, port: ${up.port}, refresh: 200ms }
    connectTimeout: 1s
`);
  const load = startLoad({ port: gw.httpsPort, pki, concurrency: 3 });
  let r: LoadReport;
  try {
    await load.waitForMore(100);
    await dns.stop();
    // several refresh intervals pass with every lookup failing
    await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
      return /gatehouse_\w*dns\w*failures\w*\{[^}]*cluster="backend"[^}]*\} [1-9]/.test(text);
    }, 'DNS lookups fail (counted on /metrics)');
    await load.waitForMore(300);
  } finally {
    r = await load.stop();
  }
  assert.equal(r.failed, 0, `no request failed while DNS was down: ${JSON.stringify(r.byStatus)} ${r.failures.join(' | ')}`);
});

test('the JWKS server down under load: tokens keep validating with the cached key set', async () => {
  const key = await makeKey('k1', 'ec');
  const jwks = await startJwksServer([key]);
  defer(() => jwks.stop());
  const up = await upstream(named('secured'));
  // distinct tokens, so each request is a real signature check against the cached keys
  const tokens = await Promise.all(Array.from({ length: 800 }, (_, i) => sign(key, { sub: `user-${i}` }, { expIn: 600 })));
  const gw = await gateway(`
${gatewayPreamble(pki)}
authn:
  providers:
    - { name: idp, issuer: "https://idp.test", audiences: [gatehouse-test], jwksUri: "${jwks.url}", algorithms: [ES256] }
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [idp] }
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend, timeout: 5s } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
  const load = startLoad({ port: gw.httpsPort, pki, concurrency: 3, headers: (n) => ({ authorization: `Bearer ${tokens[n % tokens.length]}` }) });
  let r: LoadReport;
  try {
    await load.waitForMore(100);
    await jwks.stop();
    await load.waitForMore(600);
  } finally {
    r = await load.stop();
  }
  assert.equal(r.failed, 0, `no 401 while the JWKS server was down: ${JSON.stringify(r.byStatus)} ${r.failures.join(' | ')}`);
});

test('the ext_authz service down under load: failureModeAllow routes keep serving, the others answer 403 ext_authz_error, nothing else; back when it returns', async () => {
  let authz = await startGrpcAuthz();
  defer(() => authz.stop());
  const up = await upstream(named('guarded'));
  const gw = await gateway(`
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    extAuthz: { grpc: { address: "${authz.address}" }, timeout: 500ms }
    routes:
      - name: open-on-failure
        match: { prefix: /lenient }
        extAuthz: { grpc: { address: "${authz.address}" }, timeout: 500ms, failureModeAllow: true }
        route: { cluster: backend, timeout: 5s }
      - { name: strict, match: { prefix: / }, route: { cluster: backend, timeout: 5s } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
  const lenient = startLoad({ port: gw.httpsPort, pki, path: '/lenient', concurrency: 2 });
  const strictAnswers = (s: number) => s === 200 || s === 403;
  const strict = startLoad({ port: gw.httpsPort, pki, path: '/strict', concurrency: 2, ok: strictAnswers });
  let rl: LoadReport;
  let rs: LoadReport;
  try {
    await strict.waitForMore(50);
    const port = authz.port;
    await authz.stop();
    const before = strict.report();
    await strict.waitForMore(100);
    await lenient.waitForMore(100);
    assert.ok((delta(strict.report(), before)['403'] ?? 0) > 0, 'the strict route denies while the service is down');
    authz = await startGrpcAuthz({ port });
    const back = strict.report();
    await eventually(() => (delta(strict.report(), back)['200'] ?? 0) > 20, 'the strict route serves again once the service is back');
  } finally {
    rl = await lenient.stop();
    rs = await strict.stop();
  }
  assert.equal(rl.failed, 0, `failureModeAllow: every request served: ${JSON.stringify(rl.byStatus)} ${rl.failures.join(' | ')}`);
  assert.equal(rs.failed, 0, `strict: only 200 and 403: ${JSON.stringify(rs.byStatus)} ${rs.failures.join(' | ')}`);
  assert.ok(up.seen.every((r) => r.url.startsWith('/lenient') || r.headers['x-envoy-auth-failure-mode-allowed'] === undefined), 'a denied request never reached the upstream');
});
