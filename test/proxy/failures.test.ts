import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { testPki, otherPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { freePort } from '../helpers/net.ts';

// Upstream failures map to the SPEC's statuses with the JSON error body; bad client input gets a
// 4xx and never a 500 or a crash.

let pki: TestPki;
let slow: TestUpstream;
let resetter: TestUpstream;
let wrongCa: TestUpstream;
let gw: TestGateway;
let deadPort: number;

before(async () => {
  pki = await testPki();
  deadPort = await freePort(); // nothing listens here
  slow = await startUpstream({ handler: (_req, res) => setTimeout(() => res.end('late'), 3000) });
  resetter = await startUpstream({ handler: (req) => req.socket.destroy() });
  wrongCa = await startUpstream({ tls: { pki: await otherPki(), requireClientCert: false } });
  gw = await startGateway(
    basicConfig(pki, {
      endpoint: `127.0.0.1:${deadPort}`,
      routes: `
      - { name: slow, match: { prefix: /slow }, route: { cluster: slow, timeout: 300ms } }
      - { name: reset, match: { prefix: /reset }, route: { cluster: resetter } }
      - { name: wrongca, match: { prefix: /wrongca }, route: { cluster: wrongca } }`,
      clusters: `
  - name: slow
    discovery: { type: static, endpoints: ["${slow.address}"] }
  - name: resetter
    discovery: { type: static, endpoints: ["${resetter.address}"] }
  - name: wrongca
    discovery: { type: static, endpoints: ["${wrongCa.address}"] }
    tls: { caFile: ${pki.file('ca.crt')}, certFile: ${pki.file('gatehouse.crt')}, keyFile: ${pki.file('gatehouse.key')}, serverName: localhost }`,
    }),
  );
});
after(async () => {
  await gw.close();
  await Promise.all([slow.close(), resetter.close(), wrongCa.close()]);
});

function assertErrorBody(body: string, code: string, requestId: string | string[] | undefined): void {
  const j = JSON.parse(body);
  assert.equal(j.error, code);
  assert.equal(typeof j.message, 'string');
  assert.equal(j.requestId, requestId);
}

test('connection refused by the upstream → 502 upstream_connect_failure', async () => {
  for (const client of [h1, h2]) {
    const r = await client(pki, gw.httpsPort, '/anything');
    assert.equal(r.status, 502);
    assertErrorBody(r.body, 'upstream_connect_failure', r.headers['x-request-id']);
  }
});

test('upstream that resets the connection → 502 upstream_reset', async () => {
  const r = await h1(pki, gw.httpsPort, '/reset');
  assert.equal(r.status, 502);
  assertErrorBody(r.body, 'upstream_reset', r.headers['x-request-id']);
});

test('slow upstream past the route timeout → 504', async () => {
  const r = await h1(pki, gw.httpsPort, '/slow');
  assert.equal(r.status, 504);
  assertErrorBody(r.body, 'upstream_timeout', r.headers['x-request-id']);
});

test('upstream certificate from an untrusted CA → 502, verification is on', async () => {
  const before = wrongCa.seen.length;
  const r = await h1(pki, gw.httpsPort, '/wrongca');
  assert.equal(r.status, 502);
  assertErrorBody(r.body, 'upstream_connect_failure', r.headers['x-request-id']);
  assert.equal(wrongCa.seen.length, before, 'the request never reached the untrusted upstream');
});

test('a cluster with no endpoints left → 503 no_healthy_upstream', async () => {
  // all endpoints unavailable: mark the only endpoint unhealthy, as an active health check would
  const cluster = gw.gw.current!.clusters.get('slow')!;
  cluster.endpoints[0].healthy = false;
  cluster.refresh();
  try {
    const r = await h1(pki, gw.httpsPort, '/slow');
    assert.equal(r.status, 503);
    assertErrorBody(r.body, 'no_healthy_upstream', r.headers['x-request-id']);
  } finally {
    cluster.endpoints[0].healthy = true;
    cluster.refresh();
  }
});

/** Sends raw bytes over TLS and returns whatever the gateway answers before closing. */
function raw(payload: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => s.write(payload));
    let out = '';
    s.setTimeout(5000, () => s.destroy()); // a gateway that neither answers nor closes fails the assertion below
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

test('malformed HTTP/1.1 requests get 400, never 500, and the gateway keeps serving', async () => {
  const cases = [
    'GARBAGE\r\n\r\n',
    'GET / HTTP/1.1\r\nhost: localhost\r\ncontent-length: abc\r\n\r\n',
    'GET / HTTP/1.1\r\nhost: localhost\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n',
    'GET / HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n',
    'GET / HTTP/1.1\r\nbad header line\r\n\r\n',
    'GET /\x01 HTTP/1.1\r\nhost: x\r\n\r\n',
    'GET ftp://evil/ HTTP/1.1\r\nhost: localhost\r\n\r\n', // absolute-form is taken for http(s) only
    'GET https://user@evil/ HTTP/1.1\r\nhost: localhost\r\n\r\n',
    'GET / HTTP/1.1\r\nhost: user@localhost\r\n\r\n',
    'GET /%zz HTTP/1.1\r\nhost: localhost\r\n\r\n',
    'GET /a%00b HTTP/1.1\r\nhost: localhost\r\n\r\n',
    'GET / HTTP/1.1\r\n\r\n', // no Host
    '\x16\x03\x01garbage-inside-tls\r\n\r\n',
  ];
  for (const c of cases) {
    const answer = await raw(c);
    const status = Number(answer.slice(9, 12));
    assert.ok(status >= 400 && status < 500, `${JSON.stringify(c)} → ${answer.slice(0, 40)}`);
  }
  const ok = await h1(pki, gw.httpsPort, '/ping');
  assert.equal(ok.status, 200);
});

test('garbage after ALPN h2 (a bad preface, bogus frames) closes that connection; HTTP/2 keeps serving', async () => {
  for (const payload of [
    Buffer.from('GET / HTTP/1.1\r\n\r\n'), // not the HTTP/2 preface
    Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 4, 0xff, 0xff, 0, 0, 0, 1, 1, 2, 3, 4])]), // unknown frame on a bad stream
    Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.alloc(64, 0xff)]), // frame header garbage
  ]) {
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['h2'] }, () => s.write(payload));
      s.setTimeout(5000, () => s.destroy());
      s.on('data', () => undefined);
      s.on('close', () => resolve());
      s.on('error', (e) => (e.message.includes('ECONNRESET') ? resolve() : reject(e)));
    });
  }
  const ok = await h2(pki, gw.httpsPort, '/ping');
  assert.equal(ok.status, 200);
});

test('header block too large → 431 on HTTP/1.1 and HTTP/2; body too large → 413', async () => {
  const big = 'x'.repeat(20_000);
  const r1 = await h1(pki, gw.httpsPort, '/ping', { headers: { 'x-big': big } }).catch((e) => ({ status: 0, body: String(e) }));
  assert.equal(r1.status, 431);
  const r2 = await h2(pki, gw.httpsPort, '/ping', { headers: { 'x-big': big } }).catch((e) => ({ status: 0, body: String(e) }));
  assert.equal(r2.status, 431);
  const ok = await h1(pki, gw.httpsPort, '/ping');
  assert.equal(ok.status, 200);
});
