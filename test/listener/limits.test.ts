import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import http2 from 'node:http2';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';

// Every time a client controls is bounded: a slow header block (slowloris) is cut with 408, an idle
// keep-alive connection is closed, and HTTP/2 advertises its stream limit.

const fx = gatewayFixture((pki, up) =>
  basicConfig(pki, {
    endpoint: up.address,
    limits: '    limits: { headersTimeout: 1s, requestTimeout: 2s, idleTimeout: 1s, http2MaxConcurrentStreams: 7 }',
  }),
);

function connect(): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: fx.gw.httpsPort, ca: fx.pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => resolve(s));
    s.on('error', reject);
  });
}

function untilClosed(s: tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('close', () => resolve(out));
  });
}

test('a header block that never completes is answered 408 and closed (headersTimeout)', async () => {
  const s = await connect();
  const closed = untilClosed(s);
  s.write('GET / HTTP/1.1\r\nhost: localhost\r\nx-slow: ');
  const answer = await closed; // would hang (and the test time out) if the timeout were not enforced
  assert.match(answer, /^HTTP\/1\.1 408/);
});

test('an idle keep-alive connection is closed after idleTimeout', async () => {
  const s = await connect();
  const closed = untilClosed(s);
  s.write('GET /ping HTTP/1.1\r\nhost: localhost\r\n\r\n');
  const answer = await closed;
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.match(answer, /pong$/);
});

test('HTTP/2 advertises http2MaxConcurrentStreams', async () => {
  const session = http2.connect(`https://localhost:${fx.gw.httpsPort}`, { ca: fx.pki.read('ca.crt') });
  try {
    const settings = await new Promise<http2.Settings>((resolve, reject) => {
      session.once('remoteSettings', resolve);
      session.once('error', reject);
    });
    assert.equal(settings.maxConcurrentStreams, 7);
  } finally {
    session.close();
  }
});

test('an HTTP/2 request body that never completes is answered 408 (requestTimeout)', async () => {
  const session = http2.connect(`https://localhost:${fx.gw.httpsPort}`, { ca: fx.pki.read('ca.crt') });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/upload' }, { endStream: false });
      stream.write('a first chunk, and then nothing more'); // the body never ends
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
    });
    assert.equal(status, 408);
  } finally {
    session.destroy();
  }
  // the session's other streams and the gateway are unaffected
  const ok = await new Promise<number>((resolve, reject) => {
    const s2 = http2.connect(`https://localhost:${fx.gw.httpsPort}`, { ca: fx.pki.read('ca.crt') });
    const st = s2.request({ ':path': '/ping' });
    st.on('response', (h) => {
      resolve(Number(h[':status']));
      s2.close();
    });
    st.on('error', reject);
    st.end();
  });
  assert.equal(ok, 200);
});
