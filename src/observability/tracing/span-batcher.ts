import { LazyWorker } from '../../util/module-worker.ts';
import { log } from '../logger.ts';
import { postOtlp } from './otlp-post.ts';
import type { ExportReply, ExportRequest } from './export-worker.ts';
import type { SpanRecord } from './span-record.ts';

// Finished span records wait here in a bounded queue and leave in batches for the export worker
// (export-worker.ts), which encodes and sends them: the batching of the SDK's BatchSpanProcessor
// (same limits), kept on the serving thread only as far as pushing a record and posting a batch.
// One batch is out at a time; past the queue's bound spans are dropped, counted and warned about,
// so a collector that is slow or away never grows the gateway's memory.

const MAX_QUEUE = 4096;
const MAX_BATCH = 512;
const DELAY_MS = 2000;
const WARN_EVERY_MS = 60_000;

type Done = (error: string | null) => void;

interface Pending {
  readonly request: ExportRequest;
  readonly done: Done;
}

let nextId = 1;
const pending = new Map<number, Pending>();

/** The worker's job, done on this thread when there is no worker (it could not start, or died). */
function exportInProcess(p: Pending): void {
  import('./span-build.ts')
    .then(({ encodeSpans }) => {
      const body = encodeSpans(p.request.records);
      if (body === undefined) throw new Error('spans could not be encoded');
      return postOtlp(p.request.url, body, p.request.timeoutMs);
    })
    .then(
      () => p.done(null),
      (err: Error) => p.done(err.message),
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
    p.done(m.error);
  },
  () => {
    for (const [id, p] of pending) {
      pending.delete(id);
      exportInProcess(p);
    }
  },
);

/** Encodes and sends one batch to `url` (in the worker when it runs); `done` gets null, or why it was not delivered. */
export function exportBatch(url: string, records: SpanRecord[], timeoutMs: number, done: Done): void {
  const p: Pending = { request: { id: nextId++, url, records, timeoutMs }, done };
  pending.set(p.request.id, p);
  if (!worker.post(p.request)) {
    pending.delete(p.request.id);
    exportInProcess(p);
  }
}

export class SpanBatcher {
  private queue: SpanRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private exporting = false;
  private closed = false;
  private idle: Array<() => void> = [];
  private dropped = 0;
  private failed = 0;
  private lastWarnAt = -Infinity;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Starts the export worker now rather than at the first batch: loading and compiling the
   * OpenTelemetry modules in it costs ~100 ms of CPU, which would otherwise land on the serving
   * core ~2 s into traffic. Only when spans are expected: the worker holds ~25 MB of RSS.
   */
  warm(): void {
    worker.warm();
  }

  add(record: SpanRecord): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.dropped++;
      this.warnNow('span queue full; spans dropped');
      return;
    }
    this.queue.push(record);
    if (this.exporting) return;
    if (this.queue.length >= MAX_BATCH) this.exportNext();
    else if (this.timer === null) this.timer = setTimeout(this.onTimer, DELAY_MS).unref();
  }

  /** Resolves when everything queued now has been sent (or given up on). */
  flush(): Promise<void> {
    if (!this.exporting && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      if (!this.exporting) this.exportNext();
    });
  }

  /** Sends what is queued, then takes no more. */
  close(): Promise<void> {
    const flushed = this.flush();
    this.closed = true;
    return flushed;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    if (!this.exporting) this.exportNext();
  };

  private exportNext(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    let batch = this.queue;
    if (batch.length > MAX_BATCH) batch = this.queue.splice(0, MAX_BATCH);
    else this.queue = [];
    this.exporting = true;
    exportBatch(this.url, batch, this.timeoutMs, (error) => {
      this.exporting = false;
      if (error !== null) {
        this.failed += batch.length;
        this.warnNow('span export failed; the batch is dropped', error);
      }
      // A full batch waiting, or a flush asked: go on at once; otherwise wait for the timer.
      if (this.queue.length >= MAX_BATCH || this.idle.length > 0) this.exportNext();
      else if (this.queue.length > 0 && this.timer === null) this.timer = setTimeout(this.onTimer, DELAY_MS).unref();
    });
  }

  /** At most one warning a minute, with the counts since the last one. */
  private warnNow(msg: string, err?: string): void {
    const now = performance.now();
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    log.warn({ ...(err !== undefined ? { err } : {}), url: this.url, failedSpans: this.failed, droppedSpans: this.dropped }, msg);
    this.failed = 0;
    this.dropped = 0;
  }
}
