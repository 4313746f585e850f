import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { loadConfigFile, type LoadResult } from './load.ts';

// Worker thread entry of load-off-thread.ts: reads, parses and validates a config file away from the
// thread that serves requests (a 10,000-route YAML takes over a second to parse and check).

export interface LoadRequest {
  readonly id: number;
  readonly file: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface LoadReply {
  readonly id: number;
  readonly result: LoadResult;
}

// Lowest CPU priority for this thread only (Linux applies it per thread): on a gateway pinned to one
// core, a reload must not take CPU time from serving.
try {
  setPriority(19);
} catch {
  // not allowed here: load at normal priority
}

parentPort?.on('message', (req: LoadRequest) => {
  void loadConfigFile(req.file, req.env).then(
    (result) => parentPort!.postMessage({ id: req.id, result } satisfies LoadReply),
    (err) => parentPort!.postMessage({ id: req.id, result: { ok: false, errors: [{ path: req.file, message: String((err as Error)?.message ?? err) }] } } satisfies LoadReply),
  );
});
