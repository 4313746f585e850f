import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { basicConfig } from '../helpers/gateway.ts';
import { spawnGateway, writeConfig, runCli } from '../helpers/process.ts';
import { h1 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';

// Process lifecycle and the command line: validate, version, redirect listener, admin endpoints,
// and SIGTERM drain (readiness 503 at once, in-flight requests finish, exit 0).

let pki: TestPki;
let up: TestUpstream;
let release: (() => void) | null = null;

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      if (req.url === '/hold') {
        release = () => res.end('held');
        return;
      }
      res.end('ok');
    },
  });
});
after(async () => {
  await up.close();
});

test('gatehouse version and validate', async () => {
  const v = await runCli(['version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^gatehouse \d+\.\d+\.\d+/);

  const good = await writeConfig(basicConfig(pki, { endpoint: up.address }));
  const ok = await runCli(['validate', '--config', good.file]);
  assert.equal(ok.stdout.trim(), 'ok');
  assert.equal(ok.code, 0);

  const bad = await writeConfig(
    basicConfig(pki, { endpoint: up.address, tlsCluster: true })
      .replace(pki.file('ca.crt'), '/nonexistent/ca.crt')
      .replace('minVersion: TLSv1.2', 'minVersion: TLSv1.0'),
  );
  const r = await runCli(['validate', '--config', bad.file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^clusters\[0\]\.tls\.caFile: file not found$/m);
  assert.match(r.stdout, /^listeners\[0\]\.tls\.minVersion: /m);

  const usage = await runCli(['validate']);
  assert.equal(usage.code, 2);
});

/** Exact bytes to a plain-HTTP port; everything sent back until the gateway closes the connection. */
function plainExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes, 'latin1'));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.setTimeout(10_000, () => s.destroy(new Error('no answer, connection still open')));
  });
}

test('the plain listener redirects to https with 308, keeping path and query', async () => {
  const cfg = await writeConfig(
    basicConfig(pki, {
      endpoint: up.address,
      extraListener: `  - { name: plain, address: "127.0.0.1:{{http}}", redirectToHttps: true }`,
    }),
  );
  const gw = await spawnGateway(cfg.file);
  try {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: cfg.httpPort, path: '/a/b?c=d', headers: { host: 'Example.com:8080' } }, resolve).on('error', reject),
    );
    res.resume();
    assert.equal(res.statusCode, 308);
    assert.equal(res.headers.location, `https://example.com:${cfg.httpsPort}/a/b?c=d`);
    // the same target rules as the TLS listener (src/listener/request-target.ts)
    const absolute = await plainExchange(cfg.httpPort, 'GET http://Target.test/p?q HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n');
    assert.match(absolute, /^HTTP\/1\.1 308 /);
    assert.match(absolute, new RegExp(`\r\nlocation: https://target\\.test:${cfg.httpsPort}/p\\?q\r\n`, 'i'));
    for (const host of ['user@example.com', 'example.com/evil', 'a b']) {
      const bad = await plainExchange(cfg.httpPort, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(bad, /^HTTP\/1\.1 400 /, host);
      assert.doesNotMatch(bad, /location:/i, host);
    }
    const connect = await plainExchange(cfg.httpPort, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    assert.match(connect, /^HTTP\/1\.1 501 /);
    const garbage = await plainExchange(cfg.httpPort, 'GET / HTTP/1.1\r\nHost: example.com\r\nbad header line\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.equal(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).error, 'bad_request');
  } finally {
    await gw.kill();
  }
});

test('admin: healthz, readyz, clusters, config with secrets redacted', async () => {
  const cfg = await writeConfig(
    basicConfig(pki, { endpoint: up.address }).replace('admin: { address: "127.0.0.1:{{admin}}" }', 'admin: { address: "127.0.0.1:{{admin}}", token: "s3cret-admin-token" }'),
  );
  const gw = await spawnGateway(cfg.file);
  try {
    const base = `http://127.0.0.1:${cfg.adminPort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const clusters = await (await fetch(`${base}/clusters`)).json();
    assert.deepEqual(clusters.clusters[0].endpoints.map((e: { address: string; healthy: boolean; ejected: boolean }) => [e.address, e.healthy, e.ejected]), [[up.address, true, false]]);
    const config = await (await fetch(`${base}/config`)).text();
    assert.ok(!config.includes('s3cret-admin-token'), 'the admin token never appears in /config');
    assert.match(config, /"virtualHosts"/);
    const page = await (await fetch(`${base}/`)).text();
    assert.match(page, /<h1>gatehouse<\/h1>/);
  } finally {
    await gw.kill();
  }
});

test('SIGTERM: readiness 503 at once, in-flight request finishes, exit code 0', async () => {
  const cfg = await writeConfig(basicConfig(pki, { endpoint: up.address }).replace('drain: { delay: 0s, timeout: 2s }', 'drain: { delay: 1s, timeout: 10s }'));
  const gw = await spawnGateway(cfg.file);
  const inflight = new Promise<{ status: number; body: string }>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: cfg.httpsPort, path: '/hold', ca: pki.read('ca.crt'), servername: 'localhost', agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
  await eventually(() => release !== null, 'the request is held at the upstream');
  gw.child.kill('SIGTERM');
  await eventually(async () => (await fetch(`http://127.0.0.1:${cfg.adminPort}/readyz`).catch(() => null))?.status === 503, 'readiness turns 503');
  // during drain.delay the listener still serves new requests
  assert.equal((await h1(pki, cfg.httpsPort, '/ping')).status, 200);
  release!();
  const r = await inflight;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'held');
  assert.equal(await gw.exited, 0);
});
