import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { encodedKeyPair } from '../../src/certs/key-pair.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatehouseService } from '../services/gatehouse.ts';
import type { BenchContext, RatioDef, Scenario, ServiceDef } from '../lib/types.ts';

// Issue 4, "Benchmark": throughput of a route with authn on (the same token repeated) ≥ 90% of the
// same route with authn off; the uncached cost too (distinct tokens).
//
// Two gatehouse processes with the same config: two routes to the same upstream that differ only by `authn`:
//   /open   — no authn (no filter at all: the provider has no claimsToHeaders, so no header guard)
//   /secure — authn: { providers: [bench] }: an RS256 token in `Authorization: Bearer …`, keys from
//             a local `jwksFile` (no JWKS server), forwardToken false (the default: stripped)
// Tokens are RS256 (as Cloudflare Access signs them), 2048-bit key, exp one year ahead, signed here
// with node:crypto. Scenarios:
//   authn-off       GET /open, no token                                      (process gatehouse-authn)
//   authn-cached    GET /secure, the same token on every request: one signature check, then the
//                   verified-token cache (a SHA-256 of the token and an LRU lookup)   (gatehouse-authn)
//   authn-uncached  GET /secure, UNCACHED_TOKENS distinct valid tokens cycled in order (its own
//                   process, gatehouse-authn-uncached, so the 10,000 cache entries and the garbage
//                   it makes never weigh on the off/cached pair's heap); the cache
//                   holds 10,000 entries (src/filters/authn/provider.ts) and is an LRU, so with a
//                   cycle twice its size every token has been evicted before it comes round again:
//                   every request is a signature check. The position in the list carries over between
//                   measurements (Scenario.varyHeader), so warm-ups and rounds never reuse a recent token.

export const UNCACHED_TOKENS = 20_000;
const ISSUER = 'https://issuer.bench.test';
const AUDIENCE = 'gatehouse-bench';
const KID = 'bench-rs256';

const dir = (ctx: BenchContext) => ctx.tmp;
const jwksFile = (ctx: BenchContext) => join(dir(ctx), 'authn-jwks.json');
const tokenFile = (ctx: BenchContext) => join(dir(ctx), 'authn-token.txt');
const tokensFile = (ctx: BenchContext) => join(dir(ctx), 'authn-tokens.txt');

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

function signRs256(key: KeyObject, payload: Record<string, unknown>): string {
  const data = `${b64({ alg: 'RS256', typ: 'JWT', kid: KID })}.${b64(payload)}`;
  return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
}

/** Key pair, JWKS file, one token for the cached scenario, UNCACHED_TOKENS distinct ones (once per run). */
let prepared: { tmp: string; info: Record<string, unknown> } | null = null;
function prepareTokens(ctx: BenchContext): Record<string, unknown> {
  if (prepared?.tmp === ctx.tmp) return prepared.info;
  const t0 = performance.now();
  const privateKey = createPrivateKey(encodedKeyPair('rsa').privateKey); // PEM first: src/certs/key-pair.ts says why
  const publicKey = createPublicKey(privateKey);
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
  writeFileSync(jwksFile(ctx), JSON.stringify({ keys: [jwk] }));
  const now = Math.floor(Date.now() / 1000);
  const claims = (sub: string, jti: string) => ({ iss: ISSUER, aud: AUDIENCE, sub, email: `${sub}@bench.test`, iat: now - 60, exp: now + 365 * 86400, jti });
  writeFileSync(tokenFile(ctx), signRs256(privateKey, claims('user-cached', 'cached')));
  const lines: string[] = [];
  for (let i = 0; i < UNCACHED_TOKENS; i++) lines.push(signRs256(privateKey, claims(`user-${i}`, `t-${i}`)));
  writeFileSync(tokensFile(ctx), lines.join('\n') + '\n');
  const info = { tokens: { alg: 'RS256', rsaBits: 2048, distinctTokens: UNCACHED_TOKENS, tokenBytes: lines[0]!.length, signedInMs: Math.round(performance.now() - t0) } };
  prepared = { tmp: ctx.tmp, info };
  return info;
}

const AUTHN = 'gatehouse-authn';
const AUTHN_UNCACHED = 'gatehouse-authn-uncached';

const authnService = (id: string, what: string): ServiceDef =>
  gatehouseService({
    id,
    title: `gatehouse → plain upstream, routes /open (no authn) and /secure (authn, RS256 JWT, jwksFile)${what}`,
    upstream: 'upstream-plain',
    mtls: false,
    prepare: (ctx) => prepareTokens(ctx),
    extraRoutes: () => `      - { name: open, match: { prefix: /open }, route: { cluster: upstream, timeout: 10s } }
      - { name: secure, match: { prefix: /secure }, authn: { providers: [bench] }, route: { cluster: upstream, timeout: 10s } }`,
    extraTopLevel: (ctx) => `authn:
  providers:
    - name: bench
      issuer: ${JSON.stringify(ISSUER)}
      audiences: [${JSON.stringify(AUDIENCE)}]
      jwksFile: ${JSON.stringify(jwksFile(ctx))}
      algorithms: [RS256]
`,
  });

export const services: ServiceDef[] = [authnService(AUTHN, ''), authnService(AUTHN_UNCACHED, ' — for the uncached scenario')];

const common = { system: 'gatehouse', protocol: 'http1' as const, sut: AUTHN, rounds: 3, durationS: 5 };

export const scenarios: Scenario[] = [
  { id: 'authn-off', title: 'gatehouse, route without authn (/open), TLS → plain', path: '/open', ...common },
  {
    id: 'authn-cached',
    title: 'gatehouse, authn on, same token every request (cached)',
    path: '/secure',
    headers: (ctx) => ({ authorization: `Bearer ${readFileSync(tokenFile(ctx), 'utf8').trim()}` }),
    ...common,
  },
  {
    id: 'authn-uncached',
    title: `gatehouse, authn on, ${UNCACHED_TOKENS.toLocaleString('en-US')} distinct tokens cycled (every request verified)`,
    path: '/secure',
    varyHeader: { name: 'authorization', prefix: 'Bearer ', file: tokensFile },
    ...common,
    sut: AUTHN_UNCACHED,
    notes: `RS256; ${UNCACHED_TOKENS} tokens cycled through a 10,000-entry LRU: every request is a cache miss`,
  },
];

export const ratios: RatioDef[] = [
  { id: 'authn-cached-vs-off', title: 'authn on (same token, cached) ÷ authn off', numerator: 'authn-cached', denominator: 'authn-off', target: { min: 0.9, source: 'issue 4' } },
  { id: 'authn-uncached-vs-off', title: 'authn on (distinct tokens, uncached RS256) ÷ authn off', numerator: 'authn-uncached', denominator: 'authn-off' },
];
