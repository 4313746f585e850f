import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { postOtlp } from './otlp-post.ts';
import { encodeSpans } from './span-build.ts';
import type { SpanRecord } from './span-record.ts';

// The span export worker: turns each batch of span records into OTLP JSON (span-build.ts), sends it
// to the collector and answers when it is done. Its own thread, for two reasons measured on the
// serving thread: the exporter's ClientRequest and sockets going through the same node:http and
// stream functions as the served requests made them polymorphic (~10 % of the gateway's CPU with
// tracing at a 1 % ratio), and building and encoding the spans there, once in a hundred requests,
// ran cold (~107 µs per sampled request against ~24 µs when every request is sampled).

export interface ExportRequest {
  id: number;
  url: string;
  records: SpanRecord[];
  timeoutMs: number;
}

export interface ExportReply {
  id: number;
  /** Why the batch was not delivered, or null. */
  error: string | null;
}

// Lowest CPU priority for this thread only (Linux applies it per thread), like the other workers:
// exporting spans must never take CPU time from serving.
try {
  setPriority(19);
} catch {
  // not allowed here: export at normal priority
}

const port = parentPort!;
port.on('message', (m: ExportRequest) => {
  const body = encodeSpans(m.records);
  if (body === undefined) {
    port.postMessage({ id: m.id, error: 'spans could not be encoded' } satisfies ExportReply);
    return;
  }
  postOtlp(m.url, body, m.timeoutMs).then(
    () => port.postMessage({ id: m.id, error: null } satisfies ExportReply),
    (err: Error) => port.postMessage({ id: m.id, error: err.message } satisfies ExportReply),
  );
});
