import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { makeKey, startJwksServer, type JwksServer } from '../helpers/authn-jwks.ts';
import { eventually } from '../helpers/net.ts';

// Issue 9 item 14 through the running gateway: admin GET /config never shows a credential in a
// jwksUri query, a Redis URL's userinfo, or a header-mutation value.

let pki: TestPki;
let jwks: JwksServer;
let gw: TestGateway;

before(async () => {
  pki = await testPki();
  jwks = await startJwksServer([await makeKey('k', 'ec')], { path: '/certs?client_id=edge&client_secret=jwks-s3cr3t' });
  gw = await startGateway(`
${gatewayPreamble(pki)}
authn:
  providers:
    - { name: idp, issuer: https://idp.test, audiences: [a], jwksUri: "${jwks.url}" }
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - name: all
        match: { prefix: /, headers: [{ name: x-api-key, exact: matcher-k3y }] }
        route:
          cluster: backend
          requestHeaders: { set: { cookie: "session=mutation-c00kie", x-upstream-key: mutation-k3y }, add: { x-trace: mutation-v4lue } }
          responseHeaders: { set: { x-echo: response-v4lue } }
clusters:
  - { name: backend, discovery: { type: static, endpoints: ["127.0.0.1:9"] } }
`);
  await eventually(() => jwks.hits > 0, 'the JWKS (with its secret query) was fetched');
});
after(async () => {
  await gw.close();
  await jwks.stop();
});

test('/config redacts URL queries and every header-mutation value', async () => {
  const res = await fetch(`http://127.0.0.1:${gw.adminPort}/config`);
  assert.equal(res.status, 200);
  const text = await res.text();
  for (const secret of ['jwks-s3cr3t', 'mutation-c00kie', 'mutation-k3y', 'mutation-v4lue', 'response-v4lue', 'matcher-k3y']) {
    assert.ok(!text.includes(secret), `${secret} leaked`);
  }
  const cfg = JSON.parse(text).config;
  assert.match(cfg.authn.providers[0].jwksUri, /client_secret=REDACTED/);
  assert.deepEqual(cfg.virtualHosts[0].routes[0].route.requestHeaders.set, { cookie: 'REDACTED', 'x-upstream-key': 'REDACTED' });
});
