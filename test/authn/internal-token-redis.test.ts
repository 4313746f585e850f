import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { h1 } from '../helpers/clients.ts';
import { freePort } from '../helpers/net.ts';
import { untilReady } from '../helpers/process.ts';
import { makeKey, sign, type TestKey } from '../helpers/authn-jwks.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { testTempDir } from '../helpers/tmp.ts';

// Two gateway processes (`node bin/gatehouse.js --config FILE`) sharing a real redis-server hand
// out the same minted internal token for one edge identity; with Redis gone they mint locally.

let pki: TestPki;
let up: TestUpstream;
let redis: TestRedis;
let edgeKey: TestKey;
const gateways: Array<{ proc: ChildProcess; https: number; admin: number; exited: Promise<void> }> = [];

async function spawnGateway(): Promise<(typeof gateways)[number]> {
  const [https, admin] = await Promise.all([freePort(), freePort()]);
  const dir = testTempDir('gatehouse-itok-redis-');
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(
    configFile,
    `
admin: { address: "127.0.0.1:${admin}" }
accessLog: { path: ${join(dir, 'access.log')} }
drain: { delay: 0s, timeout: 2s }
listeners:
  - name: public
    address: "127.0.0.1:${https}"
    tls:
      certificates:
        - { certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')}, serverNames: ["localhost"] }
authn:
  providers:
    - name: idp
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwks: { keys: [${JSON.stringify(edgeKey.jwk)}] }
  internalToken:
    issuer: https://gatehouse.internal
    audience: mesh
    signingKeyFile: ${pki.file('internal-token.key')}
    ttl: 15m
    cache: redis
rateLimit:
  redis: { url: "${redis.url}", keyPrefix: "gh-test:" }
virtualHosts:
  - name: main
    domains: ["*"]
    authn: { providers: [idp] }
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`,
  );
  const proc = spawn(process.execPath, ['bin/gatehouse.js', '--config', configFile], {
    stdio: 'ignore',
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn' },
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const g = { proc, https, admin, exited };
  gateways.push(g);
  await untilReady(admin); // ready once Redis is connected
  return g;
}

before(async () => {
  pki = await testPki();
  edgeKey = await makeKey('edge-redis', 'ec');
  up = await startUpstream();
  redis = await startRedis();
  await Promise.all([spawnGateway(), spawnGateway()]);
});
after(async () => {
  for (const g of gateways) if (g.proc.exitCode === null) g.proc.kill('SIGTERM');
  await Promise.all(gateways.map((g) => g.exited));
  await redis.stop();
  await up.close();
});

async function meshToken(port: number, claims: Record<string, unknown>): Promise<string> {
  const r = await h1(pki, port, '/t', { headers: { authorization: `Bearer ${await sign(edgeKey, claims)}` } });
  assert.equal(r.status, 200, r.body);
  const v = (JSON.parse(r.body) as { headers: Record<string, string | undefined> }).headers['x-mesh-authorization'];
  assert.match(v ?? '', /^Bearer ey/);
  return v!;
}

test('two gateway processes sharing Redis return the same minted token', async () => {
  const [a, b] = gateways;
  const t1 = await meshToken(a.https, { sub: 'alice' });
  const t2 = await meshToken(b.https, { sub: 'alice' });
  assert.equal(t2, t1);
  // Both at once for a new identity: the first one stored wins and both hand it out.
  const [c1, c2] = await Promise.all([meshToken(a.https, { sub: 'carol' }), meshToken(b.https, { sub: 'carol' })]);
  assert.equal(c1, c2);
  assert.notEqual(c1, t1);
});

test('with Redis down the gateway mints locally: never a 5xx', async () => {
  await redis.stop();
  const [a] = gateways;
  const t = await meshToken(a.https, { sub: 'dave' });
  assert.ok(t.length > 20);
  assert.equal((await fetch(`http://127.0.0.1:${a.admin}/healthz`)).status, 200);
});
