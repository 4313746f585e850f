import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { Exchange, type GatewayRequest, type GatewayResponse } from '../../src/exchange.ts';
import type { ListenerView } from '../../src/runtime/generation.ts';
import { buildUpstreamHeaders, stripResponseHopByHop } from '../../src/proxy/upstream-headers.ts';
import { compileHeaderMutation, mutateResponseHeaders, type MutationError } from '../../src/proxy/header-mutations.ts';
import { headerMutationSchema, tokenSourceSchema } from '../../src/config/schema.ts';
import { compileTokenSources, findCookie, findToken, withoutCookie } from '../../src/filters/authn/token-source.ts';

// Header mutations never let a hop-by-hop header through (either way), whatever the client sends
// and whatever a route's header edits say; token extraction never throws on arbitrary headers.

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];
// RFC 9110: `trailer` is end to end in a response (relayed with the trailers), and `te: trailers`
// is forwarded toward the upstream (gRPC needs it end to end); every other TE value is hop-by-hop.
const HOP_BY_HOP_RESPONSE = HOP_BY_HOP.filter((n) => n !== 'trailer');
const NAMES = [...HOP_BY_HOP, 'x-a', 'x-b', 'x-c', 'cookie', 'authorization', 'host', 'x-forwarded-for', 'content-type'];

/** A header name from the pool, in random letter case (HTTP/1.1 clients send any case). */
const anyCaseName = fc
  .tuple(fc.constantFrom(...NAMES), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }))
  .map(([n, up]) => [...n].map((ch, i) => (up[i] ? ch.toUpperCase() : ch)).join(''));
const value = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('close', 'keep-alive', 'x-a, x-b', 'X-C , upgrade', 'te,trailer'));
const rawHeaders = fc.array(fc.tuple(anyCaseName, value), { maxLength: 12 });

const mutationConfig = fc.record({
  set: fc.dictionary(fc.constantFrom('x-a', 'x-b', 'x-d'), fc.string({ maxLength: 5 }).filter((s) => !s.includes('%')), { maxKeys: 2 }),
  add: fc.dictionary(fc.constantFrom('x-c', 'x-e'), fc.string({ maxLength: 5 }).filter((s) => !s.includes('%')), { maxKeys: 2 }),
  remove: fc.subarray(['x-a', 'x-c', 'cookie']),
});

function exchangeFor(pairs: Array<[string, string]>): Exchange {
  const raw = pairs.flat();
  const headers: IncomingHttpHeaders = {};
  for (const [n, v] of pairs) {
    const k = n.toLowerCase();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const req = { rawHeaders: raw, headers, httpVersionMajor: 1 } as unknown as GatewayRequest;
  const ex = new Exchange(req, {} as GatewayResponse, {} as ListenerView, 0);
  ex.peer = '192.0.2.1';
  ex.authority = 'example.test';
  ex.requestId = 'rid';
  return ex;
}

test('toward the upstream: no hop-by-hop header and nothing the Connection header names survives', () => {
  fc.assert(
    fc.property(rawHeaders, fc.option(mutationConfig, { nil: undefined }), fc.boolean(), (pairs, mcfg, trusted) => {
      const errors: MutationError[] = [];
      const mutation = mcfg ? compileHeaderMutation(headerMutationSchema.parse(mcfg), 'm', 'request', errors) : null;
      const ex = exchangeFor(pairs);
      const out = buildUpstreamHeaders(ex, trusted, mutation);
      const names = out.filter((_, i) => i % 2 === 0);
      const added = new Set(mcfg ? [...Object.keys(mcfg.set), ...Object.keys(mcfg.add)] : []);
      const named = new Set(
        pairs
          .filter(([n]) => n.toLowerCase() === 'connection')
          .flatMap(([, v]) => v.split(',').map((t) => t.trim().toLowerCase()))
          .filter((t) => t !== '' && !added.has(t)),
      );
      for (let i = 0; i < names.length; i++) {
        const n = names[i];
        assert.equal(n, n.toLowerCase());
        if (n === 'te') assert.equal(out[i * 2 + 1], 'trailers', 'only te: trailers is forwarded');
        else assert.ok(!HOP_BY_HOP.includes(n), `hop-by-hop ${n} forwarded`);
        if (n !== 'host' && !n.startsWith('x-forwarded-') && n !== 'x-request-id') assert.ok(!named.has(n), `${n} is named by Connection`);
      }
      assert.equal(names.filter((n) => n === 'host').length, 1, 'exactly one host');
    }),
    { numRuns: 1000 },
  );
});

test('toward the client: no hop-by-hop header survives an upstream response and a route’s response edits', () => {
  fc.assert(
    fc.property(rawHeaders, fc.option(mutationConfig, { nil: undefined }), (pairs, mcfg) => {
      const headers: Record<string, string | string[] | undefined> = {};
      for (const [n, v] of pairs) headers[n.toLowerCase()] = v;
      stripResponseHopByHop(headers);
      if (mcfg) {
        const m = compileHeaderMutation(headerMutationSchema.parse(mcfg), 'm', 'response', []);
        if (m) mutateResponseHeaders(m, headers, exchangeFor([]));
      }
      for (const n of HOP_BY_HOP_RESPONSE) assert.equal(headers[n], undefined, `${n} survived`);
    }),
    { numRuns: 1000 },
  );
});

test('a route may not edit a hop-by-hop header: refused at compile time', () => {
  for (const n of HOP_BY_HOP_RESPONSE) {
    const errors: MutationError[] = [];
    compileHeaderMutation(headerMutationSchema.parse({ set: { [n]: 'v' } }), 'm', 'request', errors);
    assert.equal(errors.length, 1, n);
  }
});

const tokenSources = fc.array(
  fc.oneof(
    fc.record({ header: fc.constantFrom('authorization', 'x-token', 'Cf-Access-Jwt-Assertion') }),
    fc.record({ header: fc.constantFrom('authorization', 'x-token'), prefix: fc.constantFrom('Bearer ', 'Token ', 'b') }),
    fc.record({ cookie: fc.constantFrom('CF_Authorization', 'session', 'a b') }),
  ),
  { minLength: 1, maxLength: 4 },
);
const cookieHeader = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc
    .tuple(fc.array(fc.tuple(fc.constantFrom('CF_Authorization', 'session', 'a', ' a b', ''), fc.string({ maxLength: 10 })), { maxLength: 5 }), fc.constantFrom('; ', ';', ' ;'))
    .map(([cs, sep]) => cs.map(([k, v]) => `${k}=${v}`).join(sep)),
);
const requestHeaders: fc.Arbitrary<IncomingHttpHeaders> = fc.record(
  {
    authorization: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('Bearer ', 'bearer x', 'Bearer  ', 'Basic abc', 'b')),
    'x-token': fc.oneof(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 })),
    'cf-access-jwt-assertion': fc.string({ maxLength: 30 }),
    cookie: cookieHeader,
  },
  { requiredKeys: [] },
) as fc.Arbitrary<IncomingHttpHeaders>;

test('token extraction never throws; a token found is non-empty and trimmed', () => {
  fc.assert(
    fc.property(tokenSources, requestHeaders, (cfg, headers) => {
      const sources = compileTokenSources(cfg.map((c) => tokenSourceSchema.parse(c)));
      const found = findToken(sources, headers);
      if (found !== null) {
        assert.ok(found.token.length > 0);
        assert.equal(found.token, found.token.trim());
      }
    }),
    { numRuns: 1000 },
  );
});

test('removing a cookie never throws and the cookie is gone afterwards', () => {
  fc.assert(
    fc.property(cookieHeader, fc.constantFrom('CF_Authorization', 'session', 'a'), (header, name) => {
      const rest = withoutCookie(header, name);
      assert.equal(findCookie(rest, name), null, `${JSON.stringify(header)} → ${JSON.stringify(rest)}`);
    }),
    { numRuns: 1000 },
  );
});
