import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';

// Issue 9 item 15: response trailers are relayed from HTTP/1.1 chunked and HTTP/2 upstreams to
// HTTP/1.1 (chunked) and HTTP/2 clients; fields that may not be trailers are dropped.

let pki: TestPki;
let h1Up: TestUpstream;
let h2Up: http2.Http2Server;
let gw: TestGateway;

const TRAILERS = { 'x-checksum': 'abc123', 'set-cookie': 'late=1' };

before(async () => {
  pki = await testPki();
  h1Up = await startUpstream({
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('part one, ');
      res.addTrailers(TRAILERS);
      res.end('part two');
    },
  });
  // Plain HTTP/2 (prior knowledge), as a sidecar on loopback would speak it.
  h2Up = http2.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('h2 body');
    res.addTrailers(TRAILERS);
    res.end();
  });
  await new Promise<void>((r) => h2Up.listen(0, '127.0.0.1', r));
  const h2Port = (h2Up.address() as AddressInfo).port;
  gw = await startGateway(`
${gatewayPreamble(pki)}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: from-h2, match: { prefix: /h2 }, route: { cluster: h2up } }
      - { name: from-h1, match: { prefix: / }, route: { cluster: h1up } }
clusters:
  - { name: h1up, discovery: { type: static, endpoints: ["${h1Up.address}"] } }
  - { name: h2up, discovery: { type: static, endpoints: ["127.0.0.1:${h2Port}"] }, http2: true }
`);
});
after(async () => {
  await gw.close();
  await h1Up.close();
  await new Promise<void>((r) => h2Up.close(() => r()));
});

function viaH1(path: string): Promise<{ body: string; trailers: NodeJS.Dict<string>; chunked: boolean }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: gw.httpsPort, path, ca: pki.read('ca.crt'), servername: 'localhost', agent: false, headers: { host: 'localhost', te: 'trailers' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ body, trailers: res.trailers, chunked: res.headers['transfer-encoding'] === 'chunked' }));
      })
      .on('error', reject);
  });
}

async function viaH2(path: string): Promise<{ body: string; trailers: http2.IncomingHttpHeaders }> {
  const session = http2.connect(`https://localhost:${gw.httpsPort}`, { ca: pki.read('ca.crt') });
  try {
    return await new Promise((resolve, reject) => {
      const s = session.request({ ':path': path, te: 'trailers' });
      let body = '';
      let trailers: http2.IncomingHttpHeaders = {};
      s.on('trailers', (t) => (trailers = t));
      s.on('data', (d) => (body += d));
      s.on('end', () => resolve({ body, trailers }));
      s.on('error', reject);
    });
  } finally {
    session.close();
  }
}

for (const [upstream, path, body] of [['HTTP/1.1 chunked', '/x', 'part one, part two'], ['HTTP/2', '/h2', 'h2 body']] as const) {
  test(`${upstream} upstream → HTTP/1.1 client: trailers arrive after the chunked body`, async () => {
    const r = await viaH1(path);
    assert.equal(r.body, body);
    assert.equal(r.chunked, true);
    assert.equal(r.trailers['x-checksum'], 'abc123');
    assert.equal(r.trailers['set-cookie'], undefined, 'a field that may not be a trailer is dropped');
  });

  test(`${upstream} upstream → HTTP/2 client: trailers arrive`, async () => {
    const r = await viaH2(path);
    assert.equal(r.body, body);
    assert.equal(r.trailers['x-checksum'], 'abc123');
    assert.equal(r.trailers['set-cookie'], undefined);
  });
}
