import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import http2 from 'node:http2';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';
import { h1 } from '../helpers/clients.ts';
import { RawH2, FrameType, Setting, requestBlock, frame, literal } from '../helpers/h2-raw.ts';

// Slow clients: a header block or a body trickled byte by byte never holds a connection (or an
// upstream request) beyond the listener's limits, however steadily the bytes keep coming.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
/** Upstream requests by url: how they ended ('complete' body, or 'aborted' when the gateway gave up). */
const ended = new Map<string, 'complete' | 'aborted'>();
/** Upstream responses by url: sent whole, or abandoned (the gateway let go of the connection). */
const responses = new Map<string, 'complete' | 'abandoned'>();

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      if (req.url?.startsWith('/big')) {
        // 20 MB, written as fast as the gateway takes it; 'abandoned' when the gateway gives up on it
        const chunk = Buffer.alloc(64 * 1024, 7);
        let sent = 0;
        res.writeHead(200, { 'content-length': 20 * 1024 * 1024 });
        const pump = () => {
          while (sent < 20 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => responses.set(req.url ?? '', res.writableFinished ? 'complete' : 'abandoned'));
        pump();
        return;
      }
      req.on('data', () => undefined);
      req.on('end', () => {
        ended.set(req.url ?? '', 'complete');
        res.end('ok');
      });
      req.on('close', () => {
        if (!req.complete) ended.set(req.url ?? '', 'aborted');
      });
    },
  });
  gw = await startGateway(basicConfig(pki, { endpoint: up.address, limits: '    limits: { headersTimeout: 1s, requestTimeout: 2s, idleTimeout: 3s }' }));
});
after(async () => {
  await gw.close();
  await up.close();
});

/** Writes one byte of `bytes` every `everyMs` until the gateway closes the connection; resolves with its answer. */
function trickle(head: string, bytes: string, everyMs: number): Promise<{ answer: string; sent: number }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    let answer = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    s.once('secureConnect', () => {
      s.write(head);
      timer = setInterval(() => {
        if (sent < bytes.length && s.writable) s.write(bytes[sent++]);
      }, everyMs);
    });
    s.on('data', (d) => (answer += d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(timer);
      resolve({ answer, sent });
    });
  });
}

test('slowloris: a header block trickled one byte every 100 ms is cut at headersTimeout with 408', async () => {
  const { answer, sent } = await trickle('GET /slowloris HTTP/1.1\r\nHost: localhost\r\n', 'x-pad: ' + 'a'.repeat(10_000), 100);
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.ok(sent < 10_000, 'cut while the client was still sending');
  assert.ok(!ended.has('/slowloris'), 'nothing reached the upstream');
});

test('a body trickled at one byte per 200 ms: cut at requestTimeout, the upstream request is abandoned', async () => {
  const { answer, sent } = await trickle('POST /trickle HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n', 'b'.repeat(1000), 200);
  assert.ok(sent < 1000, 'cut while the client was still sending');
  assert.doesNotMatch(answer, /^HTTP\/1\.1 200/);
  await eventually(() => ended.get('/trickle') === 'aborted', 'the upstream request abandoned');
  // the upstream pool is free for the next request
  assert.equal((await h1(pki, gw.httpsPort, '/after-trickle')).status, 200);
});

test('HTTP/2: a body trickled one byte per 200 ms gets 408 at requestTimeout, the upstream request is abandoned', async () => {
  const session = http2.connect(`https://localhost:${gw.httpsPort}`, { ca: pki.read('ca.crt') });
  try {
    const st = session.request({ ':method': 'POST', ':path': '/h2-trickle' }, { endStream: false });
    const timer = setInterval(() => {
      if (!st.closed) st.write('b');
    }, 200);
    const status = await new Promise<number>((resolve, reject) => {
      st.on('response', (h) => resolve(Number(h[':status'])));
      st.on('error', reject);
    });
    clearInterval(timer);
    assert.equal(status, 408);
    await eventually(() => ended.get('/h2-trickle') === 'aborted', 'the upstream request abandoned');
  } finally {
    session.destroy();
  }
});

test('HTTP/2: a header block trickled one CONTINUATION frame every 100 ms is cut (GOAWAY), never reaches the upstream', async () => {
  const c = await RawH2.connect(gw.httpsPort, pki.read('ca.crt'));
  c.headers(1, requestBlock({ path: '/h2-slowloris' }), { endHeaders: false });
  for (let i = 0; i < 1000 && !c.closed; i++) {
    c.write(frame(FrameType.CONTINUATION, 0, 1, literal(`x-${i}`, 'v')));
    await new Promise((r) => setTimeout(r, 100));
  }
  await c.waitClosed();
  assert.ok(c.frames.some((f) => f.type === FrameType.GOAWAY));
  assert.ok(!ended.has('/h2-slowloris'));
});

test('HTTP/2: a header block started and never finished: the session is closed after idleTimeout', async () => {
  const c = await RawH2.connect(gw.httpsPort, pki.read('ca.crt'));
  c.headers(1, requestBlock({ path: '/h2-unfinished' }), { endHeaders: false });
  await c.waitClosed();
  assert.ok(!ended.has('/h2-unfinished'));
});

// A client that never reads its response (issue 9's stall timer): after idleTimeout without progress
// the response is abandoned and the upstream connection released.

test('HTTP/1.1: a client that never reads a 20 MB response is cut after idleTimeout; the upstream response is abandoned', async () => {
  const s = tls.connect({ host: '127.0.0.1', port: gw.httpsPort, ca: pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  await new Promise<void>((resolve) => s.once('secureConnect', () => resolve()));
  s.on('error', () => undefined);
  s.write('GET /big-h1 HTTP/1.1\r\nHost: localhost\r\n\r\n');
  s.pause(); // never read
  await eventually(() => responses.get('/big-h1') === 'abandoned', 'the upstream response abandoned', 30_000);
  s.destroy();
  assert.equal((await h1(pki, gw.httpsPort, '/after-stall')).status, 200);
});

test('HTTP/2: a stream whose window never opens is reset after idleTimeout; the upstream response is abandoned', async () => {
  const c = await RawH2.connect(gw.httpsPort, pki.read('ca.crt'), { settings: [[Setting.INITIAL_WINDOW_SIZE, 0]] });
  c.headers(1, requestBlock({ path: '/big-h2' }));
  await c.waitFor((f) => (f.streamId === 1 && f.type === FrameType.RST_STREAM) || f.type === FrameType.GOAWAY, 'stream 1 reset', 30_000).catch(() => c.waitClosed());
  await eventually(() => responses.get('/big-h2') === 'abandoned', 'the upstream response abandoned', 30_000);
  assert.equal(c.dataBytes, 0, 'nothing could be sent through a closed window');
  c.destroy();
});
