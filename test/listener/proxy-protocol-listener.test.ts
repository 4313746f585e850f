import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { testPki, type TestPki } from '../helpers/pki.ts';
import { startGateway, gatewayPreamble, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { h1, h2 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { h1Over, h2Over, proxyV1, proxyV2, tlsAfterHeader } from '../helpers/proxy-protocol.ts';
import { startHaproxy } from '../helpers/haproxy.ts';
import { testTempDir } from '../helpers/tmp.ts';

// `proxyProtocol: true` on a real TLS listener: the PROXY source (v1 and v2, raw bytes, and from a
// real HAProxy) becomes the client address for x-forwarded-for, authz sourceCidrs and clientIp rate
// limits; a connection without a valid header — malformed, plain TLS, silent — is closed alone.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
const accessLogFile = join(testTempDir('gatehouse-pp-'), 'access.log');

function config(o: { proxyProtocol?: boolean; trusted?: string } = {}): string {
  return `
accessLog: { path: ${accessLogFile} }
${gatewayPreamble(pki)}
    proxyProtocol: ${o.proxyProtocol ?? true}
    limits: { headersTimeout: 1s }
${o.trusted ? `    trustedProxies: { cidrs: ["${o.trusted}"] }` : ''}
rateLimit:
  policies:
    - { name: per-ip, key: clientIp, limit: 2, window: 1m }
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - name: guarded
        match: { prefix: /guarded }
        authz: { deny: [{ sourceCidrs: ["203.0.113.0/24"] }] }
        route: { cluster: echo }
      - { name: limited, match: { prefix: /limited }, rateLimits: [per-ip], directResponse: { status: 200, body: "ok" } }
      - { name: all, match: { prefix: / }, route: { cluster: echo } }
clusters:
  - name: echo
    discovery: { type: static, endpoints: ["${up.address}"] }
    connectTimeout: 1s
`;
}

const LB = { address: '10.0.0.1', port: 8443 };
const v1From = (src: string) => proxyV1('TCP4', src, LB.address, 40000, LB.port);
const v2From = (address: string) => proxyV2({ source: { address, port: 40001 }, destination: LB });

function lastXff(): string | undefined {
  return up.seen.at(-1)?.headers['x-forwarded-for'] as string | undefined;
}

/** Resolves when the server closes `socket` (it must never answer). */
function closedByServer(socket: net.Socket | tls.TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
  });
}

before(async () => {
  pki = await testPki();
  up = await startUpstream();
  gw = await startGateway(config());
});
after(async () => {
  await gw.close();
  await up.close();
});

test('PROXY v1 and v2 (HTTP/1.1 and HTTP/2): the upstream sees the original client in x-forwarded-for', async () => {
  const r1 = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v1From('198.51.100.7')), '/who');
  assert.equal(r1.status, 200);
  assert.equal(lastXff(), '198.51.100.7');

  const r2 = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v2From('198.51.100.8')), '/who');
  assert.equal(r2.status, 200);
  assert.equal(lastXff(), '198.51.100.8');

  const six = proxyV2({ source: { address: '2001:db8::42', port: 1 }, destination: { address: '2001:db8::1', port: 443 } });
  const r3 = await h2Over(await tlsAfterHeader(pki, gw.httpsPort, six, ['h2']), '/who');
  assert.equal(r3.status, 200);
  assert.equal(lastXff(), '2001:db8::42');

  // a forged X-Forwarded-For from the (untrusted) client is not kept
  await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v1From('198.51.100.9')), '/who', { 'x-forwarded-for': '1.1.1.1' });
  assert.equal(lastXff(), '198.51.100.9');

  // the access log names the same client
  const logged = () => (existsSync(accessLogFile) ? readFileSync(accessLogFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).client) : []);
  await eventually(() => logged().length >= 4, 'four access-log lines');
  assert.deepEqual(logged().slice(0, 4), ['198.51.100.7', '198.51.100.8', '2001:db8::42', '198.51.100.9']);
});

test('authz sourceCidrs and clientIp rate limits use the PROXY source', async () => {
  const denied = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v1From('203.0.113.50')), '/guarded');
  assert.equal(denied.status, 403);
  const allowed = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v2From('198.51.100.50')), '/guarded');
  assert.equal(allowed.status, 200);

  const a: number[] = [];
  for (let i = 0; i < 3; i++) a.push((await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v2From('192.0.2.10')), '/limited')).status);
  assert.deepEqual(a, [200, 200, 429], 'one client, one bucket');
  const b = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v1From('192.0.2.11')), '/limited');
  assert.equal(b.status, 200, 'another client behind the same LB has its own bucket');
});

test('LOCAL (the LB health-checking itself) is served, with the socket peer as the client', async () => {
  const r = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, proxyV2({ command: 'local' })), '/who');
  assert.equal(r.status, 200);
  assert.equal(lastXff(), '127.0.0.1');
});

test('a malformed header, plain TLS without one, and a silent connection are closed; the gateway keeps serving', async () => {
  const malformed = net.connect(gw.httpsPort, '127.0.0.1');
  malformed.write('PROXY TCP4 not-an-address 10.0.0.1 1 2\r\n');
  await closedByServer(malformed);

  const bare = tls.connect({ port: gw.httpsPort, host: '127.0.0.1', servername: 'localhost', ca: pki.read('ca.crt') });
  let handshook = false;
  bare.once('secureConnect', () => (handshook = true));
  await closedByServer(bare);
  assert.equal(handshook, false, 'a TLS ClientHello where a PROXY header belongs is refused before any handshake');

  const silent = net.connect(gw.httpsPort, '127.0.0.1');
  await closedByServer(silent); // headersTimeout (1s) ends it

  const halfHeader = net.connect(gw.httpsPort, '127.0.0.1');
  halfHeader.write(proxyV2({ source: { address: '198.51.100.1', port: 1 }, destination: LB }).subarray(0, 20));
  await closedByServer(halfHeader);

  const after = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v1From('198.51.100.77')), '/who');
  assert.equal(after.status, 200);
  assert.equal(lastXff(), '198.51.100.77');
});

test('behind a real HAProxy (send-proxy and send-proxy-v2 with TLVs) the client address survives', async () => {
  for (const version of [1, 2] as const) {
    const lb = await startHaproxy({ backendPort: gw.httpsPort, version });
    try {
      // The client connects from 127.0.0.2; HAProxy reaches the gateway from 127.0.0.1.
      const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
        const raw = net.connect({ port: lb.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        const s = tls.connect({ socket: raw, servername: 'localhost', ca: pki.read('ca.crt'), ALPNProtocols: ['http/1.1'] });
        s.once('secureConnect', () => resolve(s));
        s.once('error', reject);
      });
      const r = await h1Over(socket, '/who');
      assert.equal(r.status, 200, `v${version}`);
      assert.equal(lastXff(), '127.0.0.2', `v${version}: the LB's own address is not the client`);
    } finally {
      await lb.close();
    }
  }
});

test('a trusted PROXY source may hand over X-Forwarded-For (a CDN in front of the LB)', async () => {
  gw.rewrite(config({ trusted: '198.51.100.0/24' }));
  assert.deepEqual(await gw.gw.reload('test'), { ok: true, version: gw.gw.current!.version });
  const r = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v1From('198.51.100.1')), '/guarded', { 'x-forwarded-for': '203.0.113.9' });
  assert.equal(r.status, 403, 'the client behind the trusted CDN is the one authz sees');
  const ok = await h1Over(await tlsAfterHeader(pki, gw.httpsPort, v1From('198.51.100.1')), '/who', { 'x-forwarded-for': '192.0.2.33' });
  assert.equal(ok.status, 200);
  assert.equal(lastXff(), '192.0.2.33, 198.51.100.1');
});

test('a reload turns PROXY protocol off for the next connections', async () => {
  gw.rewrite(config({ proxyProtocol: false }));
  const r = await gw.gw.reload('test');
  assert.equal(r.ok, true);
  await eventually(async () => (await h1(pki, gw.httpsPort, '/who').catch(() => null))?.status === 200, 'plain TLS served again');
  assert.equal((await h2(pki, gw.httpsPort, '/who')).status, 200);
  assert.equal(lastXff(), '127.0.0.1');
});
