import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { join } from 'node:path';
import { testPki, issue, type TestPki } from '../helpers/pki.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { h1 } from '../helpers/clients.ts';
import { eventually } from '../helpers/net.ts';
import { testTempDir } from '../helpers/tmp.ts';

// Public TLS: versions, minVersion refusal, SNI choice across certificates, and certificate
// rotation seen by new handshakes while an established connection keeps working.

let pki: TestPki;
let up: TestUpstream;
let gw: TestGateway;
let dir: string;

function config(minVersion: string): string {
  return `
admin: { address: "127.0.0.1:{{admin}}" }
listeners:
  - name: public
    address: "127.0.0.1:{{https}}"
    tls:
      certificates:
        - { certFile: ${join(dir, 'default.crt')}, keyFile: ${join(dir, 'default.key')}, serverNames: ["localhost"] }
        - { certFile: ${join(dir, 'wild.crt')}, keyFile: ${join(dir, 'wild.key')}, serverNames: ["*.example.test"] }
        - { certFile: ${join(dir, 'exact.crt')}, keyFile: ${join(dir, 'exact.key')}, serverNames: ["api.example.test"] }
      minVersion: ${minVersion}
virtualHosts:
  - name: main
    domains: ["*"]
    routes:
      - { name: all, match: { prefix: / }, route: { cluster: backend } }
clusters:
  - name: backend
    discovery: { type: static, endpoints: ["${up.address}"] }
`;
}

/** Completes a TLS handshake and returns what the server presented. */
function handshake(o: { servername?: string; minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion }): Promise<{ version: string | null; cn: string; sans: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: gw.httpsPort,
      ca: pki.read('ca.crt'),
      servername: o.servername,
      minVersion: o.minVersion,
      maxVersion: o.maxVersion,
      checkServerIdentity: () => undefined, // we assert on the certificate ourselves
      ALPNProtocols: ['http/1.1'],
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      resolve({ version: socket.getProtocol(), cn: String(cert.subject?.CN ?? ''), sans: cert.subjectaltname ?? '', socket });
    });
    socket.once('error', reject);
  });
}

before(async () => {
  pki = await testPki();
  dir = testTempDir('gatehouse-sni-');
  await issue(pki, 'default', { dns: ['localhost'], ips: ['127.0.0.1'], outDir: dir });
  await issue(pki, 'wild', { dns: ['*.example.test'], outDir: dir });
  await issue(pki, 'exact', { dns: ['api.example.test'], outDir: dir });
  up = await startUpstream();
  gw = await startGateway(config('TLSv1.2'));
});
after(async () => {
  await gw.close();
  await up.close();
});

test('TLS 1.2 and TLS 1.3 are both served with minVersion TLSv1.2', async () => {
  const v12 = await handshake({ servername: 'localhost', maxVersion: 'TLSv1.2' });
  assert.equal(v12.version, 'TLSv1.2');
  v12.socket.destroy();
  const v13 = await handshake({ servername: 'localhost', minVersion: 'TLSv1.3' });
  assert.equal(v13.version, 'TLSv1.3');
  v13.socket.destroy();
});

test('SNI picks the exact name, then the wildcard, then the first certificate', async () => {
  const exact = await handshake({ servername: 'api.example.test' });
  assert.match(exact.sans, /DNS:api\.example\.test/);
  exact.socket.destroy();
  const wild = await handshake({ servername: 'shop.example.test' });
  assert.match(wild.sans, /DNS:\*\.example\.test/);
  wild.socket.destroy();
  const deeper = await handshake({ servername: 'a.b.example.test' });
  assert.match(deeper.sans, /DNS:localhost/, 'a wildcard covers one label only: default certificate');
  deeper.socket.destroy();
  const none = await handshake({});
  assert.match(none.sans, /DNS:localhost/, 'no SNI: the first certificate');
  none.socket.destroy();
});

test('a rotated certificate is served to new handshakes while an open connection keeps working', async () => {
  const agentless = await handshake({ servername: 'localhost' });
  const before = agentless.socket.getPeerCertificate().serialNumber;
  // open a keep-alive HTTP/1.1 connection and use it once
  const open = agentless.socket;
  const ask = (path: string) =>
    new Promise<string>((resolve, reject) => {
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\r\n\r\n') && buf.includes('"bodyBytes"')) {
          open.off('data', onData);
          resolve(buf);
        }
      };
      open.on('data', onData);
      open.once('error', reject);
      open.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\n\r\n`);
    });
  assert.match(await ask('/one'), /^HTTP\/1\.1 200/);

  // rotate: issue a new certificate for the same names into the same files (atomic rename)
  await issue(pki, 'default', { dns: ['localhost'], ips: ['127.0.0.1'], outDir: dir });
  await eventually(async () => {
    const h = await handshake({ servername: 'localhost' });
    const serial = h.socket.getPeerCertificate().serialNumber;
    h.socket.destroy();
    return serial !== before;
  }, 'new handshakes see the rotated certificate');

  // the connection opened before the rotation still works
  assert.match(await ask('/two'), /^HTTP\/1\.1 200/);
  open.destroy();
});

test('minVersion TLSv1.3 refuses a TLS 1.2-only client and still serves TLS 1.3', async () => {
  gw.rewrite(config('TLSv1.3'));
  const r = await gw.gw.reload('test');
  assert.equal(r.ok, true);
  await assert.rejects(handshake({ servername: 'localhost', maxVersion: 'TLSv1.2' }));
  const ok = await handshake({ servername: 'localhost' });
  assert.equal(ok.version, 'TLSv1.3');
  ok.socket.destroy();
  const res = await h1(pki, gw.httpsPort, '/after');
  assert.equal(res.status, 200);
});

