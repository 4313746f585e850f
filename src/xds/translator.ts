import { LazyWorker } from '../util/module-worker.ts';
import type { AnyMessage } from '../grpc/protos.ts';
import { deepFreeze } from '../config/merge.ts';
import type { XdsTypeLabel } from './metrics.ts';
import { decodeAndTranslate, type Outcome } from './translate/run.ts';
import type { RoutePiece, WorkerReply, WorkerRequest } from './translate/worker.ts';

// Runs decode + translate in a worker thread (translate/worker.ts), so reading a large resource does
// not block the event loop that serves requests (util/module-worker.ts LazyWorker: started on first
// use, in-process if it cannot run).

type Host = Record<string, unknown> & { routes: unknown[] };

interface Pending {
  resolve(o: Outcome[]): void;
  /** RouteConfiguration virtual hosts received in pieces, by resource index, with their digests. */
  hosts: Map<number, { list: Host[]; digests: string[] }>;
  req: WorkerRequest;
}

/**
 * The translated virtual hosts of the last accepted translation of each RouteConfiguration, by digest:
 * a virtual host that did not change keeps its (frozen) object, so compile() can keep its compiled form.
 */
const held = new Map<string, Map<string, Host>>();

function heldHost(digest: string): Host | undefined {
  for (const m of held.values()) {
    const h = m.get(digest);
    if (h) return h;
  }
  return undefined;
}

let nextId = 1;
const pending = new Map<number, Pending>();

const worker = new LazyWorker<RoutePiece | WorkerReply>(import.meta.url, './translate/worker', 'xDS translation', (m) => onMessage(m), () => {
  // the worker is gone: finish what it had in-process
  for (const [id, p] of pending) {
    pending.delete(id);
    p.resolve(inProcess(p.req));
  }
});

function onMessage(m: RoutePiece | WorkerReply): void {
  const p = pending.get(m.id);
  if (!p) return;
  if ('outcomes' in m) {
    pending.delete(m.id);
    worker.done();
    p.resolve(
      m.outcomes.map((o, i) => {
        if (!(o.ok && o.kind === 'rds')) return deepFreeze(o);
        const got = p.hosts.get(i) ?? { list: [], digests: [] };
        if (got.list.some((h) => h === undefined)) {
          return { ok: false, name: o.name, errors: [{ path: '', message: 'internal: a virtual host was lost in translation; send it again' }] };
        }
        held.set(o.name, new Map(got.digests.map((d, k) => [d, got.list[k]!])));
        return deepFreeze({ ...o, value: { ...o.value, virtualHosts: got.list as never } });
      }),
    );
    return;
  }
  let hosts = p.hosts.get(m.resource);
  if (!hosts) p.hosts.set(m.resource, (hosts = { list: [], digests: [] }));
  hosts.digests[m.vh] = m.digest;
  if (m.held) {
    hosts.list[m.vh] = heldHost(m.digest)!;
    return;
  }
  if (m.head) hosts.list[m.vh] = { ...m.head, routes: [] };
  const routes = hosts.list[m.vh]!.routes;
  // Frozen piece by piece as they arrive: the snapshot is immutable without one long freeze at the end.
  for (const r of m.routes) routes.push(deepFreeze(r));
}

function inProcess(req: WorkerRequest): Outcome[] {
  return req.resources.map((any) => deepFreeze(decodeAndTranslate(req.label, req.typeUrl, any)));
}

/** Decodes and translates `resources` (all of type `typeUrl`), one outcome per resource, in order. */
export function translateResources(label: XdsTypeLabel, typeUrl: string, resources: readonly AnyMessage[]): Promise<Outcome[]> {
  const have = label === 'rds' ? [...held.values()].flatMap((m) => [...m.keys()]) : undefined;
  const req: WorkerRequest = { id: nextId++, label, typeUrl, resources, ...(have ? { have } : {}) };
  if (resources.length === 0) return Promise.resolve([]);
  return new Promise((resolve) => {
    pending.set(req.id, { resolve, hosts: new Map(), req });
    // Buffers are copied (not transferred): the caller keeps its digests of them.
    if (!worker.post(req)) {
      pending.delete(req.id);
      resolve(inProcess(req));
    }
  });
}
