import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import { ROOT } from '../helpers/process.ts';
import { eventually, freePort } from '../helpers/net.ts';
import type { Explanation } from '../../src/admin/explain.ts';
import { testTempDir } from '../helpers/tmp.ts';

// `npm start` end to end: the real config/gateway.yaml (ports and cert folder moved so the test
// runs anywhere), development certificates and the demo identity provider created on first start,
// the demo echo service (v1 and v2) reached over mutual TLS behind the 90/10 split with its header
// override, the JWT route with the token the demo prints, the rate-limited route, the dashboard's
// data rising with that traffic; Ctrl-C stops everything.

interface Answer {
  status: number;
  body: string;
}

test('npm start shows the product: canary split, JWT route, rate limit, mTLS identity, dashboard; stops on Ctrl-C', async () => {
  const [https1, http1, admin, echo1, echo2] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const dir = testTempDir('gatehouse-demo-');
  const certs = join(dir, 'certs');
  const yaml = readFileSync(join(ROOT, 'config', 'gateway.yaml'), 'utf8')
    .replace('0.0.0.0:8443', `127.0.0.1:${https1}`)
    .replace('0.0.0.0:8080', `127.0.0.1:${http1}`)
    .replace('127.0.0.1:9901', `127.0.0.1:${admin}`)
    .replace('127.0.0.1:9443', `127.0.0.1:${echo1}`)
    .replace('127.0.0.1:9444', `127.0.0.1:${echo2}`)
    .replaceAll('certs/', `${certs}/`);
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, yaml);

  const child = spawn(process.execPath, ['bin/gatehouse.js', 'demo'], {
    cwd: ROOT,
    env: { ...process.env, GATEHOUSE_CONFIG: config, GATEHOUSE_CERTS: certs, GATEHOUSE_DEMO_PORT: String(echo1), GATEHOUSE_DEMO_PORT_V2: String(echo2) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('429 after 5')) resolve(); // the last line of what to try
    });
    void exited.then((c) => reject(new Error(`demo exited ${c}: ${err}`)));
  });
  child.stdout.resume();

  try {
    assert.ok(existsSync(join(certs, 'ca.crt')), 'development certificates were created');
    assert.equal(statSync(join(certs, 'edge.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(certs, 'demo-idp.key')).mode & 0o777, 0o600, 'the demo IdP key is private');
    assert.match(err, /gatehouse is up/);

    const ca = readFileSync(join(certs, 'ca.crt'));
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<Answer>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: https1, path, ca, servername: 'localhost', headers: { host: 'localhost', ...headers } }, (res) => {
            let b = '';
            res.on('data', (d) => (b += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
          })
          .on('error', reject);
      });

    // The echo service, over mutual TLS, behind the split.
    const hello = await get('/hello');
    assert.equal(hello.status, 200, hello.body);
    const echoed = JSON.parse(hello.body);
    assert.equal(echoed.service, 'echo');
    assert.ok(['v1', 'v2'].includes(echoed.version));
    assert.equal(echoed.url, '/hello');
    assert.equal(echoed.caller, 'spiffe://mesh.local/ns/edge/sa/gatehouse', "the echo shows the gateway's mesh identity");
    assert.match(echoed.peerIdentity, /URI:spiffe:\/\/mesh\.local\/ns\/edge\/sa\/gatehouse/);
    assert.equal(JSON.parse((await get('/hello', { 'x-version': 'v2' })).body).version, 'v2', 'the header override picks v2');
    const explained = (await (await fetch(`http://127.0.0.1:${admin}/explain?url=${encodeURIComponent(`https://localhost:${https1}/hello`)}`)).json()) as Explanation;
    assert.equal(explained.answer, 'forward to echo-v1 (90%) or echo-v2 (10%)', 'the 90/10 split');

    // The JWT route: 401 without a token, 200 with the one the demo printed (and no edge token upstream).
    assert.equal((await get('/account')).status, 401);
    const token = /Authorization: Bearer ([A-Za-z0-9_.-]+)/.exec(err)?.[1];
    assert.ok(token, 'the demo printed a ready curl line with a token');
    const account = await get('/account', { authorization: `Bearer ${token}` });
    assert.equal(account.status, 200, account.body);
    const seen = JSON.parse(account.body).headers as Record<string, string>;
    assert.equal(seen['x-auth-sub'], 'demo-user');
    assert.equal(seen.authorization, undefined, 'the edge token is not forwarded');
    assert.match(seen['x-mesh-authorization'], /^Bearer ey/, 'the mesh gets an internal token');

    // The rate-limited route: 5 per 10 s, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get('/limited')).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);

    // The dashboard and the numbers it draws.
    const page = await fetch(`http://127.0.0.1:${admin}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>gatehouse<\/title>/);
    await eventually(async () => {
      const stats = (await (await fetch(`http://127.0.0.1:${admin}/stats`)).json()) as {
        routes: Array<{ name: string; requests: number }>;
        rateLimits: Array<{ policy: string; limited: number }>;
      };
      return (stats.routes.find((r) => r.name === 'limited')?.requests ?? 0) >= 6 && stats.rateLimits[0]?.limited === 1;
    }, 'the dashboard data counts the traffic');
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0);
});
