import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';

// Issue 9 item 9: a client that never reads its response. undici's bodyTimeout sleeps while
// backpressure pauses the body, so without the gateway's own timer the stream (HTTP/2) or the
// connection (HTTP/1.1) and the upstream connection would be held forever. After idleTimeout (1 s
// here) without progress the response is abandoned: the client side is cut, the upstream dispatch
// aborted (the upstream sees its socket closed), and only a bounded part of the body was pulled.

const MB = 1024 * 1024;
const TOTAL = 64 * MB;
let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
/** Per /big request: bytes the upstream managed to write, and whether its socket closed. */
const downloads: Array<{ written: number; socketClosed: boolean }> = [];

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      if (req.url !== '/big') {
        res.end('small');
        return;
      }
      const d = { written: 0, socketClosed: false };
      downloads.push(d);
      (req.socket as Socket).once('close', () => (d.socketClosed = true));
      const chunk = Buffer.alloc(64 * 1024, 7);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL });
      const pump = () => {
        while (d.written < TOTAL && !res.destroyed) {
          d.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    },
  });
  gw = await startGateway(basicConfig(pki, { endpoint: up.address, limits: '    limits: { idleTimeout: 1s }' }));
});
after(async () => {
  await gw.close();
  await up.close();
});

test('HTTP/1.1: a client that never reads is cut after idleTimeout and the upstream connection is released', async () => {
  const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.once('secureConnect', () => r()));
  s.write('GET /big HTTP/1.1\r\nhost: localhost\r\n\r\n');
  s.pause(); // and never read
  try {
    await eventually(() => downloads.length === 1, 'the upstream got the request');
    const d = downloads[0];
    await eventually(() => d.socketClosed, 'the upstream sees its connection closed', 30_000);
    assert.ok(d.written < TOTAL, `backpressure held the upstream: ${Math.round(d.written / MB)} MB of ${TOTAL / MB} MB written`);
    await eventually(() => gw.gw.inflight === 0, 'the gateway let the exchange go');
    assert.equal((await h1(pki, gw.httpsPort, '/small')).body, 'small', 'others are served');
  } finally {
    s.destroy();
  }
});

test('HTTP/2: a stream whose window never opens is reset after idleTimeout; the session and the upstream move on', async () => {
  const session = http2.connect(`https://localhost:${gw.httpsPort}`, { ca: pki.read('ca.crt') });
  session.on('error', () => undefined);
  try {
    const stream = session.request({ ':path': '/big' });
    stream.on('error', () => undefined);
    stream.once('response', () => stream.pause()); // read nothing: the stream window stays closed
    await eventually(() => downloads.length === 2, 'the upstream got the request');
    const d = downloads[1];
    await eventually(() => stream.closed, 'the gateway resets the stream', 30_000);
    await eventually(() => d.socketClosed, 'the upstream sees its connection closed', 30_000);
    assert.ok(d.written < TOTAL, `${Math.round(d.written / MB)} MB of ${TOTAL / MB} MB written`);
    // The same session serves another stream.
    const other = session.request({ ':path': '/small' });
    const body = await new Promise<string>((resolve, reject) => {
      let b = '';
      other.on('data', (c) => (b += c));
      other.on('end', () => resolve(b));
      other.on('error', reject);
    });
    assert.equal(body, 'small');
  } finally {
    session.destroy();
  }
  assert.equal((await h2(pki, gw.httpsPort, '/small')).body, 'small');
});
