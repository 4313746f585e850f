import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { redisClientCount, startRedis } from '../helpers/redis.ts';
import { makeKey, startJwksServer } from '../helpers/authn-jwks.ts';
import { RemoteKeySet } from '../../src/filters/authn/key-set.ts';

// Listeners follow the config on reload: one added is opened, one removed is closed, and a port
// that cannot be bound rejects the reload while the last good config keeps serving.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;

const plain = (port: string) => `  - { name: plain, address: "127.0.0.1:${port}", redirectToHttps: true }`;
const status = (port: number) =>
  new Promise<number>((resolve) =>
    http.get({ host: '127.0.0.1', port, path: '/x', headers: { host: 'localhost' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', () => resolve(0)),
  );

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  gw = await startGateway(basicConfig(pki, { endpoint: up.address }));
});
after(async () => {
  await gw.close();
  await up.close();
});

test('a listener added by a reload is opened, and closed when removed again', async () => {
  assert.equal(await status(gw.httpPort), 0, 'nothing listens on the plain port yet');
  gw.rewrite(basicConfig(pki, { endpoint: up.address, extraListener: plain('{{http}}') }));
  assert.deepEqual(await gw.gw.reload('test'), { ok: true, version: 2 });
  assert.equal(await status(gw.httpPort), 308);

  gw.rewrite(basicConfig(pki, { endpoint: up.address }));
  assert.equal((await gw.gw.reload('test')).ok, true);
  assert.equal(await status(gw.httpPort), 0, 'the removed listener stopped accepting');
  assert.equal((await h1(pki, gw.httpsPort, '/ping')).status, 200);
});

test('a reload whose new listener cannot bind its port is rejected; the last good config serves', async () => {
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const taken = (squatter.address() as net.AddressInfo).port;
  try {
    gw.rewrite(basicConfig(pki, { endpoint: up.address, extraListener: plain(String(taken)) }).replace('body: "pong"', 'body: "new"'));
    const r = await gw.gw.reload('test');
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors, [`listeners[1].address: cannot listen on 127.0.0.1:${taken}: EADDRINUSE`]);
    const ping = await h1(pki, gw.httpsPort, '/ping');
    assert.equal(ping.body, 'pong', 'still the last good config');
  } finally {
    squatter.close();
  }
});

test('a reload that cannot bind closes what it built: JWKS key sets and Redis connections (issue 9, last notes)', async () => {
  const redis = await startRedis();
  const jwks = await startJwksServer([await makeKey('k', 'ec')]);
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const taken = (squatter.address() as net.AddressInfo).port;
  try {
    const baseline = { keySets: RemoteKeySet.open, redis: await redisClientCount(redis.port) };
    // New: a remote JWKS, the internal token cache and the rate-limit store in Redis, and a listener
    // on a port someone else holds.
    gw.rewrite(`${basicConfig(pki, { endpoint: up.address, extraListener: plain(String(taken)) })}
authn:
  providers:
    - { name: idp, issuer: https://idp.test, audiences: [a], jwksUri: "${jwks.url}" }
  internalToken: { issuer: https://gatehouse.internal, audience: mesh, signingKeyFile: ${pki.file('internal-token.key')}, cache: redis }
rateLimit:
  store: redis
  redis: { url: "${redis.url}" }
  policies: [{ name: per-ip, key: clientIp, limit: 100, window: 1s }]
`);
    const r = await gw.gw.reload('test');
    assert.equal(r.ok, false);
    assert.ok(jwks.hits >= 1, 'the failed compile had started its JWKS fetch');
    await eventually(() => RemoteKeySet.open === baseline.keySets, 'the new JWKS key set is closed');
    let clients = -1;
    await eventually(async () => (clients = await redisClientCount(redis.port)) === baseline.redis, 'its Redis connections are closed');
    assert.equal(clients, baseline.redis);
    assert.equal((await h1(pki, gw.httpsPort, '/ping')).body, 'pong', 'the last good config serves');
  } finally {
    squatter.close();
    gw.rewrite(basicConfig(pki, { endpoint: up.address }));
    await gw.gw.reload('test');
    await jwks.stop();
    await redis.stop();
  }
});
