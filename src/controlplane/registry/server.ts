/**
 * The registry's HTTP server (fastify, off any hot path): the REST API (api.ts), the pages
 * (pages.ts) and their form posts, the dependency map as SVG, and the guards in front of them
 * (auth.ts). Errors are JSON for the API and never carry a stack; bodies are bounded.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parse as parseQueryString } from 'node:querystring';
import type { RegistryView } from '../control-plane.ts';
import type { Logger } from '../log.ts';
import { isLoopbackHost } from '../config.ts';
import type { HostPort } from '../../config/checks.ts';
import { StoreUnavailableError } from '../store/types.ts';
import { registerApi, etag, settled } from './api.ts';
import { isCrossSite, isLoopbackHostHeader, RegistryAuth, SESSION_COOKIE } from './auth.ts';
import { LABEL, validateServiceDocument } from './document.ts';
import { documentFromForm, emptyForm, formFromDocument, formFromPost } from './forms.ts';
import { formPage, indexPage, loginPage, mapSvg, messagePage, servicePage } from './pages.ts';
import { allServiceViews, serviceView } from './views.ts';

/** A service document is small; anything bigger than this is not one. */
export const BODY_LIMIT_BYTES = 256 * 1024;

export interface RegistryServer {
  readonly port: number;
  close(): Promise<void>;
}

export function buildRegistryApp(view: RegistryView, opts: { token?: string; loopbackOnly: boolean }, log: Logger): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES, connectionTimeout: 30_000, requestTimeout: 30_000 });
  const auth = new RegistryAuth(opts.token);

  // An empty JSON body (a keepalive or DELETE sent with content-type: application/json) is no body.
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    return json(req, body as string, done);
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseQueryString(body as string));
  });

  app.addHook('onRequest', async (req, reply) => {
    if (opts.loopbackOnly && !isLoopbackHostHeader(req.headers.host)) {
      return reply.code(421).send({ error: 'misdirected', message: 'this registry answers loopback host names only' });
    }
    if (req.method === 'POST' && req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') && isCrossSite(req.headers)) {
      return reply.code(403).send({ error: 'forbidden', message: 'cross-site form posts are refused' });
    }
    if (req.url === '/login' || auth.allows(req.socket.remoteAddress, req.headers)) return;
    if (wantsHtml(req)) return reply.code(401).type('text/html; charset=utf-8').send(loginPage(false));
    return reply.code(401).header('www-authenticate', 'Bearer realm="gatehouse-registry"').send({ error: 'unauthenticated', message: 'a bearer token is required' });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof StoreUnavailableError) {
      return reply.code(503).header('retry-after', '2').send({ error: 'store_unavailable', message: err.message });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      return reply.code(400).send({ error: 'invalid', errors: [`(root): not valid JSON (${err.message})`] });
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message });
    }
    log.error({ err, url: req.url }, 'registry request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  registerApi(app, view);

  app.get('/topology.svg', async (_req, reply) => reply.type('image/svg+xml; charset=utf-8').send(mapSvg(view, allServiceViews(view), true)));

  // ───────────────────────────── pages ─────────────────────────────
  app.get('/', async (_req, reply) => page(reply, indexPage(view)));
  app.get('/ui/new', async (_req, reply) => page(reply, formPage(view, emptyForm(), { isNew: true, services: serviceNames(view) })));
  app.get<{ Params: { name: string } }>('/ui/services/:name', async (req, reply) => {
    const state = view.store.state();
    const stored = state?.services.get(req.params.name);
    if (!state || !stored) return page(reply.code(404), messagePage(view, 'Not found', `No service named ${req.params.name}.`));
    return page(reply, servicePage(view, serviceView(view, state, stored)));
  });
  app.get<{ Params: { name: string } }>('/ui/services/:name/edit', async (req, reply) => {
    const stored = view.store.state()?.services.get(req.params.name);
    if (!stored) return page(reply.code(404), messagePage(view, 'Not found', `No service named ${req.params.name}.`));
    const values = stored.document ? formFromDocument(stored.document, stored.revision) : { ...emptyForm(), name: stored.name, revision: String(stored.revision) };
    return page(reply, formPage(view, values, { isNew: false, services: serviceNames(view), errors: stored.invalid }));
  });

  app.post('/ui/services', async (req, reply) => {
    const posted = (req.body ?? {}) as Record<string, string | string[]>;
    const values = formFromPost(posted);
    const isNew = posted.mode === 'create';
    const again = (code: number, extra: { errors?: string[]; mine?: unknown; conflict?: { revision: number; document: unknown } | null }) =>
      page(reply.code(code), formPage(view, values, { isNew, services: serviceNames(view), ...extra }));
    if (!LABEL.test(values.name)) return again(400, { errors: ['name: expected lower-case letters, digits and -, starting and ending with a letter or digit (max 63)'] });
    const result = validateServiceDocument(documentFromForm(values), values.name);
    if (!result.ok) return again(400, { errors: result.errors });
    const mine = result.document;
    const revision = /^\d+$/.test(values.revision) ? Number(values.revision) : undefined;
    const written = await view.store.putService(values.name, result.document, isNew ? { ifAbsent: true } : { ifRevision: revision ?? 0 });
    if (!written.ok) {
      if (written.reason === 'conflict' && written.current) return again(409, { mine, conflict: { revision: written.current.revision, document: written.current.document } });
      return again(409, { conflict: null });
    }
    await settled(view, written.revision);
    return reply.code(303).header('location', `/ui/services/${encodeURIComponent(values.name)}`).header('etag', etag(written.revision)).send();
  });

  app.post<{ Params: { name: string } }>('/ui/services/:name/delete', async (req, reply) => {
    const posted = (req.body ?? {}) as Record<string, string>;
    const revision = /^\d+$/.test(posted.revision ?? '') ? Number(posted.revision) : undefined;
    const written = await view.store.deleteService(req.params.name, revision !== undefined ? { ifRevision: revision } : {});
    if (!written.ok) {
      return page(reply.code(409), messagePage(view, 'Not deleted', `${req.params.name} changed since you opened it (or is gone); look at it again before deleting.`));
    }
    await settled(view, written.revision);
    return reply.code(303).header('location', '/').send();
  });

  app.get('/login', async (_req, reply) => page(reply, loginPage(false)));
  app.post('/login', async (req, reply) => {
    const token = String(((req.body ?? {}) as Record<string, unknown>).token ?? '');
    const cookie = auth.login(token);
    if (!cookie) return page(reply.code(401), loginPage(true));
    return reply.code(303).header('set-cookie', cookie).header('location', '/').send();
  });
  app.post('/logout', async (_req, reply) =>
    reply.code(303).header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`).header('location', '/login').send(),
  );
  return app;
}

export async function startRegistryServer(view: RegistryView, cfg: { address: HostPort; token?: string }, log: Logger): Promise<RegistryServer> {
  const app = buildRegistryApp(view, { ...(cfg.token !== undefined ? { token: cfg.token } : {}), loopbackOnly: isLoopbackHost(cfg.address.host) }, log);
  await app.listen({ host: cfg.address.host, port: cfg.address.port });
  const addr = app.server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : cfg.address.port, close: () => app.close() };
}

function page(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

function wantsHtml(req: FastifyRequest): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
}

function serviceNames(view: RegistryView): string[] {
  return [...(view.store.state()?.services.keys() ?? [])].sort();
}

