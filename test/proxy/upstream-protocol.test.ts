import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http2 from 'node:http2';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';

// What an upstream that breaks HTTP/1.1 gets through to clients: a raw TCP upstream answers each
// path with exact bytes. A response whose framing or head is malformed is never relayed (502
// upstream_protocol_error, over HTTP/1.1 and HTTP/2); a body cut short is cut short for the client
// too (it must be able to tell); hop-by-hop fields named by Connection are removed.

const RESPONSES: Record<string, string> = {
  '/cl-and-te': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  '/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!',
  '/control-char': 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok',
  '/space-before-colon': 'HTTP/1.1 200 OK\r\nX-A : b\r\nContent-Length: 2\r\n\r\nok',
  '/bad-status': 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
  '/bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
  '/gzip-chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  '/identity': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nhello',
  '/switching': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
  // relayed
  '/hop-by-hop': 'HTTP/1.1 200 OK\r\nConnection: x-secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok',
  '/cookies': 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nok',
  '/truncated': 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello',
};
/** Answers after which the upstream closes the connection (the body ends there, or is cut). */
const CLOSE_AFTER = new Set(['/identity', '/truncated']);

const MALFORMED = Object.keys(RESPONSES).filter((p) => !['/hop-by-hop', '/cookies', '/truncated'].includes(p));

let pki: TestPki;
let upstream: net.Server;
let gw: TestGateway;

before(async () => {
  pki = await testPki();
  upstream = net.createServer((s) => {
    let head = '';
    s.on('data', (d) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const path = head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
      head = head.slice(end + 4);
      s.write(RESPONSES[path] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', 'latin1');
      if (CLOSE_AFTER.has(path)) s.end();
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as net.AddressInfo).port;
  gw = await startGateway(basicConfig(pki, { endpoint: `127.0.0.1:${port}` }));
});
after(async () => {
  await gw.close();
  await new Promise((r) => upstream.close(r));
});

for (const path of MALFORMED) {
  test(`an upstream answer with ${path.slice(1)} is not relayed: 502 upstream_protocol_error over HTTP/1.1 and HTTP/2`, async () => {
    for (const client of [h1, h2]) {
      const r = await client(pki, gw.httpsPort, path);
      assert.equal(r.status, 502, `${client.name} ${path}: ${r.body.slice(0, 80)}`);
      assert.equal(JSON.parse(r.body).error, 'upstream_protocol_error');
    }
  });
}

test('hop-by-hop fields, and those Connection names, are removed from a relayed response; repeated Set-Cookie stays repeated', async () => {
  const hop = await h1(pki, gw.httpsPort, '/hop-by-hop');
  assert.equal(hop.status, 200);
  assert.equal(hop.body, 'ok');
  assert.equal(hop.headers['x-secret'], undefined);
  assert.notEqual(hop.headers['keep-alive'], 'timeout=5');
  const cookies = await h2(pki, gw.httpsPort, '/cookies');
  assert.deepEqual(cookies.headers['set-cookie'], ['a=1', 'b=2']);
});

test('a body the upstream cuts short is cut short for the client: HTTP/2 resets the stream', async () => {
  const session = http2.connect(`https://localhost:${gw.httpsPort}`, { ca: pki.read('ca.crt') });
  try {
    const outcome = await new Promise<{ status: number; bytes: number; ended: boolean; rst: number }>((resolve) => {
      const st = session.request({ ':path': '/truncated' });
      let status = 0;
      let bytes = 0;
      let ended = false;
      st.on('response', (h) => (status = Number(h[':status'])));
      st.on('data', (c: Buffer) => (bytes += c.length));
      st.on('end', () => (ended = true));
      st.on('error', () => undefined);
      st.on('close', () => resolve({ status, bytes, ended, rst: st.rstCode ?? 0 }));
    });
    assert.equal(outcome.status, 200);
    assert.equal(outcome.bytes, 5);
    assert.ok(!outcome.ended || outcome.rst !== 0, 'the stream must not end as if the body were whole');
    assert.notEqual(outcome.rst, 0);
  } finally {
    session.close();
  }
});
