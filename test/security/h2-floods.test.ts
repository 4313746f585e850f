import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { eventually } from '../helpers/net.ts';
import { RawH2, FrameType, Flag, ErrorCode, frame, requestBlock, literal, literalIndexed, indexed } from '../helpers/h2-raw.ts';

// HTTP/2 floods, written frame by frame over real TLS: each attacking session is closed (GOAWAY, or
// at least the connection) while a bystander session opened before the attack keeps being served.

const fx = gatewayFixture((pki, up) => basicConfig(pki, { endpoint: up.address, limits: '    limits: { idleTimeout: 30s }' }));

const attacker = () => RawH2.connect(fx.gw.httpsPort, fx.pki.read('ca.crt'));

async function clusterInflight(): Promise<number> {
  const body = (await (await fetch(`http://127.0.0.1:${fx.gw.adminPort}/clusters`)).json()) as { clusters: Array<{ name: string; inflight: number }> };
  return body.clusters.find((c) => c.name === 'backend')!.inflight;
}
const seen = (path: string) => fx.up.seen.filter((r) => r.url === path).length;

/** A well-behaved client's session, opened before the attack. */
async function openBystander(): Promise<http2.ClientHttp2Session> {
  const s = http2.connect(`https://localhost:${fx.gw.httpsPort}`, { ca: fx.pki.read('ca.crt') });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  return s;
}

/** The bystander's session still gets answers from the upstream after the attack. */
async function bystanderServed(bystander: http2.ClientHttp2Session): Promise<void> {
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const st = bystander.request({ ':path': '/bystander' });
      st.on('response', (h) => resolve(Number(h[':status'])));
      st.on('error', reject);
      st.resume();
      st.end();
    });
    assert.equal(status, 200);
  } finally {
    bystander.close();
  }
}

test('rapid reset (CVE-2023-44487): GOAWAY ENHANCE_YOUR_CALM within the first few hundred cancelled streams', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  let id = 1;
  for (let i = 0; i < 5000 && !c.closed; i++, id += 2) {
    c.headers(id, requestBlock({ path: '/reset' }));
    c.rst(id);
    if (i % 50 === 0) await c.drained();
  }
  await c.waitClosed();
  assert.equal(c.goawayCode(), ErrorCode.ENHANCE_YOUR_CALM);
  // nghttp2's own RST_STREAM limit would let ~1000 through to the upstream; the session guard stops it early
  assert.ok(seen('/reset') < 400, `${seen('/reset')} cancelled requests reached the upstream`);
  // every cancelled request let go of its upstream connection (none is left paused, unread)
  await eventually(async () => (await clusterInflight()) === 0, 'no upstream request left in flight');
  await bystanderServed(bystander);
});

/** Sends `make()` frames in small batches, each after the previous batch was acknowledged (a client that reads). */
async function politeFlood(c: RawH2, make: () => Buffer, total: number): Promise<void> {
  for (let sent = 0; sent < total && !c.closed; ) {
    for (let k = 0; k < 10; k++, sent++) c.write(make());
    const want = c.acks + 10;
    const until = Date.now() + 10_000;
    while (!c.closed && c.acks < want && !c.goawayFrame() && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  }
}

test('PING flood from a client that reads every acknowledgement: GOAWAY ENHANCE_YOUR_CALM', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  await politeFlood(c, () => frame(FrameType.PING, 0, 0, Buffer.alloc(8)), 2000);
  await c.waitClosed();
  assert.equal(c.goawayCode(), ErrorCode.ENHANCE_YOUR_CALM);
  assert.ok(c.acks < 1000, `${c.acks} pings answered`);
  await bystanderServed(bystander);
});

test('SETTINGS flood from a client that reads every acknowledgement: GOAWAY ENHANCE_YOUR_CALM', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  await politeFlood(c, () => frame(FrameType.SETTINGS, 0, 0), 2000);
  await c.waitClosed();
  assert.equal(c.goawayCode(), ErrorCode.ENHANCE_YOUR_CALM);
  await bystanderServed(bystander);
});

test('PING flood from a client that never reads: the connection is closed', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  c.socket.pause(); // never read the acknowledgements
  for (let i = 0; i < 100_000 && !c.closed; i++) {
    c.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    if (i % 500 === 0) await c.drained();
  }
  c.socket.resume();
  await c.waitClosed();
  await bystanderServed(bystander);
});

test('empty DATA frame flood (CVE-2019-9518): GOAWAY and closed', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  c.headers(1, requestBlock({ method: 'POST', path: '/empty-data' }), { endStream: false });
  for (let i = 0; i < 20_000 && !c.closed; i++) {
    c.write(frame(FrameType.DATA, 0, 1));
    if (i % 200 === 0) await c.drained();
  }
  await c.waitClosed();
  assert.notEqual(c.goawayCode(), null, 'a GOAWAY before the close');
  await bystanderServed(bystander);
});

test('CONTINUATION flood (CVE-2024-27316 class): GOAWAY, closed, and the endless header block never reaches the upstream', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  c.headers(1, requestBlock({ path: '/continuation' }), { endHeaders: false });
  for (let i = 0; i < 20_000 && !c.closed; i++) {
    c.write(frame(FrameType.CONTINUATION, 0, 1, literal(`x-c${i % 10}`, 'v'.repeat(100))));
    if (i % 200 === 0) await c.drained();
  }
  await c.waitClosed();
  assert.notEqual(c.goawayCode(), null, 'a GOAWAY before the close');
  assert.equal(seen('/continuation'), 0);
  await bystanderServed(bystander);
});

test('HPACK bomb (a 4 KB table entry referenced 1000 times per request): each stream is reset, none reaches the upstream', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  // stream 1 puts a 4000-byte header into the server's dynamic table (it fits its 4096-byte default)
  c.headers(1, Buffer.concat([requestBlock({ path: '/hpack-seed' }), literalIndexed('x-big', 'a'.repeat(4000))]));
  await c.waitFor((f) => f.streamId === 1 && (f.type === FrameType.HEADERS || f.type === FrameType.RST_STREAM), 'stream 1 answered');
  const bomb = Buffer.concat(Array.from({ length: 1000 }, () => indexed(62))); // 1 KB on the wire, 4 MB decoded
  for (let s = 3; s <= 41; s += 2) c.headers(s, Buffer.concat([requestBlock({ path: '/hpack-bomb' }), bomb]));
  for (let s = 3; s <= 41; s += 2) {
    const f = await c.waitFor((x) => x.streamId === s && (x.type === FrameType.RST_STREAM || x.type === FrameType.HEADERS), `stream ${s} answered`);
    assert.equal(f.type, FrameType.RST_STREAM, `stream ${s} was answered instead of reset`);
  }
  assert.equal(seen('/hpack-bomb'), 0);
  c.destroy();
  await bystanderServed(bystander);
});

test('stream ids: the last one (2^31-1) is served; a lower id after it opens nothing', async () => {
  const bystander = await openBystander();
  const c = await attacker();
  const last = 0x7fffffff;
  c.headers(last, requestBlock({ path: '/last-id' }));
  await c.waitFor((f) => f.streamId === last && f.type === FrameType.DATA && (f.flags & Flag.END_STREAM) !== 0, 'the last stream answered');
  assert.equal(c.status(last), 200);
  c.headers(5, requestBlock({ path: '/after-last-id' }));
  c.headers(2, requestBlock({ path: '/even-id' })); // client streams are odd: a protocol error
  await c.waitGoawayOrClose();
  assert.equal(seen('/after-last-id'), 0);
  assert.equal(seen('/even-id'), 0);
  c.destroy();
  await bystanderServed(bystander);
});
