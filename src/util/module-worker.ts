import { Worker } from 'node:worker_threads';
import { log } from '../observability/logger.ts';

/**
 * A worker thread running the module `path` (relative to `from`, the caller's import.meta.url, and
 * given without its extension). Built, that is `path.js` beside the caller in dist/. From the
 * sources through tsx it is `path.ts`, and since a worker thread does not inherit tsx's loader
 * (node 20), a one-line bootstrap registers it first.
 */
export function moduleWorker(from: string, path: string): Worker {
  if (!from.endsWith('.ts')) return new Worker(new URL(`${path}.js`, from));
  const entry = new URL(`${path}.ts`, from).href;
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

/**
 * The one worker thread of a kind of off-loaded work (config parsing, xDS translation): started on
 * first use, keeping the process alive only while work is out (post() … done()). If it cannot start
 * or dies, `lost` runs (finish what was out in-process) and post() answers false from then on:
 * slower for huge inputs, never wrong.
 */
export class LazyWorker<Reply> {
  private worker: Worker | null = null;
  private broken = false;
  private busy = 0;

  constructor(
    private readonly from: string,
    private readonly path: string,
    /** What it does, for the log ("config loading", "xDS translation"). */
    private readonly what: string,
    private readonly onReply: (m: Reply) => void,
    private readonly lost: () => void,
  ) {}

  /** Sends `msg` to the worker; false when there is none (do the work in-process). */
  post(msg: unknown): boolean {
    const w = this.start();
    if (w === null) return false;
    if (this.busy++ === 0) w.ref(); // work is out: its answer is awaited
    w.postMessage(msg);
    return true;
  }

  /** Starts the thread now (unreferenced), so that its start-up is not paid when the first work comes. */
  warm(): void {
    this.start();
  }

  /** One posted piece of work was answered. */
  done(): void {
    if (--this.busy === 0) this.worker?.unref(); // idle: it must not keep the process alive
  }

  private start(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = moduleWorker(this.from, this.path);
      w.on('message', (m: Reply) => this.onReply(m));
      w.on('error', (err) => {
        log.error({ err: err.message }, `${this.what} worker failed; working in-process`);
        this.fallBack(w);
      });
      w.on('exit', () => this.fallBack(w));
      // Listeners first: adding a 'message' listener refs the worker again.
      w.unref();
      this.worker = w;
    } catch (err) {
      log.warn({ err: (err as Error).message }, `${this.what} worker could not start; working in-process`);
      this.broken = true;
    }
    return this.worker;
  }

  private fallBack(w: Worker): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.broken = true;
    this.busy = 0;
    this.lost();
  }
}
