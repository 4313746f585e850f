import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { startOtlpReceiver, SPAN_KIND_CLIENT, SPAN_KIND_SERVER, STATUS_ERROR, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.ts';
import { tracesUrl } from '../../src/observability/tracing/span-export.ts';

// Span export over OTLP/HTTP to a real receiver on loopback: one server span per request and one
// client span per upstream try (retries visible as siblings), parent/child links, the propagated
// trace id (the client's, and the upstream's traceparent pointing at the try's span), semantic
// convention attributes, and sampling by the parent's flag or sampleRatio.

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let pki: TestPki;
let up: TestUpstream;
let flaky: TestUpstream;
let otlp: OtlpReceiver;
let gw: TestGateway;
let deadPort: number;

function config(sampleRatio: number): string {
  return `
tracing: { otlp: { endpoint: "${otlp.url}" }, sampleRatio: ${sampleRatio} }
${gatewayPreamble(pki)}
virtualHosts:
  - name: shop
    domains: ["*"]
    routes:
      - { name: retried, match: { prefix: /retried }, route: { cluster: flaky, retries: { attempts: 1, retryOn: ["503"] } } }
      - { name: direct, match: { path: /ping }, directResponse: { status: 200, body: "pong" } }
      - { name: dead, match: { prefix: /dead }, route: { cluster: dead } }
      - { name: api, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - { name: backend, discovery: { type: static, endpoints: ["${up.address}"] } }
  - { name: dead, discovery: { type: static, endpoints: ["127.0.0.1:${deadPort}"] }, connectTimeout: 1s }
  - { name: flaky, discovery: { type: static, endpoints: ["${flaky.address}"] } }
`;
}

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  let n = 0;
  // Every odd request fails with 503: a retried request's first try fails, its second succeeds.
  flaky = await startUpstream({ handler: (_req, res) => (++n % 2 === 1 ? res.writeHead(503).end('busy') : res.writeHead(200).end('ok')) });
  otlp = await startOtlpReceiver();
  deadPort = await freePort(); // nothing listens there
  gw = await startGateway(config(1));
});
after(async () => {
  await gw.close();
  await Promise.all([up.close(), flaky.close(), otlp.close()]);
});

function spansOf(traceId: string): ReceivedSpan[] {
  return otlp.spans.filter((s) => s.traceId === traceId);
}

function upstreamTraceparent(u: TestUpstream, requestId: string): string {
  const s = u.seen.filter((r) => r.headers['x-request-id'] === requestId).at(-1);
  assert.ok(s, `the upstream saw ${requestId}`);
  return String(s.headers.traceparent);
}

test('the collector URL gets the signal path', () => {
  assert.equal(tracesUrl('http://127.0.0.1:4318'), 'http://127.0.0.1:4318/v1/traces');
  assert.equal(tracesUrl('http://collector:4318/base/'), 'http://collector:4318/base/v1/traces');
  assert.equal(tracesUrl('http://collector:4318/v1/traces'), 'http://collector:4318/v1/traces');
});

test('a server span and a client span per try, linked, in the caller\'s trace, with semantic-convention attributes', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const callerSpan = 'b7ad6b7169203331';
  const r = await h1(pki, gw.httpsPort, '/orders/7?secret=x', {
    headers: { traceparent: `00-${traceId}-${callerSpan}-01`, 'x-request-id': 'tr-1', 'user-agent': 'test-agent' },
  });
  assert.equal(r.status, 200);
  await eventually(() => spansOf(traceId).length >= 2, 'server and client spans exported');
  const server = spansOf(traceId).find((s) => s.kind === SPAN_KIND_SERVER)!;
  const client = spansOf(traceId).find((s) => s.kind === SPAN_KIND_CLIENT)!;
  assert.ok(server && client);
  assert.equal(server.parentSpanId, callerSpan, "the server span's parent is the caller's span");
  assert.equal(client.parentSpanId, server.spanId, 'the client span is a child of the server span');
  assert.equal(server.name, 'GET api');
  assert.deepEqual(
    {
      method: server.attributes['http.request.method'],
      path: server.attributes['url.path'],
      status: server.attributes['http.response.status_code'],
      host: server.attributes['server.address'],
      route: server.attributes['gatehouse.route'],
      cluster: server.attributes['gatehouse.cluster'],
      ua: server.attributes['user_agent.original'],
      requestId: server.attributes['gatehouse.request_id'],
    },
    { method: 'GET', path: '/orders/7', status: 200, host: 'localhost', route: 'api', cluster: 'backend', ua: 'test-agent', requestId: 'tr-1' },
  );
  assert.equal(server.attributes['gatehouse.response_flags'], undefined, 'no flags: no attribute');
  assert.ok(!JSON.stringify(otlp.spans).includes('secret=x'), 'the query string is not recorded');
  assert.equal(client.attributes['http.response.status_code'], 200);
  assert.equal(client.attributes['server.address'], '127.0.0.1');
  assert.equal(client.attributes['server.port'], up.port);
  assert.equal(client.attributes['gatehouse.cluster'], 'backend');
  assert.equal(server.resource['service.name'], 'gatehouse');

  // The upstream's parent is the try's client span, in the same trace.
  const m = TRACEPARENT.exec(upstreamTraceparent(up, 'tr-1'));
  assert.ok(m);
  assert.equal(m[1], traceId);
  assert.equal(m[2], client.spanId);
  assert.equal(m[3], '01');
});

test('retries are visible: one client span per try, siblings under the server span', async () => {
  const r = await h2(pki, gw.httpsPort, '/retried', { headers: { 'x-request-id': 'tr-retry' } });
  assert.equal(r.status, 200);
  const m = TRACEPARENT.exec(upstreamTraceparent(flaky, 'tr-retry'));
  assert.ok(m, 'a trace was started for a request without traceparent');
  const traceId = m[1];
  await eventually(() => spansOf(traceId).length >= 3, 'a server span and two client spans');
  const server = spansOf(traceId).find((s) => s.kind === SPAN_KIND_SERVER)!;
  assert.equal(server.parentSpanId, '', 'a root span: the gateway started the trace');
  assert.equal(server.attributes['network.protocol.version'], '2');
  const tries = spansOf(traceId).filter((s) => s.kind === SPAN_KIND_CLIENT);
  assert.equal(tries.length, 2);
  for (const t of tries) assert.equal(t.parentSpanId, server.spanId);
  const [first, second] = [tries.find((t) => t.attributes['http.request.resend_count'] === undefined)!, tries.find((t) => t.attributes['http.request.resend_count'] === 1)!];
  assert.ok(first && second, 'the retry carries http.request.resend_count');
  assert.equal(first.attributes['http.response.status_code'], 503);
  assert.equal(first.statusCode, STATUS_ERROR);
  assert.equal(second.attributes['http.response.status_code'], 200);
  assert.equal(m[2], second.spanId, "the last try's span is the parent the upstream saw");
});

test('the server span carries the response flags the access log would show (UF: upstream connect failure)', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const r = await h1(pki, gw.httpsPort, '/dead/x', { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
  assert.equal(r.status, 502);
  await eventually(() => spansOf(traceId).some((s) => s.kind === SPAN_KIND_SERVER), 'the server span is exported');
  const server = spansOf(traceId).find((s) => s.kind === SPAN_KIND_SERVER)!;
  assert.equal(server.attributes['gatehouse.response_flags'], 'UF');
  assert.equal(server.attributes['error.type'], 'upstream_connect_failure');
  assert.equal(server.statusCode, STATUS_ERROR);
});

test("sampling: the parent's flag wins; sampleRatio decides for new traces", async () => {
  // ratio 1, caller says "not sampled": nothing exported, the flag is passed on as 00.
  const unsampled = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  assert.equal((await h1(pki, gw.httpsPort, '/u', { headers: { traceparent: `00-${unsampled}-1111111111111111-00`, 'x-request-id': 'tr-u' } })).status, 200);
  assert.match(upstreamTraceparent(up, 'tr-u'), new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));

  gw.rewrite(config(0));
  assert.equal((await gw.gw.reload('test')).ok, true);
  // ratio 0: a new trace is not sampled…
  assert.equal((await h1(pki, gw.httpsPort, '/n', { headers: { 'x-request-id': 'tr-n' } })).status, 200);
  const fresh = TRACEPARENT.exec(upstreamTraceparent(up, 'tr-n'))!;
  assert.equal(fresh[3], '00');
  // …but a sampled parent still is.
  const sampled = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
  assert.equal((await h1(pki, gw.httpsPort, '/s', { headers: { traceparent: `00-${sampled}-2222222222222222-01`, 'x-request-id': 'tr-s' } })).status, 200);
  await eventually(() => spansOf(sampled).length >= 2, 'the sampled request is exported');
  // Spans are exported in order: the earlier unsampled requests would be there by now.
  assert.equal(spansOf(unsampled).length, 0);
  assert.equal(spansOf(fresh[1]).length, 0);
});
