import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { argJson, emit, exitWithParent } from './common.ts';

// The reference point: a bare fastify + @fastify/http-proxy app, as a team would write it, terminating
// TLS with the edge certificate the same way gatehouse does (node's HTTP/2 server with its HTTP/1.1
// fallback: ALPN h2 and http/1.1 on one port), proxying every path to one upstream through
// @fastify/reply-from's undici pool (its defaults: 128 connections, pipelining 1).
//
// @fastify/reply-from turns upstream certificate verification OFF unless told otherwise; for the
// mTLS upstream we pass the dev CA, the client certificate and rejectUnauthorized: true, so both
// proxies do the same TLS work.

interface Args {
  certDir: string;
  upstream: string; // http://127.0.0.1:P or https://127.0.0.1:P (mTLS)
}

const args = argJson<Args>();
const file = (name: string) => readFileSync(join(args.certDir, name));

const app = Fastify({
  logger: false,
  http2: true,
  https: { allowHTTP1: true, key: file('edge.key'), cert: file('edge.crt') },
});

const mtls = args.upstream.startsWith('https:');
await app.register(proxy, {
  upstream: args.upstream,
  ...(mtls
    ? {
        undici: {
          connect: {
            ca: file('ca.crt'),
            cert: file('gatehouse.crt'),
            key: file('gatehouse.key'),
            servername: 'localhost',
            minVersion: 'TLSv1.3',
            rejectUnauthorized: true,
          },
        },
      }
    : {}),
});

exitWithParent(() => void app.close());
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
emit('listening', { port: typeof addr === 'object' && addr ? addr.port : 0 });
