import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import net from 'node:net';
import { pkiAndUpstream } from '../helpers/fixture.ts';
import { basicConfig, startGateway } from '../helpers/gateway.ts';
import { eventually } from '../helpers/net.ts';

// Connection caps hold under a connection flood: a listener's `limits.maxConnections` and the
// process-wide `overload.maxConnections` (shared by every listener). Connections over a cap are
// closed at accept (no TLS handshake); closing connections makes room again.

const fx = pkiAndUpstream();

/** A TLS connection that finished its handshake, or null when the gateway closed it first. */
function tlsConnect(port: number): Promise<tls.TLSSocket | null> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: fx.pki.read('ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    s.once('secureConnect', () => resolve(s));
    s.once('error', () => resolve(null));
    s.once('close', () => resolve(null));
  });
}

/** Sends one request over an established connection and reads the status line. */
function request(s: tls.TLSSocket | net.Socket, path = '/ping'): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes('\r\n')) {
        s.off('data', onData);
        resolve(out.slice(0, out.indexOf('\r\n')));
      }
    };
    s.on('data', onData);
    s.once('close', () => resolve(out));
    s.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\n\r\n`);
  });
}

/** A plain TCP connection to the redirect listener that stays open (answered) or was closed at accept (null). */
async function plainConnect(port: number): Promise<net.Socket | null> {
  const s = await new Promise<net.Socket | null>((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => resolve(c));
    c.once('error', () => resolve(null));
  });
  if (s === null) return null;
  const line = await request(s, '/');
  return line.startsWith('HTTP/1.1 308') ? s : (s.destroy(), null);
}

async function flood(port: number, n: number): Promise<tls.TLSSocket[]> {
  const all = await Promise.all(Array.from({ length: n }, () => tlsConnect(port)));
  return all.filter((s): s is tls.TLSSocket => s !== null);
}

test('limits.maxConnections holds under a flood of 40 connections; closing one makes room', async () => {
  const gw = await startGateway(basicConfig(fx.pki, { endpoint: fx.up.address, limits: '    limits: { maxConnections: 5 }' }));
  try {
    const open = await flood(gw.httpsPort, 40);
    assert.equal(open.length, 5, `${open.length} connections completed a handshake`);
    for (const s of open) assert.equal(await request(s), 'HTTP/1.1 200 OK', 'the admitted connections are served');
    assert.equal(await tlsConnect(gw.httpsPort), null, 'still full');
    open.pop()!.destroy();
    let extra: tls.TLSSocket | null = null;
    await eventually(async () => (extra = await tlsConnect(gw.httpsPort)) !== null, 'room after a close');
    assert.equal(await request(extra!), 'HTTP/1.1 200 OK');
    extra!.destroy();
    for (const s of open) s.destroy();
  } finally {
    await gw.close();
  }
});

test('overload.maxConnections caps every listener together (TLS and the plain redirect listener); closing makes room', async () => {
  const extraListener = `  - name: plain
    address: "127.0.0.1:{{http}}"
    redirectToHttps: true`;
  const gw = await startGateway('overload: { maxConnections: 4 }\n' + basicConfig(fx.pki, { endpoint: fx.up.address, extraListener }));
  try {
    const tlsOpen = await flood(gw.httpsPort, 3);
    assert.equal(tlsOpen.length, 3);
    const plain = await plainConnect(gw.httpPort);
    assert.notEqual(plain, null, 'the fourth connection (plain) is admitted');
    // the process is full: a flood on either listener gets nothing
    assert.equal((await flood(gw.httpsPort, 20)).length, 0);
    assert.equal(await plainConnect(gw.httpPort), null);
    for (const s of tlsOpen) assert.equal(await request(s), 'HTTP/1.1 200 OK', 'admitted connections keep being served');

    const metrics = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
    assert.match(metrics, /^gatehouse_connections_dropped_total [1-9]\d*$/m);

    plain!.destroy();
    let again: tls.TLSSocket | null = null;
    await eventually(async () => (again = await tlsConnect(gw.httpsPort)) !== null, 'room after a close');
    assert.equal(await request(again!), 'HTTP/1.1 200 OK');
    again!.destroy();
    for (const s of tlsOpen) s.destroy();
  } finally {
    await gw.close();
  }
});
