import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { basicConfig } from '../helpers/gateway.ts';
import { gatewayFixture } from '../helpers/fixture.ts';
import { loadConfigText } from '../../src/config/load.ts';

// Issue 9 item 11: the public listener's TLS 1.2 offers only Mozilla "intermediate" suites (ECDHE
// with AES-GCM or ChaCha20-Poly1305): a TLS 1.2 client offering only static-RSA, CBC or SHA-1 MAC
// suites is refused. `tls.ciphers` and `tls.ecdhCurves` change that per listener (the second
// listener here accepts two of the refused suites, which also shows the client really offers them).

const fx = gatewayFixture((pki, up) =>
  basicConfig(pki, {
    endpoint: up.address,
    extraListener: `  - name: custom
    address: "127.0.0.1:{{http}}"
    tls:
      certificates:
        - { certFile: ${pki.file('edge.crt')}, keyFile: ${pki.file('edge.key')} }
      ciphers: "ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384"
      ecdhCurves: "secp384r1"`,
  }),
);

/** The negotiated suite, or the handshake error's code. */
function handshake(port: number, o: tls.ConnectionOptions): Promise<{ ok: true; cipher: string; version: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fx.pki.read('ca.crt'), ...o }, () => {
      const c = s.getCipher();
      resolve({ ok: true, cipher: c.standardName ?? c.name, version: s.getProtocol() ?? '' });
      s.destroy();
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

const tls12 = (ciphers: string, extra: tls.ConnectionOptions = {}) => ({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers, ...extra }) as tls.ConnectionOptions;

const REFUSED = ['AES256-GCM-SHA384', 'AES128-GCM-SHA256', 'AES128-SHA', 'AES256-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384', 'DHE-RSA-AES128-GCM-SHA256'];
const ACCEPTED = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305'];

test('default: a TLS 1.2 client offering only static-RSA, CBC, SHA-1 or DHE suites is refused', async () => {
  for (const suite of REFUSED) {
    const r = await handshake(fx.gw.httpsPort, tls12(suite));
    assert.equal(r.ok, false, `${suite} must be refused, got ${JSON.stringify(r)}`);
  }
});

test('default: ECDHE with AES-GCM or ChaCha20-Poly1305 over TLS 1.2, and TLS 1.3, are accepted', async () => {
  for (const suite of ACCEPTED) {
    const r = await handshake(fx.gw.httpsPort, tls12(suite));
    assert.ok(r.ok, `${suite}: ${JSON.stringify(r)}`);
  }
  const v13 = await handshake(fx.gw.httpsPort, { minVersion: 'TLSv1.3' });
  assert.ok(v13.ok && v13.version === 'TLSv1.3', JSON.stringify(v13));
});

test('default curves: X25519, P-256, P-384; a client offering only P-521 is refused', async () => {
  assert.equal((await handshake(fx.gw.httpsPort, tls12('ECDHE-RSA-AES128-GCM-SHA256', { ecdhCurve: 'secp521r1' }))).ok, false);
  for (const curve of ['X25519', 'prime256v1', 'secp384r1']) {
    assert.ok((await handshake(fx.gw.httpsPort, tls12('ECDHE-RSA-AES128-GCM-SHA256', { ecdhCurve: curve }))).ok, curve);
  }
});

test('tls.ciphers and tls.ecdhCurves are per listener; TLS 1.3 stays on when the list names no TLS 1.3 suite', async () => {
  const port = fx.gw.httpPort;
  assert.ok((await handshake(port, tls12('ECDHE-RSA-AES128-SHA', { ecdhCurve: 'secp384r1' }))).ok);
  assert.ok((await handshake(port, tls12('AES256-GCM-SHA384'))).ok, 'static RSA, as configured');
  assert.equal((await handshake(port, tls12('ECDHE-RSA-AES128-GCM-SHA256'))).ok, false, 'not in this listener\'s list');
  assert.equal((await handshake(port, tls12('ECDHE-RSA-AES128-SHA', { ecdhCurve: 'X25519' }))).ok, false, 'curve not in its list');
  const v13 = await handshake(port, { minVersion: 'TLSv1.3', ecdhCurve: 'secp384r1' });
  assert.ok(v13.ok && v13.version === 'TLSv1.3', JSON.stringify(v13));
});

test('an unusable cipher or curve list is a config error with its path', async () => {
  const r = await loadConfigText(`
listeners:
  - name: l
    address: "127.0.0.1:1"
    tls: { certificates: [{ certFile: ${fx.pki.file('edge.crt')}, keyFile: ${fx.pki.file('edge.key')} }], ciphers: "NOT-A-CIPHER", ecdhCurves: "nope" }
`, {});
  assert.equal(r.ok, false);
  const paths = !r.ok ? r.errors.map((e) => e.path) : [];
  assert.ok(paths.includes('listeners[0].tls.ciphers'), JSON.stringify(paths));
  assert.ok(paths.includes('listeners[0].tls.ecdhCurves'), JSON.stringify(paths));
});
