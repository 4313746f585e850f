import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { h1 } from '../helpers/clients.ts';
import { clientHello, handshakeRecords } from '../helpers/client-hello.ts';
import { RawH2, FrameType } from '../helpers/h2-raw.ts';

// Hostile TLS: garbage, truncated and oversized ClientHellos, renegotiation, and clients that go
// silent. Each connection is closed by the gateway within its limits; others keep being served.

const fx = gatewayFixture((pki, up) => basicConfig(pki, { endpoint: up.address, limits: '    limits: { headersTimeout: 1s, idleTimeout: 2s }' }));

async function othersServed(): Promise<void> {
  assert.equal((await h1(fx.pki, fx.gw.httpsPort, '/bystander')).status, 200);
}

/** Raw TCP: writes `bytes`, resolves with what came back once the gateway closes (rejects after 20 s). */
function tcpExchange(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(fx.gw.httpsPort, '127.0.0.1', () => s.write(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('the gateway did not close the connection'));
    }, 20_000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

test('random bytes instead of a ClientHello: closed, no HTTP answer', async () => {
  const back = await tcpExchange(randomBytes(4096));
  assert.ok(!back.toString('latin1').includes('HTTP/'));
  await othersServed();
});

test('a truncated ClientHello: closed after the handshake timeout', async () => {
  const hello = handshakeRecords(clientHello('localhost'));
  const back = await tcpExchange(hello.subarray(0, 40));
  assert.equal(back.length, 0);
  await othersServed();
});

test('a connection that never sends a byte: closed after the handshake timeout', async () => {
  assert.equal((await tcpExchange(Buffer.alloc(0))).length, 0);
});

test('the hand-built ClientHello is valid: with a normal SNI the gateway answers with a ServerHello', async () => {
  const s = net.connect(fx.gw.httpsPort, '127.0.0.1');
  const first = await new Promise<Buffer>((resolve, reject) => {
    s.once('data', resolve);
    s.once('error', reject);
    s.write(handshakeRecords(clientHello('localhost')));
  });
  s.destroy();
  assert.equal(first[0], 0x16, 'a handshake record');
  assert.equal(first[5], 0x02, 'ServerHello');
});

test('an SNI of 64 KB: refused with an alert (never a ServerHello), closed', async () => {
  const back = await tcpExchange(handshakeRecords(clientHello('a'.repeat(65_000))));
  if (back.length > 0) assert.equal(back[0], 0x15, `an alert record, got type ${back[0]}`);
  await othersServed();
});

/**
 * Starts a TLS 1.2 renegotiation from the client, then sends a request (node's TLS client notices a
 * close in the middle of a handshake only when it next writes). Resolves 'renegotiated' when the
 * gateway went along, 'closed' when it closed the connection.
 */
async function renegotiate(alpn: string): Promise<'renegotiated' | 'closed'> {
  const s = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const c = tls.connect({ host: '127.0.0.1', port: fx.gw.httpsPort, ca: fx.pki.read('ca.crt'), servername: 'localhost', maxVersion: 'TLSv1.2', ALPNProtocols: [alpn] }, () => resolve(c));
    c.once('error', reject);
  });
  s.on('error', () => undefined);
  s.resume();
  const result = await new Promise<'renegotiated' | 'closed'>((resolve) => {
    s.once('close', () => resolve('closed'));
    s.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err ? 'closed' : 'renegotiated'));
    s.write(alpn === 'h2' ? 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00' : 'GET /ping HTTP/1.1\r\nhost: localhost\r\n\r\n');
  });
  s.destroy();
  return result;
}

test('a client-initiated TLS 1.2 renegotiation is refused (HTTP/1.1 and HTTP/2 connections)', async () => {
  assert.equal(await renegotiate('http/1.1'), 'closed');
  assert.equal(await renegotiate('h2'), 'closed');
  await othersServed();
});

test('handshake then silence over HTTP/1.1: 408 and closed after headersTimeout', async () => {
  const s = tls.connect({ host: '127.0.0.1', port: fx.gw.httpsPort, ca: fx.pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  const text = await new Promise<string>((resolve) => {
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('error', () => undefined);
    s.on('close', () => resolve(out));
  });
  assert.match(text, /^HTTP\/1\.1 408 /);
  await othersServed();
});

test('handshake then silence over HTTP/2: GOAWAY and closed after idleTimeout', async () => {
  const c = await RawH2.connect(fx.gw.httpsPort, fx.pki.read('ca.crt'));
  await c.waitClosed();
  assert.ok(c.frames.some((f) => f.type === FrameType.GOAWAY));
  await othersServed();
});

/** A TLS 1.2 handshake offering only `ciphers`: the negotiated suite, or null when the gateway refused. */
function tls12With(ciphers: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: fx.gw.httpsPort, ca: fx.pki.read('ca.crt'), servername: 'localhost', maxVersion: 'TLSv1.2', ciphers }, () => {
      resolve(s.getCipher().name);
      s.destroy();
    });
    s.on('error', () => resolve(null));
  });
}

test('TLS 1.2 without forward secrecy, with CBC or SHA-1 MACs is refused; ECDHE with AES-GCM is accepted', async () => {
  for (const weak of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'AES128-SHA256']) assert.equal(await tls12With(weak), null, weak);
  assert.equal(await tls12With('ECDHE-RSA-AES128-GCM-SHA256'), 'ECDHE-RSA-AES128-GCM-SHA256');
  await othersServed();
});
