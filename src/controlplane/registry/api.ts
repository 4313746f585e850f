/**
 * The registry's REST API (SPEC "Control plane and service registry"), JSON in and out:
 *
 *   GET    /services                                  every service (document, revision, problems, instances)
 *   GET    /services/<name>                           the document + read-only revision/problems/instances; ETag "<revision>"
 *   PUT    /services/<name>                           create or replace; If-Match "<rev>" (compare-and-swap) or If-None-Match *
 *   DELETE /services/<name>                           with an optional If-Match; its instances go with it
 *   POST   /services/<name>/versions/<v>/instances    { address, ttl } → 201 { lease, ttl }
 *   POST   /services/<name>/versions/<v>/instances/<address>/keepalive  → 200 { lease, ttl } | 404 (register again)
 *   DELETE /services/<name>/versions/<v>/instances/<address>
 *   GET    /topology                                  { services, edges }
 *   GET    /status                                    store health, snapshot version, subscribers and their ACK/NACK
 *   GET    /resources                                 the compiled Envoy resources being served (JSON)
 *
 * An invalid document → 400 { errors: ["path: message"] } and nothing stored; a stale If-Match →
 * 409 with the current document; the store unreachable → 503 { error: "store_unavailable" }.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { parseDuration } from '../../config/duration.ts';
import type { RegistryView } from '../control-plane.ts';
import type { StoredService, WriteCondition, WriteResult } from '../store/types.ts';
import { endpointError, LABEL, validateServiceDocument } from './document.ts';
import { topologyOf } from './topology.ts';
import { allServiceViews, documentResponse, serviceView } from './views.ts';

/** Bounds on an instance's lease: a client cannot make the registry keep a dead address for long. */
export const MIN_TTL_SECONDS = 2;
export const MAX_TTL_SECONDS = 3600;
/** How long a write waits to see itself compiled, so its answer can carry its problems. */
const READ_YOUR_WRITE_MS = 2_000;

interface NameParams {
  name: string;
}
interface InstanceParams extends NameParams {
  version: string;
  address?: string;
}

/** `"12"`, `W/"12"`, `12` → 12; `*` → 'any'; junk → null. */
export function parseIfMatch(header: string | undefined): number | 'any' | null | undefined {
  if (header === undefined) return undefined;
  const v = header.trim();
  if (v === '*') return 'any';
  const m = /^(?:W\/)?"?(\d{1,18})"?$/.exec(v);
  return m ? Number(m[1]) : null;
}

export function etag(revision: number): string {
  return `"${revision}"`;
}

export function registerApi(app: FastifyInstance, view: RegistryView): void {
  const store = view.store;

  app.get('/services', async () => ({
    revision: store.state()?.revision ?? null,
    snapshotVersion: view.snapshotVersion(),
    store: store.status(),
    services: allServiceViews(view).map(documentResponse),
  }));

  app.get<{ Params: NameParams }>('/services/:name', async (req, reply) => {
    const state = store.state();
    const stored = state?.services.get(req.params.name);
    if (!state || !stored) return notFound(reply, `no service named ${req.params.name}`);
    return reply.header('etag', etag(stored.revision)).send(documentResponse(serviceView(view, state, stored)));
  });

  app.put<{ Params: NameParams }>('/services/:name', async (req, reply) => {
    const name = req.params.name;
    if (!LABEL.test(name)) return badRequest(reply, [`name: expected lower-case letters, digits and -, starting and ending with a letter or digit (max 63)`]);
    const condition = writeCondition(req.headers['if-match'], req.headers['if-none-match']);
    if (condition === null) return badRequest(reply, ['If-Match: expected a revision like "12" (the ETag of GET /services/<name>)']);
    const result = validateServiceDocument(req.body, name);
    if (!result.ok) return badRequest(reply, result.errors);
    const written = await store.putService(name, result.document, condition);
    if (!written.ok) return writeFailed(reply, written, name);
    return answerWithService(view, reply.code(written.created ? 201 : 200), name, written.revision);
  });

  app.delete<{ Params: NameParams }>('/services/:name', async (req, reply) => {
    const condition = writeCondition(req.headers['if-match'], undefined);
    if (condition === null) return badRequest(reply, ['If-Match: expected a revision like "12" (the ETag of GET /services/<name>)']);
    const written = await store.deleteService(req.params.name, condition);
    if (!written.ok) return writeFailed(reply, written, req.params.name);
    await settled(view, written.revision);
    return reply.code(204).send();
  });

  app.post<{ Params: InstanceParams; Body: unknown }>('/services/:name/versions/:version/instances', async (req, reply) => {
    const body = (req.body ?? {}) as { address?: unknown; ttl?: unknown };
    const errors: string[] = [];
    const address = typeof body.address === 'string' ? body.address : '';
    const addressProblem = typeof body.address !== 'string' ? 'required' : endpointError(address);
    if (addressProblem) errors.push(`address: ${addressProblem}`);
    const ttl = ttlSeconds(body.ttl);
    if (typeof ttl === 'string') errors.push(`ttl: ${ttl}`);
    if (errors.length > 0) return badRequest(reply, errors);
    const target = instanceTarget(view, req.params);
    if (typeof target === 'string') return reply.code(target.startsWith('no ') ? 404 : 409).send({ error: target.startsWith('no ') ? 'not_found' : 'conflict', message: target });
    const registered = await store.registerInstance(req.params.name, req.params.version, address, ttl as number);
    await settled(view, registered.revision);
    return reply.code(201).send({ address, lease: registered.lease, ttl: `${registered.ttlSeconds}s` });
  });

  app.post<{ Params: InstanceParams }>('/services/:name/versions/:version/instances/:address/keepalive', async (req, reply) => {
    const kept = await store.keepAliveInstance(req.params.name, req.params.version, req.params.address!);
    if (!kept) return notFound(reply, 'no such instance (its lease lapsed?): register it again');
    return { address: req.params.address, lease: kept.lease, ttl: `${kept.ttlSeconds}s` };
  });

  app.delete<{ Params: InstanceParams }>('/services/:name/versions/:version/instances/:address', async (req, reply) => {
    const gone = await store.deregisterInstance(req.params.name, req.params.version, req.params.address!);
    return gone ? reply.code(204).send() : notFound(reply, 'no such instance');
  });

  app.get('/topology', async () => {
    const state = store.state();
    return state ? topologyOf(state) : { services: [], edges: [] };
  });

  app.get('/status', async () => ({
    store: store.status(),
    registryRevision: store.state()?.revision ?? null,
    snapshotVersion: view.snapshotVersion(),
    subscribers: view.subscribers(),
    recentNacks: view.recentNacks(),
  }));

  app.get('/resources', async () => {
    const compiled = view.compiled();
    if (!compiled) return { version: null, routeConfigurations: [], clusters: [], clusterLoadAssignments: [] };
    const r = compiled.resources;
    return {
      version: String(compiled.revision),
      routeConfigurations: [...r.routeConfigurations.values()],
      clusters: [...r.clusters.values()],
      clusterLoadAssignments: [...r.clusterLoadAssignments.values()],
    };
  });
}

/** If-Match / If-None-Match → a CAS condition; null when If-Match is malformed. */
export function writeCondition(ifMatch: string | undefined, ifNoneMatch: string | string[] | undefined): WriteCondition | null {
  const m = parseIfMatch(ifMatch);
  if (m === null) return null;
  if (ifNoneMatch === '*') return { ifAbsent: true };
  if (m === undefined) return {};
  if (m === 'any') return { ifExists: true };
  return { ifRevision: m };
}

/** The service and version an instance registers under; a message when it cannot. */
function instanceTarget(view: RegistryView, p: InstanceParams): true | string {
  const stored = view.store.state()?.services.get(p.name);
  if (!stored) return `no service named ${p.name}`;
  if (!stored.document) return `service ${p.name} has no valid document`;
  const version = stored.document.versions.find((v) => v.name === p.version);
  if (!version) return `no version ${p.version} in service ${p.name}`;
  if (version.srv !== undefined) return `version ${p.version} of ${p.name} takes its endpoints from SRV (${version.srv})`;
  return true;
}

/** `"10s"` or a number of seconds → whole seconds within the bounds; a message when not. */
export function ttlSeconds(v: unknown): number | string {
  const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? parseDuration(v) : v === undefined ? 10_000 : null;
  if (ms === null || !Number.isFinite(ms)) return 'expected a duration like 10s';
  const s = Math.ceil(ms / 1000);
  if (s < MIN_TTL_SECONDS || s > MAX_TTL_SECONDS) return `must be between ${MIN_TTL_SECONDS}s and ${MAX_TTL_SECONDS / 60}m`;
  return s;
}

/** Read-your-writes: waits (briefly) until this replica's state and compiled snapshot include a write. */
export async function settled(view: RegistryView, revision: number): Promise<void> {
  await view.store.waitForRevision(revision, READ_YOUR_WRITE_MS);
  await view.waitForCompiled(revision, READ_YOUR_WRITE_MS);
}

async function answerWithService(view: RegistryView, reply: FastifyReply, name: string, revision: number): Promise<FastifyReply> {
  await settled(view, revision);
  const state = view.store.state();
  const stored = state?.services.get(name);
  reply.header('etag', etag(revision));
  return reply.send(state && stored ? documentResponse(serviceView(view, state, stored)) : { name, revision });
}

function writeFailed(reply: FastifyReply, result: Exclude<WriteResult, { ok: true }>, name: string): FastifyReply {
  if (result.reason === 'not_found') return notFound(reply, `no service named ${name}`);
  return conflict(reply, result.current, name);
}

function conflict(reply: FastifyReply, current: StoredService | null, name: string): FastifyReply {
  if (current) reply.header('etag', etag(current.revision));
  return reply.code(409).send({
    error: 'conflict',
    message: current
      ? `${name} was changed by someone else (now at revision ${current.revision}); merge your change into the current document and send it again with If-Match: "${current.revision}"`
      : `${name} does not exist (any more)`,
    current: current ? { ...(current.document ?? { name }), revision: current.revision } : null,
  });
}

export function badRequest(reply: FastifyReply, errors: string[]): FastifyReply {
  return reply.code(400).send({ error: 'invalid', errors });
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).send({ error: 'not_found', message });
}
