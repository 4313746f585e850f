import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { adminAllowed, pathOf } from './auth.ts';
import { parseHostPort } from '../upstream/cluster.ts';
import { redactConfig } from '../config/redact.ts';
import type { AdminState } from './state.ts';
import { dashboardHtml } from './dashboard.ts';
import { registry } from '../observability/metrics.ts';
import { withOrigins } from './origins.ts';
import { explainRequest, ExplainInputError, parseHeaderArg } from './explain.ts';
import { routesJson } from './routes.ts';
import { statsJson } from './stats.ts';

// The admin HTTP API (SPEC Health and lifecycle): probes, effective config, clusters, dashboard.
// fastify serves it: it is off the hot path, and its routing and JSON serialisation are what we want.

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

// fastify builds its JSON-schema compilers when an instance is created (ajv: ~90 modules and ~1 MB of
// heap in every gateway process); the admin API declares no schemas, so they load only if a route ever does.
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
type SchemaCompilers = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
const LAZY_SCHEMA_COMPILERS: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    buildValidator: ((schemas: unknown, options: unknown) =>
      fromFastify('@fastify/ajv-compiler')()(schemas, options)) as SchemaCompilers['buildValidator'],
    buildSerializer: ((schemas: unknown, options: unknown) =>
      fromFastify('@fastify/fast-json-stringify-compiler')()(schemas, options)) as SchemaCompilers['buildSerializer'],
  },
};

export function buildAdmin(state: AdminState, token: string | undefined): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024, schemaController: LAZY_SCHEMA_COMPILERS });
  app.addHook('onRequest', async (req, reply) => {
    // The admin token, when set, is required from anywhere but loopback (the probes excepted: auth.ts).
    if (!adminAllowed(pathOf(req.url), req.socket.remoteAddress, req.headers.authorization, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="gatehouse-admin"').send({ error: 'unauthenticated' });
    }
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = state.ready;
    return reply.code(ready ? 200 : 503).send({ ready, draining: state.draining, overloaded: state.overloaded, version: state.current?.version ?? null });
  });
  // The effective config (YAML merged with xDS); each virtual host and cluster says where it came from.
  app.get('/config', async () => {
    const gen = state.current;
    return {
      version: gen?.version ?? null,
      lastReloadError: state.lastReloadError,
      xds: state.xdsStatus ?? null,
      config: gen ? withOrigins(redactConfig(gen.config), gen.origins) : null,
    };
  });
  // SPEC: { clusters: [ { name, endpoints: [ { address, weight, healthy, ejected } ] } ] }, plus
  // discovery, policy, panic, in-flight/pending counts and per-endpoint priority/serving/active.
  app.get('/clusters', async () => ({
    clusters: state.current ? [...state.current.clusters.values()].map((c) => c.summary()) : [],
  }));
  // The internal token's public keys, for mesh services that verify it.
  app.get('/.well-known/jwks.json', async (_req, reply) =>
    reply.header('cache-control', 'max-age=60').send(state.current ? state.current.authn.jwks() : { keys: [] }),
  );
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  // What `gatehouse explain` prints, for the running generation (live endpoint health included).
  app.get('/explain', async (req, reply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
    const url = one(q.url);
    if (!url) return reply.code(400).send({ error: 'bad_request', message: 'url is required, e.g. /explain?method=GET&url=https://host/path&header=name:value' });
    if (!state.current) return reply.code(503).send({ error: 'not_ready', message: 'no config loaded yet' });
    try {
      const headers = (q.header === undefined ? [] : Array.isArray(q.header) ? q.header : [q.header]).map(parseHeaderArg);
      return explainRequest(state.current, { method: one(q.method) ?? 'GET', url, headers });
    } catch (err) {
      if (err instanceof ExplainInputError) return reply.code(400).send({ error: 'bad_request', message: err.message });
      throw err;
    }
  });
  app.get('/routes', async () => routesJson(state.current));
  app.get('/stats', async (_req, reply) => reply.header('cache-control', 'no-store').send(statsJson(state)));
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(dashboardHtml()));
  return app;
}

export async function startAdmin(cfg: { address: string; token?: string } | undefined, state: AdminState): Promise<AdminServer> {
  const app = buildAdmin(state, cfg?.token);
  const hp = parseHostPort(cfg?.address ?? '127.0.0.1:9901') ?? { host: '127.0.0.1', port: 9901 };
  await app.listen({ host: hp.host, port: hp.port });
  const addr = app.server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : hp.port,
    close: () => app.close(),
  };
}
