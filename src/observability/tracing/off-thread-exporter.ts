import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { LazyWorker } from '../../util/module-worker.ts';
import { log } from '../logger.ts';
import { postOtlp } from './otlp-post.ts';
import type { ExportReply, ExportRequest } from './export-worker.ts';

// The SDK's SpanExporter for OTLP/HTTP (JSON), sending from a worker thread (export-worker.ts says
// why). The batch is encoded here with OpenTelemetry's own serializer, so the collector sees what
// @opentelemetry/exporter-trace-otlp-http would send. The export's callback runs when the
// collector has answered: the BatchSpanProcessor sends one batch at a time and drops spans past its
// bounded queue while the collector is slow or away, so memory stays bounded.

const WARN_EVERY_MS = 60_000;

interface Pending {
  url: string;
  body: Uint8Array;
  timeoutMs: number;
  done(r: ExportResult): void;
}

let nextId = 1;
const pending = new Map<number, Pending>();
let failures = 0;
let lastWarnAt = -Infinity;

function finish(p: Pending, error: string | null): void {
  if (error === null) {
    p.done({ code: ExportResultCode.SUCCESS });
    return;
  }
  failures++;
  const now = performance.now();
  if (now - lastWarnAt >= WARN_EVERY_MS) {
    lastWarnAt = now;
    log.warn({ err: error, url: p.url, failedBatches: failures }, 'span export failed; the batch is dropped');
    failures = 0;
  }
  p.done({ code: ExportResultCode.FAILED, error: new Error(error) });
}

function sendInProcess(p: Pending): void {
  postOtlp(p.url, p.body, p.timeoutMs).then(
    () => finish(p, null),
    (err: Error) => finish(p, err.message),
  );
}

const worker = new LazyWorker<ExportReply>(
  import.meta.url,
  './export-worker',
  'span export',
  (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    worker.done();
    finish(p, m.error);
  },
  () => {
    for (const [id, p] of pending) {
      pending.delete(id);
      sendInProcess(p);
    }
  },
);

export class OffThreadOtlpExporter implements SpanExporter {
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const body = JsonTraceSerializer.serializeRequest(spans);
    if (body === undefined) {
      done({ code: ExportResultCode.FAILED, error: new Error('spans could not be encoded') });
      return;
    }
    const p: Pending = { url: this.url, body, timeoutMs: this.timeoutMs, done };
    const id = nextId++;
    pending.set(id, p);
    if (!worker.post({ id, url: this.url, body, timeoutMs: this.timeoutMs } satisfies ExportRequest)) {
      pending.delete(id);
      sendInProcess(p);
    }
  }

  // The BatchSpanProcessor awaits every export's callback before it flushes or shuts the exporter
  // down, so nothing is left in flight here by then.
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
