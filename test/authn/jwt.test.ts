import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { badTokenMatrix, makeKey, sign, startJwksServer, type JwksServer, type TestKey } from '../helpers/authn-jwks.ts';

// Edge JWT validation against a real JWKS server on loopback: the bad-token matrix, claims to
// headers, token stripping, the verified-token cache, JWKS outage, reload reuse and metrics.

let pki: TestPki;
let up: TestUpstream;
let jwks: JwksServer;
let gw: TestGateway;
let rsa: TestKey;
let ec: TestKey;
let stranger: TestKey;

function config(extraRoute = '', claimsToHeaders = '{ sub: x-auth-sub, email: x-auth-email, "realm_access.roles": x-auth-roles }'): string {
  return `
${gatewayPreamble(pki)}
    limits: { maxHeaderBytes: 131072 }
authn:
  providers:
    - name: idp
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwksUri: ${jwks.url}
      algorithms: [RS256, ES256]
      clockSkew: 5s
      claimsToHeaders: ${claimsToHeaders}
      forwardToken: false
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [idp] }
    routes:
${extraRoute}
      - { name: open, match: { prefix: /open }, authn: { providers: [idp], allowAnonymous: true }, route: { cluster: backend } }
      - { name: anon, match: { prefix: /anon }, authn: { allowAnonymous: true }, route: { cluster: backend } }
      - { name: all, match: { prefix: / }, route: { cluster: backend, timeout: 5s } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`;
}

before(async () => {
  pki = await testPki();
  [rsa, ec, stranger] = await Promise.all([makeKey('rsa-1', 'rsa'), makeKey('ec-1', 'ec'), makeKey('stranger', 'rsa')]);
  up = await startUpstream();
  jwks = await startJwksServer([rsa, ec]);
  gw = await startGateway(config());
  await eventually(() => gw.gw.ready, 'gateway ready after the first JWKS fetch');
});
after(async () => {
  await gw.close();
  await up.close();
  await jwks.stop();
});

const claims = { sub: 'alice', email: 'alice@example.com', realm_access: { roles: ['shop', 'admin'] } };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const seen = (body: string) => JSON.parse(body) as { url: string; headers: Record<string, string | undefined> };

test('readiness waited for the first JWKS fetch', () => {
  assert.ok(jwks.hits >= 1);
  assert.equal(gw.gw.ready, true);
});

test('RSA and EC tokens are accepted; claims become headers and the token is stripped', async () => {
  for (const key of [rsa, ec]) {
    const t = await sign(key, claims);
    const r = await h1(pki, gw.httpsPort, '/x', { headers: { ...bearer(t), 'x-auth-sub': 'mallory', 'X-Auth-Email': 'spoof@evil' } });
    assert.equal(r.status, 200, `${key.alg}: ${r.body}`);
    const h = seen(r.body).headers;
    assert.equal(h['x-auth-sub'], 'alice');
    assert.equal(h['x-auth-email'], 'alice@example.com');
    assert.equal(h['x-auth-roles'], 'shop,admin', 'dotted claim path, array joined');
    assert.equal(h.authorization, undefined, 'forwardToken: false strips the token header');
  }
});

test('a token without kid is checked against every key of its type', async () => {
  const rsa2 = await makeKey('rsa-2', 'rsa');
  jwks.keys = [rsa2, rsa, ec];
  const provider = gw.gw.current!.authn.providers.get('idp')!;
  // Bring the new key set in through the unknown-kid path (the first refetch is not in cooldown).
  assert.equal((await h1(pki, gw.httpsPort, '/k', { headers: bearer(await sign(rsa2, claims)) })).status, 200);
  const noKid = await sign(rsa, claims, { kid: '' });
  assert.equal((await h1(pki, gw.httpsPort, '/nokid', { headers: bearer(noKid) })).status, 200);
  const strangerNoKid = await sign(stranger, claims, { kid: '' });
  assert.equal((await h1(pki, gw.httpsPort, '/nokid', { headers: bearer(strangerNoKid) })).status, 401);
  assert.ok(provider.verifications > 0);
  jwks.keys = [rsa, ec];
});

test('HTTP/2 requests are authenticated the same way', async () => {
  const t = await sign(ec, claims);
  const ok = await h2(pki, gw.httpsPort, '/h2', { headers: bearer(t) });
  assert.equal(ok.status, 200);
  assert.equal(seen(ok.body).headers['x-auth-sub'], 'alice');
  const no = await h2(pki, gw.httpsPort, '/h2');
  assert.equal(no.status, 401);
  assert.equal(no.headers['www-authenticate'], 'Bearer realm="gatehouse"');
});

test('the same token again is answered from the verified-token cache', async () => {
  const provider = gw.gw.current!.authn.providers.get('idp')!;
  const t = await sign(rsa, { ...claims, jti: 'cache-test' });
  const before = provider.verifications;
  for (let i = 0; i < 5; i++) assert.equal((await h1(pki, gw.httpsPort, '/c', { headers: bearer(t) })).status, 200);
  assert.equal(provider.verifications - before, 1, 'one signature check for five requests');
});

function badTokens(): Promise<Array<[string, string]>> {
  return badTokenMatrix(rsa, stranger, claims);
}

test('bad-token matrix: every one is a 401 with error="invalid_token", and the gateway keeps serving', async () => {
  const missing = await h1(pki, gw.httpsPort, '/m');
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"');
  assert.equal(JSON.parse(missing.body).error, 'unauthenticated');

  const emptyBearer = await h1(pki, gw.httpsPort, '/m', { headers: { authorization: 'Bearer ' } });
  assert.equal(emptyBearer.status, 401, 'an empty bearer is a missing token');

  const good = await sign(ec, claims);
  for (const [what, token] of await badTokens()) {
    const r = await h1(pki, gw.httpsPort, '/bad', { headers: bearer(token) });
    assert.equal(r.status, 401, `${what}: ${r.status} ${r.body}`);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token"', what);
    const body = JSON.parse(r.body);
    assert.equal(body.error, 'invalid_token', what);
    assert.ok(!r.body.includes(token.slice(0, 20)), `${what}: the token is not echoed`);
    assert.equal((await h1(pki, gw.httpsPort, '/still', { headers: bearer(good) })).status, 200, `serving after ${what}`);
  }
});

test('big tokens over HTTP/2: 40 KB reaches authn (401); 64 KB exceeds nghttp2\'s per-field limit (stream refused)', async () => {
  const good = await sign(rsa, claims);
  const [h, , s] = good.split('.');
  const r = await h2(pki, gw.httpsPort, '/big', { headers: bearer(`${h}.${'B'.repeat(40 * 1024)}.${s}`) });
  assert.equal(r.status, 401);
  assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token"');
  await assert.rejects(h2(pki, gw.httpsPort, '/big', { headers: bearer(`${h}.${'B'.repeat(64 * 1024)}.${s}`) }), /REFUSED_STREAM|stream/i);
  assert.equal((await h2(pki, gw.httpsPort, '/after', { headers: bearer(good) })).status, 200, 'still serving');
});

test('failures are counted by reason in /metrics', async () => {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`);
  const text = await res.text();
  for (const reason of ['missing', 'expired', 'not_yet_valid', 'issuer', 'audience', 'algorithm', 'signature', 'unknown_kid', 'malformed', 'too_large']) {
    assert.match(text, new RegExp(`gatehouse_authn_failures_total\\{reason="${reason}"\\} [1-9]`), reason);
  }
});

test('allowAnonymous: a missing or invalid token passes as anonymous, with spoofed headers and the token removed', async () => {
  const noToken = await h1(pki, gw.httpsPort, '/open/a', { headers: { 'x-auth-sub': 'mallory' } });
  assert.equal(noToken.status, 200);
  assert.equal(seen(noToken.body).headers['x-auth-sub'], undefined);

  const bad = await sign(stranger, claims);
  const r = await h1(pki, gw.httpsPort, '/open/b', { headers: { ...bearer(bad), 'x-auth-email': 'spoof@evil' } });
  assert.equal(r.status, 200);
  const h = seen(r.body).headers;
  assert.equal(h['x-auth-email'], undefined);
  assert.equal(h['x-auth-sub'], undefined);
  assert.equal(h.authorization, undefined, 'the invalid token is still stripped (forwardToken: false)');

  const good = await sign(rsa, claims);
  const ok = await h1(pki, gw.httpsPort, '/open/c', { headers: bearer(good) });
  assert.equal(seen(ok.body).headers['x-auth-sub'], 'alice', 'a valid token still yields claims');
});

test('a route without providers never looks at the token but still drops spoofed identity headers and edge tokens', async () => {
  const r = await h1(pki, gw.httpsPort, '/anon', { headers: { authorization: 'Bearer whatever', 'x-auth-sub': 'mallory' } });
  assert.equal(r.status, 200);
  const h = seen(r.body).headers;
  assert.equal(h.authorization, undefined, 'the places of every forwardToken: false provider are stripped');
  assert.equal(h['x-auth-sub'], undefined);
});

test('a reload with unchanged providers keeps the key set: no JWKS refetch', async () => {
  const provider = gw.gw.current!.authn.providers.get('idp')!;
  const hits = jwks.hits;
  gw.rewrite(config('      - { name: extra, match: { path: /extra }, directResponse: { status: 200, body: "x" } }'));
  const r = await gw.gw.reload('test');
  assert.equal(r.ok, true);
  assert.equal((await h1(pki, gw.httpsPort, '/extra', { headers: bearer(await sign(rsa, claims)) })).status, 200);
  assert.equal(gw.gw.current!.authn.providers.get('idp'), provider, 'the provider object survived');
  assert.equal(jwks.hits, hits, 'no fetch on reload');
  assert.equal(gw.gw.ready, true);
});

test('a reload that changes a provider but not its JWKS source keeps the key set: no refetch', async () => {
  const before = gw.gw.current!.authn.providers.get('idp')!;
  const hits = jwks.hits;
  gw.rewrite(config('', '{ sub: x-auth-user }'));
  assert.equal((await gw.gw.reload('test')).ok, true);
  const after = gw.gw.current!.authn.providers.get('idp')!;
  assert.notEqual(after, before, 'a new provider (its claimsToHeaders changed)');
  assert.equal(after.keys, before.keys, 'the same key set');
  assert.equal(jwks.hits, hits);
  const r = await h1(pki, gw.httpsPort, '/renamed', { headers: { ...bearer(await sign(rsa, claims)), 'x-auth-sub': 'mallory' } });
  assert.equal(r.status, 200);
  assert.equal(seen(r.body).headers['x-auth-user'], 'alice');
  assert.equal(seen(r.body).headers['x-auth-sub'], 'mallory', 'no longer an identity header of this config');
  gw.rewrite(config());
  assert.equal((await gw.gw.reload('test')).ok, true);
});

test('JWKS server stopped after the first fetch: tokens still validate with the last good keys', async () => {
  await jwks.stop();
  const provider = gw.gw.current!.authn.providers.get('idp')!;
  const before = provider.verifications;
  const t = await sign(ec, { ...claims, jti: 'after-outage' });
  const r = await h1(pki, gw.httpsPort, '/outage', { headers: bearer(t) });
  assert.equal(r.status, 200);
  assert.equal(provider.verifications - before, 1, 'a fresh (uncached) token was verified');
});
