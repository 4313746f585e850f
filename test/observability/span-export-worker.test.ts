import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OffThreadOtlpExporter } from '../../src/observability/tracing/off-thread-exporter.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp.ts';
import { freePort } from '../helpers/net.ts';

// The OTLP exporter sends from a worker thread: batches reach a real receiver, a collector's error
// status or absence fails the export (the SDK's processor then drops the batch), and the serving
// thread itself never runs an HTTP client request (which made node's http/stream code polymorphic
// and cost ~10 % of the gateway's CPU).

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

function span(name: string): ReadableSpan {
  const ctx = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
  return {
    name,
    kind: SpanKind.SERVER,
    spanContext: () => ctx,
    startTime: [1_700_000_000, 0],
    endTime: [1_700_000_000, 5_000_000],
    duration: [0, 5_000_000],
    status: { code: SpanStatusCode.UNSET },
    attributes: { 'gatehouse.route': 'r1' },
    links: [],
    events: [],
    ended: true,
    resource: resourceFromAttributes({ 'service.name': 'gatehouse' }),
    instrumentationScope: { name: 'gatehouse' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function exportTo(url: string, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => new OffThreadOtlpExporter(url, 5_000).export(spans, resolve));
}

test('a batch reaches the collector, and the serving thread runs no HTTP client request', async () => {
  const requestsOnThisThread: unknown[] = [];
  const onRequest = (m: unknown) => requestsOnThisThread.push(m);
  subscribe('http.client.request.start', onRequest);
  try {
    const result = await exportTo(`${otlp.url}/v1/traces`, [span('GET r1'), span('GET r2')]);
    assert.equal(result.code, ExportResultCode.SUCCESS);
  } finally {
    unsubscribe('http.client.request.start', onRequest);
  }
  assert.deepEqual(
    otlp.spans.map((s) => [s.name, s.traceId, s.attributes['gatehouse.route']]),
    [
      ['GET r1', '0af7651916cd43dd8448eb211c80319c', 'r1'],
      ['GET r2', '0af7651916cd43dd8448eb211c80319c', 'r1'],
    ],
  );
  assert.equal(requestsOnThisThread.length, 0, 'the POST was made by the worker thread');
});

test("a collector's error status fails the export", async () => {
  const result = await exportTo(failingUrl, [span('GET r1')]);
  assert.equal(result.code, ExportResultCode.FAILED);
  assert.match(String(result.error?.message), /collector answered 503/);
});

test('a collector nobody listens for fails the export, and the next export to a live one still works', async () => {
  const down = await exportTo(`http://127.0.0.1:${await freePort()}/v1/traces`, [span('lost')]);
  assert.equal(down.code, ExportResultCode.FAILED);
  const before = otlp.exports;
  const up = await exportTo(`${otlp.url}/v1/traces`, [span('after')]);
  assert.equal(up.code, ExportResultCode.SUCCESS);
  assert.equal(otlp.exports, before + 1);
  assert.ok(!otlp.spans.some((s) => s.name === 'lost'));
});
