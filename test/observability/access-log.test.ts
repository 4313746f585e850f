import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, gatewayPreamble } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually, freePort } from '../helpers/net.ts';
import { spawnGateway, writeConfig, type GatewayProcess } from '../helpers/process.ts';
import { badTokenMatrix, makeKey, sign, startJwksServer, type JwksServer, type TestKey } from '../helpers/authn-jwks.ts';
import { testTempDir } from '../helpers/tmp.ts';

// The access log (issue 13 part 3, issue 9 item 13): trace id, bytes in/out, TLS version, endpoint
// and Envoy-style response flags on each line; no token, cookie or key ever reaches the access log
// or the process log (the whole bad-token matrix, from every token source); one ISO time format for
// both; sampling of 2xx lines; `path: off` turns the log off instead of writing a file named "off".

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let pki: TestPki;
let up: TestUpstream;
let flaky: TestUpstream;
let slow: TestUpstream;
let jwks: JwksServer;
let key: TestKey;
let stranger: TestKey;
let gw: GatewayProcess;
let port: number;

before(async () => {
  pki = await testPki();
  [key, stranger] = await Promise.all([makeKey('al-1', 'rsa'), makeKey('al-stranger', 'rsa')]);
  jwks = await startJwksServer([key]);
  up = await startUpstream();
  flaky = await startUpstream({ handler: (_req, res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('busy') });
  slow = await startUpstream({ handler: () => undefined }); // never answers
  const dead = await freePort();
  const cfg = await writeConfig(`
accessLog: { path: stdout }
${gatewayPreamble(pki)}
    limits: { maxHeaderBytes: 131072 }
authn:
  providers:
    - name: idp
      issuer: https://idp.test
      audiences: [gatehouse-test]
      jwksUri: ${jwks.url}
      algorithms: [RS256]
      tokenFrom:
        - { header: Cf-Access-Jwt-Assertion }
        - { cookie: CF_Authorization }
        - { header: Authorization, prefix: "Bearer " }
      forwardToken: false
rateLimit:
  policies: [{ name: one, key: clientIp, limit: 1, window: 1m }]
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: secure, match: { prefix: /secure }, authn: { providers: [idp] }, route: { cluster: backend } }
      - { name: anon, match: { prefix: /anon }, authn: { providers: [idp], allowAnonymous: true }, route: { cluster: backend } }
      - { name: limited, match: { path: /limited }, rateLimits: [one], route: { cluster: backend } }
      - { name: dead, match: { prefix: /dead }, route: { cluster: dead } }
      - { name: slow, match: { prefix: /slow }, route: { cluster: slow, timeout: 300ms } }
      - { name: flaky, match: { prefix: /flaky }, route: { cluster: flaky, retries: { attempts: 1, retryOn: ["503"] } } }
      - { name: fault, match: { prefix: /fault }, route: { cluster: backend, fault: { abort: { status: 503 } } } }
      - { name: delayed, match: { prefix: /delayed }, route: { cluster: backend, fault: { delay: { fixed: 1ms } } } }
      - { name: ok, match: { prefix: /ok }, route: { cluster: backend } }
clusters:
  - { name: backend, discovery: { type: static, endpoints: ["${up.address}"] } }
  - { name: dead, discovery: { type: static, endpoints: ["127.0.0.1:${dead}"] }, connectTimeout: 1s }
  - { name: slow, discovery: { type: static, endpoints: ["${slow.address}"] } }
  - { name: flaky, discovery: { type: static, endpoints: ["${flaky.address}"] } }
`);
  port = cfg.httpsPort;
  // debug: the process log at its most talkative, so the secrets check covers every line it can write
  gw = await spawnGateway(cfg.file, [], { GATEHOUSE_LOG_LEVEL: 'debug' });
});
after(async () => {
  await gw.kill('SIGTERM');
  await Promise.all([up.close(), flaky.close(), slow.close(), jwks.stop()]);
});

/** Access-log lines (stdout) as objects. */
function accessLines(): Array<Record<string, any>> {
  return gw.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

async function lineFor(requestId: string): Promise<Record<string, any>> {
  await eventually(() => accessLines().some((l) => l.requestId === requestId), `access-log line of ${requestId}`);
  return accessLines().find((l) => l.requestId === requestId)!;
}

test('each line has trace id, bytes in and out, TLS version, endpoint, flags; the time is ISO like the process log', async () => {
  const r = await h1(pki, port, '/ok/upload?token=query-secret', { method: 'POST', body: 'hello', headers: { 'x-request-id': 'al-fields' } });
  assert.equal(r.status, 200);
  const line = await lineFor('al-fields');
  assert.match(line.traceId, /^[0-9a-f]{32}$/);
  assert.equal(line.bytesIn, 5);
  assert.equal(line.bytesOut, Buffer.byteLength(r.body));
  assert.equal(line.tls, 'TLSv1.3');
  assert.equal(line.endpoint, up.address);
  assert.equal(line.flags, '-');
  assert.equal(line.path, '/ok/upload', 'the query string is never logged');
  assert.match(line.time, ISO);
  const processLines = gw.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  assert.ok(processLines.length > 0);
  for (const l of processLines) assert.match(l.time, ISO, 'the process log uses the same time format');

  const h2r = await h2(pki, port, '/ok/h2', { headers: { 'x-request-id': 'al-h2' } });
  assert.equal(h2r.status, 200);
  const l2 = await lineFor('al-h2');
  assert.equal(l2.protocol, '2.0');
  assert.equal(l2.tls, 'TLSv1.3');
  assert.equal(l2.bytesOut, Buffer.byteLength(h2r.body));
});

test('Envoy-style response flags say why a request ended as it did', async () => {
  const cases: Array<[string, string, number, string]> = [
    ['/nowhere', 'al-nr', 404, 'NR'],
    ['/dead', 'al-uf', 502, 'UF'],
    ['/slow', 'al-ut', 504, 'UT'],
    ['/flaky', 'al-urx', 503, 'URX'],
    ['/fault', 'al-fi', 503, 'FI'],
    ['/delayed', 'al-di', 200, 'DI'],
  ];
  for (const [path, id, status, flag] of cases) {
    const r = await h1(pki, port, path, { headers: { 'x-request-id': id } });
    assert.equal(r.status, status, `${path}: ${r.body}`);
    const line = await lineFor(id);
    assert.equal(line.flags, flag, path);
    assert.equal(line.status, status);
  }
  assert.equal((await lineFor('al-urx')).retries, 1, 'the retry is on the line too');
  assert.equal((await h1(pki, port, '/limited', { headers: { 'x-request-id': 'al-rl-1' } })).status, 200);
  assert.equal((await h1(pki, port, '/limited', { headers: { 'x-request-id': 'al-rl-2' } })).status, 429);
  assert.equal((await lineFor('al-rl-2')).flags, 'RL');

  // DC: the client leaves before the (never coming) answer.
  await new Promise<void>((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/slow', ca: pki.read('ca.crt'), servername: 'localhost', headers: { host: 'localhost', 'x-request-id': 'al-dc' } });
    req.on('error', () => resolve());
    req.end();
    setTimeout(() => req.destroy(), 100);
  });
  const dc = await lineFor('al-dc');
  assert.equal(dc.status, 0);
  assert.equal(dc.flags, 'DC');
});

test('no token, cookie or key from the whole bad-token matrix reaches the access log or the process log', async () => {
  const claims = { sub: 'alice', email: 'alice@example.com' };
  const tokens = [...(await badTokenMatrix(key, stranger, claims)), ['valid', await sign(key, claims)] as [string, string]];
  const secrets: string[] = ['cookie-secret-value', 'api-key-secret-value', 'query-secret'];
  let n = 0;
  for (const [what, token] of tokens) {
    secrets.push(token);
    const parts = token.split('.');
    if (parts[2] && parts[2].length >= 16) secrets.push(parts[2]); // a signature alone is a secret too
    const sources: Array<Record<string, string>> = [
      { authorization: `Bearer ${token}` },
      { 'cf-access-jwt-assertion': token },
      { cookie: `theme=dark; CF_Authorization=${token}; session=cookie-secret-value` },
    ];
    for (const route of ['/secure', '/anon']) {
      for (const headers of sources) {
        const id = `al-tok-${n++}`;
        const r = await h1(pki, port, `${route}?access_token=query-secret`, { headers: { ...headers, 'x-api-key': 'api-key-secret-value', 'x-request-id': id } });
        assert.ok([200, 401, 431].includes(r.status), `${what} on ${route}: ${r.status}`);
      }
    }
  }
  await lineFor(`al-tok-${n - 1}`);
  const everything = gw.stdout() + gw.stderr();
  for (const s of secrets) assert.ok(!everything.includes(s), `a secret leaked into a log: ${s.slice(0, 40)}…`);
  assert.ok(!/authorization|cookie/i.test(gw.stdout()), 'no header names either');
});

test('accessLog.sample2xx keeps that share of 2xx lines and every other status', async () => {
  const up2 = await startUpstream();
  const file = join(testTempDir('gatehouse-sample-'), 'access.log');
  const gw2 = await startGateway(
    `accessLog: { path: ${file}, sample2xx: 0 }\n` +
      basicConfig(pki, { endpoint: up2.address, routes: '      - { name: err, match: { path: /err }, directResponse: { status: 500, body: "x" } }' }),
  );
  try {
    for (let i = 0; i < 5; i++) assert.equal((await h1(pki, gw2.httpsPort, '/fine', { headers: { 'x-request-id': `s-ok-${i}` } })).status, 200);
    assert.equal((await h1(pki, gw2.httpsPort, '/ping', { headers: { 'x-request-id': 's-direct' } })).status, 200);
    assert.equal((await h1(pki, gw2.httpsPort, '/err', { headers: { 'x-request-id': 's-500' } })).status, 500);
    await eventually(() => existsSync(file) && readFileSync(file, 'utf8').includes('s-500'), 'the 500 is logged');
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('s-ok-') && !text.includes('s-direct'), 'no 2xx line with sample2xx: 0');
  } finally {
    await gw2.close();
    await up2.close();
  }
});

test('accessLog: { path: off } writes no access log at all (no file named "off")', async () => {
  const dir = testTempDir('gatehouse-off-');
  const cwd = process.cwd();
  const up4 = await startUpstream();
  process.chdir(dir); // a relative "off" would be created here
  try {
    const g = await startGateway(`accessLog: { path: off }\n${basicConfig(pki, { endpoint: up4.address })}`);
    try {
      assert.equal(g.gw.current?.config.accessLog.path, 'off');
      assert.equal((await h1(pki, g.httpsPort, '/x')).status, 200);
    } finally {
      await g.close();
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing was written in the working directory');
  } finally {
    process.chdir(cwd);
    await up4.close();
  }
});

test('SIGHUP reopens the access-log file: rotated away by a rename, every line lands in the old file or the new one', async () => {
  const up5 = await startUpstream();
  const dir = testTempDir('gatehouse-rotate-');
  const file = join(dir, 'access.log');
  const cfg = await writeConfig(`accessLog: { path: ${file} }\n${basicConfig(pki, { endpoint: up5.address })}`);
  const g = await spawnGateway(cfg.file);
  const ids = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}-${i}`);
  const idsIn = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).requestId as string) : []);
  try {
    for (const id of ids('before')) assert.equal((await h1(pki, cfg.httpsPort, '/a', { headers: { 'x-request-id': id } })).status, 200);
    await eventually(() => idsIn(file).length === 20, 'the first lines are on disk');
    renameSync(file, `${file}.1`); // what logrotate does before it signals
    g.child.kill('SIGHUP');
    await eventually(() => g.stderr().includes('access log reopened'), 'the gateway reopened its access log');
    for (const id of ids('after')) assert.equal((await h1(pki, cfg.httpsPort, '/b', { headers: { 'x-request-id': id } })).status, 200);
    await eventually(() => idsIn(file).length === 20, 'the new file at the configured path gets the new lines');
    assert.deepEqual(idsIn(`${file}.1`), ids('before'), 'the rotated file keeps the lines written before the signal, and no others');
    assert.deepEqual(idsIn(file), ids('after'), 'nothing lost, nothing written twice');
  } finally {
    await g.kill('SIGTERM');
    await up5.close();
  }
});
