import { Worker } from 'node:worker_threads';

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
