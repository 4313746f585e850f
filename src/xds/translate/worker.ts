import { createHash } from 'node:crypto';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { AnyMessage } from '../../grpc/protos.ts';
import { decodeAndTranslate, type Outcome } from './run.ts';

// Worker thread entry: decodes and translates xDS resources off the main thread, so a 10,000-route
// RouteConfiguration does not stall requests while it is read. Large virtual-host lists come back in
// pieces of at most PIECE_ROUTES routes, so no single message takes long to receive either. Each
// virtual host carries a digest of its translation; one the main thread already holds (`have`) is
// not sent again: the main thread reuses its object, and compile() its compiled form.

export interface WorkerRequest {
  readonly id: number;
  readonly label: 'rds' | 'cds' | 'eds';
  readonly typeUrl: string;
  readonly resources: readonly AnyMessage[];
  /** Digests of translated virtual hosts the main thread holds (RDS only). */
  readonly have?: readonly string[];
}

/** A slice of a RouteConfiguration's virtual hosts: `head` (without routes) opens virtual host `vh`. */
export interface RoutePiece {
  readonly id: number;
  readonly resource: number;
  readonly vh: number;
  /** Of the translated virtual host (its config shape, as JSON). */
  readonly digest: string;
  /** The main thread has this virtual host already (by digest): nothing else is sent. */
  readonly held?: true;
  readonly head?: Record<string, unknown>;
  readonly routes: readonly unknown[];
}

export interface WorkerReply {
  readonly id: number;
  /** Per resource, in order; a RouteConfiguration's virtual hosts arrive before as RoutePieces. */
  readonly outcomes: readonly Outcome[];
}

const PIECE_ROUTES = 500;

// Lowest CPU priority for this thread only (Linux applies it per thread): on a gateway pinned to one
// core, translating a large resource must not take CPU time from the thread that serves requests.
try {
  setPriority(19);
} catch {
  // not allowed here: translate at normal priority
}

parentPort?.on('message', (req: WorkerRequest) => {
  const outcomes: Outcome[] = [];
  const have = new Set(req.have ?? []);
  req.resources.forEach((any, resource) => {
    const out = decodeAndTranslate(req.label, req.typeUrl, any);
    if (out.ok && out.kind === 'rds') {
      const hosts = out.value.virtualHosts;
      hosts.forEach((host, vh) => {
        const digest = createHash('sha256').update(JSON.stringify(host)).digest('base64');
        if (have.has(digest)) {
          parentPort!.postMessage({ id: req.id, resource, vh, digest, held: true, routes: [] } satisfies RoutePiece);
          return;
        }
        const { routes, ...head } = host;
        for (let at = 0; at < Math.max(1, routes.length); at += PIECE_ROUTES) {
          const piece: RoutePiece = { id: req.id, resource, vh, digest, ...(at === 0 ? { head } : {}), routes: routes.slice(at, at + PIECE_ROUTES) };
          parentPort!.postMessage(piece);
        }
      });
      outcomes.push({ ...out, value: { ...out.value, virtualHosts: [] } });
    } else outcomes.push(out);
  });
  const reply: WorkerReply = { id: req.id, outcomes };
  parentPort!.postMessage(reply);
});
