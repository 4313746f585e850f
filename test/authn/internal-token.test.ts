import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { encodedKeyPair } from '../../src/certs/key-pair.ts';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { makeKey, sign, type TestKey } from '../helpers/authn-jwks.ts';
import { testTempDir } from '../helpers/tmp.ts';

// Internal tokens minted for the mesh (memory cache): verifiable against admin
// /.well-known/jwks.json, reused per edge identity, spoofed copies removed, key rotation published.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
let edgeKey: TestKey;
let signingKeyFile: string;

before(async () => {
  pki = await testPki();
  edgeKey = await makeKey('edge-1', 'ec');
  const dir = testTempDir('gatehouse-itok-');
  signingKeyFile = join(dir, 'internal-token.key');
  copyFileSync(pki.file('internal-token.key'), signingKeyFile); // EC P-256 from `certs init`
  up = await startUpstream();
  gw = await startGateway(`
${gatewayPreamble(pki)}
authn:
  providers:
    - name: idp
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwks: { keys: [${JSON.stringify(edgeKey.jwk)}] }
      forwardToken: true
    - name: partner
      issuer: https://partner.test
      audiences: [gatehouse-test]
      jwks: { keys: [${JSON.stringify(edgeKey.jwk)}] }
      tokenFrom: [{ header: x-partner-token }]
  internalToken:
    issuer: https://gatehouse.internal
    audience: mesh
    signingKeyFile: ${signingKeyFile}
    ttl: 15m
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [idp, partner] }
    routes:
      - { name: public, match: { prefix: /public }, authn: { providers: [idp], allowAnonymous: true }, route: { cluster: backend } }
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
});
after(async () => {
  await gw.close();
  await up.close();
});

async function meshToken(path: string, edge: string | null, extra: Record<string, string> = {}): Promise<string | undefined> {
  const headers: Record<string, string> = { ...extra };
  if (edge) headers.authorization = `Bearer ${edge}`;
  const r = await h1(pki, gw.httpsPort, path, { headers });
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { headers: Record<string, string | undefined> }).headers['x-mesh-authorization'];
}

async function publishedKeys(): Promise<JSONWebKeySet> {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  return (await res.json()) as JSONWebKeySet;
}

const alice = { sub: 'alice', email: 'alice@example.com', groups: ['shop'], secret_claim: 'not forwarded' };

test('the internal token verifies against /.well-known/jwks.json and carries the edge identity', async () => {
  const header = await meshToken('/x', await sign(edgeKey, alice));
  assert.match(header ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  const jwt = header!.slice(7);
  const jwks = await publishedKeys();
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].d, undefined, 'no private material is published');
  const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: 'https://gatehouse.internal', audience: 'mesh' });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(protectedHeader.kid, jwks.keys[0].kid);
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.edge_iss, 'https://idp.test', 'the edge issuer that vouched for sub');
  assert.equal(payload.email, 'alice@example.com');
  assert.deepEqual(payload.groups, ['shop']);
  assert.equal(payload.secret_claim, undefined, 'only the documented claims are forwarded');
  assert.equal(payload.exp! - payload.iat!, 900);
  assert.ok(typeof payload.jti === 'string' && payload.jti.length > 0);
});

test('the token is reused for the same edge identity within its ttl (even from a new edge token)', async () => {
  const minter = gw.gw.current!.authn.internalToken!;
  const first = await meshToken('/a', await sign(edgeKey, alice));
  const minted = minter.minted;
  const again = await meshToken('/b', await sign(edgeKey, { ...alice, jti: 'another-edge-token' }, { iatIn: -1 }));
  assert.equal(again, first);
  assert.equal(minter.minted, minted, 'no new signature');
  const bob = await meshToken('/c', await sign(edgeKey, { sub: 'bob' }));
  assert.notEqual(bob, first);
});

test('the same sub from two identity providers gets two different internal tokens (issue 9.3)', async () => {
  const corporate = await meshToken('/corp', await sign(edgeKey, alice));
  const partner = await meshToken('/partner', null, { 'x-partner-token': await sign(edgeKey, alice, { iss: 'https://partner.test' }) });
  assert.ok(corporate && partner);
  assert.notEqual(partner, corporate, 'a partner IdP user must not get the corporate user\'s token');
  const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
  assert.equal(claims(partner!).sub, 'alice');
  assert.equal(claims(partner!).edge_iss, 'https://partner.test');
  assert.equal(claims(corporate!).edge_iss, 'https://idp.test');
});

test('a client-sent internal token header never reaches the mesh', async () => {
  const anon = await meshToken('/public', null, { 'x-mesh-authorization': 'Bearer forged' });
  assert.equal(anon, undefined, 'anonymous request: removed, none minted');
  const edge = await sign(edgeKey, alice);
  const r = await h1(pki, gw.httpsPort, '/fwd', { headers: { authorization: `Bearer ${edge}` } });
  assert.equal(JSON.parse(r.body).headers.authorization, `Bearer ${edge}`, 'forwardToken: true keeps the edge token');
  const authed = await meshToken('/y', edge, { 'x-mesh-authorization': 'Bearer forged' });
  assert.notEqual(authed, 'Bearer forged');
  assert.match(authed ?? '', /^Bearer ey/);
});

test('a rotated signing key is published beside the old one; new tokens use the new key', async () => {
  const before = await meshToken('/r1', await sign(edgeKey, alice));
  const oldKid = decodeProtectedHeader(before!.slice(7)).kid;
  writeFileSync(signingKeyFile, encodedKeyPair('rsa').privateKey);
  const r = await gw.gw.reload('test rotation');
  assert.equal(r.ok, true, JSON.stringify(r));
  const jwks = await publishedKeys();
  assert.equal(jwks.keys.length, 2);
  const after = await meshToken('/r2', await sign(edgeKey, alice));
  assert.notEqual(after, before);
  const h = decodeProtectedHeader(after!.slice(7));
  assert.equal(h.alg, 'RS256');
  assert.notEqual(h.kid, oldKid);
  const set = createLocalJWKSet(jwks);
  for (const t of [before!, after!]) await jwtVerify(t.slice(7), set, { issuer: 'https://gatehouse.internal', audience: 'mesh' });
});
