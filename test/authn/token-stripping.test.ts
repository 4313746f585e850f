import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1, h2, type Reply } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { makeKey, sign, startJwksServer, type JwksServer, type TestKey } from '../helpers/authn-jwks.ts';

// Issue 9 item 1: no edge token that failed validation reaches the mesh. With forwardToken: false
// every token place of the provider is stripped (valid, expired, foreign-signed or garbage), at host
// and route level, for every kind of place (header, prefixed header, cookie among other cookies),
// over HTTP/1.1 and HTTP/2; `{ allowAnonymous: true }` without providers strips every provider's
// places; a refused token is stripped even when its provider forwards valid ones.

let pki: TestPki;
let up: TestUpstream;
let jwks: JwksServer;
let gw: TestGateway;
let key: TestKey;
let stranger: TestKey;

before(async () => {
  pki = await testPki();
  [key, stranger] = await Promise.all([makeKey('k1', 'rsa'), makeKey('stranger', 'rsa')]);
  up = await startUpstream();
  jwks = await startJwksServer([key]);
  gw = await startGateway(`
${gatewayPreamble(pki)}
      http2: true
authn:
  providers:
    - name: idp
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwksUri: ${jwks.url}
      tokenFrom: [{ header: x-tok }, { cookie: tok }, { header: Authorization, prefix: "Bearer " }]
      forwardToken: false
    - name: fwd
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwksUri: ${jwks.url}
      tokenFrom: [{ header: x-fwd }]
      forwardToken: true
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [idp], allowAnonymous: true }
    routes:
      - { name: anon, match: { prefix: /anon }, authn: { allowAnonymous: true }, route: { cluster: backend } }
      - { name: strict, match: { prefix: /strict }, authn: { providers: [idp] }, route: { cluster: backend } }
      - { name: fwd, match: { prefix: /fwd }, authn: { providers: [fwd], allowAnonymous: true }, route: { cluster: backend } }
      - { name: host, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
  await eventually(() => gw.gw.ready, 'gateway ready after the first JWKS fetch');
});
after(async () => {
  await gw.close();
  await up.close();
  await jwks.stop();
});

const upstreamSaw = (r: Reply) => (JSON.parse(r.body) as { headers: Record<string, string | undefined> }).headers;

async function badTokens(): Promise<Record<string, string>> {
  return {
    garbage: 'garbage',
    expired: await sign(key, { sub: 'alice' }, { expIn: -3600 }),
    foreign: await sign(stranger, { sub: 'alice' }),
  };
}

for (const [proto, client] of [['HTTP/1.1', h1], ['HTTP/2', h2]] as const) {
  for (const path of ['/host-level', '/anon']) {
    test(`${proto} ${path}: invalid tokens in every place are stripped, other cookies stay`, async () => {
      for (const [kind, t] of Object.entries(await badTokens())) {
        const places: Array<[string, Record<string, string>]> = [
          ['header', { 'x-tok': t }],
          ['prefixed header', { authorization: `Bearer ${t}` }],
          ['cookie', { cookie: `theme=dark; tok=${t}; lang=en` }],
        ];
        for (const [where, headers] of places) {
          const r = await client(pki, gw.httpsPort, path, { headers });
          assert.equal(r.status, 200, `${kind} in ${where}: allowAnonymous never answers 401`);
          const h = upstreamSaw(r);
          assert.equal(h['x-tok'], undefined, `${kind} ${where}`);
          assert.equal(h.authorization, undefined, `${kind} ${where}`);
          if (where === 'cookie') assert.equal(h.cookie, 'theme=dark; lang=en', `${kind}: only that cookie is removed`);
        }
      }
    });
  }
}

test('a valid token in one place does not carry garbage in the provider\'s other places', async () => {
  const good = await sign(key, { sub: 'alice' });
  for (const path of ['/host-level', '/strict']) {
    const r = await h1(pki, gw.httpsPort, path, { headers: { 'x-tok': good, cookie: 'tok=garbage; keep=1', authorization: 'Bearer garbage' } });
    assert.equal(r.status, 200, path);
    const h = upstreamSaw(r);
    assert.equal(h['x-tok'], undefined, path);
    assert.equal(h.authorization, undefined, path);
    assert.equal(h.cookie, 'keep=1', path);
  }
});

test('a non-token Authorization scheme is left alone; a Bearer copy beside it is not', async () => {
  const basic = await h1(pki, gw.httpsPort, '/host-level', { headers: { authorization: 'Basic dXNlcjpwdw==' } });
  assert.equal(upstreamSaw(basic).authorization, 'Basic dXNlcjpwdw==', 'not a place of the provider');

  // Two Authorization headers: node keeps only the first in its parsed headers, yet both are forwarded raw.
  const both = await new Promise<Reply>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1', port: gw.httpsPort, path: '/anon', ca: pki.read('ca.crt'), servername: 'localhost', agent: false,
        headers: { host: 'localhost', authorization: ['Basic dXNlcjpwdw==', 'Bearer garbage'] as unknown as string },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(both.status, 200);
  assert.equal(upstreamSaw(both).authorization, undefined);
});

test('forwardToken: true forwards a valid token, never a refused one', async () => {
  const good = await sign(key, { sub: 'alice' });
  const ok = await h1(pki, gw.httpsPort, '/fwd', { headers: { 'x-fwd': good } });
  assert.equal(upstreamSaw(ok)['x-fwd'], good);
  for (const t of Object.values(await badTokens())) {
    const r = await h2(pki, gw.httpsPort, '/fwd', { headers: { 'x-fwd': t } });
    assert.equal(r.status, 200);
    assert.equal(upstreamSaw(r)['x-fwd'], undefined);
  }
});
