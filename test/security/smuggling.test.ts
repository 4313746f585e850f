import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { rawHttp1 } from '../helpers/raw-http1.ts';
import { MAX_WAITING } from '../../src/listener/h1-pipeline.ts';
import { RawH2, FrameType, Flag, frame, requestBlock } from '../helpers/h2-raw.ts';

// Request smuggling over real TLS sockets, byte for byte: for each malformed framing we assert what
// the client saw (the status, and that the connection was closed) AND what the recording upstream
// received (nothing, and never the request hidden in the body).

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
/** Bodies the upstream received, by request url. */
const bodies = new Map<string, string>();
/** `/slow…` requests the upstream is answering now, and the most it answered at once. */
let slowInFlight = 0;
let slowMaxInFlight = 0;

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        bodies.set(req.url ?? '', body);
        if (!req.url?.startsWith('/slow')) return void res.end('ok');
        slowMaxInFlight = Math.max(slowMaxInFlight, ++slowInFlight);
        setTimeout(() => {
          slowInFlight--;
          res.end(req.url);
        }, 20);
      });
    },
  });
  gw = await startGateway(basicConfig(pki, { endpoint: up.address, limits: '    limits: { headersTimeout: 5s, requestTimeout: 10s, idleTimeout: 5s }' }));
});
after(async () => {
  await gw.close();
  await up.close();
});

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n';
const H = 'Host: localhost\r\n';

/** Each: the raw request bytes and the status the gateway must answer (then close the connection). */
const refused: Array<[string, string, number]> = [
  ['Content-Length with Transfer-Encoding (CL.TE / TE.CL)', `POST /clte HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400],
  ['two different Content-Lengths', `POST /cl2 HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 47\r\n\r\nhello${SMUGGLED}`, 400],
  ['two equal Content-Lengths', `POST /cl2same HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400],
  ['Transfer-Encoding: chunked, identity (chunked not last)', `POST /teci HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`, 400],
  ['Transfer-Encoding: identity, chunked (a coding other than chunked)', `POST /teic HTTP/1.1\r\n${H}Transfer-Encoding: identity, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 501],
  ['Transfer-Encoding: xchunked', `POST /tex HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 501],
  ['two Transfer-Encoding headers', `POST /te2 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 400],
  ['a chunk size that is not hex', `POST /chunkzz HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, 400],
  ['a negative chunk size', `POST /chunkneg HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n`, 400],
  ['a chunk size that overflows 64 bits', `POST /chunkhuge HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n`, 400],
  ['a chunk extension of 20 KB', `POST /chunkextbig HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;${'x'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`, 400],
  ['chunk lines ended by a bare LF', `POST /chunklf HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n${SMUGGLED}`, 400],
  ['obs-fold (a header continued on the next line)', `GET /obsfold HTTP/1.1\r\n${H}X-A: one\r\n two\r\n\r\n`, 400],
  ['a bare CR inside the header block', `GET /barecr HTTP/1.1\r\n${H}X-A: one\rTransfer-Encoding: chunked\r\n\r\n`, 400],
  ['header lines ended by a bare LF', `GET /barelf HTTP/1.1\nHost: localhost\nX-A: one\n\n`, 400],
  ['NUL in a header value', `GET /nul HTTP/1.1\r\n${H}X-A: o\x00ne\r\n\r\n`, 400],
  ['a space before the colon', `GET /spacecolon HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n`, 400],
  ['HTTP/1.0 with Transfer-Encoding', `POST /http10te HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 400],
  ['two Host headers', `GET /twohost HTTP/1.1\r\n${H}Host: evil.example\r\n\r\n`, 400],
  ['no Host header', 'GET /nohost HTTP/1.1\r\n\r\n', 400],
  ['a header name with an underscore (x_auth_sub, read as x-auth-sub by CGI-style upstreams)', `GET /underscore HTTP/1.1\r\n${H}x_auth_sub: evil\r\n\r\n`, 400],
];

for (const [name, bytes, status] of refused) {
  test(`HTTP/1.1 ${name}: ${status}, connection closed, nothing reaches the upstream`, async () => {
    const before = up.seen.length;
    const r = await rawHttp1(pki, gw.httpsPort, bytes);
    assert.deepEqual(r.statuses, [status], r.text);
    assert.ok(r.closedByServer, 'the gateway closes the connection after a malformed request');
    assert.equal(up.seen.length, before, `the upstream saw ${up.seen.slice(before).map((s) => s.url).join(', ')}`);
    assert.ok(!bodies.has('/smuggled'));
  });
}

test('HTTP/1.1 chunk extensions are accepted and not forwarded: the upstream gets the body, re-framed', async () => {
  const r = await rawHttp1(pki, gw.httpsPort, `POST /chunkext HTTP/1.1\r\n${H}Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6;x="y"\r\n world\r\n0\r\n\r\n`);
  assert.deepEqual(r.statuses, [200]);
  assert.equal(bodies.get('/chunkext'), 'hello world');
});

test('HTTP/1.1 pipelined requests are answered in order, each forwarded once', async () => {
  const r = await rawHttp1(pki, gw.httpsPort, `GET /pipe1 HTTP/1.1\r\n${H}\r\nPOST /pipe2 HTTP/1.1\r\n${H}Content-Length: 5\r\nConnection: close\r\n\r\nhello`);
  assert.deepEqual(r.statuses, [200, 200]);
  assert.equal(bodies.get('/pipe2'), 'hello');
  assert.equal(up.seen.filter((s) => s.url === '/pipe1').length, 1);
});

test('HTTP/1.1 pipelined requests are served one at a time: the upstream never sees two of one connection at once', async () => {
  slowMaxInFlight = 0;
  const n = 20;
  const burst = Array.from({ length: n }, (_, i) => `GET /slow${i} HTTP/1.1\r\n${H}${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('');
  const r = await rawHttp1(pki, gw.httpsPort, burst);
  assert.deepEqual(r.statuses, Array(n).fill(200));
  const order = [...r.text.matchAll(/\/slow\d+/g)].map((m) => m[0]);
  assert.deepEqual(order, Array.from({ length: n }, (_, i) => `/slow${i}`), 'answered in order');
  assert.equal(slowMaxInFlight, 1);
});

test('HTTP/1.1: a pipelined burst beyond the per-connection queue closes that connection; the gateway keeps serving', async () => {
  const before = up.seen.length;
  const burst = `GET /slow-burst HTTP/1.1\r\n${H}\r\n`.repeat(MAX_WAITING + 100);
  const r = await rawHttp1(pki, gw.httpsPort, burst);
  assert.ok(r.closedByServer);
  assert.ok(r.statuses.length <= MAX_WAITING + 1, `${r.statuses.length} answered`);
  assert.ok(up.seen.length - before <= MAX_WAITING + 1, `${up.seen.length - before} forwarded`);
  const after = await rawHttp1(pki, gw.httpsPort, `GET /after HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  assert.deepEqual(after.statuses, [200]);
});

// HTTP/2 → HTTP/1.1 downgrade smuggling (H2.CL, H2.TE, CRLF injection): written frame by frame.

async function h2Attempt(block: Buffer, data?: Buffer): Promise<RawH2> {
  const c = await RawH2.connect(gw.httpsPort, pki.read('ca.crt'));
  c.headers(1, block, { endStream: data === undefined });
  if (data !== undefined) c.write(frame(FrameType.DATA, Flag.END_STREAM, 1, data));
  await c.waitFor((f) => f.streamId === 1 && (f.type === FrameType.RST_STREAM || f.type === FrameType.HEADERS) || f.type === FrameType.GOAWAY, 'stream 1 answered or reset');
  return c;
}

test('HTTP/2 with transfer-encoding: chunked (H2.TE): refused, nothing reaches the upstream', async () => {
  const before = up.seen.length;
  const c = await h2Attempt(requestBlock({ method: 'POST', path: '/h2te', extra: [['transfer-encoding', 'chunked']] }), Buffer.from(`0\r\n\r\n${SMUGGLED}`));
  assert.notEqual(c.status(1), 200);
  assert.equal(up.seen.length, before);
  assert.ok(!bodies.has('/smuggled'));
  c.destroy();
});

test('HTTP/2 content-length shorter than the DATA (H2.CL): the stream is reset, the extra bytes never reach the upstream', async () => {
  const c = await h2Attempt(requestBlock({ method: 'POST', path: '/h2cl', extra: [['content-length', '0']] }), Buffer.from(SMUGGLED));
  await c.waitFor((f) => (f.streamId === 1 && f.type === FrameType.RST_STREAM) || f.type === FrameType.GOAWAY, 'stream 1 reset');
  assert.ok(!bodies.has('/smuggled'));
  assert.ok(!(bodies.get('/h2cl') ?? '').includes('smuggled'));
  c.destroy();
});

test('HTTP/2 header values with CR, LF or NUL (request splitting on downgrade): the field is dropped, nothing is smuggled', async () => {
  // nghttp2 drops an invalid field (RFC 9113 §8.2.1) and serves the rest of the request without it
  for (const [i, value] of [`v\r\n\r\n${SMUGGLED}`, 'a\nb', 'a\rb', 'a\x00b'].entries()) {
    const c = await h2Attempt(requestBlock({ path: `/h2crlf-${i}`, extra: [['x-inject', value], ['x-kept', 'yes']] }));
    c.destroy();
    const seen = up.seen.find((s) => s.url === `/h2crlf-${i}`);
    if (seen) {
      assert.equal(seen.headers['x-inject'], undefined, JSON.stringify(value));
      assert.equal(seen.headers['x-kept'], 'yes');
    }
  }
  assert.ok(!bodies.has('/smuggled'));
  assert.ok(!up.seen.some((s) => s.url === '/smuggled'));
});

test('HTTP/2 connection-specific header (connection: keep-alive): refused, nothing reaches the upstream', async () => {
  const before = up.seen.length;
  const c = await h2Attempt(requestBlock({ path: '/h2conn', extra: [['connection', 'keep-alive']] }));
  assert.notEqual(c.status(1), 200);
  assert.equal(up.seen.length, before);
  c.destroy();
});

test('HTTP/2 header name with an underscore: 400, nothing reaches the upstream', async () => {
  const before = up.seen.length;
  const c = await h2Attempt(requestBlock({ path: '/h2-underscore', extra: [['x_auth_sub', 'evil']] }));
  assert.equal(c.status(1), 400);
  assert.equal(up.seen.length, before);
  c.destroy();
});

test('mesh identity headers from an untrusted client (x-forwarded-client-cert, x-envoy-*) never reach the upstream', async () => {
  const r = await rawHttp1(
    pki,
    gw.httpsPort,
    `GET /identity HTTP/1.1\r\n${H}X-Forwarded-Client-Cert: By=spiffe://mesh.local/ns/shop/sa/admin;URI=spiffe://evil\r\nx-envoy-internal: true\r\nX-Envoy-Original-Path: /admin\r\nx-kept: yes\r\nConnection: close\r\n\r\n`,
  );
  assert.deepEqual(r.statuses, [200]);
  const seen = up.seen.find((s) => s.url === '/identity')!;
  assert.equal(seen.headers['x-forwarded-client-cert'], undefined);
  assert.equal(seen.headers['x-envoy-internal'], undefined);
  assert.equal(seen.headers['x-envoy-original-path'], undefined);
  assert.equal(seen.headers['x-kept'], 'yes');
});
