import { join } from 'node:path';
import { gatehouseService } from '../services/gatehouse.ts';
import { fastifyProxyService, upstreamMtls, upstreamPlain } from '../services/workers.ts';
import type { RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// Issue 2, item 9: the proxy path side by side — direct to the upstream, a bare
// @fastify/http-proxy app, and gatehouse; TLS terminated at the proxy; HTTP/1.1 keep-alive and h2;
// plain and mutual-TLS upstream.

export const services: ServiceDef[] = [
  upstreamPlain,
  upstreamMtls,
  fastifyProxyService('fastify-plain', 'upstream-plain'),
  fastifyProxyService('fastify-mtls', 'upstream-mtls'),
  gatehouseService({ id: 'gatehouse-plain', title: 'gatehouse → plain upstream (access log /dev/null)', upstream: 'upstream-plain', mtls: false }),
  gatehouseService({ id: 'gatehouse-mtls', title: 'gatehouse → mTLS upstream (access log /dev/null)', upstream: 'upstream-mtls', mtls: true }),
  gatehouseService({
    id: 'gatehouse-plain-accesslog',
    title: 'gatehouse → plain upstream, access log to a file',
    upstream: 'upstream-plain',
    mtls: false,
    accessLog: (ctx) => join(ctx.tmp, 'gatehouse-access.log'),
  }),
];

export const scenarios: Scenario[] = [
  { id: 'direct-h1', title: 'direct to upstream (plain HTTP/1.1)', system: 'direct', protocol: 'http1', sut: 'upstream-plain' },
  { id: 'fastify-h1-tls', title: 'fastify proxy, TLS → plain upstream', system: 'fastify', protocol: 'http1', sut: 'fastify-plain' },
  { id: 'gatehouse-h1-tls', title: 'gatehouse, TLS → plain upstream', system: 'gatehouse', protocol: 'http1', sut: 'gatehouse-plain' },
  { id: 'fastify-h1-mtls', title: 'fastify proxy, TLS → mTLS upstream', system: 'fastify', protocol: 'http1', sut: 'fastify-mtls' },
  { id: 'gatehouse-h1-mtls', title: 'gatehouse, TLS → mTLS upstream', system: 'gatehouse', protocol: 'http1', sut: 'gatehouse-mtls' },
  { id: 'fastify-h2-tls', title: 'fastify proxy, h2 → plain upstream', system: 'fastify', protocol: 'h2', sut: 'fastify-plain' },
  { id: 'gatehouse-h2-tls', title: 'gatehouse, h2 → plain upstream', system: 'gatehouse', protocol: 'h2', sut: 'gatehouse-plain' },
  {
    id: 'gatehouse-h1-tls-accesslog',
    title: 'gatehouse, TLS → plain upstream, access log ON (file)',
    system: 'gatehouse',
    protocol: 'http1',
    sut: 'gatehouse-plain-accesslog',
    maxRounds: 1,
    notes: 'access log written to a file in the temp dir; every other gatehouse row logs to /dev/null',
  },
];

export const ratios: RatioDef[] = [
  {
    id: 'gatehouse-vs-fastify-h1-tls',
    title: 'gatehouse ÷ fastify, HTTP/1.1 TLS → plain',
    numerator: 'gatehouse-h1-tls',
    denominator: 'fastify-h1-tls',
    target: { min: 0.8, source: 'issue 2 done-when' },
  },
  {
    id: 'gatehouse-vs-fastify-h1-mtls',
    title: 'gatehouse ÷ fastify, HTTP/1.1 TLS → mTLS',
    numerator: 'gatehouse-h1-mtls',
    denominator: 'fastify-h1-mtls',
    target: { min: 1.5, source: 'ARCHITECTURE goal (all features on)' },
  },
  { id: 'gatehouse-vs-fastify-h2', title: 'gatehouse ÷ fastify, h2 TLS → plain', numerator: 'gatehouse-h2-tls', denominator: 'fastify-h2-tls' },
  { id: 'gatehouse-vs-direct-h1', title: 'gatehouse (TLS) ÷ direct (plain)', numerator: 'gatehouse-h1-tls', denominator: 'direct-h1' },
  { id: 'fastify-vs-direct-h1', title: 'fastify (TLS) ÷ direct (plain)', numerator: 'fastify-h1-tls', denominator: 'direct-h1' },
  { id: 'gatehouse-accesslog-cost', title: 'gatehouse access log file ÷ /dev/null', numerator: 'gatehouse-h1-tls-accesslog', denominator: 'gatehouse-h1-tls' },
];
