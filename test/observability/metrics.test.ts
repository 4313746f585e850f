import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import { X509Certificate } from 'node:crypto';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { keepAliveRequest } from '../helpers/traffic.ts';
import { scrape, type Metrics } from '../helpers/metrics.ts';

// /metrics read with a real Prometheus text-format parser: the SPEC's names with their types and
// labels, rising with traffic; label values only from config names; duration histograms from
// 0.25 ms to 30 s; connections by listener and protocol; certificate expiry; reloads told apart by
// result; counters carried across a reload and a retired route's series gone with it.

let pki: TestPki;
let a: TestUpstream;
let b: TestUpstream;
let failing: TestUpstream;
let mtls: TestUpstream;
let gw: TestGateway;

/** `withErrRoute: false` retires the err route and its cluster. */
function config(withErrRoute: boolean): string {
  return `
${gatewayPreamble(pki)}
virtualHosts:
  - name: shop
    domains: ["localhost"]
    routes:
      - { name: split, match: { prefix: /split }, route: { weightedClusters: [{ cluster: a, weight: 50 }, { cluster: b, weight: 50 }] } }
${withErrRoute ? '      - { name: err, match: { prefix: /err }, route: { cluster: failing } }' : ''}
      - { name: secure, match: { prefix: /secure }, route: { cluster: mtls } }
      - { name: ping, match: { path: /ping }, directResponse: { status: 200, body: "pong" } }
clusters:
  - { name: a, discovery: { type: static, endpoints: ["${a.address}"] } }
  - { name: b, discovery: { type: static, endpoints: ["${b.address}"] } }
${withErrRoute ? `  - { name: failing, discovery: { type: static, endpoints: ["${failing.address}"] } }` : ''}
  - name: mtls
    discovery: { type: static, endpoints: ["${mtls.address}"] }
    tls: { certFile: ${pki.file('gatehouse.crt')}, keyFile: ${pki.file('gatehouse.key')}, caFile: ${pki.file('ca.crt')}, serverName: localhost }
`;
}

before(async () => {
  pki = await testPki();
  a = await startUpstream();
  b = await startUpstream();
  failing = await startUpstream({ handler: (_req, res) => res.writeHead(503).end('no') });
  mtls = await startUpstream({ tls: { pki } });
  gw = await startGateway(config(true));
});
after(async () => {
  await gw.close();
  await Promise.all([a.close(), b.close(), failing.close(), mtls.close()]);
});

const shop = { virtual_host: 'shop' };

test('requests are counted by route, cluster and status class; histograms, types and label values are right', async () => {
  for (let i = 0; i < 20; i++) assert.equal((await h1(pki, gw.httpsPort, '/split/x')).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await h1(pki, gw.httpsPort, '/err')).status, 503);
  for (let i = 0; i < 2; i++) assert.equal((await h1(pki, gw.httpsPort, '/ping')).status, 200);
  assert.equal((await h1(pki, gw.httpsPort, '/secure')).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await h1(pki, gw.httpsPort, '/nowhere', { headers: { host: 'elsewhere.test' } })).status, 404);

  const m = await scrape(gw.adminPort);
  const types: Record<string, string> = {
    gatehouse_requests_total: 'COUNTER',
    gatehouse_request_duration_seconds: 'HISTOGRAM',
    gatehouse_upstream_requests_total: 'COUNTER',
    gatehouse_upstream_request_duration_seconds: 'HISTOGRAM',
    gatehouse_active_connections: 'GAUGE',
    gatehouse_active_requests: 'GAUGE',
    gatehouse_listener_requests_total: 'COUNTER',
    gatehouse_config_reloads_total: 'COUNTER',
    gatehouse_config_version: 'GAUGE',
    gatehouse_certificate_expiry_timestamp_seconds: 'GAUGE',
    gatehouse_authn_failures_total: 'COUNTER',
    gatehouse_ratelimit_limited_total: 'COUNTER',
    gatehouse_upstream_connect_errors_total: 'COUNTER',
    gatehouse_retries_total: 'COUNTER',
    gatehouse_outlier_ejections_total: 'COUNTER',
    gatehouse_circuit_breaker_overflow_total: 'COUNTER',
    process_cpu_user_seconds_total: 'COUNTER',
    nodejs_eventloop_lag_seconds: 'GAUGE',
  };
  for (const [name, type] of Object.entries(types)) assert.equal(m.type(name), type, name);

  const toA = m.value('gatehouse_requests_total', { ...shop, route: 'split', cluster: 'a', code_class: '2xx' });
  const toB = m.value('gatehouse_requests_total', { ...shop, route: 'split', cluster: 'b', code_class: '2xx' });
  assert.equal(toA + toB, 20);
  assert.ok(toA > 0 && toB > 0, `both sides of the split are counted (${toA}/${toB})`);
  assert.equal(m.value('gatehouse_requests_total', { ...shop, route: 'err', cluster: 'failing', code_class: '5xx' }), 3);
  assert.equal(m.value('gatehouse_requests_total', { ...shop, route: 'ping', cluster: '', code_class: '2xx' }), 2);
  assert.equal(m.value('gatehouse_requests_total', { ...shop, route: 'secure', cluster: 'mtls', code_class: '2xx' }), 1);
  assert.equal(m.value('gatehouse_requests_total', { virtual_host: '', route: '', cluster: '', code_class: '4xx' }), 2, 'unrouted requests');

  const hist = m.histogram('gatehouse_request_duration_seconds', { ...shop, route: 'split' });
  assert.ok(hist, 'a histogram series');
  assert.equal(hist.count, 20);
  for (const le of ['0.00025', '0.001', '1', '30', '+Inf']) assert.ok(le in hist.buckets, `bucket le=${le}`);
  assert.equal(hist.buckets['+Inf'], 20);
  assert.ok(hist.sum > 0);
  const up = m.histogram('gatehouse_upstream_request_duration_seconds', { cluster: 'a' });
  assert.equal(up?.count, toA);
  assert.equal(m.value('gatehouse_upstream_requests_total', { cluster: 'failing', code_class: '5xx' }), 3);
  assert.ok(m.value('gatehouse_listener_requests_total', { listener: 'public', protocol: 'http/1.1' }) >= 28);

  // Bounded cardinality: no label value is a request path or a client-chosen host.
  const clientValues = new Set(['/split/x', '/err', '/ping', '/secure', '/nowhere', 'elsewhere.test', 'localhost', '127.0.0.1']);
  for (const [name, v] of m.labelValues()) assert.ok(!clientValues.has(v), `${name} carries a client value: ${v}`);
});

test('open connections are counted by listener and negotiated protocol', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const session = http2.connect(`https://localhost:${gw.httpsPort}`, { ca: pki.read('ca.crt') });
  try {
    assert.equal((await keepAliveRequest(pki, agent, gw.httpsPort, '/ping')).status, 200);
    await new Promise<void>((resolve, reject) => {
      const s = session.request({ ':path': '/ping' });
      s.on('error', reject);
      s.resume();
      s.on('end', () => resolve());
    });
    const m = await scrape(gw.adminPort);
    assert.ok(m.value('gatehouse_active_connections', { listener: 'public', protocol: 'http/1.1' }) >= 1);
    assert.ok(m.value('gatehouse_active_connections', { listener: 'public', protocol: 'h2' }) >= 1);
  } finally {
    agent.destroy();
    session.close();
  }
});

test('certificate expiry timestamps of listener and cluster certificates', async () => {
  const m = await scrape(gw.adminPort);
  const notAfter = (file: string) => Math.floor(Date.parse(new X509Certificate(pki.read(file)).validTo) / 1000);
  const expiry = (labels: Record<string, string>) => m.value('gatehouse_certificate_expiry_timestamp_seconds', labels);
  assert.equal(expiry({ kind: 'listener', name: 'public', file: pki.file('edge.crt') }), notAfter('edge.crt'));
  assert.equal(expiry({ kind: 'cluster', name: 'mtls', file: pki.file('gatehouse.crt') }), notAfter('gatehouse.crt'));
  assert.equal(expiry({ kind: 'cluster_ca', name: 'mtls', file: pki.file('ca.crt') }), notAfter('ca.crt'));
});

test('a rejected reload and a good one are told apart; counters carry over; a retired route leaves', async () => {
  const before: Metrics = await scrape(gw.adminPort);
  const version = before.value('gatehouse_config_version');
  const ok0 = before.value('gatehouse_config_reloads_total', { result: 'success' });
  assert.ok(ok0 >= 1, 'the first load counts as a success');
  assert.equal(before.value('gatehouse_config_reloads_total', { result: 'rejected' }), 0);
  const split0 = before.total('gatehouse_requests_total', { route: 'split' });

  gw.rewrite(`${config(true)}\nnotAKey: true\n`);
  assert.equal((await gw.gw.reload('test')).ok, false);
  const afterBad = await scrape(gw.adminPort);
  assert.equal(afterBad.value('gatehouse_config_reloads_total', { result: 'rejected' }), 1);
  assert.equal(afterBad.value('gatehouse_config_reloads_total', { result: 'success' }), ok0);
  assert.equal(afterBad.value('gatehouse_config_last_reload_successful'), 0);
  assert.equal(afterBad.value('gatehouse_config_version'), version, 'the last good config keeps serving');

  gw.rewrite(config(false));
  assert.equal((await gw.gw.reload('test')).ok, true);
  assert.equal((await h1(pki, gw.httpsPort, '/split/again')).status, 200);
  const afterGood = await scrape(gw.adminPort);
  assert.equal(afterGood.value('gatehouse_config_reloads_total', { result: 'success' }), ok0 + 1);
  assert.equal(afterGood.value('gatehouse_config_reloads_total', { result: 'rejected' }), 1);
  assert.equal(afterGood.value('gatehouse_config_last_reload_successful'), 1);
  assert.equal(afterGood.value('gatehouse_config_version'), version + 1);
  assert.equal(afterGood.total('gatehouse_requests_total', { route: 'split' }), split0 + 1, 'the kept route counts on');
  assert.equal(afterGood.total('gatehouse_requests_total', { route: 'err' }), 0, 'the retired route has no series left');
  assert.equal(afterGood.histogram('gatehouse_upstream_request_duration_seconds', { cluster: 'failing' }), undefined, 'nor the retired cluster');
});
