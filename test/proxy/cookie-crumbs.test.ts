import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';

// Issue 9 item 8: HTTP/2 cookie crumbs (one `cookie` field per cookie, RFC 9113 §8.2.3) reach an
// HTTP/1.1 upstream as one Cookie header joined with "; ", never as several.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  pki = await testPki();
  // Answers with the raw header list, so several Cookie lines cannot hide behind node's own joining.
  up = await startUpstream({
    handler: (req, res) => {
      const cookies: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i].toLowerCase() === 'cookie') cookies.push(req.rawHeaders[i + 1]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ cookies }));
    },
  });
  gw = await startGateway(basicConfig(pki, { endpoint: up.address }));
});
after(async () => {
  await gw.close();
  await up.close();
});

test('HTTP/2 cookie crumbs become one Cookie header', async () => {
  const r = await h2(pki, gw.httpsPort, '/x', { headers: { cookie: ['a=1', 'b=2', 'c=3'] as unknown as string } });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body).cookies, ['a=1; b=2; c=3']);
});

test('a stripped token cookie among crumbs leaves the others joined', async () => {
  const g = await startGateway(`${basicConfig(pki, { endpoint: up.address })}
authn:
  providers:
    - { name: p, issuer: https://idp.test, audiences: [a], jwks: { keys: [{ kty: EC, crv: P-256, x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tAKgLCg-SLafwV4ZOhQ-Ws3zsUBI" }] }, tokenFrom: [{ cookie: tok }] }
`.replace('    routes:', '    authn: { providers: [p], allowAnonymous: true }\n    routes:'));
  try {
    const r = await h2(pki, g.httpsPort, '/x', { headers: { cookie: ['a=1', 'tok=garbage', 'b=2'] as unknown as string } });
    assert.deepEqual(JSON.parse(r.body).cookies, ['a=1; b=2']);
  } finally {
    await g.close();
  }
});

test('a single HTTP/1.1 Cookie header passes unchanged', async () => {
  const r = await h1(pki, gw.httpsPort, '/x', { headers: { cookie: 'a=1; b=2' } });
  assert.deepEqual(JSON.parse(r.body).cookies, ['a=1; b=2']);
});
