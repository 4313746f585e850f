import type { Worker } from 'node:worker_threads';
import { moduleWorker } from '../util/module-worker.ts';
import { log } from '../observability/logger.ts';
import { loadConfigFile, type LoadResult } from './load.ts';
import { deepFreeze } from './merge.ts';
import type { LoadReply, LoadRequest } from './load-worker.ts';

// Config reloads parse and validate in a worker thread (load-worker.ts), so a large YAML file never
// stalls the requests being served; only the (fast) compile runs on the main thread. One worker per
// process, started on the first reload; it keeps the process alive only while it has work. If it
// cannot start or dies, loading happens in-process: slower for huge files, never wrong.

let worker: Worker | null = null;
let broken = false;
let nextId = 1;
const pending = new Map<number, { file: string; resolve(r: LoadResult): void }>();

function start(): Worker | null {
  if (worker || broken) return worker;
  try {
    const w = moduleWorker(import.meta.url, './load-worker');
    w.on('message', (m: LoadReply) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (pending.size === 0) w.unref();
      // a structured clone arrives unfrozen: the snapshot is immutable again before anyone sees it
      p.resolve(m.result.ok ? { ...m.result, config: deepFreeze(m.result.config) } : m.result);
    });
    w.on('error', (err) => {
      log.error({ err: err.message }, 'config loading worker failed; loading in-process');
      fallBack();
    });
    w.on('exit', () => {
      if (worker === w) fallBack();
    });
    w.unref();
    worker = w;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'config loading worker could not start; loading in-process');
    broken = true;
  }
  return worker;
}

function fallBack(): void {
  worker = null;
  broken = true;
  for (const [id, p] of pending) {
    pending.delete(id);
    void loadConfigFile(p.file).then(p.resolve);
  }
}

/** loadConfigFile() in the worker thread (same result, same errors). */
export function loadConfigFileOffThread(file: string): Promise<LoadResult> {
  const w = start();
  if (w === null) return loadConfigFile(file);
  return new Promise<LoadResult>((resolve) => {
    const id = nextId++;
    pending.set(id, { file, resolve });
    w.ref();
    w.postMessage({ id, file, env: process.env } satisfies LoadRequest);
  });
}
