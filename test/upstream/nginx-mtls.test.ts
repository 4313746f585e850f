import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { testPki, otherPki, issue, type TestPki } from '../helpers/pki.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startNginx, type TestNginx } from '../helpers/nginx.ts';
import { eventually } from '../helpers/net.ts';
import { get, meshConfig } from './setup.ts';
import { testTempDir } from '../helpers/tmp.ts';

// nginx as the mesh service: mutual TLS with `ssl_verify_client on` and the SPIFFE server
// certificate spiffe://mesh.local/ns/demo/sa/echo. The SAN check and the CA decide before any
// request is sent: a refused upstream never sees one (its access log stays empty).

let pki: TestPki;
let nginx: TestNginx;
let gw: TestGateway;
let clientDir: string;

/** nginx's access log without the health checks of the `prefix` cluster. */
const requests = () => nginx.accessLog().filter((l) => !l.includes('/healthz'));

function cluster(name: string, o: { san: string; caFile?: string; serverName?: string; http2?: boolean; extra?: string }): string {
  return `  - name: ${name}
    discovery: { type: static, endpoints: ["${nginx.address}"] }
    http2: ${o.http2 ?? false}
    connectTimeout: 2s
    tls:
      certFile: ${join(clientDir, 'client.crt')}
      keyFile: ${join(clientDir, 'client.key')}
      caFile: ${o.caFile ?? pki.file('ca.crt')}
      ${o.serverName ? `serverName: ${o.serverName}` : ''}
      matchSubjectAltNames: [${o.san}]${o.extra ?? ''}`;
}

function config(otherCa: string): string {
  return meshConfig(
    pki,
    [
      cluster('exact', { san: '"spiffe://mesh.local/ns/demo/sa/echo"' }),
      cluster('prefix', {
        san: '"prefix:spiffe://mesh.local/ns/demo/"',
        serverName: 'localhost',
        extra: '\n    healthCheck: { path: /healthz, interval: 200ms, timeout: 2s }',
      }),
      cluster('dnsname', { san: 'localhost' }),
      cluster('mismatch', { san: '"spiffe://mesh.local/ns/shop/sa/checkout", "prefix:spiffe://mesh.local/ns/shop/"' }),
      cluster('untrusted', { san: '"spiffe://mesh.local/ns/demo/sa/echo"', caFile: otherCa }),
      cluster('h2', { san: '"spiffe://mesh.local/ns/demo/sa/echo"', http2: true }),
    ].join('\n'),
    {
      routes: ['exact', 'prefix', 'dnsname', 'mismatch', 'untrusted', 'h2'].map((c) => ({ prefix: `/${c}`, cluster: c })),
    },
  );
}

before(async () => {
  pki = await testPki();
  const other = await otherPki();
  clientDir = testTempDir('gatehouse-client-');
  copyFileSync(pki.file('gatehouse.crt'), join(clientDir, 'client.crt'));
  copyFileSync(pki.file('gatehouse.key'), join(clientDir, 'client.key'));
  nginx = await startNginx({ pki });
  gw = await startGateway(config(other.file('ca.crt')));
});
after(async () => {
  await gw?.close();
  await nginx?.close();
});

function serialOf(file: string): string {
  return new X509Certificate(readFileSync(file)).serialNumber.toUpperCase();
}

test('mTLS to nginx succeeds with the right SPIFFE ID (exact and prefix) or DNS SAN, with our client certificate', async () => {
  for (const path of ['/exact/a', '/prefix/b', '/dnsname/c']) {
    const r = await get(pki, gw, path);
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    assert.equal(r.headers['x-upstream'], 'nginx');
    assert.match(r.body, /verify=SUCCESS/);
  }
  // nginx writes its log line after the response: wait for it.
  await eventually(() => ['/exact/a', '/prefix/b', '/dnsname/c'].every((p) => requests().some((l) => l.includes(`GET ${p} `))), 'access log lines');
  await eventually(() => nginx.accessLog().some((l) => l.includes('GET /healthz') && l.includes('verify=SUCCESS')), 'health checks over mTLS');
});

test('http2: true speaks HTTP/2 (ALPN h2) to the mTLS upstream, the SAN check still applies', async () => {
  const r = await get(pki, gw, '/h2/x');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-protocol'], 'HTTP/2.0');
  const h1 = await get(pki, gw, '/exact/x');
  assert.equal(h1.headers['x-protocol'], 'HTTP/1.1');
});

/** Sends a good request after the refused one and waits for its log line: anything the refused one had logged would be there by then. */
async function assertNeverReached(path: string): Promise<void> {
  const marker = `/exact/marker-after${path}`;
  assert.equal((await get(pki, gw, marker)).status, 200);
  await eventually(() => requests().some((l) => l.includes(`GET ${marker} `)), 'the marker request is logged');
  assert.ok(!requests().some((l) => l.includes(`GET ${path} `)), `${path} reached nginx`);
}

test('SAN mismatch → 502 and nothing reaches nginx', async () => {
  const r = await get(pki, gw, '/mismatch/x');
  assert.equal(r.status, 502);
  assert.equal(JSON.parse(r.body).error, 'upstream_connect_failure');
  await assertNeverReached('/mismatch/x');
});

test('an untrusted server CA → 502 and nothing reaches nginx', async () => {
  const r = await get(pki, gw, '/untrusted/x');
  assert.equal(r.status, 502);
  assert.equal(JSON.parse(r.body).error, 'upstream_connect_failure');
  await assertNeverReached('/untrusted/x');
});

test('client certificate rotation: new connections use the new certificate without a restart', async () => {
  const first = await get(pki, gw, '/exact/before');
  assert.equal(first.status, 200);
  const oldSerial = String(first.headers['x-client-serial']).toUpperCase();
  // Issue a new client certificate over the files the cluster uses (as a rotation job would).
  await issue(pki, 'client', { outDir: clientDir, usage: 'client', spiffe: 'spiffe://mesh.local/ns/edge/sa/gatehouse' });
  const newSerial = serialOf(join(clientDir, 'client.crt'));
  assert.notEqual(newSerial, oldSerial);
  await eventually(async () => {
    const r = await get(pki, gw, '/exact/after');
    return r.status === 200 && String(r.headers['x-client-serial']).toUpperCase() === newSerial;
  }, 'the new client certificate is used');
  await eventually(
    () => requests().some((l) => l.includes('GET /exact/after ') && l.toUpperCase().includes(`SERIAL=${newSerial}`)),
    'nginx logged the new client certificate',
  );
});
