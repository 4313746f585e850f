import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { makeKey, sign, startJwksServer, type JwksServer, type TestKey } from '../helpers/authn-jwks.ts';

// The Cloudflare Access shape as-is: certs JSON over HTTPS (with public_cert/public_certs beside
// keys) from a server whose CA comes from jwksCaFile, the Cf-Access-Jwt-Assertion header, the
// CF_Authorization cookie, and an aud array. Also: the default 16 KiB header limit answers 431.

let pki: TestPki;
let up: TestUpstream;
let certs: JwksServer;
let gw: TestGateway;
let key: TestKey;

const ISS = 'https://team.cloudflareaccess.com';

before(async () => {
  pki = await testPki();
  key = await makeKey('cf-1', 'rsa');
  up = await startUpstream();
  certs = await startJwksServer([key], { tls: pki, path: '/cdn-cgi/access/certs' });
  certs.cloudflareShape = true;
  gw = await startGateway(`
${gatewayPreamble(pki)}
authn:
  providers:
    - name: cf-access
      issuer: ${ISS}
      audiences: ["aud-tag"]
      jwksUri: ${certs.url}
      jwksCaFile: ${pki.file('ca.crt')}
      algorithms: [RS256, ES256]
      tokenFrom:
        - { header: Cf-Access-Jwt-Assertion }
        - { cookie: CF_Authorization }
        - { header: Authorization, prefix: "Bearer " }
      claimsToHeaders: { email: x-auth-email }
      forwardToken: false
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [cf-access] }
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
  await eventually(() => gw.gw.ready, 'ready after the certs fetch over HTTPS');
});
after(async () => {
  await gw.close();
  await up.close();
  await certs.stop();
});

const cfClaims = { email: 'bob@example.com', sub: 'cf-user-1', type: 'app', country: 'NL' };
const cfToken = () => sign(key, cfClaims, { iss: ISS, aud: ['aud-tag', 'other-app'] });
const seen = (body: string) => JSON.parse(body) as { headers: Record<string, string | undefined> };

test('the certs endpoint (HTTPS, jwksCaFile, public_cert/public_certs present) was loaded', () => {
  assert.ok(certs.hits >= 1);
  assert.equal(gw.gw.ready, true);
});

test('Cf-Access-Jwt-Assertion header with an aud array is accepted and stripped', async () => {
  const r = await h1(pki, gw.httpsPort, '/app', { headers: { 'Cf-Access-Jwt-Assertion': await cfToken() } });
  assert.equal(r.status, 200, r.body);
  const h = seen(r.body).headers;
  assert.equal(h['x-auth-email'], 'bob@example.com');
  assert.equal(h['cf-access-jwt-assertion'], undefined);
});

test('CF_Authorization cookie: accepted; only that cookie is removed, the others stay', async () => {
  const t = await cfToken();
  const r = await h1(pki, gw.httpsPort, '/app', { headers: { cookie: `theme=dark; CF_Authorization=${t}; session=abc` } });
  assert.equal(r.status, 200, r.body);
  assert.equal(seen(r.body).headers.cookie, 'theme=dark; session=abc');

  const only = await h2(pki, gw.httpsPort, '/app', { headers: { cookie: `CF_Authorization=${t}` } });
  assert.equal(only.status, 200);
  assert.equal(seen(only.body).headers.cookie, undefined, 'no Cookie header left when it was the only cookie');
});

test('tokenFrom order: the header is used before the cookie', async () => {
  const good = await cfToken();
  const r = await h1(pki, gw.httpsPort, '/app', { headers: { 'cf-access-jwt-assertion': 'garbage', cookie: `CF_Authorization=${good}` } });
  assert.equal(r.status, 401, 'the first source present is the token');
});

test('an aud array without the configured tag is refused', async () => {
  const t = await sign(key, cfClaims, { iss: ISS, aud: ['other-app', 'third'] });
  const r = await h1(pki, gw.httpsPort, '/app', { headers: { 'Cf-Access-Jwt-Assertion': t } });
  assert.equal(r.status, 401);
});

test('with the default 16 KiB header limit a 64 KB token is answered 431 over HTTP/1.1', async () => {
  const r = await h1(pki, gw.httpsPort, '/app', { headers: { 'Cf-Access-Jwt-Assertion': 'x'.repeat(64 * 1024) } });
  assert.equal(r.status, 431);
  assert.equal((await h1(pki, gw.httpsPort, '/app', { headers: { 'Cf-Access-Jwt-Assertion': await cfToken() } })).status, 200);
});
