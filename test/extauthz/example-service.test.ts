import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { encodedKeyPair } from '../../src/certs/key-pair.ts';
import * as grpc from '@grpc/grpc-js';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { Redis } from 'ioredis';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway, gatewayPreamble } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { makeKey, sign, type TestKey } from '../helpers/authn-jwks.ts';
import { grpcService } from '../../src/grpc/protos.ts';
import { CACHE_TTL_MS, startAuthzService, TOKEN_TTL_S, type RunningService } from '../../examples/ext-authz/service.ts';

// The example authorization service (examples/ext-authz/) with a real redis-server: behind a real
// gatehouse (API key and edge token → an RS256 internal token at the upstream, the credential removed;
// no or a bad credential → 401 from the service), its Redis cache (14.5 minutes, shared), Redis down
// (still minted), and called directly as Envoy would, with the answer shape Envoy expects.

let pki: TestPki;
let redis: TestRedis;
let up: TestUpstream;
let svc: RunningService;
let gw: TestGateway;
let edgeKey: TestKey;
const signing = encodedKeyPair('rsa'); // PEM: see src/certs/key-pair.ts

before(async () => {
  pki = await testPki();
  [redis, up, edgeKey] = await Promise.all([startRedis(), startUpstream(), makeKey('edge-1', 'rsa')]);
  svc = await startAuthzService({
    address: '127.0.0.1:0',
    apiKeys: [{ key: 'partner-secret-1', sub: 'partner-1' }],
    edge: { issuer: 'https://idp.test', audience: 'gatehouse-test', jwks: { keys: [edgeKey.jwk] } },
    signingKeyPem: signing.privateKey,
    internalIssuer: 'https://ext-authz.internal',
    internalAudience: 'mesh',
    redisUrl: redis.url,
  });
  gw = await startGateway(`
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    extAuthz: { grpc: { address: "127.0.0.1:${svc.port}" }, timeout: 2s }
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`);
});

after(async () => {
  await gw.close();
  await svc.stop();
  await up.close();
  await redis.stop();
});

const jwks = async () => createLocalJWKSet(await svc.service.publicJwks());

async function internalToken(): Promise<string> {
  const header = up.seen[up.seen.length - 1].headers['x-internal-token'];
  assert.ok(typeof header === 'string' && header.startsWith('Bearer '), 'the upstream got the internal token');
  return header.slice(7);
}

test('an API key is exchanged for an RS256 internal token (15 minutes); the key does not reach the upstream', async () => {
  const r = await h1(pki, gw.httpsPort, '/orders', { headers: { 'x-api-key': 'partner-secret-1', 'x-internal-token': 'Bearer forged' } });
  assert.equal(r.status, 200);
  const token = await internalToken();
  const { payload, protectedHeader } = await jwtVerify(token, await jwks(), { issuer: 'https://ext-authz.internal', audience: 'mesh' });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.sub, 'partner-1');
  assert.equal(payload.auth_method, 'api_key');
  assert.equal(payload.exp! - payload.iat!, TOKEN_TTL_S);
  assert.equal(TOKEN_TTL_S, 900);
  assert.equal(up.seen[up.seen.length - 1].headers['x-api-key'], undefined);
});

test('the token is cached in Redis for 14.5 minutes and reused', async () => {
  const mintedBefore = svc.service.minted;
  await h1(pki, gw.httpsPort, '/a', { headers: { 'x-api-key': 'partner-secret-1' } });
  const first = await internalToken();
  await h1(pki, gw.httpsPort, '/b', { headers: { 'x-api-key': 'partner-secret-1' } });
  assert.equal(await internalToken(), first, 'same token for the same caller');
  assert.ok(svc.service.minted - mintedBefore <= 1, 'at most one signature for both requests');
  const client = new Redis(redis.url);
  try {
    const keys = await client.keys('ext-authz:internal-token:*');
    assert.ok(keys.length >= 1);
    const values = await Promise.all(keys.map((k) => client.get(k)));
    const at = values.indexOf(first);
    assert.ok(at >= 0, 'the token is the cached value');
    const ttl = await client.pttl(keys[at]);
    assert.equal(CACHE_TTL_MS, 870_000);
    assert.ok(ttl > 0 && ttl <= CACHE_TTL_MS, `PTTL ${ttl}`);
    assert.ok(ttl > CACHE_TTL_MS - 60_000, `PTTL ${ttl}: set with 14.5 minutes`);
  } finally {
    client.disconnect();
  }
});

test('an edge access token is verified and exchanged; the Authorization header is removed', async () => {
  const edge = await sign(edgeKey, { sub: 'alice' });
  const r = await h1(pki, gw.httpsPort, '/me', { headers: { authorization: `Bearer ${edge}` } });
  assert.equal(r.status, 200);
  const payload = decodeJwt(await internalToken());
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.auth_method, 'jwt');
  assert.equal(up.seen[up.seen.length - 1].headers.authorization, undefined);
});

test('no credential, a wrong key or a bad token: 401 from the service, nothing reaches the upstream', async () => {
  const seen = up.seen.length;
  const none = await h1(pki, gw.httpsPort, '/x');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="ext-authz-example"');
  assert.equal(JSON.parse(none.body).error, 'unauthenticated');
  const wrong = await h1(pki, gw.httpsPort, '/x', { headers: { 'x-api-key': 'guess' } });
  assert.equal(wrong.status, 401);
  assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/);
  const expired = await sign(edgeKey, { sub: 'alice' }, { expIn: -600 });
  assert.equal((await h1(pki, gw.httpsPort, '/x', { headers: { authorization: `Bearer ${expired}` } })).status, 401);
  assert.equal(up.seen.length, seen);
});

test('with Redis down the service still mints (no cache); nothing fails', async () => {
  await redis.stop();
  try {
    const r = await h1(pki, gw.httpsPort, '/during-outage', { headers: { 'x-api-key': 'partner-secret-1' } });
    assert.equal(r.status, 200);
    assert.equal(decodeJwt(await internalToken()).sub, 'partner-1');
  } finally {
    await redis.restart();
  }
});

test('called directly as Envoy calls it: OK with an overwrite header option and the consumed credential removed', async () => {
  const Client = grpcService('envoy.service.auth.v3.Authorization');
  const client = new Client(`127.0.0.1:${svc.port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Check(req: object, cb: (err: grpc.ServiceError | null, res: any) => void): void;
  };
  try {
    const res = await new Promise<any>((resolve, reject) =>
      client.Check({ attributes: { request: { http: { method: 'GET', path: '/', headers: { 'x-api-key': 'partner-secret-1' } } } } }, (err, r) =>
        err ? reject(err) : resolve(r),
      ),
    );
    assert.equal(res.status.code, 0);
    const [h] = res.ok_response.headers;
    assert.equal(h.header.key, 'x-internal-token');
    assert.equal(h.append.value, false, 'overwrite for Envoys that read `append`');
    assert.equal(h.append_action, 'OVERWRITE_IF_EXISTS_OR_ADD', '…and for those that read append_action');
    assert.deepEqual(res.ok_response.headers_to_remove, ['x-api-key']);
    const denied = await new Promise<any>((resolve, reject) =>
      client.Check({ attributes: { request: { http: { headers: {} } } } }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    assert.equal(denied.status.code, 16);
    assert.equal(denied.denied_response.status.code, 'Unauthorized');
  } finally {
    client.close();
  }
});
