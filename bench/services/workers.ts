import { join } from 'node:path';
import { waitForEvent } from '../lib/procs.ts';
import { waitUntilServing } from '../lib/net.ts';
import type { BenchContext, ServiceDef, ServiceHandle } from '../lib/types.ts';

// Services that are bench workers (bench/workers/*.ts): each prints {"event":"listening","port":N}.

async function startWorker(ctx: BenchContext, id: string, file: string, args: object, tls: boolean, info: Record<string, unknown>): Promise<ServiceHandle> {
  const logFile = join(ctx.tmp, `${id}.log`);
  const child = ctx.procs.spawnTs(id, file, [JSON.stringify(args)], { cwd: ctx.root, cpu: null, logFile, pipeStdout: true });
  const { port } = await waitForEvent<{ port: number }>(child, 'listening', 30_000, id);
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return { id, pid: child.pid!, origin, tls, logFile, info: { command: `node --import tsx ${file}`, ...info } };
}

/** The fast upstream: plain HTTP/1.1, 64-byte body. */
export const upstreamPlain: ServiceDef = {
  id: 'upstream-plain',
  title: 'fast upstream (HTTP/1.1, 64 B body)',
  needs: [],
  start: (ctx) => startWorker(ctx, 'upstream-plain', 'bench/workers/upstream.ts', { certDir: null }, false, { body: '64 B' }),
};

/** The fast upstream over HTTPS, requiring a client certificate from the dev CA. */
export const upstreamMtls: ServiceDef = {
  id: 'upstream-mtls',
  title: 'fast upstream (HTTPS, client cert required, 64 B body)',
  needs: [],
  start: (ctx) => startWorker(ctx, 'upstream-mtls', 'bench/workers/upstream.ts', { certDir: ctx.certDir }, true, { body: '64 B', mtls: true }),
};

/** A local ext_authz gRPC service that allows every request (bench/workers/ext-authz.ts). */
export const extAuthzOk: ServiceDef = {
  id: 'ext-authz-ok',
  title: 'local ext_authz service (gRPC, answers OK with one header)',
  needs: [],
  // The origin's scheme is only a label here: gatehouse is given host:port.
  start: (ctx) => startWorker(ctx, 'ext-authz-ok', 'bench/workers/ext-authz.ts', {}, false, { answer: 'OK + x-authz header' }),
};

/** A bare fastify + @fastify/http-proxy app terminating TLS (h2 + http/1.1) in front of `upstream`. */
export function fastifyProxyService(id: string, upstream: string): ServiceDef {
  return {
    id,
    title: `bare fastify + @fastify/http-proxy → ${upstream}`,
    needs: [upstream],
    async start(ctx, deps) {
      const up = deps[upstream]!;
      const h = await startWorker(ctx, id, 'bench/workers/fastify-proxy.ts', { certDir: ctx.certDir, upstream: up.origin }, true, { upstream: up.origin });
      await waitUntilServing(h.origin, 'http1', ctx.caPem, id);
      return h;
    },
  };
}

/** An OTLP/HTTP trace sink (a collector stand-in that accepts and discards exports). */
export const otlpSink: ServiceDef = {
  id: 'otlp-sink',
  title: 'OTLP/HTTP trace sink (accepts POST /v1/traces, answers 200)',
  needs: [],
  start: (ctx) => startWorker(ctx, 'otlp-sink', 'bench/workers/otlp-sink.ts', {}, false, {}),
};
