import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { postOtlp } from './otlp-post.ts';

// The span export worker: sends each encoded batch to the collector and answers when it is done.
// Its own thread, so the serving thread never runs an HTTP client of node's core besides undici:
// that alone (the exporter's ClientRequest and sockets going through the same node:http and
// stream functions as the served requests) made those functions polymorphic and cost ~10 % of
// the gateway's CPU with tracing at a 1 % ratio.

export interface ExportRequest {
  id: number;
  url: string;
  body: Uint8Array;
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
  postOtlp(m.url, m.body, m.timeoutMs).then(
    () => port.postMessage({ id: m.id, error: null } satisfies ExportReply),
    (err: Error) => port.postMessage({ id: m.id, error: err.message } satisfies ExportReply),
  );
});
