import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import { exportBatch, SpanBatcher } from '../../src/observability/tracing/span-batcher.ts';
import type { ClientSpanRecord, ServerSpanRecord, SpanRecord } from '../../src/observability/tracing/span-record.ts';
import { startOtlpReceiver, SPAN_KIND_CLIENT, SPAN_KIND_SERVER, STATUS_ERROR, type OtlpReceiver } from '../helpers/otlp.ts';
import { freePort } from '../helpers/net.ts';

// Span records leave the serving thread in batches: the export worker builds the OpenTelemetry
// spans and their OTLP JSON and sends them to a real receiver; a collector's error status or
// absence fails the batch; the serving thread itself never runs an HTTP client request (which made
// node's http/stream code polymorphic and cost ~10 % of the gateway's CPU); the queue is bounded
// while a collector is slow.

const TRACE = '0af7651916cd43dd8448eb211c80319c';

let otlp: OtlpReceiver;
let failing: http.Server;
let failingUrl: string;

before(async () => {
  otlp = await startOtlpReceiver();
  failing = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(503).end());
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/v1/traces`;
});
after(async () => {
  await otlp.close();
  await new Promise<void>((r) => failing.close(() => r()));
});

function server(name: string, over: Partial<ServerSpanRecord> = {}): ServerSpanRecord {
  return {
    kind: 'server',
    traceId: TRACE,
    spanId: 'b7ad6b7169203331',
    parentSpanId: null,
    traceState: null,
    startMs: 1_700_000_000_000,
    endMs: 1_700_000_000_005.5,
    method: 'GET',
    status: 200,
    errorCode: null,
    protocol: '1.1',
    userAgent: null,
    route: name,
    virtualHost: 'shop',
    path: '/x',
    cluster: 'backend',
    clientIp: '192.0.2.7',
    authority: 'shop.example:8443',
    requestId: 'req-1',
    flags: '-',
    ...over,
  };
}

function client(over: Partial<ClientSpanRecord> = {}): ClientSpanRecord {
  return {
    kind: 'client',
    traceId: TRACE,
    spanId: 'c7ad6b7169203332',
    parentSpanId: 'b7ad6b7169203331',
    traceState: null,
    startMs: 1_700_000_000_001,
    endMs: 1_700_000_000_004,
    method: 'GET',
    status: 503,
    errorCode: null,
    host: '10.0.0.1',
    port: 8080,
    url: 'http://10.0.0.1:8080/x',
    cluster: 'backend',
    resendCount: 1,
    ...over,
  };
}

function exportTo(url: string, records: SpanRecord[]): Promise<string | null> {
  return new Promise((resolve) => exportBatch(url, records, 5_000, resolve));
}

test('records become spans at the collector, built and sent by the worker thread: names, links, attributes, status', async () => {
  const requestsOnThisThread: unknown[] = [];
  const onRequest = (m: unknown) => requestsOnThisThread.push(m);
  subscribe('http.client.request.start', onRequest);
  try {
    const error = await exportTo(`${otlp.url}/v1/traces`, [
      server('r1', { parentSpanId: '1111111111111111', traceState: 'vendor=abc', flags: 'URX' }),
      client(),
      server('r2', { route: null, virtualHost: null, status: 0, errorCode: 'downstream_closed', spanId: 'd7ad6b7169203333' }),
    ]);
    assert.equal(error, null);
  } finally {
    unsubscribe('http.client.request.start', onRequest);
  }
  assert.equal(requestsOnThisThread.length, 0, 'the POST was made by the worker thread');
  const [s1, c1, s2] = otlp.spans.filter((s) => s.traceId === TRACE);
  assert.ok(s1 && c1 && s2, 'three spans arrived');
  assert.deepEqual([s1.name, s1.kind, s1.parentSpanId, s1.statusCode], ['GET r1', SPAN_KIND_SERVER, '1111111111111111', 0]);
  assert.equal(s1.attributes['gatehouse.route'], 'r1');
  assert.equal(s1.attributes['gatehouse.virtual_host'], 'shop');
  assert.equal(s1.attributes['gatehouse.response_flags'], 'URX');
  assert.equal(s1.attributes['server.address'], 'shop.example');
  assert.equal(s1.attributes['server.port'], 8443);
  assert.equal(s1.attributes['client.address'], '192.0.2.7');
  assert.equal(s1.attributes['http.response.status_code'], 200);
  assert.equal(s1.resource['service.name'], 'gatehouse');
  // The client span: a child of the server span, a 503 is its error, the resend count shows the retry.
  assert.deepEqual([c1.name, c1.kind, c1.parentSpanId, c1.statusCode], ['GET', SPAN_KIND_CLIENT, 'b7ad6b7169203331', STATUS_ERROR]);
  assert.equal(c1.attributes['error.type'], '503');
  assert.equal(c1.attributes['http.request.resend_count'], 1);
  assert.equal(c1.attributes['url.full'], 'http://10.0.0.1:8080/x');
  // No route, no answer: named by its method, an error with the gateway's code.
  assert.deepEqual([s2.name, s2.statusCode, s2.attributes['error.type']], ['GET', STATUS_ERROR, 'downstream_closed']);
  assert.equal(s2.attributes['gatehouse.route'], undefined);
});

test("a collector's error status fails the batch", async () => {
  assert.match(String(await exportTo(failingUrl, [server('r1')])), /collector answered 503/);
});

test('a collector nobody listens for fails the batch, and the next batch to a live one still goes', async () => {
  assert.notEqual(await exportTo(`http://127.0.0.1:${await freePort()}/v1/traces`, [server('lost')]), null);
  const before = otlp.exports;
  assert.equal(await exportTo(`${otlp.url}/v1/traces`, [server('after')]), null);
  assert.equal(otlp.exports, before + 1);
  assert.ok(!otlp.spans.some((s) => s.name === 'GET lost'));
});

test('while the collector is slow the queue is bounded: one batch of 512 out, 4,096 waiting, the rest dropped', async () => {
  let answer!: () => void;
  const slow = await startOtlpReceiver({ answerAfter: new Promise<void>((r) => (answer = r)) });
  try {
    const batcher = new SpanBatcher(`${slow.url}/v1/traces`, 30_000);
    for (let i = 0; i < 5_000; i++) batcher.add(server(`r${i}`, { spanId: i.toString(16).padStart(16, '0') }));
    const flushed = batcher.flush();
    answer();
    await flushed;
    assert.equal(slow.spans.length, 512 + 4_096);
    assert.equal(slow.exports, 1 + 8, 'one batch was out, then eight full batches');
    // The first 4,608 were kept, in order; the last ones were dropped.
    assert.equal(slow.spans.at(-1)!.name, 'GET r4607');
    // After the flush, the batcher takes records again.
    batcher.add(server('later'));
    await batcher.close();
    assert.equal(slow.spans.at(-1)!.name, 'GET later');
  } finally {
    await slow.close();
  }
});
