import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startUpstream, echoHandler, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, basicConfig, type TestGateway } from '../helpers/gateway.ts';
import { RawH2, FrameType, Flag, requestBlock, type Frame } from '../helpers/h2-raw.ts';
import { H2Request } from '../../src/listener/h2-stream.ts';

// HTTP/2 requests are served on node's core stream API (src/listener/h2-stream.ts), not its compat
// layer: what the compat layer did for us must still hold (Expect, CONNECT, HEAD, bodies both ways,
// a client that leaves mid-upload), and a response framed by Content-Length ends with its last DATA
// frame instead of an extra empty one.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;

before(async () => {
  pki = await testPki();
  up = await startUpstream({
    handler: (req, res) => {
      if (req.url === '/stream') {
        // chunked: no Content-Length, so the gateway's response may wait for trailers
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('one,');
        res.end('two');
        return;
      }
      if (req.url === '/framed') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' });
        res.end('hello there');
        return;
      }
      echoHandler(req, res);
    },
  });
  gw = await startGateway(
    basicConfig(pki, { endpoint: up.address, routes: '      - { name: moved, match: { prefix: /old }, redirect: { to: /new, status: 301 } }' }),
  );
});
after(async () => {
  await gw.close();
  await up.close();
});

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  continued: boolean;
}

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let continued = false;
    let head: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('continue', () => {
      continued = true;
      stream.end(body);
    });
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks).toString(), continued }));
    stream.on('error', reject);
    if (body !== undefined && headers.expect === undefined) stream.end(body);
  });
}

function connect(): http2.ClientHttp2Session {
  const s = http2.connect(`https://localhost:${gw.httpsPort}`, { ca: pki.read('ca.crt') });
  s.on('error', () => undefined);
  return s;
}

test('GET, HEAD and a POST body are served over HTTP/2 streams', async () => {
  const s = connect();
  try {
    const get = await request(s, { ':method': 'GET', ':path': '/a?q=1' });
    assert.equal(get.status, 200);
    assert.equal(JSON.parse(get.body).url, '/a?q=1');

    const head = await request(s, { ':method': 'HEAD', ':path': '/a' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '', 'no body to HEAD');

    const payload = Buffer.alloc(200_000, 7); // larger than one flow-control window's first frames
    const post = await request(s, { ':method': 'POST', ':path': '/upload', 'content-type': 'application/octet-stream' }, payload);
    assert.equal(post.status, 200);
    assert.equal(JSON.parse(post.body).bodyBytes, payload.length);

    const chunked = await request(s, { ':method': 'GET', ':path': '/stream' });
    assert.equal(chunked.status, 200);
    assert.equal(chunked.body, 'one,two');
  } finally {
    s.close();
  }
});

test('Expect: 100-continue is answered before the body; any other expectation is refused with 417', async () => {
  const s = connect();
  try {
    const body = Buffer.from('after the interim answer');
    const ok = await request(s, { ':method': 'POST', ':path': '/x', expect: '100-continue' }, body);
    assert.equal(ok.continued, true, 'the client got 100 Continue');
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).bodyBytes, body.length);

    const refused = await request(s, { ':method': 'GET', ':path': '/x', expect: 'something-else' });
    assert.equal(refused.status, 417);
  } finally {
    s.close();
  }
});

test('CONNECT over HTTP/2 is refused with 501 (as over HTTP/1.1) and the session keeps serving', async () => {
  const s = connect();
  try {
    const connectReply = await request(s, { ':method': 'CONNECT', ':authority': 'example.com:443' });
    assert.equal(connectReply.status, 501);
    assert.equal(JSON.parse(connectReply.body).error, 'method_not_supported');
    const after = await request(s, { ':method': 'GET', ':path': '/after' });
    assert.equal(after.status, 200);
  } finally {
    s.close();
  }
});

/** The frames of one GET on a raw connection, up to the one that ends the stream (stream 1). */
async function framesOfGet(path: string): Promise<{ frames: Frame[]; last: Frame; dataBytes: number }> {
  const c = await RawH2.connect(gw.httpsPort, pki.read('ca.crt'));
  try {
    c.headers(1, requestBlock({ path }));
    const last = await c.waitFor((f) => f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0, 'END_STREAM on stream 1');
    return { frames: c.frames.filter((f) => f.streamId === 1), last, dataBytes: c.dataBytes };
  } finally {
    c.destroy();
  }
}

test('a response with Content-Length ends with its last DATA frame (no trailing empty frame)', async () => {
  const { frames, last, dataBytes } = await framesOfGet('/framed');
  assert.equal(frames[0].type, FrameType.HEADERS);
  assert.equal(last.type, FrameType.DATA);
  const data = frames.filter((f) => f.type === FrameType.DATA);
  assert.ok(dataBytes > 0, 'the body came');
  assert.equal(data.length, 1, `one DATA frame for a small framed body, got ${data.length}`);
});

test('a response with no body is one HEADERS frame with END_STREAM', async () => {
  const { frames, last } = await framesOfGet('/old');
  assert.equal(last.type, FrameType.HEADERS, 'the end of the stream rides on the HEADERS frame');
  assert.equal(frames.filter((f) => f.type === FrameType.DATA).length, 0, 'no DATA frame at all');
  const s = connect();
  try {
    const moved = await request(s, { ':method': 'GET', ':path': '/old' });
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, 'https://localhost:' + gw.httpsPort + '/new');
    assert.equal(moved.body, '');
  } finally {
    s.close();
  }
});

test('a client that resets its upload mid-body costs that stream only', async () => {
  const s = connect();
  try {
    const stream = s.request({ ':method': 'POST', ':path': '/upload', 'content-length': '100000' }, { endStream: false });
    stream.on('error', () => undefined);
    stream.write(Buffer.alloc(10_000));
    await new Promise((r) => setTimeout(r, 100));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => stream.once('close', r));
    const next = await request(s, { ':method': 'GET', ':path': '/next' });
    assert.equal(next.status, 200, 'the session still serves');
  } finally {
    s.close();
  }
});

test('a body read after the client reset its stream ends at once and says the client left', async () => {
  // A slow filter can run past a client's RST_STREAM; reading the body then must not wait forever.
  const server = http2.createServer();
  const destroyed = new Promise<http2.ServerHttp2Stream>((resolve) =>
    server.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.once('close', () => resolve(stream));
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  client.on('error', () => undefined);
  try {
    const req = client.request({ ':method': 'POST', ':path': '/' }, { endStream: false });
    req.on('error', () => undefined);
    req.write('partial');
    setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), 50);
    const stream = await destroyed;
    assert.equal(stream.destroyed, true);
    const body = new H2Request(stream, { ':method': 'POST', ':path': '/' }, []).body();
    const events: string[] = [];
    body.on('data', () => events.push('data'));
    await new Promise<void>((resolve) => {
      body.once('end', () => events.push('end'));
      body.once('close', () => {
        events.push('close');
        resolve();
      });
    });
    assert.ok(events.includes('close'), `close was emitted: ${events.join(',')}`);
    assert.ok(!events.includes('data'));
  } finally {
    client.close();
    server.close();
  }
});
