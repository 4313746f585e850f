import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { testTempDir } from '../helpers/tmp.ts';

// One JSON access-log line per request, with the SPEC's fields, written to a file; never a header
// value (tokens and cookies cannot leak into it).

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
let file: string;

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  file = join(testTempDir('gatehouse-log-'), 'access.log');
  gw = await startGateway(
    `accessLog: { path: ${file} }\n` +
      basicConfig(pki, {
        endpoint: up.address,
        routes: `      - { name: 'quote"and\\back', match: { path: /quoted }, directResponse: { status: 200, body: "q" } }`,
      }),
  );
});
after(async () => {
  await gw.close();
  await up.close();
});

test('each request is one JSON line with id, status, method, path, route, cluster, duration; no secrets', async () => {
  const secret = 'eyJhbGciOiJSUzI1NiJ9.secret-token-value.sig';
  const r = await h1(pki, gw.httpsPort, '/logged/path?q=1', {
    headers: { authorization: `Bearer ${secret}`, cookie: `session=${secret}`, 'x-request-id': 'log-test-1' },
  });
  assert.equal(r.status, 200);
  const miss = await h1(pki, gw.httpsPort, '/ping');
  assert.equal(miss.status, 200);
  assert.equal((await h1(pki, gw.httpsPort, '/quoted')).status, 200);
  // the destination writes asynchronously: wait for the last request's line
  await eventually(() => existsSync(file) && readFileSync(file, 'utf8').includes('"route":"quote'), 'all three lines written');
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('secret-token-value'), 'no token or cookie value in the access log');
  const lines = text.trim().split('\n').map((l) => JSON.parse(l)); // every line is valid JSON
  assert.ok(lines.some((l) => l.route === 'quote"and\\back'), 'names with quotes and backslashes are escaped');
  const line = lines.find((l) => l.requestId === 'log-test-1');
  assert.ok(line, 'the request has its line');
  assert.equal(line.status, 200);
  assert.equal(line.method, 'GET');
  assert.equal(line.path, '/logged/path');
  assert.equal(line.route, 'all');
  assert.equal(line.cluster, 'backend');
  assert.equal(line.endpoint, up.address);
  assert.equal(typeof line.durationMs, 'number');
});
