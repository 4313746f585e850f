import { LazyWorker } from '../util/module-worker.ts';
import { loadConfigFile, type LoadResult } from './load.ts';
import { deepFreeze } from './merge.ts';
import type { LoadReply, LoadRequest } from './load-worker.ts';

// Config reloads parse and validate in a worker thread (load-worker.ts), so a large YAML file never
// stalls the requests being served; only the (fast) compile runs on the main thread.

let nextId = 1;
const pending = new Map<number, { file: string; resolve(r: LoadResult): void }>();

const worker = new LazyWorker<LoadReply>(
  import.meta.url,
  './load-worker',
  'config loading',
  (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    worker.done();
    // a structured clone arrives unfrozen: the snapshot is immutable again before anyone sees it
    p.resolve(m.result.ok ? { ...m.result, config: deepFreeze(m.result.config) } : m.result);
  },
  () => {
    for (const [id, p] of pending) {
      pending.delete(id);
      void loadConfigFile(p.file).then(p.resolve);
    }
  },
);

/** loadConfigFile() in the worker thread (same result, same errors). */
export function loadConfigFileOffThread(file: string): Promise<LoadResult> {
  return new Promise<LoadResult>((resolve) => {
    const id = nextId++;
    pending.set(id, { file, resolve });
    if (!worker.post({ id, file, env: process.env } satisfies LoadRequest)) {
      pending.delete(id);
      void loadConfigFile(file).then(resolve);
    }
  });
}
