import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { makeKey, sign, startJwksServer, type JwksServer, type TestKey } from '../helpers/authn-jwks.ts';

// Remote JWKS lifecycle: readiness waits for the first fetch, a key rotation is picked up by one
// refetch on an unknown kid, and the refetch cooldown keeps a flood of unknown kids off the server.

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function config(pki: TestPki, jwksUrl: string, upstream: string): string {
  return `
${gatewayPreamble(pki)}
authn:
  providers:
    - name: idp
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwksUri: ${jwksUrl}
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [idp] }
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${upstream}"] }
`;
}

/** An upstream, a JWKS server serving `key` (`prepare` adjusts it before the gateway starts) and a gateway. */
async function rig(key: TestKey, prepare?: (jwks: JwksServer) => void): Promise<{ pki: TestPki; up: TestUpstream; jwks: JwksServer; gw: TestGateway }> {
  const pki = await testPki();
  const up = await startUpstream();
  cleanups.push(() => up.close());
  const jwks = await startJwksServer([key]);
  cleanups.push(() => jwks.stop());
  prepare?.(jwks);
  const gw = await startGateway(config(pki, jwks.url, up.address));
  cleanups.push(() => gw.close());
  return { pki, up, jwks, gw };
}

async function setup(): Promise<{ pki: TestPki; up: TestUpstream; jwks: JwksServer; gw: TestGateway; release: () => void }> {
  let release!: () => void;
  const r = await rig(await makeKey('k1', 'rsa'), (jwks) => (jwks.gate = new Promise<void>((done) => (release = done))));
  return { ...r, release };
}

test('readiness waits for the first JWKS fetch; rotation is picked up by one refetch; cooldown bounds refetches', async () => {
  const { pki, jwks, gw, release } = await setup();
  const readyz = async () => (await fetch(`http://127.0.0.1:${gw.adminPort}/readyz`)).status;

  // The JWKS server is holding its answer: the gateway serves but does not report ready.
  assert.equal(gw.gw.ready, false);
  assert.equal(await readyz(), 503);
  jwks.gate = null;
  release();
  await eventually(async () => (await readyz()) === 200, 'ready once the JWKS arrived');

  const k1 = jwks.keys[0];
  assert.equal((await h1(pki, gw.httpsPort, '/', { headers: { authorization: `Bearer ${await sign(k1, { sub: 'a' })}` } })).status, 200);

  // The issuer rotates: k2 is published; a token signed with it names a kid the gateway has not seen.
  const k2 = await makeKey('k2', 'ec');
  jwks.keys = [k1, k2];
  const hits = jwks.hits;
  const t2 = await sign(k2, { sub: 'b' });
  const results = await Promise.all([1, 2, 3].map(() => h1(pki, gw.httpsPort, '/', { headers: { authorization: `Bearer ${t2}` } })));
  for (const r of results) assert.equal(r.status, 200, r.body);
  assert.equal(jwks.hits - hits, 1, 'concurrent unknown kids share one refetch');

  // Within the cooldown another unknown kid is a plain 401: no request makes the gateway refetch.
  const k3 = await makeKey('k3', 'ec');
  jwks.keys = [k1, k2, k3];
  const r3 = await h1(pki, gw.httpsPort, '/', { headers: { authorization: `Bearer ${await sign(k3, { sub: 'c' })}` } });
  assert.equal(r3.status, 401);
  assert.equal(jwks.hits - hits, 1, 'no refetch during the cooldown');
});

test('a failing JWKS server: not ready, tokens are 401, background retries, then recovery', async () => {
  const k = await makeKey('k', 'ec');
  const { pki, jwks, gw } = await rig(k, (j) => (j.failWith = 500));
  assert.equal(gw.gw.ready, false);
  const r = await h1(pki, gw.httpsPort, '/', { headers: { authorization: `Bearer ${await sign(k, { sub: 'x' })}` } });
  assert.equal(r.status, 401, 'no keys yet: the token cannot be verified');
  await eventually(() => jwks.hits >= 2, 'the gateway retries in the background');
  // The server recovers: the background retry installs the keys and the same kind of token passes.
  jwks.failWith = null;
  await eventually(async () => {
    const again = await h1(pki, gw.httpsPort, '/', { headers: { authorization: `Bearer ${await sign(k, { sub: 'x' })}` } });
    return again.status === 200;
  }, 'tokens validate after the JWKS server recovered');
  await eventually(() => gw.gw.ready, 'ready after the JWKS arrived');
});

test('a readiness hold ends after its bound even if the work never finishes', async () => {
  const { gw } = await rig(await makeKey('k', 'ec'));
  await eventually(() => gw.gw.ready, 'ready');
  gw.gw.holdReadiness('never', new Promise(() => undefined), 300);
  assert.equal(gw.gw.ready, false);
  await eventually(() => gw.gw.ready, 'ready again once the bound passed');
});

test('a JWKS server that starts answering garbage: the last good keys keep serving', async () => {
  const k = await makeKey('good', 'ec');
  const { pki, jwks, gw } = await rig(k);
  await eventually(() => gw.gw.ready, 'ready');
  const hits = jwks.hits;
  jwks.rawBody = '{"keys": "not a list"';
  // An unknown kid makes the gateway refetch: it gets the broken answer and keeps its keys.
  const stranger = await makeKey('new-kid', 'ec');
  assert.equal((await h1(pki, gw.httpsPort, '/', { headers: { authorization: `Bearer ${await sign(stranger, { sub: 'x' })}` } })).status, 401);
  assert.equal(jwks.hits - hits, 1, 'the broken answer was fetched');
  assert.equal((await h1(pki, gw.httpsPort, '/', { headers: { authorization: `Bearer ${await sign(k, { sub: 'y' })}` } })).status, 200);
});
